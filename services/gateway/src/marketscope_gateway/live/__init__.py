"""Live push over WebSocket: the protocol, the connection hub and the instance's own
queue (its consumer's handlers are in ``handlers.py``)."""

"""Live push over WebSocket: the protocol, the connection hub, how long a socket's
session lasts, and the instance's own queue (its consumer's handlers are in
``handlers.py``)."""

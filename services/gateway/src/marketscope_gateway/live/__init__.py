"""Live push over WebSocket: the protocol, the connection hub, the event handlers and the
instance's own queue."""

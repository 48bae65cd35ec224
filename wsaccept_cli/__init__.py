"""wsaccept: compute, check and debug the WebSocket opening handshake (RFC 6455)."""

__version__ = "0.1.0"

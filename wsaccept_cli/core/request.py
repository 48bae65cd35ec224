"""The requests and responses wsaccept writes: a ws:// or wss:// URL taken apart, a complete
opening handshake request, and a 101 response to a key."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from wsaccept_cli.core.keys import accept_for


class RequestTarget:
    """A ws:// or wss:// URL, taken apart as a handshake request needs it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("ws", "wss"):
            raise ValueError(f"{url!r} is not a ws:// or wss:// URL")
        if not parts.hostname:
            raise ValueError(f"{url!r} has no host")
        try:
            port = parts.port
        except ValueError as error:
            raise ValueError(f"{url!r} has a bad port: {error}") from None
        self.secure = parts.scheme.lower() == "wss"
        self.host = parts.hostname
        self.port = port or (443 if self.secure else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if port in (None, 443 if self.secure else 80) else f"{host}:{port}"
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def build_request(
    target: RequestTarget, key: bytes, extra_headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete opening handshake request (RFC 6455 §4.1), CR LF line endings. An extra
    header named like one of ours replaces it rather than adding a second one."""
    extra = list(extra_headers)
    given = {name.lower() for name, _ in extra}
    ours = [
        ("Host", target.host_header),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key.decode("latin-1")),
        ("Sec-WebSocket-Version", "13"),
    ]
    headers = [(name, value) for name, value in ours if name.lower() not in given] + extra
    lines = [f"GET {target.path} HTTP/1.1", *(f"{n}: {v}" for n, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def build_response(key: bytes) -> bytes:
    """A complete 101 Switching Protocols response to `key` (RFC 6455 §4.2.2), CR LF endings."""
    accept = accept_for(key).decode()
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()

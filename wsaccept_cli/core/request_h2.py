"""The extended CONNECT request `probe --http2` sends (RFC 8441 §4, §5), made from the HTTP/1.1
request `probe` would send, so both carry the same checked values: the options (-H, --origin,
--protocol, --extension) were refused there already if they would make a request malformed.

What HTTP/2 does not carry is left out, as a browser leaves it out: the request line becomes the
pseudo-headers, Host becomes :authority, the connection-specific headers go (RFC 9113 §8.2.2) and
so does Sec-WebSocket-Key (RFC 8441 §5: the 2xx status takes the place of the accept). Field
names are lowercase (RFC 9113 §8.2). The text form is what a browser's developer tools show, and
what `inspect` reads back.
"""

from __future__ import annotations

from wsaccept_cli.core.request import RequestTarget

# Not sent over HTTP/2: connection-specific (RFC 9113 §8.2.2) or not used (RFC 8441 §5).
DROPPED = frozenset(
    ["host", "connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding",
     "te", "sec-websocket-key"]
)  # fmt: skip

Headers = list[tuple[str, str]]


def extended_connect_headers(target: RequestTarget, http1_request: bytes) -> Headers:
    """The header list of the extended CONNECT, pseudo-headers first (RFC 9113 §8.3)."""
    lines = http1_request.decode("ascii").split("\r\n")[1:]
    fields = [line.partition(":") for line in lines if line]
    headers = [(name.strip().lower(), value.strip()) for name, _, value in fields]
    authority = next((value for name, value in headers if name == "host"), target.host_header)
    pseudo = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https" if target.secure else "http"),
        (":path", target.path),
        (":authority", authority),
    ]
    return pseudo + [(name, value) for name, value in headers if name not in DROPPED]


def headers_text(headers: Headers) -> bytes:
    """A header list as `name: value` lines with CR LF and a blank line, as pasted from a
    browser's developer tools; bytes that are not ASCII are kept as they came (Latin-1). A CR
    or LF inside a server's name or value (HPACK carries any byte) is written as `\\r`, `\\n`,
    so it cannot make a line of its own."""
    lines = [f"{_one_line(name)}: {_one_line(value)}\r\n" for name, value in headers]
    return ("".join(lines) + "\r\n").encode("latin-1", "replace")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")

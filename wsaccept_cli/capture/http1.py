"""Where an HTTP/1.1 message that is no upgrade ends, so that a keep-alive connection is followed
to its next request (which may be the upgrade) without keeping the bodies.

RFC 9112 §6.3 decides a body's length: a response to HEAD, a 1xx, 204 or 304 has none; a 2xx to
CONNECT turns the connection into a tunnel; Transfer-Encoding with chunked last is chunked (any
other coding runs until the connection closes); else Content-Length; else a request has no body
and a response runs until the close. A connection whose messages run until the close, or that
either side closes (`Connection: close`, HTTP/1.0 without keep-alive, RFC 9112 §9.3), or whose
framing is broken, carries no further request: it is known not to become WebSocket.

Bodies are skipped by count (`Body`), a chunked one through its size lines: a side holds a few
integers and at most one line of MAX_LINE bytes, however long the body.
"""

from __future__ import annotations

import re

MAX_LINE = 4096  # a chunk-size line with its extensions, or a trailer field line
_FIELD = re.compile(rb"(?im)^(content-length|transfer-encoding|connection)[ \t]*:[ \t]*([^\r\n]*)")
_STATUS = re.compile(rb"HTTP/1\.(\d) +(\d{3})")
_VERSION = re.compile(rb"[^\r\n]* HTTP/1\.(\d)[ \t]*\r?$", re.MULTILINE)


class NoFurtherRequestError(Exception):
    """The connection carries no further request, for the reason given."""


class Body:
    """The rest of a body being skipped: a count of bytes, or chunked coding."""

    def __init__(self, length: int | None) -> None:
        self.left = length or 0  # bytes of data still to skip
        self.chunked = length is None
        self.state = "size" if self.chunked else "data"
        self.line = b""

    def feed(self, data: bytes) -> bytes | None:
        """Skip what of `data` is body: None while the body goes on, else the bytes after
        it (maybe empty). Raises NoFurtherRequestError on a chunked coding that does not
        hold together."""
        at = 0
        while at < len(data):
            if self.state == "data":
                taken = min(self.left, len(data) - at)
                self.left -= taken
                at += taken
                if self.left:
                    return None
                if not self.chunked:
                    return data[at:]
                self.state = "end of chunk"
                continue
            end = data.find(b"\n", at)
            self.line += data[at : len(data) if end < 0 else end + 1]
            if len(self.line) > MAX_LINE:
                raise NoFurtherRequestError(f"a chunk-size or trailer line over {MAX_LINE} bytes")
            if end < 0:
                return None
            at = end + 1
            line, self.line = self.line.rstrip(b"\r\n"), b""
            if self._line(line):
                return data[at:]
        return None

    def _line(self, line: bytes) -> bool:
        """Take a whole line of the chunked coding (RFC 9112 §7.1); True at its end."""
        if self.state == "end of chunk":
            if line:
                raise NoFurtherRequestError("chunk data longer than its size")
            self.state = "size"
        elif self.state == "size":
            digits = line.split(b";", 1)[0].strip(b" \t")
            if not digits or len(digits) > 16 or digits.strip(b"0123456789abcdefABCDEF"):
                raise NoFurtherRequestError(f"the chunk size {line[:40]!r} is not hexadecimal")
            self.left = int(digits, 16)
            self.state = "data" if self.left else "trailer"
        elif not line:  # the empty line after the trailer fields
            return True
        return False


def _fields(head: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for match in _FIELD.finditer(head):
        found.setdefault(match[1].lower(), []).append(match[2].strip(b" \t"))
    return found


def _tokens(values: list[bytes]) -> set[bytes]:
    return {token.strip(b" \t").lower() for value in values for token in value.split(b",")}


def _length(fields: dict[bytes, list[bytes]], what: str) -> int | None:
    """The body's length from Transfer-Encoding and Content-Length: None for chunked."""
    codings = [
        token for value in fields.get(b"transfer-encoding", []) for token in value.split(b",")
    ]
    if codings:
        if codings[-1].strip(b" \t").lower() != b"chunked":
            raise NoFurtherRequestError(
                f"the {what} body runs until the connection closes (a coding not chunked)"
            )
        return None
    lengths = set(fields.get(b"content-length", []))
    if not lengths:
        return 0
    if len(lengths) > 1 or not all(v.isdigit() and len(v) <= 18 for v in lengths):
        raise NoFurtherRequestError(
            f"the {what}'s Content-Length {b','.join(sorted(lengths))[:40]!r} is invalid"
        )
    return int(lengths.pop())


def request_body(head: bytes) -> tuple[str, Body | None]:
    """A plain request's method and body. Raises NoFurtherRequestError when no request
    can follow it."""
    method = head.split(b" ", 1)[0].decode("latin-1")
    version = _VERSION.match(head)
    fields = _fields(head)
    connection = _tokens(fields.get(b"connection", []))
    if b"close" in connection:
        raise NoFurtherRequestError("the client asked to close the connection after this request")
    if version is None or (version[1] == b"0" and b"keep-alive" not in connection):
        raise NoFurtherRequestError("an HTTP/1.0 request without keep-alive")
    length = _length(fields, "request")
    return method, (Body(length) if length != 0 else None)


def response_body(head: bytes, method: str) -> tuple[bool, Body | None]:
    """Whether a response is final (not 1xx), and its body. Raises NoFurtherRequestError
    when the connection carries no further request after it."""
    status = _STATUS.match(head)
    if status is None:
        raise NoFurtherRequestError(
            "the server answered something that is not an HTTP/1.x response"
        )
    code = int(status[2])
    if code == 101:
        raise NoFurtherRequestError("the server switched protocols without an upgrade request")
    if code < 200:
        return False, None
    fields = _fields(head)
    connection = _tokens(fields.get(b"connection", []))
    if b"close" in connection or (status[1] == b"0" and b"keep-alive" not in connection):
        raise NoFurtherRequestError("the server closes the connection after this response")
    if method == "HEAD" or code in (204, 304):
        return True, None
    if method == "CONNECT" and code < 300:
        raise NoFurtherRequestError("a CONNECT tunnel")
    if b"transfer-encoding" not in fields and b"content-length" not in fields:
        raise NoFurtherRequestError("the response body runs until the connection closes")
    length = _length(fields, "response")
    return True, (Body(length) if length != 0 else None)

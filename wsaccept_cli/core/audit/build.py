"""The requests and frames the audit's cases send: a valid opening handshake for the server
under audit (RFC 6455 §4.1), which each case changes in one deliberate way, and the client
frames sent after a 101 (RFC 6455 §5.2).

Pure code. Everything here is what the case means to send: a header value with a bare CR or a
NUL is sent on purpose, so the checks of core.request (for what a user types) do not apply.
"""

from __future__ import annotations

from collections.abc import Callable

from wsaccept_cli.core.audit.model import Builder, Case, Request, Server
from wsaccept_cli.core.handshake import split_list

CRLF = "\r\n"
_MASK = b"\x37\xfa\x21\x3d"  # RFC 6455 §5.3 wants it unpredictable; for an audit, fixed is fine


class Head:
    """A request head under construction: the request line and the header lines, in order."""

    def __init__(self, case: Case, server: Server) -> None:
        self.server = server
        self.method = "GET"
        self.target = server.path
        self.version = "HTTP/1.1"
        self.headers: list[tuple[str, str]] = [
            ("Host", server.host_header),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", case.key),
            ("Sec-WebSocket-Version", "13"),
        ]
        if server.origin_given:
            self.headers.append(("Origin", server.origin))
        if server.protocols:
            self.headers.append(("Sec-WebSocket-Protocol", ", ".join(server.protocols)))
        if server.extensions:
            self.headers.append(("Sec-WebSocket-Extensions", ", ".join(server.extensions)))
        given = {name.lower() for name, _ in server.headers}
        self.headers = [(n, v) for n, v in self.headers if n.lower() not in given]
        self.headers += server.headers
        self.body = b""

    def set(self, name: str, value: str) -> None:
        """Replace the `name` headers by one, where the first stood (added last if none)."""
        lower = name.lower()
        at = next((i for i, (n, _) in enumerate(self.headers) if n.lower() == lower), None)
        self.remove(name)
        self.headers.insert(len(self.headers) if at is None else at, (name, value))

    def remove(self, name: str) -> None:
        lower = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lower]

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    def values(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for n, v in self.headers if n.lower() == lower]

    def line(self) -> str:
        return " ".join(part for part in (self.method, self.target, self.version) if part)

    def to_bytes(self) -> bytes:
        lines = [self.line(), *(f"{name}: {value}" for name, value in self.headers), "", ""]
        return CRLF.join(lines).encode("latin-1") + self.body

    def key(self) -> str | None:
        """The key a correct server reads: the one Sec-WebSocket-Key, without OWS."""
        keys = self.values("sec-websocket-key")
        return keys[0].strip(" \t") if len(keys) == 1 else None


Edit = Callable[[Head], None]


def request(
    edit: Edit | None = None,
    *,
    raw: Callable[[bytes], bytes] | None = None,
    key: Callable[[Head], str | None] | None = None,
    after: bytes | None = None,
    after_wait: float = 0.2,
    watch_close: bool = False,
    then: bytes = b"",
) -> Builder:
    """A builder: the valid handshake, changed by `edit` (on the head) and `raw` (on its
    bytes), followed by `then` in the same write; `key` says which key a correct server reads
    when the edit hides it from Head.key."""

    def build(case: Case, server: Server) -> Request:
        head = Head(case, server)
        if edit is not None:
            edit(head)
        data = head.to_bytes()
        if raw is not None:
            data = raw(data)
        return Request(
            [(data + then, 0.0)],
            key=key(head) if key is not None else head.key(),
            protocols=offered_protocols(head.values("sec-websocket-protocol")),
            extensions=head.values("sec-websocket-extensions"),
            after=after,
            after_wait=after_wait,
            watch_close=watch_close,
        )

    return build


def offered_protocols(values: list[str]) -> list[str]:
    return [item for item in split_list(values) if item]


def setting(name: str, value: str) -> Edit:
    return lambda head: head.set(name, value)


def removing(name: str) -> Edit:
    return lambda head: head.remove(name)


def adding(*pairs: tuple[str, str]) -> Edit:
    def edit(head: Head) -> None:
        for name, value in pairs:
            head.add(name, value)

    return edit


def replacing(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """A raw change: the first `old` in the head becomes `new`."""
    return lambda data: data.replace(old, new, 1)


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
    """A client frame (RFC 6455 §5.2): masked unless `mask` is False (which §5.1 forbids)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload)
    if length < 126:
        size = bytes([length | (0x80 if mask else 0)])
    elif length < 65536:
        size = bytes([126 | (0x80 if mask else 0)]) + length.to_bytes(2, "big")
    else:
        size = bytes([127 | (0x80 if mask else 0)]) + length.to_bytes(8, "big")
    if not mask:
        return bytes([first]) + size + payload
    masked = bytes(byte ^ _MASK[i % 4] for i, byte in enumerate(payload))
    return bytes([first]) + size + _MASK + masked


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return frame(0x8, code.to_bytes(2, "big") + reason)

"""WebSocket frames seen on the wire after a 101, summarised one side at a time (RFC 6455 §5).

Pure code over bytes, fed in whatever pieces TCP delivered them. Only what a connection summary
needs is kept: counts by opcode, payload bytes, whether RSV1 (permessage-deflate, RFC 7692 §6)
was set, whether the masking was right for the side, and the Close frame's code and reason.
Payload bytes are skipped, not stored: a side holds at most a 14-byte header and a 125-byte
Close payload, so a frame stream of any length costs constant memory and one pass.
"""

from __future__ import annotations

OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}
CLOSE = 0x8
MAX_CONTROL = 125  # RFC 6455 §5.5: a control frame's payload is at most 125 bytes
# the extended payload length's bytes after a 7-bit length of 0-125, 126 or 127 (RFC 6455 §5.2)
_EXTENDED = (0,) * 126 + (2, 8)


class FrameTally:
    """One side's frames: what a connection summary shows of them."""

    def __init__(self, side: str) -> None:
        self.side = side  # "client" (must mask, RFC 6455 §5.3) or "server" (must not)
        self.counts = dict.fromkeys(OPCODES.values(), 0)
        self.bytes = 0  # payload bytes, as on the wire
        self.compressed = 0  # messages with RSV1 set (permessage-deflate used)
        self.masking_problem: str | None = None
        self.protocol_problem: str | None = None  # a frame no peer may send; scanning stops
        self.close: tuple[int | None, str] | None = None
        self.close_at: float | None = None
        self.lost = False  # a gap made the rest unreadable; the counts are of what came before
        self._header = b""
        self._remaining = 0  # payload bytes of the current frame still to come
        self._opcode = 0
        self._mask = b""
        self._close_payload = b""
        self._masks = side == "client"  # whether this side's frames must be masked

    def feed(self, data: bytes, when: float) -> None:
        """Take the next bytes this side sent, at time `when`."""
        at, size = 0, len(data)
        while at < size and self.protocol_problem is None and not self.lost:
            if self._remaining:
                taken = min(self._remaining, size - at)
                if self._opcode == CLOSE:
                    self._close_payload += data[at : at + taken]
                self._remaining -= taken
                at += taken
                if not self._remaining and self._opcode == CLOSE:
                    self._end_frame(when)
                continue
            if not self._header and size - at >= 2:  # a header in one piece: the usual case
                second = data[at + 1]
                need = 2 + _EXTENDED[second & 0x7F] + (4 if second & 0x80 else 0)
                if size - at >= need:
                    self._start_frame(data, at, need, when)
                    at += need
                    continue
            at = self._take_header(data, at, when)

    def _take_header(self, data: bytes, at: int, when: float) -> int:
        """Take what `data` holds of a header from `at` on; where the bytes after it start."""
        need = _header_length(self._header + data[at : at + 2])
        taken = min(need - len(self._header), len(data) - at)
        self._header += data[at : at + taken]
        if len(self._header) >= 2 and len(self._header) == _header_length(self._header):
            self._start_frame(self._header, 0, len(self._header), when)
            self._header = b""
        return at + taken

    def _start_frame(self, data: bytes, at: int, size: int, when: float) -> None:
        """The frame whose `size`-byte header starts at `at` in `data`."""
        first, second = data[at], data[at + 1]
        opcode, masked = first & 0x0F, bool(second & 0x80)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(data[at + 2 : at + 4], "big")
        elif length == 127:
            length = int.from_bytes(data[at + 2 : at + 10], "big")
        name = OPCODES.get(opcode)
        if name is None:
            self.protocol_problem = f"a frame with the reserved opcode {opcode:#x} (RFC 6455 §5.2)"
            return
        if opcode >= 0x8 and (length > MAX_CONTROL or not first & 0x80):
            self.protocol_problem = f"a fragmented or over-long {name} frame (RFC 6455 §5.5)"
            return
        self.counts[name] += 1
        self.bytes += length
        if first & 0x40 and opcode in (0x1, 0x2):
            self.compressed += 1
        if masked != self._masks and self.masking_problem is None:
            self._masking_problem()
        self._opcode, self._remaining = opcode, length
        if opcode == CLOSE:  # the mask is kept to read the Close payload
            self._mask = data[at + size - 4 : at + size] if masked else b""
            self._close_payload = b""
            if not length:
                self._end_frame(when)

    def _masking_problem(self) -> None:
        self.masking_problem = (
            "an unmasked frame (a client must mask every frame, RFC 6455 §5.3)"
            if self.side == "client"
            else "a masked frame (a server must not mask, RFC 6455 §5.1)"
        )

    def _end_frame(self, when: float) -> None:
        if self._opcode != CLOSE or self.close is not None:
            return
        payload = _unmask(self._close_payload, self._mask)
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        self.close = (code, payload[2:].decode("utf-8", "replace"))
        self.close_at = when

    def gap(self) -> None:
        """Bytes of this side are missing: frame boundaries are lost from here on."""
        self.lost = True

    def masking(self) -> str:
        return self.masking_problem or "ok"

    def as_dict(self) -> dict[str, int]:
        return {**self.counts, "bytes": self.bytes}


def _header_length(start: bytes) -> int:
    """The length of a frame header from its first two bytes (2 while fewer are known)."""
    if len(start) < 2:
        return 2
    length = start[1] & 0x7F
    extra = 2 if length == 126 else 8 if length == 127 else 0
    return 2 + extra + (4 if start[1] & 0x80 else 0)


def _unmask(payload: bytes, mask: bytes) -> bytes:
    if not mask:
        return payload
    return bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))

"""What a client does with the bytes that come after the response head, before its first message
goes out: the WebSocket frames (or whatever else) a server wrote right behind its 101.

A server may write more than the head in the same write: a greeting, a Ping, a Close, a body
its framework added, a stray CR LF from a head ended `\\r\\n\\n\\r\\n`, a second response. The
client's HTTP parser stops at its own end of the head (`Head.end`: for a head ended
`\\r\\n\\n\\r\\n` most stop at the LF LF and leave `\\r\\n`), and the rest is, to it, the start
of the WebSocket stream (RFC 6455 §5.2). Some clients read those bytes before they report the
connection open; some only once the application reads. What this project calls *accepts* is
what the drivers and browsers see (tests/README.md, "Client drivers"): the client opened and
the application's first message reached the server. So a client that opens and then fails the
connection on a bad frame before that message goes out has refused, and so has one that
handles a Close first (it answers Close and sends nothing else).

A `FrameReader` says, for one client, at which point of a frame each check runs (`Stage`):
a check whose bytes have not all come is never made (the client is still waiting when the
application sends), which is why `\\r` (one byte of a frame header) passes where `\\r\\n` (a
whole header: opcode 0xD, reserved) fails. The frames are walked in order: Pings, Pongs and
data frames that pass go on to the next, a Close ends the walk (`close_refuses`).

The clients that read nothing before they report the open (Node ws, aiohttp, curl, undici,
websocket-client, gorilla) have no reader; their modules say where in their source that is.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass, field
from enum import IntEnum


class Stage(IntEnum):
    """Where in a frame a check is made: what must have come before the client looks."""

    BYTE = 1  # the first byte (FIN, RSV, opcode)
    TWO = 2  # the first two bytes (mask bit, 7-bit length)
    EXT = 3  # the first byte of an extended length
    LENGTH = 4  # the whole length
    HEADER = 5  # the whole header, mask key and all
    PAYLOAD = 6  # each payload byte as it comes (UTF-8 checked as it streams)
    FRAME = 7  # the whole frame
    MESSAGE = 8  # the whole message (its last frame)


CHECKS = ("rsv", "opcode", "control_fin", "control_length", "mask", "sequence", "nonminimal",
          "max", "top_bit", "utf8")  # fmt: skip
_OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping",
            0xA: "pong"}  # fmt: skip


@dataclass(frozen=True)
class FrameReader:
    """One client's reading of the frames that arrived with its head (see the module's doc).

    `stages` maps each check (`CHECKS`) it makes on them to the `Stage` where it makes it; a
    check it does not make is absent. `max_length`: the longest frame it takes (None: any).
    `close_refuses`: whether a Close that passes its checks ends the connection before the
    application's message (Firefox sends the message first); `bad_reason_refuses` whether a
    Close whose reason is not UTF-8 does (None: as any Close); `after_close`: the checks it
    still makes on the frames behind a Close, whose content it then ignores (None: it reads
    nothing behind a Close).
    `messages`: after how many whole data messages it stops reading until the application
    reads one (Tornado's client queue holds one, and waits to hand on the second).
    `control_stages`: the stages for frames whose opcode has the control bit (0x8 to 0xF), when
    they differ (Chromium holds such a frame back until it is whole). `read_size`: the most it
    reads at a time, when what lies past the read that ended the head waits until after the
    open (libwebsockets: 4080 bytes); None when it has all that was written by then."""

    source: str
    stages: dict[str, Stage] = field(default_factory=dict)
    max_length: int | None = None
    close_refuses: bool = True
    bad_reason_refuses: bool | None = None
    after_close: tuple[str, ...] | None = None
    messages: int | None = None
    control_stages: dict[str, Stage] | None = None
    read_size: int | None = None

    def __post_init__(self) -> None:
        unknown = (set(self.stages) | set(self.control_stages or ())) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}")

    def within_read(self, data: bytes, end: int) -> bytes:
        """What follows the head ending at `end` in `data` (the bytes from the response's
        start) within the read that held that end (`read_size`)."""
        if self.read_size is None:
            return data[end:]
        return data[end : -(-end // self.read_size) * self.read_size]

    def read(self, data: bytes, deflate: bool = False) -> str | None:
        """Why the client fails on `data` (what followed its head) before its first message
        goes out, or None. `deflate`: permessage-deflate was negotiated (RSV1 on a message's
        first frame is then allowed, and such a message must inflate: every client that
        negotiates it inflates a message once it is whole)."""
        found = self.problem(data, deflate)
        return None if found is None else found[1]

    def problem(self, data: bytes, deflate: bool = False) -> tuple[str, str] | None:
        """`read`'s answer with the name of what failed (a check of CHECKS, `close`, or
        `deflate`), for the RFC section a finding cites (`SECTIONS`)."""
        state = _Message()
        position = messages = 0
        closed = False
        while position < len(data):
            frame = _Frame(data, position)
            problem = self._checks(frame, state, deflate, closed)
            if problem is not None:
                return problem
            if not frame.complete:
                return None
            position = frame.end
            if closed:
                state.follow(frame)
                continue
            if frame.opcode == 0x8:
                if (why := self._close(frame.payload)) is not None:
                    return "close", why
                if self.after_close is None:
                    return None
                closed = True
                continue
            state.add(frame)
            if frame.fin and frame.opcode in (0x0, 0x1, 0x2):
                if (problem := self._message_end(state)) is not None:
                    return problem
                state = _Message()
                messages += 1
                if messages == self.messages:
                    return None
        return None

    def _checks(
        self, frame: _Frame, state: _Message, deflate: bool, closed: bool = False
    ) -> tuple[str, str] | None:
        """The first check that fails among those whose bytes have come, in stage order
        (behind a Close, only those of `after_close`)."""
        stages = self.stages
        if self.control_stages is not None and frame.opcode & 0x8:
            stages = self.control_stages
        for stage in Stage:
            if stage >= Stage.MESSAGE or not frame.has(stage):
                return None
            for check in CHECKS:
                if closed and check not in (self.after_close or ()):
                    continue
                if stages.get(check) == stage:
                    problem = _CHECK[check](self, frame, state, deflate, stage)
                    if problem is not None:
                        return check, f"{problem} right after the head"
        return None

    def _close(self, payload: bytes) -> str | None:
        reason_ok = len(payload) <= 2 or _utf8_complete(payload[2:])
        refuses = self.close_refuses
        if not reason_ok and self.bad_reason_refuses is not None:
            refuses = self.bad_reason_refuses
        if not refuses:
            return None
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        what = "a Close frame" + (f" (code {code})" if code is not None else "")
        if not reason_ok:
            what += " whose reason is not UTF-8"
        return f"{what} right after the head, before its first message"

    def _message_end(self, state: _Message) -> tuple[str, str] | None:
        data = state.data
        if state.compressed:
            inflated = _inflate(data)
            if inflated is None:
                return "deflate", "a compressed message that does not inflate right after the head"
            data = inflated
        checks_utf8 = self.stages.get("utf8") in (Stage.PAYLOAD, Stage.MESSAGE)
        if state.opcode == 0x1 and checks_utf8 and not _utf8_complete(data):
            return "utf8", "a text message that is not UTF-8 right after the head"
        return None


class _Frame:
    """One frame's header as far as it has come, at `start` in `data`."""

    def __init__(self, data: bytes, start: int) -> None:
        self.available = len(data) - start
        b0 = data[start]
        self.fin = bool(b0 & 0x80)
        self.rsv = b0 & 0x70
        self.opcode = b0 & 0x0F
        self.control = bool(self.opcode & 0x8)
        b1 = data[start + 1] if self.available > 1 else 0
        self.masked = bool(b1 & 0x80)
        self.short = b1 & 0x7F
        self.ext = {126: 2, 127: 8}.get(self.short, 0)
        self.length: int | None = self.short if not self.ext else None
        if self.ext and self.available >= 2 + self.ext:
            self.length = int.from_bytes(data[start + 2 : start + 2 + self.ext], "big")
        self.first_ext = data[start + 2] if self.ext and self.available > 2 else None
        self.header = 2 + self.ext + (4 if self.masked else 0)
        length = self.length if self.length is not None else 0
        self.end = start + self.header + length
        self.complete = self.available >= 2 and self.length is not None and self.end <= len(data)
        body = data[start + self.header : min(self.end, len(data))] if self.available > 2 else b""
        if self.masked and self.available >= self.header:
            key = data[start + self.header - 4 : start + self.header]
            body = bytes(byte ^ key[index % 4] for index, byte in enumerate(body))
        self.payload = body

    def has(self, stage: Stage) -> bool:
        if stage is Stage.BYTE:
            return self.available >= 1
        if stage is Stage.TWO:
            return self.available >= 2
        if stage is Stage.EXT:
            return (self.available >= 3 and self.ext > 0) or (self.available >= 2 and not self.ext)
        if stage is Stage.LENGTH:
            return self.available >= 2 and self.length is not None
        if stage is Stage.PAYLOAD:
            return self.available >= self.header and self.length is not None
        if stage is Stage.HEADER:
            return self.available >= self.header and self.length is not None
        return self.complete


class _Message:
    """The data message being read: its opcode, whether compressed, its payload so far."""

    def __init__(self) -> None:
        self.opcode: int | None = None
        self.compressed = False
        self.data = b""

    def follow(self, frame: _Frame) -> None:
        """Keep track of fragmentation only (behind a Close: content ignored)."""
        if frame.opcode in (0x1, 0x2) and not frame.fin:
            self.opcode = frame.opcode
        elif frame.opcode == 0x0 and frame.fin:
            self.opcode = None

    def add(self, frame: _Frame) -> None:
        if frame.opcode in (0x1, 0x2):
            self.opcode, self.compressed = frame.opcode, bool(frame.rsv & 0x40)
        if frame.opcode in (0x0, 0x1, 0x2):
            self.data += frame.payload


def _rsv(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    if not frame.rsv:
        return None
    if frame.rsv == 0x40 and deflate and frame.opcode in (0x1, 0x2):
        return None  # RFC 7692 §6: a compressed message's first frame
    bits = ", ".join(f"RSV{n}" for n, bit in ((1, 0x40), (2, 0x20), (3, 0x10)) if frame.rsv & bit)
    return f"a frame with {bits} set and no extension that defines it"


def _opcode(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    if frame.opcode in _OPCODES:
        return None
    return f"a frame with the reserved opcode {frame.opcode:#x}"


def _control_fin(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    if frame.control and not frame.fin:
        return f"{_name(frame.opcode)} without FIN (control frames are not fragmented)"
    return None


def _control_length(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, stage: Stage
) -> str | None:
    if not frame.control:
        return None
    length = frame.length if frame.length is not None else frame.short
    if length > 125:
        shown = f"{length} bytes" if frame.length is not None else "over 125 bytes"
        return f"{_name(frame.opcode)} of {shown} (control frames hold at most 125)"
    return None


def _name(opcode: int) -> str:
    """A control frame, named: `a ping frame`, or for a reserved opcode with the control bit
    (0x8) `a frame with the reserved control opcode 0xd` (clients that test the bit treat it
    as a control frame)."""
    known = _OPCODES.get(opcode)
    return f"a {known} frame" if known else f"a frame with the reserved control opcode {opcode:#x}"


def _mask(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    return "a masked frame from the server" if frame.masked else None


def _sequence(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    if frame.opcode == 0x0 and state.opcode is None:
        return "a continuation frame with no message to continue"
    if frame.opcode in (0x1, 0x2) and state.opcode is not None:
        return "a new data frame inside a fragmented message"
    return None


def _nonminimal(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    length = frame.length
    if length is None or not frame.ext:
        return None
    if length < 126 or (frame.ext == 8 and length < 65536):
        return f"a frame length of {length} not in its shortest form"
    return None


def _max(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    limit = reader.max_length
    if limit is None or frame.length is None or frame.length <= limit:
        return None
    return f"a frame of {frame.length} bytes (over {limit})"


def _top_bit(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, _: Stage
) -> str | None:
    if frame.ext == 8 and frame.first_ext is not None and frame.first_ext & 0x80:
        return "a 64-bit frame length with its most significant bit set"
    return None


def _utf8(
    reader: FrameReader, frame: _Frame, state: _Message, deflate: bool, stage: Stage
) -> str | None:
    if stage is not Stage.PAYLOAD or (frame.rsv & 0x40 and deflate):
        return None
    opcode = frame.opcode if frame.opcode else state.opcode
    if opcode != 0x1 or state.compressed:
        return None
    so_far = state.data + frame.payload
    if not _utf8_prefix(so_far) or (frame.complete and frame.fin and not _utf8_complete(so_far)):
        return "a text message that is not UTF-8"
    return None


_CHECK = {
    "rsv": _rsv,
    "opcode": _opcode,
    "control_fin": _control_fin,
    "control_length": _control_length,
    "mask": _mask,
    "sequence": _sequence,
    "nonminimal": _nonminimal,
    "max": _max,
    "top_bit": _top_bit,
    "utf8": _utf8,
}


def _utf8_prefix(data: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_complete(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _inflate(data: bytes) -> bytes | None:
    """RFC 7692 §7.2.2: the message's payload with 00 00 FF FF appended, raw DEFLATE."""
    try:
        inflater = zlib.decompressobj(-15)
        return inflater.decompress(data + b"\x00\x00\xff\xff", 1 << 24)
    except zlib.error:
        return None


# Where RFC 6455 (and RFC 7692) forbid what each check finds: for a finding's citation.
SECTIONS = {
    "rsv": "§5.2", "opcode": "§5.2", "control_fin": "§5.5", "control_length": "§5.5",
    "mask": "§5.1", "sequence": "§5.4", "nonminimal": "§5.2", "max": "§10.4", "top_bit": "§5.2",
    "utf8": "§8.1", "close": "§5.5.1", "deflate": "RFC 7692 §6.2",
}  # fmt: skip

# RFC 6455 itself, as a reader that checks everything as soon as its bytes are there: what a
# conforming server never sends (a Close is allowed, one whose reason is not UTF-8 is not).
RFC = FrameReader(
    "RFC 6455 §5",
    {"rsv": Stage.BYTE, "opcode": Stage.BYTE, "control_fin": Stage.BYTE, "sequence": Stage.BYTE,
     "mask": Stage.TWO, "control_length": Stage.TWO, "top_bit": Stage.EXT,
     "nonminimal": Stage.LENGTH, "utf8": Stage.PAYLOAD},
    close_refuses=False,
    bad_reason_refuses=True,
)  # fmt: skip

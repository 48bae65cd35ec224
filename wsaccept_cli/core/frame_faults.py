"""The frame-level faults of `wsaccept serve`: after a correct 101, the server sends frames a
correct client must refuse (or, for a few neighbours, must take), and the client's answer on the
wire is judged: did it fail the connection with the right Close code, did it echo the ping
exactly, did it wait, did it close TCP itself.

Pure code: each fault is the bytes the server sends after its 101 and what a correct client
must do (with the RFC section that says so); `judge` turns what the client did (a `Seen`,
filled by net/serve.py) into a verdict. The frames here are broken on purpose, which no
WebSocket library will build, so their few header bytes are put together here (RFC 6455 §5.2);
the client's frames are read by wsproto.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from wsaccept_cli.core.faults import FAULTS, Answer, Fault, Offer

if TYPE_CHECKING:
    from collections.abc import Callable

# What a correct client must do with the frames: the scoreboard's `correct` column.
FAIL = "fail"  # fail the connection (§7.1.7): a Close with the right code, or TCP closed
PONG = "pong"  # answer the ping with a Pong of the same payload (§5.5.2, §5.5.3)
WAIT = "wait"  # keep the connection open: silence is no error
HANG_UP = "hang up"  # close TCP itself in reasonable time
TAKE = "take"  # take the frames as valid: no error Close
CLOSE_BACK = "close"  # answer the server's Close with a Close (§5.5.1)

PROTOCOL_ERROR, INVALID_DATA = 1002, 1007
NORMAL_CODES = frozenset({1000, 1001, 1005})  # 1005: a Close with no code (§7.1.5)
NO_STATUS = 1005  # what wsproto reports for a Close frame with no code (an empty payload)
# How long a client may take to close TCP after the server went quiet on a Close (or sent a
# FIN): above the longest closing timeout of a known client (Chromium's 60 s,
# net/websockets/websocket_channel.cc kClosingHandshakeTimeout).
HANG_UP_WAIT = 65.0
ANSWER_WAIT = 3.0  # for a Close, a Pong: a browser on a busy machine took over 1 s
PING_PAYLOAD = b"wsaccept\x00\xff\x80ping"  # not UTF-8, with a NUL: echoed exactly, or not


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """One frame as the server sends it (RFC 6455 §5.2): `rsv` is the three RSV bits (4 is
    RSV1), `mask` masks it (servers must not), `length` overrides the payload length field."""
    size = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv & 7) << 4 | opcode & 0x0F
    masked = 0x80 if mask is not None else 0
    if size < 126:
        header = bytes([first, masked | size])
    elif size < 1 << 16:
        header = bytes([first, masked | 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([first, masked | 127]) + size.to_bytes(8, "big")
    if mask is not None:
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        header += mask
    return header + payload


def deflated(data: bytes) -> bytes:
    """`data` compressed as permessage-deflate sends it (RFC 7692 §7.2.1): raw DEFLATE, the
    final empty block's 00 00 ff ff taken off."""
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return frame(8, code.to_bytes(2, "big") + reason)


class FrameFault(Fault):
    """A correct 101, then `frames`; what a correct client must do (`must`, one of FAIL, PONG,
    WAIT, HANG_UP, TAKE, CLOSE_BACK), the Close codes that are right for FAIL, the RFC section."""

    stage = "frame"

    def __init__(
        self,
        name: str,
        section: str,
        does: str,
        must: str,
        why: str,
        frames: bytes = b"",
        *,
        codes: frozenset[int] = frozenset({PROTOCOL_ERROR}),
        pong: bytes | None = None,
        deflate: bool = False,
        echo: bool = True,
        answer_close: bool = True,
        half_close: bool = False,
    ) -> None:
        super().__init__(
            name,
            does,
            frozenset({must}),
            f"RFC {section}: {why}",
            _accept_deflate if deflate else _nothing,
            _offered_deflate if deflate else _always,
        )
        rfc, _, part = section.partition(" ")
        self.section = part if rfc == "6455" else f"RFC {section}"
        self.must = must
        self.frames = frames
        self.codes = codes
        self.pong = pong
        self.deflate = deflate  # permessage-deflate is negotiated in the 101
        self.echo = echo  # the server echoes the client's messages and answers its pings
        self.answer_close = answer_close  # the server answers the client's Close
        self.half_close = half_close  # the server sends a FIN after the frames

    @property
    def expect_text(self) -> str:
        return self.must

    def wait(self, grace: float) -> float:
        """How long the client's answer is watched for: --grace for silence; for the rest
        long enough that a busy client is not taken for one that ignores the frames (a
        correct client's answer ends the watch at once)."""
        if self.must == HANG_UP:
            return HANG_UP_WAIT
        if self.must == WAIT:
            return max(grace, 1.0)
        return max(grace, ANSWER_WAIT)


DEFLATE_RESPONSE = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def _nothing(answer: Answer, offer: Offer) -> None:
    return None


def _always(offer: Offer) -> str | None:
    return None


def _accept_deflate(answer: Answer, offer: Offer) -> None:
    # Both no_context_takeover parameters may be in a response whatever the offer said
    # (RFC 7692 §7.1.1.1, §7.1.1.2), so this answer fits any permessage-deflate offer.
    answer.set("Sec-WebSocket-Extensions", DEFLATE_RESPONSE)


def _offered_deflate(offer: Offer) -> str | None:
    if "permessage-deflate" in offer.extensions:
        return None
    return "the client offered no permessage-deflate"


_MASK = b"\x37\xfa\x21\x3d"
_RESERVED = "§5.2: an unknown opcode (or reserved bit) MUST fail the connection"


def _reserved_opcode(opcode: int) -> FrameFault:
    kind = "control" if opcode >= 8 else "data"
    return FrameFault(
        f"opcode-{opcode}",
        "6455 §5.2",
        f"a frame with reserved {kind} opcode {opcode:#x}",
        FAIL,
        "an unknown opcode MUST fail the connection (Close 1002)",
        frame(opcode, b"hello" if opcode < 8 else b""),
    )


def _rsv(bit: int) -> FrameFault:
    return FrameFault(
        f"rsv{bit}-set",
        "6455 §5.2",
        f"a text frame with RSV{bit} set, no extension negotiated",
        FAIL,
        "a nonzero RSV bit that no negotiated extension defines MUST fail the connection"
        " (Close 1002)",
        frame(1, b"hello", rsv=1 << (3 - bit)),
    )


def _close_code(code: int, why: str) -> FrameFault:
    return FrameFault(
        f"close-code-{code}",
        "6455 §7.4",
        f"a Close frame with code {code}, which must not be sent",
        FAIL,
        f"{why}; a Close with an invalid code is a protocol error (Close 1002)",
        close_frame(code),
    )


def _fragments(*pieces: tuple[int, bytes]) -> bytes:
    """Data frames of one message: the first with `opcode`, FIN on the last only."""
    last = len(pieces) - 1
    return b"".join(frame(op, data, fin=i == last) for i, (op, data) in enumerate(pieces))


_UTF8 = "§8.1: a text message (or Close reason) that is not UTF-8 MUST fail the connection"

FRAME_FAULTS: tuple[FrameFault, ...] = (
    FrameFault(
        "masked-frame",
        "6455 §5.1",
        "a masked text frame from the server",
        FAIL,
        "a client MUST close the connection if it detects a masked frame (Close 1002)",
        frame(1, b"hello", mask=_MASK),
    ),
    _rsv(1),
    _rsv(2),
    _rsv(3),
    FrameFault(
        "deflate-not-negotiated",
        "7692 §6",
        "a compressed text frame (RSV1 set) although permessage-deflate was not negotiated",
        FAIL,
        "RSV1 means compressed only under a negotiated permessage-deflate; RFC 6455 §5.2 makes it"
        " a protocol error (Close 1002)",
        frame(1, deflated(b"hello"), rsv=4),
    ),
    FrameFault(
        "compressed-control",
        "7692 §6.1",
        "a compressed Ping (RSV1 set) under a negotiated permessage-deflate",
        FAIL,
        "permessage-deflate compresses data frames only: RSV1 on a control frame is a protocol"
        " error (Close 1002)",
        frame(9, deflated(b"ping"), rsv=4),
        deflate=True,
    ),
    _reserved_opcode(3),
    _reserved_opcode(7),
    _reserved_opcode(0xB),
    _reserved_opcode(0xF),
    FrameFault(
        "ping-fragmented",
        "6455 §5.5",
        "a Ping without FIN, then a continuation frame",
        FAIL,
        "control frames MUST NOT be fragmented (Close 1002)",
        frame(9, b"pi", fin=False) + frame(0, b"ng"),
    ),
    FrameFault(
        "ping-126",
        "6455 §5.5",
        "a Ping with a 126-byte payload",
        FAIL,
        "control frames MUST have a payload of 125 bytes or less (Close 1002)",
        frame(9, b"p" * 126),
    ),
    FrameFault(
        "continuation-first",
        "6455 §5.4",
        "a continuation frame with no message started",
        FAIL,
        "a continuation frame belongs to a fragmented message; without one it is a protocol"
        " error (Close 1002)",
        frame(0, b"hello"),
    ),
    FrameFault(
        "data-inside-fragments",
        "6455 §5.4",
        "a text frame without FIN, then a new text frame inside the fragmented message",
        FAIL,
        "the fragments of a message MUST NOT be interleaved with another data frame (Close 1002)",
        frame(1, b"hel", fin=False) + frame(1, b"lo"),
    ),
    FrameFault(
        "utf8-invalid",
        "6455 §8.1",
        "a text message that is not UTF-8",
        FAIL,
        "invalid UTF-8 in a text message MUST fail the connection (Close 1007)",
        frame(1, b"hello \xff\xfe"),
        codes=frozenset({INVALID_DATA}),
    ),
    FrameFault(
        "utf8-invalid-fragmented",
        "6455 §8.1",
        "a text message in two fragments whose joined bytes are not UTF-8 (C3 28)",
        FAIL,
        "invalid UTF-8 MUST fail the connection, wherever the fragments split it (Close 1007)",
        _fragments((1, b"caf\xc3"), (0, b"\x28")),
        codes=frozenset({INVALID_DATA}),
    ),
    FrameFault(
        "utf8-split-valid",
        "6455 §5.4",
        "a text message with a character split across two fragments (C3 | A9, valid)",
        TAKE,
        "fragments are joined before the text is decoded: a character split across them is valid"
        " and MUST NOT fail the connection",
        _fragments((1, b"caf\xc3"), (0, b"\xa9")),
    ),
    FrameFault(
        "length-64bit-top-bit",
        "6455 §5.2",
        "a 64-bit payload length with its most significant bit set",
        FAIL,
        "the most significant bit of a 64-bit length MUST be 0 (Close 1002, or 1009 for a length"
        " over the client's limit)",
        frame(1, b"hello", length=(1 << 63) | 5),
        codes=frozenset({PROTOCOL_ERROR, 1009}),
    ),
    FrameFault(
        "close-1-byte",
        "6455 §5.5.1",
        "a Close frame with a 1-byte payload",
        FAIL,
        "a Close body starts with a 2-byte code; 1 byte is a protocol error (Close 1002)",
        frame(8, b"\x03"),
    ),
    _close_code(1005, "§7.4.1: 1005 MUST NOT be set as a status code in a Close frame"),
    _close_code(1006, "§7.4.1: 1006 MUST NOT be set as a status code in a Close frame"),
    _close_code(1015, "§7.4.1: 1015 MUST NOT be set as a status code in a Close frame"),
    _close_code(999, "§7.4.2: codes below 1000 are not used"),
    _close_code(5000, "§7.4.2: codes from 5000 up are not defined"),
    FrameFault(
        "close-reason-utf8",
        "6455 §5.5.1",
        "a Close frame (1000) whose reason is not UTF-8",
        FAIL,
        "the reason of a Close is UTF-8 (§8.1: else fail the connection, Close 1007 or 1002)",
        close_frame(1000, b"bye \xff\xfe"),
        codes=frozenset({PROTOCOL_ERROR, INVALID_DATA}),
    ),
    FrameFault(
        "close-code-3000",
        "6455 §5.5.1",
        "a Close frame with code 3000 (registered for libraries), a valid close",
        CLOSE_BACK,
        "an endpoint that receives a Close MUST send a Close in response; 3000 is a valid code"
        " (§7.4.2)",
        close_frame(3000, b"bye"),
    ),
    FrameFault(
        "ping-payload",
        "6455 §5.5.3",
        f"a Ping whose payload is {len(PING_PAYLOAD)} bytes of binary (a NUL, FF, 80)",
        PONG,
        "a Pong MUST carry the Ping's application data exactly (§5.5.2: answer as soon as"
        " practical)",
        frame(9, PING_PAYLOAD),
        pong=PING_PAYLOAD,
    ),
    FrameFault(
        "ping-125",
        "6455 §5.5",
        "a Ping with a 125-byte payload, the most a control frame may carry",
        PONG,
        "125 bytes is a valid control payload: the Pong MUST echo all of it",
        frame(9, b"p" * 125),
        pong=b"p" * 125,
    ),
    FrameFault(
        "ping-inside-fragments",
        "6455 §5.4",
        "a Ping between the fragments of a text message",
        PONG,
        "control frames MAY be injected in the middle of a fragmented message: the client MUST"
        " answer the Ping and take the message",
        frame(1, b"hel", fin=False) + frame(9, b"between") + frame(0, b"lo"),
        pong=b"between",
    ),
    FrameFault(
        "silence",
        "6455 §5.5.2",
        "sends nothing after the 101 and echoes nothing",
        WAIT,
        "a connection with no traffic is still open: a client MUST NOT fail it for silence (it"
        " may ping)",
        echo=False,
    ),
    FrameFault(
        "close-unanswered",
        "6455 §7.1.1",
        "never answers the client's Close, nor closes TCP",
        HANG_UP,
        "after its Close goes unanswered the client closes TCP itself after a timeout of its own"
        f" (judged within {HANG_UP_WAIT:g} s)",
        answer_close=False,
    ),
    FrameFault(
        "drop-tcp",
        "6455 §7.1.5",
        "closes TCP (a FIN) without a Close frame",
        HANG_UP,
        "the connection is closed, abnormally (1006, which is never sent in a frame): the client"
        " closes its side too",
        half_close=True,
    ),
)

# Every fault `serve` can make: the handshake's, then the frames'.
ALL_FAULTS: tuple[Fault, ...] = (*FAULTS, *FRAME_FAULTS)
ALL_BY_NAME = {fault.name: fault for fault in ALL_FAULTS}


class Seen:
    """What the client did after the frames, as the server saw it on the wire."""

    def __init__(self) -> None:
        self.close_code: int | None = None  # of the client's Close (1005: a Close with no code)
        self.close_reason = ""
        self.close_s: float | None = None
        self.eof_s: float | None = None  # when the client closed TCP
        self.pongs: list[bytes] = []
        self.pong_s: float | None = None
        self.messages = 0
        self.bad_frame: str | None = None  # the client sent something that is not a frame
        self.watched_s = 0.0  # how long the client was watched in all


def _ms(seconds: float | None) -> str:
    return f"{(seconds or 0) * 1000:.0f} ms"


def _codes(codes: frozenset[int]) -> str:
    return " or ".join(str(code) for code in sorted(codes))


def _closed(seen: Seen) -> str:
    if seen.close_code == NO_STATUS:
        return f"sent a Close without a code after {_ms(seen.close_s)}"
    return f"sent Close {seen.close_code} after {_ms(seen.close_s)}"


def judge(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    """What the client did (a word for the scoreboard), whether that is what a correct client
    does, and how (a phrase)."""
    if seen.bad_frame is not None and seen.bad_frame.lower().startswith("close"):
        return "bad close", False, f"answered with a Close that is not valid ({seen.bad_frame})"
    if seen.bad_frame is not None:
        return "bad frame", False, f"sent a frame that is not valid ({seen.bad_frame})"
    return _JUDGES[fault.must](fault, seen)


def _judge_fail(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if seen.close_code in fault.codes:
        return "failed", True, f"failed the connection: {_closed(seen)}"
    if seen.close_code in NORMAL_CODES:
        return "closed", False, f"{_closed(seen)}, a normal close: it took the frames as valid"
    if seen.close_code is not None:
        return "failed", False, f"{_closed(seen)}; the right code is {_codes(fault.codes)}"
    if seen.eof_s is not None:
        return (
            "dropped",
            True,
            f"closed TCP after {_ms(seen.eof_s)} without the Close {_codes(fault.codes)} it"
            " SHOULD send (§7.1.7)",
        )
    if seen.pongs:
        return "answered", False, "answered the Ping as if it were valid"
    return "stayed", False, f"kept the connection open for {seen.watched_s:g} s"


def _judge_pong(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if fault.pong in seen.pongs:
        return "pong", True, f"answered with the same payload after {_ms(seen.pong_s)}"
    if seen.pongs:
        got = seen.pongs[0]
        return "bad pong", False, f"answered with a Pong of {len(got)} bytes, not the Ping's"
    if seen.close_code is not None:
        return "failed", False, f"{_closed(seen)} instead of answering the Ping"
    if seen.eof_s is not None:
        return "dropped", False, f"closed TCP after {_ms(seen.eof_s)} without answering"
    return "no pong", False, f"no Pong within {seen.watched_s:g} s"


def _judge_wait(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if seen.close_code is not None:
        return "closed", False, f"{_closed(seen)} of silence"
    if seen.eof_s is not None:
        return "dropped", False, f"closed TCP after {_ms(seen.eof_s)} of silence"
    return "waited", True, f"kept the connection open for {seen.watched_s:g} s"


def _judge_hang_up(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if seen.close_code == 1006:
        return "sent 1006", False, "sent Close 1006, a code that MUST NOT be sent (§7.4.1)"
    if seen.eof_s is not None:
        return "hung up", True, f"closed TCP itself after {_ms(seen.eof_s)}"
    if fault.half_close:
        return "stayed", False, f"kept its side open {seen.watched_s:g} s after the FIN"
    if seen.close_code is None:
        return "no close", False, f"sent no Close within {seen.watched_s:g} s: nothing to judge"
    return "stayed", False, f"still open {seen.watched_s:g} s after its Close"


def _judge_take(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if seen.close_code is None and seen.eof_s is None:
        return "took it", True, f"kept the connection open for {seen.watched_s:g} s"
    if seen.close_code in NORMAL_CODES:
        return "took it", True, f"{_closed(seen)}, a normal close"
    if seen.close_code is not None:
        return "failed", False, f"{_closed(seen)} on valid frames"
    return "dropped", False, f"closed TCP after {_ms(seen.eof_s)} without a Close"


def _judge_close_back(fault: FrameFault, seen: Seen) -> tuple[str, bool, str]:
    if seen.close_code is not None and seen.close_code not in (PROTOCOL_ERROR, INVALID_DATA):
        return "closed", True, f"answered the Close: {_closed(seen)}"
    if seen.close_code is not None:
        return "failed", False, f"{_closed(seen)} on a valid Close"
    if seen.eof_s is not None:
        return "dropped", False, f"closed TCP after {_ms(seen.eof_s)} without answering the Close"
    return "stayed", False, f"did not answer the Close within {seen.watched_s:g} s"


_JUDGES: dict[str, Callable[[FrameFault, Seen], tuple[str, bool, str]]] = {
    FAIL: _judge_fail,
    PONG: _judge_pong,
    WAIT: _judge_wait,
    HANG_UP: _judge_hang_up,
    TAKE: _judge_take,
    CLOSE_BACK: _judge_close_back,
}


def settled(fault: FrameFault, seen: Seen) -> bool:
    """Whether the verdict is known before the wait is over (the watch may stop)."""
    if seen.bad_frame is not None or seen.eof_s is not None:
        return True
    if fault.must == PONG and fault.pong in seen.pongs:
        return True
    # a Close settles all but HANG_UP, which only the client's TCP close (or the wait) settles
    return seen.close_code is not None and fault.must != HANG_UP

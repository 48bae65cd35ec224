"""The model of `wsaccept audit`: a case (a deliberate request and the rule that judges the
answer to it), the server under audit as the cases see it, what one connection observed, and the
outcome, named as Autobahn|Testsuite names them.

Pure code: the network code (net.audit) sends a case's bytes and fills an Observed; the case's
judge turns it into a Verdict. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Callable, Sequence

from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.core.handshake import split_list


class Outcome(enum.Enum):
    """A case's outcome: its label and its rank (worst first when sorted by rank)."""

    FAILED = ("FAILED", 0)
    """A MUST of the RFCs broken, or a security weakness."""
    NON_STRICT = ("NON-STRICT", 1)
    """Allowed, but not what the RFC recommends, or what a strict peer would refuse."""
    INFORMATIONAL = ("INFORMATIONAL", 2)
    """Behaviour worth knowing, that no rule decides."""
    UNIMPLEMENTED = ("UNIMPLEMENTED", 3)
    """An optional feature the server does not have."""
    OK = ("OK", 4)
    """What a conforming, safe server does."""

    def __init__(self, label: str, rank: int) -> None:
        self.label = label
        self.rank = rank

    def __str__(self) -> str:
        return self.label


OUTCOMES = tuple(Outcome)
BY_LABEL = {outcome.label: outcome for outcome in OUTCOMES}


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 when no case FAILED, else 1 (a server that cannot be reached is the caller's)."""
    return ExitCode.CHECK_FAILED if Outcome.FAILED in outcomes else ExitCode.OK


class Server:
    """The server under audit as the cases need it: the request line's target, the Host, the
    Origin a page of the same site would send, and what the user gave (-H, --origin,
    --protocol, --extension). `session` says whether the user's headers carry a credential
    (a Cookie or an Authorization), which the Origin cases turn into a verdict."""

    def __init__(
        self,
        *,
        host_header: str,
        path: str,
        secure: bool,
        headers: Sequence[tuple[str, str]] = (),
        origin: str | None = None,
        protocols: Sequence[str] = (),
        extensions: Sequence[str] = (),
    ) -> None:
        self.host_header = host_header
        self.path = path
        self.secure = secure
        self.headers = list(headers)
        scheme = "https" if secure else "http"
        self.origin = origin or f"{scheme}://{host_header}"
        self.protocols = list(protocols)
        self.extensions = list(extensions)
        names = {name.lower() for name, _ in self.headers}
        self.session = bool(names & {"cookie", "authorization"})
        self.origin_given = origin is not None
        self.baseline: bool | None = None  # whether request.1 (the valid handshake) upgraded

    @property
    def host(self) -> str:
        """The Host header without its port (an IPv6 literal keeps its brackets)."""
        host = self.host_header
        if host.startswith("["):
            return host[: host.index("]") + 1]
        return host.rpartition(":")[0] if ":" in host else host


class Request:
    """One case's request: its pieces (bytes to send, then seconds to wait before the next),
    and what a correct server reads from it: the key (after the OWS a parser strips), the
    subprotocols and extension offers, and the frames to send once upgraded."""

    def __init__(
        self,
        pieces: Sequence[tuple[bytes, float]],
        *,
        key: str | None,
        protocols: Sequence[str] = (),
        extensions: Sequence[str] = (),
        after: bytes | None = None,
        after_wait: float = 0.2,
        watch_close: bool = False,
    ) -> None:
        self.pieces = list(pieces)
        self.key = key
        self.protocols = list(protocols)
        self.extension_values = list(extensions)
        self.after = after  # None: a Close (1000) when upgraded, as probe closes
        self.after_wait = after_wait
        self.watch_close = watch_close  # after a refusal: does the server close the connection?
        self.h2_headers: list[tuple[str, str]] | None = None  # an HTTP/2 case's header list
        self.h2_unless_enabled = False  # sent only to a server that did not enable RFC 8441

    @property
    def data(self) -> bytes:
        return b"".join(piece for piece, _ in self.pieces)

    @property
    def size(self) -> int:
        return sum(len(piece) for piece, _ in self.pieces)


class Frame:
    """A WebSocket frame the server sent (RFC 6455 §5.2), its payload cut to 125 bytes."""

    __slots__ = ("fin", "length", "masked", "opcode", "payload", "rsv")

    def __init__(
        self, fin: bool, rsv: int, opcode: int, masked: bool, length: int, payload: bytes
    ) -> None:
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.length = length
        self.payload = payload

    @property
    def close_code(self) -> int | None:
        if self.opcode != 0x8 or len(self.payload) < 2:
            return None
        return int.from_bytes(self.payload[:2], "big")


class Observed:
    """What one case's connection showed. `ended` says how it ended: "closed" (the server
    closed it), "reset", "open" (still open when we stopped waiting: we closed it), "timeout"
    (no complete answer within the case's timeout); `error` is how it broke before an answer,
    if it did."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.reason = ""
        self.version = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""  # what came after the head: a refusal's body, or frames after a 101
        self.frames: list[Frame] = []
        self.ended = "open"
        self.error: str | None = None
        self.seconds = 0.0
        self.sent_all = True
        self.http2 = False  # an HTTP/2 case: a 2xx is the upgrade (RFC 8441 §5)
        self.bare_lf = False  # the response head's lines ended in LF alone
        self.h2_enabled = False  # the server's SETTINGS enabled the extended CONNECT
        self.h2_skipped: str | None = None  # why an HTTP/2 case was not sent

    def values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def tokens(self, name: str) -> list[str]:
        return [item.lower() for item in split_list(self.values(name)) if item]

    @property
    def upgraded(self) -> bool:
        if self.http2:
            return self.status is not None and 200 <= self.status < 300
        return self.status == 101

    @property
    def answered(self) -> bool:
        return self.status is not None


class Verdict:
    """A case's outcome and why, as a sentence."""

    def __init__(self, outcome: Outcome, why: str) -> None:
        self.outcome = outcome
        self.why = why

    def __repr__(self) -> str:
        return f"Verdict({self.outcome.label}, {self.why!r})"


Builder = Callable[["Case", Server], Request]
Judge = Callable[[Observed, Request, Server], Verdict]


class Case:
    """One case of the suite: a stable ID (`<category>.<n>`), a title, the RFC section it rests
    on, what a conforming or safe server does, the request, and the judge of the answer."""

    def __init__(
        self,
        number: int,
        category: str,
        section: str,
        title: str,
        expected: str,
        build: Builder,
        judge: Judge,
        *,
        slow: bool = False,
    ) -> None:
        self.id = f"{category}.{number}"
        self.category = category
        self.section = section
        self.title = title
        self.expected = expected
        self.build = build
        self.judge = judge
        self.slow = slow  # waits on purpose (a slow head): started first
        self.http2 = category == "h2"  # sent over HTTP/2, with --http2

    @property
    def key(self) -> str:
        """This case's Sec-WebSocket-Key: the same on every run, different for every case."""
        digest = hashlib.sha1(f"wsaccept audit {self.id}".encode()).digest()[:16]
        return base64.b64encode(digest).decode("ascii")

    def __repr__(self) -> str:
        return f"Case({self.id!r})"


class Result:
    """A case run: the case, what was sent, what was observed, and the verdict."""

    def __init__(self, case: Case, request: Request, observed: Observed, verdict: Verdict) -> None:
        self.case = case
        self.request = request
        self.observed = observed
        self.verdict = verdict

    @property
    def outcome(self) -> Outcome:
        return self.verdict.outcome


def summary(results: Sequence[Result]) -> dict[str, int]:
    """How many cases had each outcome, every outcome named (0 included), worst first."""
    counts = {outcome.label: 0 for outcome in OUTCOMES}
    for result in results:
        counts[result.outcome.label] += 1
    return counts


MAX_FRAMES = 32


def parse_frames(data: bytes) -> list[Frame]:
    """The whole frames at the start of `data` (at most MAX_FRAMES), each payload cut to 125
    bytes and unmasked if masked; a frame cut short by the end of `data` is left out."""
    frames: list[Frame] = []
    at = 0
    while len(frames) < MAX_FRAMES and len(data) - at >= 2:
        first, second = data[at], data[at + 1]
        masked, length, at_payload = bool(second & 0x80), second & 0x7F, at + 2
        if length >= 126:
            width = 2 if length == 126 else 8
            if len(data) - at_payload < width:
                break
            length = int.from_bytes(data[at_payload : at_payload + width], "big")
            at_payload += width
        mask = data[at_payload : at_payload + 4] if masked else b""
        at_payload += len(mask)
        if len(mask) < (4 if masked else 0) or len(data) - at_payload < length:
            break
        payload = data[at_payload : at_payload + min(length, 125)]
        if masked:
            payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        frames.append(
            Frame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, masked, length, payload)
        )
        at = at_payload + length
    return frames

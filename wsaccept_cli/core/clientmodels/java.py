"""The JDK's `java.net.http.WebSocket` (OpenJDK 17.0.21, Debian openjdk-17-jdk-headless).

HTTP/1.1 parser, `src/java.net.http/share/classes/jdk/internal/net/http/Http1HeaderParser.java`
(a state machine over ISO-8859-1 characters; the 17.0.21 build, read with `javap -c` where it
differs from the repository's older text: the size accounting):
- the status line ends at CR LF or a bare LF (a CR followed by anything else fails); it must
  start with `HTTP/1.` and be at least 12 characters, and characters 9 to 11 must be a number
  (Integer.parseInt: a sign is taken) of at least 100; nothing else of it is checked (the
  minor version, the separators and the reason phrase may be anything, `HTTP/1.1 101x` is 101);
  no empty line may come before it;
- field lines end in CR LF or a bare LF; HTAB becomes SP; a line starting with SP or HTAB
  continues the previous one (obs-fold: one SP in place of the break); a CR inside a line
  followed by SP or HTAB continues it too, while a CR followed by anything else throws away
  what the line held so far; after CR LF, a CR must be followed by LF;
- a line without a colon, or with an empty name, is ignored; a name must be a token (so
  whitespace before the colon fails, and a first field line starting with SP, whose name then
  starts with one, fails); the value is `String.trim()`med (every character up to U+0020 at
  both ends, controls and NUL included) and must then hold only SP, HTAB, VCHAR and obs-text
  (`common/Utils.java` isValidValue: a control or DEL inside fails);
- size: 32 plus the length of the status line, plus 32 plus the name and value lengths of
  each field, must stay within 393216 (`jdk.http.maxHeaderSize`), checked too on each line as
  it is read;
- repeated fields are kept in order.
Interim responses (`Exchange.java`, checkFor1xxResponse): 100 (no Expect sent) and 102 to 199
are ignored and the next response read, at most 8 (`jdk.httpclient.maxNonFinalResponses`).
On the 101 (`Http1Response.java`, fixupContentLen): the first Content-Length must be a number
(Long.parseLong) and not positive, and without one a first Transfer-Encoding of `chunked`
(any case) makes it wait for a chunked body: both fail the handshake.

Then `websocket/OpeningHandshake.java` (handleResponse): status 101; exactly one Upgrade, equal
to `websocket` ignoring case; exactly one Connection, equal to `Upgrade` ignoring case (no token
list); at most one Sec-WebSocket-Version, `13`; no Sec-WebSocket-Extensions at all (the JDK
offers none); exactly one accept, equal once trimmed; a subprotocol, if any, exactly one and
one of those offered (case-sensitive); none chosen is fine.

After the head and any body (READER): `websocket/TransportImpl.java` reads the channel's
`initialByteBuffer()` (what came after the head) first, and `WebSocketImpl` (signalOpen) has
it decoded as the listener's onOpen runs, so a failure there closes the connection before the
driver's sendText gets out. `Frame.java` (Reader.readFrame) acts byte by byte:
`MessageDecoder.java` fails RSV bits, a reserved opcode, a fragmented control frame, a
continuation with nothing to continue and a new message inside a fragmented one on the first
byte (rsv1..3, opcode), a mask bit on the second (mask), a length not in its shortest form or
with its top bit set once it has it (readFrame), a control frame over 125 bytes (payloadLen),
text that is not UTF-8 as its bytes come (payloadData's decoder); a Close ends it (onClose).
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError
from wsaccept_cli.core.clientmodels.mirror import MirrorProfile, head_of, show
from wsaccept_cli.core.clientmodels.profile import Facts

NAME = "Java"
MAX_HEADER_SIZE = 393216
MAX_INTERIM = 8
ENTRY = 32

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LONG = re.compile(r"[+-]?[0-9]+")
_RUN = re.compile(r"[^\r\n]+")

GRAMMAR = Grammar(
    status_line=re.compile(rb"HTTP/(?P<version>1\..)(?P<status>...)(?P<reason>.*)"),
    versions=frozenset({"1.0", "1.1"}),
    bare_lf=True,
    no_colon="drop",
    empty_name="drop",
    obs_fold="join",
    max_head=MAX_HEADER_SIZE,
    interim=frozenset(range(100, 200)) - {101},
    notes={"parser": "mirrored in parse(): Http1HeaderParser's state machine"},
)


def parse(data: bytes) -> Head:
    """The final response, up to 8 interim ones skipped (`Exchange.checkFor1xxResponse`)."""
    text = data.decode("latin-1")
    position = 0
    for _ in range(MAX_INTERIM + 1):
        head, position = _one(text, position)
        if head.status is None or not 100 <= head.status < 200 or head.status == 101:
            head.end = _body(head, data, position)
            return head
    raise RefusalError(f"more than {MAX_INTERIM} interim responses")


def _one(text: str, position: int) -> tuple[Head, int]:
    """One response head from `position`: Http1HeaderParser.parse."""
    end = _line_end(text, position)
    status_line = text[position:end]
    position = _after_status_line(text, end)
    status = _status(status_line)
    size = ENTRY + len(status_line)
    fields: list[tuple[str, str]] = []
    first = text[position : position + 1]
    if first == "\n":  # maybeStartHeaders, maybeEndHeaders: no field at all
        return head_of(status, "1.1", fields), position + 1
    if first == "\r":
        if text[position + 1 : position + 2] != "\n":
            raise RefusalError("a CR not followed by LF after the status line")
        return head_of(status, "1.1", fields), position + 2
    line: list[str] = []
    length = 0  # of the line being read, checked against the limit as it grows
    while True:
        run = _RUN.match(text, position)
        if run is not None and run.end() > position:  # readResumeHeader: HTAB becomes SP
            line.append(run.group().replace("\t", " "))
            length += run.end() - position
            position = run.end()
            if size + length + ENTRY > MAX_HEADER_SIZE:
                raise RefusalError(f"a head over {MAX_HEADER_SIZE} bytes (jdk.http.maxHeaderSize)")
        if position >= len(text):
            raise RefusalError("the head never ends (no empty line)")
        char = text[position]
        position += 1
        if char == "\r":
            after = text[position : position + 1]
            if after != "\n":
                if not after:
                    raise RefusalError("the head never ends (no empty line)")
                position += 1
                if after in " \t":
                    line.append(" ")
                    length += 1
                else:
                    line, length = [after], 1  # resumeOrLF: what the line held is lost
                continue
            position += 1
        # a line ended (CR LF or LF): resumeOrSecondCR looks at the next character
        after = text[position : position + 1]
        if after in (" ", "\t") and after:
            position += 1
            line.append(" ")
            length += 1
            continue
        if line:
            size = _field("".join(line), fields, size)
            line, length = [], 0
        if after == "\n":
            return head_of(status, "1.1", fields), position + 1
        if after == "\r":
            if text[position + 1 : position + 2] != "\n":
                if position + 1 >= len(text):
                    raise RefusalError("the head never ends (no empty line)")
                raise RefusalError("CR LF CR not followed by LF")
            return head_of(status, "1.1", fields), position + 2
        if not after:
            raise RefusalError("the head never ends (no empty line)")


def _line_end(text: str, position: int) -> int:
    cr, lf = text.find("\r", position), text.find("\n", position)
    ends = [index for index in (cr, lf) if index >= 0]
    if not ends:
        raise RefusalError("the head never ends (no empty line)")
    return min(ends)


def _after_status_line(text: str, end: int) -> int:
    """Past the status line's CR LF or LF; then an immediate CR LF (or LF) is an empty head."""
    if text[end] == "\r":
        if text[end + 1 : end + 2] != "\n":
            raise RefusalError("a CR not followed by LF after the status line")
        return end + 2
    return end + 1


def _status(line: str) -> int:
    if not line.startswith("HTTP/1.") or len(line) < 12:
        raise RefusalError(f"a malformed status line {show(line)}")
    code = line[9:12]
    if not _LONG.fullmatch(code) or int(code) < 100:
        raise RefusalError(f"a malformed status line {show(line)}")
    return int(code)


def _field(line: str, fields: list[tuple[str, str]], size: int) -> int:
    """addHeaderFromString."""
    name, colon, value = line.partition(":")
    if not colon or not name:
        return size
    if not TOKEN.fullmatch(name):
        raise RefusalError(f"a field name that is not a token {show(name)}")
    value = _trim(value)
    if _VALUE_BAD.search(value):
        raise RefusalError("a control character in a field value")
    size += len(name) + len(value) + ENTRY
    if size > MAX_HEADER_SIZE:
        raise RefusalError(f"a head over {MAX_HEADER_SIZE} bytes (jdk.http.maxHeaderSize)")
    fields.append((name, value))
    return size


def _trim(value: str) -> str:
    """String.trim(): every character up to U+0020 off both ends."""
    start, end = 0, len(value)
    while start < end and value[start] <= " ":
        start += 1
    while end > start and value[end - 1] <= " ":
        end -= 1
    return value[start:end]


def _body(head: Head, data: bytes, position: int) -> int:
    """Http1Response (fixupContentLen, readBody): a body the 101 announces is read before the
    WebSocket starts (`RawChannelTube` gets what follows it), so it is waited for: where it
    ends in `data`, or RefusalError when it is not all there (no server sends the rest later).
    """
    if head.status is None:
        return position
    lengths = head.values("content-length")
    length = -1
    if lengths:
        if not _LONG.fullmatch(lengths[0]):
            raise RefusalError(f"a Content-Length that is not a number {show(lengths[0])}")
        length = int(lengths[0])
    if length > 0:
        if len(data) - position < length:
            raise RefusalError(f"a body of {length} bytes announced")
        return position + length
    encodings = head.values("transfer-encoding")
    if length == -1 and encodings and encodings[0].lower() == "chunked":
        return _chunked(data, position)
    return position


_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[^\r\n]*\r?\n")


def _chunked(data: bytes, position: int) -> int:
    """ResponseContent.ChunkedBodyParser: hex sizes (extensions after them ignored), each chunk
    followed by CR LF, a last chunk of size 0, then trailer lines up to an empty one."""
    while True:
        match = _CHUNK_SIZE.match(data, position)
        if match is None:
            raise RefusalError("a chunked body announced")
        size, position = int(match.group(1), 16), match.end()
        if size == 0:
            break
        position += size
        if data[position : position + 2] != b"\r\n":
            raise RefusalError("a chunked body announced")
        position += 2
    while True:  # the trailer
        lf = data.find(b"\n", position)
        if lf < 0:
            raise RefusalError("a chunked body announced")
        line, position = data[position:lf], lf + 1
        if line in (b"", b"\r"):
            return position


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def _single(facts: Facts, name: str, label: str) -> tuple[str | None, str | None]:
    values = facts.response.values(name)
    if not values:
        return None, f"no {label}"
    if len(values) > 1:
        return None, f"{label} more than once"
    return values[0], None


def upgrade(facts: Facts) -> str | None:
    value, problem = _single(facts, "upgrade", "Upgrade")
    if value is None:
        return problem
    return None if value.lower() == "websocket" else f"Upgrade is {value!r}, not websocket"


def connection(facts: Facts) -> str | None:
    value, problem = _single(facts, "connection", "Connection")
    if value is None:
        return problem
    return None if value.lower() == "upgrade" else f"Connection is {value!r}, not Upgrade"


def version(facts: Facts) -> str | None:
    values = facts.response.values("sec-websocket-version")
    if len(values) > 1:
        return "Sec-WebSocket-Version more than once"
    return None if not values or values[0] == "13" else f"Sec-WebSocket-Version {values[0]!r}"


def no_extensions(facts: Facts) -> str | None:
    if facts.extensions_offered:
        return None  # not this client's own request: to it the server would answer without them
    present = facts.response.values("sec-websocket-extensions")
    return "an extension that was not offered" if present else None


def accept(facts: Facts) -> str | None:
    value, problem = _single(facts, "sec-websocket-accept", "Sec-WebSocket-Accept")
    if value is None:
        return problem
    if facts.expected is not None and _trim(value) != facts.expected:
        return "wrong Sec-WebSocket-Accept"
    return None


def subprotocol(facts: Facts) -> str | None:
    values = facts.response.values("sec-websocket-protocol")
    if not values:
        return None
    if len(values) > 1:
        return "Sec-WebSocket-Protocol more than once"
    return None if values[0] in facts.offered else "a subprotocol that was not offered"


_BYTE = Stage.BYTE
READER = FrameReader(
    "jdk/internal/net/http/websocket/MessageDecoder.java",
    {"rsv": _BYTE, "opcode": _BYTE, "control_fin": _BYTE, "sequence": _BYTE, "mask": Stage.TWO,
     "control_length": Stage.LENGTH, "nonminimal": Stage.LENGTH, "top_bit": Stage.LENGTH,
     "utf8": Stage.PAYLOAD},
)  # fmt: skip

PROFILE = MirrorProfile(
    NAME,
    "jdk/internal/net/http/websocket/OpeningHandshake.java",
    GRAMMAR,
    parse,
    (status_101, upgrade, connection, version, no_extensions, accept, subprotocol),
    offers_extensions=False,
    reader=READER,
)

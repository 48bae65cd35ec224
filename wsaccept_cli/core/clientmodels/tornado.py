"""Tornado 6.6 `tornado.websocket.websocket_connect`, read at 6.6.1.

HTTP/1.1 parser, `tornado/http1connection.py` (HTTP1Connection._read_message_inner,
_parse_headers) and `tornado/httputil.py` (parse_response_start_line, HTTPHeaders.parse,
parse_line, add, _ABNF):
- the head is what comes up to the first `\\r?\\n\\r?\\n` (`read_until_regex`), at most 65536
  bytes with it (HTTP1ConnectionParameters.max_header_size); a longer one fails;
- CR and LF before the status line are stripped (`lstrip("\\r\\n")`), so one empty line before
  it passes, two end the head there and fail;
- the status line, CRs stripped from its end, must fully match `HTTP/D.D SP 3DIGIT SP
  [reason]` (the space after the code is required, even with no reason) with a version
  starting `HTTP/1`; the reason is HTAB, SP, VCHAR and obs-text;
- field lines end in LF with an optional CR before it (a bare LF passes); a line starting with
  whitespace fails ("folding not supported"), so does a line without a colon, a name that is
  not a token (whitespace before the colon, an empty name), and a value, stripped of SP and
  HTAB, that is not VCHAR/obs-text with SP and HTAB inside (a control, NUL, DEL, a lone CR);
- repeated fields are kept; `headers[name]` joins them with a comma.
Interim responses: a 1xx other than 101 is skipped and the next response read (up to 10), unless
it has Content-Length or Transfer-Encoding ("Response code %d cannot have body").

Then `tornado/websocket.py` (WebSocketClientConnection.headers_received: status 101, and
WebSocketProtocol13._process_server_headers, with asserts): the joined Upgrade, lowercased, is
`websocket`; the joined Connection, lowercased, is `upgrade` (no token list); the joined accept
is the expected one; any extension fails (with the default compression_options=None it offers
none, and `unsupported extension` is raised for whatever is listed); the subprotocol is not
checked.

After the head (READER): `tornado/websocket.py` (WebSocketProtocol13._receive_frame_loop,
started as the connection opens) reads from the stream's buffer, where the bytes after the head
already are, and runs before the application's first `write_message`: _receive_frame fails RSV
bits and a control frame of a 7-bit length over 125 as soon as it has two bytes, a length over
max_message_size (10 MiB) once it has it, and, once the frame is whole, a fragmented control
frame, a continuation with nothing to continue, and (_handle_message) a reserved opcode or a
text message that does not decode as UTF-8. A mask bit is taken. A Close is answered and the
stream closed; one whose reason is not UTF-8 raises in _handle_message instead, which ends the
loop and leaves the connection open. Each whole message is handed to `on_message`, which
puts it in the client's `read_queue` (`Queue(1)`, WebSocketClientConnection) and the loop
awaits that: the first fits, the second waits for the application to read, so nothing behind
the second message is read before the first send.
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError
from wsaccept_cli.core.clientmodels.mirror import MirrorProfile, head_of, show
from wsaccept_cli.core.clientmodels.profile import Facts

NAME = "tornado"
MAX_HEAD = 65536
MAX_INTERIM = 10

_VCHAR = r"[\x21-\x7e\x80-\xff]"
STATUS_LINE = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3}) ((?:[\t ]|" + _VCHAR + r")+)?")
FIELD_VALUE = re.compile(r"|" + _VCHAR + r"|" + _VCHAR + r"(?:" + _VCHAR + r"| |\t)*" + _VCHAR)
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HEAD_END = re.compile(rb"\r?\n\r?\n")

GRAMMAR = Grammar(
    status_line=re.compile(rb"HTTP/(?P<version>1\.[0-9]) (?P<status>[0-9]{3}) (?P<reason>.*)"),
    versions=frozenset(f"1.{minor}" for minor in range(10)),
    bare_lf=True,
    max_head=MAX_HEAD,
    interim=frozenset(range(100, 200)) - {101},
    notes={"parser": "mirrored in parse(): the head ends at the first \\r?\\n\\r?\\n"},
)


def parse(data: bytes) -> Head:
    """The final response, interim ones skipped as `_read_message_inner` does."""
    size = len(data)
    for _ in range(MAX_INTERIM + 1):
        head, data = _one(data)
        status = head.status or 0
        if not 100 <= status < 200 or status == 101:
            head.end = size - len(data)
            return head
        if head.values("content-length") or head.values("transfer-encoding"):
            raise RefusalError(f"a {status} response with a body length")
    raise RefusalError(f"more than {MAX_INTERIM} interim responses")


def _one(data: bytes) -> tuple[Head, bytes]:
    end = HEAD_END.search(data)
    if end is None or end.end() > MAX_HEAD:
        if end is None and len(data) <= MAX_HEAD:
            raise RefusalError("the head never ends (no empty line)")
        raise RefusalError(f"a head over {MAX_HEAD} bytes")
    text = data[: end.end()].decode("latin-1").lstrip("\r\n")
    eol = text.find("\n")
    start = text[:eol].rstrip("\r")
    match = STATUS_LINE.fullmatch(start)
    if match is None or not match.group(1).startswith("HTTP/1"):
        raise RefusalError(f"a malformed status line {show(start)}")
    fields: list[tuple[str, str]] = []
    lines = text[eol:]
    position = 0
    while True:
        lf = lines.find("\n", position)
        line = lines[position:] if lf < 0 else lines[position : lf + 1]
        _field(line, fields)
        if lf < 0:
            break
        position = lf + 1
    return head_of(int(match.group(2)), match.group(1)[5:], fields), data[end.end() :]


def _field(line: str, fields: list[tuple[str, str]]) -> None:
    """`HTTPHeaders.parse_line` and `add`."""
    line = re.sub(r"\r?\n$", "", line)
    if not line:
        return
    if line[0] in " \t":
        raise RefusalError("a field line starting with whitespace (obs-fold)")
    name, colon, value = line.partition(":")
    if not colon:
        raise RefusalError(f"a field line without a colon {show(line)}")
    if not TOKEN.fullmatch(name):
        raise RefusalError(f"a field name that is not a token {show(name)}")
    value = value.strip(" \t")
    if not FIELD_VALUE.fullmatch(value):
        raise RefusalError("a control character in a field value")
    fields.append((name, value))


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def upgrade(facts: Facts) -> str | None:
    value = _joined(facts, "upgrade")
    if value is None:
        return "no Upgrade"
    return None if value.lower() == "websocket" else f"Upgrade is {value!r}, not websocket"


def connection(facts: Facts) -> str | None:
    value = _joined(facts, "connection")
    if value is None:
        return "no Connection"
    return None if value.lower() == "upgrade" else f"Connection is {value!r}, not upgrade"


def accept(facts: Facts) -> str | None:
    value = _joined(facts, "sec-websocket-accept")
    if value is None:
        return "no Sec-WebSocket-Accept"
    if facts.expected is not None and value != facts.expected:
        return "wrong Sec-WebSocket-Accept"
    return None


def no_extensions(facts: Facts) -> str | None:
    """`_parse_extensions_header`: any non-empty joined value lists an extension, and with no
    compression options every one is unsupported."""
    if facts.extensions_offered:
        return None  # not this client's own request: to it the server would answer without them
    value = _joined(facts, "sec-websocket-extensions")
    return "an extension that was not offered" if value else None


def _joined(facts: Facts, name: str) -> str | None:
    """`HTTPHeaders.__getitem__`: repeated fields joined with a comma (no space)."""
    values = facts.response.values(name)
    return ",".join(values) if values else None


READER = FrameReader(
    "tornado/websocket.py",
    {"rsv": Stage.TWO, "control_length": Stage.TWO, "max": Stage.LENGTH,
     "control_fin": Stage.FRAME, "sequence": Stage.FRAME, "opcode": Stage.FRAME,
     "utf8": Stage.MESSAGE},
    max_length=10 * 1024 * 1024,
    bad_reason_refuses=False,
    messages=2,
)  # fmt: skip

PROFILE = MirrorProfile(
    NAME,
    "tornado/websocket.py",
    GRAMMAR,
    parse,
    (status_101, upgrade, connection, accept, no_extensions),
    offers_extensions=False,
    reader=READER,
)

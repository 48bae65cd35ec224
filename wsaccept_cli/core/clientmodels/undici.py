"""undici 7's WebSocket (npm `undici` 7.30.3 on Node 20; the WebSocket built into Node 22+).

HTTP/1.1 parser: undici's own build of llhttp (WebAssembly, `lib/llhttp/`), strict (undici sets
no lenient flag), the grammar of Node's http (`node_ws.LLHTTP_*`): empty lines before the status
line skipped (bare LFs too), `HTTP/`, `RTSP/` or `ICE/` with a version llhttp knows (0.9, 1.0,
1.1, 2.0), one space, three digits, any reason; CR LF only; no obs-fold, no whitespace before
the colon, no line without a colon, no control or DEL in a value; llhttp skips the whitespace
before a value but hands its trailing whitespace on, and undici keeps it
(`lib/dispatcher/client-h1.js` onHeaderValue; fetch's HeadersList.append does not normalise).
llhttp also fails a Content-Length that is not digits (OWS around them allowed), a second
Content-Length (even an equal one), and Content-Length with Transfer-Encoding. `client-h1.js`
fails when the names and values of one response add up to 16384 bytes or more (trackHeader, `>=`
http.maxHeaderSize).
Interim responses (`client-h1.js` onHeadersComplete): a 100 fails ("bad response"); 102 to 199
are handed to the request and the next response is read, without limit.

Then `lib/web/websocket/connection.js` (establishWebSocketConnection, processResponse), over
fetch's HeadersList (repeated fields joined with ', '): status 101; with subprotocols offered,
a non-empty Sec-WebSocket-Protocol; Upgrade, lowercased, exactly `websocket`; Connection,
lowercased, exactly `upgrade` (no token list); the accept exactly; a Sec-WebSocket-Extensions
field (even empty) must name `permessage-deflate` among its `;`-separated parts (`util.js`
parseExtensions splits at ';' only, so `a, permessage-deflate` fails and `x; permessage-deflate`
passes; parameters are not checked until a compressed message comes); a Sec-WebSocket-Protocol
must be exactly one of the offered ones. It offers `permessage-deflate; client_max_window_bits`.
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head
from wsaccept_cli.core.clientmodels.node_ws import LLHTTP_VERSIONS
from wsaccept_cli.core.clientmodels.profile import Facts, Offer, Profile

NAME = "undici"
MAX_HEADERS_SIZE = 16 * 1024

# llhttp's response start (`res_after_start`): HTTP, RTSP or ICE, a slash, D.D, one space, three
# digits, then a space and any reason or the line's end.
STATUS_LINE = re.compile(
    rb"(?:HTTP|RTSP|ICE)/(?P<version>[0-9]\.[0-9]) (?P<status>[0-9]{3})(?: (?P<reason>[^\r\n]*))?"
)

GRAMMAR = Grammar(
    status_line=STATUS_LINE,
    versions=LLHTTP_VERSIONS,
    leading_empty_lines=True,
    trim_value=b"",
    interim=frozenset(range(102, 200)) - {101},
    notes={"values": "leading OWS skipped (in the checks), trailing kept"},
)

_DIGITS = re.compile(r"[ \t]*[0-9]+[ \t]*")


def _value(raw: str) -> str:
    """What llhttp hands on: the value without the whitespace before it."""
    return raw.lstrip(" \t")


def _joined(facts: Facts, name: str) -> str | None:
    values = [_value(value) for value in facts.response.values(name)]
    return ", ".join(values) if values else None


def headers_size(facts: Facts) -> str | None:
    size = sum(len(name) + len(_value(value)) for name, value in facts.response.fields)
    if size >= MAX_HEADERS_SIZE:
        return f"fields of {size} bytes (undici's limit is under {MAX_HEADERS_SIZE})"
    return None


def llhttp_lengths(facts: Facts) -> str | None:
    lengths = facts.response.values("content-length")
    if any(not _DIGITS.fullmatch(value) for value in lengths):
        return "an invalid Content-Length"
    if len(lengths) > 1:
        return "Content-Length more than once"
    if lengths and facts.response.values("transfer-encoding"):
        return "Content-Length with Transfer-Encoding"
    return None


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def protocol_present(facts: Facts) -> str | None:
    """Step 2: subprotocols offered, and none (or an empty one) in the response."""
    return (
        "no subprotocol chosen"
        if facts.offered and not _joined(facts, "sec-websocket-protocol")
        else None
    )


def upgrade(facts: Facts) -> str | None:
    value = _joined(facts, "upgrade")
    if value is not None and value.lower() == "websocket":
        return None
    return f"Upgrade is {value!r}, not websocket" if value is not None else "no Upgrade"


def connection(facts: Facts) -> str | None:
    value = _joined(facts, "connection")
    if value is not None and value.lower() == "upgrade":
        return None
    return f"Connection is {value!r}, not upgrade" if value is not None else "no Connection"


def accept(facts: Facts) -> str | None:
    value = _joined(facts, "sec-websocket-accept")
    if value is None:
        return "no Sec-WebSocket-Accept"
    return (
        None if facts.expected is None or value == facts.expected else "wrong Sec-WebSocket-Accept"
    )


def extensions(facts: Facts) -> str | None:
    value = _joined(facts, "sec-websocket-extensions")
    if value is None:
        return None
    names = (
        {part.split("=", 1)[0].lstrip(" \t\r\n") for part in value.split(";")} if value else set()
    )
    return (
        None
        if "permessage-deflate" in names
        else "Sec-WebSocket-Extensions without permessage-deflate"
    )


def protocol_offered(facts: Facts) -> str | None:
    value = _joined(facts, "sec-websocket-protocol")
    if value is None:
        return None
    return None if value in facts.offered else "a subprotocol that was not offered"


class LlhttpProfile(Profile):
    """llhttp's `start` state skips any run of CR and LF before the status line, bare LFs
    included (which `Grammar.leading_empty_lines` alone would refuse as line endings)."""

    def parse_response(self, data: bytes, offer: Offer) -> Head:
        return super().parse_response(data.lstrip(b"\r\n"), offer)


PROFILE = LlhttpProfile(
    NAME,
    "lib/web/websocket/connection.js",
    GRAMMAR,
    (
        headers_size,
        llhttp_lengths,
        status_101,
        protocol_present,
        upgrade,
        connection,
        accept,
        extensions,
        protocol_offered,
    ),
)

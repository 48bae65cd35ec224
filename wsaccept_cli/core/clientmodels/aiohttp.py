"""aiohttp 3 `ClientSession.ws_connect`, its response parsed by aiohttp's C parser
(`aiohttp/_http_parser.pyx`, HttpResponseParser), which is llhttp with lenient flags.

HTTP/1.1 parser: llhttp (`vendor/llhttp`, `src/llhttp/http.ts`) as for Node, but
`HttpResponseParser.__init__` sets `llhttp_set_lenient_headers` and
`llhttp_set_lenient_optional_cr_before_lf` (unless aiohttp runs in debug mode):
- a bare LF ends a line;
- spaces (not tabs) before the colon are taken, but only after a name llhttp special-cases (Upgrade,
  Connection, Content-Length, Transfer-Encoding, Proxy-Connection): it stays in the name, so
  `Upgrade : websocket` is a field named `Upgrade ` (`header_field_colon_discard_ws`); after any
  other name it fails (`header_field_general_otherwise`);
- an obs-fold line continues the value, its leading whitespace kept (`header_value_lws`); a
  CR in it not followed by LF fails as in the value itself (`header_value_almost_done`:
  "Missing expected LF after header value"), so does aiohttp's NUL check of the whole value;
- before the first byte of a value (`header_value_discard_ws`, `_discard_ws_almost_done`,
  `_discard_lws`) SP, HTAB and obs-fold line breaks are skipped, and a CR followed by SP or
  HTAB; a CR followed by anything else ends the value, empty, and starts the next field line
  there: `X: \r\r\n` (a CR CR LF after an empty value) is the end of the head;
- a line without a colon, or an empty name, still fails;
- control bytes in a value are taken (`header_value_lenient`), but aiohttp refuses NUL itself
  (`_process_header`: "reject null bytes in header values");
- limits (`_http_parser.pyx` cb_on_status, cb_on_header_field, cb_on_header_value,
  _process_header): a reason phrase over 8190 bytes, a field over 8190 bytes as
  `field_sizes` counts it, more than 128 fields.
The pure-Python fallback (`aiohttp/http_parser.py`, used when the C extension is missing or
AIOHTTP_NO_EXTENSIONS is set) is stricter about whitespace before the colon and obs-fold.
Interim responses: `ClientResponse.start` (aiohttp/client_reqrep.py) reads on past every 1xx
but 101.

Then `ClientSession._ws_connect` (aiohttp/client.py): the status 101, the first Upgrade value
lowercased is `websocket`, the first Connection value lowercased is `upgrade`, the first accept
is right; a subprotocol is looked for, never required. ws_connect's default compress=0 offers
no extension and ignores Sec-WebSocket-Extensions.
"""

from __future__ import annotations

import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.node_ws import (
    LLHTTP_STATUS_LINE,
    LLHTTP_VERSIONS,
    llhttp_framing,
    llhttp_interim,
)
from wsaccept_cli.core.clientmodels.profile import Profile

MAX_FIELD_SIZE = 8190  # ClientSession(max_field_size=8190)


def field_sizes(fields: list[tuple[bytes, bytes]]) -> str | None:
    """`_http_parser.pyx` cb_on_header_field and cb_on_header_value: a name is measured with
    the previous field's name still in `_raw_name` (it is processed only when the next name
    starts), and a value with `_header_name_size`, which that processing resets: so the first
    field counts its name plus value, the others their value alone (llhttp drops the value's
    leading whitespace, not its trailing)."""
    previous = 0
    for index, (name, value) in enumerate(fields):
        if previous + len(name) > MAX_FIELD_SIZE:
            return f"a field name counted as {previous + len(name)} bytes (over {MAX_FIELD_SIZE})"
        size = (len(name) if index == 0 else 0) + len(value.lstrip(b" \t"))
        if size > MAX_FIELD_SIZE:
            return f"a field counted as {size} bytes (over {MAX_FIELD_SIZE})"
        previous = len(name)
    return None


GRAMMAR = Grammar(
    status_line=LLHTTP_STATUS_LINE,
    versions=LLHTTP_VERSIONS,
    bare_lf=True,
    leading_empty_lines=True,
    space_before_colon="keep",
    space_before_colon_chars=b" ",
    space_before_colon_names=frozenset(
        {"connection", "content-length", "proxy-connection", "transfer-encoding", "upgrade"}
    ),
    obs_fold="join-raw",
    first_line_fold="field",
    value_controls=b"\x00",
    lone_cr="after-empty-value",
    max_reason=8190,
    max_value=8190,  # for the generator; `field_sizes` applies it as aiohttp does
    leading_bytes=True,
    max_fields=128,
    interim=frozenset(range(100, 200)) - {101},
    framing=llhttp_framing,
    interim_check=llhttp_interim,
    field_sizes=field_sizes,
)

PROFILE = Profile(
    "aiohttp",
    "aiohttp/client.py",
    GRAMMAR,
    (
        wschecks.status_101,
        wschecks.upgrade_first_is_websocket,
        wschecks.connection_first_is_upgrade,
        wschecks.accept_first,
    ),
    offers_extensions=False,
)

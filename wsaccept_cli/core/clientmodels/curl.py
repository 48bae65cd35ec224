"""libcurl's WebSocket (`curl_ws_*`), here libcurl 8.23 through curl_cffi.

HTTP/1.1 parser, `lib/http.c` (Curl_http_write_resp_hds, http_rw_hd, http_parse_headers,
checkprotoprefix):
- the status line starts `HTTP/` in any case, then `1.0` or `1.1`, a space and three digits,
  and the reason phrase is optional;
- lines end in CR LF or a bare LF; an obs-fold line is joined to the previous field (the
  unfolding of `lib/http.c`); a field line without a colon is passed on and not used;
- a NUL byte in the head fails ("Nul byte in header");
- one line over 100 KiB (CURL_MAX_HTTP_HEADER) or a head over 300 KiB
  (MAX_HTTP_RESP_HEADER_SIZE) fails.
Interim responses: every 1xx but 101 is skipped and the next response read.

Then `lib/http.c` (http_on_101_upgrade) and `lib/ws.c` (Curl_ws_accept): a 101 switches to
WebSocket; the accept, Upgrade and subprotocol are not checked (ws.c has the RFC's sentences as
comments, with no code under them). A `Connection: close`, or HTTP/1.0 without keep-alive,
marks the connection to be closed after the response (lib/http.c, connclose), which ends the
WebSocket before it is used. curl offers no extension, and fails any Sec-WebSocket-Extensions
("[WS] invalid Sec-WebSocket-Extensions response").
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.profile import Facts, Profile

GRAMMAR = Grammar(
    status_line=re.compile(
        rb"(?i:HTTP)/(?P<version>1\.[01]) (?P<status>[0-9]{3})(?: (?P<reason>.*))?", re.DOTALL
    ),
    bare_lf=True,
    space_before_colon="strip",
    no_colon="drop",
    empty_name="drop",
    invalid_name="keep",
    obs_fold="join",
    first_line_fold="field",
    value_controls=b"\x00",
    lone_cr="keep",
    max_line=100 * 1024,
    max_head=300 * 1024,
    interim=frozenset(range(100, 200)) - {101},
)


def keeps_connection(facts: Facts) -> str | None:
    tokens = facts.response.tokens("connection")
    if "close" in tokens:
        return "Connection: close"
    if facts.response.version == "1.0" and "keep-alive" not in tokens:
        return "HTTP/1.0 closes the connection"
    return None


PROFILE = Profile(
    "curl",
    "lib/ws.c",
    GRAMMAR,
    (wschecks.status_101, keeps_connection, wschecks.no_extensions),
    offers_extensions=False,
)

"""libcurl's WebSocket (`curl_ws_*`), here libcurl 8.23.0 through curl_cffi 0.17 (the
curl-impersonate build the tests drive; Debian's curl 7.88.1 command is not the client modelled).
Read in curl's git at 8.22.0-DEV (commit 5c61e16869), whose `lib/http.c` header reading is that
of 8.21 and later ("http: reject spurious CR bytes in headers", June 2026).

HTTP/1.1 parser, `lib/http.c` (Curl_http_write_resp_hds, http_rw_hd, http_parse_headers,
checkprotoprefix):
- the status line (http_parse_headers: checkprotoprefix, then http_rw_hd): `HTTP/` in
  capitals at the line's start (strncmp), `1.0` or `1.1`,
  one blank (SP or HTAB), three digits, then anything ("RFC 9112 requires a single space
  following the status code, but the browsers do not so let's not insist"); `HTTP/2` and
  `HTTP/3` fail as a version switch ("Version mismatch"), other versions as unsupported; a line
  that starts `http/` in another case is taken as an HTTP/1.0 200 (checkhttpprefix), anything
  else as HTTP/0.9, refused;
- an empty line before the status line ends the head at once (no status: refused);
- lines end in CR LF or a bare LF; a line whose first byte is CR or LF is the empty line
  that ends the head (http_rw_hd: `(0x0a == *hd) || (0x0d == *hd)`), so `\r\r\n` ends it too;
- an obs-fold line is joined to the field line before it in the header buffer before that line
  is checked at all (http_parse_headers, unfold_header, Curl_http_to_fold: the line's CR LF and
  trailing blanks dropped, one space, the continuation without its leading blanks); a first
  field line starting with whitespace is not a continuation (Curl_verify_header: "line folding,
  cannot happen on line 2");
- Curl_verify_header, on the whole unfolded header: fails a NUL byte ("Nul byte in header"), a
  CR anywhere but just before the final LF ("Carriage return found in header": so a CR before
  the CR LF of any of its lines, continuations included, and a CR in the name, before the
  colon, as much as in the value), a header without a colon ("Header
  without colon": a line without one followed by a continuation with one passes);
  a name with whitespace before its colon is kept as it is, so it matches no field curl looks
  for;
- a line of 100 KiB (CURL_MAX_HTTP_HEADER, the size of its buffer with the line, its line
  ending and a NUL: `lib/curlx/dynbuf.c`) or a head over 300 KiB
  (MAX_HTTP_RESP_HEADER_SIZE) fails.
Interim responses: every 1xx but 101 is skipped and the next response read
(http_on_1xx_response).

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
        rb"HTTP/(?P<version>1\.[01])[ \t](?P<status>[0-9]{3})(?: (?P<reason>.*)|.*)", re.DOTALL
    ),
    bare_lf=True,
    space_before_colon="keep",
    no_colon="refuse",
    empty_name="keep",
    invalid_name="keep",
    obs_fold="join",
    unfold_first=True,
    cr_line_ends_head=True,
    first_line_fold="keep",
    value_controls=b"\x00",
    lone_cr="refuse",
    line_controls=b"\x00",
    max_line=100 * 1024 - 1,
    max_head=300 * 1024,
    interim=frozenset(range(100, 200)) - {101},
)


def keeps_connection(facts: Facts) -> str | None:
    """A `Connection: close`, or an HTTP/1.0 head without keep-alive, in the final response or
    an interim one before it, marks the connection to be closed (connclose)."""
    for head in [*facts.response.interim, facts.response]:
        tokens = head.tokens("connection")
        if "close" in tokens:
            return "Connection: close"
        if head.version == "1.0" and "keep-alive" not in tokens:
            return "HTTP/1.0 closes the connection"
    return None


PROFILE = Profile(
    "curl",
    "lib/ws.c",
    GRAMMAR,
    (wschecks.status_101, keeps_connection, wschecks.no_extensions),
    offers_extensions=False,
)

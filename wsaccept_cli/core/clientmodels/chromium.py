"""Chromium's WebSocket (the browser's `new WebSocket()`), headless Chromium.

HTTP/1.1 parser, `net/http/http_stream_parser.cc` (HttpStreamParser::FindAndParseResponseHeaders,
ParseResponseHeaders) and `net/http/http_response_headers.cc` (HttpResponseHeaders::Parse,
ParseStatusLine, ParseVersion) with `net/http/http_util.cc` (AssembleRawHeaders):
- lines end in CR LF or a bare LF; obs-fold lines are joined to the previous field
  (AssembleRawHeaders);
- `HTTP` in any case; the status code is the digits after the version and spaces;
- a line without a colon, or with an empty name, is skipped; whitespace before the colon is
  dropped from the name;
- a head larger than 256 KiB fails (kMaxHeaderBufSize, ERR_RESPONSE_HEADERS_TOO_BIG).
Interim responses are not skipped on a WebSocket handshake: the 1xx is the response.

Then `net/websockets/websocket_basic_handshake_stream.cc` (ValidateUpgradeResponse,
ValidateUpgrade, ValidateConnection, ValidateSecWebSocketAccept) and
`websocket_handshake_stream_base.cc` (ValidateSubProtocol, ValidateExtensions) with
`websocket_extension_parser.cc` and `websocket_deflate_parameters.cc`. Fields are split at
commas, so `websocket, h2c` is two Upgrade values. It offers
`permessage-deflate; client_max_window_bits`.

Over HTTP/2 (RFC 8441): `net/websockets/websocket_stream.cc` (WebSocketStreamRequestImpl::
OnResponseStarted: only `response_code == HTTP_OK` goes on), then
`websocket_http2_handshake_stream.cc` (ValidateUpgradeResponse: the subprotocol and extensions,
as over HTTP/1.1).
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.profile import Profile

GRAMMAR = Grammar(
    status_line=re.compile(
        rb"(?i:HTTP)/(?P<version>[0-9]+\.[0-9]+) +(?P<status>[0-9]{3})(?: (?P<reason>.*))?",
        re.DOTALL,
    ),
    versions=frozenset({"1.0", "1.1"}),
    bare_lf=True,
    space_before_colon="strip",
    no_colon="drop",
    empty_name="drop",
    invalid_name="keep",
    obs_fold="join",
    first_line_fold="field",
    value_controls=b"",
    lone_cr="keep",
    max_head=256 * 1024,
)

PROFILE = Profile(
    "Chromium",
    "net/websockets/websocket_basic_handshake_stream.cc",
    GRAMMAR,
    (
        wschecks.status_101,
        wschecks.upgrade_is_websocket,
        wschecks.connection_has_upgrade,
        wschecks.accept_single,
        wschecks.protocol_strict,
        wschecks.extensions_strict,
    ),
    h2_checks=(wschecks.status_200, wschecks.protocol_strict, wschecks.extensions_strict),
    h2_source="net/websockets/websocket_http2_handshake_stream.cc",
)

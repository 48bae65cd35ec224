"""Firefox's WebSocket (the browser's `new WebSocket()`), headless Firefox ESR.

HTTP/1.1 parser, `netwerk/protocol/http/nsHttpTransaction.cpp` (ParseLine, ParseLineSegment,
ParseHead), `nsHttpResponseHead.cpp` (ParseStatusLine_locked, ParseVersion, ParseHeaderLine_locked)
and `nsHttpHeaderArray.cpp` (ParseHeaderLine):
- lines end in CR LF or a bare LF; a line starting with a space or tab continues the previous
  field (ParseLineSegment);
- `HTTP` in any case, the status read with atoi after the version;
- a line without a colon, or whose name is not a token, is skipped (ParseHeaderLine);
Interim responses: nsHttpTransaction::ParseHead skips every 1xx but 101 and reads the next head.

Then `netwerk/protocol/websocket/WebSocketChannel.cpp` (WebSocketChannel::OnStartRequest: the
101 over HTTP/1.1, Upgrade and Connection token lists, the accept as merged by
`nsHttpHeaderArray.cpp`; HandleExtensions, ParseWebSocketExtension). The subprotocol is checked
only when the server chose one, and only against an offer. It offers `permessage-deflate`. Over
HTTP/2 (RFC 8441): OnStartRequest wants the status 200 exactly, then the same subprotocol and
extension checks.
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
    invalid_name="drop",
    obs_fold="join",
    first_line_fold="field",
    value_controls=b"",
    lone_cr="keep",
    interim=frozenset(range(100, 200)) - {101},
)

PROFILE = Profile(
    "Firefox",
    "netwerk/protocol/websocket/WebSocketChannel.cpp",
    GRAMMAR,
    (
        wschecks.status_101,
        wschecks.http_1_1,
        wschecks.upgrade_has_websocket,
        wschecks.connection_has_upgrade,
        wschecks.accept_joined,
        wschecks.protocol_if_offered,
        wschecks.extensions_firefox,
    ),
    h2_checks=(wschecks.status_200, wschecks.protocol_if_offered, wschecks.extensions_firefox),
    h2_source="netwerk/protocol/websocket/WebSocketChannel.cpp",
)

"""Firefox's WebSocket (the browser's `new WebSocket()`), headless Firefox ESR.

HTTP/1.1 parser (a model of its own, `firefox_parse.parse`):
- `netwerk/protocol/http/nsHttpTransaction.cpp` (ParseHead, LocateHttpStart): `HTTP/1.` in any
  case within the first 11 bytes (slop before it skipped), or `HTTP/2`, `HTTP/3`, `ICY ` after
  spaces only; else HTTP/0.9, refused; lines end at LF, one CR before it dropped, any other CR
  kept (ParseLineSegment); a line starting with SP or HTAB after the first field line is
  appended to the previous one as it is; every 1xx but 101 is skipped and the next `HTTP/1.`
  looked for;
- `nsHttpResponseHead.cpp` (ParseVersion: the word `HTTP` as written, else HTTP/0.9; a major of
  2 or 3 taken as such, else HTTP/1.0 unless `1.` and a minor; ParseStatusLine_locked: after the
  first space, whitespace, one to three digits, then whitespace or the end, else the response
  fails; ParseHeaderLine_locked: a NUL in a value fails it);
- `nsHttpHeaderArray.cpp` (ParseHeaderLine): a line without a colon, or whose name is not a
  token exactly (whitespace before the colon, a leading space), is skipped; the value is trimmed
  of SP and HTAB; a singleton field (Content-Length, Location, …) twice with different values
  fails the response.
Then `netwerk/protocol/websocket/WebSocketChannel.cpp` (WebSocketChannel::OnStartRequest: the
101 over HTTP/1.1, Upgrade and Connection token lists, the accept as merged by
`nsHttpHeaderArray.cpp` (MergeHeader in `nsHttpHeaderArray.h`: a repeated field joined after
`, `, an empty one merging nothing); HandleExtensions, ParseWebSocketExtension). The
subprotocol is checked only when the server chose one, and only against an offer. It offers
`permessage-deflate`. Over HTTP/2 (RFC 8441): OnStartRequest wants the status 200 exactly, then
the same subprotocol and extension checks.

After the head (READER): WebSocketChannel::OnTransportAvailable / OnUpgradeAvailable takes
the bytes the HTTP transaction read past the head and calls ProcessInput on them; ProcessInput
acts on a frame only once it has all of it (`if (avail < payloadLength) break`), except its
length, which it checks as soon as it has it (a length not in its shortest form, or one over
`network.websocket.max-message-size`, 2^31 - 1). A whole frame with RSV bits no extension
set, a reserved opcode, a fragmented or over-long control frame, a continuation with nothing to
continue fails the channel; text is checked as UTF-8 once the message is whole; a masked frame
is taken. A Close is answered, but the page's first message has gone out by then (Firefox
dispatches onopen before it reads); a Close whose reason is not UTF-8 fails the channel
first. Behind a Close (mServerClosed) ProcessInput still parses each frame and makes the checks
that come before it drops one (RSV bits, a fragmented control frame, a continuation with
nothing to continue, the length's), not the later ones (opcode, control length, UTF-8).
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.firefox_parse as firefox_parse
import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.profile import Profile

GRAMMAR = Grammar(  # what readers of grammars look at: `firefox_parse.parse` parses
    status_line=re.compile(rb"HTTP.*", re.DOTALL),
    interim=frozenset(range(100, 200)) - {101},
    max_head=firefox_parse.MAX_HEAD,
)

_FRAME = Stage.FRAME
READER = FrameReader(
    "netwerk/protocol/websocket/WebSocketChannel.cpp",
    {"rsv": _FRAME, "opcode": _FRAME, "control_fin": _FRAME, "control_length": _FRAME,
     "sequence": _FRAME, "nonminimal": Stage.LENGTH, "max": Stage.LENGTH, "utf8": Stage.MESSAGE},
    max_length=2**31 - 1,
    close_refuses=False,
    bad_reason_refuses=True,
    after_close=("rsv", "control_fin", "sequence", "nonminimal", "max"),
)  # fmt: skip

PROFILE = Profile(
    "Firefox",
    "netwerk/protocol/websocket/WebSocketChannel.cpp",
    GRAMMAR,
    (
        wschecks.status_101,
        firefox_parse.version,
        firefox_parse.upgrade,
        firefox_parse.connection,
        firefox_parse.accept,
        firefox_parse.subprotocol,
        firefox_parse.extensions,
    ),
    h2_checks=(wschecks.status_200, wschecks.protocol_if_offered, wschecks.extensions_firefox),
    h2_source="netwerk/protocol/websocket/WebSocketChannel.cpp",
    parse=firefox_parse.parse,
    reader=READER,
)

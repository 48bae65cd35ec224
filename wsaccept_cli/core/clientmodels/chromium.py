"""Chromium's WebSocket (the browser's `new WebSocket()`), headless Chromium.

HTTP/1.1 parser (a model of its own, `parse`, not a `Grammar`: Chromium's is unlike the others):
- `net/http/http_stream_parser.cc` (ParseResponseHeaders): the status line is looked for in the
  first bytes (`HttpUtil::LocateStartOfStatusLine`: `http` in any case within the first 4 bytes
  of slop, else HTTP/0.9, which a WebSocket on a non-default port refuses); the head ends at two
  LFs with at most one CR between them (LocateEndOfHeaders); a NUL anywhere in it fails
  (`HttpResponseHeaders::TryToCreate`); a head over 256 KiB fails (kMaxHeaderBufSize); two
  Content-Length values that differ fail (HeadersContainMultipleCopiesOfField); an interim 1xx
  is not skipped on a WebSocket handshake (`http_network_transaction.cc`,
  `!ForWebSocketHandshake()`), so it is the response;
- `net/http/http_util.cc` (AssembleRawHeaders): the status line ends at the first CR or LF;
  the rest splits at every run of CR and LF (so a lone CR ends a line too); a line starting
  with SP or HTAB continues the previous line if that one had a colon and a name, as one space;
- `net/http/http_util.cc` (HeadersIterator::GetNext): a line without a colon, with an empty
  name, a name starting with whitespace, or a name that is not a token is skipped; whitespace
  around the name and the value is trimmed;
- `net/http/http_response_headers.cc` (ParseVersion, ParseStatusLine, ParseStatus): `HTTP/`
  in any case with a digit after the slash and after the next dot, else HTTP/1.0; the status is
  the digits after the first space (spaces skipped), 200 when there are none; values of fields
  that may be coalesced are split at commas (AddHeader, `ValuesIterator` keeping empty items).
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

After the head (`frames.FrameReader`, READER): `websocket_basic_handshake_stream.cc` (Upgrade)
hands what the HTTP parser read past the head (`state_.read_buf()`, the http_read_buffer) to
`WebSocketBasicStream`, whose ReadFrames returns the frames already buffered before reading the
socket (`websocket_basic_stream.cc`, ReadFrames, ConvertChunksToFrames). `websocket_channel.cc`
(OnConnectSuccess) reads them at once, while the renderer's open event is still to run, so a
frame that fails the channel (HandleFrameByState, ReadFrames: a reserved opcode, RSV bits no
extension set, a masked frame, a fragmented or over-long control frame, a continuation with
nothing to continue) or a Close ends it before the page's first send. WebSocketFrameParser
(`websocket_frame_parser.cc`, DecodeFrameHeader) decides only once the whole header, mask key
included, has come (a length not in its shortest form fails there, and so, measured, does one
over 2^31 - 1); text is checked as UTF-8 as its bytes stream in (StreamingUtf8Validator). A
frame whose opcode has the control bit (0x8 to 0xF, reserved ones too) is held back by
WebSocketBasicStream until it is whole (ConvertChunkToFrame, incomplete_control_frame_body_):
only its FIN bit and its length are checked before; its RSV bits, opcode and mask once whole.
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.chromium_parse as chromium_parse
import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.profile import Profile

GRAMMAR = Grammar(  # the limits only (for the generator): `chromium_parse.parse` parses
    status_line=re.compile(rb"(?i:HTTP).*", re.DOTALL),
    max_head=chromium_parse.MAX_HEAD,
)

_HEADER, _FRAME = Stage.HEADER, Stage.FRAME
READER = FrameReader(
    "net/websockets/websocket_channel.cc",
    {"rsv": _HEADER, "opcode": _HEADER, "control_fin": _HEADER, "control_length": _HEADER,
     "mask": _HEADER, "sequence": _HEADER, "nonminimal": _HEADER, "max": _HEADER,
     "utf8": Stage.PAYLOAD},
    max_length=2**31 - 1,
    control_stages={"rsv": _FRAME, "opcode": _FRAME, "mask": _FRAME, "control_fin": _HEADER,
                    "control_length": _HEADER, "nonminimal": _HEADER, "max": _HEADER},
)  # fmt: skip

PROFILE = Profile(
    "Chromium",
    "net/websockets/websocket_basic_handshake_stream.cc",
    GRAMMAR,
    (
        wschecks.status_101,
        chromium_parse.upgrade,
        chromium_parse.connection,
        chromium_parse.accept,
        chromium_parse.subprotocol,
        chromium_parse.extensions,
    ),
    h2_checks=(wschecks.status_200, wschecks.protocol_strict, wschecks.extensions_strict),
    h2_source="net/websockets/websocket_http2_handshake_stream.cc",
    parse=chromium_parse.parse,
    reader=READER,
)

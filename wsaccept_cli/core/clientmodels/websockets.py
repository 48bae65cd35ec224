"""websockets (Python) `ClientProtocol`, sans-I/O.

HTTP/1.1 parser, `src/websockets/http11.py` (Response.parse, parse_headers, parse_line):
- each line must end in CR LF (parse_line: "line without CRLF"), at most 8192 bytes with it
  (MAX_LINE_LENGTH, `src/websockets/streams.py` StreamReader.read_line);
- the status line is split at its first two spaces: the protocol must be `HTTP/1.1` exactly,
  the status an integer from 100 to 599 (Python's int(): leading zeros, a `+` taken), and the
  reason phrase (after the second space, which must be there) HTAB, SP, VCHAR and obs-text;
- no empty line before the status line, no obs-fold ("We don't attempt to support obsolete
  line folding"): a continuation line's name is not a token;
- a field line is split at its first colon: the name a token (so no whitespace before the
  colon), the value stripped of SP and HTAB and made of HTAB, SP, VCHAR, obs-text;
- at most 128 fields (MAX_NUM_HEADERS).
There is no interim response: `ClientProtocol.process_response` (`src/websockets/client.py`)
fails any status but 101.

Then process_response: the Connection tokens hold `upgrade`, the Upgrade tokens are exactly one,
`websocket` in any case (`src/websockets/headers.py` parse_connection, parse_upgrade: RFC 7230
lists, empty items skipped); one accept, right; extensions (process_extensions with
`src/websockets/extensions/permessage_deflate.py`), then the subprotocol (one, offered). It
offers `permessage-deflate; client_max_window_bits` by default.

After the head (READER): `src/websockets/client.py` (ClientProtocol.parse) goes on from the
response to `protocol.py` (Protocol.parse) on the same buffer, so the frames that came with
the head are read as the handshake completes, before `connect()` returns: `frames.py`
(Frame.parse) fails an unknown opcode and a mask bit as soon as it has the first two bytes, a
length over max_size (2^20 by default) once it has the length, and RSV bits, a fragmented or
over-long control frame (Frame.check) once the frame is whole; `protocol.py` (recv_frame) a
continuation with nothing to continue and a new message inside a fragmented one, and a Close
moves it to CLOSING, so the application's `send` fails. Text is not checked as UTF-8 there.
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar
from wsaccept_cli.core.clientmodels.profile import Profile

GRAMMAR = Grammar(
    status_line=re.compile(
        rb"HTTP/(?P<version>[^ ]*) (?P<status>[0-9]+) (?P<reason>[\t\x20-\x7e\x80-\xff]*)"
    ),
    versions=frozenset({"1.1"}),
    max_line=8192,
    max_fields=128,
)

READER = FrameReader(
    "src/websockets/frames.py",
    {"opcode": Stage.TWO, "mask": Stage.TWO, "max": Stage.LENGTH, "rsv": Stage.FRAME,
     "control_fin": Stage.FRAME, "control_length": Stage.FRAME, "sequence": Stage.FRAME},
    max_length=2**20,
)  # fmt: skip

PROFILE = Profile(
    "websockets",
    "src/websockets/client.py",
    GRAMMAR,
    (
        wschecks.status_101,
        wschecks.websockets_connection,
        wschecks.websockets_upgrade,
        wschecks.accept_single,
        wschecks.websockets_extensions,
        wschecks.websockets_subprotocol,
    ),
    reader=READER,
)

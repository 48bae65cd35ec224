"""Node ws 8 (npm `ws`) on Node 20's http client, whose response parser is llhttp 9 in its
strict mode (Node sets no lenient flag unless --insecure-http-parser).

HTTP/1.1 parser, llhttp `src/llhttp/http.ts` (node names in parentheses):
- empty lines before the status line are skipped (`start` matches CR and LF);
- the status line is `HTTP/` (or `RTSP/`, `ICE/`: `res_after_start`) in capitals, one digit, a
  dot, one digit, a version llhttp knows (0.9, 1.0, 1.1, 2.0: `checkVersion`), one space, three
  digits, then a space and any reason or the line's end (`res_after_version`,
  `res_status_code_otherwise`);
- every line ends in CR LF: a bare LF fails (`OPTIONAL_CR_BEFORE_LF` is lenient-only);
- a first field line starting with a space fails (`headers_start`), so does an obs-fold line
  (`header_value_lws`: "Unexpected whitespace after header value");
- a field name is a token followed at once by the colon: whitespace before it, a line without
  it, an empty name all fail (`header_field_colon`, `header_field_general_otherwise`);
- a value may hold HTAB, SP, VCHAR and obs-text only (`HEADER_CHARS`): a control byte fails;
- Node's http binding (`src/node_http_parser.cc`) fails a head whose status, names and values
  add up to more than --max-http-header-size, 16 KiB on Node 20.
Interim responses: Node's `lib/_http_client.js` (parserOnIncomingClient) skips every 1xx but
101 (100 emits 'continue', the others 'information') and reads the next response, unless the
interim one did not keep the connection (`src/native/http.c` llhttp_should_keep_alive), after
which llhttp fails on any byte.

Node hands the 101 to ws ('upgrade') only when llhttp flagged it an upgrade: an Upgrade field
and a Connection token `upgrade` (`src/native/http.c`, llhttp__before_headers_complete);
otherwise ws gets a 'response' and fails ("Unexpected server response: 101"). Repeated fields
are joined with ', ' (lib/_http_incoming.js, _addHeaderLine), trailing whitespace dropped.
ws then checks, in `lib/websocket.js` (initAsClient, req.on('upgrade')): the Upgrade value is
`websocket` in any case, the accept, the subprotocol (one of those offered; none chosen fails
when some were offered), the extensions (`lib/extension.js` parse, `lib/permessage-deflate.js`
acceptAsClient). It offers `permessage-deflate; client_max_window_bits` by default.
"""

from __future__ import annotations

import re

import wsaccept_cli.core.clientmodels.wschecks as wschecks
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head
from wsaccept_cli.core.clientmodels.profile import Facts, Profile

# llhttp's status line: `HTTP/` (or `RTSP/`, `ICE/`: `res_after_start`) D `.` D SP 3DIGIT
# [SP reason]; the reason is any bytes but CR and LF (`res_status` skips to them).
LLHTTP_STATUS_LINE = re.compile(
    rb"(?:HTTP|RTSP|ICE)/(?P<version>[0-9]\.[0-9])"
    rb" (?P<status>[0-9]{3})(?: (?P<reason>[^\r\n]*))?"
)
LLHTTP_VERSIONS = frozenset({"0.9", "1.0", "1.1", "2.0"})

_DIGITS = re.compile(r"[0-9]+ *")


def llhttp_framing(head: Head) -> str | None:
    """llhttp's checks of the framing fields, made while it reads them (`header_value_content_
    length_once`, `header_value_content_length`, checkInvalidTransferEncoding): one
    Content-Length of digits (spaces after them), and never with Transfer-Encoding ("Content-
    Length can't be present with Transfer-Encoding"), in strict and lenient modes alike. The
    name is the one llhttp matched before any spaces its lenient mode lets through ahead of the
    colon (`header_field_colon_discard_ws`): `Content-Length  : 1` is a Content-Length to it,
    though aiohttp gets the name with the spaces (the differential's m55-582)."""
    fields = [(name.rstrip(" "), value) for name, value in zip_raw(head)]
    lengths = [value for name, value in fields if name == "content-length"]
    if len(lengths) > 1:
        return "Content-Length more than once"
    if lengths and not _DIGITS.fullmatch(lengths[0].lstrip(" \t")):
        return "a Content-Length that is not a number"
    if lengths and any(name == "transfer-encoding" for name, _ in fields):
        return "Content-Length with Transfer-Encoding"
    return None


def llhttp_interim(head: Head) -> str | None:
    """After an interim response that does not keep the connection (HTTP/1.0 without
    keep-alive, or `Connection: close`: llhttp_should_keep_alive), llhttp goes to its `closed`
    state and fails on the next byte ("Data after `Connection: close`")."""
    tokens = head.tokens("connection")
    if "close" in tokens or (head.version == "1.0" and "keep-alive" not in tokens):
        return "data after an interim response that closed the connection"
    return None


def zip_raw(head: Head) -> list[tuple[str, str]]:
    return [(name.lower(), raw) for (name, _), raw in zip(head.fields, head.raw_values)]


GRAMMAR = Grammar(
    status_line=LLHTTP_STATUS_LINE,
    versions=LLHTTP_VERSIONS,
    leading_empty_lines=True,
    leading_bytes=True,
    lone_cr="refuse",
    max_head=16 * 1024,
    head_counts="fields",
    interim=frozenset(range(100, 200)) - {101},
    framing=llhttp_framing,
    interim_check=llhttp_interim,
)


def llhttp_upgrade(facts: Facts) -> str | None:
    """llhttp flags a 101 an upgrade only with an Upgrade field and a Connection token
    `upgrade` (its `header_value_connection` node: the token, lowercased, then a comma, spaces
    or the line's end)."""
    if not facts.response.values("upgrade"):
        return "no Upgrade"
    for name, value in zip_raw(facts.response):
        if name != "connection":
            continue
        for token in value.lower().split(","):
            if token.lstrip(" \t").rstrip(" ") == "upgrade":
                return None
    return wschecks.connection_reason(facts)


PROFILE = Profile(
    "Node ws",
    "lib/websocket.js",
    GRAMMAR,
    (
        wschecks.status_101,
        llhttp_upgrade,
        wschecks.upgrade_joined_is_websocket,
        wschecks.accept_joined,
        wschecks.protocol_joined,
        wschecks.node_extensions,
    ),
)

"""libwebsockets 4.1 client (Debian libwebsockets17 4.1.6, built with LWS_WITH_CUSTOM_HEADERS,
LWS_WITH_HTTP_UNCOMMON_HEADERS and LWS_ROLE_H2), read at tag v4.1.6.

HTTP/1.1 parser, `lib/roles/http/parsers.c` (lws_parse, issue_char, lws_hdr_copy,
lws_hdr_total_length), byte by byte, with no status-line grammar of its own:
- at the start of a line the lowercased bytes are matched against the names lws knows, colon
  included (`lib/roles/http/lextable-strings.h`: `upgrade:`, `connection:`, `http/1.1 `,
  `http/1.0 `, `sec-websocket-accept:`, ...); CR LF (or a bare LF) at the start of a line ends
  the head, and so the status line is just the field `http/1.1 ` in any case (`HTTP/1.0 ` too;
  any other version is unknown), a leading empty line ends the head before it;
- a known name's value: its leading spaces (not tabs) are skipped, and it runs to CR or LF; a
  CR not followed by LF skips the rest of the line; trailing whitespace stays; a repeated field
  is another fragment of the same value (joined with ',' by lws_hdr_copy, the first fragment
  alone seen by lws_hdr_simple_ptr), starting with a space;
- any other line is an unknown field (kept, LWS_WITH_CUSTOM_HEADERS) once a colon comes after
  the byte where it left the table: its value is everything to the LF, CRs dropped; but a line
  with no such colon (no colon at all, an empty name, an obs-fold line, a name that is a
  prefix of a known one followed at once by its colon, like `X:`) runs on into the next lines
  until a colon comes, swallowing them (the head's end included: then it never ends);
- no byte is refused (NUL ends a value as C sees it); every stored byte counts against the
  header table's 4096 bytes (`max_http_header_data`), which already hold the client's own
  request path, host and subprotocols: known values with their NULs, unknown names and values
  with an 8-byte entry each; beyond it the parse fails. Byte by byte at v4.1.6 (line numbers
  of parsers.c): a byte is stored only while `pos < max_http_header_data` (lws_pos_in_bounds,
  656-680; issue_char, 720-750); a known value's end, CR or bare LF alike, stores one NUL
  (check_eol, 1066-1083; the rest of a CR line is skipped unstored, 1401-1424); an unknown
  value drops CRs and ends at the LF storing nothing more (977-999); each line's name starts
  with the 8-byte entry, written only while room remains (1116-1130), then needs room for
  each name byte (1133-1136), snipped once the name is known (1220-1221, 1331-1332); a bare
  LF at a line's start ends the head storing nothing (1104-1106), while the CR of a CR LF
  empty line needs the entry's 8 bytes, then the CR's and the LF's, 10 in all (then snipped
  as the `\r\n` name). So line endings cost the same bytes but the last line's: measured
  against the real client at the limit with bare LF, CR LF and mixed lines, known and unknown
  fields, trailing spaces, offered subprotocols (`tests/client_models_cases.py`, `lws-limit-*`), all
  agree byte for byte once the table holds the request's real path (`Offer.target`): a path
  one byte longer than assumed moves the limit by a byte (the differential's `m25-331`,
  `line-endings all-lf; size head=4097`, served at `/c/m25-331/0`, was that, not the LF).
Interim responses are not skipped: the first head is the response.

Then `lib/roles/http/client/client-http.c` (lws_client_interpret_server_handshake): the status
is atoi() of the `http/1.1 ` (else `http/1.0 `) value; 3xx redirects are followed (a failure
here); and `lib/roles/ws/client-ws.c` (lws_client_ws_upgrade): 401 and any status but 101 fail;
an accept must be there; the first Upgrade, lowercased, is exactly `websocket`; the joined
Connection must fit 63 bytes and lws_tokenize must find a token of which `upgrade` starts with
it (`up` passes) before anything malformed (a number, a missing comma, `=`); a chosen
subprotocol (the first fragment) must be one of the offered ones exactly (none chosen is fine);
any Sec-WebSocket-Extensions value at all fails (the client offers none, so every name, even an
empty one, is unknown); the first accept must be exactly the expected one.

After the head (READER): `lib/roles/http/client/client-handshake.c` / `client-http.c` hand the
bytes read past the head to the ws role at once (lws_client_interpret_server_handshake ends
with the rest of the buffer parsed by `lib/roles/ws/client-ws.c`, lws_ws_client_rx_sm, before
LWS_CALLBACK_CLIENT_ESTABLISHED lets the driver write). That state machine is byte by byte:
the first byte's RSV bits (no extension is negotiated), a reserved opcode, a control frame
without FIN, a continuation with nothing to continue fail on that byte
(LWS_RXPS_NEW); a control frame with a 7-bit length over 125 on the second
(LWS_RXPS_04_FRAME_HDR_LEN); a 64-bit length with its top bit set on its first byte
(LWS_RXPS_04_FRAME_HDR_LEN64_8). A mask bit is taken, text is not checked as UTF-8, and a
Close is answered and the connection closed. It reads at most 4080 bytes at a time (its 4096-
byte service buffer less LWS_PRE, 16), and only the read that ended the head is parsed before
the open: a Close of 127 bytes behind a head of 3,953 bytes (ending at byte 4,080) refuses,
behind one of 3,954 it opens (measured byte by byte; the differential's m75-2585).
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.frames import FrameReader, Stage
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError
from wsaccept_cli.core.clientmodels.mirror import MirrorProfile, head_of
from wsaccept_cli.core.clientmodels.profile import Facts, Offer

NAME = "libwebsockets"
MAX_HEADER_DATA = 4096
# What the client's own tokens hold before the response: 35 bytes (host with port, method,
# peer address, ALPN, with their NULs, measured) plus the request path with its NUL, plus the
# offered subprotocols with theirs. A response does not carry the path: the request's target
# (`Offer.target`, from the captured or served request) is used when known, else a nominal one
# (`/c/m1-123/0`, and `?protocols=A,B` when subprotocols are offered), so without the request a
# head within a path's length of the limit may be predicted wrongly for other paths.
CLIENT_TOKENS = 35
NOMINAL_PATH = "/c/m1-123/0"
UNKNOWN_ENTRY = 8

KNOWN = frozenset(
    (
        "get ", "post ", "options ", "host:", "connection:", "upgrade:", "origin:",
        "sec-websocket-draft:", "\r\n", "sec-websocket-extensions:", "sec-websocket-key1:",
        "sec-websocket-key2:", "sec-websocket-protocol:", "sec-websocket-accept:",
        "sec-websocket-nonce:", "http/1.1 ", "http2-settings:", "accept:",
        "access-control-request-headers:", "if-modified-since:", "if-none-match:",
        "accept-encoding:", "accept-language:", "pragma:", "cache-control:", "authorization:",
        "cookie:", "content-length:", "content-type:", "date:", "range:", "referer:",
        "sec-websocket-key:", "sec-websocket-version:", "sec-websocket-origin:", ":authority",
        ":method", ":path", ":scheme", ":status", "accept-charset:", "accept-ranges:",
        "access-control-allow-origin:", "age:", "allow:", "content-disposition:",
        "content-encoding:", "content-language:", "content-location:", "content-range:",
        "etag:", "expect:", "expires:", "from:", "if-match:", "if-range:",
        "if-unmodified-since:", "last-modified:", "link:", "location:", "max-forwards:",
        "proxy-authenticate:", "proxy-authorization:", "refresh:", "retry-after:", "server:",
        "set-cookie:", "strict-transport-security:", "transfer-encoding:", "user-agent:",
        "vary:", "via:", "www-authenticate:", "patch", "put", "delete", "uri-args", "proxy ",
        "x-real-ip:", "http/1.0 ", "x-forwarded-for:", "connect ", "head ", "te:",
        "replay-nonce:", ":protocol", "x-auth-token:",
    )
)  # fmt: skip
PREFIXES = frozenset(name[:end] for name in KNOWN for end in range(1, len(name) + 1))

GRAMMAR = Grammar(
    status_line=re.compile(rb"(?i:HTTP/1\.[01]) +(?P<status>.*)(?P<version>)(?P<reason>)"),
    versions=frozenset({""}),
    bare_lf=True,
    space_before_colon="keep",
    invalid_name="keep",
    value_controls=b"",
    lone_cr="keep",
    max_head=MAX_HEADER_DATA,
    notes={"parser": "mirrored in parse(): lws_parse's table of known names"},
)


class _Table:
    """The header table: fragments per known name, unknown fields, the bytes used."""

    def __init__(self, protocols: str = "", path: str | None = None) -> None:
        if path is None:
            path = NOMINAL_PATH + (f"?protocols={protocols}" if protocols else "")
        self.used = CLIENT_TOKENS + len(path) + 1 + (len(protocols) + 1 if protocols else 0)
        self.fragments: dict[str, list[bytearray]] = {}
        self.unknown: list[tuple[bytes, bytearray]] = []

    def store(self, count: int = 1) -> None:
        if self.used + count > MAX_HEADER_DATA:
            raise RefusalError(f"a head over libwebsockets' {MAX_HEADER_DATA}-byte table")
        self.used += count


def parse(data: bytes, protocols: str = "", path: str | None = None) -> Head:
    """lws_parse over the head (the table already holding the client's own tokens, with the
    subprotocols it offered); one field per fragment of a known name, then the unknown ones."""
    table = _Table(protocols, path)
    position, length = 0, len(data)
    while True:  # one line (or run of swallowed lines) at a time
        if position >= length:
            raise RefusalError("the head never ends (no empty line it recognises)")
        if data[position] == 0x0A:
            position += 1
            break
        name, position = _name(data, position, table)
        if name == "\r\n":
            break
        if name is None:
            continue
        position = _value(data, position, name, table)
    head = _head(table)
    head.end = position
    return head


def _name(data: bytes, position: int, table: _Table) -> tuple[str | None, int]:
    """WSI_TOKEN_NAME_PART: a known name (its value comes next), or an unknown field stored."""
    start_used = table.used
    table.used = min(table.used + UNKNOWN_ENTRY, MAX_HEADER_DATA)  # silently cut at the end
    prefix: str | None = ""
    collected = bytearray()
    while position < len(data):
        byte = data[position]
        position += 1
        lower = byte + 32 if 0x41 <= byte <= 0x5A else byte
        table.store()
        collected.append(lower)
        if prefix is None:
            if lower == 0x3A:
                return None, _unknown_value(data, position, bytes(collected), table)
            continue
        candidate = prefix + chr(lower)
        if candidate not in PREFIXES:
            prefix = None
            continue
        prefix = candidate
        if prefix in KNOWN:
            table.used = start_used  # the name's bytes are dropped once recognised
            return prefix, position
    raise RefusalError("the head never ends (a line without a colon swallows the rest)")


def _unknown_value(data: bytes, position: int, name: bytes, table: _Table) -> int:
    """WSI_TOKEN_UNKNOWN_VALUE_PART: to the LF, CRs dropped, leading SP and HTAB skipped."""
    value = bytearray()
    while position < len(data):
        byte = data[position]
        position += 1
        if byte == 0x0D:
            continue
        if byte == 0x0A:
            table.unknown.append((name, value))
            return position
        if not value and byte in (0x20, 0x09):
            continue
        table.store()
        value.append(byte)
    raise RefusalError("the head never ends (no empty line it recognises)")


def _value(data: bytes, position: int, name: str, table: _Table) -> int:
    """A known name's value: a new fragment (a repeated field's starts with a space)."""
    fragments = table.fragments.setdefault(name, [])
    fragment = bytearray()
    if fragments:
        table.store()
        fragment.append(0x20)
    fragments.append(fragment)
    first = fragments[0]
    while position < len(data):
        byte = data[position]
        position += 1
        if not first and byte == 0x20:
            continue
        if byte in (0x0D, 0x0A):
            table.store()  # the NUL that ends it
            if byte == 0x0D:
                return _skip_line(data, position)
            return position
        table.store()
        fragment.append(byte)  # a NUL too: C strings end there, lengths leave it out
    raise RefusalError("the head never ends (no empty line it recognises)")


def _skip_line(data: bytes, position: int) -> int:
    """WSI_TOKEN_SKIPPING_SAW_CR and WSI_TOKEN_SKIPPING: on to the next LF."""
    end = data.find(b"\n", position)
    if end < 0:
        raise RefusalError("the head never ends (no empty line it recognises)")
    return end + 1


def _head(table: _Table) -> Head:
    """One field per fragment, in the table's order: `values(name)` are the fragments."""
    fields = [
        (name.rstrip(": "), fragment.decode("latin-1"))
        for name, fragments in table.fragments.items()
        for fragment in fragments
    ]
    fields += [(name.decode("latin-1").rstrip(":"), value.decode("latin-1"))
               for name, value in table.unknown]  # fmt: skip
    status_value = _first(table, "http/1.1 ")
    if status_value is None:
        status_value = _first(table, "http/1.0 ")
    status = _atoi(status_value) if status_value is not None else None
    head = head_of(status, None, fields)
    head.reason = "" if status_value is None else status_value
    return head


def _first(table: _Table, name: str) -> str | None:
    """lws_hdr_simple_ptr: the first fragment, as C reads it (to its first NUL)."""
    fragments = table.fragments.get(name)
    if not fragments:
        return None
    return bytes(fragments[0]).split(b"\0", 1)[0].decode("latin-1")


def _atoi(text: str) -> int:
    match = re.match(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else 0


def _fragments(facts: Facts, name: str) -> list[str]:
    return facts.response.values(name)


def _joined(facts: Facts, name: str) -> str:
    """lws_hdr_copy: the fragments joined with ',', as C reads them (to the first NUL)."""
    return ",".join(_fragments(facts, name)).split("\0", 1)[0]


def _simple(facts: Facts, name: str) -> str | None:
    """lws_hdr_simple_ptr: the first fragment as C reads it, None when absent."""
    fragments = _fragments(facts, name)
    return fragments[0].split("\0", 1)[0] if fragments else None


def _total(facts: Facts, name: str) -> int:
    """lws_hdr_total_length: the fragments' lengths (NULs left out) and one per join."""
    fragments = _fragments(facts, name)
    if not fragments:
        return 0
    return sum(len(fragment.replace("\0", "")) for fragment in fragments) + len(fragments) - 1


def status(facts: Facts) -> str | None:
    code = facts.response.status
    if code is None:
        return "no status line lws knows (HTTP/1.1 or HTTP/1.0)"
    return None if code == 101 else f"status {code}, not 101"


def accept_present(facts: Facts) -> str | None:
    return None if _total(facts, "sec-websocket-accept") else "no Sec-WebSocket-Accept"


def upgrade(facts: Facts) -> str | None:
    value = _simple(facts, "upgrade")
    if value is None:
        return "no Upgrade"
    return None if value.lower() == "websocket" else f"Upgrade is {value!r}, not websocket"


def connection(facts: Facts) -> str | None:
    total = _total(facts, "connection")
    if not total or total >= 63:
        return "no Connection" if not total else "a Connection over 62 bytes"
    value = _joined(facts, "connection")
    return None if _tokenize_finds_upgrade(value) else f"Connection {value!r} has no upgrade token"


def subprotocol(facts: Facts) -> str | None:
    if not _total(facts, "sec-websocket-protocol"):
        return None
    chosen = _simple(facts, "sec-websocket-protocol") or ""
    offered = ",".join(facts.offered)
    items = [item.lstrip(" ") for item in offered.split(",")] if offered else []
    return None if chosen in items and chosen else "a subprotocol that was not offered"


def no_extensions(facts: Facts) -> str | None:
    if facts.extensions_offered:
        return None  # not this client's own request: to it the server would answer without them
    return "an extension it does not know" if _total(facts, "sec-websocket-extensions") else None


def accept(facts: Facts) -> str | None:
    value = _simple(facts, "sec-websocket-accept")
    if facts.expected is None or value == facts.expected:
        return None
    return "wrong Sec-WebSocket-Accept"


_WHITESPACE = " \t\n\r\f"


def _tokenize_finds_upgrade(text: str) -> bool:
    """lws_tokenize (`lib/core/libwebsockets.c`) with COMMA_SEP_LIST and MINUS_NONTERM, as
    lws_client_ws_upgrade loops over it: true when a token that `upgrade` starts with comes
    before anything but delimiters (a number, `=`, a missing or doubled comma end it)."""
    position, need_delim = 0, False
    while True:
        kind, token, position, need_delim = _token(text, position, need_delim)
        if kind == "token" and "upgrade".startswith(token.lower()):
            return True
        if kind not in ("token", "delimiter"):
            return False


def _token(text: str, position: int, need_delim: bool) -> tuple[str, str, int, bool]:
    """One lws_tokenize step: (kind, token, next position, need-delimiter state)."""
    state, start, number, utf8 = "lead", position, -1, 0
    while position < len(text):
        char = text[position]
        position += 1
        utf8 = _utf8(utf8, ord(char))
        if utf8 < 0:
            return "error", "", position, need_delim
        if char in _WHITESPACE:
            if state == "token":
                state = "post"
            continue
        if char == '"' or (char == "=" and state in ("token", "post")):
            return "other", "", position, need_delim
        if char == "." and state == "token" and number == 1:
            continue
        # the last byte of a UTF-8 sequence leaves utf8 at 0, so it counts as a delimiter
        payload = utf8 > 0 or (char.isascii() and (char.isalnum() or char in "_-"))
        if not payload:
            if state == "lead":
                if char != "," or not need_delim:
                    return "error", "", position, need_delim
                return "delimiter", char, position, False
            return (
                _pending(number),
                text[start : _end_of(text, start, position - 1)],
                position - 1,
                need_delim,
            )
        if state == "lead":
            if need_delim:
                return "error", "", position, need_delim
            state, start, need_delim = "token", position - 1, True
            number = 1 if char.isdigit() else 0
            continue
        if state == "post":
            return (
                _pending(number),
                text[start : _end_of(text, start, position - 1)],
                position - 1,
                need_delim,
            )
        if not char.isdigit():
            number = 0
    if utf8:
        return "error", "", position, need_delim
    if state == "lead":
        return "ended", "", position, need_delim
    return _pending(number), text[start : _end_of(text, start, position)], position, need_delim


def _end_of(text: str, start: int, end: int) -> int:
    """The end of a token that whitespace may follow."""
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    return end


def _pending(number: int) -> str:
    return "token" if number != 1 else "number"


def _utf8(state: int, byte: int) -> int:
    """A strict UTF-8 check (lws_check_byte_utf8): the continuation bytes still expected."""
    if not state:
        if byte < 0x80:
            return 0
        if byte < 0xC2 or byte > 0xF4:
            return -1
        return 1 if byte < 0xE0 else 2 if byte < 0xF0 else 3
    return state - 1 if 0x80 <= byte <= 0xBF else -1


class LwsProfile(MirrorProfile):
    """The offered subprotocols take room in the header table before the response comes."""

    def parse_response(self, data: bytes, offer: Offer) -> Head:
        return parse(data, ",".join(offer.protocols), offer.target)


_BYTE = Stage.BYTE
READER = FrameReader(
    "lib/roles/ws/client-ws.c",
    {"rsv": _BYTE, "opcode": _BYTE, "control_fin": _BYTE, "sequence": _BYTE,
     "control_length": Stage.TWO, "top_bit": Stage.EXT},
    read_size=4096 - 16,
)  # fmt: skip

PROFILE = LwsProfile(
    NAME,
    "lib/roles/ws/client-ws.c",
    GRAMMAR,
    parse,
    (status, accept_present, upgrade, connection, subprotocol, no_extensions, accept),
    offers_extensions=False,
    reader=READER,
)

"""Firefox's HTTP/1.1 response-head parser and WebSocket checks (see `firefox` for the sources
each rule models). A module of its own because Firefox's parser is unlike the `Grammar` ones:
it finds `HTTP/1.` in slop, reads a status line that no `Grammar` regex describes, drops the
field lines it cannot use, and refuses a NUL in a value."""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.httpgrammar import Head, RefusalError
from wsaccept_cli.core.clientmodels.profile import Facts

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HTTP1 = b"http/1."
_FIRST_READ = 11  # ParseHead: LocateHttpStart(buf, min(count, 11), true)
MAX_INVALID_BYTES = 32 * 1024  # MAX_INVALID_RESPONSE_BODY_SIZE
# network.http.max_response_header_size (nsHttpTransaction::ParseHead: the head bytes read so
# far, interim heads included, over it fail the response)
MAX_HEAD = 393216
_SPACE = b" \t\n\r\x0b\x0c"  # nsCRT::IsAsciiSpace
_HTTP_WS = " \t\r\n"  # NS_IsHTTPWhitespace
# nsHttpHeaderArray::IsSingletonHeader: a second value that differs fails the response.
SINGLETONS = frozenset(
    {"content-type", "content-disposition", "content-length", "user-agent", "referer", "host",
     "authorization", "proxy-authorization", "if-modified-since", "if-unmodified-since", "from",
     "max-forwards", "location"}
)  # fmt: skip


def locate_first(data: bytes) -> int | None:
    """LocateHttpStart on the first read (at most 11 bytes, partial match allowed): `HTTP/1.`
    in any case wholly inside them, or `HTTP/2`, `HTTP/3`, `ICY ` after ASCII spaces only."""
    window = data[:_FIRST_READ]
    first_byte = True
    for index in range(len(window)):
        rest = window[index:]
        if rest[: len(_HTTP1)].lower() == _HTTP1[: len(rest)]:
            return index if len(rest) >= len(_HTTP1) else None
        if first_byte and (
            rest[:6].lower() in (b"http/2", b"http/3") or rest[:4].lower() == b"icy "
        ):
            return index
        if window[index] not in _SPACE:
            first_byte = False
    return None


def locate_next(data: bytes) -> int | None:
    """LocateHttpStart after an interim response: `HTTP/1.` in any case anywhere (within the
    invalid-bytes allowance)."""
    found = data.lower().find(_HTTP1, 0, MAX_INVALID_BYTES + len(_HTTP1))
    return found if found >= 0 else None


def parse(data: bytes) -> Head:
    """The final response as Firefox's WebSocket sees it, or RefusalError."""
    start = locate_first(data)
    if start is None:
        raise RefusalError("no status line (HTTP/0.9)")
    interim: list[Head] = []
    while True:
        head, end = _parse_one(data, start)
        if head.status is not None and head.status // 100 == 1 and head.status != 101:
            interim.append(head)
            found = locate_next(data[end:])
            if found is None:
                raise RefusalError("no response after an interim one")
            start = end + found
            continue
        if end > MAX_HEAD:
            raise RefusalError(f"a head of {end} bytes (over {MAX_HEAD})")
        head.interim = interim
        head.end = end
        return head


def _lines(data: bytes, start: int) -> tuple[list[str], int]:
    """ParseHead and ParseLineSegment: lines end at LF (one CR before it dropped); a line
    starting with SP or HTAB after the status line is appended to the one before, as it is; the
    head ends at an empty line."""
    lines: list[str] = []
    pos = start
    while True:
        eol = data.find(b"\n", pos)
        if eol < 0:
            raise RefusalError("the head never ends (no empty line)")
        line = data[pos : eol - 1 if eol > pos and data[eol - 1] == 0x0D else eol]
        pos = eol + 1
        if not line:
            return lines, pos
        text = line.decode("latin-1")
        if len(lines) > 1 and text[0] in " \t":
            lines[-1] += text
        else:
            lines.append(text)


def _parse_one(data: bytes, start: int) -> tuple[Head, int]:
    lines, end = _lines(data, start)
    head = Head()
    _status_line(head, lines[0] if lines else "")
    for line in lines[1:]:
        field = _field(line)
        if field is None:
            continue
        name, value = field
        if "\x00" in value:
            raise RefusalError("a NUL byte in a field value")
        lowered = name.lower()
        if lowered in SINGLETONS and any(v != value for v in head.values(lowered)):
            raise RefusalError(f"{name} twice with different values")
        if lowered == "content-length" and not parses_as_int64(value):
            raise RefusalError("a Content-Length that is not a number")
        head.fields.append((name, value))
        head.raw_values.append(value)
    return head, end


def _status_line(head: Head, line: str) -> None:
    """ParseVersion (the word `HTTP` as written, `/`, a major, `.`, a minor; else HTTP/1.0, or
    HTTP/0.9 without the word, which a WebSocket refuses) and ParseStatusLine_locked (after the
    first space, whitespace, one to three digits, then whitespace or the end)."""
    match = re.match(r"HTTP(?![A-Za-z0-9_])", line)
    if match is None:
        if line[:4].lower() == "icy ":
            head.version = "1.0"
        else:
            raise RefusalError("no status line (HTTP/0.9)")
    else:
        head.version = _version(line[4:])
    space = line.find(" ")
    if space < 0:
        head.status = 200
        return
    rest = line[space + 1 :].lstrip(_HTTP_WS)
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if digits == 0 or digits > 3 or (rest[digits:] and rest[digits] not in _HTTP_WS):
        raise RefusalError(f"a malformed status line {line[:40]!r}")
    head.status = int(rest[:digits])
    head.reason = rest[digits:].strip(_HTTP_WS)


def _version(rest: str) -> str:
    major = re.match(r"/([0-9]+)", rest)
    if major is None:
        return "1.0"
    number = int(major.group(1))
    if number in (2, 3):
        return f"{number}"
    minor = re.match(r"\.([0-9]+)", rest[major.end() :])
    if number != 1 or minor is None:
        return "1.0"
    return "1.1" if int(minor.group(1)) >= 1 else "1.0"


_STRTOLL = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def parses_as_int64(value: str) -> bool:
    """nsHttp::ParseInt64 with a `next` pointer, as nsHttpResponseHead's Content-Length
    handling calls it: strtoll (leading whitespace, a sign, digits) must read a number that is
    not negative, and what follows it is left alone (`Content-Length: 0\r` from a CR CR LF is
    0)."""
    match = _STRTOLL.match(value)
    return match is not None and int(match.group(1)) >= 0


def _field(line: str) -> tuple[str, str] | None:
    """nsHttpHeaderArray::ParseHeaderLine: the name before the first colon must be a token as
    it is (no whitespace), the value is trimmed of SP and HTAB; else the line is skipped."""
    colon = line.find(":")
    if colon < 0 or not _TOKEN.fullmatch(line[:colon]):
        return None
    return line[:colon], line[colon + 1 :].strip(" \t")


# WebSocketChannel.cpp --------------------------------------------------------------------------


def _merged(facts: Facts, name: str) -> str | None:
    """The field's value as nsHttpHeaderArray keeps it: the first line makes the entry (even
    empty), each later one is merged after `, ` (MergeHeader, `nsHttpHeaderArray.h`), except an
    empty one, which merges nothing ("merge of empty header = no-op"), and no `, ` is put after
    an entry still empty."""
    values = facts.response.values(name)
    return ", ".join(value for value in values if value) if values else None


def _has_token(value: str | None, token: str) -> bool:
    """OnStartRequest: nsCRT::strtok over ", \\t", strcasecmp with the token."""
    return value is not None and any(
        part.lower() == token for part in re.split(r"[, \t]+", value) if part
    )


def version(facts: Facts) -> str | None:
    """OnStartRequest: a 101 in HTTP/1.0 fails the upgrade, and so does one whose status line
    says HTTP/2 or HTTP/3 (an HTTP/2 WebSocket wants 200)."""
    found = facts.response.version
    return None if found == "1.1" else f"HTTP/{found}, not HTTP/1.1"


def upgrade(facts: Facts) -> str | None:
    value = _merged(facts, "upgrade")
    if _has_token(value, "websocket"):
        return None
    return f"Upgrade is {value!r}, not websocket" if value is not None else "no Upgrade"


def connection(facts: Facts) -> str | None:
    value = _merged(facts, "connection")
    if _has_token(value, "upgrade"):
        return None
    return f"Connection is {value!r}, not upgrade" if value is not None else "no Connection"


def accept(facts: Facts) -> str | None:
    value = _merged(facts, "sec-websocket-accept")
    if value is None:
        return "no Sec-WebSocket-Accept"
    if facts.expected is None or value == facts.expected:
        return None
    return "wrong Sec-WebSocket-Accept"


def subprotocol(facts: Facts) -> str | None:
    """Only when subprotocols were offered: the merged value, if any, must be one of them."""
    value = _merged(facts, "sec-websocket-protocol")
    if value is None or not facts.offered or value in facts.offered:
        return None
    return "a subprotocol that was not offered"


def extensions(facts: Facts) -> str | None:
    """HandleExtensions: the merged value with whitespace compressed; ParseWebSocketExtension
    (client side): `;`-separated tokens (nsCCharSeparatedTokenizer: each trimmed; a token after
    every separator but a last one with nothing after it, so `;;` makes an empty token, an
    unknown parameter), the first exactly `permessage-deflate`, each parameter
    name exact, once, the takeovers without a value, window bits an integer 8 to 15
    (`to_integer`), client_max_window_bits with one; a `,` does not separate extensions, so a
    second one becomes part of the last parameter's value; then zlib must take the client's
    window bits (PMCECompression: deflateInit2 refuses 8 for a raw deflate)."""
    value = _merged(facts, "sec-websocket-extensions")
    if value is None:
        return None
    value = re.sub(r"[ \t\r\n]+", " ", value).strip(" ")
    if not value:
        return None
    tokens = [token.strip(" \t\r\n") for token in value.split(";")]
    if len(tokens) > 1 and tokens[-1] == "":
        tokens.pop()  # the last separator, with nothing after it, starts no token
    if tokens[0] != "permessage-deflate":
        return "an extension that was not offered"
    seen: dict[str, str] = {}
    for token in tokens[1:]:
        name, _, raw = token.partition("=")
        if name in seen or name not in _PARAMETERS:
            return "invalid permessage-deflate parameters"
        seen[name] = raw
        if name.endswith("takeover") and raw:
            return "invalid permessage-deflate parameters"
        if name.endswith("bits"):
            bits = to_integer(raw)
            if bits is None or not 8 <= bits <= 15:
                return "invalid permessage-deflate parameters"
            seen[name] = str(bits)
    if seen.get("client_max_window_bits") == "8":
        return "client_max_window_bits=8, which zlib cannot deflate with"
    return None


def to_integer(text: str) -> int | None:
    """nsTString::ToInteger (xpcom/string/nsTStringObsolete.cpp, radix 10): characters before
    the first digit skipped (a `-` negates; a hex letter is an error), digits read up to the
    first other character, which ends the number without error (an `x` after a leading zero is
    skipped, a hex letter fails); no digit at all is an error. So `"10"`, `08, foo` and `0x9`
    are numbers."""
    index, negate = 0, False
    while index < len(text) and not (text[index].isascii() and text[index].isalnum()):
        negate = negate or text[index] == "-"
        index += 1
    if index == len(text) or text[index] not in "0123456789":
        return None
    result, digits = 0, False
    for char in text[index:]:
        if char in "0123456789":
            result, digits = result * 10 + int(char), True
        elif char in "ABCDEFabcdef":
            return None
        elif char in "xX" and (not digits or result == 0):
            continue
        else:
            break
    return -result if negate else result


_PARAMETERS = frozenset(
    {"client_no_context_takeover", "server_no_context_takeover", "client_max_window_bits",
     "server_max_window_bits"}
)  # fmt: skip

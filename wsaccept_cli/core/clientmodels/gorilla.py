"""Go gorilla/websocket 1.5.0 `Dialer.Dial` (Debian golang-github-gorilla-websocket-dev) on Go
1.19's net/http.

HTTP/1.1 parser, Go 1.19 `net/http/response.go` (ReadResponse), `net/textproto/reader.go`
(ReadLine, readContinuedLineSlice, readMIMEHeader, canonicalMIMEHeaderKey) and
`net/http/transfer.go` (readTransfer):
- lines end in LF, a CR just before it dropped (bufio.Reader.ReadLine): a bare LF passes, a
  lone CR elsewhere stays in the line; no limit on a line, the fields or the head;
- no empty line before the status line; the status line is cut at its first space: the part
  before must be `HTTP/1.0`, `HTTP/1.1` or `HTTP/D.D` (ParseHTTPVersion: `HTTP/2.0` passes); the
  rest, spaces trimmed from its left, is cut at its next space and that must be three
  characters strconv.Atoi takes, not negative (`+01` passes as 1); the reason may hold anything;
- the first field line may not start with SP or HTAB; every field line needs a colon on its
  own first line, before any continuation is joined (readContinuedLineSlice's
  validateFirstLine, mustHaveFieldNameColon); a line starting with SP or HTAB after it continues
  the previous field (obs-fold: the value joined with
  one space to the continuation, SP and HTAB trimmed from both); the whole line's SP and HTAB
  are trimmed at both ends and the value's at its left;
- a name is canonicalised (`Sec-Websocket-Accept`) only when every byte is a token byte; one
  with a space before the colon, or another non-token byte, stays as written and is never found
  under its name; an empty name is skipped; values are not checked (Go 1.19 lets NUL and
  controls through); repeated fields are kept in order;
- then readTransfer: on HTTP/1.1 (and later) a Connection token `close` removes the Connection
  fields (shouldClose), a Transfer-Encoding other than one `chunked` fails, and Content-Length
  fields that differ fail; a 1xx status needs no length.
Interim responses are not skipped: ReadResponse reads one response, and gorilla fails any
status but 101.

Then `client.go` (Dialer.DialContext): status 101, a token `websocket` in some Upgrade field and
`upgrade` in some Connection field (`util.go` tokenListContainsValue: ASCII case folded; the
scan of a field stops at its first empty or malformed item), the first accept exactly equal;
then for each extension (`util.go` parseExtensions, a malformed item ends its field) named
exactly `permessage-deflate`, the first one must have both `server_no_context_takeover` and
`client_no_context_takeover` (errInvalidCompression) though the Dialer offers no compression;
other extensions are ignored, and so is the subprotocol (not checked in 1.5.0).
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError
from wsaccept_cli.core.clientmodels.mirror import MirrorProfile, head_of, show
from wsaccept_cli.core.clientmodels.profile import Facts

NAME = "gorilla"

TOKEN_BYTES = frozenset(
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

GRAMMAR = Grammar(
    status_line=re.compile(rb"(?P<version>[^ ]*) +(?P<status>[^ ]{3})(?: (?P<reason>.*))?"),
    versions=frozenset({"1.0", "1.1"} | {f"{a}.{b}" for a in range(10) for b in range(10)}),
    bare_lf=True,
    space_before_colon="keep",
    empty_name="drop",
    invalid_name="keep",
    obs_fold="join",
    value_controls=b"",
    lone_cr="keep",
    notes={"parser": "mirrored in parse(): Go 1.19 net/http ReadResponse"},
)


def _lines(data: bytes) -> list[bytes]:
    """bufio.Reader.ReadLine up to and including the empty line; refused if it never comes."""
    lines, start = [], 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            raise RefusalError("the head never ends (no empty line)")
        line = data[start:end]
        start = end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        lines.append(line)
        if not line and len(lines) > 1:
            return lines


def _atoi(text: str) -> int | None:
    """strconv.Atoi on a 3-byte string: an optional sign and ASCII digits."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


def parse(data: bytes) -> Head:
    lines = _lines(data)
    status_line = lines[0].decode("latin-1")
    proto, space, rest = status_line.partition(" ")
    if not space:
        raise RefusalError(f"a malformed status line {show(status_line)}")
    code = rest.lstrip(" ").partition(" ")[0]
    number = _atoi(code) if len(code) == 3 else None
    if number is None or number < 0:
        raise RefusalError(f"a malformed status code {show(code)}")
    version = _version(proto)
    if version is None:
        raise RefusalError(f"a malformed HTTP version {show(proto)}")
    fields = _fields(lines[1:-1])
    _transfer(fields, version)
    return head_of(number, version, fields)


def _version(proto: str) -> str | None:
    if proto in ("HTTP/1.1", "HTTP/1.0"):
        return proto[5:]
    ok = re.fullmatch(r"HTTP/[0-9]\.[0-9]", proto)
    return proto[5:] if ok else None


def _fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """readMIMEHeader over readContinuedLineSlice."""
    if lines and lines[0][:1] in (b" ", b"\t"):
        raise RefusalError("the first field line starts with whitespace")
    joined: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and joined:
            joined[-1] += b" " + line.strip(b" \t")
        elif b":" not in line:  # mustHaveFieldNameColon, on the first line before any fold
            raise RefusalError(f"a field line without a colon {show(line)}")
        else:
            joined.append(line.strip(b" \t"))
    fields = []
    for line in joined:
        name, _, value = line.partition(b":")
        if not name:
            continue
        key = _canonical(name)
        fields.append((key, value.lstrip(b" \t").decode("latin-1")))
    return fields


def _canonical(name: bytes) -> str:
    if not all(byte in TOKEN_BYTES for byte in name):
        return name.decode("latin-1")
    return "-".join(part.capitalize() for part in name.decode().split("-"))


def _transfer(fields: list[tuple[str, str]], version: str) -> None:
    """readTransfer: shouldClose drops every Connection field of an HTTP/1.1 (or later)
    response when one holds the token `close` (httpguts.HeaderValuesContainsToken), then
    parseTransferEncoding's and fixLength's checks, which run whatever the status."""
    connection = [value for name, value in fields if name == "Connection"]
    if _at_least_11(version) and any(
        item.strip(" \t").lower() == "close" for value in connection for item in value.split(",")
    ):
        fields[:] = [(name, value) for name, value in fields if name != "Connection"]
    encodings = [value for name, value in fields if name == "Transfer-Encoding"]
    if encodings and _at_least_11(version):
        if len(encodings) != 1 or encodings[0].lower() != "chunked":
            raise RefusalError(f"an unsupported Transfer-Encoding {show(', '.join(encodings))}")
        fields[:] = [(name, value) for name, value in fields if name != "Content-Length"]
    lengths = [value.strip(" \t") for name, value in fields if name == "Content-Length"]
    if len(set(lengths)) > 1:
        raise RefusalError("Content-Length fields that differ")


def _at_least_11(version: str) -> bool:
    major, minor = (int(part) for part in version.split("."))
    return (major, minor) >= (1, 1)


def _tokens(value: str) -> list[str]:
    """tokenListContainsValue's scan of one field: tokens until an empty or malformed item."""
    found: list[str] = []
    rest = value
    while True:
        rest = rest.lstrip(" \t")
        end = 0
        while end < len(rest) and ord(rest[end]) < 256 and ord(rest[end]) in TOKEN_BYTES:
            end += 1
        token, rest = rest[:end], rest[end:].lstrip(" \t")
        if not token or (rest and rest[0] != ","):
            return found
        found.append(token.lower())
        if not rest:
            return found
        rest = rest[1:]


def _has_token(facts: Facts, name: str, token: str) -> bool:
    return any(token in _tokens(value) for key, value in facts.response.fields if key == name)


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def upgrade(facts: Facts) -> str | None:
    if _has_token(facts, "Upgrade", "websocket"):
        return None
    values = [value for key, value in facts.response.fields if key == "Upgrade"]
    return f"Upgrade is {', '.join(values)!r}, not websocket" if values else "no Upgrade"


def connection(facts: Facts) -> str | None:
    if _has_token(facts, "Connection", "upgrade"):
        return None
    values = [value for key, value in facts.response.fields if key == "Connection"]
    return f"Connection is {', '.join(values)!r}, not upgrade" if values else "no Connection"


def accept(facts: Facts) -> str | None:
    values = [value for key, value in facts.response.fields if key == "Sec-Websocket-Accept"]
    if not values:
        return "no Sec-WebSocket-Accept"
    if facts.expected is not None and values[0] != facts.expected:
        return "wrong Sec-WebSocket-Accept"
    return None


def deflate_without_takeover(facts: Facts) -> str | None:
    """The first permessage-deflate must carry both no_context_takeover parameters."""
    if facts.extensions_offered:
        return None  # not this client's own request: to it the server would answer without them
    for extension in _extensions(facts):
        if extension[""] != "permessage-deflate":
            continue
        if "server_no_context_takeover" in extension and "client_no_context_takeover" in extension:
            return None
        return "permessage-deflate without both no_context_takeover parameters"
    return None


def _extensions(facts: Facts) -> list[dict[str, str]]:
    """`util.go` parseExtensions: a malformed item ends the scan of its field."""
    result: list[dict[str, str]] = []
    for key, value in facts.response.fields:
        if key == "Sec-Websocket-Extensions":
            result.extend(_extensions_of(value))
    return result


def _token(text: str) -> tuple[str, str]:
    end = 0
    while end < len(text) and ord(text[end]) < 256 and ord(text[end]) in TOKEN_BYTES:
        end += 1
    return text[:end], text[end:]


def _token_or_quoted(text: str) -> tuple[str, str]:
    if not text.startswith('"'):
        return _token(text)
    text = text[1:]
    value = []
    escape = False
    for index, char in enumerate(text):
        if escape:
            value.append(char)
            escape = False
        elif char == "\\":
            escape = True
        elif char == '"':
            return "".join(value), text[index + 1 :]
        else:
            value.append(char)
    return "", ""


def _extensions_of(value: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    rest = value
    while True:
        name, rest = _token(rest.lstrip(" \t"))
        if not name:
            return result
        extension = {"": name}
        while True:
            rest = rest.lstrip(" \t")
            if not rest.startswith(";"):
                break
            key, rest = _token(rest[1:].lstrip(" \t"))
            if not key:
                return result
            rest = rest.lstrip(" \t")
            parameter = ""
            if rest.startswith("="):
                parameter, rest = _token_or_quoted(rest[1:].lstrip(" \t"))
                rest = rest.lstrip(" \t")
            if rest and rest[0] not in ",;":
                return result
            extension[key] = parameter
        if rest and rest[0] != ",":
            return result
        result.append(extension)
        if not rest:
            return result
        rest = rest[1:]


PROFILE = MirrorProfile(
    NAME,
    "client.go",
    GRAMMAR,
    parse,
    (status_101, upgrade, connection, accept, deflate_without_takeover),
    offers_extensions=False,
)

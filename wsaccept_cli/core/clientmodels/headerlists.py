"""Header-value parsers that clients write by hand, ported rule for rule: where they differ
(empty list items, trailing commas, whitespace, quoting, the case of names) is where one client
opens and another refuses.

- `rfc7230_list`: python-websockets' `src/websockets/headers.py` (parse_list with
  parse_token, parse_upgrade_protocol, parse_extension_item): a `1#item` list, empty items
  skipped anywhere, OWS (SP, HTAB) around items, anything else malformed.
- `ws_extensions`: Node ws's `lib/extension.js` (parse): a character state machine that refuses
  an empty item, a trailing comma or semicolon, whitespace inside a token, and keeps names as
  written.
- `js_number`: JavaScript's Number(string), which ws's `lib/permessage-deflate.js`
  (normalizeParams) applies to window bits (`+value`): so `08`, ` 9`, `0x9`, `1e1` are numbers.

Each runs in time linear in its input.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_OWS = re.compile(r"[\t ]*")
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_PROTOCOL = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+(?:/[-!#$%&'*+.^_`|~0-9a-zA-Z]+)?")
_QUOTED = re.compile(r'"(?:[\x09\x20-\x21\x23-\x5b\x5d-\x7e]|\\[\x09\x20-\x7e\x80-\xff])*"')
_UNQUOTE = re.compile(r"\\([\x09\x20-\x7e\x80-\xff])")

Item = Callable[[str, int], "tuple[object, int] | None"]
Parameter = tuple[str, "str | None"]
ExtensionItem = tuple[str, list[Parameter]]


def token_item(header: str, pos: int) -> tuple[object, int] | None:
    match = _TOKEN.match(header, pos)
    return None if match is None else (match.group(), match.end())


def protocol_item(header: str, pos: int) -> tuple[object, int] | None:
    """An Upgrade protocol: a token, maybe `/version` (websockets' parse_upgrade_protocol)."""
    match = _PROTOCOL.match(header, pos)
    return None if match is None else (match.group(), match.end())


def extension_item(header: str, pos: int) -> tuple[object, int] | None:
    """`name *( OWS ";" OWS param [ OWS "=" OWS ( token / quoted-string ) ] )`, a quoted value
    unquoted and then a token (websockets' parse_extension_item, parse_extension_item_param)."""
    match = _TOKEN.match(header, pos)
    if match is None:
        return None
    name, pos = match.group(), _OWS.match(header, match.end()).end()  # type: ignore[union-attr]
    parameters: list[Parameter] = []
    while header[pos : pos + 1] == ";":
        pos = _OWS.match(header, pos + 1).end()  # type: ignore[union-attr]
        match = _TOKEN.match(header, pos)
        if match is None:
            return None
        key, pos = match.group(), _OWS.match(header, match.end()).end()  # type: ignore[union-attr]
        value: str | None = None
        if header[pos : pos + 1] == "=":
            pos = _OWS.match(header, pos + 1).end()  # type: ignore[union-attr]
            quoted = _QUOTED.match(header, pos)
            if header[pos : pos + 1] == '"':
                if quoted is None:
                    return None
                value = _UNQUOTE.sub(r"\1", quoted.group()[1:-1])
                if not _TOKEN.fullmatch(value):
                    return None
                pos = quoted.end()
            else:
                match = _TOKEN.match(header, pos)
                if match is None:
                    return None
                value, pos = match.group(), match.end()
            pos = _OWS.match(header, pos).end()  # type: ignore[union-attr]
        parameters.append((key, value))
    return (name, parameters), pos


def rfc7230_list(header: str, item: Item) -> list[object] | None:
    """The items of one header value, or None when it is malformed (websockets' parse_list:
    empty items are skipped before, between and after items; at least one item)."""
    pos = 0
    while header[pos : pos + 1] == ",":
        pos = _OWS.match(header, pos + 1).end()  # type: ignore[union-attr]
    items = []
    while True:
        found = item(header, pos)
        if found is None:
            return None
        items.append(found[0])
        pos = _OWS.match(header, found[1]).end()  # type: ignore[union-attr]
        if pos == len(header):
            return items
        if header[pos] != ",":
            return None
        while header[pos : pos + 1] == ",":
            pos = _OWS.match(header, pos + 1).end()  # type: ignore[union-attr]
        if pos == len(header):
            return items


def rfc7230_values(values: list[str], item: Item) -> list[object] | None:
    """The items of every value of a field (each parsed alone), or None if one is malformed."""
    items: list[object] = []
    for value in values:
        parsed = rfc7230_list(value, item)
        if parsed is None:
            return None
        items += parsed
    return items


# Node ws, lib/extension.js ---------------------------------------------------------------------

_WS_TOKEN = frozenset(
    chr(code) for code in range(0x21, 0x7F) if chr(code) not in '"(),/:;<=>?@[\\]{}'
)


class _WsError(Exception):
    pass


def ws_extensions(header: str) -> dict[str, list[dict[str, list[object]]]] | None:
    """Node ws's parse(): extension name -> offers, each a dict parameter -> values (True for a
    parameter without one); None where ws throws a SyntaxError."""
    try:
        return _ws_parse(header)
    except _WsError:
        return None


def _push(dest: dict[str, list[object]], name: str, elem: object) -> None:
    dest.setdefault(name, []).append(elem)


def _ws_parse(header: str) -> dict[str, list[dict[str, list[object]]]]:
    offers: dict[str, list[object]] = {}
    params: dict[str, list[object]] = {}
    must_unescape = is_escaping = in_quotes = False
    extension_name: str | None = None
    param_name: str | None = None
    start = end = -1
    char = ""
    i = 0
    for i, char in enumerate(header):
        token = char in _WS_TOKEN
        blank = char in " \t"
        if extension_name is None:
            if end == -1 and token:
                if start == -1:
                    start = i
            elif i != 0 and blank:
                if end == -1 and start != -1:
                    end = i
            elif char in ";,":
                if start == -1:
                    raise _WsError
                if end == -1:
                    end = i
                name = header[start:end]
                if char == ",":
                    _push(offers, name, params)
                    params = {}
                else:
                    extension_name = name
                start = end = -1
            else:
                raise _WsError
        elif param_name is None:
            if end == -1 and token:
                if start == -1:
                    start = i
            elif blank:
                if end == -1 and start != -1:
                    end = i
            elif char in ";,":
                if start == -1:
                    raise _WsError
                if end == -1:
                    end = i
                _push(params, header[start:end], True)
                if char == ",":
                    _push(offers, extension_name, params)
                    params, extension_name = {}, None
                start = end = -1
            elif char == "=" and start != -1 and end == -1:
                param_name = header[start:i]
                start = end = -1
            else:
                raise _WsError
        else:
            if is_escaping:
                if not token:
                    raise _WsError
                if start == -1:
                    start = i
                elif not must_unescape:
                    must_unescape = True
                is_escaping = False
            elif in_quotes:
                if token:
                    if start == -1:
                        start = i
                elif char == '"' and start != -1:
                    in_quotes = False
                    end = i
                elif char == "\\":
                    is_escaping = True
                else:
                    raise _WsError
            elif char == '"' and i > 0 and header[i - 1] == "=":
                in_quotes = True
            elif end == -1 and token:
                if start == -1:
                    start = i
            elif start != -1 and blank:
                if end == -1:
                    end = i
            elif char in ";,":
                if start == -1:
                    raise _WsError
                if end == -1:
                    end = i
                value = header[start:end]
                if must_unescape:
                    value = value.replace("\\", "")
                    must_unescape = False
                _push(params, param_name, value)
                if char == ",":
                    _push(offers, extension_name, params)
                    params, extension_name = {}, None
                param_name = None
                start = end = -1
            else:
                raise _WsError
    if start == -1 or in_quotes or char in " \t":
        raise _WsError
    if end == -1:
        end = len(header)
    token_text = header[start:end]
    if extension_name is None:
        _push(offers, token_text, params)
    else:
        if param_name is None:
            _push(params, token_text, True)
        elif must_unescape:
            _push(params, param_name, token_text.replace("\\", ""))
        else:
            _push(params, param_name, token_text)
        _push(offers, extension_name, params)
    return offers  # type: ignore[return-value]


_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_JS_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")
_JS_SPACE = " \t\n\v\f\r\u00a0\ufeff\u2028\u2029"


def js_number(text: str) -> float:
    """JavaScript's Number(text) for a string (NaN as float('nan'))."""
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    radix = _JS_RADIX.fullmatch(text)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
        try:
            return float(int(radix.group(2), base))
        except ValueError:
            return float("nan")
    if _JS_DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    return float("nan")


# Chromium, net/websockets/websocket_extension_parser.cc ---------------------------------------


def chromium_extensions(data: str) -> list[tuple[str, list[Parameter]]] | None:
    """WebSocketExtensionParser::Parse: `token *(";" token ["=" (token / quoted token)])`
    items separated by commas, SP and HTAB skipped around every part; None (Chromium's empty
    result) when anything is left over or malformed. A quoted value may escape characters with
    a backslash and must be a non-empty run of token characters."""
    pos, extensions = 0, []

    def spaces(at: int) -> int:
        while at < len(data) and data[at] in " \t":
            at += 1
        return at

    def token(at: int) -> tuple[str, int] | None:
        at = spaces(at)
        match = _TOKEN.match(data, at)
        return None if match is None else (match.group(), match.end())

    while True:
        found = token(pos)
        if found is None:
            return None
        name, pos = found
        parameters: list[Parameter] = []
        while data[spaces(pos) : spaces(pos) + 1] == ";":
            found = token(spaces(pos) + 1)
            if found is None:
                return None
            key, pos = found
            value: str | None = None
            if data[spaces(pos) : spaces(pos) + 1] == "=":
                pos = spaces(spaces(pos) + 1)
                if data[pos : pos + 1] == '"':
                    quoted = _chromium_quoted(data, pos + 1)
                    if quoted is None:
                        return None
                    value, pos = quoted
                else:
                    found = token(pos)
                    if found is None:
                        return None
                    value, pos = found
            parameters.append((key, value))
        extensions.append((name, parameters))
        pos = spaces(pos)
        if data[pos : pos + 1] != ",":
            return extensions if pos == len(data) else None
        pos += 1


def _chromium_quoted(data: str, pos: int) -> tuple[str, int] | None:
    value = []
    while pos < len(data) and data[pos] != '"':
        if data[pos] == "\\":
            pos += 1
            if pos == len(data):
                return None
        if not _TOKEN.fullmatch(data[pos]):
            return None
        value.append(data[pos])
        pos += 1
    if pos == len(data) or not value:
        return None
    return "".join(value), pos + 1

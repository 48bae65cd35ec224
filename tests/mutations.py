"""A grammar of response mutations for the differential test (`tests/differential.py`).

A mutation is a valid 101 (or, by its status transform, something else) changed by one to three
transforms, each drawn from a class of what real servers, proxies and frameworks emit and of the
decision points the clients' parsers have (read in their sources: `core/clientmodels`):

- status line: the version's case and number, spaces and tabs, no reason phrase, an odd reason,
  other statuses;
- before the head: empty lines, interim 1xx responses (100, 102, 103 with fields, others);
- field names: case, whitespace before the colon, a line without a colon, an empty or invalid
  name;
- field values: whitespace around them, control bytes, obs-text, a lone CR;
- obs-fold: a folded value, a first field line starting with whitespace; a fold meeting a
  stray CR or a control byte (a CR CR LF ending either line, a CR at or in the continuation, a
  control byte in it), a line without a colon folded into a field, a CR after an empty value, a
  line starting with a CR;
- line endings: bare LF everywhere, on one line, at the end; a CR CR LF ending one line (the
  status line included) or the head;
- repetition: a WebSocket field twice, merged into one comma list, split over two fields;
- list syntax: Upgrade, Connection and Sec-WebSocket-Protocol with empty items, trailing commas,
  tabs, quotes, case;
- extensions: permessage-deflate's name and parameters in other cases, every window-bits value
  from 7 to 16 and malformed ones, empty names and parameters, two extensions;
- the accept: missing, twice, merged, lowercase, unpadded, quoted, padded with whitespace;
- after the head, in the same write: stray CR and LF, a body (announced or not) or a second
  response, valid frames (text, binary, Ping, Pong, Close with every kind of code and reason,
  fragments), frames RFC 6455 forbids (masked, reserved opcodes, RSV bits, fragmented or long
  control frames, lengths with the top bit set or not in shortest form or over a client's
  limit, non-UTF-8 text, continuations with nothing to continue) and frames cut short;
- sizes: a field, a line, a reason phrase, the whole head and the number of fields at, just
  under and just over each limit any client model has (`Grammar.max_*`), and common fields
  servers add (Server, Date, Via, Content-Length, Set-Cookie, …).

`generate(seed, count)` is deterministic: mutation i applies transforms drawn from a generator
seeded with (seed, i, position), so any subset of a mutation's transforms can be replayed, which
is how a disagreement is minimised.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from wsaccept_cli.core.clientmodels import PROFILES

CRLF = b"\r\n"
STATUS_101 = b"HTTP/1.1 101 Switching Protocols"


@dataclass
class Draft:
    """A response head being mutated: what comes before it, its status line, its field lines
    (raw, without line endings), and how each line ends."""

    protocols: tuple[str, ...] = ()
    before: list[bytes] = field(default_factory=list)
    status: bytes = STATUS_101
    lines: list[bytes] = field(default_factory=list)
    eol: bytes = CRLF
    eols: dict[int, bytes] = field(default_factory=dict)  # line index (0 = status) -> ending
    end: bytes | None = None  # the empty line's ending (default eol)
    after: bytes = b""  # what the server writes right behind the head, in the same write

    def render(self, *, with_after: bool = True) -> bytes:
        parts = [*self.before]
        for index, line in enumerate([self.status, *self.lines]):
            parts.append(line + self.eols.get(index, self.eol))
        parts.append(self.end if self.end is not None else self.eol)
        if with_after:
            parts.append(self.after)
        return b"".join(parts)

    def find(self, name: bytes) -> int | None:
        """The index in `lines` of the first field named `name` (any case)."""
        for index, line in enumerate(self.lines):
            if line.split(b":", 1)[0].strip().lower() == name.lower():
                return index
        return None

    def set_value(self, name: bytes, value: bytes | None) -> None:
        """Replace the value of field `name` (added when absent; removed with None)."""
        index = self.find(name)
        if value is None:
            if index is not None:
                del self.lines[index]
            return
        line = name + b": " + value
        if index is None:
            self.lines.append(line)
        else:
            self.lines[index] = line


Transform = Callable[[random.Random, Draft], str]


def _pick(rng: random.Random, options: list[bytes]) -> bytes:
    return options[rng.randrange(len(options))]


def _show(data: bytes) -> str:
    text = repr(data.decode("latin-1"))[1:-1]
    return text if len(text) <= 40 else f"{text[:37]}…"


WS_NAMES = [b"Upgrade", b"Connection", b"Sec-WebSocket-Accept"]


# Status line ----------------------------------------------------------------------------------


def status_version(rng: random.Random, draft: Draft) -> str:
    version = _pick(rng, [b"http/1.1", b"Http/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2",
                          b"HTTP/1", b"HTTP/2", b"HTTP/1.10", b"HTTP/01.1", b"HTTP/0.9",
                          b"HTTP /1.1", b"HTTPS/1.1", b"ICE/1.1", b"HTTP/1.1/"])  # fmt: skip
    draft.status = version + draft.status[len(b"HTTP/1.1") :]
    return f"status-version {_show(version)}"


def status_spacing(rng: random.Random, draft: Draft) -> str:
    status = _pick(rng, [b"HTTP/1.1  101 Switching Protocols", b"HTTP/1.1\t101 Switching Protocols",
                         b" HTTP/1.1 101 Switching Protocols", b"HTTP/1.1 101",
                         b"HTTP/1.1 101 ", b"HTTP/1.1 101  Switching Protocols",
                         b"HTTP/1.1 101\tSwitching Protocols", b"HTTP/1.1 101 Switching Protocols ",
                         b"HTTP/1.1 101Switching Protocols", b"HTTP/1.1 101 \t"])  # fmt: skip
    draft.status = status
    return f"status-spacing {_show(status)}"


def status_reason(rng: random.Random, draft: Draft) -> str:
    reason = _pick(rng, [b"OK", b"Web Socket Protocol Handshake", b"switching protocols",
                         b"Switching\x01Protocols", b"Switching\x7fProtocols", b"Swi\xe9tching",
                         b"Switching\tProtocols", b"Switching\x00Protocols", b"\xff\xfe",
                         b"Switching\x0bProtocols", b"Switching\rProtocols"])  # fmt: skip
    draft.status = draft.status.split(b" ", 2)[0] + b" 101 " + reason
    return f"status-reason {_show(reason)}"


def status_code(rng: random.Random, draft: Draft) -> str:
    code = _pick(rng, [b"0101", b"101x", b"1010", b"+101", b"10", b"1O1", b"200", b"204",
                       b"400", b"403", b"426", b"500", b"301", b"100", b"102"])  # fmt: skip
    draft.status = b"HTTP/1.1 " + code + b" Whatever"
    if code in (b"200", b"400", b"403", b"426", b"500"):
        draft.lines.append(b"Content-Length: 0")
    return f"status-code {_show(code)}"


# Before the head ------------------------------------------------------------------------------


def leading_lines(rng: random.Random, draft: Draft) -> str:
    lead = _pick(rng, [b"\r\n", b"\n", b"\r\n\r\n", b"\n\n", b"\r\n\r\n\r\n", b" \r\n",
                       b"\x00", b"x\r\n"])  # fmt: skip
    draft.before.insert(0, lead)
    return f"leading {_show(lead)}"


def interim(rng: random.Random, draft: Draft) -> str:
    head = _pick(rng, [b"HTTP/1.1 100 Continue\r\n\r\n",
                       b"HTTP/1.1 100 Continue\r\nServer: x\r\n\r\n",
                       b"HTTP/1.1 102 Processing\r\n\r\n",
                       b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
                       b"HTTP/1.1 100 Continue\n\n",
                       b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
                       b"HTTP/1.1 104 Upload Resumption Supported\r\n\r\n",
                       b"HTTP/1.1 150 Odd\r\n\r\n",
                       b"HTTP/1.1 199 Last\r\n\r\n",
                       b"HTTP/1.0 100 Continue\r\n\r\n",
                       b"HTTP/1.1 100\r\n\r\n"])  # fmt: skip
    draft.before.append(head)
    return f"interim {_show(head)}"


# Field names ------------------------------------------------------------------------------------


def name_case(rng: random.Random, draft: Draft) -> str:
    name = _pick(rng, [*WS_NAMES, b"Sec-WebSocket-Protocol", b"Sec-WebSocket-Extensions"])
    index = draft.find(name)
    if index is None:
        return "name-case (none)"
    style = rng.choice(["lower", "upper", "swap"])
    line = draft.lines[index]
    raw, _, value = line.partition(b":")
    new = {"lower": raw.lower(), "upper": raw.upper(), "swap": raw.swapcase()}[style]
    draft.lines[index] = new + b":" + value
    return f"name-case {style} {name.decode()}"


def space_before_colon(rng: random.Random, draft: Draft) -> str:
    if not draft.lines:
        return "space-before-colon (none)"
    index = rng.randrange(len(draft.lines))
    gap = _pick(rng, [b" ", b"\t", b"  "])
    name, _, value = draft.lines[index].partition(b":")
    draft.lines[index] = name + gap + b":" + value
    return f"space-before-colon {_show(gap)} {name.decode('latin-1')}"


def odd_line(rng: random.Random, draft: Draft) -> str:
    line = _pick(rng, [b"X-No-Colon", b"HTTP/1.1 101 Switching Protocols", b": empty-name",
                       b"X Y: z", b"X@Y: z", b"X\xe9: z", b"(X): z", b"X-A:b", b"X-Empty:",
                       b"X-Empty: ", b"\x00X: y", b"X-Slash/: y", b"X{}: y",
                       b"X\"Q\": y"])  # fmt: skip
    draft.lines.insert(rng.randrange(len(draft.lines) + 1), line)
    return f"odd-line {_show(line)}"


# Field values --------------------------------------------------------------------------------


def value_whitespace(rng: random.Random, draft: Draft) -> str:
    if not draft.lines:
        return "value-whitespace (none)"
    index = rng.randrange(len(draft.lines))
    name, colon, value = draft.lines[index].partition(b":")
    value = value.strip(b" \t")
    before = _pick(rng, [b"", b" ", b"  ", b"\t", b" \t "])
    after = _pick(rng, [b"", b" ", b"\t", b"  ", b" \t"])
    draft.lines[index] = name + colon + before + value + after
    return f"value-whitespace {_show(before)}…{_show(after)} {name.decode('latin-1')}"


def value_bytes(rng: random.Random, draft: Draft) -> str:
    byte = _pick(rng, [b"\x00", b"\x01", b"\x1b", b"\x7f", b"\x0b", b"\x0c", b"\r", b"\xe9",
                       b"\xff", b"\x08"])  # fmt: skip
    if rng.random() < 0.5:
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"X-Bytes: a" + byte + b"b")
        return f"value-bytes {_show(byte)} X-Bytes"
    name = _pick(rng, WS_NAMES)
    index = draft.find(name)
    if index is None:
        return "value-bytes (none)"
    draft.lines[index] = draft.lines[index] + byte
    return f"value-bytes {_show(byte)} end of {name.decode()}"


# Folding and line endings ----------------------------------------------------------------------


def obs_fold(rng: random.Random, draft: Draft) -> str:
    kind = rng.choice(["other", "upgrade-empty", "connection-list", "accept", "tab", "first"])
    if kind == "other":
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"X-Folded: a\r\n b")
    elif kind == "upgrade-empty":
        draft.set_value(b"Upgrade", b"\r\n websocket")
    elif kind == "connection-list":
        draft.set_value(b"Connection", b"keep-alive,\r\n Upgrade")
    elif kind == "accept":
        draft.set_value(b"Sec-WebSocket-Accept", b"\r\n\t{accept}")
    elif kind == "tab":
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"X-Folded: a\r\n\tb")
    else:
        if draft.lines:
            draft.lines[0] = b" " + draft.lines[0]
    return f"obs-fold {kind}"


FOLDED = [b"Upgrade", b"Connection", b"Sec-WebSocket-Accept", b"Sec-WebSocket-Protocol",
          b"Sec-WebSocket-Extensions", b"X-Folded"]  # fmt: skip


def _value_of(draft: Draft, name: bytes) -> bytes:
    """The value of field `name`, the field added first when absent (a subprotocol offered)."""
    index = draft.find(name)
    if index is None:
        if name == b"Sec-WebSocket-Protocol":
            draft.protocols = draft.protocols or ("chat",)
        value = {b"Sec-WebSocket-Protocol": b"chat", b"X-Folded": b"a b",
                 b"Sec-WebSocket-Extensions": b"permessage-deflate; server_no_context_takeover",
                 }.get(name, b"x")  # fmt: skip
        draft.set_value(name, value)
        return value
    return draft.lines[index].partition(b":")[2].strip(b" \t")


def fold_bytes(rng: random.Random, draft: Draft) -> str:
    """obs-fold meeting a stray CR or a control byte, the class of m26-454 (`fold_cases.py`):
    a field some client reads folded after part of its value or after none, a CR CR LF or a
    bare LF ending its first line, a CR or blanks at the continuation's start, a CR, blanks and
    a CR, or a control byte at its end; a line without a colon folded into a field; a CR right
    after an empty value; a line starting with a CR."""
    kind = rng.choice(["fold", "fold", "fold", "no-colon", "empty-cr", "cr-line"])
    if kind == "no-colon" and draft.lines:
        index = rng.randrange(len(draft.lines))
        folded = draft.lines[index].split(b":")[0]
        draft.lines[index] = b"X-No-Colon\r\n " + draft.lines[index]
        return f"fold-bytes no-colon before {_show(folded)}"
    if kind == "empty-cr":
        name = _pick(rng, FOLDED)
        value = _value_of(draft, name)
        how = rng.choice(["end", "new-field", "then-space"])
        if how == "end":  # `X: \r` then the line's CR LF
            draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"X-E: \r")
        elif how == "new-field":
            index = draft.find(name)
            assert index is not None
            draft.lines[index] = b"X-E:\r" + draft.lines[index]
        else:
            draft.set_value(name, b"\r " + value)
        return f"fold-bytes empty-cr {how} {name.decode()}"
    if kind == "cr-line":
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"\rX: y")
        return "fold-bytes cr-line"
    name = _pick(rng, FOLDED)
    value = _value_of(draft, name)
    cut = rng.choice([0, rng.randrange(len(value) + 1)])
    if b"{" in value:  # never inside the accept's placeholder
        cut = 0
    first_end = _pick(rng, [b"\r\n", b"\r\n", b"\r\r\n", b"\n", b" \r\r\n"])
    lead = _pick(rng, [b" ", b"\t", b" \r", b"  "])
    tail = _pick(rng, [b"", b"\r", b" \r", b"\x00", b"\x01", b"\x7f", b"\x0b", b""])
    inner = b"\r" if rng.random() < 0.15 and len(value) - cut > 2 and b"{" not in value else b""
    rest = value[cut:]
    rest = rest[:2] + inner + rest[2:]
    draft.set_value(name, value[:cut] + first_end + lead + rest + tail)
    return f"fold-bytes {name.decode()} {_show(first_end + lead)}…{_show(inner + tail)}"


def line_endings(rng: random.Random, draft: Draft) -> str:
    kind = rng.choice(["all-lf", "one-lf", "end-lf", "cr-cr-lf", "status-lf", "mixed",
                       "end-cr-cr-lf"])  # fmt: skip
    if kind == "all-lf":
        draft.eol = b"\n"
    elif kind == "one-lf" and draft.lines:
        draft.eols[1 + rng.randrange(len(draft.lines))] = b"\n"
    elif kind == "end-lf":
        draft.end = b"\n"
    elif kind == "cr-cr-lf":
        draft.eols[rng.randrange(len(draft.lines) + 1)] = b"\r\r\n"
    elif kind == "end-cr-cr-lf":
        draft.end = b"\r\r\n"
    elif kind == "status-lf":
        draft.eols[0] = b"\n"
    else:
        draft.eol = b"\n"
        draft.end = b"\r\n"
    return f"line-endings {kind}"


# Repetition, lists ---------------------------------------------------------------------------


def repeat_field(rng: random.Random, draft: Draft) -> str:
    name = _pick(rng, WS_NAMES)
    index = draft.find(name)
    if index is None:
        return "repeat (none)"
    kind = rng.choice(["twice", "merged", "split"])
    line = draft.lines[index]
    value = line.partition(b":")[2].strip()
    if kind == "twice":
        draft.lines.insert(index + rng.randrange(2) + rng.randrange(2), line)
    elif kind == "merged":
        draft.lines[index] = name + b": " + value + b", " + value
    else:
        other = {b"Upgrade": b"h2c", b"Connection": b"keep-alive"}.get(name, b"x")
        draft.lines.insert(index + 1, name + b": " + other)
    return f"repeat {kind} {name.decode()}"


UPGRADE_VALUES = [b"websocket, h2c", b"h2c, websocket", b", websocket", b"websocket,",
                  b"websocket, ", b"websocket ,", b"WebSocket", b"WEBSOCKET", b"websocket/13",
                  b'"websocket"', b"websocket;q=1", b"\twebsocket\t", b"web socket", b"",
                  b"websocket,,", b",,websocket", b"websocket, websocket"]  # fmt: skip
CONNECTION_VALUES = [b"upgrade", b"UPGRADE", b"keep-alive, Upgrade", b"Upgrade, keep-alive",
                     b"upgrade,", b", upgrade", b"Upgrade\t", b"\tUpgrade", b"close, Upgrade",
                     b"Upgrade, close", b'"Upgrade"', b"Upgrade,,", b"Upgrade ,keep-alive",
                     b"keep-alive,Upgrade", b"Upgrades", b"", b"Upgrade, HTTP2-Settings",
                     b"te, Upgrade"]  # fmt: skip
PROTOCOL_VALUES = [b"chat", b"chat,", b", chat", b"chat, ", b"Chat", b"\tchat", b'"chat"',
                   b"chat, superchat", b"superchat", b"chat,,", b"", b"chat chat",
                   b"chat;q=1"]  # fmt: skip


def list_syntax(rng: random.Random, draft: Draft) -> str:
    name = rng.choice([b"Upgrade", b"Connection", b"Sec-WebSocket-Protocol"])
    if name == b"Sec-WebSocket-Protocol":
        if not draft.protocols or rng.random() < 0.2:
            draft.protocols = rng.choice([("chat",), ("chat", "superchat"), ()])
        value = _pick(rng, PROTOCOL_VALUES)
    else:
        value = _pick(rng, UPGRADE_VALUES if name == b"Upgrade" else CONNECTION_VALUES)
    draft.set_value(name, value)
    offer = ",".join(draft.protocols) or "-"
    return f"list {name.decode()}: {_show(value)} (offered {offer})"


# Extensions ----------------------------------------------------------------------------------

_DEFLATE_NAMES = [b"permessage-deflate"] * 4 + [b"Permessage-Deflate", b"PERMESSAGE-DEFLATE",
                                                b"x-webkit-deflate-frame", b"foo"]  # fmt: skip
_PARAMETERS = [b"server_no_context_takeover", b"client_no_context_takeover",
               b"server_max_window_bits", b"client_max_window_bits"]  # fmt: skip
_BITS = [b"8", b"9", b"10", b"12", b"15", b"7", b"16", b"08", b'"10"', b"", b"1 0", b"0x9"]


def _extension(rng: random.Random) -> bytes:
    name = _pick(rng, _DEFLATE_NAMES)
    parts = [name]
    for parameter in rng.sample(_PARAMETERS, rng.randrange(3)):
        if rng.random() < 0.15:
            parameter = rng.choice([parameter.upper(), parameter.title(), b"foo"])
        if b"bits" in parameter.lower() and rng.random() < 0.85:
            parameter += b"=" + _pick(rng, _BITS)
        elif rng.random() < 0.05:
            parameter += b"=1"
        parts.append(parameter)
    separator = _pick(rng, [b"; ", b";", b" ; ", b"; ", b";\t"])
    return separator.join(parts)


def extensions(rng: random.Random, draft: Draft) -> str:
    value = _extension(rng)
    extra = rng.random()
    if extra < 0.1:
        value += b", " + _extension(rng)
    elif extra < 0.15:
        value += _pick(rng, [b";", b",", b", ", b";;"])
    elif extra < 0.2:
        value = _pick(rng, [b", ", b",", b""]) + value
    elif extra < 0.25:
        value = _pick(rng, [b"", b";", b"; server_no_context_takeover"])
    draft.set_value(b"Sec-WebSocket-Extensions", value)
    return f"extensions {_show(value)}"


# The accept ----------------------------------------------------------------------------------


def accept(rng: random.Random, draft: Draft) -> str:
    value = _pick(rng, [b"{accept-lower}", b"{accept-unpadded}", b'"{accept}"', b"{accept} ",
                        b"\t{accept}", b"{accept}, {accept}", b"{accept},", b"", b"x{accept}",
                        b"{accept}\t\t"])  # fmt: skip
    kind = rng.random()
    if kind < 0.15:
        draft.set_value(b"Sec-WebSocket-Accept", None)
        return "accept missing"
    if kind < 0.3:
        draft.lines.append(b"Sec-WebSocket-Accept: {accept}")
        return "accept twice"
    draft.set_value(b"Sec-WebSocket-Accept", value)
    return f"accept {_show(value)}"


# After the head: what the server writes behind it in the same write ---------------------------


def _frame(
    first: int,
    payload: bytes = b"",
    *,
    length: int | None = None,
    wide: int = 0,
    mask: bytes | None = None,
) -> bytes:
    """A frame from its first byte: `length` overrides the payload's (a lie), `wide` forces a
    16-bit (2) or 64-bit (8) length field (not the shortest form), `mask` masks it."""
    size = len(payload) if length is None else length
    if wide == 8 or (not wide and size > 0xFFFF):
        header = bytes([first, 127]) + size.to_bytes(8, "big")
    elif wide == 2 or (not wide and size > 125):
        header = bytes([first, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([first, size])
    if mask is not None:
        header = header[:1] + bytes([header[1] | 0x80]) + header[2:] + mask
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + payload


def _deflated(text: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return (compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def _close(rng: random.Random) -> bytes:
    code = _pick(rng, [b"", b"\x03\xe8", b"\x03\xe9", b"\x03\xed", b"\x03\xe7", b"\x0b\xb8",
                       b"\x13\x87", b"\x13\x88", b"\x03\xf7", b"\x03", b"\x03\xea"])  # fmt: skip
    reason = _pick(rng, [b"", b"", b"bye", b"\xc3\xa9t\xc3\xa9", b"\xff", b"\xe2\x82", b"x" * 123])
    return _frame(0x88, code + reason if len(code) == 2 else code)


def _valid_frame(rng: random.Random) -> bytes:
    text = _pick(
        rng, [b"hello", b"", b"{}", b"\xc3\xa9t\xc3\xa9", b"x" * 125, b"x" * 126, b"x" * 300]
    )
    kind = rng.randrange(9)
    if kind == 0:
        return _frame(0x82, text)
    if kind == 1:
        return _frame(0x89, text[:125])
    if kind == 2:
        return _frame(0x8A, text[:125])
    if kind == 3:  # fragmented, a Ping between the fragments maybe
        cut = rng.randrange(len(text) + 1)
        ping = _frame(0x89) if rng.random() < 0.5 else b""
        return _frame(0x01, text[:cut]) + ping + _frame(0x80, text[cut:])
    return _frame(0x81, text)


def _invalid_frame(rng: random.Random) -> bytes:
    kind = rng.randrange(16)
    if kind == 0:
        return _frame(0x81, b"hello", mask=b"abcd")
    if kind == 1:
        return _frame(0x80 | rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]),
                      _pick(rng, [b"", b"ab"]))  # fmt: skip
    if kind == 2:
        rsv = rng.choice([0x40, 0x20, 0x10, 0x60, 0x70])
        return _frame(0x80 | rsv | rng.choice([1, 2, 9]), _pick(rng, [b"", b"hello"]))
    if kind == 3:
        return _frame(rng.choice([0x08, 0x09, 0x0A]), _pick(rng, [b"", b"\x03\xe8"]))
    if kind == 4:
        return _frame(rng.choice([0x88, 0x89, 0x8A]), b"x" * rng.choice([126, 127, 200]))
    if kind == 5:
        return _frame(0x80, _pick(rng, [b"", b"x"]))  # nothing to continue
    if kind == 6:
        return _frame(0x01, b"a") + _frame(rng.choice([0x81, 0x82]), b"b")
    if kind == 7:
        text = _pick(rng, [b"\xff", b"\xc3", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"a\xfeb"])
        return _frame(0x81, text)
    if kind == 8:
        return _frame(0x82, b"", length=rng.choice([2**63, 2**64 - 1]))
    if kind == 9:
        return _frame(0x82, b"", length=rng.choice([2**20, 2**20 + 1, 10 * 2**20 + 1, 2**31 - 1,
                                                    2**31, 2**40]))  # fmt: skip
    if kind == 10:
        return _frame(0x81, _pick(rng, [b"hello", b"", b"x" * 200]), wide=rng.choice([2, 8]))
    if kind == 11:
        return _frame(0x89, b"", mask=b"\x00\x00\x00\x00")
    if kind == 12:
        return _frame(0x81, b"hello")[: rng.randrange(1, 6)]  # cut short
    if kind == 13:
        return bytes([rng.randrange(256)])  # a lone first byte
    if kind == 14:
        return _frame(0x81, b"x" * 300)[: rng.choice([2, 3, 4, 50])]
    return _frame(0xC1, _deflated(b"hello")) if rng.random() < 0.5 else _frame(0xC1, b"hello")


_HTTP_AFTER = [b"0\r\n\r\n", b"hello", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
               b"HTTP/1.1 101 Switching Protocols\r\n\r\n", b"<html></html>", b"OK",
               b"5\r\nhello\r\n0\r\n\r\n", b"\r\n", b"\n", b"\r", b"\r\n\r\n", b" ",
               b"\t", b"\x00", b"\r\n\n"]  # fmt: skip


def after_head(rng: random.Random, draft: Draft) -> str:
    """Bytes behind the head: stray line ends, a body or a second response, valid frames
    (greetings, Pings, Closes, fragments), frames RFC 6455 forbids, and frames cut short;
    one to three of them, sometimes with the body's length announced in the head."""
    parts = []
    for _ in range(1 + rng.choices([0, 1, 2], weights=[6, 3, 1])[0]):
        kind = rng.random()
        if kind < 0.25:
            parts.append(_pick(rng, _HTTP_AFTER))
        elif kind < 0.5:
            parts.append(_valid_frame(rng))
        elif kind < 0.6:
            parts.append(_close(rng))
        else:
            parts.append(_invalid_frame(rng))
    draft.after = b"".join(parts)
    announced = rng.random()
    if announced < 0.1:
        draft.lines.append(b"Content-Length: " + str(rng.randrange(len(draft.after) + 2)).encode())
    elif announced < 0.15:
        draft.lines.append(b"Transfer-Encoding: chunked")
    if rng.random() < 0.1 and draft.find(b"Sec-WebSocket-Extensions") is None:
        draft.lines.append(b"Sec-WebSocket-Extensions: permessage-deflate")
    return f"after {_show(draft.after)}"


# Common fields and sizes --------------------------------------------------------------------------

COMMON = [b"Server: nginx/1.25.3", b"Date: Sat, 05 Dec 2026 08:00:00 GMT", b"Via: 1.1 proxy",
          b"Content-Length: 0", b"Set-Cookie: a=b; Path=/; HttpOnly", b"X-Powered-By: Express",
          b"Strict-Transport-Security: max-age=31536000", b"Sec-WebSocket-Version: 13",
          b"Keep-Alive: timeout=5", b"Cache-Control: no-cache", b"Content-Type: text/plain",
          b"Transfer-Encoding: chunked", b"Content-Length: 5", b"Vary: Origin",
          b"Access-Control-Allow-Origin: *", b"X-Request-Id: 0123456789abcdef"]  # fmt: skip


def common_fields(rng: random.Random, draft: Draft) -> str:
    added = [_pick(rng, COMMON) for _ in range(1 + rng.randrange(3))]
    for line in added:
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), line)
    return "common " + ", ".join(line.split(b":")[0].decode() for line in added)


def _limits() -> dict[str, list[int]]:
    """Every size limit of the client models, by what it counts."""
    found: dict[str, set[int]] = {"line": set(), "field": set(), "head": set(), "fields": set()}
    for profile in PROFILES:
        grammar = profile.grammar
        for kind, value in (("line", grammar.max_line), ("field", grammar.max_value),
                            ("line", grammar.max_reason), ("head", grammar.max_head),
                            ("fields", grammar.max_fields)):  # fmt: skip
            if value is not None:
                found[kind].add(value)
    found["head"] |= {8 * 1024, 64 * 1024}  # common server and proxy buffers
    found["line"] |= {4096, 8 * 1024}
    return {kind: sorted(values) for kind, values in found.items()}


def size(rng: random.Random, draft: Draft) -> str:
    """A field (or line, or head) at, just under or just over a client's limit; the filler is
    sized against the head as other transforms left it (sizes are applied last)."""
    limits = _limits()
    kind = rng.choice(["line", "field", "head", "fields", "reason"])
    delta = rng.choice([-2, -1, 0, 1, 2])
    if kind == "fields":
        target = rng.choice(limits["fields"]) + delta
        while len(draft.lines) < target:
            draft.lines.append(b"X-F%d: v" % len(draft.lines))
        return f"size fields={target}"
    if kind == "reason":
        target = rng.choice(limits["line"]) + delta
        draft.status = b"HTTP/1.1 101 " + b"R" * max(target - len(b"HTTP/1.1 101 ") - 2, 1)
        return f"size status-line={target}"
    if kind == "head":
        target = rng.choice(limits["head"]) + delta
        current = len(draft.render().replace(b"{accept}", b"=" * 28))
        filler = max(target - current - len(b"X-Filler: ") - 2, 1)
        draft.lines.insert(rng.randrange(len(draft.lines) + 1), b"X-Filler: " + b"a" * filler)
        return f"size head={target}"
    target = rng.choice(limits[kind]) + delta
    name = b"X-Filler"
    overhead = len(name) + (len(b": ") + 2 if kind == "line" else 0)
    draft.lines.insert(
        rng.randrange(len(draft.lines) + 1), name + b": " + b"a" * (target - overhead)
    )
    return f"size {kind}={target}"


# The grammar ---------------------------------------------------------------------------------

TRANSFORMS: dict[str, tuple[Transform, int]] = {  # the class, and its weight
    "status-version": (status_version, 3),
    "status-spacing": (status_spacing, 3),
    "status-reason": (status_reason, 2),
    "status-code": (status_code, 2),
    "leading": (leading_lines, 2),
    "interim": (interim, 4),
    "name-case": (name_case, 2),
    "space-before-colon": (space_before_colon, 3),
    "odd-line": (odd_line, 3),
    "value-whitespace": (value_whitespace, 3),
    "value-bytes": (value_bytes, 3),
    "obs-fold": (obs_fold, 3),
    "fold-bytes": (fold_bytes, 4),
    "line-endings": (line_endings, 3),
    "repeat": (repeat_field, 3),
    "list": (list_syntax, 5),
    "extensions": (extensions, 6),
    "accept": (accept, 2),
    "common": (common_fields, 2),
    "size": (size, 4),
    "after": (after_head, 6),
}
_LAST = ("size",)  # sized against what the other transforms made


@dataclass
class Mutation:
    """Mutation `index` of `seed`: the transforms it applies (their classes, by position)."""

    seed: int
    index: int
    classes: list[str]
    keep: tuple[int, ...] | None = None  # the positions applied (None: all), for minimising

    @property
    def name(self) -> str:
        kept = "" if self.keep is None else "-" + "".join(map(str, self.keep))
        return f"m{self.seed}-{self.index}{kept}"

    def build(self) -> tuple[Draft, list[str]]:
        base = random.Random(f"{self.seed}:{self.index}:base")
        draft = Draft()
        draft.lines = [b"Upgrade: websocket", b"Connection: Upgrade",
                       b"Sec-WebSocket-Accept: {accept}"]  # fmt: skip
        base.shuffle(draft.lines)
        if base.random() < 0.25:
            draft.protocols = base.choice([("chat",), ("chat", "superchat")])
            draft.lines.append(b"Sec-WebSocket-Protocol: chat")
        labels = []
        order = sorted(range(len(self.classes)), key=lambda i: self.classes[i] in _LAST)
        for position in order:
            if self.keep is not None and position not in self.keep:
                continue
            rng = random.Random(f"{self.seed}:{self.index}:{position}")
            labels.append(TRANSFORMS[self.classes[position]][0](rng, draft))
        return draft, labels

    def template(self) -> tuple[bytes, tuple[str, ...], str]:
        """The head (with `{accept}` placeholders), the subprotocols to offer, a summary."""
        draft, labels = self.build()
        return draft.render(), draft.protocols, "; ".join(labels) or "valid"

    def parts(self) -> tuple[bytes, bytes, tuple[str, ...], str]:
        """`template`'s head and what the server writes behind it, apart."""
        draft, labels = self.build()
        summary = "; ".join(labels) or "valid"
        return draft.render(with_after=False), draft.after, draft.protocols, summary

    def subsets(self) -> list[Mutation]:
        """This mutation with one transform fewer, each way (for minimising)."""
        kept = self.keep if self.keep is not None else tuple(range(len(self.classes)))
        return [
            Mutation(self.seed, self.index, self.classes, tuple(p for p in kept if p != drop))
            for drop in kept
        ]


def generate(seed: int, count: int) -> list[Mutation]:
    """`count` mutations of `seed`, each of one to three transforms."""
    rng = random.Random(seed)
    names = list(TRANSFORMS)
    weights = [TRANSFORMS[name][1] for name in names]
    mutations = []
    for index in range(count):
        how_many = rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
        mutations.append(Mutation(seed, index, rng.choices(names, weights=weights, k=how_many)))
    return mutations

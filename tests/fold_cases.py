"""The class behind the differential miss `m26-454` (a CR before the CR LF of an obs-fold
continuation of Connection, which curl refuses): stray CRs, control bytes and missing colons
meeting obs-fold, in every field a model reads, generated, with what each of the twelve real
clients did with each head.

The heads: Upgrade, Connection, Sec-WebSocket-Accept, Sec-WebSocket-Protocol (offered),
Sec-WebSocket-Extensions and an unknown field, each folded after a value (`split`) or after an
empty one (`empty`), with a CR CR LF ending the first line, the continuation or both, a CR at
the continuation's start or middle, a tab fold, a bare LF on either line, trailing blanks before
the CR, and a control byte (HTAB-less C0, DEL, NUL) in the continuation; then the neighbours: a
line without a colon folded into one with a colon, a CR CR LF after an empty value (llhttp's
lenient value start: the head ends there, so no empty line need follow, and one in an interim
response ends it) and as the head's last line, a line that starts with a CR, a status line
ending in CR CR LF, folds right after the status line and folds over three lines; and stray
CRs elsewhere (`STRAYS`: CR as the only line ending, in a name or before its colon, in the
status line and in an interim response; whitespace-only, VT and FF continuations).
`test_client_models.py` holds every model to `OPENED`; `--run` serves them to the real clients
(about a minute) and prints any difference from the record and from the models.

    python -m tests.fold_cases --run [CLIENT...]
"""

from __future__ import annotations

import sys

from wsaccept_cli.core.clientmodels import PROFILES
from wsaccept_cli.core.clientmodels.profile import Offer
from wsaccept_cli.core.keys import accept_for

S = b"HTTP/1.1 101 Switching Protocols\r\n"
GOOD = b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
_BASE = {"up": b"Upgrade: websocket\r\n", "co": b"Connection: Upgrade\r\n",
         "ac": b"Sec-WebSocket-Accept: {accept}\r\n"}  # fmt: skip
# the field, its whole value, and the value split into the first line and the continuation
FIELDS = {
    "up": (b"Upgrade", b"websocket", b"web", b"socket"),
    "co": (b"Connection", b"Upgrade", b"keep-alive,", b"Upgrade"),
    "ac": (b"Sec-WebSocket-Accept", b"{accept}", b"", b"{accept}"),
    "pr": (b"Sec-WebSocket-Protocol", b"chat", b"", b"chat"),
    "ex": (b"Sec-WebSocket-Extensions", b"permessage-deflate", b"permessage-deflate;",
           b"server_no_context_takeover"),
    "xf": (b"X-Folded", b"a", b"a", b"b"),
}  # fmt: skip
# variant: (the first line's ending, what starts the continuation, a CR inside it, its ending)
VARIANTS = {
    "plain": (b"\r\n", b" ", False, b"\r\n"),
    "crcrlf-cont": (b"\r\n", b" ", False, b"\r\r\n"),
    "crcrlf-first": (b"\r\r\n", b" ", False, b"\r\n"),
    "crcrlf-both": (b"\r\r\n", b" ", False, b"\r\r\n"),
    "cr-lead": (b"\r\n", b" \r", False, b"\r\n"),
    "cr-mid": (b"\r\n", b" ", True, b"\r\n"),
    "tab-crcrlf": (b"\r\n", b"\t", False, b"\r\r\n"),
    "lf-cont": (b"\r\n", b" ", False, b"\n"),
    "lf-first": (b"\n", b" ", False, b"\r\n"),
    "sp-cr-cont": (b"\r\n", b" ", False, b" \r\r\n"),
    "x01-cont": (b"\r\n", b" ", False, b"\x01\r\n"),
    "x7f-cont": (b"\r\n", b" ", False, b"\x7f\r\n"),
    "nul-cont": (b"\r\n", b" ", False, b"\x00\r\n"),
    "x0b-cont": (b"\r\n", b" ", False, b"\x0b\r\n"),
}


def _folded(key: str, shape: str, variant: str) -> bytes:
    name, whole, first, rest = FIELDS[key]
    if shape == "empty":
        first, rest = b"", whole
    first_end, lead, cr_inside, end = VARIANTS[variant]
    if cr_inside:
        rest = rest[:2] + b"\r" + rest[2:]
    folded = name + b":" + (b" " + first if first else b"") + first_end + lead + rest + end
    lines = [folded if k == key else line for k, line in _BASE.items()]
    if key not in _BASE:
        lines.append(folded)
    return S + b"".join(lines) + b"\r\n"


NEIGHBOURS = {
    "nocolon-then-fold-up": S + b"X-No-Colon\r\n Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
    "nocolon-then-fold-x": S + GOOD + b"X-No-Colon\r\n X: y\r\n\r\n",
    "nocolon-then-fold-nocolon": S + GOOD + b"X-No-Colon\r\n more\r\n\r\n",
    "crcrlf-status": S[:-2] + b"\r\r\n" + GOOD + b"\r\n",
    "crcrlf-status-fold": S[:-2] + b"\r\r\n Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
    "fold-after-status": S + b" X: y\r\n" + GOOD + b"\r\n",
    "fold-twice-crcrlf": S + b"Upgrade: websocket\r\nConnection: keep-alive,\r\n x,\r\n Upgrade"
                         b"\r\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
    "fold-twice-crcrlf-mid": S + b"Upgrade: websocket\r\nConnection: keep-alive,\r\n x,\r\r\n"
                             b" Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
    "end-crcrlf": S + GOOD + b"\r\r\n",
    "end-cr-fold": S + b"Upgrade: websocket\r\nConnection: keep-alive,\r\n Upgrade\r\n"
                   b"Sec-WebSocket-Accept: {accept}\r\n\r\r\n",
    "ev-crcrlf-first": S + b"X-E: \r\r\n" + GOOD + b"\r\n",
    "ev-crcrlf-last": S + GOOD + b"X-E: \r\r\nX-After: 1\r\n\r\n",
    "ev-crcrlf-accept": S + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Accept: \r\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
    "ev-cr-newfield": S + b"X-E:\rUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
    "ev-cr-sp-value": S + b"Upgrade: \r websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
    "ev-fold-cr-sp": S + b"Upgrade:\r\n \r websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
    "ev-cr-colon": S + GOOD + b"X-E:\r:x\r\n\r\n",
    "ev-cr-nocolon": S + GOOD + b"X-E:\rabc\r\n\r\n",
    "ev-crcrlf-fold-after": S + GOOD + b"X-E: \r\r\n more\r\n\r\n",
    "ev-lf-crcrlf": S + b"X-E: \r\r\n" + GOOD.replace(b"\r\n", b"\n") + b"\n",
    "ev-empty-then-fold-crcrlf": S + b"X-E:\r\n \r\r\n" + GOOD + b"\r\n",
    "ev-cr-only-value-crlf": S + b"X-E:\r\r\n" + GOOD + b"\r\n",
    "ev-status-crcrlf-curl": S + GOOD + b"\r\r\n",
    "cr-starts-line": S + GOOD + b"\rX: y\r\n\r\n",
    "pr-ev-crcrlf-end-crcrlf": S + GOOD + b"Sec-WebSocket-Protocol:  \r\r\n  chat\r\n\r\r\n",
    "ev-crcrlf-no-empty-line": S + GOOD + b"X-E: \r\r\nX: y\r\n",
    "ev-crcrlf-interim": b"HTTP/1.1 100 Continue\r\nX-E: \r\r\n" + S + GOOD + b"\r\n",
    "ev-fold-crcrlf-no-empty-line": S + GOOD + b"X-E:\r\n  \r\r\n more\r\n",
}  # fmt: skip


_U, _C, _A = (b"Upgrade: websocket\r\n", b"Connection: Upgrade\r\n",
              b"Sec-WebSocket-Accept: {accept}\r\n")  # fmt: skip
_I = b"HTTP/1.1 100 Continue\r\n"
# Stray CRs and folds elsewhere: CR as the only line ending, in a name or before its colon, in
# the status line and in an interim response; whitespace-only and VT/FF continuations.
STRAYS = {
    "all-cr": (S + GOOD + b"\r\n").replace(b"\r\n", b"\r"),
    "cr-end-only": S + GOOD + b"\r",
    "ws-only-cont": S + GOOD + b"X: a\r\n \r\n\r\n",
    "ws-only-cont-up": S + b"Upgrade: websocket\r\n \r\n" + _C + _A + b"\r\n",
    "tab-only-cont": S + GOOD + b"X: a\r\n\t\r\n\r\n",
    "accept-trailing-fold": S + _U + _C + b"Sec-WebSocket-Accept: {accept} \r\n \r\n\r\n",
    "accept-fold-after": S + _U + _C + b"Sec-WebSocket-Accept: {accept}\r\n x\r\n\r\n",
    "interim-fold": _I + b"X: a\r\n b\r\n\r\n" + S + GOOD + b"\r\n",
    "interim-crcrlf": _I + b"X: a\r\r\n\r\n" + S + GOOD + b"\r\n",
    "interim-status-crcrlf": _I[:-2] + b"\r\r\n\r\n" + S + GOOD + b"\r\n",
    "interim-end-crcrlf": _I + b"\r\r\n" + S + GOOD + b"\r\n",
    "status-cr-mid": b"HTTP/1.1 101 Switching\rProtocols\r\n" + GOOD + b"\r\n",
    "status-nul": b"HTTP/1.1 101 Switching\x00Protocols\r\n" + GOOD + b"\r\n",
    "name-nul": S + GOOD + b"X\x00Y: z\r\n\r\n",
    "name-cr": S + GOOD + b"X\rY: z\r\n\r\n",
    "cr-before-colon": S + GOOD + b"X\r: z\r\n\r\n",
    "up-cr-before-colon": S + b"Upgrade\r: websocket\r\n" + _C + _A + b"\r\n",
    "colon-only": S + GOOD + b":\r\n\r\n",
    "fold-then-lf-end": S + GOOD + b"X: a\r\n b\n\n",
    "cont-colon-first": S + _U + b"Connection:\r\n Upgrade\r\n" + _A + b"\r\n",
    "cont-3-empty": S + _U + b"Connection:\r\n \r\n Upgrade\r\n" + _A + b"\r\n",
    "cont-vt": S + _U + b"Connection: keep-alive,\r\n\x0bUpgrade\r\n" + _A + b"\r\n",
    "cont-ff": S + _U + b"Connection: keep-alive,\r\n\x0cUpgrade\r\n" + _A + b"\r\n",
    "up-value-crlf-sp-sp": S + b"Upgrade:  \r\n  websocket  \r\n" + _C + _A + b"\r\n",
    "double-colon": S + b"Upgrade:: websocket\r\n" + _C + _A + b"\r\n",
    "accept-cr-end-nofold": S + _U + _C + b"Sec-WebSocket-Accept: {accept}\r\r\n\r\n",
    "conn-cr-sp": S + _U + b"Connection: Upgrade\r \r\n" + _A + b"\r\n",
    "empty-cr-sp-then-fold": S + b"Upgrade: \r \r\n websocket\r\n" + _C + _A + b"\r\n",
    "ev-lf-only": S + b"X-E: \r\nUpgrade: websocket\n" + _C + _A + b"\r\n",
    "ev-cr-lf-bare": S + b"X-E:\r\n" + GOOD + b"\r\n",
}


def heads() -> dict[str, bytes]:
    """Every case's head, `{accept}` standing for the client's accept."""
    made = {
        f"{key}-{shape}-{variant}": _folded(key, shape, variant)
        for key in FIELDS
        for shape in ("split", "empty")
        for variant in VARIANTS
    }
    return {**made, **NEIGHBOURS, **STRAYS}


def protocols(name: str) -> tuple[str, ...]:
    return ("chat",) if name.startswith("pr-") else ()


CLIENTS = tuple(profile.name for profile in PROFILES)
CODES = "CFnsacuwtgjl"  # a letter per client of CLIENTS, in order
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="

# What the real clients did (`--run`, 5 December 2026: Chromium and Firefox ESR of Debian 12,
# Node ws 8, websockets, aiohttp 3.14.5, libcurl 8.23.0 (curl_cffi), undici 7.30.3,
# websocket-client 1.9.2, Tornado 6.6.1, gorilla/websocket 1.5.0, OpenJDK 17, libwebsockets
# 4.1.6): the letters of the clients that opened each head.
OPENED: dict[str, str] = {
    "up-split-plain": "c",
    "up-split-crcrlf-cont": "",
    "up-split-crcrlf-first": "",
    "up-split-crcrlf-both": "",
    "up-split-cr-lead": "",
    "up-split-cr-mid": "",
    "up-split-tab-crcrlf": "",
    "up-split-lf-cont": "c",
    "up-split-lf-first": "c",
    "up-split-sp-cr-cont": "",
    "up-split-x01-cont": "c",
    "up-split-x7f-cont": "c",
    "up-split-nul-cont": "",
    "up-split-x0b-cont": "c",
    "up-empty-plain": "CFacgj",
    "up-empty-crcrlf-cont": "C",
    "up-empty-crcrlf-first": "CF",
    "up-empty-crcrlf-both": "C",
    "up-empty-cr-lead": "",
    "up-empty-cr-mid": "",
    "up-empty-tab-crcrlf": "C",
    "up-empty-lf-cont": "CFacgj",
    "up-empty-lf-first": "CFacgj",
    "up-empty-sp-cr-cont": "CF",
    "up-empty-x01-cont": "cj",
    "up-empty-x7f-cont": "c",
    "up-empty-nul-cont": "j",
    "up-empty-x0b-cont": "cj",
    "co-split-plain": "CFcg",
    "co-split-crcrlf-cont": "C",
    "co-split-crcrlf-first": "CF",
    "co-split-crcrlf-both": "C",
    "co-split-cr-lead": "",
    "co-split-cr-mid": "",
    "co-split-tab-crcrlf": "C",
    "co-split-lf-cont": "CFcg",
    "co-split-lf-first": "CFcg",
    "co-split-sp-cr-cont": "CF",
    "co-split-x01-cont": "c",
    "co-split-x7f-cont": "c",
    "co-split-nul-cont": "",
    "co-split-x0b-cont": "c",
    "co-empty-plain": "CFacgj",
    "co-empty-crcrlf-cont": "C",
    "co-empty-crcrlf-first": "CF",
    "co-empty-crcrlf-both": "C",
    "co-empty-cr-lead": "",
    "co-empty-cr-mid": "",
    "co-empty-tab-crcrlf": "C",
    "co-empty-lf-cont": "CFacgj",
    "co-empty-lf-first": "CFacgj",
    "co-empty-sp-cr-cont": "CF",
    "co-empty-x01-cont": "cj",
    "co-empty-x7f-cont": "c",
    "co-empty-nul-cont": "j",
    "co-empty-x0b-cont": "cj",
    "ac-split-plain": "CFacgj",
    "ac-split-crcrlf-cont": "C",
    "ac-split-crcrlf-first": "C",
    "ac-split-crcrlf-both": "C",
    "ac-split-cr-lead": "",
    "ac-split-cr-mid": "",
    "ac-split-tab-crcrlf": "C",
    "ac-split-lf-cont": "CFacgj",
    "ac-split-lf-first": "CFacgj",
    "ac-split-sp-cr-cont": "C",
    "ac-split-x01-cont": "cj",
    "ac-split-x7f-cont": "c",
    "ac-split-nul-cont": "j",
    "ac-split-x0b-cont": "cj",
    "ac-empty-plain": "CFacgj",
    "ac-empty-crcrlf-cont": "C",
    "ac-empty-crcrlf-first": "C",
    "ac-empty-crcrlf-both": "C",
    "ac-empty-cr-lead": "",
    "ac-empty-cr-mid": "",
    "ac-empty-tab-crcrlf": "C",
    "ac-empty-lf-cont": "CFacgj",
    "ac-empty-lf-first": "CFacgj",
    "ac-empty-sp-cr-cont": "C",
    "ac-empty-x01-cont": "cj",
    "ac-empty-x7f-cont": "c",
    "ac-empty-nul-cont": "j",
    "ac-empty-x0b-cont": "cj",
    "pr-split-plain": "CFacgj",
    "pr-split-crcrlf-cont": "Cgj",
    "pr-split-crcrlf-first": "Cagj",
    "pr-split-crcrlf-both": "Cagj",
    "pr-split-cr-lead": "gj",
    "pr-split-cr-mid": "gj",
    "pr-split-tab-crcrlf": "Cgj",
    "pr-split-lf-cont": "CFacgj",
    "pr-split-lf-first": "CFacgj",
    "pr-split-sp-cr-cont": "Cgj",
    "pr-split-x01-cont": "acgj",
    "pr-split-x7f-cont": "acg",
    "pr-split-nul-cont": "gj",
    "pr-split-x0b-cont": "acgj",
    "pr-empty-plain": "CFacgj",
    "pr-empty-crcrlf-cont": "Cgj",
    "pr-empty-crcrlf-first": "Cagj",
    "pr-empty-crcrlf-both": "Cagj",
    "pr-empty-cr-lead": "gj",
    "pr-empty-cr-mid": "gj",
    "pr-empty-tab-crcrlf": "Cgj",
    "pr-empty-lf-cont": "CFacgj",
    "pr-empty-lf-first": "CFacgj",
    "pr-empty-sp-cr-cont": "Cgj",
    "pr-empty-x01-cont": "acgj",
    "pr-empty-x7f-cont": "acg",
    "pr-empty-nul-cont": "gj",
    "pr-empty-x0b-cont": "acgj",
    "ex-split-plain": "CFa",
    "ex-split-crcrlf-cont": "CFgj",
    "ex-split-crcrlf-first": "CFgj",
    "ex-split-crcrlf-both": "CFgj",
    "ex-split-cr-lead": "Fgj",
    "ex-split-cr-mid": "gj",
    "ex-split-tab-crcrlf": "CFgj",
    "ex-split-lf-cont": "CFa",
    "ex-split-lf-first": "CFa",
    "ex-split-sp-cr-cont": "CFgj",
    "ex-split-x01-cont": "ag",
    "ex-split-x7f-cont": "ag",
    "ex-split-nul-cont": "g",
    "ex-split-x0b-cont": "ag",
    "ex-empty-plain": "CFa",
    "ex-empty-crcrlf-cont": "CFgj",
    "ex-empty-crcrlf-first": "CFagj",
    "ex-empty-crcrlf-both": "CFagj",
    "ex-empty-cr-lead": "Fgj",
    "ex-empty-cr-mid": "gj",
    "ex-empty-tab-crcrlf": "CFgj",
    "ex-empty-lf-cont": "CFa",
    "ex-empty-lf-first": "CFa",
    "ex-empty-sp-cr-cont": "CFgj",
    "ex-empty-x01-cont": "ag",
    "ex-empty-x7f-cont": "ag",
    "ex-empty-nul-cont": "g",
    "ex-empty-x0b-cont": "ag",
    "xf-split-plain": "CFacgj",
    "xf-split-crcrlf-cont": "CFgj",
    "xf-split-crcrlf-first": "CFgj",
    "xf-split-crcrlf-both": "CFgj",
    "xf-split-cr-lead": "CFgj",
    "xf-split-cr-mid": "CFgj",
    "xf-split-tab-crcrlf": "CFgj",
    "xf-split-lf-cont": "CFacgj",
    "xf-split-lf-first": "CFacgj",
    "xf-split-sp-cr-cont": "CFgj",
    "xf-split-x01-cont": "CFacgj",
    "xf-split-x7f-cont": "CFacg",
    "xf-split-nul-cont": "gj",
    "xf-split-x0b-cont": "CFacgj",
    "xf-empty-plain": "CFacgj",
    "xf-empty-crcrlf-cont": "CFgj",
    "xf-empty-crcrlf-first": "CFagj",
    "xf-empty-crcrlf-both": "CFagj",
    "xf-empty-cr-lead": "CFgj",
    "xf-empty-cr-mid": "CFgj",
    "xf-empty-tab-crcrlf": "CFgj",
    "xf-empty-lf-cont": "CFacgj",
    "xf-empty-lf-first": "CFacgj",
    "xf-empty-sp-cr-cont": "CFgj",
    "xf-empty-x01-cont": "CFacgj",
    "xf-empty-x7f-cont": "CFacg",
    "xf-empty-nul-cont": "gj",
    "xf-empty-x0b-cont": "CFacgj",
    "nocolon-then-fold-up": "c",
    "nocolon-then-fold-x": "CFcl",
    "nocolon-then-fold-nocolon": "CFj",
    "crcrlf-status": "CFwtgl",
    "crcrlf-status-fold": "w",
    "fold-after-status": "CFacwl",
    "fold-twice-crcrlf": "C",
    "fold-twice-crcrlf-mid": "CF",
    "end-crcrlf": "cw",
    "end-cr-fold": "c",
    "ev-crcrlf-first": "CFwgjl",
    "ev-crcrlf-last": "CFawgjl",
    "ev-crcrlf-accept": "wj",
    "ev-cr-newfield": "Caj",
    "ev-cr-sp-value": "CFawj",
    "ev-fold-cr-sp": "CFaj",
    "ev-cr-colon": "CFwgjl",
    "ev-cr-nocolon": "CFwgjl",
    "ev-crcrlf-fold-after": "CFagj",
    "ev-lf-crcrlf": "CFwgjl",
    "ev-empty-then-fold-crcrlf": "CFgj",
    "ev-cr-only-value-crlf": "CFwgjl",
    "ev-status-crcrlf-curl": "cw",
    "cr-starts-line": "CFcwgl",
    "pr-ev-crcrlf-end-crcrlf": "a",
    "ev-crcrlf-no-empty-line": "a",
    "ev-crcrlf-interim": "a",
    "ev-fold-crcrlf-no-empty-line": "aw",
    "all-cr": "",
    "cr-end-only": "",
    "ws-only-cont": "CFacwgj",
    "ws-only-cont-up": "CFacgj",
    "tab-only-cont": "CFacwgj",
    "accept-trailing-fold": "CFacwj",
    "accept-fold-after": "c",
    "interim-fold": "Facj",
    "interim-crcrlf": "Fj",
    "interim-status-crcrlf": "Ft",
    "interim-end-crcrlf": "c",
    "status-cr-mid": "CFwgl",
    "status-nul": "Fnauwgjl",
    "name-nul": "Fwgl",
    "name-cr": "CFwgjl",
    "cr-before-colon": "CFwgjl",
    "up-cr-before-colon": "",
    "colon-only": "CFcwgj",
    "fold-then-lf-end": "CFacgj",
    "cont-colon-first": "CFacgj",
    "cont-3-empty": "CFacgj",
    "cont-vt": "",
    "cont-ff": "",
    "up-value-crlf-sp-sp": "CFacgj",
    "double-colon": "Fc",
    "accept-cr-end-nofold": "Cwl",
    "conn-cr-sp": "Cwjl",
    "empty-cr-sp-then-fold": "CFaj",
    "ev-lf-only": "CFacwtgjl",
    "ev-cr-lf-bare": "CFnsacuwtgjl",
}


def predicted(name: str, client: str) -> bool:
    profile = next(p for p in PROFILES if p.name == client)
    head = heads()[name].replace(b"{accept}", accept_for(KEY))
    offer = Offer(KEY.decode(), protocols(name), profile.offers_extensions)
    return profile.predict(head, offer).accepts


def observe(clients: list[str]) -> dict[str, dict[str, bool | None]]:
    """What each real client did with each head: opened, refused, or None (undecided)."""
    import threading

    from tests.client_corpus import Case
    from tests.differential import run
    from tests.drivers import BROWSERS

    cases = [Case(name, name, [], protocols=protocols(name), template=head)
             for name, head in heads().items()]  # fmt: skip
    seen: dict[str, dict[str, bool | None]] = {}

    def one(client: str) -> None:
        seen[client] = {o.case.name: o.accepted for o in run(client, cases)}

    for group in ([c for c in clients if c not in BROWSERS], [c for c in clients if c in BROWSERS]):
        threads = [threading.Thread(target=one, args=(client,)) for client in group]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return seen


def _main(argv: list[str]) -> int:
    if argv[:1] != ["--run"]:
        print(__doc__)
        return 2
    from tests.drivers import missing

    wanted = [client for client in (argv[1:] or CLIENTS) if missing(client) is None]
    seen = observe(wanted)
    differences = 0
    for name in heads():
        if name not in OPENED:  # a new head: what to record
            opened = [CODES[CLIENTS.index(c)] for c in wanted if seen[c][name]]
            print(f'unrecorded: "{name}": "{"".join(opened)}",')
    for client in wanted:
        code = CODES[CLIENTS.index(client)]
        for name in heads():
            recorded, real = code in OPENED.get(name, code), seen[client][name]
            model = predicted(name, client)
            if real != recorded or model != recorded:
                differences += 1
                print(f"{client} {name}: recorded {recorded}, real {real}, model {model}")
    print(f"{len(heads())} heads, {len(wanted)} clients, {differences} differences")
    return 0 if differences == 0 else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

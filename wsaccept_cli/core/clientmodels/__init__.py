"""Which real WebSocket clients would open a connection on a server's answer, and why the others
refuse: one model per client, each written from that client's source.

A prediction starts from the raw response head (bytes, interim 1xx responses included) and the
offer the request made (`Offer`: the key, the subprotocols, whether extensions were offered,
HTTP/1.1 or HTTP/2). Each client's model runs that client's HTTP/1.1 response parser (a
`httpgrammar.Grammar`: line endings, status-line and field grammar, obs-fold, size limits,
interim responses), then its WebSocket checks in its order (`wschecks`), and stops at the first
refusal. `tests/test_clients.py` and `tests/differential.py` drive every client for real and
fail on any difference.

Adding a client
---------------
1. A module here, `wsaccept_cli/core/clientmodels/<client>.py`, whose docstring cites the
   client's version and the source files (and functions) each rule models, defining:
   - `GRAMMAR = Grammar(...)`: its HTTP/1.1 response parser (see `httpgrammar.Grammar` for every
     switch; start from the one of a client with the same parser, e.g. `node_ws.LLHTTP_*`);
   - its own checks, if `wschecks` lacks one: `def check(facts: Facts) -> str | None`,
     returning the refusal as a short phrase;
   - `PROFILE = Profile(NAME, SOURCE_FILE, GRAMMAR, (check, ...), offers_extensions=...)`, the
     checks in the client's order; `offers_extensions=False` for a client whose usual request
     offers no permessage-deflate; `h2_checks=` only for a client that opens WebSockets over
     HTTP/2 (RFC 8441).
2. One line in `PROFILES` below (the order is the order of the `clients:` line and the JSON).
3. A real-client driver, one line in `tests/drivers.py` (`DRIVERS`): a command that reads URLs
   on stdin and writes one JSON line per URL (see tests/README.md, "Client drivers"), so
   `tests/differential.py` and `tests/test_clients.py` run the client for real.
4. Regenerate the README's compatibility table: `python -m tests.client_corpus --table`.

Pure code: bytes and an offer in, one ClientVerdict per client out.
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels import (
    aiohttp,
    chromium,
    curl,
    firefox,
    gorilla,
    java,
    libwebsockets,
    node_ws,
    tornado,
    undici,
    websocket_client,
    websockets,
)
from wsaccept_cli.core.clientmodels.httpgrammar import Head
from wsaccept_cli.core.clientmodels.profile import ClientVerdict, Facts, Offer, Profile
from wsaccept_cli.core.handshake import Handshake, Message, split_list
from wsaccept_cli.core.keys import accept_for

__all__ = [
    "PROFILES",
    "ClientVerdict",
    "Facts",
    "Offer",
    "Profile",
    "describe",
    "names",
    "offer_of",
    "predict",
    "predict_clients",
    "raw_head",
]

PROFILES: tuple[Profile, ...] = (
    chromium.PROFILE,
    firefox.PROFILE,
    node_ws.PROFILE,
    websockets.PROFILE,
    aiohttp.PROFILE,
    curl.PROFILE,
    undici.PROFILE,
    websocket_client.PROFILE,
    tornado.PROFILE,
    gorilla.PROFILE,
    java.PROFILE,
    libwebsockets.PROFILE,
)


def names() -> list[str]:
    """The names of the registered clients, in order."""
    return [profile.name for profile in PROFILES]


def offer_of(request: Message) -> Offer:
    """What a request offered, as the models need it."""
    keys = request.values("sec-websocket-key")
    return Offer(
        keys[0] if len(keys) == 1 else None,
        tuple(item for item in split_list(request.values("sec-websocket-protocol")) if item),
        bool(request.values("sec-websocket-extensions")),
        http2=bool(request.values(":protocol")),
        target=request.target,
    )


def raw_head(response: Message) -> bytes:
    """The response head as it came (`Message.raw`), or as near as a capture without its bytes
    gives: the status line and fields, each ending in CR LF (LF for a head seen with bare LF)."""
    if response.raw is not None:
        return response.raw
    return b"".join(_pasted_head(message) for message in [*response.interim, response])


def _pasted_head(message: Message) -> bytes:
    end = "\n" if message.bare_lf else "\r\n"
    lines = message.raw_lines
    if not lines or message.start is None:
        version = message.version or "1.1"
        start = message.start or f"HTTP/{version} {message.status} {message.reason}".rstrip()
        lines = [start, *(f"{name}: {value}" for name, value in message.headers)]
    return (end.join(lines) + end + end).encode("latin-1")


def predict(head: bytes, offer: Offer, after: bytes = b"") -> tuple[ClientVerdict, ...]:
    """Every registered client's verdict on a raw HTTP/1.1 response head, and on the bytes
    that came right after it with it (`after`: what the server wrote behind its head, which
    each client reads as it reads `head + after`, see `frames`).

    Heads that differ only in a right Sec-WebSocket-Accept and a Date (one server's answers
    to many probes or in one capture) are predicted once: see `_memo_key`. The bytes after
    the head are part of the key as they are (up to MEMO_AFTER of them; more bypass it)."""
    memo_key = _memo_key(head, offer, after)
    if memo_key is None:
        return predict_each(head, offer, after)
    found = _MEMO.get(memo_key)
    if found is None:
        normal = Offer(_MEMO_KEY, offer.protocols, offer.extensions, target=offer.target)
        found = predict_each(memo_key[0], normal, after)
        if any(_quotes(verdict.reason) for verdict in found):
            return predict_each(head, offer, after)  # a reason quotes the head: not shared
        if len(_MEMO) >= MEMO_ENTRIES:
            _MEMO.clear()
        _MEMO[memo_key] = found
    return found


def _quotes(reason: str | None) -> bool:
    """Whether a refusal's phrase quotes something of the head (a line, a value): then it may
    quote what `_memo_key` swapped, and holds for this head alone."""
    return reason is not None and ("'" in reason or '"' in reason)


def predict_each(head: bytes, offer: Offer, after: bytes = b"") -> tuple[ClientVerdict, ...]:
    """Every registered client's verdict, each model run on the head (and what followed it)."""
    return tuple(profile.predict(head, offer, after) for profile in PROFILES)


# The memo of `predict`: at most MEMO_ENTRIES heads of at most MEMO_HEAD bytes (1 MiB in all).
MEMO_ENTRIES = 256
MEMO_HEAD = 4096
MEMO_AFTER = 256
_MEMO_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample nonce
_MEMO_ACCEPT = accept_for(_MEMO_KEY.encode())
_ACCEPT_FIELD = re.compile(rb"(?i)\nsec-websocket-accept:[ \t]*\Z")
_LINE_END = re.compile(rb"[ \t]*\r?\n")
# A Date field line's value in RFC 9110 §5.6.7's IMF-fixdate, and the one it is swapped for:
# the same 29 bytes' classes place by place (capital, small letters, digits, the same
# punctuation), so no grammar tells them apart, and no model reads a date.
_DATE_FIELD = re.compile(
    rb"(?<=\n)((?i:date):[ \t]*)[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"
    rb"(?=[ \t]*\r?\n)"
)
_MEMO_DATE = rb"\1Thu, 01 Jan 1970 00:00:00 GMT"
_DATE_NAME = re.compile(rb"(?i)\n[ \t]*date")
_MemoKey = tuple[bytes, tuple[str, ...], bool, str | None, bytes]
_MEMO: dict[_MemoKey, tuple[ClientVerdict, ...]] = {}


def _memo_key(head: bytes, offer: Offer, after: bytes = b"") -> _MemoKey | None:
    """The head with its right accept replaced by the sample nonce's (and the value of a lone
    Date field line by one date: `_DATE_FIELD`), the rest of the offer, and the bytes after
    the head as they are (no model compares them with the accept or a date): equal for heads
    whose predictions are equal (`predict` shares none whose reasons quote the head). None
    when that cannot be told this simply.

    The models see the key only through its accept (`Facts.expected`), compared with a field's
    value whole (exactly, or ignoring case). So when the right accept is, ignoring case, in the
    head once, as the whole value of a `Sec-WebSocket-Accept` field line, and the sample
    nonce's accept is not in it, swapping the one for the other (two 28-byte base64 tokens,
    '=' last, nothing in them that any grammar splits on) changes no size, no line, no
    token boundary, and no comparison's outcome. tests/test_clientmodels_memo.py holds it to
    `predict_each` on the differential generator's heads."""
    key = offer.key
    if key is None or offer.http2 or len(head) > MEMO_HEAD or len(after) > MEMO_AFTER:
        return None
    expected = accept_for(key.encode("latin-1"))
    folded = head.lower()
    start = folded.find(expected.lower())
    if start < 0 or folded.find(expected.lower(), start + 1) >= 0:
        return None
    if head[start : start + len(expected)] != expected:
        return None
    if expected != _MEMO_ACCEPT and _MEMO_ACCEPT.lower() in folded:
        return None
    line_start = head.rfind(b"\n", 0, start)  # -1 on the first line: a status line
    if line_start < 0 or not _ACCEPT_FIELD.match(head, line_start, start):
        return None
    if not _LINE_END.match(head, start + len(expected)):
        return None
    normal = head[:start] + _MEMO_ACCEPT + head[start + len(expected) :]
    if len(_DATE_NAME.findall(normal)) == 1:  # two dates made one would compare equal
        normal = _DATE_FIELD.sub(_MEMO_DATE, normal)
    return normal, offer.protocols, offer.extensions, offer.target, after


def predict_clients(handshake: Handshake) -> tuple[ClientVerdict, ...]:
    """Each client's verdict on the handshake's response; none without a request and a
    response with a status (nothing to predict from). An HTTP/2 extended CONNECT (RFC 8441)
    is predicted for the clients that open WebSockets over HTTP/2 only; one over HTTP/3
    (RFC 9220) for none."""
    request, response = handshake.request, handshake.response
    if request is None or response is None:
        return ()
    offer = offer_of(request)
    if offer.http2:
        if response.status is None and not response.values(":status"):
            return ()
        if any((m.version or "").startswith("3") for m in (request, response)):
            return ()  # HTTP/3 (RFC 9220): explained, not checked (core.rules_h2), nor predicted
        head = Head()
        head.status, head.version, head.fields = response.status, response.version, response.headers
        verdicts = (profile.predict_h2(head, offer) for profile in PROFILES)
        return tuple(verdict for verdict in verdicts if verdict is not None)
    if response.status is None and response.raw is None:
        return ()  # a pasted response without a status line: nothing to parse as a client does
    after = response.after if response.status == 101 else b""  # read only after a 101
    return predict(raw_head(response), offer, after)


def describe(verdicts: tuple[ClientVerdict, ...]) -> str:
    """One line: `refused by A, B (reason); C (other reason); accepted by D, E`."""
    groups: dict[str, list[str]] = {}
    for verdict in verdicts:
        if not verdict.accepts:
            groups.setdefault(verdict.reason or "", []).append(verdict.client)
    parts = []
    if groups:
        refused = "; ".join(f"{', '.join(names)} ({reason})" for reason, names in groups.items())
        parts.append(f"refused by {refused}")
    accepted = [verdict.client for verdict in verdicts if verdict.accepts]
    if accepted:
        parts.append(f"accepted by {', '.join(accepted)}")
    return "; ".join(parts)

"""The answers `wsaccept serve` gives: the correct 101, and each deliberate fault, with what a
correct client must do about it and the RFC that says so.

Pure code: a request (the handshake model's Message) in, the bytes of an answer out. The faults
of a wrong Sec-WebSocket-Accept come from the diagnosis's table of known bugs (`diagnose`), so
every bug `inspect` can name is one `serve` can make, and the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from wsaccept_cli.core.diagnose import WRONG_ACCEPTS, WrongAccept
from wsaccept_cli.core.handshake import Message
from wsaccept_cli.core.keys import GUID, accept_for, key_problems
from wsaccept_cli.core.request_syntax import (
    TOKEN,
    body_problem,
    head_syntax_problem,
    host_problem,
)

REFUSE, ACCEPT = "refuse", "accept"
EITHER = frozenset({REFUSE, ACCEPT})
MUST_REFUSE = frozenset({REFUSE})

# A GUID one slip away (its last digit), which the diagnosis names as a typo.
TYPO_GUID = GUID[:-1] + b"2"
# The key another client might have sent: its accept is valid, for the wrong request.
OTHER_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
UNOFFERED_PROTOCOL = "wsaccept-unoffered"
UNOFFERED_EXTENSION = "x-wsaccept-unoffered"

_ACCEPT_RULE = (
    "RFC 6455 §4.1: the client MUST fail the connection when Sec-WebSocket-Accept is not"
    " base64(SHA-1(key + GUID)) of the key it sent"
)


class Answer:
    """An HTTP response head as the server will write it: each part can be broken on purpose."""

    def __init__(self, key: str) -> None:
        self.version = "HTTP/1.1"
        self.status = 101
        self.reason = "Switching Protocols"
        self.headers: list[tuple[str, str]] = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept_for(key.encode("latin-1")).decode()),
        ]
        self.newline = "\r\n"
        self.body = ""
        self.body_encoding = "latin-1"  # a fault's bytes as they are; a refusal's text in UTF-8

    def set(self, name: str, value: str) -> None:
        """Replace every `name` header with one of `value` (added last if there was none)."""
        self.remove(name)
        self.headers.append((name, value))

    def remove(self, name: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != name.lower()]

    def value(self, name: str) -> str | None:
        found = [v for n, v in self.headers if n.lower() == name.lower()]
        return found[0] if found else None

    def to_bytes(self) -> bytes:
        lines = [f"{self.version} {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        head = self.newline.join([*lines, "", ""]).encode("latin-1")
        return head + self.body.encode(self.body_encoding)


class Offer:
    """What the client's request offered: its key, subprotocols and extension names."""

    def __init__(self, request: Message) -> None:
        keys = request.values("sec-websocket-key")
        self.key = keys[0] if len(keys) == 1 else None
        self.protocols = request.items("sec-websocket-protocol")
        self.extensions = [
            item.split(";")[0].strip().lower() for item in request.items("sec-websocket-extensions")
        ]


class Fault:
    """One deliberate fault: what the server does wrong, what a correct client must do, why."""

    stage = "handshake"  # the frame faults (core/frame_faults.py) come after a correct 101
    section = "§4.1"  # of RFC 6455, where the client's duty is

    def __init__(
        self,
        name: str,
        does: str,
        expect: frozenset[str],
        why: str,
        apply: Callable[[Answer, Offer], None],
        applies: Callable[[Offer], str | None] = lambda offer: None,
    ) -> None:
        self.name = name
        self.does = does
        self.expect = expect
        self.why = why
        self.apply = apply
        self.applies = applies  # None when it applies to this offer, else why it does not

    @property
    def expect_text(self) -> str:
        """`refuse`, `accept` or `either`, as the scoreboard shows it."""
        return "either" if self.expect == EITHER else next(iter(self.expect))


def _wrong_accept(bug: WrongAccept) -> Fault:
    def apply(answer: Answer, offer: Offer) -> None:
        answer.set(
            "Sec-WebSocket-Accept", bug.compute((offer.key or "").encode("latin-1")).decode()
        )

    does = bug.cause.removeprefix("the server ")
    return Fault(bug.name, f"a wrong accept: {does}", MUST_REFUSE, _ACCEPT_RULE, apply)


def _typo(answer: Answer, offer: Offer) -> None:
    key = (offer.key or "").encode("latin-1")
    answer.set(
        "Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key + TYPO_GUID).digest()).decode()
    )


def _other_key(answer: Answer, offer: Offer) -> None:
    answer.set("Sec-WebSocket-Accept", accept_for(OTHER_KEY).decode())


def _two_accepts(answer: Answer, offer: Offer) -> None:
    accept = answer.value("Sec-WebSocket-Accept") or ""
    answer.headers.append(("Sec-WebSocket-Accept", accept))


def _http10(answer: Answer, offer: Offer) -> None:
    answer.version = "HTTP/1.0"


def _status_200(answer: Answer, offer: Offer) -> None:
    answer.status, answer.reason = 200, "OK"
    answer.headers.append(("Content-Length", "0"))  # an empty body: no client waits for more


def _protocol_missing(answer: Answer, offer: Offer) -> None:
    answer.remove("Sec-WebSocket-Protocol")


def _offered_no_protocol(offer: Offer) -> str | None:
    return None if offer.protocols else "the client offered no subprotocol"


def _bare_lf(answer: Answer, offer: Offer) -> None:
    answer.newline = "\n"


def _setter(name: str, value: str) -> Callable[[Answer, Offer], None]:
    def apply(answer: Answer, offer: Offer) -> None:
        answer.set(name, value)

    return apply


def _remover(name: str) -> Callable[[Answer, Offer], None]:
    def apply(answer: Answer, offer: Offer) -> None:
        answer.remove(name)

    return apply


FAULTS: tuple[Fault, ...] = (
    *(_wrong_accept(bug) for bug in WRONG_ACCEPTS),
    Fault(
        "accept-guid-typo",
        "a wrong accept: the GUID is mistyped (its last digit is '2')",
        MUST_REFUSE,
        _ACCEPT_RULE,
        _typo,
    ),
    Fault(
        "accept-other-key",
        "a wrong accept: the accept of another key (the RFC's example key)",
        MUST_REFUSE,
        _ACCEPT_RULE,
        _other_key,
    ),
    Fault(
        "no-accept",
        "no Sec-WebSocket-Accept header",
        MUST_REFUSE,
        "RFC 6455 §4.1: the client MUST fail the connection when the response lacks"
        " Sec-WebSocket-Accept",
        _remover("Sec-WebSocket-Accept"),
    ),
    Fault(
        "two-accepts",
        "Sec-WebSocket-Accept twice (both right)",
        MUST_REFUSE,
        "RFC 6455 §11.3.3: Sec-WebSocket-Accept MUST NOT appear more than once in a response;"
        " §4.1: the value must be the one accept",
        _two_accepts,
    ),
    Fault(
        "no-upgrade",
        "no Upgrade header",
        MUST_REFUSE,
        "RFC 6455 §4.1: the client MUST fail the connection when the response lacks"
        " Upgrade: websocket",
        _remover("Upgrade"),
    ),
    Fault(
        "no-connection",
        "no Connection header",
        MUST_REFUSE,
        "RFC 6455 §4.1: the client MUST fail the connection when the response lacks"
        " Connection: Upgrade",
        _remover("Connection"),
    ),
    Fault(
        "upgrade-token-list",
        "Upgrade: websocket, h2c (a list, not the one token)",
        MUST_REFUSE,
        "RFC 6455 §4.1: Upgrade must be a case-insensitive match for 'websocket', or the client"
        " MUST fail the connection",
        _setter("Upgrade", "websocket, h2c"),
    ),
    Fault(
        "status-200",
        "status 200 OK with the WebSocket headers",
        MUST_REFUSE,
        "RFC 6455 §4.1: any status other than 101 is handled as HTTP; the connection is not a"
        " WebSocket",
        _status_200,
    ),
    Fault(
        "http10-101",
        "HTTP/1.0 101 (HTTP/1.0 has no protocol switch)",
        EITHER,
        "RFC 6455 §4.2.2: the server MUST answer HTTP/1.1 101, but the client's checks of §4.1"
        " leave the version out, so a client may accept (Chromium, Node ws, aiohttp do); a"
        " strict one refuses (websockets)",
        _http10,
    ),
    Fault(
        "protocol-not-offered",
        f"Sec-WebSocket-Protocol: {UNOFFERED_PROTOCOL}, which the client did not offer",
        MUST_REFUSE,
        "RFC 6455 §4.1: a subprotocol that was not in the client's offer MUST fail the connection",
        _setter("Sec-WebSocket-Protocol", UNOFFERED_PROTOCOL),
    ),
    Fault(
        "protocol-missing",
        "no Sec-WebSocket-Protocol although the client offered some",
        EITHER,
        "RFC 6455 §4.2.2: the server may select none of the offered subprotocols, so a client"
        " may accept; browsers refuse (WHATWG Fetch, 'establish a WebSocket connection')",
        _protocol_missing,
        _offered_no_protocol,
    ),
    Fault(
        "extension-not-offered",
        f"Sec-WebSocket-Extensions: {UNOFFERED_EXTENSION}, which the client did not offer",
        MUST_REFUSE,
        "RFC 6455 §4.1 and §9.1: an extension the client did not offer MUST fail the connection",
        _setter("Sec-WebSocket-Extensions", UNOFFERED_EXTENSION),
    ),
    Fault(
        "deflate-bad-params",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7 (8 to 15 are"
        " valid)",
        MUST_REFUSE,
        "RFC 7692 §7.1.2.1 and §5: an invalid extension parameter, or an extension not offered,"
        " MUST fail the connection",
        _setter("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=7"),
    ),
    Fault(
        "bare-lf",
        "every line of the head ends in LF alone, not CR LF",
        EITHER,
        "RFC 9112 §2.2: a recipient MAY recognize a bare LF as a line terminator, so a client"
        " may accept; a strict one refuses",
        _bare_lf,
    ),
)

BY_NAME = {fault.name: fault for fault in FAULTS}


def request_refusal(request: Message, head: bytes | None = None) -> Answer | None:
    """The 400 or 426 a correct server gives a request it cannot upgrade, or None to upgrade.
    With the head's bytes, their strict HTTP/1.1 syntax is checked first (core.request_syntax):
    the reference server refuses what a lenient one might read differently."""
    problems = _request_problem(request, head)
    if problems is None and request.values("sec-websocket-version") == ["13"]:
        return None
    answer = Answer("")
    answer.headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    if problems is None:
        answer.status, answer.reason = 426, "Upgrade Required"
        answer.headers.append(("Sec-WebSocket-Version", "13"))
        problems = "Sec-WebSocket-Version is not 13"
    else:
        answer.status, answer.reason = 400, "Bad Request"
    answer.body = f"not a WebSocket handshake (RFC 6455 §4.1): {problems}\n"
    answer.body_encoding = "utf-8"
    answer.headers.append(("Content-Length", str(len(answer.body.encode("utf-8")))))
    return answer


def _request_problem(request: Message, head: bytes | None) -> str | None:
    syntax = head_syntax_problem(head) if head is not None else None
    keys = request.values("sec-websocket-key")
    return (
        syntax
        or _line_problem(request)
        or host_problem(request.values("host"))
        or body_problem(request.values("content-length"), request.values("transfer-encoding"))
        or (
            "no 'websocket' token in Upgrade"
            if "websocket" not in request.tokens("upgrade")
            else "no 'upgrade' token in Connection"
            if "upgrade" not in request.tokens("connection")
            else "not exactly one Sec-WebSocket-Key"
            if len(keys) != 1
            else "the Sec-WebSocket-Key does not decode to 16 bytes"
            if key_problems(keys[0].encode("latin-1"))
            else _protocols_problem(request.items("sec-websocket-protocol"))
        )
    )


def _protocols_problem(protocols: list[str]) -> str | None:
    """RFC 6455 §4.1: the subprotocols offered are tokens, each once."""
    if not all(TOKEN.fullmatch(protocol) for protocol in protocols):
        return "a subprotocol offered is not a token (RFC 6455 §4.1)"
    if len(set(protocols)) != len(protocols):
        return "a subprotocol is offered twice (RFC 6455 §4.1)"
    return None


def _line_problem(request: Message) -> str | None:
    """The request line: GET, HTTP/1.1 or a later 1.x, a path or an absolute URI without a
    fragment (RFC 6455 §3, §4.1; RFC 9112 §3.2)."""
    target = request.target or ""
    if request.method != "GET":
        return "the method is not GET"
    if request.version is None or not request.version.startswith("1.") or request.version < "1.1":
        return "the HTTP version is not 1.1 or a later 1.x (RFC 6455 §4.1)"
    if not target.startswith("/") and target.partition("://")[0].lower() not in _SCHEMES:
        return "the request target is neither a path nor an absolute URI (RFC 9112 §3.2)"
    if "#" in target:
        return "the request target has a fragment (RFC 6455 §3)"
    return None


_SCHEMES = ("http", "https", "ws", "wss")


def answer_for(request: Message, fault: Fault | None) -> tuple[Answer, str | None]:
    """The answer to a valid WebSocket request: a correct 101 (choosing the first offered
    subprotocol, no extension) broken by `fault`; and why the fault did not apply, if it did
    not (then the answer is correct)."""
    offer = Offer(request)
    answer = Answer(offer.key or "")
    if offer.protocols:
        answer.set("Sec-WebSocket-Protocol", offer.protocols[0])
    if fault is None:
        return answer, None
    skipped = fault.applies(offer)
    if skipped is None:
        right = answer.value("Sec-WebSocket-Accept")
        fault.apply(answer, offer)
        if fault.name.startswith("accept-") and answer.value("Sec-WebSocket-Accept") == right:
            # The URL-safe alphabet differs only where the accept has '+' or '/': for four keys
            # in ten it has neither, and the "wrong" accept is the right one.
            return answer_for(request, None)[0], "for this key the fault makes the right accept"
    return answer, skipped

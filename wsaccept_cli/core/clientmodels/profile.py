"""What every client model shares: the request's offer, a prediction, and a client profile.

A profile predicts one client from the raw response head (bytes, interim responses included)
and the offer its request made: it runs the client's HTTP/1.1 parser (`httpgrammar.Grammar`),
then the client's WebSocket checks in the client's order (`wschecks`), and stops at the first
refusal. Over HTTP/2 (RFC 8441) a profile that speaks it checks the fields of the HEADERS frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsaccept_cli.core.clientmodels.frames import FrameReader
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError, parse_head
from wsaccept_cli.core.keys import accept_for


class ClientVerdict:
    """One client's predicted outcome: whether it accepts, and if not, why (one phrase)."""

    __slots__ = ("accepts", "client", "reason")

    def __init__(self, client: str, accepts: bool, reason: str | None) -> None:
        self.client = client
        self.accepts = accepts
        self.reason = reason

    def as_dict(self) -> dict[str, Any]:
        return {"client": self.client, "accepts": self.accepts, "reason": self.reason}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientVerdict) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.client, self.accepts, self.reason))

    def __repr__(self) -> str:
        return f"ClientVerdict({self.client!r}, {self.accepts!r}, {self.reason!r})"


class Offer:
    """What the request asked for, as the checks need it: the key (None when there was not
    exactly one), the subprotocols offered (as written, in order), whether it offered
    extensions, whether it was an HTTP/2 extended CONNECT (RFC 8441), and its request target when
    known (libwebsockets keeps its own path in the table the response's fields fill)."""

    __slots__ = ("extensions", "http2", "key", "protocols", "target")

    def __init__(
        self,
        key: str | None,
        protocols: tuple[str, ...] = (),
        extensions: bool = True,
        *,
        http2: bool = False,
        target: str | None = None,
    ) -> None:
        self.key = key
        self.protocols = protocols
        self.extensions = extensions
        self.http2 = http2
        self.target = target


class Facts:
    """What the WebSocket checks look at: the offer, and the response's fields as this client's
    parser saw them."""

    def __init__(self, offer: Offer, response: Head) -> None:
        self.response = response
        self.offer = offer
        key = offer.key
        self.expected = accept_for(key.encode("latin-1")).decode() if key is not None else None
        self.offered = list(offer.protocols)
        self.extensions_offered = offer.extensions

    def joined(self, name: str) -> str | None:
        """The values of a field joined with ', ' as most HTTP stacks merge repeated fields
        (Node's http, Firefox's nsHttpHeaderArray), or None when it is absent."""
        values = self.response.values(name)
        return ", ".join(values) if values else None

    def first(self, name: str) -> str | None:
        """The first value of a field (aiohttp's CIMultiDict.get), or None."""
        values = self.response.values(name)
        return values[0] if values else None


Check = Callable[[Facts], "str | None"]  # the reason a client refuses, or None


class Profile:
    """One client: its name, the source its model cites, its HTTP/1.1 grammar, its WebSocket
    checks in order, whether its usual request offers permessage-deflate, and its checks over
    HTTP/2 (None when it does not open WebSockets over HTTP/2)."""

    def __init__(
        self,
        name: str,
        source: str,
        grammar: Grammar,
        checks: tuple[Check, ...],
        *,
        offers_extensions: bool = True,
        h2_checks: tuple[Check, ...] | None = None,
        h2_source: str | None = None,
        parse: Callable[[bytes], Head] | None = None,
        reader: FrameReader | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.grammar = grammar
        self.checks = checks
        self.offers_extensions = offers_extensions
        self.h2_checks = h2_checks
        self.h2_source = h2_source
        self.parse = parse
        """A parser of the client's own, for a client whose HTTP/1.1 parser no `Grammar`
        describes (it raises RefusalError); the grammar then only gives its limits."""
        self.reader = reader
        """What it does with the bytes after its head before its first message goes out
        (`frames.FrameReader`); None for a client that reads none of them before then."""

    def predict(self, head: bytes, offer: Offer, after: bytes = b"") -> ClientVerdict:
        """This client's verdict on a raw HTTP/1.1 response head (interim responses and all)
        and the bytes that came right after it in the same read (`after`): the client reads
        `head + after`, its own parser decides where the head ends, and what follows is, to
        it, the start of the WebSocket stream (`frames`)."""
        data = head + after if after else head
        try:
            response = self.parse_response(data, offer)
        except RefusalError as refusal:
            return ClientVerdict(self.name, False, str(refusal))
        verdict = self.run(self.checks, Facts(offer, response))
        end = response.end
        if verdict.accepts and self.reader is not None and end is not None and end < len(data):
            rest = self.reader.within_read(data, end)
            problem = self.reader.read(rest, deflate=_deflate_negotiated(response))
            if problem is not None:
                return ClientVerdict(self.name, False, problem)
        return verdict

    def parse_response(self, data: bytes, offer: Offer) -> Head:
        """The final response as this client's HTTP/1.1 parser reads it, or RefusalError."""
        return self.parse(data) if self.parse else parse_head(data, self.grammar)

    def predict_h2(self, response: Head, offer: Offer) -> ClientVerdict | None:
        """This client's verdict on an HTTP/2 response's fields (`:status` among them), or None
        when it does not speak RFC 8441."""
        if self.h2_checks is None:
            return None
        return self.run(self.h2_checks, Facts(offer, response))

    def run(self, checks: tuple[Check, ...], facts: Facts) -> ClientVerdict:
        for check in checks:
            reason = check(facts)
            if reason is not None:
                return ClientVerdict(self.name, False, reason)
        return ClientVerdict(self.name, True, None)


def _deflate_negotiated(response: Head) -> bool:
    """Whether the (accepted) response agreed permessage-deflate (RFC 7692)."""
    return any(
        item.split(";", 1)[0].strip(" \t").lower() == "permessage-deflate"
        for item in response.items("sec-websocket-extensions")
    )

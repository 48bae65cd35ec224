"""Which well-known WebSocket clients would accept a server's answer, and why the others refuse.

RFC 6455 leaves room, and real clients differ in what they check: Chromium and Node ws fail a
connection when a subprotocol was offered and none chosen, aiohttp wants `Connection: upgrade`
and nothing else, websockets wants HTTP/1.1 and CR LF, and curl checks only the status. This
module is one table: each client with its checks in the order the client makes them, each check
written from the client's source (cited at the client). The prediction answers "would this
client, making this request (its subprotocol offer) with its own usual extension offer, accept
this response?"; `tests/test_clients.py` runs every client here against a corpus of responses
(`tests/client_corpus.py`) and fails on any difference from what they actually do.

WebSockets over HTTP/2 (RFC 8441: an extended CONNECT, a request with a `:protocol`
pseudo-header) have their own table, `H2_CLIENTS`: the browsers, which open a WebSocket on the
page's HTTP/2 connection when the server allows it, and there want the status 200 exactly (not
any 2xx) and check the subprotocol and extensions as they do over HTTP/1.1. Node ws, websockets,
aiohttp and curl do not implement RFC 8441 (they always open an HTTP/1.1 connection), so no
prediction is made for them there. `tests/test_browser_h2.py` compares the table with headless
Chromium and Firefox ESR.

Pure code: a Handshake in, one ClientVerdict per client out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsaccept_cli.core.extensions import DEFLATE, Extension, deflate_problem, parse_extensions
from wsaccept_cli.core.handshake import Handshake, Message, split_list
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

    def __repr__(self) -> str:
        return f"ClientVerdict({self.client!r}, {self.accepts!r}, {self.reason!r})"


class Facts:
    """What the checks look at, taken once from a request and its response."""

    def __init__(self, request: Message, response: Message) -> None:
        self.response = response
        keys = request.values("sec-websocket-key")
        self.expected = accept_for(keys[0].encode("latin-1")).decode() if len(keys) == 1 else None
        self.offered = request.items("sec-websocket-protocol")
        self.extensions_offered = bool(request.values("sec-websocket-extensions"))
        self._extensions: dict[bool, list[Extension] | None] = {}

    def extensions(self, *, empty_parameters: bool = False) -> list[Extension] | None:
        """The response's extensions, parsed once for all the clients (None if malformed)."""
        if False not in self._extensions:
            values = self.response.values("sec-websocket-extensions")
            self._extensions[False] = parse_extensions(values)
        if empty_parameters and self._extensions[False] is None:  # parsed strictly, if it can be
            values = self.response.values("sec-websocket-extensions")
            return parse_extensions(values, empty_parameters=True)
        return self._extensions[False]

    def joined(self, name: str) -> str | None:
        """The values of a header joined with ', ' as most HTTP stacks merge repeated headers
        (Node's http, Firefox's nsHttpHeaderArray), or None when it is absent."""
        values = self.response.values(name)
        return ", ".join(values) if values else None

    def first(self, name: str) -> str | None:
        """The first value of a header (aiohttp's CIMultiDict.get), or None."""
        values = self.response.values(name)
        return values[0] if values else None


Check = Callable[[Facts], "str | None"]  # the reason a client refuses, or None


# The checks, each named for what it asks; the clients below list the ones they make. ---------


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def status_200(facts: Facts) -> str | None:
    """Over HTTP/2 the `:status` pseudo-header, exactly 200 (RFC 8441 §5 allows any 2xx)."""
    values = facts.response.values(":status")
    status = values[0] if values else str(facts.response.status)
    return None if status == "200" else f"status {status}, not 200"


def http_1_1(facts: Facts) -> str | None:
    version = facts.response.version
    return None if version in (None, "1.1") else f"HTTP/{version}, not HTTP/1.1"


def crlf(facts: Facts) -> str | None:
    """Lines must end in CR LF (websockets' http11.parse_line; llhttp, Node's HTTP parser, in
    its default strict mode)."""
    return "bare LF line endings" if facts.response.bare_lf else None


def upgrade_is_websocket(facts: Facts) -> str | None:
    """One Upgrade token, `websocket` in any case (repeated headers count as more)."""
    tokens = facts.response.tokens("upgrade")
    return None if tokens == ["websocket"] else _upgrade_reason(facts)


def upgrade_joined_is_websocket(facts: Facts) -> str | None:
    """The merged Upgrade value, lowercased, must be `websocket`."""
    value = facts.joined("upgrade")
    return None if value is not None and value.lower() == "websocket" else _upgrade_reason(facts)


def upgrade_first_is_websocket(facts: Facts) -> str | None:
    value = facts.first("upgrade")
    return None if value is not None and value.lower() == "websocket" else _upgrade_reason(facts)


def upgrade_has_websocket(facts: Facts) -> str | None:
    return None if "websocket" in facts.response.tokens("upgrade") else _upgrade_reason(facts)


def _upgrade_reason(facts: Facts) -> str:
    values = facts.response.values("upgrade")
    return f"Upgrade is {', '.join(values)!r}, not websocket" if values else "no Upgrade"


def connection_has_upgrade(facts: Facts) -> str | None:
    return None if "upgrade" in facts.response.tokens("connection") else _connection_reason(facts)


def connection_first_is_upgrade(facts: Facts) -> str | None:
    value = facts.first("connection")
    ok = value is not None and value.lower() == "upgrade"
    return None if ok else _connection_reason(facts)


def _connection_reason(facts: Facts) -> str:
    values = facts.response.values("connection")
    return f"Connection is {', '.join(values)!r}, not upgrade" if values else "no Connection"


def node_upgrade_event(facts: Facts) -> str | None:
    """Node's http client hands a 101 to ws (the 'upgrade' event) only if llhttp saw an
    Upgrade header and a Connection with the token upgrade; otherwise ws gets a 'response'."""
    if not facts.response.values("upgrade"):
        return "no Upgrade"
    return connection_has_upgrade(facts)


def accept_single(facts: Facts) -> str | None:
    """Exactly one Sec-WebSocket-Accept, equal to the one computed from the key."""
    values = facts.response.values("sec-websocket-accept")
    if len(values) > 1:
        return "Sec-WebSocket-Accept more than once"
    return _accept_reason(values[0] if values else None, facts)


def accept_joined(facts: Facts) -> str | None:
    return _accept_reason(facts.joined("sec-websocket-accept"), facts)


def accept_first(facts: Facts) -> str | None:
    return _accept_reason(facts.first("sec-websocket-accept"), facts)


def _accept_reason(value: str | None, facts: Facts) -> str | None:
    if value is None:
        return "no Sec-WebSocket-Accept"
    if facts.expected is None or value == facts.expected:  # no key to check it against
        return None
    return "wrong Sec-WebSocket-Accept"


def protocol_strict(facts: Facts) -> str | None:
    """One subprotocol, one of those offered (case-sensitive); none chosen when some were
    offered fails too (WHATWG WebSocket standard, RFC 6455 §4.1 item 6)."""
    values = facts.response.values("sec-websocket-protocol")
    items = split_list(values) if values else []
    if not items:
        return "no subprotocol chosen" if facts.offered else None
    if len(items) > 1:
        return "more than one subprotocol"
    return _protocol_offered(items[0], facts)


def protocol_joined(facts: Facts) -> str | None:
    """The merged value must be one offered subprotocol; none chosen when offered fails."""
    value = facts.joined("sec-websocket-protocol")
    if value is None:
        return "no subprotocol chosen" if facts.offered else None
    return _protocol_offered(value, facts)


def protocol_if_chosen(facts: Facts) -> str | None:
    """A chosen subprotocol must be one, and offered; choosing none is fine."""
    values = facts.response.values("sec-websocket-protocol")
    if not values:
        return None
    items = split_list(values)
    if len(items) > 1:
        return "more than one subprotocol"
    return _protocol_offered(items[0], facts)


def protocol_if_offered(facts: Facts) -> str | None:
    """Only when subprotocols were offered, the merged value must be one of them; choosing none,
    or one when none was offered, is fine."""
    value = facts.joined("sec-websocket-protocol")
    if value is None or not facts.offered:
        return None
    return _protocol_offered(value, facts)


def _protocol_offered(chosen: str, facts: Facts) -> str | None:
    if not facts.offered:
        return "a subprotocol that was not offered"
    return None if chosen in facts.offered else "a subprotocol that was not offered"


def extensions_strict(facts: Facts, *, empty_parameters: bool = False) -> str | None:
    """Only permessage-deflate, once, with parameters valid in a response (RFC 7692 §7)."""
    values = facts.response.values("sec-websocket-extensions")
    if not values:
        return None
    extensions = facts.extensions(empty_parameters=empty_parameters)
    if extensions is None:
        return "malformed Sec-WebSocket-Extensions"
    names = [extension.name for extension in extensions]
    if any(name != DEFLATE for name in names):
        return "an extension that was not offered"
    if len(names) > 1:
        return f"{DEFLATE} more than once"
    if deflate_problem(extensions[0].parameters, response=True) is not None:
        return f"invalid {DEFLATE} parameters"
    return None


def extensions_firefox(facts: Facts) -> str | None:
    """As strict, but an empty parameter (`permessage-deflate;`) is skipped."""
    return extensions_strict(facts, empty_parameters=True)


def extensions_node(facts: Facts) -> str | None:
    """ws (lib/websocket.js, lib/permessage-deflate.js): the merged value parsed; only
    permessage-deflate, each of its responses' parameters valid, the first one used."""
    values = facts.response.values("sec-websocket-extensions")
    if not values:
        return None
    extensions = facts.extensions()  # the same items as the merged value's
    if extensions is None or not extensions:
        return "malformed Sec-WebSocket-Extensions"
    if any(extension.name != DEFLATE for extension in extensions):
        return "an extension that was not offered"
    for extension in extensions:
        if deflate_problem(extension.parameters, response=True) is not None:
            return f"invalid {DEFLATE} parameters"
    return None


def curl_keeps_connection(facts: Facts) -> str | None:
    tokens = facts.response.tokens("connection")
    if "close" in tokens:
        return "Connection: close"
    if facts.response.version == "1.0" and "keep-alive" not in tokens:
        return "HTTP/1.0 closes the connection"
    return None


def no_extensions(facts: Facts) -> str | None:
    """curl offers no extension and fails any in the response. A response to a request that
    offered some (a browser's, say) is not held against it: to curl's own request the server
    would have answered without them."""
    if not facts.response.values("sec-websocket-extensions"):
        return None
    if facts.extensions_offered:
        return None
    return "an extension that was not offered"


class Client:
    """A client as the table lists it: its name, where its checks come from, the checks."""

    def __init__(
        self, name: str, source: str, checks: tuple[Check, ...], *, offers_extensions: bool = True
    ) -> None:
        self.name = name
        self.source = source
        self.checks = checks
        self.offers_extensions = offers_extensions
        """Whether its usual request offers permessage-deflate (a server answers that offer)."""

    def verdict(self, facts: Facts) -> ClientVerdict:
        for check in self.checks:
            reason = check(facts)
            if reason is not None:
                return ClientVerdict(self.name, False, reason)
        return ClientVerdict(self.name, True, None)


CLIENTS: tuple[Client, ...] = (
    # chromium/src net/websockets/websocket_basic_handshake_stream.cc (ValidateUpgradeResponse,
    # ValidateUpgrade, ValidateConnection, ValidateSecWebSocketAccept), and
    # websocket_handshake_stream_base.cc (ValidateSubProtocol, ValidateExtensions) with
    # websocket_extension_parser.cc and websocket_deflate_parameters.cc. Headers are split at
    # commas (net/http/http_response_headers.cc), so `websocket, h2c` is two Upgrade values.
    # It always offers `permessage-deflate; client_max_window_bits`.
    Client(
        "Chromium",
        "net/websockets/websocket_basic_handshake_stream.cc",
        (
            status_101,
            upgrade_is_websocket,
            connection_has_upgrade,
            accept_single,
            protocol_strict,
            extensions_strict,
        ),
    ),
    # gecko netwerk/protocol/websocket/WebSocketChannel.cpp (WebSocketChannel::OnStartRequest:
    # Upgrade and Connection are token lists, the accept compared as merged by
    # netwerk/protocol/http/nsHttpHeaderArray.cpp; HandleExtensions, ParseWebSocketExtension),
    # The subprotocol is checked only when the server chose one, and only against an offer
    # (OnStartRequest: "subprotocol not found - none returned" is logged, not failed). It offers
    # `permessage-deflate`. Observed (tests/test_clients.py): a 101 in HTTP/1.0 is refused,
    # an empty extension parameter skipped.
    Client(
        "Firefox",
        "netwerk/protocol/websocket/WebSocketChannel.cpp",
        (
            status_101,
            http_1_1,
            upgrade_has_websocket,
            connection_has_upgrade,
            accept_joined,
            protocol_if_offered,
            extensions_firefox,
        ),
    ),
    # websockets/ws lib/websocket.js (initAsClient: req.on('upgrade')), lib/extension.js,
    # lib/permessage-deflate.js (normalizeParams, acceptAsClient); Node's lib/_http_client.js
    # merges repeated headers with ', ' and emits 'upgrade' only for a 101 llhttp flags as one.
    # It offers `permessage-deflate; client_max_window_bits` by default.
    Client(
        "Node ws",
        "lib/websocket.js",
        (
            status_101,
            crlf,
            node_upgrade_event,
            upgrade_joined_is_websocket,
            accept_joined,
            protocol_joined,
            extensions_node,
        ),
    ),
    # python-websockets src/websockets/client.py (ClientProtocol.process_response,
    # process_extensions, process_subprotocol), src/websockets/http11.py (Response.parse:
    # HTTP/1.1 and CR LF only), src/websockets/extensions/permessage_deflate.py
    # (_extract_parameters, ClientPerMessageDeflateFactory.process_response_params). It offers
    # `permessage-deflate; client_max_window_bits` by default.
    Client(
        "websockets",
        "src/websockets/client.py",
        (
            status_101,
            crlf,
            http_1_1,
            connection_has_upgrade,
            upgrade_is_websocket,
            accept_single,
            extensions_strict,
            protocol_if_chosen,
        ),
    ),
    # aiohttp aiohttp/client.py (ClientSession._ws_connect: the first Upgrade and Connection
    # values compared whole, the first accept; a subprotocol is looked for, never required).
    # ws_connect's default compress=0 offers no extension and ignores Sec-WebSocket-Extensions
    # (ws_ext_parse in aiohttp/_websocket/helpers.py runs only with compress).
    Client(
        "aiohttp",
        "aiohttp/client.py",
        (status_101, upgrade_first_is_websocket, connection_first_is_upgrade, accept_first),
        offers_extensions=False,
    ),
    # curl lib/http.c (http_on_101_upgrade) and lib/ws.c (Curl_ws_accept): a 101 switches to
    # WebSocket; the accept, Upgrade and subprotocol are not checked (ws.c has the RFC's
    # sentences as comments, with no code under them). A `Connection: close`, or HTTP/1.0
    # without keep-alive, marks the connection to be closed after the response (lib/http.c,
    # connclose), which ends the WebSocket before it is used. curl offers no extension, and the
    # libcurl 8.23 that curl_cffi bundles fails any Sec-WebSocket-Extensions ("[WS] invalid
    # Sec-WebSocket-Extensions response").
    Client(
        "curl",
        "lib/ws.c",
        (status_101, curl_keeps_connection, no_extensions),
        offers_extensions=False,
    ),
)


H2_CLIENTS: tuple[Client, ...] = (
    # chromium/src net/websockets/websocket_stream.cc (WebSocketStreamRequestImpl::
    # OnResponseStarted: over HTTP/2 only `response_code == HTTP_OK` goes on to the upgrade,
    # any other status fails the handshake as an unexpected response code), then
    # websocket_http2_handshake_stream.cc (ValidateUpgradeResponse: ValidateSubProtocol,
    # ValidateExtensions, the same checks as over HTTP/1.1, in websocket_handshake_stream_base.cc).
    # No Upgrade, Connection or accept: HTTP/2 has none.
    Client(
        "Chromium",
        "net/websockets/websocket_http2_handshake_stream.cc",
        (status_200, protocol_strict, extensions_strict),
    ),
    # gecko netwerk/protocol/websocket/WebSocketChannel.cpp (OnStartRequest: a response in
    # HTTP/2 must have the status 200, `(versionMajor == 2 && status != 200)` refuses; Upgrade,
    # Connection and the accept are checked "only on http/1.x websocket upgrades"; then the same
    # subprotocol check and HandleExtensions as over HTTP/1.1).
    Client(
        "Firefox",
        "netwerk/protocol/websocket/WebSocketChannel.cpp",
        (status_200, protocol_if_offered, extensions_firefox),
    ),
)


def predict_clients(handshake: Handshake) -> tuple[ClientVerdict, ...]:
    """Each client's verdict on the handshake's response; none without a request and a
    response with a status (nothing to predict from). An HTTP/2 extended CONNECT (RFC 8441)
    is predicted for the clients that open WebSockets over HTTP/2 only (`H2_CLIENTS`); one over
    HTTP/3 (RFC 9220) for none."""
    request, response = handshake.request, handshake.response
    if request is None or response is None:
        return ()
    if request.values(":protocol"):
        if response.status is None and not response.values(":status"):
            return ()
        if any((m.version or "").startswith("3") for m in (request, response)):
            return ()  # HTTP/3 (RFC 9220): explained, not checked (core.rules_h2), nor predicted
        facts = Facts(request, response)
        return tuple(client.verdict(facts) for client in H2_CLIENTS)
    if response.status is None:
        return ()
    facts = Facts(request, response)
    return tuple(client.verdict(facts) for client in CLIENTS)


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

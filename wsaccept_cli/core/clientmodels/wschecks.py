"""The WebSocket checks clients make after their HTTP parser, each named for what it asks.

A check takes the `Facts` of one response (as one client's parser saw it) and returns the reason
the client refuses, or None. The client modules list the checks they make, in their order, and
cite the source each one models.
"""

from __future__ import annotations

from typing import cast

from wsaccept_cli.core.clientmodels.headerlists import (
    ExtensionItem,
    Item,
    extension_item,
    js_number,
    protocol_item,
    rfc7230_values,
    token_item,
    ws_extensions,
)
from wsaccept_cli.core.clientmodels.profile import Facts
from wsaccept_cli.core.extensions import DEFLATE, Extension, deflate_problem, parse_extensions
from wsaccept_cli.core.handshake import split_list
from wsaccept_cli.core.wording import quoted


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


def upgrade_is_websocket(facts: Facts) -> str | None:
    """One Upgrade token, `websocket` in any case (repeated fields count as more)."""
    tokens = facts.response.tokens("upgrade")
    return None if tokens == ["websocket"] else upgrade_reason(facts)


def upgrade_joined_is_websocket(facts: Facts) -> str | None:
    """The merged Upgrade value, lowercased, must be `websocket`."""
    value = facts.joined("upgrade")
    return None if value is not None and value.lower() == "websocket" else upgrade_reason(facts)


def upgrade_first_is_websocket(facts: Facts) -> str | None:
    value = facts.first("upgrade")
    return None if value is not None and value.lower() == "websocket" else upgrade_reason(facts)


def upgrade_has_websocket(facts: Facts) -> str | None:
    return None if "websocket" in facts.response.tokens("upgrade") else upgrade_reason(facts)


def upgrade_reason(facts: Facts) -> str:
    values = facts.response.values("upgrade")
    return f"Upgrade is {quoted(', '.join(values))}, not websocket" if values else "no Upgrade"


def connection_has_upgrade(facts: Facts) -> str | None:
    return None if "upgrade" in facts.response.tokens("connection") else connection_reason(facts)


def connection_first_is_upgrade(facts: Facts) -> str | None:
    value = facts.first("connection")
    ok = value is not None and value.lower() == "upgrade"
    return None if ok else connection_reason(facts)


def connection_reason(facts: Facts) -> str:
    values = facts.response.values("connection")
    return f"Connection is {quoted(', '.join(values))}, not upgrade" if values else "no Connection"


def accept_single(facts: Facts) -> str | None:
    """Exactly one Sec-WebSocket-Accept, equal to the one computed from the key."""
    values = facts.response.values("sec-websocket-accept")
    if len(values) > 1:
        return "Sec-WebSocket-Accept more than once"
    return accept_reason(values[0] if values else None, facts)


def accept_joined(facts: Facts) -> str | None:
    return accept_reason(facts.joined("sec-websocket-accept"), facts)


def accept_first(facts: Facts) -> str | None:
    return accept_reason(facts.first("sec-websocket-accept"), facts)


def accept_reason(value: str | None, facts: Facts) -> str | None:
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
    return protocol_offered(items[0], facts)


def protocol_joined(facts: Facts) -> str | None:
    """The merged value must be one offered subprotocol; none chosen when offered fails."""
    value = facts.joined("sec-websocket-protocol")
    if value is None:
        return "no subprotocol chosen" if facts.offered else None
    return protocol_offered(value, facts)


def protocol_if_chosen(facts: Facts) -> str | None:
    """A chosen subprotocol must be one, and offered; choosing none is fine."""
    values = facts.response.values("sec-websocket-protocol")
    if not values:
        return None
    items = split_list(values)
    if len(items) > 1:
        return "more than one subprotocol"
    return protocol_offered(items[0], facts)


def protocol_if_offered(facts: Facts) -> str | None:
    """Only when subprotocols were offered, the merged value must be one of them; choosing none,
    or one when none was offered, is fine."""
    value = facts.joined("sec-websocket-protocol")
    if value is None or not facts.offered:
        return None
    return protocol_offered(value, facts)


def protocol_offered(chosen: str, facts: Facts) -> str | None:
    if not facts.offered:
        return "a subprotocol that was not offered"
    return None if chosen in facts.offered else "a subprotocol that was not offered"


def extensions(facts: Facts, *, empty_parameters: bool = False) -> list[Extension] | None:
    return parse_extensions(
        facts.response.values("sec-websocket-extensions"), empty_parameters=empty_parameters
    )


def extensions_strict(facts: Facts, *, empty_parameters: bool = False) -> str | None:
    """Only permessage-deflate, once, with parameters valid in a response (RFC 7692 §7)."""
    values = facts.response.values("sec-websocket-extensions")
    if not values:
        return None
    parsed = extensions(facts, empty_parameters=empty_parameters)
    if parsed is None:
        return "malformed Sec-WebSocket-Extensions"
    names = [extension.name for extension in parsed]
    if any(name != DEFLATE for name in names):
        return "an extension that was not offered"
    if len(names) > 1:
        return f"{DEFLATE} more than once"
    if deflate_problem(parsed[0].parameters, response=True) is not None:
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
    parsed = extensions(facts)
    if parsed is None or not parsed:
        return "malformed Sec-WebSocket-Extensions"
    if any(extension.name != DEFLATE for extension in parsed):
        return "an extension that was not offered"
    for extension in parsed:
        if deflate_problem(extension.parameters, response=True) is not None:
            return f"invalid {DEFLATE} parameters"
    return None


def no_extensions(facts: Facts) -> str | None:
    """A client that offers no extension fails any in the response. A response to a request
    that offered some (a browser's, say) is not held against it: to the client's own request the
    server would have answered without them."""
    if not facts.response.values("sec-websocket-extensions"):
        return None
    if facts.extensions_offered:
        return None
    return "an extension that was not offered"


# python-websockets (src/websockets/client.py process_response, headers.py) ---------------------


def _rfc7230(facts: Facts, name: str, item: Item) -> list[object] | None:
    return rfc7230_values(facts.response.values(name), item)


def websockets_connection(facts: Facts) -> str | None:
    """The Connection tokens (every value parsed as a list; a malformed one fails) hold
    `upgrade` in any case."""
    tokens = _rfc7230(facts, "connection", token_item)
    if tokens is None:
        return "malformed Connection"
    if any(str(token).lower() == "upgrade" for token in tokens):
        return None
    return connection_reason(facts)


def websockets_upgrade(facts: Facts) -> str | None:
    """Exactly one Upgrade protocol over every value, `websocket` in any case."""
    protocols = _rfc7230(facts, "upgrade", protocol_item)
    if protocols is None:
        return "malformed Upgrade"
    if len(protocols) == 1 and str(protocols[0]).lower() == "websocket":
        return None
    return upgrade_reason(facts)


def websockets_extensions(facts: Facts) -> str | None:
    """process_extensions: every extension, by its exact name, must be a permessage-deflate
    whose parameters `permessage_deflate.py` (_extract_parameters, process_response_params)
    takes, at most once; and Python's zlib must take the client's window bits
    (PerMessageDeflate's compressobj with wbits=-8 raises: raw deflate needs 9 to 15)."""
    values = facts.response.values("sec-websocket-extensions")
    if not values:
        return None
    if not facts.extensions_offered:
        return "an extension that was not offered"
    parsed = rfc7230_values(values, extension_item)
    if parsed is None:
        return "malformed Sec-WebSocket-Extensions"
    for index, item in enumerate(parsed):
        name, parameters = cast("ExtensionItem", item)
        if name != DEFLATE or index or deflate_problem(parameters, response=True, exact=True):
            return "an extension it does not support (or its parameters)"
        if ("client_max_window_bits", "8") in parameters:
            return "client_max_window_bits=8, which zlib cannot deflate with"
    return None


def websockets_subprotocol(facts: Facts) -> str | None:
    """process_subprotocol: the items of every value (empty ones skipped); exactly one, and
    offered (a response choosing one when none was offered fails too)."""
    values = facts.response.values("sec-websocket-protocol")
    if not values:
        return None
    if not facts.offered:
        return "a subprotocol that was not offered"
    items = _rfc7230(facts, "sec-websocket-protocol", token_item)
    if items is None:
        return "malformed Sec-WebSocket-Protocol"
    if len(items) > 1:
        return "more than one subprotocol"
    return protocol_offered(str(items[0]), facts)


# Node ws (lib/websocket.js, lib/extension.js, lib/permessage-deflate.js) ----------------------


def node_extensions(facts: Facts) -> str | None:
    """The merged value parsed by ws's parse(); exactly one extension name, exactly
    `permessage-deflate`; every offer's parameters pass normalizeParams (known names as
    written, one value each, window bits an integer 8 to 15 by JavaScript's Number,
    client_max_window_bits with a value)."""
    value = facts.joined("sec-websocket-extensions")
    if value is None:
        return None
    parsed = ws_extensions(value)
    if parsed is None:
        return "malformed Sec-WebSocket-Extensions"
    if list(parsed) != [DEFLATE]:
        return "an extension that was not offered"
    for offer in parsed[DEFLATE]:
        for key, found in offer.items():
            if len(found) > 1 or not _ws_parameter_ok(key, found[0]):
                return f"invalid {DEFLATE} parameters"
    return None


def _ws_parameter_ok(key: str, value: object) -> bool:
    if key in ("client_no_context_takeover", "server_no_context_takeover"):
        return value is True
    if key in ("client_max_window_bits", "server_max_window_bits"):
        if value is True:
            return False
        number = js_number(str(value))
        return number == int(number) and 8 <= number <= 15 if number == number else False
    return False

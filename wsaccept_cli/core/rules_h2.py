"""The rules of WebSockets over HTTP/2 (RFC 8441 extended CONNECT), checked one by one.

Pure code, like `rules`: the same Findings, and for what HTTP/2 shares with HTTP/1.1 (the
version, the subprotocol and extension syntax, what the server may choose) the very rules of
`rules`, so a probe over HTTP/2, a HAR entry and pasted pseudo-headers are judged alike. What only
HTTP/2 has is here too: the server's SETTINGS (RFC 8441 §3), ALPN (RFC 9113 §3.2), and what a
RST_STREAM or GOAWAY error code means (RFC 9113 §7). HTTP/3 (RFC 9220) works the same way over
QUIC; a capture of it is explained, not checked.

`check_handshake` is the entry point for any captured handshake: extended CONNECT here, anything
else by `rules.check_handshake`.
"""

from __future__ import annotations

from collections.abc import Iterator

from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.rules import (
    FAIL,
    INFO,
    PASS,
    STATUS_MEANINGS,
    WARN,
    Finding,
    HandshakeReport,
    _extensions,
    _middlebox_findings,
    _negotiated,
    _protocols,
    _show,
    _version,
)
from wsaccept_cli.core.rules import check_handshake as check_http1_handshake

H2_EXPLANATION = (
    "HTTP/2 extended CONNECT (RFC 8441; HTTP/3: RFC 9220): the request carries :protocol"
    " websocket and the server answers with a 2xx; there is no Sec-WebSocket-Key or Accept by"
    " design, so those rules do not apply"
)
H3_EXPLANATION = (
    "HTTP/3 extended CONNECT (RFC 9220): WebSockets over QUIC, with :protocol websocket and a 2xx"
    " as over HTTP/2 (RFC 8441); wsaccept explains HTTP/3 handshakes but does not check them"
)

# RFC 9113 §7 (and RFC 8441 §3 for the setting): names as the RFCs write them.
ERROR_CODES = {
    0x0: "NO_ERROR",
    0x1: "PROTOCOL_ERROR",
    0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT",
    0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR",
    0x7: "REFUSED_STREAM",
    0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR",
    0xA: "CONNECT_ERROR",
    0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY",
    0xD: "HTTP_1_1_REQUIRED",
}
ERROR_MEANINGS = {
    0x0: "no error, yet before any answer",
    0x1: "the server found the request malformed: a server or proxy that does not know"
    " :protocol (RFC 8441) sees a CONNECT with pseudo-headers it must refuse",
    0x2: "the server or a proxy failed internally",
    0x7: "the server refused the stream before processing it; a retry may work",
    0x8: "the stream was cancelled: typically a proxy that advertises extended CONNECT but"
    " cannot carry the stream to its backend",
    0xA: "the connection to the backend (the CONNECT's target) failed or was reset",
    0xB: "the server limits this client (too many requests or streams)",
    0xD: "the server wants HTTP/1.1 for this request: browsers retry the WebSocket over HTTP/1.1",
}
SETTING_NAMES = {
    0x1: "HEADER_TABLE_SIZE",
    0x2: "ENABLE_PUSH",
    0x3: "MAX_CONCURRENT_STREAMS",
    0x4: "INITIAL_WINDOW_SIZE",
    0x5: "MAX_FRAME_SIZE",
    0x6: "MAX_HEADER_LIST_SIZE",
    0x8: "ENABLE_CONNECT_PROTOCOL",
}
ENABLE_CONNECT_PROTOCOL = 0x8
# Connection-specific header fields, which HTTP/2 forbids (RFC 9113 §8.2.2).
CONNECTION_SPECIFIC = (
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
)

H2_STATUS_MEANINGS = {
    **STATUS_MEANINGS,
    200: "",
    400: "the server rejected the extended CONNECT, usually for a missing or malformed"
    " pseudo-header or WebSocket header (see the request findings)",
    405: "the server or a proxy does not accept CONNECT here: it does not support WebSockets"
    " over HTTP/2 (RFC 8441) on this path",
    426: "Upgrade Required: the server does not speak the requested Sec-WebSocket-Version"
    " (RFC 6455 §4.4)",
    501: "the server does not implement extended CONNECT (RFC 8441)",
}


def error_name(code: int) -> str:
    """An HTTP/2 error code as `NAME (0xN)`; an unknown one as its number (RFC 9113 §7 says
    to treat it as INTERNAL_ERROR, but the number is what a reader can look up)."""
    name = ERROR_CODES.get(code)
    return f"{name} (0x{code:x})" if name else f"unknown error code 0x{code:x}"


def settings_by_name(settings: dict[int, int]) -> dict[str, int]:
    """The server's SETTINGS as JSON shows them: known ones by name, others as 0xN."""
    return {SETTING_NAMES.get(code, f"0x{code:x}"): value for code, value in settings.items()}


def is_extended_connect(handshake: Handshake) -> bool:
    """Whether a captured handshake is an HTTP/2 or HTTP/3 extended CONNECT: its request has a
    :protocol pseudo-header, or is a CONNECT over HTTP/2 or HTTP/3 (a HAR entry)."""
    request = handshake.request
    if request is None:
        response = handshake.response
        return response is not None and bool(response.values(":status"))
    if request.values(":protocol"):
        return True
    method = request.values(":method") or [request.method or ""]
    return method == ["CONNECT"] and _major(request.version) in ("2", "3")


def _major(version: str | None) -> str:
    return (version or "").partition(".")[0].lstrip("0")


def check_handshake(handshake: Handshake, capture: Capture) -> list[Finding]:
    """Every rule that applies to `handshake`: RFC 8441 for extended CONNECT, RFC 6455 else."""
    if not is_extended_connect(handshake):
        return check_http1_handshake(handshake, capture)
    versions = [m.version for m in (handshake.request, handshake.response) if m is not None]
    if any(_major(version) == "3" for version in versions):
        return [Finding("request.h3", INFO, "RFC 9220", H3_EXPLANATION)]
    return list(extended_connect_findings(handshake.request, handshake.response))


def inspect_handshake(number: int, handshake: Handshake, capture: Capture) -> HandshakeReport:
    return HandshakeReport(number, handshake, check_handshake(handshake, capture))


def extended_connect_findings(
    request: Message | None, response: Message | None
) -> Iterator[Finding]:
    """The RFC 8441 rules of an extended CONNECT request and its response."""
    yield Finding("request.h2", INFO, "RFC 8441 §4", H2_EXPLANATION)
    if request is None:
        yield Finding("request", WARN, "RFC 8441 §4", "the capture has no request")
    else:
        yield from _request_findings(request)
    if response is not None:
        yield from _response_findings(request, response)
    yield from _middlebox_findings(request, response)


def _pseudo(message: Message, name: str, fallback: str | None = None) -> list[str]:
    values = message.values(name)
    return values if values or fallback is None else [fallback]


def _request_findings(request: Message) -> Iterator[Finding]:
    method = _pseudo(request, ":method", request.method)
    yield Finding(
        "request.h2_method",
        PASS if method == ["CONNECT"] else FAIL,
        "RFC 8441 §4",
        f":method is {', '.join(map(_show, method)) or 'missing'}; extended CONNECT needs CONNECT",
    )
    protocol = request.tokens(":protocol")
    yield Finding(
        "request.h2_protocol",
        PASS if protocol == ["websocket"] else FAIL,
        "RFC 8441 §4",
        f":protocol is {', '.join(map(_show, protocol)) or 'missing'}; it must be websocket",
    )
    if request.values(":method") or request.values(":protocol"):  # pasted or probed, not HAR
        missing = [name for name in (":scheme", ":path") if len(request.values(name)) != 1]
        yield Finding(
            "request.h2_target",
            FAIL if missing else PASS,
            "RFC 8441 §4",
            f"{' and '.join(missing)} must appear once with :protocol (they name the target)"
            if missing
            else f":scheme {_show(request.values(':scheme')[0])}, :path"
            f" {_show(request.values(':path')[0])}",
        )
    authority = request.values(":authority") or request.values("host")
    yield Finding(
        "request.h2_authority",
        PASS if len(authority) == 1 else FAIL,
        "RFC 9113 §8.5",
        f":authority is {_show(authority[0])}"
        if len(authority) == 1
        else f"{len(authority)} :authority values; a CONNECT needs exactly one",
    )
    yield _version(request)
    yield from _not_used(request, "sec-websocket-key", "Sec-WebSocket-Key")
    yield from _connection_specific(request, "request")
    for rule in (_protocols, _extensions):
        finding = rule(request)
        if finding is not None:
            yield finding


def _not_used(message: Message, name: str, shown: str) -> Iterator[Finding]:
    if message.values(name):
        yield Finding(
            f"{message.kind}.h2_{name.rpartition('-')[2]}",
            WARN,
            "RFC 8441 §5",
            f"{shown} is not used over HTTP/2 (the 2xx status takes its place); it is ignored",
        )


def _connection_specific(message: Message, kind: str) -> Iterator[Finding]:
    found = [name for name, _ in message.headers if name.lower() in CONNECTION_SPECIFIC]
    if found:
        yield Finding(
            f"{kind}.h2_connection",
            FAIL,
            "RFC 9113 §8.2.2",
            f"{', '.join(map(_show, found))}: connection-specific headers make an HTTP/2 message"
            " malformed; the peer must reset the stream (PROTOCOL_ERROR)",
        )


def _status(response: Message) -> str | None:
    values = response.values(":status")
    if values:
        return values[0]
    return str(response.status) if response.status is not None else None


def _response_findings(request: Message | None, response: Message) -> Iterator[Finding]:
    status = _status(response)
    if status is None:
        yield Finding("response.h2_status", FAIL, "RFC 8441 §5", "the response has no :status")
        return
    if status == "200":
        yield Finding(
            "response.h2_status", PASS, "RFC 8441 §5", f":status is {status}: the server accepts"
        )
    elif len(status) == 3 and status.startswith("2") and status.isdigit():
        yield Finding(
            "response.h2_status",
            WARN,
            "RFC 8441 §5",
            f":status is {status}: RFC 8441 accepts any 2xx, but Chromium and Firefox open the"
            " WebSocket only on 200",
        )
    if len(status) == 3 and status.startswith("2") and status.isdigit():
        yield from _not_used(response, "sec-websocket-accept", "Sec-WebSocket-Accept")
        yield from _connection_specific(response, "response")
        yield from _negotiated(request, response)
        return
    yield _status_failure(status, response)


def _status_failure(status: str, response: Message) -> Finding:
    code = int(status) if len(status) == 3 and status.isdigit() else 0
    if code == 101:
        meaning = "101 Switching Protocols does not exist in HTTP/2 (RFC 9113 §8.6); a 2xx accepts"
    elif code in H2_STATUS_MEANINGS:
        meaning = H2_STATUS_MEANINGS[code]
    elif 300 <= code < 400:
        meaning = "a redirect; WebSocket clients do not follow redirects"
    else:
        meaning = "the server did not accept the WebSocket"
    return Finding(
        "response.h2_status",
        FAIL,
        "RFC 8441 §5",
        f":status is {_show(status)}, not 2xx: {meaning}",
    )


def alpn_finding(selected: str | None) -> Finding:
    """What the server chose in TLS ALPN for a client that offered h2 and http/1.1."""
    if selected == "h2":
        return Finding("h2.alpn", PASS, "RFC 9113 §3.2", "the server chose h2 in ALPN")
    chose = f"chose {_show(selected)}" if selected else "chose no protocol"
    return Finding(
        "h2.alpn",
        FAIL,
        "RFC 9113 §3.2",
        f"offered h2 and http/1.1 in ALPN, the server {chose}: it does not speak HTTP/2 here, so"
        " browsers open the WebSocket over HTTP/1.1 (not a fault of the WebSocket endpoint)",
    )


def settings_finding(settings: dict[int, int]) -> Finding:
    """SETTINGS_ENABLE_CONNECT_PROTOCOL in the server's SETTINGS (RFC 8441 §3)."""
    value = settings.get(ENABLE_CONNECT_PROTOCOL)
    if value == 1:
        sent = "the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"
        return Finding("h2.settings", PASS, "RFC 8441 §3", sent)
    seen = "is 0" if value == 0 else "is absent" if value is None else f"is {value}, not 0 or 1"
    return Finding(
        "h2.settings",
        FAIL,
        "RFC 8441 §3",
        f"SETTINGS_ENABLE_CONNECT_PROTOCOL {seen} in the server's SETTINGS: it does not support"
        " WebSockets over HTTP/2, a client must not send an extended CONNECT (wsaccept did not),"
        " and browsers open a new HTTP/1.1 connection for the WebSocket",
    )


def stream_reset_finding(code: int) -> Finding:
    meaning = ERROR_MEANINGS.get(code, "the server gave up on the stream")
    return Finding(
        "h2.stream_reset",
        FAIL,
        "RFC 9113 §6.4",
        f"the server reset the stream (RST_STREAM {error_name(code)}) instead of answering the"
        f" extended CONNECT: {meaning}",
    )


def goaway_finding(code: int, last_stream: int | None, debug: bytes) -> Finding:
    meaning = (
        "a graceful shutdown: the server takes no new streams"
        if code == 0
        else ERROR_MEANINGS.get(code, "the server is closing the connection")
    )
    said = f"; its debug data: {_show(debug[:200].decode('latin-1'))}" if debug else ""
    return Finding(
        "h2.goaway",
        FAIL,
        "RFC 9113 §6.8",
        f"the server sent GOAWAY {error_name(code)} (last stream {last_stream}) before answering"
        f" the extended CONNECT: {meaning}{said}",
    )


def ended_at_once_finding() -> Finding:
    return Finding(
        "h2.stream_ended",
        FAIL,
        "RFC 8441 §5",
        "the server ended the stream (END_STREAM) with its 2xx: the stream is the WebSocket's"
        " connection, so the WebSocket is closed as it opens and the server can send nothing",
    )


def close_reset_finding(code: int) -> Finding:
    return Finding(
        "h2.close",
        WARN,
        "RFC 8441 §5",
        f"the server answered our Close frame with RST_STREAM {error_name(code)}, not a Close"
        " frame and END_STREAM: over HTTP/2 a reset is the abnormal end of a WebSocket, as a"
        " TCP reset is over HTTP/1.1",
    )

"""The HTTP/2 cases (`audit --http2`): the extended CONNECT of RFC 8441 and the shapes a
server must treat as malformed (RFC 9113 §8.1.1: a stream error of type PROTOCOL_ERROR, or a
4xx). Each is its own HTTP/2 connection: over TLS with ALPN h2 for wss://, over cleartext with
prior knowledge for ws://. A 2xx to the extended CONNECT is the upgrade (RFC 8441 §5).
"""

from __future__ import annotations

from collections.abc import Callable

from wsaccept_cli.core.audit.judges import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    UNIMPLEMENTED,
    must_refuse,
)
from wsaccept_cli.core.audit.model import (
    Case,
    Judge,
    Observed,
    Outcome,
    Request,
    Server,
    Verdict,
)
from wsaccept_cli.core.audit.registry import Catalogue

R8441, R9113 = "RFC 8441", "RFC 9113"
H2Headers = list[tuple[str, str]]


def extended_connect(server: Server) -> H2Headers:
    """The valid extended CONNECT for the server (RFC 8441 §4, §5), with the user's headers
    (lowercased; the connection-specific ones left out, RFC 9113 §8.2.2)."""
    headers = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https" if server.secure else "http"),
        (":path", server.path),
        (":authority", server.host_header),
        ("sec-websocket-version", "13"),
    ]
    if server.origin_given:
        headers.append(("origin", server.origin))
    if server.protocols:
        headers.append(("sec-websocket-protocol", ", ".join(server.protocols)))
    if server.extensions:
        headers.append(("sec-websocket-extensions", ", ".join(server.extensions)))
    dropped = {"host", "connection", "upgrade", "keep-alive", "transfer-encoding", "te"}
    return headers + [(n.lower(), v) for n, v in server.headers if n.lower() not in dropped]


H2Edit = Callable[[H2Headers], H2Headers]


def h2_request(
    edit: H2Edit | None = None, *, unless_enabled: bool = False
) -> Callable[[Case, Server], Request]:
    """A builder of an HTTP/2 case: the valid extended CONNECT changed by `edit`;
    `unless_enabled` sends it only to a server that did not enable the extended CONNECT."""

    def build(case: Case, server: Server) -> Request:
        headers = extended_connect(server)
        if edit is not None:
            headers = edit(headers)
        request = Request([], key=None)
        request.h2_headers = headers
        request.h2_unless_enabled = unless_enabled
        return request

    return build


def _without(name: str) -> H2Edit:
    return lambda headers: [(n, v) for n, v in headers if n != name]


def _with(*pairs: tuple[str, str]) -> H2Edit:
    return lambda headers: [*headers, *pairs]


def _replacing(name: str, value: str) -> H2Edit:
    return lambda headers: [(n, value if n == name else v) for n, v in headers]


def _valid(observed: Observed, request: Request, server: Server) -> Verdict:
    if observed.error is not None and observed.error.startswith("no SETTINGS"):
        return Verdict(UNIMPLEMENTED, f"{observed.error} (RFC 9113 §3.4)")
    if not observed.h2_enabled:
        return Verdict(
            UNIMPLEMENTED,
            "the server's SETTINGS do not enable the extended CONNECT (RFC 8441 §3): no"
            " WebSockets over HTTP/2",
        )
    if observed.upgraded and observed.status == 200:
        return Verdict(OK, "answered 200: the stream is the WebSocket")
    if observed.upgraded:
        return Verdict(
            NON_STRICT, f"answered {observed.status}: browsers open the WebSocket on 200 only"
        )
    return Verdict(FAILED, "refused the valid extended CONNECT its SETTINGS enabled")


def _h2_refuse(why: str, *, upgraded: Outcome = FAILED) -> Judge:
    """A request a server must refuse over HTTP/2: a stream reset (or GOAWAY) is the refusal
    RFC 9113 §8.1.1 names for a malformed request, a 4xx another."""
    refuse = must_refuse(why, upgraded=upgraded)

    def judge(observed: Observed, request: Request, server: Server) -> Verdict:
        if observed.h2_skipped:
            return Verdict(INFORMATIONAL, observed.h2_skipped)
        if not observed.upgraded and observed.ended == "reset":
            return Verdict(OK, f"reset the stream ({observed.error}): {why}")
        return refuse(observed, request, server)

    return judge


def _key_over_h2(observed: Observed, request: Request, server: Server) -> Verdict:
    if observed.h2_skipped:
        return Verdict(INFORMATIONAL, observed.h2_skipped)
    if not observed.h2_enabled:
        return Verdict(INFORMATIONAL, "the server does not enable the extended CONNECT")
    if observed.upgraded and observed.values("sec-websocket-accept"):
        return Verdict(
            NON_STRICT, "answered with a Sec-WebSocket-Accept, which HTTP/2 does not use"
        )
    if observed.upgraded:
        return Verdict(OK, "upgraded, and ignored the key HTTP/2 does not use")
    return Verdict(INFORMATIONAL, "refused a request that only carried a key it does not use")


def register(c: Catalogue) -> None:
    cat = "h2"
    c.add(
        cat,
        f"{R8441} §4",
        "a valid extended CONNECT",
        "answers 200 (after SETTINGS_ENABLE_CONNECT_PROTOCOL = 1)",
        h2_request(),
        _valid,
    )
    c.add(
        cat,
        f"{R8441} §3",
        ":protocol sent though the server did not enable it",
        "refuses it: the request is malformed (a stream error, or 4xx)",
        h2_request(unless_enabled=True),
        _h2_refuse("a :protocol the server did not enable makes the request malformed"),
    )
    c.add(
        cat,
        f"{R9113} §8.5",
        "CONNECT without :protocol, with :scheme and :path",
        "refuses it: a plain CONNECT has no :scheme or :path",
        h2_request(_without(":protocol")),
        _h2_refuse("a CONNECT without :protocol MUST omit :scheme and :path"),
    )
    c.add(
        cat,
        f"{R8441} §4",
        "an extended CONNECT without :path",
        "refuses it: :scheme and :path MUST be included",
        h2_request(_without(":path")),
        _h2_refuse("an extended CONNECT MUST include :path"),
    )
    c.add(
        cat,
        f"{R8441} §4",
        "an extended CONNECT without :scheme",
        "refuses it: :scheme and :path MUST be included",
        h2_request(_without(":scheme")),
        _h2_refuse("an extended CONNECT MUST include :scheme"),
    )
    c.add(
        cat,
        f"{R8441} §5",
        "a Sec-WebSocket-Key sent over HTTP/2",
        "upgrades it without Sec-WebSocket-Accept (HTTP/2 uses neither)",
        h2_request(_with(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))),
        _key_over_h2,
    )
    c.add(
        cat,
        f"{R9113} §8.2.2",
        "Connection and Upgrade headers over HTTP/2",
        "refuses it: connection-specific headers make the request malformed",
        h2_request(_with(("connection", "Upgrade"), ("upgrade", "websocket"))),
        _h2_refuse("a connection-specific header MUST be treated as malformed"),
    )
    c.add(
        cat,
        f"{R9113} §8.2.1",
        "an uppercase header name over HTTP/2",
        "refuses it: an uppercase field name makes the request malformed",
        h2_request(_with(("X-Audit", "1"))),
        _h2_refuse("a field name with uppercase characters MUST be treated as malformed"),
    )
    c.add(
        cat,
        f"{R8441} §4",
        ":protocol of an unknown protocol",
        "refuses it: the server speaks no such protocol",
        h2_request(_replacing(":protocol", "x-wsaccept-unknown")),
        _h2_refuse("the :protocol names no protocol the server speaks", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R8441} §5",
        "Sec-WebSocket-Version: 8 over HTTP/2",
        "refuses it (426 with Sec-WebSocket-Version: 13, or 400)",
        h2_request(_replacing("sec-websocket-version", "8")),
        _h2_refuse("the version is not 13"),
    )

"""The cases about message framing (a body on the handshake, request smuggling shapes, a
pipelined request) and limits (long lines, many headers, a huge head, a slow or stalled head).
"""

from __future__ import annotations

from wsaccept_cli.core.audit.build import Edit, Head, adding, request
from wsaccept_cli.core.audit.judges import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    either,
    must_accept,
    must_refuse,
    upgrade_problem,
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

R9112 = "RFC 9112"
SECOND = b"GET /wsaccept-audit-second HTTP/1.1\r\nHost: wsaccept.invalid\r\n\r\n"


def _with_body(value: str, body: bytes, name: str = "Content-Length") -> Edit:
    def edit(head: Head) -> None:
        head.add(name, value)
        head.body = body

    return edit


def _framing(c: Catalogue) -> None:
    cat = "framing"
    c.add(
        cat,
        "RFC 9110 §9.3.1",
        "Content-Length: 5 and a body on the handshake",
        "refuses it: an upgrade request has no content, and the body would be read as frames",
        request(_with_body("5", b"hello")),
        must_refuse("a handshake has no content", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        "RFC 9110 §8.6",
        "Content-Length: 0 on the handshake",
        "either: it says there is no content",
        request(adding(("Content-Length", "0"))),
        either("Content-Length: 0 says there is no content", accepted=OK),
    )
    c.add(
        cat,
        f"{R9112} §6.1",
        "Transfer-Encoding: chunked on the handshake",
        "refuses it: an upgrade request has no content",
        request(_with_body("chunked", b"0\r\n\r\n", "Transfer-Encoding")),
        must_refuse("a handshake has no content", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §6.1",
        "both Content-Length and Transfer-Encoding",
        "refuses it and closes the connection (request smuggling shape)",
        request(_both),
        must_refuse("a server MUST close the connection after such a request; it upgraded it"),
    )
    c.add(
        cat,
        f"{R9112} §6.3",
        "two Content-Length headers that differ",
        "refuses it: a server MUST answer 400 (unrecoverable framing error)",
        request(adding(("Content-Length", "0"), ("Content-Length", "5"))),
        must_refuse("differing Content-Lengths are an unrecoverable error that MUST get 400"),
    )
    for value in ("abc", "-1", "1e3"):
        c.add(
            cat,
            f"{R9112} §6.3",
            f"Content-Length: {value}",
            "refuses it: an invalid Content-Length MUST get 400",
            request(adding(("Content-Length", value))),
            must_refuse("an invalid Content-Length is an unrecoverable error that MUST get 400"),
        )
    c.add(
        cat,
        f"{R9112} §6.1",
        "Transfer-Encoding: xchunked (a coding nobody knows)",
        "refuses it (501 or 400)",
        request(adding(("Transfer-Encoding", "xchunked"))),
        must_refuse("a server SHOULD answer 501 to a coding it does not know", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §5.2",
        "an obs-fold in another header",
        "refuses it (400), or reads the fold as a space",
        request(raw=lambda data: data.replace(b"\r\n\r\n", b"\r\nX-Audit: a\r\n b\r\n\r\n", 1)),
        either("a recipient MUST reject obs-fold or replace it with SP", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §5.2",
        "the key on an obs-fold continuation line",
        "refuses it (400), or upgrades with the accept of the unfolded key",
        request(raw=_folded_key),
        either("a recipient MUST reject obs-fold or replace it with SP", accepted=NON_STRICT),
    )
    c.add(
        cat,
        "RFC 6455 §5.2",
        "a second HTTP request pipelined behind the handshake",
        "upgrades, then fails the connection on the bytes that are no frame; never answers"
        " them as HTTP",
        request(after=b"", then=SECOND, after_wait=1.0),
        _pipelined_after_upgrade,
    )
    c.add(
        cat,
        "RFC 9110 §7.8",
        "a refused upgrade (version 1337) with a request pipelined behind it",
        "refuses it and closes the connection: a proxy that saw the Upgrade may have opened"
        " a tunnel, and the request behind would pass it unseen",
        request(
            lambda head: head.set("Sec-WebSocket-Version", "1337"),
            then=SECOND,
            watch_close=True,
        ),
        _pipelined_after_refusal,
    )


def _both(head: Head) -> None:
    head.add("Content-Length", "5")
    head.add("Transfer-Encoding", "chunked")
    head.body = b"0\r\n\r\n"


def _folded_key(data: bytes) -> bytes:
    start = data.index(b"Sec-WebSocket-Key: ")
    return data[:start] + b"Sec-WebSocket-Key:\r\n " + data[start + len(b"Sec-WebSocket-Key: ") :]


def _second_answered(observed: Observed) -> bool:
    return b"HTTP/1." in observed.body


def _pipelined_after_upgrade(observed: Observed, request_: Request, server: Server) -> Verdict:
    if not observed.upgraded:
        return Verdict(NON_STRICT, "refused the handshake that had a request behind it")
    problem = upgrade_problem(observed, request_)
    if problem is not None:
        return Verdict(FAILED, problem)
    if _second_answered(observed):
        return Verdict(FAILED, "answered the pipelined bytes as HTTP after the 101 (smuggling)")
    if observed.ended in ("closed", "reset") or any(f.opcode == 0x8 for f in observed.frames):
        return Verdict(OK, "failed the connection on bytes that are no frame")
    return Verdict(
        INFORMATIONAL,
        "kept the connection open: it ignored the bytes sent before its 101 (a client MUST"
        " wait for the 101, RFC 6455 §4.1, so what a server does with them is its own)",
    )


def _pipelined_after_refusal(observed: Observed, request_: Request, server: Server) -> Verdict:
    if observed.upgraded:
        return Verdict(FAILED, "upgraded version 1337")
    if _second_answered(observed):
        return Verdict(
            NON_STRICT,
            "answered the request behind the refused upgrade on the same connection: behind a"
            " proxy that took the Upgrade as done, that request would be smuggled",
        )
    if observed.ended in ("closed", "reset"):
        return Verdict(OK, "refused and closed the connection")
    return Verdict(INFORMATIONAL, "refused, and neither answered the request behind nor closed")


def _limits(c: Catalogue) -> None:
    cat = "limits"
    c.add(
        cat,
        "RFC 6585 §5",
        "a header line of 8 KiB",
        "either: 8 KiB is within common limits",
        request(adding(("X-Audit", "a" * 8192))),
        either("common limits are 8 to 16 KiB per line", accepted=OK, refused=INFORMATIONAL),
    )
    c.add(
        cat,
        "RFC 6585 §5",
        "a header line of 64 KiB",
        "refuses it (431 or 400) and closes the connection",
        request(adding(("X-Audit", "a" * 65536)), watch_close=True),
        _too_large("a 64 KiB header line", Outcome.NON_STRICT),
    )
    c.add(
        cat,
        "RFC 6585 §5",
        "100 header lines",
        "either: 100 is within common limits",
        request(adding(*((f"X-Audit-{i}", "a") for i in range(100)))),
        either("common limits are 100 or more header lines", accepted=OK, refused=INFORMATIONAL),
    )
    c.add(
        cat,
        "RFC 6585 §5",
        "10,000 header lines",
        "refuses it (431 or 400) and closes the connection",
        request(adding(*((f"X-Audit-{i}", "a") for i in range(10_000))), watch_close=True),
        _too_large("10,000 header lines", Outcome.NON_STRICT),
    )
    c.add(
        cat,
        "RFC 6585 §5",
        "a head of 1 MiB",
        "refuses it (431 or 400) and closes the connection, never a hang",
        request(adding(*((f"X-Audit-{i}", "a" * 1000) for i in range(1024))), watch_close=True),
        _too_large("a 1 MiB head", Outcome.FAILED),
    )
    c.add(
        cat,
        "RFC 9112 §3",
        "a request target of 64 KiB",
        "refuses it (414, 431 or 400)",
        request(lambda head: setattr(head, "target", "/" + "a" * 65536), watch_close=True),
        _too_large("a 64 KiB target", Outcome.NON_STRICT),
    )
    c.add(
        cat,
        "RFC 6455 §4.2.1",
        "the head sent slowly, one line every 0.2 s",
        "upgrades it: a slow client is still a client",
        _slowly,
        must_accept("a head sent slowly is still valid", refused=INFORMATIONAL),
        slow=True,
    )
    c.add(
        cat,
        "RFC 9112 §9.5",
        "half a head, then nothing (slowloris)",
        "closes the connection after a while (a head timeout)",
        _stalled,
        _stalled_judge,
        slow=True,
    )


def _too_large(what: str, upgraded: Outcome) -> Judge:
    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if observed.upgraded:
            return Verdict(upgraded, f"upgraded {what}: a server bounds what it buffers")
        if observed.ended == "timeout" and not observed.answered:
            return Verdict(FAILED, f"no answer to {what} within the timeout (a hang)")
        if observed.answered and observed.status in (400, 413, 414, 431):
            return Verdict(OK, f"refused {what} with {observed.status}")
        if observed.answered:
            return Verdict(NON_STRICT, f"refused {what} with {observed.status}, not 431 or 400")
        return Verdict(NON_STRICT, f"closed the connection on {what} without an answer")

    return judge


def _slowly(case: Case, server: Server) -> Request:
    whole = request()(case, server)
    lines = whole.data.split(b"\r\n")
    pieces = [(line + b"\r\n", 0.2) for line in lines[:-2]]
    pieces.append((b"\r\n", 0.0))
    whole.pieces = pieces
    return whole


def _stalled(case: Case, server: Server) -> Request:
    whole = request()(case, server)
    data = whole.data
    whole.pieces = [(data[: len(data) // 2], 0.0)]
    whole.watch_close = True
    return whole


def _stalled_judge(observed: Observed, request_: Request, server: Server) -> Verdict:
    if observed.upgraded:
        return Verdict(FAILED, "upgraded half a head")
    if observed.ended in ("closed", "reset"):
        took = f" after {observed.seconds:.1f} s" if observed.seconds else ""
        return Verdict(OK, f"closed the stalled connection{took}")
    return Verdict(
        INFORMATIONAL,
        "kept a stalled connection open for the whole timeout: a head timeout longer than"
        " that, or none (slowloris)",
    )


def register(c: Catalogue) -> None:
    _framing(c)
    _limits(c)

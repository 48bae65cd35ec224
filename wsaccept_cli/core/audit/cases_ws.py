"""The cases about what the handshake negotiates (subprotocols, extensions: RFC 6455 §4.2.2,
RFC 7692), who may open it (Origin: cross-site WebSocket hijacking), and what the server does
with the first frames after its 101 (RFC 6455 §5).
"""

from __future__ import annotations

from wsaccept_cli.core.audit.build import Edit, Head, close_frame, frame, removing, request, setting
from wsaccept_cli.core.audit.judges import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    UNIMPLEMENTED,
    upgrade_problem,
    valid_deflate_offers,
)
from wsaccept_cli.core.audit.model import Judge, Observed, Outcome, Request, Server, Verdict
from wsaccept_cli.core.audit.registry import Catalogue
from wsaccept_cli.core.extensions import parse_extensions

R6455, R7692 = "RFC 6455", "RFC 7692"
INFO = INFORMATIONAL
PMD = "permessage-deflate"


def _protocols(c: Catalogue) -> None:
    cat = "protocol"
    s = f"{R6455} §4.2.2"
    offers = (
        ("no subprotocol offered", None, "upgrades without Sec-WebSocket-Protocol"),
        ("one subprotocol offered (chat)", "chat", "chooses it or none"),
        ("two subprotocols offered", "chat, superchat", "chooses one of them, or none"),
        ("an unknown subprotocol", UNKNOWN, "chooses none (it cannot know it)"),
        ("a subprotocol in uppercase (CHAT)", "CHAT", "chooses CHAT exactly, or none"),
        ("the same subprotocol twice", "chat, chat", "chooses chat, or none, or refuses"),
        ("empty items in the list", "chat, , superchat", "chooses a non-empty one, or none"),
        ("an empty Sec-WebSocket-Protocol", "", "chooses none"),
        ("a subprotocol that is no token (chat room)", "chat room", "chooses none, or refuses"),
        ("100 subprotocols", ", ".join(f"p{i}" for i in range(100)), "chooses one, or none"),
    )
    for title, value, expected in offers:
        edit = (
            removing("Sec-WebSocket-Protocol")
            if value is None
            else setting("Sec-WebSocket-Protocol", value)
        )
        c.add(cat, s, title, expected, request(edit), _protocol_judge(value))
    c.add(
        cat,
        s,
        "subprotocols on two header lines",
        "chooses one of them, or none",
        request(_two_protocol_lines),
        _protocol_judge("chat, superchat"),
    )


UNKNOWN = "x-wsaccept-audit"
_MAY_REFUSE = ("chat room", "chat, chat")


def _two_protocol_lines(head: Head) -> None:
    head.set("Sec-WebSocket-Protocol", "chat")
    head.add("Sec-WebSocket-Protocol", "superchat")


def _protocol_judge(value: str | None) -> Judge:
    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if not observed.upgraded:
            if server.baseline is False:
                return Verdict(INFORMATIONAL, "refused, as it refused request.1")
            if value in _MAY_REFUSE:
                return Verdict(OK, f"refused with {observed.status}")
            return Verdict(
                NON_STRICT,
                f"refused with {observed.status}: a subprotocol it cannot take is declined by"
                " choosing none, the connection need not be",
            )
        problem = upgrade_problem(observed, request_)
        if problem is not None:
            return Verdict(FAILED, problem)
        chosen = observed.values("sec-websocket-protocol")
        if not chosen:
            return Verdict(OK, "chose no subprotocol")
        if chosen[0] == UNKNOWN:
            return Verdict(
                INFORMATIONAL, f"chose {chosen[0]!r}: it echoes what it is offered, unchecked"
            )
        if value in _MAY_REFUSE:
            return Verdict(NON_STRICT, f"chose {chosen[0]!r} from an invalid list")
        return Verdict(OK, f"chose {chosen[0]!r}, one of those offered")

    return judge


def _extensions(c: Catalogue) -> None:
    cat = "extension"
    valid = [
        PMD,
        f"{PMD}; client_max_window_bits",
        f"{PMD}; client_max_window_bits=10",
        f"{PMD}; client_max_window_bits=8",
        f"{PMD}; client_max_window_bits=15",
        f'{PMD}; client_max_window_bits="10"',
        *(f"{PMD}; server_max_window_bits={bits}" for bits in range(8, 16)),
        f"{PMD}; server_no_context_takeover",
        f"{PMD}; client_no_context_takeover",
        f"{PMD}; client_max_window_bits=12; server_max_window_bits=12;"
        " client_no_context_takeover; server_no_context_takeover",
        f"{PMD}; server_max_window_bits=10, {PMD}",
        f"{PMD}; server_max_window_bits=7, {PMD}",
        f"x-wsaccept-unknown, {PMD}",
    ]
    invalid = [
        f"{PMD}; client_max_window_bits=7",
        f"{PMD}; client_max_window_bits=16",
        f"{PMD}; client_max_window_bits=0",
        f"{PMD}; client_max_window_bits=abc",
        f"{PMD}; server_max_window_bits=7",
        f"{PMD}; server_max_window_bits=16",
        f"{PMD}; server_max_window_bits=08",
        f"{PMD}; server_max_window_bits",
        f"{PMD}; server_no_context_takeover=1",
        f"{PMD}; client_no_context_takeover=yes",
        f"{PMD}; server_max_window_bits=10; server_max_window_bits=10",
        f"{PMD}; client_no_context_takeover; client_no_context_takeover",
        f"{PMD}; x-unknown=1",
        f"{PMD}; x-unknown",
    ]
    for value in valid:
        c.add(
            cat,
            f"{R7692} §7.1",
            f"the offer {value!r}",
            "declines it, or answers one valid offer within its parameters",
            request(setting("Sec-WebSocket-Extensions", value)),
            _extension_judge(declined=UNIMPLEMENTED),
        )
    for value in invalid:
        c.add(
            cat,
            f"{R7692} §7.1",
            f"the invalid offer {value!r}",
            "declines it (a server MUST decline an invalid offer)",
            request(setting("Sec-WebSocket-Extensions", value)),
            _extension_judge(declined=OK),
        )
    c.add(
        cat,
        f"{R6455} §9.1",
        "an unknown extension (x-wsaccept-unknown)",
        "declines it",
        request(setting("Sec-WebSocket-Extensions", "x-wsaccept-unknown")),
        _extension_judge(declined=OK),
    )
    c.add(
        cat,
        f"{R6455} §9.1",
        "an empty Sec-WebSocket-Extensions",
        "upgrades without extensions",
        request(setting("Sec-WebSocket-Extensions", "")),
        _extension_judge(declined=OK),
    )
    c.add(
        cat,
        f"{R6455} §9.1",
        "a Sec-WebSocket-Extensions that is no valid syntax (;;)",
        "declines it, or refuses the handshake",
        request(setting("Sec-WebSocket-Extensions", ";;")),
        _extension_judge(declined=OK),
    )


def _extension_judge(*, declined: Outcome) -> Judge:
    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if not observed.upgraded:
            if server.baseline is False:
                return Verdict(INFORMATIONAL, "refused, as it refused request.1")
            return Verdict(
                NON_STRICT,
                f"refused the handshake with {observed.status}: an extension offer it cannot"
                " take is declined, the connection need not be",
            )
        problem = upgrade_problem(observed, request_)
        if problem is not None:
            return Verdict(FAILED, problem)
        answered = observed.values("sec-websocket-extensions")
        if not answered:
            offers = parse_extensions(request_.extension_values, empty_parameters=True) or []
            if declined is UNIMPLEMENTED and valid_deflate_offers(offers):
                return Verdict(UNIMPLEMENTED, f"declined {PMD} (it is optional)")
            return Verdict(OK, "declined the offer")
        return Verdict(OK, f"answered {', '.join(answered)!r}, a valid answer to an offer")

    return judge


def _origin(c: Catalogue) -> None:
    cat = "origin"
    s = "RFC 6455 §10.2; OWASP WSTG-CLNT-10; CWE-1385"
    same = "upgrades it"
    foreign = "refuses it (403) when it serves browsers with a session"
    cases = (
        ("no Origin", None, "upgrades it: a client that is no browser sends none", INFO),
        ("the Origin of the server itself", "{origin}", same, OK),
        ("Origin: null", "null", foreign, None),
        ("a foreign Origin (https://evil.example)", "https://evil.example", foreign, None),
        ("a look-alike prefix (HOST.evil.example)", "{scheme}://{host}.evil.example", foreign,
         None),
        ("a look-alike suffix (evilHOST)", "{scheme}://evil{host}", foreign, None),
        ("the other scheme", "{other_scheme}://{host_header}", foreign, None),
        ("another port", "{scheme}://{host}:1", foreign, None),
        ("user information (HOST@evil.example)", "{scheme}://{host_header}@evil.example", foreign,
         None),
        ("a foreign Sec-WebSocket-Origin (hybi drafts)", "sec:https://evil.example", foreign, None),
        ("the server's Origin, then a foreign one", "{origin}|https://evil.example", foreign, None),
    )  # fmt: skip
    for title, value, expected, accepted in cases:
        c.add(cat, s, title, expected, request(_origin_edit(value)), _origin_judge(accepted))


def _fill(template: str, head: Head) -> str:
    server = head.server
    return template.format(
        origin=server.origin,
        scheme="https" if server.secure else "http",
        other_scheme="http" if server.secure else "https",
        host=server.host,
        host_header=server.host_header,
    )


def _origin_edit(value: str | None) -> Edit:
    def edit(head: Head) -> None:
        head.remove("Origin")
        if value is None:
            return
        if value.startswith("sec:"):
            head.add("Sec-WebSocket-Origin", value[4:])
            return
        for each in value.split("|"):
            head.add("Origin", _fill(each, head))

    return edit


def _origin_judge(accepted: Outcome | None) -> Judge:
    """`accepted`: the outcome of an upgrade for an Origin that is no threat; None for a
    foreign one, judged by whether the user gave a session."""

    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if not observed.upgraded:
            if accepted is None:
                return Verdict(OK, f"refused with {observed.status}: it checks the Origin")
            return Verdict(INFORMATIONAL, f"refused with {observed.status}")
        problem = upgrade_problem(observed, request_)
        if problem is not None:
            return Verdict(FAILED, problem)
        if accepted is not None:
            return Verdict(accepted, "upgraded")
        if server.session:
            return Verdict(
                FAILED,
                "upgraded a foreign Origin with the session's credentials (-H Cookie or"
                " Authorization): cross-site WebSocket hijacking",
            )
        return Verdict(
            INFORMATIONAL,
            "upgraded a foreign Origin; without a session (-H Cookie: … or -H Authorization:"
            " …) the audit cannot tell whether a hijacked page would act as the user",
        )

    return judge


def _after(c: Catalogue) -> None:
    cat = "after"
    c.add(
        cat,
        f"{R6455} §5.1",
        "an unmasked client frame",
        "fails the connection (Close 1002, or closes it)",
        request(after=frame(0x1, b"unmasked", mask=False)),
        _must_fail("a server MUST close the connection on an unmasked frame", 1002),
    )
    c.add(
        cat,
        f"{R6455} §5.5.1",
        "our Close (1000)",
        "answers with a Close, echoing 1000",
        request(after=close_frame(1000)),
        _close_echo(1000),
    )
    c.add(
        cat,
        f"{R6455} §5.5.1",
        "our Close (4000, a private code)",
        "answers with a Close, echoing 4000",
        request(after=close_frame(4000, b"audit")),
        _close_echo(4000),
    )
    c.add(
        cat,
        f"{R6455} §5.1",
        "a text message: the server's frames are unmasked",
        "sends its frames unmasked (if it sends any)",
        request(after=frame(0x1, b"wsaccept audit") + close_frame(1000), after_wait=1.0),
        _unmasked,
    )
    c.add(
        cat,
        f"{R6455} §5.5.2",
        "a ping",
        "answers with a pong carrying the same payload",
        request(after=frame(0x9, b"audit-ping"), after_wait=1.0),
        _pong,
    )
    for title, data, why in (
        ("a frame with reserved opcode 3", frame(0x3, b"x"), "a reserved opcode MUST fail it"),
        (
            "a frame with RSV2 set",
            frame(0x1, b"x", rsv=2),
            "RSV bits no extension defined MUST fail it",
        ),
        ("a fragmented ping", frame(0x9, b"x", fin=False), "control frames MUST NOT be fragmented"),
        ("a ping of 126 bytes", frame(0x9, b"x" * 126), "control frames have at most 125 bytes"),
        (
            "a continuation frame with nothing to continue",
            frame(0x0, b"x"),
            "there is no message to continue",
        ),
        (
            "a Close with code 1005 (never sent)",
            close_frame(1005),
            "1005 MUST NOT be sent in a Close",
        ),
        ("a Close with code 999", close_frame(999), "codes below 1000 are not used"),
    ):
        c.add(
            cat,
            f"{R6455} §5.2",
            title,
            "fails the connection (Close 1002, or closes it)",
            request(after=data, after_wait=1.0),
            _must_fail(why, 1002),
        )
    c.add(
        cat,
        f"{R6455} §8.1",
        "a text frame of invalid UTF-8",
        "fails the connection (Close 1007, or closes it)",
        request(after=frame(0x1, b"\xff\xfe"), after_wait=1.0),
        _must_fail("a text message that is not UTF-8 MUST fail the connection", 1007),
    )


def _close_code(observed: Observed) -> int | None:
    closes = [f for f in observed.frames if f.opcode == 0x8]
    if not closes:
        return None
    return closes[0].close_code or 1005


def _must_fail(why: str, code: int) -> Judge:
    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if not observed.upgraded:
            return Verdict(INFORMATIONAL, "not upgraded: nothing to check")
        sent = _close_code(observed)
        data = [f for f in observed.frames if f.opcode in (0x1, 0x2)]
        if sent == code:
            return Verdict(OK, f"failed the connection with Close {code}")
        if sent is not None:
            return Verdict(
                NON_STRICT, f"failed the connection with Close {sent}, not {code}: {why}"
            )
        if observed.ended in ("closed", "reset"):
            return Verdict(OK, f"closed the connection: {why}")
        if data:
            return Verdict(FAILED, f"answered with a message: {why}")
        return Verdict(FAILED, f"kept the connection open: {why}")

    return judge


def _close_echo(code: int) -> Judge:
    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if not observed.upgraded:
            return Verdict(INFORMATIONAL, "not upgraded: nothing to check")
        sent = _close_code(observed)
        if sent == code:
            return Verdict(OK, f"answered our Close with Close {code}")
        if sent is not None:
            return Verdict(NON_STRICT, f"answered our Close {code} with Close {sent}")
        return Verdict(FAILED, "never answered our Close with one (RFC 6455 §5.5.1: MUST)")

    return judge


def _unmasked(observed: Observed, request_: Request, server: Server) -> Verdict:
    if not observed.upgraded:
        return Verdict(INFORMATIONAL, "not upgraded: nothing to check")
    if any(f.masked for f in observed.frames):
        return Verdict(FAILED, "sent a masked frame: a server MUST NOT mask")
    if not observed.frames:
        return Verdict(INFORMATIONAL, "sent no frame to check")
    return Verdict(OK, "its frames are unmasked")


def _pong(observed: Observed, request_: Request, server: Server) -> Verdict:
    if not observed.upgraded:
        return Verdict(INFORMATIONAL, "not upgraded: nothing to check")
    pongs = [f for f in observed.frames if f.opcode == 0xA]
    if pongs and pongs[0].payload == b"audit-ping":
        return Verdict(OK, "answered with a pong carrying the ping's payload")
    if pongs:
        return Verdict(FAILED, "answered with a pong of another payload (MUST be the same)")
    return Verdict(FAILED, "no pong within the wait (a server MUST answer a ping)")


def register(c: Catalogue) -> None:
    _protocols(c)
    _extensions(c)
    _origin(c)
    _after(c)

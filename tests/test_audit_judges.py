"""The audit's judges on answers no real server here gives: each way a 101 can be no valid
upgrade (RFC 6455 §4.2.2, RFC 7692 §7.1), a refusal that is silent or hangs, a server that
refuses even the valid handshake, and the line that says what the server did."""

from __future__ import annotations

import pytest

from tests.helpers import accept_of
from wsaccept_cli.core.audit import catalogue
from wsaccept_cli.core.audit.build import close_frame, frame
from wsaccept_cli.core.audit.judges import (
    either,
    must_accept,
    must_refuse,
    observed_text,
    upgrade_problem,
)
from wsaccept_cli.core.audit.model import (
    Observed,
    Outcome,
    Request,
    Server,
    exit_code,
    parse_frames,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
SERVER = Server(host_header="example.test", path="/", secure=False)


def upgrade(*headers: tuple[str, str], after: bytes = b"", ended: str = "open") -> Observed:
    observed = Observed()
    observed.status, observed.reason = 101, "Switching Protocols"
    observed.headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_of(KEY.encode()).decode()),
    ]
    names = {name.lower() for name, _ in headers}
    observed.headers = [h for h in observed.headers if h[0].lower() not in names]
    observed.headers += [h for h in headers if h[1]]
    observed.body = after
    observed.frames = parse_frames(after)
    observed.ended = ended
    return observed


def refusal(status: int | None, *, body: bytes = b"", ended: str = "closed") -> Observed:
    observed = Observed()
    observed.status = status
    observed.reason = "Bad Request" if status else ""
    observed.body = body
    observed.ended = ended
    return observed


def offer(protocols: tuple[str, ...] = (), extensions: tuple[str, ...] = ()) -> Request:
    return Request([(b"", 0.0)], key=KEY, protocols=protocols, extensions=extensions)


@pytest.mark.parametrize(
    ("headers", "request_", "problem"),
    [
        ((("Upgrade", ""),), offer(), "no Upgrade: websocket"),
        ((("Connection", "keep-alive"),), offer(), "no Connection: Upgrade"),
        ((("Sec-WebSocket-Accept", "x"),), offer(), "Sec-WebSocket-Accept is ['x'], not"),
        ((("Sec-WebSocket-Protocol", "chat"),), offer(), "chosen though none was offered"),
        ((("Sec-WebSocket-Protocol", "b"),), offer(("a",)), "subprotocol 'b' was not offered"),
        ((("Sec-WebSocket-Protocol", "a, b"),), offer(("a", "b")), "more than one subprotocol"),
        ((("Sec-WebSocket-Extensions", "x-y"),), offer(), "extension 'x-y' was not offered"),
        ((("Sec-WebSocket-Extensions", "a b"),), offer(), "is not valid syntax"),
        (
            (("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate"),),
            offer(extensions=("permessage-deflate",)),
            "answered twice",
        ),
        (
            (("Sec-WebSocket-Extensions", "permessage-deflate"),),
            offer(extensions=("permessage-deflate; server_no_context_takeover",)),
            "server_no_context_takeover is missing from the answer",
        ),
        (
            (("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=12"),),
            offer(extensions=("permessage-deflate; server_max_window_bits=10",)),
            "server_max_window_bits=10 is answered with 12",
        ),
        (
            (("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=10"),),
            offer(extensions=("permessage-deflate",)),
            "client_max_window_bits answered though the offer had none",
        ),
        (
            (("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),),
            offer(extensions=("permessage-deflate; client_max_window_bits",)),
            "in a response it needs one",
        ),
    ],
)
def test_a_101_that_no_client_may_accept_is_named(
    headers: tuple[tuple[str, str], ...], request_: Request, problem: str
) -> None:
    found = upgrade_problem(upgrade(*headers), request_)
    assert found is not None
    assert problem in found


def test_valid_answers_to_offers_pass() -> None:
    answer = upgrade(("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=9"))
    two = offer(extensions=("permessage-deflate; server_max_window_bits=7, permessage-deflate",))
    assert upgrade_problem(answer, two) is None  # the second offer, which had no limit
    chosen = upgrade(("Sec-WebSocket-Protocol", "b"))
    assert upgrade_problem(chosen, offer(("a", "b"))) is None


def test_must_refuse_names_silence_a_hang_and_an_upgrade_to_something_else() -> None:
    judge = must_refuse("it is no handshake")
    assert judge(refusal(400), offer(), SERVER).outcome is Outcome.OK
    silent = judge(refusal(None), offer(), SERVER)
    assert (silent.outcome, silent.why) == (
        Outcome.NON_STRICT,
        "closed the connection without an HTTP answer: it is no handshake",
    )
    hang = must_refuse("x", hang=Outcome.FAILED)(refusal(None, ended="timeout"), offer(), SERVER)
    assert (hang.outcome, hang.why) == (Outcome.FAILED, "no answer within the timeout, though x")
    h2c = judge(upgrade(("Upgrade", "h2c")), offer(), SERVER)
    assert (h2c.outcome, h2c.why) == (
        Outcome.FAILED,
        "upgraded to 'h2c', though it is no handshake",
    )


def test_when_the_valid_handshake_is_refused_the_cases_that_must_upgrade_tell_nothing() -> None:
    refusing = Server(host_header="example.test", path="/", secure=False)
    refusing.baseline = False
    verdict = must_accept("a valid variant")(refusal(403), offer(), refusing)
    assert (verdict.outcome, verdict.why) == (
        Outcome.INFORMATIONAL,
        "refused with 403, as it refused request.1",
    )
    refusing.baseline = True
    assert must_accept("x")(refusal(403), offer(), refusing).outcome is Outcome.FAILED
    broken = upgrade(("Sec-WebSocket-Accept", "wrong"))
    assert must_accept("x")(broken, offer(), refusing).outcome is Outcome.FAILED
    assert either("x")(broken, offer(), refusing).outcome is Outcome.FAILED
    assert either("x")(refusal(400), offer(), refusing).outcome is Outcome.OK


def test_what_the_server_did_in_one_line() -> None:
    body = b"x" * 100
    assert observed_text(refusal(400, body=body)) == (
        f"400 Bad Request; body {'x' * 80!r}…; the server closed the connection"
    )
    assert observed_text(refusal(None, ended="reset")) == "the server reset the connection"
    assert observed_text(refusal(None, ended="timeout")) == "no answer within the timeout"
    frames = frame(0x9, b"p", mask=False) + frame(0x3, b"", mask=False) + close_frame(1002)
    shown = observed_text(upgrade(("Sec-WebSocket-Protocol", "chat"), after=frames, ended="closed"))
    assert shown == (
        "101 Switching Protocols; Sec-WebSocket-Protocol: chat; then ping, opcode 3,"
        " Close 1002 (masked), and closed the connection"
    )
    assert observed_text(upgrade(ended="reset")).endswith("then no frame, and reset the connection")


def test_the_exit_code_is_1_for_any_failed() -> None:
    assert exit_code([Outcome.OK, Outcome.NON_STRICT, Outcome.INFORMATIONAL]) == 0
    assert exit_code([Outcome.OK, Outcome.FAILED]) == 1


def test_the_after_cases_judge_what_the_frames_say() -> None:
    cases = {case.id: case for case in catalogue()}
    upgraded = offer()
    closing = upgrade(after=frame(0x8, (1002).to_bytes(2, "big"), mask=False))
    assert cases["after.1"].judge(closing, upgraded, SERVER).outcome is Outcome.OK
    other = upgrade(after=frame(0x8, (1000).to_bytes(2, "big"), mask=False))
    assert cases["after.1"].judge(other, upgraded, SERVER).outcome is Outcome.NON_STRICT
    echoed = upgrade(after=frame(0x1, b"unmasked", mask=False))
    assert cases["after.1"].judge(echoed, upgraded, SERVER).outcome is Outcome.FAILED
    assert cases["after.1"].judge(upgrade(), upgraded, SERVER).outcome is Outcome.FAILED
    assert cases["after.1"].judge(refusal(400), upgraded, SERVER).outcome is Outcome.INFORMATIONAL
    assert cases["after.2"].judge(other, upgraded, SERVER).outcome is Outcome.OK
    assert cases["after.3"].judge(other, upgraded, SERVER).outcome is Outcome.NON_STRICT
    assert cases["after.3"].judge(upgrade(), upgraded, SERVER).outcome is Outcome.FAILED
    masked = upgrade(after=frame(0x1, b"x"))
    assert cases["after.4"].judge(masked, upgraded, SERVER).outcome is Outcome.FAILED
    assert cases["after.4"].judge(upgrade(), upgraded, SERVER).outcome is Outcome.INFORMATIONAL
    pong = upgrade(after=frame(0xA, b"audit-ping", mask=False))
    wrong = upgrade(after=frame(0xA, b"other", mask=False))
    assert cases["after.5"].judge(pong, upgraded, SERVER).outcome is Outcome.OK
    assert cases["after.5"].judge(wrong, upgraded, SERVER).outcome is Outcome.FAILED
    assert cases["after.5"].judge(upgrade(), upgraded, SERVER).outcome is Outcome.FAILED


def test_origin_cases_fail_a_foreign_origin_only_with_a_session() -> None:
    cases = {case.id: case for case in catalogue()}
    foreign = cases["origin.4"]
    with_session = Server(
        host_header="example.test", path="/", secure=False, headers=[("Cookie", "s=1")]
    )
    assert foreign.judge(upgrade(), offer(), SERVER).outcome is Outcome.INFORMATIONAL
    assert foreign.judge(upgrade(), offer(), with_session).outcome is Outcome.FAILED
    assert foreign.judge(refusal(403), offer(), with_session).outcome is Outcome.OK
    assert cases["origin.2"].judge(refusal(403), offer(), SERVER).outcome is Outcome.INFORMATIONAL
    request = foreign.build(foreign, with_session)
    assert b"Origin: https://evil.example\r\n" in request.data
    assert b"Cookie: s=1\r\n" in request.data


def test_the_http2_cases_build_from_the_users_values_and_judge_a_2xx_as_the_upgrade() -> None:
    from wsaccept_cli.core.audit import h2_catalogue

    cases = {case.id: case for case in h2_catalogue()}
    user = Server(
        host_header="example.test", path="/ws", secure=True, headers=[("Cookie", "s=1"),
        ("Connection", "x")], origin="https://app.test", protocols=["chat"],
        extensions=["permessage-deflate"],
    )  # fmt: skip
    headers = cases["h2.1"].build(cases["h2.1"], user).h2_headers
    assert headers == [
        (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
        (":path", "/ws"), (":authority", "example.test"), ("sec-websocket-version", "13"),
        ("origin", "https://app.test"), ("sec-websocket-protocol", "chat"),
        ("sec-websocket-extensions", "permessage-deflate"), ("cookie", "s=1"),
    ]  # fmt: skip
    answer = Observed()
    answer.http2, answer.h2_enabled, answer.status = True, True, 204
    assert answer.upgraded
    assert cases["h2.1"].judge(answer, offer(), SERVER).outcome is Outcome.NON_STRICT
    answer.status = 403
    assert cases["h2.1"].judge(answer, offer(), SERVER).outcome is Outcome.FAILED
    assert cases["h2.6"].judge(answer, offer(), SERVER).outcome is Outcome.INFORMATIONAL
    answer.status = 200
    assert cases["h2.6"].judge(answer, offer(), SERVER).outcome is Outcome.OK
    assert cases["h2.3"].judge(answer, offer(), SERVER).outcome is Outcome.FAILED
    answer.h2_enabled = False
    assert cases["h2.6"].judge(answer, offer(), SERVER).outcome is Outcome.INFORMATIONAL

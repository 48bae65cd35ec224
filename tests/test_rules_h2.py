"""The RFC 8441 rules (core/rules_h2), the extended CONNECT we build (core/request_h2) and the
HTTP/1.1 versus HTTP/2 comparison (core/compare), as pure functions: the cases the live servers
of test_probe_h2 do not reach."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import Run
from wsaccept_cli.core.compare import Comparison, Side
from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget, build_probe_request
from wsaccept_cli.core.request_h2 import extended_connect_headers, headers_text
from wsaccept_cli.core.rules import Finding, HandshakeReport
from wsaccept_cli.core.rules_h2 import (
    check_handshake,
    error_name,
    goaway_finding,
    is_extended_connect,
    settings_by_name,
    settings_finding,
)
from wsaccept_cli.ui.render_compare import value_text

CONNECT = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
           (":path", "/"), (":authority", "a"), ("sec-websocket-version", "13")]  # fmt: skip


def message(kind: str, *headers: tuple[str, str], version: str | None = None) -> Message:
    made = Message(kind, None)
    for name, value in headers:
        made.add_header(name, value)
    made.version = version
    return made


def checked(request: Message | None, response: Message | None) -> dict[str, str]:
    findings = check_handshake(Handshake(request, response, "test"), Capture())
    return {f.rule: f"{f.status}: {f.message}" for f in findings}


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        ("405", "fail: :status is '405', not 2xx: the server or a proxy does not accept CONNECT"),
        ("501", "fail: :status is '501', not 2xx: the server does not implement extended CONNECT"),
        ("308", "fail: :status is '308', not 2xx: a redirect; WebSocket clients do not follow"),
        ("418", "fail: :status is '418', not 2xx: the server did not accept the WebSocket"),
        ("2xx", "fail: :status is '2xx', not 2xx: the server did not accept the WebSocket"),
        ("200", "pass: :status is 200: the server accepts"),
        (
            "204",
            "warn: :status is 204: RFC 8441 accepts any 2xx, but Chromium and Firefox open"
            " the WebSocket only on 200",
        ),
    ],
)
def test_statuses(status: str, meaning: str) -> None:
    found = checked(message("request", *CONNECT), message("response", (":status", status)))
    assert found["response.h2_status"].startswith(meaning)


def test_a_response_without_status_and_a_capture_without_request() -> None:
    found = checked(message("request", *CONNECT), message("response", ("server", "x")))
    assert found["response.h2_status"] == "fail: the response has no :status"
    found = checked(None, message("response", (":status", "200"), ("connection", "close")))
    assert found["request"] == "warn: the capture has no request"
    assert found["response.h2_connection"].startswith("fail: 'connection': connection-specific")


def test_missing_pseudo_headers_and_two_authorities() -> None:
    request = message(
        "request", (":method", "GET"), (":protocol", ""), (":authority", "a"), (":authority", "b")
    )
    found = checked(request, None)
    assert found["request.h2_method"].startswith("fail: :method is 'GET'")
    assert found["request.h2_protocol"] == "fail: :protocol is missing; it must be websocket"
    assert found["request.h2_target"].startswith("fail: :scheme and :path must appear once")
    assert found["request.h2_authority"] == "fail: 2 :authority values; a CONNECT needs exactly one"


def test_a_har_connect_over_http2_without_pseudo_headers_is_extended_connect() -> None:
    request = message("request", ("sec-websocket-version", "13"), version="2")
    request.method = "CONNECT"
    handshake = Handshake(request, None, "HAR entry 1")
    assert is_extended_connect(handshake)
    found = checked(request, None)
    assert "request.h2_target" not in found  # a HAR entry may leave the pseudo-headers out
    request.version = "1.1"
    assert not is_extended_connect(handshake)
    assert not is_extended_connect(Handshake(None, message("response"), "x"))


def test_http3_is_explained_not_checked() -> None:
    request = message("request", (":protocol", "nonsense"), version="3")
    (finding,) = check_handshake(Handshake(request, None, "HAR entry 1"), Capture())
    assert (finding.rule, finding.status, finding.section) == ("request.h3", "info", "RFC 9220")


def test_error_codes_settings_and_goaway() -> None:
    assert error_name(0xD) == "HTTP_1_1_REQUIRED (0xd)"
    assert error_name(0x20) == "unknown error code 0x20"
    assert settings_by_name({8: 1, 0x99: 3}) == {"ENABLE_CONNECT_PROTOCOL": 1, "0x99": 3}
    assert settings_finding({8: 2}).message.startswith(
        "SETTINGS_ENABLE_CONNECT_PROTOCOL is 2, not 0 or 1"
    )
    graceful = goaway_finding(0, 0, b"")
    assert graceful.message.endswith("a graceful shutdown: the server takes no new streams")
    assert "debug data" not in graceful.message
    assert goaway_finding(0x42, None, b"x").message.endswith(
        "the server is closing the connection; its debug data: 'x'"
    )


def test_the_extended_connect_is_made_from_the_checked_request() -> None:
    target = RequestTarget("wss://user:pw@Example.COM:8443/a b?q=1#frag")
    request = build_probe_request(
        target, b"dGhlIHNhbXBsZSBub25jZQ==", [("X-Id", "7")], origin="https://o.example",
        protocols=["chat"],
    )  # fmt: skip
    assert extended_connect_headers(target, request) == [
        (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
        (":path", "/a%20b?q=1"), (":authority", "example.com:8443"),
        ("authorization", "Basic dXNlcjpwdw=="), ("sec-websocket-version", "13"),
        ("origin", "https://o.example"), ("sec-websocket-protocol", "chat"), ("x-id", "7"),
    ]  # fmt: skip


def test_headers_text_keeps_a_hostile_value_on_its_line() -> None:
    text = headers_text([(":status", "200"), ("x-evil", "a\r\nsec-websocket-protocol: chat")])
    assert text == b":status: 200\r\nx-evil: a\\r\\nsec-websocket-protocol: chat\r\n\r\n"


def side(version: str, outcome: ProbeOutcome, *headers: tuple[str, str], fail: str = "") -> Side:
    response = message("response", *headers)
    response.status = 101 if version == "HTTP/1.1" else 200
    findings = [Finding(fail, "fail", "-", "broken")] if fail else []
    return Side(version, outcome, HandshakeReport(1, Handshake(None, response, "probe"), findings))


OK, FAILED = ProbeOutcome.OK, ProbeOutcome.HANDSHAKE_FAILED


def test_comparison_of_two_upgrades_that_chose_differently() -> None:
    comparison = Comparison(
        "ws://x/",
        side("HTTP/1.1", OK, ("sec-websocket-protocol", "chat")),
        side("HTTP/2", OK, ("sec-websocket-protocol", "v2"), ("sec-websocket-extensions", "a; b")),
    )
    assert comparison.differences == ["subprotocol", "extensions"]
    assert comparison.summary == (
        "both upgrade, but the server chose differently: subprotocol 'chat' over HTTP/1.1, 'v2'"
        " over HTTP/2; extensions [] over HTTP/1.1, ['a'] over HTTP/2"
    )
    assert comparison.outcome is OK


def test_comparison_when_only_http2_works_or_both_fail() -> None:
    comparison = Comparison(
        "ws://x/", side("HTTP/1.1", FAILED, fail="response.accept"), side("HTTP/2", OK)
    )
    assert comparison.summary.startswith(
        "over HTTP/2 the WebSocket opens but over HTTP/1.1 it fails (response.accept: broken)"
    )
    assert comparison.outcome is FAILED
    comparison = Comparison(
        "ws://x/",
        side("HTTP/1.1", ProbeOutcome.TIMEOUT, fail="timeout"),
        side("HTTP/2", ProbeOutcome.TIMEOUT, fail="timeout"),
    )
    assert comparison.summary == "both fail: HTTP/1.1 timeout: broken; HTTP/2 timeout: broken"
    assert comparison.outcome is ProbeOutcome.TIMEOUT
    comparison = Comparison("ws://x/", side("HTTP/1.1", OK), side("HTTP/2", FAILED, fail="h2.alpn"))
    assert comparison.summary.startswith("HTTP/1.1 upgrades; the server does not offer HTTP/2 here")


def test_value_text() -> None:
    assert [value_text(v) for v in (None, [], ["a", "b"], "x\x1b", 200)] == [
        "none", "none", "a, b", "x\\x1b", "200",
    ]  # fmt: skip


def test_inspect_json_of_a_pasted_h2_handshake(run: Run) -> None:
    capture = "\n".join(f"{name}: {value}" for name, value in CONNECT) + "\n\n:status: 200\n"
    result = run("inspect", "--format", "json", "-", input=capture)
    assert result.exit_code == 0
    assert '"rule":"response.h2_status","status":"pass"' in result.stdout


NAMES = [":method", ":protocol", ":scheme", ":path", ":authority", ":status", "host", "via",
         "connection", "upgrade", "sec-websocket-version", "sec-websocket-key",
         "sec-websocket-protocol", "sec-websocket-extensions", "sec-websocket-accept"]  # fmt: skip
LATIN_1 = st.text(st.characters(max_codepoint=255), max_size=20)  # the model's text: a byte each
HEADERS = st.lists(st.tuples(st.sampled_from(NAMES), LATIN_1), max_size=12)


@settings(max_examples=150, deadline=None)
@given(request=HEADERS, response=HEADERS, version=st.sampled_from([None, "2", "3", "1.1"]))
def test_any_pseudo_header_capture_is_judged_without_error(
    request: list[tuple[str, str]], response: list[tuple[str, str]], version: str | None
) -> None:
    asked = message("request", (":protocol", "websocket"), *request, version=version)
    answered = message("response", *response, version=version)
    findings = check_handshake(Handshake(asked, answered, "test"), Capture())
    assert findings
    statuses = answered.values(":status")
    accepted = bool(statuses) and len(statuses[0]) == 3 and statuses[0][0] == "2"
    if version != "3" and statuses and not accepted:
        assert any(f.rule == "response.h2_status" and f.status == "fail" for f in findings)

"""`wsaccept probe --http2` and `--compare` against real HTTP/2 WebSocket servers on 127.0.0.1,
started here: Hypercorn over TLS and over cleartext, and small faulty servers written with `h2`
(tests/h2_servers.py). Each case asserts the exit code, the outcome and the finding that explains
it, from the JSON output (the plain layout of probe reports is not asserted whole)."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from tests.h2_servers import (
    SecondSettings,
    StreamRecorder,
    WebSocketApp,
    drain,
    goaway,
    h2_behaviour,
    h2_server,
    hypercorn_server,
    reset,
    respond,
    tls_server,
)
from tests.helpers import Run, clean_env, socket_server


def records(run: Run, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = run("probe", "--format", "json", *args)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def probe_h2(run: Run, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, found = records(run, "--http2", *args, url)
    assert len(found) == 1
    return code, found[0]


def finding(record: dict[str, Any], rule: str) -> str:
    found = [f for f in record["findings"] if f["rule"] == rule]
    assert found, f"no {rule} in {record['findings']}"
    return f"{found[0]['status']} {found[0]['section']}: {found[0]['message']}"


def failures(record: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in record["findings"] if f["status"] == "fail"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def hypercorn_tls(
    ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, WebSocketApp]]:
    app = WebSocketApp()
    with hypercorn_server(app, ca, tmp_path_factory.mktemp("tls")) as port:
        yield port, app


@pytest.fixture(scope="module")
def hypercorn_h2c() -> Iterator[tuple[int, WebSocketApp]]:
    app = WebSocketApp()
    with hypercorn_server(app) as port:
        yield port, app


def wait_for(condition: Any, seconds: float = 3) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)


def test_hypercorn_over_tls_upgrades_and_closes_politely(
    run: Run, hypercorn_tls: tuple[int, WebSocketApp], ca_file: str
) -> None:
    port, app = hypercorn_tls
    before = len(app.close_codes)
    url = f"wss://localhost:{port}/chat"
    code, record = probe_h2(run, url, "--cacert", ca_file, "--protocol", "chat")
    assert (code, record["outcome"], record["verdict"]) == (0, "ok", "pass")
    assert record["http_version"] == "2"
    assert record["settings"]["ENABLE_CONNECT_PROTOCOL"] == 1
    assert record["status"] == 200
    assert record["request"][:5] == [
        ":method: CONNECT", ":protocol: websocket", ":scheme: https", ":path: /chat",
        f":authority: localhost:{port}",
    ]  # fmt: skip
    assert "sec-websocket-protocol: chat" in record["request"]
    assert not any(line.startswith("sec-websocket-key") for line in record["request"])
    assert record["response"][0] == ":status: 200"
    assert finding(record, "h2.alpn") == "pass RFC 9113 §3.2: the server chose h2 in ALPN"
    assert finding(record, "response.protocol") == "pass §4.1: the server chose 'chat'"
    assert record["timings"]["tls_ms"] >= 0
    assert record["timings"]["first_byte_ms"] >= 0
    assert record["body"] == []
    wait_for(lambda: len(app.close_codes) > before)
    assert len(app.close_codes) == before + 1  # Hypercorn reports any close as 1006
    assert app.versions[-1] == "2"


def test_close_frame_and_end_stream_after_a_200(run: Run) -> None:
    recorder = StreamRecorder()
    with h2_server(1, respond(b"200"), recorder) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
        assert recorder.ended.wait(5)
    assert (code, record["outcome"]) == (0, "ok")
    frame = recorder.data
    assert (frame[0], frame[1], len(frame)) == (0x88, 0x82, 8)  # Close, masked, 2-byte payload
    mask = frame[2:6]
    assert bytes(byte ^ mask[i % 4] for i, byte in enumerate(frame[6:])) == (1000).to_bytes(
        2, "big"
    )


def test_hypercorn_over_cleartext_with_prior_knowledge(
    run: Run, hypercorn_h2c: tuple[int, WebSocketApp]
) -> None:
    port, app = hypercorn_h2c
    code, record = probe_h2(run, f"ws://127.0.0.1:{port}/", "--origin", "https://app.example")
    assert (code, record["outcome"]) == (0, "ok")
    assert ":scheme: http" in record["request"]
    assert "origin: https://app.example" in record["request"]
    assert "h2.alpn" not in [f["rule"] for f in record["findings"]]
    assert app.versions[-1] == "2"


def test_plain_output_names_the_http_version(
    run: Run, hypercorn_h2c: tuple[int, WebSocketApp]
) -> None:
    port, _ = hypercorn_h2c
    result = run("probe", "--http2", f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "> :method: CONNECT"
    assert "< :status: 200" in lines
    heading = f"handshake 1: probe over HTTP/2, ws://127.0.0.1:{port}/: pass — 7 passed, 1 info"
    assert heading in lines
    assert lines[-1].endswith("; outcome: ok")


def test_hypercorn_refusal_is_a_status_failure(
    run: Run, hypercorn_h2c: tuple[int, WebSocketApp]
) -> None:
    port, _ = hypercorn_h2c
    code, record = probe_h2(run, f"ws://127.0.0.1:{port}/refuse")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "response.h2_status").startswith("fail RFC 8441 §5: :status is '403'")


@pytest.mark.parametrize(
    ("enable", "seen"), [(None, "is absent"), (0, "is 0")], ids=["absent", "zero"]
)
def test_setting_not_enabled_means_no_connect_is_sent(
    run: Run, enable: int | None, seen: str
) -> None:
    with h2_server(enable, respond(b"200")) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert failures(record) == ["h2.settings"]
    message = finding(record, "h2.settings")
    assert message.startswith(f"fail RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL {seen}")
    assert "browsers open a new HTTP/1.1 connection" in message
    assert record["request"] == []
    assert record["status"] is None
    assert "ENABLE_CONNECT_PROTOCOL" in record["settings"] or enable is None


@pytest.mark.parametrize("when", ["together", "apart"])
def test_the_setting_in_a_second_settings_frame_of_the_first_flight_is_taken(
    run: Run, when: str
) -> None:
    # RFC 8441 §3 asks only that the setting is received before the extended CONNECT: a server
    # may send it in a later SETTINGS frame (as h2's update_settings does), in the same write or
    # its own. Chromium takes it from any SETTINGS frame (SpdySession::HandleSetting).
    with h2_server(None, respond(b"200"), second=SecondSettings(1, when)) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (0, "ok")
    assert finding(record, "h2.settings") == (
        "pass RFC 8441 §3: the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"
    )
    assert record["settings"]["ENABLE_CONNECT_PROTOCOL"] == 1
    assert record["request"][0] == ":method: CONNECT"


@pytest.mark.parametrize(
    ("first", "second", "seen"),
    [(None, SecondSettings(None), "is absent"), (None, SecondSettings(1, "after-ack"), "is absent"),
     (None, SecondSettings(0), "is 0"), (0, SecondSettings(None, "apart"), "is 0")],
    ids=["absent-in-both", "enabled-after-the-ack", "zero-in-the-second", "zero-then-absent"],
)  # fmt: skip
def test_the_setting_is_judged_on_the_whole_first_flight(
    run: Run, first: int | None, second: SecondSettings, seen: str
) -> None:
    # The first flight ends where the server acknowledges the client's SETTINGS: a setting
    # sent after that came too late for a client deciding whether to send the CONNECT.
    with h2_server(first, respond(b"200"), second=second) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    message = finding(record, "h2.settings")
    assert message.startswith(f"fail RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL {seen} in")
    assert record["request"] == []


def test_403_with_its_body(run: Run) -> None:
    body = b"origin not allowed\nsee the docs\n"
    answer = respond(b"403", (b"content-type", b"text/plain"), body=body)
    with h2_server(1, answer) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "response.h2_status") == (
        "fail RFC 8441 §5: :status is '403', not 2xx: the server refused the request, usually its"
        " Origin check (the Origin is not on its allowed list) or an authorization rule"
    )
    assert record["body"] == ["origin not allowed", "see the docs"]


def test_502_from_a_proxy(run: Run) -> None:
    with h2_server(1, respond(b"502", body=b"bad gateway")) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert code == 1
    assert "a proxy could not reach the WebSocket backend" in finding(record, "response.h2_status")


def test_200_with_a_subprotocol_not_offered(run: Run) -> None:
    cookie = (b"set-cookie", b"sid=abcdef; Path=/")
    answer = respond(b"200", (b"sec-websocket-protocol", b"superchat"), cookie)
    with h2_server(1, answer) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/", "--protocol", "chat")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "response.h2_status").startswith("pass")
    assert finding(record, "response.protocol") == (
        "fail §4.1: the server chose 'superchat', which the client did not offer"
    )
    assert "set-cookie: sid=[redacted; --show-secrets shows it]; Path=/" in record["response"]


def test_browsers_predicted_for_a_204(run: Run) -> None:
    """RFC 8441 allows any 2xx, but the browsers open the WebSocket on a 200 only."""
    with h2_server(1, respond(b"204")) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
        plain = run("probe", "--http2", f"ws://127.0.0.1:{port}/", "--timeout", "2").stdout
    assert (code, record["outcome"]) == (0, "ok")  # RFC 8441 allows it; the clients line tells
    assert record["clients"] == [
        {"client": "Chromium", "accepts": False, "reason": "status 204, not 200"},
        {"client": "Firefox", "accepts": False, "reason": "status 204, not 200"},
    ]
    assert "  clients: refused by Chromium, Firefox (status 204, not 200)" in plain.splitlines()


@pytest.mark.parametrize(
    ("code", "name", "meaning"),
    [
        (0x8, "CANCEL (0x8)", "a proxy that advertises extended CONNECT but cannot carry"),
        (0x1, "PROTOCOL_ERROR (0x1)", "does not know :protocol"),
        (0xD, "HTTP_1_1_REQUIRED (0xd)", "browsers retry the WebSocket over HTTP/1.1"),
        (0x77, "unknown error code 0x77", "the server gave up on the stream"),
    ],
)
def test_stream_reset_names_its_error_code(run: Run, code: int, name: str, meaning: str) -> None:
    with h2_server(1, reset(code)) as port:
        exit_code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (exit_code, record["outcome"]) == (1, "handshake_failed")
    message = finding(record, "h2.stream_reset")
    assert message.startswith(
        f"fail RFC 9113 §6.4: the server reset the stream (RST_STREAM {name})"
    )
    assert meaning in message


def test_goaway_names_its_error_code_and_debug_data(run: Run) -> None:
    with h2_server(1, goaway(0xB, b"slow down")) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "h2.goaway") == (
        "fail RFC 9113 §6.8: the server sent GOAWAY ENHANCE_YOUR_CALM (0xb) (last stream 0) before"
        " answering the extended CONNECT: the server limits this client (too many requests or"
        " streams); its debug data: 'slow down'"
    )


def test_server_choosing_http11_in_alpn_is_a_finding(
    run: Run, ca: trustme.CA, ca_file: str
) -> None:
    with tls_server(ca, drain, ["http/1.1"]) as port:
        code, record = probe_h2(run, f"wss://localhost:{port}/", "--cacert", ca_file)
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert failures(record) == ["h2.alpn"]
    assert finding(record, "h2.alpn").startswith(
        "fail RFC 9113 §3.2: offered h2 and http/1.1 in ALPN, the server chose 'http/1.1': it does"
        " not speak HTTP/2 here"
    )
    assert record["settings"] is None


def test_h2_over_tls_with_a_faulty_server(run: Run, ca: trustme.CA, ca_file: str) -> None:
    with tls_server(ca, h2_behaviour(1, reset(0x8)), ["h2"]) as port:
        code, record = probe_h2(run, f"wss://localhost:{port}/", "--cacert", ca_file)
    assert code == 1
    assert failures(record) == ["h2.stream_reset"]


@pytest.mark.parametrize(
    ("answer", "enable", "message", "section"),
    [
        (None, None, "the server sent no SETTINGS within 0.5 s", "RFC 9113 §3.4"),
        ("settings", 1, "no response to the extended CONNECT within 0.5 s", "RFC 8441 §5"),
    ],
    ids=["silent", "settings-only"],
)
def test_timeout_names_the_phase(
    run: Run, answer: str | None, enable: int | None, message: str, section: str
) -> None:
    behave = h2_behaviour(enable, None) if answer else lambda c: drain(c)
    with socket_server(behave) as port:
        started = time.monotonic()
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/", "--timeout", "0.5")
        took = time.monotonic() - started
    assert (code, record["outcome"]) == (5, "timeout")
    assert finding(record, "timeout").startswith(f"fail {section}: {message}")
    assert took < 2.5


def test_http11_server_answering_the_preface(run: Run) -> None:
    def http11(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        drain(connection)

    with socket_server(http11) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "h2.prior_knowledge").startswith(
        "fail RFC 9113 §3.3: the server answered the HTTP/2 connection preface with"
        " 'HTTP/1.1 400 Bad Request': it does not speak HTTP/2 over cleartext"
    )


def test_server_closing_before_settings(run: Run) -> None:
    with socket_server(lambda connection: connection.recv(65536) and None) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert code == 1
    assert finding(record, "response.closed") == (
        "fail RFC 9113 §3.4: the server closed the connection without SETTINGS"
    )


def test_connection_refused_and_tls_refused(run: Run, hypercorn_tls: tuple[int, Any]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (3, "connect_failed")
    code, record = probe_h2(run, f"wss://localhost:{hypercorn_tls[0]}/")
    assert (code, record["outcome"]) == (4, "tls_failed")


def test_secrets_are_redacted_and_connection_headers_not_sent(
    run: Run, hypercorn_h2c: tuple[int, WebSocketApp]
) -> None:
    port, _ = hypercorn_h2c
    args = ["-H", "Authorization: Bearer s3cret", "-H", "Connection: keep-alive, Upgrade",
            "-H", "Host: example.test", "-H", "X-Trace: 1"]  # fmt: skip
    code, record = probe_h2(run, f"ws://127.0.0.1:{port}/", *args)
    assert code == 0
    assert "authorization: [redacted; --show-secrets shows it]" in record["request"]
    assert ":authority: example.test" in record["request"]
    assert "x-trace: 1" in record["request"]
    assert not any(line.startswith(("connection", "upgrade", "host")) for line in record["request"])
    assert "s3cret" not in json.dumps(record)


def compare(run: Run, url: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code, found = records(run, "--compare", *args, url)
    assert [r.get("http_version") for r in found] == ["1.1", "2", None]
    return code, found


def test_compare_both_upgrade(run: Run, hypercorn_h2c: tuple[int, WebSocketApp]) -> None:
    port, _ = hypercorn_h2c
    code, (http1, http2, comparison) = compare(run, f"ws://127.0.0.1:{port}/", "--protocol", "v2")
    assert code == 0
    assert (http1["outcome"], http2["outcome"]) == ("ok", "ok")
    assert comparison["differences"] == []
    assert comparison["http1"]["subprotocol"] == comparison["http2"]["subprotocol"] == "v2"
    assert comparison["summary"].startswith("both upgrade (101 over HTTP/1.1, 2xx over HTTP/2)")


@pytest.mark.parametrize(
    ("enable", "answer", "summary"),
    [
        (None, None, "HTTP/1.1 upgrades; over HTTP/2 the server does not enable extended CONNECT"
         " (SETTINGS_ENABLE_CONNECT_PROTOCOL), so browsers fall back to a new HTTP/1.1"
         " connection"),
        (1, reset(0x8), "HTTP/1.1 upgrades; over HTTP/2 the stream is reset: the server or a proxy"
         " advertises extended CONNECT but cannot carry the stream"),
        (1, respond(b"403"), "HTTP/1.1 upgrades; over HTTP/2 the server refuses the extended"
         " CONNECT"),
        (1, goaway(0x2, b""), "HTTP/1.1 upgrades; over HTTP/2 the server sends GOAWAY"),
        (1, respond(b"200", (b"sec-websocket-protocol", b"x")), "HTTP/1.1 upgrades; over HTTP/2"
         " the handshake fails (response.protocol: the server chose 'x', which the client did not"
         " offer)"),
    ],
    ids=["settings", "reset", "403", "goaway", "other"],
)  # fmt: skip
def test_compare_explains_what_breaks_over_http2(
    run: Run, enable: int | None, answer: Any, summary: str
) -> None:
    with h2_server(enable, answer) as port:
        code, (http1, http2, comparison) = compare(run, f"ws://127.0.0.1:{port}/")
    # ws://: browsers never use HTTP/2 without TLS, so HTTP/1.1 alone decides the exit status
    assert code == 0
    assert (http1["outcome"], http2["outcome"]) == ("ok", "handshake_failed")
    assert (comparison["outcome"], comparison["http2_counts"]) == ("ok", False)
    assert "outcome" in comparison["differences"]
    assert comparison["summary"].startswith(summary)


def test_compare_plain_and_rich(run: Run) -> None:
    with h2_server(None, None) as port:
        url = f"ws://127.0.0.1:{port}/"
        plain = run("probe", "--compare", url)
        rich = run("probe", "--compare", "--format", "rich", url)
    assert plain.exit_code == rich.exit_code == 0
    lines = plain.stdout.splitlines()
    start = lines.index(f"compare {url}: HTTP/1.1 ok, HTTP/2 handshake_failed")
    assert lines[start + 1 :] == [
        "  HTTP/1.1  outcome ok, status 101, subprotocol none, extensions none",
        "  HTTP/2    outcome handshake_failed, status none, subprotocol none, extensions none",
        "  HTTP/2    cause h2.settings: SETTINGS_ENABLE_CONNECT_PROTOCOL is absent in the server's"
        " SETTINGS: it does not support WebSockets over HTTP/2, a client must not send an extended"
        " CONNECT (wsaccept did not), and browsers open a new HTTP/1.1 connection for the"
        " WebSocket",
        "  differs   outcome, status",
        "  summary   HTTP/1.1 upgrades; over HTTP/2 the server does not enable extended CONNECT"
        " (SETTINGS_ENABLE_CONNECT_PROTOCOL), so browsers fall back to a new HTTP/1.1 connection",
        "  exit      HTTP/1.1 decides it: browsers never use HTTP/2 without TLS (ws://); the"
        " HTTP/2 probe is information",
    ]
    assert f"handshake 1: probe over HTTP/2, {url}: fail — 0 passed, 1 failed" in lines
    text = " ".join(rich.stdout.split())
    assert "HTTP/1.1 HTTP/2" in text
    assert "outcome ok handshake_failed" in text
    assert "browsers fall back to a new HTTP/1.1 connection" in text
    assert "HTTP/1.1 decides it: browsers never use HTTP/2 without TLS (ws://)" in text


def test_compare_when_both_fail(run: Run) -> None:
    def not_found(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    with socket_server(not_found) as port:
        code, (http1, _, comparison) = compare(run, f"ws://127.0.0.1:{port}/", "--timeout", "2")
    assert code == 1
    assert http1["outcome"] == "handshake_failed"
    assert comparison["summary"].startswith("both fail: HTTP/1.1 response.status: status 404")


@pytest.mark.parametrize(
    ("url", "settings", "counts"),
    [
        ("wss://example.com/", {"SETTINGS_ENABLE_CONNECT_PROTOCOL": 1}, True),
        ("wss://example.com/", {"SETTINGS_ENABLE_CONNECT_PROTOCOL": 0}, False),
        ("wss://example.com/", {}, False),
        ("wss://example.com/", None, False),
        ("ws://example.com/", {"SETTINGS_ENABLE_CONNECT_PROTOCOL": 1}, False),
    ],
)
def test_the_http2_half_counts_only_where_a_browser_would_use_it(
    url: str, settings: dict[str, int] | None, counts: bool
) -> None:
    from wsaccept_cli.core.compare import Comparison, Side, browsers_use_http2
    from wsaccept_cli.core.handshake import Handshake
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.rules import FAIL, Finding, HandshakeReport

    assert browsers_use_http2(url, settings) is counts
    ok = HandshakeReport(1, Handshake(None, None, "probe"), [])
    failed = HandshakeReport(
        1, Handshake(None, None, "probe"), [Finding("h2.goaway", FAIL, "-", "GOAWAY")]
    )
    comparison = Comparison(
        url,
        Side("HTTP/1.1", ProbeOutcome.OK, ok),
        Side("HTTP/2", ProbeOutcome.HANDSHAKE_FAILED, failed),
        http2_counts=counts,
    )
    assert comparison.outcome is (ProbeOutcome.HANDSHAKE_FAILED if counts else ProbeOutcome.OK)
    assert comparison.as_dict()["http2_counts"] is counts


def test_http2_is_imported_only_by_http2_probes() -> None:
    # A probe over HTTP/1.1 (here of a refused port) must not load h2; --http2 must.
    script = (
        "import sys\n"
        "from wsaccept_cli.cli import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='wsaccept')\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('h2', 'hpack')]\n"
        "sys.stderr.write(str(sorted(loaded)))\n"
    )
    with socket_server(lambda connection: connection.recv(65536) and None) as port:
        url = f"ws://127.0.0.1:{port}/"
        for args, loaded in (([url], False), (["--http2", url], True)):
            done = subprocess.run(
                [sys.executable, "-c", script, "probe", "--format", "json", *args],
                capture_output=True, timeout=30, env=clean_env(), check=False,
            )  # fmt: skip
            assert ("'h2'" in done.stderr.decode()) is loaded, done.stderr


def test_tls_to_a_cleartext_server_and_a_tls_server_that_never_finishes(
    run: Run, hypercorn_h2c: tuple[int, WebSocketApp]
) -> None:
    code, record = probe_h2(run, f"wss://127.0.0.1:{hypercorn_h2c[0]}/", "--insecure")
    assert (code, record["outcome"]) == (4, "tls_failed")
    assert finding(record, "tls_failed").startswith("fail None: TLS failed: ")
    with socket_server(drain) as port:
        code, record = probe_h2(run, f"wss://127.0.0.1:{port}/", "--timeout", "0.5")
    assert (code, record["outcome"]) == (5, "timeout")
    assert finding(record, "timeout") == "fail None: the TLS handshake did not finish within 0.5 s"


def test_a_reset_connection(run: Run) -> None:
    def reset_after_reading(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with socket_server(reset_after_reading) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "handshake_failed").startswith(
        "fail RFC 9113 §3.4: the connection broke while waiting for the server's SETTINGS: "
    )


def test_a_refusal_whose_body_never_comes(run: Run) -> None:
    def headers_only(server: Any, stream: int, _: Any) -> None:
        server.send_headers(stream, [(b":status", b"503")])

    with h2_server(1, headers_only) as port:
        started = time.monotonic()
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert time.monotonic() - started < 2
    assert code == 1
    assert record["body"] == []
    assert "the service is unavailable" in finding(record, "response.h2_status")


def test_frames_that_break_http2(run: Run) -> None:
    def data_on_stream_zero(server: Any, stream: int, _: Any) -> None:
        server._data_to_send += b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x"  # DATA on stream 0

    with h2_server(1, data_on_stream_zero) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert finding(record, "h2.protocol").startswith(
        "fail RFC 9113 §5.4.1: the server broke the HTTP/2 protocol: "
    )


def test_h2_in_alpn_but_an_http11_answer(run: Run, ca: trustme.CA, ca_file: str) -> None:
    def http11(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        drain(connection)

    with tls_server(ca, http11, ["h2"]) as port:
        code, record = probe_h2(run, f"wss://localhost:{port}/", "--cacert", ca_file)
    assert code == 1
    assert finding(record, "h2.protocol") == (
        "fail RFC 9113 §3.2: the server chose h2 in ALPN but answered in HTTP/1.x"
        " ('HTTP/1.1 400 Bad Request')"
    )


def test_a_2xx_that_ends_the_stream(run: Run) -> None:
    def accept_and_end(server: Any, stream: int, _: Any) -> None:
        server.send_headers(stream, [(b":status", b"200")], end_stream=True)

    with h2_server(1, accept_and_end) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert failures(record) == ["h2.stream_ended"]


def test_a_reset_instead_of_a_close_is_a_warning(run: Run) -> None:
    def accept(server: Any, stream: int, _: Any) -> None:
        server.send_headers(stream, [(b":status", b"200")])

    with socket_server(h2_behaviour(1, accept, reset_stream_on_data=0x8)) as port:
        code, record = probe_h2(run, f"ws://127.0.0.1:{port}/")
    assert (code, record["outcome"], record["verdict"]) == (0, "ok", "warn")
    assert finding(record, "h2.close").startswith(
        "warn RFC 8441 §5: the server answered our Close frame with RST_STREAM CANCEL (0x8)"
    )

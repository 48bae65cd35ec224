"""`wsaccept serve`: the fault catalogue, the verdict on a client, the echo, wss://, usage errors,
--once, --check-client with its scoreboard and JUnit report. Clients here are raw sockets and
the websockets library; the other real clients are in test_serve_clients.py, the relay in
test_serve_relay.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from tests.helpers import RFC_KEY, Run, clean_env, run_script, script_path
from tests.serve_helpers import (
    frame,
    handshake_request,
    raw_client,
    read_first_line,
    recv_exactly,
    server_thread,
    serving,
)
from wsaccept_cli.core.diagnose import WRONG_ACCEPTS, diagnose_accept
from wsaccept_cli.core.faults import BY_NAME, FAULTS, OTHER_KEY, answer_for
from wsaccept_cli.core.frame_faults import FRAME_FAULTS
from wsaccept_cli.core.handshake import Message
from wsaccept_cli.core.keys import GUID, accept_for
from wsaccept_cli.core.served import ServedConnection, serve_report
from wsaccept_cli.net.heads import parse_head
from wsaccept_cli.net.serve import ServeOptions, listen_address

PY = sys.executable
CLIENTS = Path(__file__).resolve().parent / "serve_clients"


def request_message(protocols: str = "", extensions: str = "") -> Message:
    extra = f"Sec-WebSocket-Protocol: {protocols}\r\n" if protocols else ""
    extra += f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    message = parse_head(handshake_request(80, RFC_KEY, extra), "request")
    assert message is not None
    return message


# --- the catalogue --------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_every_wrong_accept_fault_is_named_by_the_diagnosis(nonce: bytes) -> None:
    """serve's wrong accepts and inspect's diagnosis come from one table: they cannot drift."""
    key = base64.b64encode(nonce).decode()
    request = request_message()
    request.headers = [(n, key if n == "Sec-WebSocket-Key" else v) for n, v in request.headers]
    for bug in WRONG_ACCEPTS:
        answer, skipped = answer_for(request, BY_NAME[bug.name])
        if skipped is not None:  # the URL-safe accept of a key whose accept has no '+' or '/'
            assert bug.name == "accept-urlsafe"
            continue
        received = answer.value("Sec-WebSocket-Accept")
        assert received is not None
        assert diagnose_accept(key.encode(), received.encode()) == bug.cause, bug.name
    typo, _ = answer_for(request, BY_NAME["accept-guid-typo"])
    cause = diagnose_accept(key.encode(), (typo.value("Sec-WebSocket-Accept") or "").encode())
    assert cause == "the server's GUID is mistyped: character 36 is '2' instead of '1'"
    other, _ = answer_for(request, BY_NAME["accept-other-key"])
    accept = (other.value("Sec-WebSocket-Accept") or "").encode()
    assert accept == accept_for(OTHER_KEY)
    assert "another request's key" in diagnose_accept(key.encode(), accept, [(OTHER_KEY, 3)])


def test_the_correct_answer_and_each_fault_on_the_wire() -> None:
    request = request_message("chat, superchat", "permessage-deflate")
    correct, _ = answer_for(request, None)
    expected = base64.b64encode(hashlib.sha1(RFC_KEY.encode() + GUID).digest()).decode()
    assert (
        correct.to_bytes()
        == (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {expected}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        ).encode()
    )

    def wire(name: str) -> bytes:
        return answer_for(request, BY_NAME[name])[0].to_bytes()

    assert wire("no-accept").count(b"Sec-WebSocket-Accept") == 0
    assert wire("two-accepts").count(f"Sec-WebSocket-Accept: {expected}".encode()) == 2
    assert b"Upgrade:" not in wire("no-upgrade")
    assert b"Connection:" not in wire("no-connection")
    assert b"Upgrade: websocket, h2c\r\n" in wire("upgrade-token-list")
    assert wire("status-200").startswith(b"HTTP/1.1 200 OK\r\n")
    assert wire("http10-101").startswith(b"HTTP/1.0 101 ")
    assert b"Sec-WebSocket-Protocol: wsaccept-unoffered\r\n" in wire("protocol-not-offered")
    assert b"Sec-WebSocket-Protocol" not in wire("protocol-missing")
    assert b"Sec-WebSocket-Extensions: x-wsaccept-unoffered\r\n" in wire("extension-not-offered")
    assert b"server_max_window_bits=7" in wire("deflate-bad-params")
    assert b"\r" not in wire("bare-lf")
    assert wire("bare-lf").endswith(b"\n\n")
    _, skipped = answer_for(request_message(), BY_NAME["protocol-missing"])
    assert skipped == "the client offered no subprotocol"


def test_list_faults_says_what_a_correct_client_must_do(run: Run) -> None:
    result = run("serve", "--list-faults")
    assert result.exit_code == 0
    handshake, frames = result.stdout.split("\n\n")
    lines = handshake.splitlines()
    assert lines[0] == "Handshake faults (the 101 is wrong; RFC 6455 §4.1):"
    lines = lines[1:]
    names = [line.split()[0] for line in lines[::2]]
    assert names == [fault.name for fault in FAULTS]
    assert len(FAULTS) >= 29
    assert lines[0].split()[:2] == ["accept-decoded-key", "refuse"]
    assert "RFC 6455 §4.1" in lines[1]
    bare_lf = lines[names.index("bare-lf") * 2]
    assert bare_lf.split()[:2] == ["bare-lf", "either"]
    assert "RFC 9112 §2.2" in lines[names.index("bare-lf") * 2 + 1]
    frame_lines = frames.splitlines()
    assert frame_lines[0].startswith("Frame faults (a correct 101, then these frames")
    assert [line.split()[0] for line in frame_lines[1::2]] == [f.name for f in FRAME_FAULTS]
    assert frame_lines[1].split()[:2] == ["masked-frame", "fail"]
    assert frame_lines[2].split()[:3] == ["RFC", "6455", "§5.1:"]
    records = [
        json.loads(line)
        for line in run("serve", "--list-faults", "--format", "json").stdout.splitlines()
    ]
    assert {r["fault"]: r["correct"] for r in records}["protocol-missing"] == "either"
    by_name = {r["fault"]: r for r in records}
    assert by_name["close-unanswered"]["correct"] == "hang up"
    assert (by_name["masked-frame"]["stage"], by_name["masked-frame"]["section"]) == (
        "frame", "§5.1")  # fmt: skip
    assert by_name["no-accept"]["stage"] == "handshake"
    one = run("serve", "--list-faults", "--fault", "no-accept").stdout.splitlines()
    assert one[1].split()[:2] == ["no-accept", "refuse"]
    assert len(one) == 3
    frame_only = run("serve", "--list-faults", "--fault", "frame").stdout.splitlines()
    assert frame_only[0].startswith("Frame faults")
    assert len(frame_only) == 1 + 2 * len(FRAME_FAULTS)


# --- usage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--junit", "x.xml"], "--junit goes with --check-client"),
        (["--", "echo"], "a command is run only with --check-client"),
        (["--check-client"], "--check-client needs a command after '--'"),
        (["--check-client", "--once", "--", "true"], "cannot be combined with --once"),
        (["--upstream", "ws://127.0.0.1:1/", "--fault", "no-accept"], "it takes only frame faults"),
        (["--listen", "localhost"], "'localhost' is not HOST:PORT"),
        (["--listen", "::1:80"], "an IPv6 address goes in brackets"),
        (["--fault", "nonsense"], "'nonsense' is not a fault; the faults are:"),
        (["--upstream", "ftp://x/"], "is not a ws:// or wss:// URL"),
        (["--grace", "nan"], "is not a number of seconds"),
    ],
)
def test_usage_errors_are_one_line(run: Run, args: list[str], message: str) -> None:
    result = run("serve", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cert_needs_key_and_a_bad_listen_address(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    result = run_script(["serve", "--cert", str(cert)])
    assert result.returncode == 2
    assert b"--cert and --key go together" in result.stderr
    result = run_script(["serve", "--cert", str(cert), "--key", str(cert)])
    assert result.returncode == 2
    assert result.stderr.startswith(b"wsaccept: error: cannot use --cert")
    result = run_script(["serve", "--listen", "192.0.2.1:0"])  # not an address of this machine
    assert result.returncode == 2
    assert result.stderr.startswith(b"wsaccept: error: cannot listen on 192.0.2.1:0: ")
    assert b"Traceback" not in result.stderr


def test_listen_address() -> None:
    assert listen_address("127.0.0.1:0") == ("127.0.0.1", 0)
    assert listen_address("[::1]:8080") == ("::1", 8080)
    for bad in ("127.0.0.1", ":80", "h:99999", "h:x"):
        with pytest.raises(ValueError, match="is not HOST:PORT"):
            listen_address(bad)


# --- serving one client ---------------------------------------------------------------------


def test_once_with_a_correct_client_prints_the_url_first_and_passes() -> None:
    with serving(["--once"]) as served:
        assert served.url.startswith("ws://127.0.0.1:")
        connection, head = raw_client(served.port, handshake_request(served.port))
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert f"Sec-WebSocket-Accept: {accept_for(RFC_KEY.encode()).decode()}".encode() in head
        connection.sendall(frame(0x1, b"hello"))
        assert recv_exactly(connection, 7) == b"\x81\x05hello"  # echoed, unmasked
        connection.sendall(frame(0x9, b"p"))
        assert recv_exactly(connection, 3) == b"\x8a\x01p"  # a ping is answered with a pong
        connection.sendall(frame(0x8, (1000).to_bytes(2, "big")))
        assert recv_exactly(connection, 4) == b"\x88\x02\x03\xe8"  # Close answered politely
        connection.close()
        assert served.wait() == 0
    lines = served.stdout.decode().splitlines()
    assert lines[0] == served.url
    assert lines[1].startswith("handshake 1: serve, connection 1 from 127.0.0.1:")
    assert lines[1].endswith(", GET /chat: pass — 8 passed, 1 info")
    assert (
        "  info  serve.answer           §4.2.2   answered with a correct 101 Switching Protocols"
        in lines
    )
    assert any(
        line.startswith("  pass  client.verdict ")
        and line.endswith(
            "the client accepted it (sent a text frame); a correct handshake must be accepted"
        )
        for line in lines
    )
    assert served.stderr == b""


def test_a_client_that_refuses_a_fault_passes_and_one_that_accepts_it_fails() -> None:
    with serving(["--once", "--fault", "accept-sha256", "--format", "json"]) as served:
        connection, head = raw_client(served.port, handshake_request(served.port))
        wrong = base64.b64encode(hashlib.sha256(RFC_KEY.encode() + GUID).digest())
        assert b"Sec-WebSocket-Accept: " + wrong + b"\r\n" in head
        connection.close()  # refused: closed without a frame
        assert served.wait() == 0
    records = [json.loads(line) for line in served.stdout.splitlines()]
    assert records[0] == {"event": "listening", "url": served.url}
    record = records[1]
    assert (record["event"], record["fault"], record["client"]) == (
        "connection",
        "accept-sha256",
        "refused",
    )
    assert record["client_detail"] == "closed the connection without sending a frame"
    assert record["correct"] == "refuse"  # a string, as in score events and --list-faults
    assert record["verdict"] == "pass"
    assert record["request"][0] == "GET /chat HTTP/1.1"
    assert record["response"][0] == "HTTP/1.1 101 Switching Protocols"

    with serving(["--once", "--fault", "accept-sha256"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        connection.sendall(frame(0x2, b"\x00\xff"))
        assert recv_exactly(connection, 4) == b"\x82\x02\x00\xff"
        connection.close()
        assert served.wait() == 1
    verdict = (
        "  fail  client.verdict         §4.1     the client accepted it (sent a binary frame);"
    )
    assert f"{verdict} a correct client must refuse: RFC 6455 §4.1" in served.stdout.decode()


def test_a_client_that_keeps_the_connection_open_accepted() -> None:
    with serving(["--once", "--fault", "no-accept", "--grace", "0.3"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        time.sleep(0.6)
        connection.close()
        assert served.wait() == 1
    assert (
        "the client accepted it (kept the connection open for 0.3 s without a frame)"
        in served.stdout.decode()
    )


@pytest.mark.parametrize(
    ("code", "verdict", "detail"),
    [
        (1002, "refused", "failed the connection with a Close frame, code 1002"),
        (1000, "accepted", "sent a Close frame (code 1000) before any data"),
    ],
)
def test_a_close_frame_first(code: int, verdict: str, detail: str) -> None:
    with serving(["--once", "--fault", "no-upgrade", "--format", "json"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        connection.sendall(frame(0x8, code.to_bytes(2, "big")))
        assert recv_exactly(connection, 2) == b"\x88\x02"
        connection.close()
        served.wait()
    record = json.loads(served.stdout.splitlines()[1])
    assert (record["client"], record["client_detail"]) == (verdict, detail)


def test_bytes_that_are_no_frame_and_a_frame_wsproto_refuses() -> None:
    with serving(["--once", "--fault", "status-200", "--format", "json"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        connection.sendall(b"GET / HTTP/1.1\r\n\r\n")  # a client that took it for plain HTTP
        time.sleep(0.3)
        connection.close()
        served.wait()
    record = json.loads(served.stdout.splitlines()[1])
    assert (record["client"], record["client_detail"]) == (
        "refused",
        "sent bytes that are not a WebSocket frame",
    )
    with serving(["--once", "--format", "json"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        connection.sendall(b"\x81\x05hello")  # an unmasked client frame: still a data frame
        time.sleep(0.3)
        connection.close()
        served.wait()
    record = json.loads(served.stdout.splitlines()[1])
    assert record["client"] == "accepted"
    assert record["client_detail"].startswith("sent a text frame (")


def wait_for(seen: list[ServedConnection], count: int) -> list[ServedConnection]:
    """The first `count` connections reported, within 10 s."""
    deadline = time.monotonic() + 10
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(seen) >= count, f"{len(seen)} of {count} connections reported"
    return sorted(seen[:count], key=lambda connection: connection.number)


def test_a_request_that_is_no_handshake_gets_400_or_426_and_fails() -> None:
    with server_thread(ServeOptions(head_timeout=1)) as (url, seen):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        no_key = handshake_request(port).replace(b"Sec-WebSocket-Key", b"X-Key")
        connection, head = raw_client(port, no_key)
        connection.close()
        assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        wait_for(seen, 1)
        version = handshake_request(port).replace(b"Version: 13", b"Version: 8")
        connection, head = raw_client(port, version)
        connection.close()
        assert head.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
        assert b"Sec-WebSocket-Version: 13\r\n" in head
        wait_for(seen, 2)
        with socket.create_connection(("127.0.0.1", port)) as garbage:
            garbage.sendall(b"\x01\x02\x03 hello\r\n\r\n")  # a TLS hello: test_wrong_protocol
            assert garbage.recv(100).startswith(b"HTTP/1.1 400 Bad Request")
        wait_for(seen, 3)
        socket.create_connection(("127.0.0.1", port)).close()
        wait_for(seen, 4)
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\n")  # and nothing more within head_timeout
            connections = wait_for(seen, 5)
    reports = [serve_report(connection) for connection in connections]
    assert [report.verdict for report in reports] == ["fail"] * 5
    findings = [{f.rule: f.message for f in report.findings} for report in reports]
    assert findings[0]["request.key"] == "no Sec-WebSocket-Key header"
    assert findings[0]["serve.answer"] == (
        "answered 400 Bad Request: not a WebSocket handshake (RFC 6455 §4.1):"
        " not exactly one Sec-WebSocket-Key"
    )
    assert findings[0]["client.verdict"] == "the request is no WebSocket handshake: not upgraded"
    assert findings[1]["serve.answer"].startswith("answered 426 Upgrade Required")
    assert findings[2]["request"] == "what came is no HTTP request"
    assert findings[3]["request"] == (
        "no request: the peer closed the connection without sending anything"
    )
    assert findings[4]["request"] == "no request: no complete head within 1 s (16 bytes came)"


def test_repeated_faults_take_turns() -> None:
    faults = (BY_NAME["no-accept"], BY_NAME["bare-lf"])
    with server_thread(ServeOptions(faults=faults, grace=0.2)) as (url, seen):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        heads = []
        for _ in range(3):
            connection, head = raw_client(port, handshake_request(port))
            heads.append(head)
            connection.close()
        connections = wait_for(seen, 3)
    assert b"Sec-WebSocket-Accept" not in heads[0]
    assert heads[1].startswith(b"HTTP/1.1 101 Switching Protocols\nUpgrade")
    assert b"Sec-WebSocket-Accept" not in heads[2]
    assert [c.fault.name for c in connections if c.fault] == ["no-accept", "bare-lf", "no-accept"]
    assert {(c.behaviour, c.client_ok) for c in connections} == {("refused", True)}


def test_ctrl_c_ends_serve_quietly() -> None:
    with serving(["--fault", "no-accept"]) as served:
        connection, _ = raw_client(served.port, handshake_request(served.port))
        connection.close()
        heading = read_first_line(served.process.stdout, 10)  # the connection's report
        assert served.stop() == -signal.SIGINT  # ended by the signal itself: $? is 130
    assert heading.startswith(b"handshake 1: serve, connection 1 from 127.0.0.1:")
    assert served.stderr == b""


async def _websockets_session(url: str, context: ssl.SSLContext | None) -> list[object]:
    got: list[object] = []
    async with connect(url, ssl=context, subprotocols=["chat"]) as ws:  # type: ignore[list-item]
        got.append(ws.subprotocol)
        for message in ("text", b"\x00binary\xff", "x" * 100_000):
            await ws.send(message)
            got.append(await ws.recv())
        pong = await ws.ping(b"ping")
        await asyncio.wait_for(pong, 5)
    got.append(ws.close_code)
    return got


def test_wss_with_a_certificate_echoes_for_the_websockets_client(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with serving(
        ["--once", "--cert", str(cert), "--key", str(key), "--format", "rich", "--no-color"]
    ) as served:
        assert served.url.startswith("wss://127.0.0.1:")
        got = asyncio.run(_websockets_session(served.url, context))
        assert served.wait() == 0
    assert got == ["chat", "text", b"\x00binary\xff", "x" * 100_000, 1000]
    text = served.stdout.decode()
    assert "PASS" in text
    assert "client.verdict" in text


# --- --check-client -------------------------------------------------------------------------


def test_check_client_scores_a_strict_client_and_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    faults = ["--fault", "accept-sha256", "--fault", "protocol-missing", "--fault", "status-200"]
    result = run_script(
        ["serve", "--check-client", *faults, "--junit", str(junit), "--",
         PY, str(CLIENTS / "py_websockets.py"), "{url}"],
        timeout=60,
    )  # fmt: skip
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("ws://127.0.0.1:")
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["pass", "none"],
        ["pass", "request"],
        ["pass", "accept-sha256"],
        ["skip", "protocol-missing"],
        ["pass", "status-200"],
    ]
    assert lines[2].split(None, 6) == [
        "pass", "request", "correct:", "valid", "client:", "valid", "every request rule passes"
    ]  # fmt: skip
    assert lines[4].split(None, 6) == [
        "skip", "protocol-missing", "correct:", "either", "client:", "n/a",
        "the client offered no subprotocol",
    ]  # fmt: skip
    assert lines[-1] == "check-client: pass: all 4 checks passed"
    assert result.returncode == 0
    suite = ElementTree.parse(junit).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "testsuite", "5", "0", "1",
    )  # fmt: skip
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "none",
        "request",
        "accept-sha256",
        "protocol-missing",
        "status-200",
    ]
    out = cases[2].find("system-out")
    assert out is not None
    assert out.text is not None
    assert out.text.startswith("refused: InvalidHeaderValue")


def test_check_client_fails_a_client_that_ignores_the_accept(tmp_path: Path) -> None:
    """A client that sends its request, ignores the answer and sends a frame: curl's way."""
    script = tmp_path / "blind.py"
    script.write_text(
        "import os, socket, sys\n"
        "host, port = os.environ['WSACCEPT_URL'][5:].split('/')[0].split(':')\n"
        "s = socket.create_connection((host, int(port)))\n"
        f"s.sendall({handshake_request(0)!r})\n"
        "s.recv(4096)\n"
        f"s.sendall({frame(1, b'hi')!r})\n"
        "s.recv(100)\n"
    )
    junit = tmp_path / "junit.xml"
    result = run_script(
        ["serve", "--check-client", "--fault", "accept-hex", "--format", "json",
         "--junit", str(junit), "--", PY, str(script)],
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    rows = {r["fault"]: r for r in records if r.get("event") == "score"}
    assert rows["none"]["result"] == "pass"
    assert rows["request"]["result"] == "pass"
    assert (rows["accept-hex"]["client"], rows["accept-hex"]["result"]) == ("accepted", "fail")
    assert rows["accept-hex"]["detail"] == "sent a text frame"
    assert records[-1] == {
        "event": "summary",
        "verdict": "fail",
        "checks": 3,
        "failed": ["accept-hex"],
    }
    failure = ElementTree.parse(junit).getroot().find("testcase[@name='accept-hex']/failure")
    assert failure is not None
    assert (
        failure.get("message")
        == "correct client: refuse; this client: accepted (sent a text frame)"
    )


def test_check_client_with_a_client_that_never_connects_or_hangs(tmp_path: Path) -> None:
    result = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--", "/nonexistent/client", "{url}"]
    )
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[1].split(None, 6) == [
        "fail", "none", "correct:", "accept", "client:", "nothing",
        "the client made no connection (it exited with status 127)",
    ]  # fmt: skip
    started = time.monotonic()
    result = run_script(
        ["serve", "--check-client", "--fault", "no-accept", "--timeout", "0.5", "--format", "rich",
         "--color", "--", PY, "-c", "import time; time.sleep(30)"],
    )  # fmt: skip
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    text = result.stdout.decode()
    assert "the client made no connection (it was killed after 0.5 s)" in text
    assert "\x1b[31mfail\x1b[0m  none " in text  # rich, in colour
    assert "check-client: fail: 2 of 2 checks failed (none, no-accept)" in text


def test_signal_stops_serve_with_its_exit_status() -> None:
    with serving([]) as served:
        served.process.send_signal(signal.SIGTERM)
        assert served.wait() in (143, -signal.SIGTERM)
    assert served.stderr == b""
    assert os.environ.get("WSACCEPT_URL") is None


def test_a_wrong_accept_that_happens_to_be_right_is_no_fault() -> None:
    """The URL-safe alphabet changes only '+' and '/': for a key whose accept has neither, the
    fault would be the correct answer, and is said not to apply."""
    key = next(
        k for k in (base64.b64encode(bytes([i]) * 16).decode() for i in range(256))
        if not set(accept_for(k.encode()).decode()) & set("+/")
    )  # fmt: skip
    request = request_message("chat")
    request.headers = [(n, key if n == "Sec-WebSocket-Key" else v) for n, v in request.headers]
    answer, skipped = answer_for(request, BY_NAME["accept-urlsafe"])
    assert skipped == "for this key the fault makes the right accept"
    assert answer.to_bytes() == answer_for(request, None)[0].to_bytes()


def test_ctrl_c_during_check_client_kills_the_client_and_what_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}; sleep 60"
    process = subprocess.Popen(
        [script_path(), "serve", "--check-client", "--", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    read_first_line(process.stdout, 20)
    deadline = time.monotonic() + 10
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = [int(pid) for pid in pids.read_text().split()]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == -signal.SIGINT
    assert stderr == b""
    for pid in started:  # the client and the process it left in the background: both ended
        assert process_state(pid) in (None, "Z"), pid  # gone, or a zombie no one reaped yet


def process_state(pid: int) -> str | None:
    """A process's state letter (R, S, Z, …), or None when there is no such process."""
    deadline = time.monotonic() + 5
    while True:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return None
        state = next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))
        if state == "Z" or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


# --- the reference server's strict request validation (found by `wsaccept audit`, #25) -------

STRICT_REFUSALS = [
    # (how the valid request is changed, the reason serve gives in its 400's body)
    ((b"HTTP/1.1\r\n", b"HTTP/1.0\r\n", 1), "the HTTP version is not 1.1 or a later 1.x"),
    ((b"Host: 127.0.0.1", b"X-Host: 127.0.0.1", 1), "no Host header (RFC 9112 §3.2)"),
    ((b"Upgrade:", b"Host: a\r\nUpgrade:", 1), "more than one Host header (RFC 9112 §3.2)"),
    ((b"Host: 127.0.0.1", b"Host: a@127.0.0.1", 1), "the Host header is not host[:port]"),
    ((b"Host: 127.0.0.1", b"Host: \r\nX: 127.0.0.1", 1), "the Host header is empty"),
    ((b"GET /chat", b"GET *", 1), "the request target is neither a path nor an absolute URI"),
    ((b"GET /chat", b"GET /chat#x", 1), "the request target has a fragment"),
    ((b"Upgrade:", b"X-Audit : 1\r\nUpgrade:", 1), "a header line is not `name: value`"),
    ((b"Upgrade:", b"X-Audit: 1\r\n 2\r\nUpgrade:", 1), "a header line is folded"),
    ((b"\r\nUpgrade", b"\nUpgrade", 1), "a line ends in a bare LF"),
    ((b"Upgrade:", b"X-Audit: a\x00b\r\nUpgrade:", 1), "a header line holds a bare CR or a NUL"),
    ((b"Upgrade:", b"Content-Length: 5\r\nUpgrade:", 1), "the request has content"),
    ((b"Upgrade:", b"Content-Length: 0\r\nContent-Length: 0\r\nUpgrade:", 1), "more than one"),
    ((b"Upgrade:", b"Content-Length: -1\r\nUpgrade:", 1), "a Content-Length is not a number"),
    ((b"Upgrade:", b"Transfer-Encoding: chunked\r\nUpgrade:", 1), "has a Transfer-Encoding"),
]


@pytest.mark.parametrize(("change", "reason"), STRICT_REFUSALS)
def test_serve_refuses_what_a_strict_server_refuses(
    change: tuple[bytes, bytes, int], reason: str
) -> None:
    """RFC 6455 §4.1 wants HTTP/1.1 or later; RFC 9112 §3.2 a 400 for a missing, repeated or
    invalid Host; RFC 9112 §5.1 a 400 for whitespace before a colon; the rest are the shapes two
    parsers read differently (request smuggling), which the reference server refuses."""
    with server_thread(ServeOptions(head_timeout=1)) as (url, seen):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        request = handshake_request(port).replace(*change)
        connection, head = raw_client(port, request)
        body = connection.recv(4096) if b"Content-Length" in head else b""
        connection.close()
        assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), head
        assert reason in (head + body).decode("utf-8"), head + body  # a UTF-8 body
        (served,) = wait_for(seen, 1)
        assert served.behaviour is None


def test_serve_accepts_what_a_strict_server_accepts() -> None:
    """HTTP/1.2, an absolute-form target, Content-Length: 0 and OWS around values upgrade."""
    with server_thread(ServeOptions(head_timeout=1, grace=0.1)) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        for change in (
            (b"HTTP/1.1\r\n", b"HTTP/1.2\r\n", 1),
            (b"GET /chat", f"GET http://127.0.0.1:{port}/chat".encode(), 1),
            (b"Upgrade:", b"Content-Length: 0\r\nUpgrade:", 1),
            (b"Upgrade: websocket", b"Upgrade: \t websocket \t", 1),
        ):
            connection, head = raw_client(port, handshake_request(port).replace(*change))
            connection.close()
            assert head.startswith(b"HTTP/1.1 101 "), (change, head)


def test_serve_answers_an_oversized_head_with_431() -> None:
    with server_thread(ServeOptions(head_timeout=2)) as (url, seen):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        big = b"X-Big: " + b"a" * (70 * 1024) + b"\r\n"
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(handshake_request(port).replace(b"Upgrade:", big + b"Upgrade:"))
        head = connection.recv(4096)
        connection.close()
        assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        (served,) = wait_for(seen, 1)
        assert served.error == "no request: the head is over 64 KiB"


def test_a_refusal_body_is_utf8_and_says_so() -> None:
    from wsaccept_cli.net.serve import _refusal

    answer = _refusal(400, "Bad Request", "Host is 'bücher'")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in head
    assert head.endswith(f"\r\nContent-Length: {len(body)}".encode())
    assert body.decode("utf-8") == "Host is 'bücher'\n"
    with server_thread(ServeOptions(head_timeout=1)) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        no_key = handshake_request(port).replace(b"Sec-WebSocket-Key", b"X-Key")
        connection, head = raw_client(port, no_key)
        connection.settimeout(5)
        head += connection.recv(1000)
        connection.close()
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in head
    body = head.partition(b"\r\n\r\n")[2]
    assert body.decode("utf-8").startswith("not a WebSocket handshake (RFC 6455 §4.1): ")
    assert f"\r\nContent-Length: {len(body)}\r\n".encode() in head


def test_fault_none_an_unknown_fault_and_an_unwritable_junit(run: Run, tmp_path: Path) -> None:
    unknown = run("serve", "--fault", "nope")
    assert unknown.exit_code == 2
    lines = unknown.stderr.splitlines()
    start = lines.index(
        "Error: Invalid value for '--fault': 'nope' is not a fault; the faults are:"
    )
    columns = lines[start + 1 :]
    assert 5 < len(columns) < 30  # in columns, not one long line
    assert all(len(line) <= 100 for line in columns)
    assert "none" in " ".join(columns).split()
    assert "accept-hex" in " ".join(columns).split()
    junit = run("serve", "--check-client", "--junit", str(tmp_path / "no" / "x.xml"), "--", "true")
    assert junit.exit_code == 2
    assert junit.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--junit': '{tmp_path / 'no' / 'x.xml'}' cannot be written:"
        f" '{tmp_path / 'no'}' is no directory"
    )
    assert "ws://" not in junit.stdout  # no client ran
    command = [sys.executable, "-c", "import sys; sys.exit(0)"]
    only_correct = run_script(["serve", "--check-client", "--fault", "none", "--", *command])
    rows = only_correct.stdout.decode().splitlines()[1:]
    assert [row.split()[:2] for row in rows[:-1]] == [["fail", "none"]]
    assert rows[-1] == "check-client: fail: 1 of 1 checks failed (none)"

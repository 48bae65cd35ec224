"""A client that speaks another protocol than the port: TLS or HTTP/2 with prior knowledge to
`serve`'s plain ws:// port, and `probe wss://` to servers that speak plain HTTP. Both sides say
so at once, instead of waiting out a timeout."""

from __future__ import annotations

import json
import time

from tests.helpers import run_script
from tests.hostile_server import HostileServer
from tests.peers import EchoServer
from tests.serve_helpers import serving


def probe(*args: str) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    done = run_script(["probe", "--format", "json", *args], timeout=30)
    return done.returncode, json.loads(done.stdout), time.monotonic() - started


def last_finding(record: dict[str, object]) -> tuple[str, str]:
    findings = record["findings"]
    assert isinstance(findings, list)
    return findings[-1]["rule"], findings[-1]["message"]


def test_tls_and_an_http2_preface_on_serve_s_plain_port() -> None:
    with serving([]) as served:
        port = served.url.removeprefix("ws://")
        tls_code, tls, tls_seconds = probe("--timeout", "5", f"wss://{port}")
        h2_code, h2, h2_seconds = probe("--timeout", "5", "--http2", f"ws://{port}")
        served.stop()
    assert (tls_code, tls["outcome"]) == (4, "tls_failed")
    assert last_finding(tls) == (
        "tls_failed",
        "TLS failed: WRONG_VERSION_NUMBER (the server answered in plain text, not TLS: it speaks"
        " plain HTTP on this port, so try a ws:// URL)",
    )
    assert (h2_code, h2["outcome"]) == (1, "handshake_failed")
    assert last_finding(h2)[0] == "h2.goaway"
    assert "HTTP_1_1_REQUIRED" in last_finding(h2)[1]
    assert tls_seconds < 4  # at once, not at the 5 s timeout
    assert h2_seconds < 4
    lines = served.stdout.decode().splitlines()
    assert [line for line in lines if line.startswith("  fail")] == [
        "  fail  request                §4.1     a TLS ClientHello on a ws:// port: the client"
        " used wss://",
        "  fail  request                §4.1     an HTTP/2 connection preface (PRI *) on a port"
        " that speaks HTTP/1.1: the client used HTTP/2 with prior knowledge; answered GOAWAY"
        " HTTP_1_1_REQUIRED",
    ]


def test_probe_wss_to_a_plain_websockets_server_that_hangs_up() -> None:
    with EchoServer() as server:
        code, record, _ = probe("--timeout", "5", f"wss://127.0.0.1:{server.port}/")
    assert (code, record["outcome"]) == (4, "tls_failed")
    rule, message = last_finding(record)
    assert rule == "tls_failed"
    assert message.startswith("TLS failed: ")
    assert message.endswith(
        " (the server closed the connection without a TLS answer: it probably does not speak"
        " TLS on this port, so try a ws:// URL, or it refused this TLS hello)"
    )


def test_probe_wss_to_a_plain_server_that_waits_for_the_rest_of_a_request() -> None:
    with HostileServer(lambda peer: peer.hold(3), read_request=False) as server:
        code, record, seconds = probe("--timeout", "1", server.url(scheme="wss"))
    assert (code, record["outcome"]) == (5, "timeout")
    assert last_finding(record) == (
        "timeout",
        "no answer to the TLS handshake within 1 s: a server that speaks plain HTTP on this"
        " port waits like this for the rest of a request; if it does, use a ws:// URL",
    )
    assert seconds < 3


def test_an_http10_server_is_reported_by_its_status_first() -> None:
    """`python -m http.server` answers HTTP/1.0 200 with a directory listing: the first
    finding is the status, and HTTP/1.0 is the server's own (no proxy shows), not a proxy's."""
    import subprocess
    import sys

    from tests.peers import free_port, wait_for_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )
    try:
        wait_for_port(port, server)
        done = run_script(["probe", "--timeout", "5", f"ws://127.0.0.1:{port}/"], timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    failures = [line for line in lines if line.startswith("  fail")]
    assert failures[0].startswith("  fail  response.status        §4.1     status 200 OK, not 101")
    assert failures[1] == (
        "  fail  response.http_version  §4.1     HTTP/1.0: a handshake needs HTTP/1.1 or later;"
        " the server answered in HTTP/1.0, which has no protocol switch"
    )


def test_http_and_https_urls_are_taken_as_ws_and_wss_with_a_note() -> None:
    """As `new WebSocket("http://…")` does in browsers (WHATWG WebSockets Standard)."""
    from wsaccept_cli.core.request import RequestTarget

    secure = RequestTarget("HTTPS://example.com/chat?x=1")
    assert (secure.secure, secure.port, secure.display_url) == (
        True,
        443,
        "wss://example.com/chat?x=1",
    )
    assert secure.scheme_note is not None
    assert secure.scheme_note.startswith("https:// is taken as wss://")
    assert RequestTarget("ws://example.com/").scheme_note is None
    with serving([]) as served:
        done = run_script(["probe", "--timeout", "5", served.url.replace("ws://", "http://")])
        served.stop()
    assert done.returncode == 0
    lines = done.stdout.decode().splitlines()
    start = lines.index(f"handshake 1: probe, {served.url}: pass — 13 passed, 1 info")
    assert lines[start + 1] == (
        "  info  request.url            §3       http:// is taken as ws://, as the WebSocket"
        " constructor of browsers takes it (WHATWG WebSockets Standard, new WebSocket(url))"
    )

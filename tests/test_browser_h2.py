"""The RFC 8441 rules against a real client: headless Chromium opening a WebSocket over HTTP/2.

An HTTP/2 server written with `h2` (TLS, ALPN h2, SETTINGS_ENABLE_CONNECT_PROTOCOL = 1) serves a
page that opens `wss://` to the same origin; Chromium sends the extended CONNECT on the page's
HTTP/2 connection, the server records its header list and accepts, and the browser's first frame
tells that it took the answer. Then `inspect` must pass both the request Chromium sent and the
server's answer, pasted as developer tools show them: the rules agree with a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time

import h2.connection
import pytest
import trustme

from tests.h2_servers import RequestHeaders, StreamRecorder, h2_behaviour, tls_server
from tests.helpers import Run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE = b"""<!doctype html><script>
const ws = new WebSocket("wss://localhost:%d/chat", ["chat"]);
ws.onopen = () => ws.send("hello");
</script>"""
ANSWER = [(b":status", b"200"), (b"sec-websocket-protocol", b"chat")]


class Browser:
    """The requests the browser made, and the header list of its extended CONNECT."""

    def __init__(self) -> None:
        self.port = 0
        self.connect: RequestHeaders = []

    def answer(
        self, server: h2.connection.H2Connection, stream: int, headers: RequestHeaders
    ) -> None:
        fields = dict(headers)
        if fields.get(b":method") == b"CONNECT":
            self.connect = headers
            server.send_headers(stream, ANSWER)
            return
        page = PAGE % self.port
        server.send_headers(stream, [(b":status", b"200"), (b"content-type", b"text/html")])
        server.send_data(stream, page if fields.get(b":path") == b"/" else b"", end_stream=True)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (CI installs it)")
def test_chromium_extended_connect_passes_the_rules(run: Run) -> None:
    browser = Browser()
    recorder = StreamRecorder()
    ca = trustme.CA()
    behave = h2_behaviour(1, browser.answer, recorder)
    with tls_server(ca, behave, ["h2", "http/1.1"]) as port, tempfile.TemporaryDirectory() as home:
        browser.port = port
        process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={home}", "--ignore-certificate-errors",
             "--host-resolver-rules=MAP localhost 127.0.0.1", f"https://localhost:{port}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            end = time.monotonic() + 30
            while not recorder.data and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            process.kill()
            process.wait(timeout=10)
    assert recorder.data, "Chromium sent no WebSocket frame over HTTP/2 within 30 s"
    names = [name for name, _ in browser.connect]
    assert names[0] == b":method"
    assert b":protocol" in names
    capture = pasted(browser.connect) + "\n" + pasted(ANSWER)
    result = run("inspect", "--format", "json", "-", input=capture)
    record = json.loads(result.stdout)
    assert result.exit_code == 0, record["findings"]
    assert record["verdict"] == "pass"
    rules = {f["rule"]: f["status"] for f in record["findings"]}
    assert rules["request.h2_protocol"] == rules["response.h2_status"] == "pass"
    assert rules["response.protocol"] == "pass"


def pasted(headers: RequestHeaders) -> str:
    """A header list as developer tools show it: `name: value` lines."""
    return "".join(f"{name.decode()}: {value.decode()}\n" for name, value in headers)

"""The RFC 8441 rules and client predictions against real browsers opening WebSockets over HTTP/2.

An HTTP/2 server written with `h2` (TLS, ALPN h2, SETTINGS_ENABLE_CONNECT_PROTOCOL = 1) serves a
page that opens `wss://` to the same origin, once per case of `CASES`, each on its own path and
answered its own way. The browser sends each extended CONNECT on the page's HTTP/2 connection;
the server records its header list and answers. A browser that took the answer sends a frame on
that stream (accepted); one that did not reports the WebSocket's `error` to the server with a
fetch and sends no frame (refused); anything else is pending, waited for (bounded) and never
counted as a refusal. Each case's outcome must equal `predict_clients` on the browser's real
request and the server's answer, and `inspect` must pass the accepted handshake pasted as
developer tools show it: the rules and the predictions agree with the browsers.

Firefox ESR needs the test CA in a fresh profile (`certutil`, Debian's libnss3-tools) and the
prefs of `tests.client_corpus` that keep it off the network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import h2.connection
import pytest
import trustme

from tests.client_corpus import browser_command
from tests.h2_servers import RequestHeaders, StreamRecorder, h2_behaviour, tls_server
from tests.helpers import Run, stop_process
from wsaccept_cli.core.clients import predict_clients
from wsaccept_cli.core.handshake import Handshake, Message

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIREFOX = shutil.which("firefox-esr")
CERTUTIL = shutil.which("certutil")
CHAT = (b"sec-websocket-protocol", b"chat")
# Each case: the path the page opens (offering the subprotocol `chat`) and the server's answer.
CASES: dict[str, list[tuple[bytes, bytes]]] = {
    "ok": [(b":status", b"200"), CHAT],
    "no-subprotocol": [(b":status", b"200")],
    "other-subprotocol": [(b":status", b"200"), (b"sec-websocket-protocol", b"other")],
    "status-204": [(b":status", b"204")],
    "status-403": [(b":status", b"403")],
    "unknown-extension": [(b":status", b"200"), CHAT, (b"sec-websocket-extensions", b"x-foo")],
    "deflate": [(b":status", b"200"), CHAT, (b"sec-websocket-extensions", b"permessage-deflate")],
    "bad-deflate": [
        (b":status", b"200"),
        CHAT,
        (b"sec-websocket-extensions", b"permessage-deflate; bogus"),
    ],
}
PAGE = """<!doctype html><script>
for (const name of %s) {
  const ws = new WebSocket("wss://localhost:%d/" + name, ["chat"]);
  let opened = false;
  ws.onopen = () => { opened = true; ws.send("hello"); };
  ws.onerror = () => { if (!opened) fetch("/report/" + name + "/error"); };
}
</script>"""
BUDGET = 15  # seconds for every case to settle


class Server:
    """The browser's extended CONNECTs by case, the stream of each, and its reported errors."""

    def __init__(self, recorder: StreamRecorder) -> None:
        self.port = 0
        self.recorder = recorder
        self.connects: dict[str, RequestHeaders] = {}
        self.streams: dict[str, int] = {}
        self.errors: set[str] = set()

    def answer(
        self, server: h2.connection.H2Connection, stream: int, headers: RequestHeaders
    ) -> None:
        fields = dict(headers)
        path = fields.get(b":path", b"/").decode()
        name = path.strip("/")
        if fields.get(b":method") == b"CONNECT" and name in CASES:
            self.connects[name], self.streams[name] = headers, stream
            # a 2xx keeps the stream open, as a server that takes any 2xx (RFC 8441 §5) would
            refused = not dict(CASES[name])[b":status"].startswith(b"2")
            server.send_headers(stream, CASES[name], end_stream=refused)
            return
        if path.startswith("/report/"):
            self.errors.add(path.split("/")[2])
        page = (PAGE % (json.dumps(list(CASES)), self.port)).encode()
        server.send_headers(stream, [(b":status", b"200"), (b"content-type", b"text/html")])
        server.send_data(stream, page if path == "/" else b"", end_stream=True)

    def outcome(self, name: str) -> str | None:
        if self.streams.get(name) in self.recorder.streams:
            return "accepted"
        return "refused" if name in self.errors else None

    def outcomes(self) -> dict[str, str | None]:
        return {name: self.outcome(name) for name in CASES}


def launch(browser: str, profile: str, ca: trustme.CA, port: int) -> list[str]:
    url = f"https://localhost:{port}/"
    if browser == "Chromium":
        command = browser_command(browser, profile, url)
        extra = ["--ignore-certificate-errors", "--host-resolver-rules=MAP localhost 127.0.0.1"]
        return [*command[:-1], *extra, url]
    pem = Path(profile, "ca.pem")
    ca.cert_pem.write_to_path(str(pem))
    database = f"sql:{profile}"
    subprocess.run([str(CERTUTIL), "-N", "-d", database, "--empty-password"], check=True)
    add = [str(CERTUTIL), "-A", "-d", database, "-n", "wsaccept-test", "-t", "C,,", "-i", str(pem)]
    subprocess.run(add, check=True)
    command = browser_command(browser, profile, url)
    with Path(profile, "user.js").open("a") as prefs:
        prefs.write('user_pref("network.http.http2.websockets", true);\n')
        prefs.write('user_pref("network.http.http3.enable", false);\n')
    return command


def observe(browser: str, server: Server, ca: trustme.CA) -> dict[str, str | None]:
    """One browser process, one page opening every case; waits at most BUDGET seconds."""
    behave = h2_behaviour(1, server.answer, server.recorder)
    with tls_server(ca, behave, ["h2", "http/1.1"]) as port, tempfile.TemporaryDirectory() as home:
        server.port = port
        env = {**os.environ, "HOME": home, "MOZ_CRASHREPORTER_DISABLE": "1"}
        process = subprocess.Popen(
            launch(browser, home, ca, port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            end = time.monotonic() + BUDGET
            while None in server.outcomes().values() and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            stop_process(process)
    return server.outcomes()


def predicted(browser: str, connect: RequestHeaders, answer: RequestHeaders) -> str:
    handshake = Handshake(message("request", connect), message("response", answer), "test")
    verdict = next(v for v in predict_clients(handshake) if v.client == browser)
    return "accepted" if verdict.accepts else f"refused ({verdict.reason})"


def message(kind: str, headers: RequestHeaders) -> Message:
    result = Message(kind, None)
    for name, value in headers:
        result.add_header(name.decode(), value.decode())
    result.version = "2"
    return result


def available(browser: str) -> bool:
    if browser == "Chromium":
        return CHROMIUM is not None
    return FIREFOX is not None and CERTUTIL is not None


@pytest.mark.slow
@pytest.mark.parametrize("browser", ["Chromium", "Firefox"])
def test_browser_over_http2_does_what_wsaccept_predicts(run: Run, browser: str) -> None:
    if not available(browser):
        pytest.skip(f"needs {browser} (and certutil for Firefox; CI installs them)")
    ca = trustme.CA()
    server = Server(StreamRecorder())
    outcomes = observe(browser, server, ca)
    pending = [name for name, outcome in outcomes.items() if outcome is None]
    assert not pending, f"{browser}: no outcome within {BUDGET} s for {pending}: {outcomes}"
    differences = {
        name: (outcome, predicted(browser, server.connects[name], CASES[name]))
        for name, outcome in outcomes.items()
        if not predicted(browser, server.connects[name], CASES[name]).startswith(str(outcome))
    }
    assert not differences, f"{browser} did (left) what wsaccept did not predict: {differences}"
    assert outcomes["ok"] == "accepted"
    connect = server.connects["ok"]
    names = [name for name, _ in connect]
    assert names[0] == b":method"
    assert b":protocol" in names
    capture = pasted(connect) + "\n" + pasted(CASES["ok"])
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

"""`inspect` of real captures: tcpdump on the loopback interface (and on `any`, Linux cooked
SLL2) recording real clients and servers, all in one session so tcpdump and Chromium start once.
tshark, an independent dissector, must find the same handshakes with the same status."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import dpkt
import pytest
import trustme
from aiohttp import web
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from tests.captures import (
    Tcpdump,
    capturing_allowed,
    tshark_extended_connects,
    tshark_handshakes,
)
from tests.client_corpus import browser_available, browser_command, node_available
from tests.h2_servers import WebSocketApp, hypercorn_server
from tests.helpers import invoke, script_path, stop_process

pytestmark = pytest.mark.skipif(bool(capturing_allowed()), reason=capturing_allowed() or "")

NODE_DIR = Path(__file__).resolve().parent / "node"
PAGE = b"""<!doctype html><script>
const ws = new WebSocket("ws://" + location.host + "/ws");
ws.onopen = () => ws.send("from chromium");
ws.onmessage = () => ws.close(1000, "seen");
</script>"""


class Servers:
    """Every server of the session, each on a loopback port the OS picked."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.ports: dict[str, int] = {}
        self.browser_done = threading.Event()
        self.ca = trustme.CA()
        self.keylog = tmp / "keys.log"

    def run(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> Servers:
        self.thread.start()
        self.run(self._start())
        self.fault = subprocess.Popen(
            [script_path(), "serve", "--fault", "accept-decoded-key", "--grace", "0.5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        assert self.fault.stdout is not None
        url = self.fault.stdout.readline().decode().strip()
        self.ports["fault"] = int(url.rsplit(":", 1)[1].split("/")[0])
        return self

    async def _start(self) -> None:
        async def echo(connection: ServerConnection) -> None:
            async for message in connection:
                await connection.send(message)

        async def page(connection: ServerConnection, request: Any) -> Response | None:
            if request.path == "/ws":
                return None
            headers = Headers([("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))])
            return Response(200, "OK", headers, PAGE)

        async def browser(connection: ServerConnection) -> None:
            async for message in connection:
                await connection.send(message)
            self.browser_done.set()

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("localhost", "127.0.0.1").configure_cert(tls)
        self.servers = [
            await serve(echo, "127.0.0.1", 0, ping_interval=None),
            await serve(echo, "::1", 0, ping_interval=None),
            await serve(browser, "127.0.0.1", 0, process_request=page, ping_interval=None),
            await serve(echo, "127.0.0.1", 0, ssl=tls, ping_interval=None),
        ]
        for name, server in zip(("websockets", "ipv6", "chromium", "tls"), self.servers):
            self.ports[name] = server.sockets[0].getsockname()[1]
        app = web.Application()
        app.router.add_get("/ws", self._aiohttp_echo)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.ports["aiohttp"] = self.runner.addresses[0][1]

    async def _aiohttp_echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    def __exit__(self, *exc: object) -> None:
        stop_process(self.fault)
        assert self.fault.stdout is not None
        self.fault.stdout.close()

        async def stop() -> None:
            for server in self.servers:
                server.close()
                await server.wait_closed()
            await self.runner.cleanup()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    # -- the clients ----------------------------------------------------------------------

    async def websockets_clients(self) -> None:
        async def one(port: int, host: str = "127.0.0.1", **options: Any) -> None:
            async with connect(f"ws://{host}:{port}/echo", **options) as ws:
                await ws.send("text")
                await ws.recv()
                await ws.send(b"\x00binary" * 100)
                await ws.recv()

        await one(self.ports["websockets"])
        await asyncio.gather(*(one(self.ports["websockets"]) for _ in range(3)))  # interleaved
        await one(self.ports["ipv6"], "[::1]")
        with pytest.raises(Exception, match="Sec-WebSocket-Accept"):
            await one(self.ports["fault"])
        client_tls = ssl.create_default_context()
        self.ca.configure_trust(client_tls)
        client_tls.keylog_filename = str(self.keylog)
        async with connect(f"wss://localhost:{self.ports['tls']}/", ssl=client_tls) as ws:
            await ws.send("secret")
            await ws.recv()
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{self.ports['aiohttp']}/ws"
            async with session.ws_connect(url, autoping=False) as ws:
                await ws.send_str("aiohttp")
                await ws.receive()

    def node_client(self) -> None:
        script = (
            "const W = require('ws'); const w = new W(process.argv[1]);"
            " w.on('open', () => w.send('node')); w.on('message', () => w.close(1000, 'done'));"
        )
        url = f"ws://127.0.0.1:{self.ports['websockets']}/node"
        subprocess.run(["node", "-e", script, url], cwd=NODE_DIR, check=True, timeout=30)

    def chromium(self) -> None:
        # Chromium's helpers may still write into the profile while it is removed ("Directory
        # not empty: 'Default'" under load): what is left is left in /tmp, not an error.
        with tempfile.TemporaryDirectory(
            prefix="wsaccept-capture-", ignore_cleanup_errors=True
        ) as profile:
            url = f"http://127.0.0.1:{self.ports['chromium']}/"
            process = subprocess.Popen(
                browser_command("Chromium", profile, url),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, "HOME": profile},
            )  # fmt: skip
            try:
                assert self.browser_done.wait(60), "Chromium never closed its WebSocket"
            finally:
                stop_process(process)


class Live:
    def __init__(self, lo: Path, any_: Path, ports: dict[str, int], keylog: Path) -> None:
        self.lo = lo
        self.any = any_
        self.ports = ports
        self.keylog = keylog


def probe_http2(servers: Servers, url: str) -> None:
    """`wsaccept probe --http2`, a real RFC 8441 client; Python's ssl writes the TLS secrets
    to SSLKEYLOGFILE."""
    ca = servers.tmp / "ca.pem"
    servers.ca.cert_pem.write_to_path(str(ca))
    done = subprocess.run(
        [script_path(), "probe", "--http2", "--cacert", str(ca), url],
        capture_output=True, timeout=60, check=False,
        env={**os.environ, "SSLKEYLOGFILE": str(servers.keylog)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    """One recording of every real client and server, on `lo` and on `any` at once."""
    with tempfile.TemporaryDirectory(prefix="wsaccept-live-") as name:
        tmp = Path(name)
        with (
            Servers(tmp) as servers,
            hypercorn_server(WebSocketApp()) as h2c,
            hypercorn_server(WebSocketApp(), servers.ca, tmp) as h2,
        ):
            servers.ports.update(h2c=h2c, h2=h2)
            bpf = " or ".join(f"tcp port {port}" for port in servers.ports.values())
            with Tcpdump(tmp / "lo.pcap", bpf) as lo, Tcpdump(tmp / "any.pcap", bpf, "any") as any_:
                servers.run(servers.websockets_clients())
                probe_http2(servers, f"ws://127.0.0.1:{h2c}/")
                probe_http2(servers, f"wss://localhost:{h2}/")
                if node_available():
                    servers.node_client()
                if browser_available("Chromium"):
                    servers.chromium()
        for tcpdump in (lo, any_):  # a packet the kernel dropped would make every count wrong
            assert "\n0 packets dropped by kernel" in tcpdump.report, tcpdump.report
        yield Live(tmp / "lo.pcap", tmp / "any.pcap", servers.ports, servers.keylog)


def inspected(path: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = invoke("inspect", "--format", "json", *args, str(path))
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def by_server(records: list[dict[str, Any]], ports: dict[str, int]) -> dict[str, list[str]]:
    names = {port: name for name, port in ports.items()}
    found: dict[str, list[str]] = {}
    for record in records:
        name = names[record["connection"]["server"]["port"]]
        found.setdefault(name, []).append(record["verdict"])
    return {name: sorted(verdicts) for name, verdicts in found.items()}


def test_every_real_peer_is_found_and_checked(live: Live) -> None:
    code, records = inspected(live.lo)
    assert code == 1  # the faulty server fails
    expected = {
        "websockets": ["pass"] * (5 if node_available() else 4),
        "ipv6": ["pass"],
        "fault": ["fail"],
        "tls": ["warn"],
        "aiohttp": ["pass"],
        "h2c": ["pass"],
        "h2": ["warn"],
    }
    if browser_available("Chromium"):
        expected["chromium"] = ["pass"]
    assert by_server(records, live.ports) == expected


def test_real_connections_have_their_frames_and_close(live: Live) -> None:
    _, records = inspected(live.lo)
    echo = [r for r in records if r["connection"]["server"]["port"] == live.ports["websockets"]]
    first = min(echo, key=lambda r: r["connection"]["started_at"])["connection"]
    assert first["frames"]["client"]["text"] == 1
    assert first["frames"]["client"]["binary"] == 1
    assert first["frames"]["server"]["binary"] == 1
    assert first["masking"] == {"client": "ok", "server": "ok"}
    assert first["deflate"] == {"negotiated": True, "used": True}  # websockets compresses
    assert first["close"]["client"] == {"code": 1000, "reason": ""}
    assert (first["close"]["first"], first["close"]["ended"]) == ("client", "close")
    assert first["handshake_ms"] > 0
    ipv6 = next(r for r in records if r["connection"]["server"]["port"] == live.ports["ipv6"])
    assert ipv6["connection"]["client"]["address"] == "::1"


def test_the_faulty_server_is_diagnosed(live: Live) -> None:
    _, records = inspected(live.lo)
    fault = next(r for r in records if r["connection"]["server"]["port"] == live.ports["fault"])
    accept = next(f for f in fault["findings"] if f["rule"] == "response.accept")
    assert "base64-decoded key bytes" in accept["message"]
    assert fault["connection"]["close"]["ended"] in ("fin", "reset")


def test_tls_without_a_key_log_is_listed_with_its_server_name(live: Live) -> None:
    _, records = inspected(live.lo)
    tls = next(r for r in records if r["connection"]["server"]["port"] == live.ports["tls"])
    assert tls["connection"]["tls"] == {"sni": "localhost", "alpn": [], "decrypted": False}
    assert [f["rule"] for f in tls["findings"]] == ["capture.tls"]


@pytest.mark.parametrize("capture", ["lo", "any"])
def test_tshark_finds_the_same_handshakes(live: Live, capture: str) -> None:
    path = live.lo if capture == "lo" else live.any
    _, records = inspected(path)
    ours = sorted(
        (
            r["connection"]["client"]["port"],
            r["connection"]["server"]["port"],
            str(r["status"]) if r["status"] is not None else "none",
        )
        for r in records
        if r["connection"]["tls"] is None and not r["source"].startswith("HTTP/2")
    )
    assert ours == tshark_handshakes(path)
    h2 = [r for r in records if r["source"].startswith("HTTP/2")]
    assert [(r["connection"]["client"]["port"], str(r["status"])) for r in h2] == (
        tshark_extended_connects(path, live.ports["h2c"])
    )


def test_any_interface_is_linux_cooked_v2_and_reads_the_same(live: Live) -> None:
    with live.any.open("rb") as capture:
        assert dpkt.pcap.Reader(capture).datalink() == 276  # LINUX_SLL2
    _, on_lo = inspected(live.lo)
    _, on_any = inspected(live.any)
    assert sorted(map(ends, on_any)) == sorted(map(ends, on_lo))


def ends(record: dict[str, Any]) -> tuple[str, int, str, int]:
    client, server = record["connection"]["client"], record["connection"]["server"]
    return client["address"], client["port"], server["address"], server["port"]


def test_live_from_stdin_as_tcpdump_writes_it(live: Live) -> None:
    from tests.helpers import run_script

    done = run_script(["inspect", "--summary", "-"], stdin=live.lo.read_bytes())
    assert done.returncode == 1
    rows = done.stdout.decode().splitlines()
    assert rows[0].startswith("#fields\tts\tclient\tserver\tstatus")
    assert rows[-1].startswith("#server\t")


def test_a_key_log_decrypts_tls_and_checks_it_like_cleartext(live: Live) -> None:
    code, records = inspected(live.lo, "--keylog", str(live.keylog))
    assert code == 1  # the faulty server still fails
    expected = {
        "websockets": ["pass"] * (5 if node_available() else 4),
        "ipv6": ["pass"],
        "fault": ["fail"],
        "tls": ["pass"],
        "aiohttp": ["pass"],
        "h2c": ["pass"],
        "h2": ["pass"],
    }
    if browser_available("Chromium"):
        expected["chromium"] = ["pass"]
    assert by_server(records, live.ports) == expected
    tls = next(r for r in records if r["connection"]["server"]["port"] == live.ports["tls"])
    assert tls["connection"]["tls"] == {"sni": "localhost", "alpn": [], "decrypted": True}
    assert tls["connection"]["frames"]["client"]["text"] == 1
    assert tls["connection"]["close"]["client"] == {"code": 1000, "reason": ""}
    h2 = next(r for r in records if r["connection"]["server"]["port"] == live.ports["h2"])
    assert h2["source"].startswith("HTTP/2 stream 1, TCP ")
    # TLS 1.3 encrypts the server's ALPN choice (EncryptedExtensions): the client's offer shows
    assert h2["connection"]["tls"] == {
        "sni": "localhost", "alpn": ["h2", "http/1.1"], "decrypted": True,
    }  # fmt: skip
    assert h2["status"] == 200
    assert (h2["connection"]["close"]["first"], h2["connection"]["close"]["ended"]) == (
        "client", "close",
    )  # fmt: skip
    assert tshark_extended_connects(live.lo, live.ports["h2"], str(live.keylog)) == [
        (h2["connection"]["client"]["port"], "200")
    ]


def test_h2c_extended_connect_is_checked_with_rfc_8441(live: Live) -> None:
    _, records = inspected(live.lo, "-v")
    h2c = next(r for r in records if r["connection"]["server"]["port"] == live.ports["h2c"])
    rules = {f["rule"]: f["status"] for f in h2c["findings"]}
    assert rules["request.h2_protocol"] == "pass"
    assert rules["response.h2_status"] == "pass"
    assert h2c["connection"]["frames"]["client"]["close"] == 1
    assert [c["client"] for c in h2c["clients"]] == ["Chromium", "Firefox"]


def test_keylog_needs_a_file_and_tshark(live: Live, tmp_path: Path) -> None:
    result = invoke("inspect", "--keylog", str(live.keylog), "-", input=live.lo.read_bytes())
    assert result.exit_code == 2
    assert "--keylog needs the capture as a file, not stdin" in result.stderr
    result = invoke(
        "inspect", "--keylog", str(live.keylog), str(live.lo), env={"PATH": str(tmp_path)}
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "wsaccept: error: --keylog decrypts TLS with tshark (Wireshark's command-line tool),"
        " which is not on PATH: install it (Debian and Ubuntu: apt install tshark)\n"
    )

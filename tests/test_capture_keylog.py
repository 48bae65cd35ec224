"""`inspect --keylog` with key logs written by clients other than Python's ssl: Node
(`--tls-keylog`, its ws client) and curl (SSLKEYLOGFILE, an upgrade request by hand: curl 7.88
has no ws://; and a plain HTTPS request, which is no handshake once decrypted), each against a
websockets TLS server while tcpdump records `lo`.

Each decrypted handshake is checked like a cleartext one and timed from its own TLS records:
`handshake_ms` is the time from the record of the request to the record of the response, as
tshark (an independent dissector, decrypting with the same key log) dates the two messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import trustme
from websockets.asyncio.server import ServerConnection, serve

from tests.captures import Tcpdump, capturing_allowed
from tests.client_corpus import node_available
from tests.helpers import invoke

NODE_DIR = Path(__file__).resolve().parent / "node"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="

live = [
    pytest.mark.skipif(bool(capturing_allowed()), reason=capturing_allowed() or ""),
    pytest.mark.skipif(shutil.which("tshark") is None, reason="--keylog needs tshark"),
]


class TlsServer:
    """A websockets echo server over TLS on 127.0.0.1, in a thread of its own."""

    def __init__(self, ca: trustme.CA) -> None:
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(self.tls)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> int:
        async def echo(connection: ServerConnection) -> None:
            async for message in connection:
                await connection.send(message)

        async def start() -> Any:
            return await serve(echo, "127.0.0.1", 0, ssl=self.tls, ping_interval=None)

        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return int(self.server.sockets[0].getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def tshark_times(path: Path, keylog: Path) -> dict[int, float]:
    """Per client port, the milliseconds from the upgrade request to its response, as tshark
    dates the frames that carry them once decrypted."""
    command = [
        "tshark", "-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-Y", "http",
        "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.time_epoch",
        "-e", "http.upgrade", "-e", "http.response.code",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout
    asked: dict[int, float] = {}
    answered: dict[int, float] = {}
    for line in output.decode().splitlines():
        sport, dport, when, upgrade, code = line.split("\t")
        if code and int(dport) in asked:
            answered.setdefault(int(dport), float(when))
        elif not code and "websocket" in upgrade.lower():
            asked.setdefault(int(sport), float(when))
    return {port: round((answered[port] - asked[port]) * 1000, 3) for port in answered}


@live[0]
@live[1]
def test_key_logs_of_node_and_curl_decrypt_and_time_the_handshake(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    node_keys, curl_keys = tmp_path / "node.keys", tmp_path / "curl.keys"
    capture = tmp_path / "tls.pcap"
    clients = []
    with TlsServer(ca) as port, Tcpdump(capture, f"tcp port {port}"):
        if node_available():
            script = (
                "const W = require('ws'); const w = new W(process.argv[1]);"
                " w.on('open', () => w.send('node')); w.on('message', () => w.close(1000, 'ok'));"
            )
            subprocess.run(
                ["node", f"--tls-keylog={node_keys}", "-e", script, f"wss://localhost:{port}/"],
                cwd=NODE_DIR, check=True, timeout=30, capture_output=True,
                env={**os.environ, "NODE_EXTRA_CA_CERTS": str(ca_file)},
            )  # fmt: skip
            clients.append("node")
        done = subprocess.run(
            ["curl", "-s", "--http1.1", "--max-time", "2", "--cacert", str(ca_file),
             "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
             "-H", f"Sec-WebSocket-Key: {KEY}", "-H", "Sec-WebSocket-Version: 13",
             "-o", os.devnull, "-w", "%{http_code}", f"https://localhost:{port}/"],
            capture_output=True, timeout=30, check=False,
            env={**os.environ, "SSLKEYLOGFILE": str(curl_keys)},
        )  # fmt: skip
        assert done.stdout == b"101", done
        clients.append("curl")
        plain = subprocess.run(
            ["curl", "-s", "--max-time", "2", "--cacert", str(ca_file), "-o", os.devnull,
             "-w", "%{http_code}", f"https://localhost:{port}/plain"],
            capture_output=True, timeout=30, check=False,
            env={**os.environ, "SSLKEYLOGFILE": str(curl_keys)},
        )  # fmt: skip
        assert plain.stdout.startswith(b"4"), plain  # HTTPS, no upgrade: refused
    keylog = tmp_path / "all.keys"
    keylog.write_bytes(b"".join(p.read_bytes() for p in (node_keys, curl_keys) if p.exists()))
    result = invoke("inspect", "--format", "json", "--keylog", str(keylog), str(capture))
    assert result.exit_code == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["status"], r["verdict"]) for r in found] == [(101, "pass")] * len(clients)
    times = tshark_times(capture, keylog)
    for record in found:
        connection = record["connection"]
        assert connection["tls"]["decrypted"] is True
        assert connection["tls"]["sni"] == "localhost"
        assert connection["handshake_ms"] == times[connection["client"]["port"]]
        assert connection["handshake_ms"] > 0
    if "node" in clients:  # a whole WebSocket: its frames and Close, decrypted
        node = found[0]["connection"]
        assert node["frames"]["client"]["text"] == node["frames"]["server"]["text"] == 1
        assert node["close"]["client"] == {"code": 1000, "reason": "ok"}
    # without the key log: listed as TLS, nothing checked inside (the plain HTTPS one too)
    result = invoke("inspect", "--format", "json", str(capture))
    listed = [json.loads(line)["connection"]["tls"] for line in result.stdout.splitlines()]
    assert [tls["decrypted"] for tls in listed] == [False] * (len(clients) + 1)


def test_tsharks_follow_output_is_read_block_by_block() -> None:
    """`follow,tls,yaml` as tshark 4.0 prints it: a block per stream, peers then packets with
    base64 data (a line that is not base64 is skipped, an IPv6 peer gets its brackets)."""
    from wsaccept_cli.capture.tshark import _follow_blocks, _roles

    output = """peers:
  - peer: 0
    host: ::1
    port: 8443
  - peer: 1
    host:
    port: 0
packets:
  - packet: 8
    peer: 1
    timestamp: 1700000000.5
    data: !!binary |
      R0VUIC8g
  - packet: 9
    peer: 0
    timestamp: 1700000000.75
    data: !!binary |
      !!not base64!!
  - packet: 10
    peer: 0
    timestamp: 1700000001.25
    data: !!binary |
      SFRUUC8x
      LjEgMTAx
peers:
packets:
"""
    blocks = _follow_blocks(output)
    assert blocks == [
        (
            "[::1]:8443",
            [("8", 1, 1700000000.5, b"GET / "), ("10", 0, 1700000001.25, b"HTTP/1.1 101")],
        ),
    ]  # and no block of the empty one
    ends = ("::1", 50000, "::1", 8443)
    assert _roles(ends, *blocks[0]) == [
        ("client", 1700000000.5, b"GET / "), ("server", 1700000001.25, b"HTTP/1.1 101"),
    ]  # fmt: skip

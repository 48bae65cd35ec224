"""A hostile-client harness for `serve` (issue 22, beyond the list): one server, in each output
format, taking every kind of abuse at once — controls, escape sequences and bidi controls in
every field of a request, an oversized head, a slow head, a thousand idle connections, frames
that claim an absurd length, a flood of frames — while a well-behaved client still gets its
101. It asserts what a user sees: no traceback on stderr, every byte from the attackers escaped
on stdout (JSON valid, with them JSON-escaped), and the server's peak memory bounded. The
installed script; raw sockets as the attackers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import clean_env, script_path
from tests.serve_helpers import frame, handshake_request, raw_client, read_first_line

ESC, BIDI = b"\x1b", "\u202e".encode()
HOSTILE = ESC + b"]0;pwned\x07" + ESC + b"[2J" + BIDI + b"\x9b31m"
IDLE = 1000
PEAK_RSS_MIB = 200  # a thousand idle connections and a flood: Python's own, not the input's


def hostile_requests(port: int) -> list[bytes]:
    """A request with the hostile bytes in each field in turn: the method, the target, the
    version, a header name, a header value, the key, the subprotocol, the extension."""
    good = handshake_request(port)
    return [
        good.replace(b"GET ", b"G" + HOSTILE + b"T ", 1),
        good.replace(b"/chat", b"/chat" + HOSTILE, 1),
        good.replace(b"HTTP/1.1", b"HTTP/1.1" + HOSTILE, 1),
        good.replace(b"Upgrade: websocket", b"X-" + HOSTILE + b": 1\r\nUpgrade: websocket", 1),
        good.replace(b"Upgrade: websocket", b"X-A: " + HOSTILE + b"\r\nUpgrade: websocket", 1),
        good.replace(b"dGhlIHNhbXBsZSBub25jZQ==", HOSTILE, 1),
        handshake_request(port, extra="Sec-WebSocket-Protocol: chat").replace(
            b"chat\r\n", b"chat" + HOSTILE + b"\r\n"
        ),
        handshake_request(port, extra="Sec-WebSocket-Extensions: x").replace(
            b": x\r\n", b": x" + HOSTILE + b"\r\n"
        ),
        good.replace(b"Host: ", b"Host: " + HOSTILE, 1),
    ]


def send_and_close(port: int, data: bytes, drip: float = 0.0) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        try:
            if drip:
                for start in range(0, len(data), 64):
                    connection.sendall(data[start : start + 64])
                    time.sleep(drip)
            else:
                connection.sendall(data)
            connection.settimeout(2)
            connection.recv(65536)
        except OSError:
            pass  # the server may close first: that is its right


def after_upgrade(port: int, data: bytes) -> None:
    """A correct handshake, then `data` as the client's frames."""
    connection, head = raw_client(port, handshake_request(port))
    with connection:
        assert head.startswith(b"HTTP/1.1 101 ")
        try:
            connection.sendall(data)
            connection.settimeout(2)
            while connection.recv(65536):
                pass
        except OSError:
            pass


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["plain", "json"])  # rich escapes as plain does (ui/text.py)
def test_serve_takes_every_abuse_at_once(fmt: str) -> None:
    args = ["serve", "--grace", "0.3", "--format", fmt, *(["-v"] if fmt != "json" else [])]
    process = subprocess.Popen(
        [script_path(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(COLUMNS="100"),
    )
    out = bytearray()
    try:
        first = read_first_line(process.stdout, 20)
        reader = threading.Thread(target=lambda: out.extend(process.stdout.read()), daemon=True)
        reader.start()  # keep the pipe drained: serve must never block on us
        url = json.loads(first)["url"] if fmt == "json" else first.decode().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE)]
        long_head = b"GET / HTTP/1.1\r\nX: " + b"a" * 200_000
        absurd = b"\x82\xff" + (2**63 - 1).to_bytes(8, "big") + b"mask"
        flood = frame(2, b"x" * 60_000) * 300
        escapes = frame(1, HOSTILE) + frame(8, b"\x03\xe8" + HOSTILE)
        attacks = [
            *(
                threading.Thread(target=send_and_close, args=(port, r))
                for r in hostile_requests(port)
            ),
            threading.Thread(target=send_and_close, args=(port, long_head)),
            threading.Thread(target=send_and_close, args=(port, handshake_request(port), 0.02)),
            *(
                threading.Thread(target=after_upgrade, args=(port, d))
                for d in (absurd, flood, escapes)
            ),
        ]
        for attack in attacks:
            attack.start()
        for attack in attacks:
            attack.join(30)
        connection, head = raw_client(port, handshake_request(port))  # a good client, meanwhile
        connection.close()
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        peak = peak_rss_mib(process.pid)
        for connection in idle:
            connection.close()
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGINT
    assert stderr == b"", stderr[-2000:]
    assert peak < PEAK_RSS_MIB, peak
    text = bytes(out).decode("utf-8")
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x9b" not in text
    assert "\x07" not in text
    if fmt == "json":
        records = [json.loads(line) for line in text.splitlines()]
        assert len(records) >= len(attacks) + 1
        requests = [line for record in records for line in record.get("request") or []]
        assert any("\x1b]0;pwned\x07" in line for line in requests)  # whole, JSON-escaped
    else:
        assert "\\x1b]0;pwned\\x07" in text

"""`wsaccept connect` against real servers started here (Python websockets and aiohttp, Node
ws, nginx in front of websockets, and `wsaccept serve` for the broken ones): pipes in and out,
JSON events, exit statuses, permessage-deflate, limits, and the interactive session on a real
pseudo-terminal."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.helpers import clean_env, script_path
from tests.peers import EchoServer, nginx
from tests.serve_helpers import CLIENTS, node_ready, server_thread
from tests.test_terminal_ux import spawn_shell
from wsaccept_cli.core.binary import close_args, decode_binary
from wsaccept_cli.net.serve import ServeOptions


def connect(
    *args: str, stdin: bytes = b"", timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [script_path(), "connect", "--timeout", "5", "--wait", "0.3", *args],
        input=stdin, capture_output=True, env=clean_env(), timeout=timeout, check=False,
    )  # fmt: skip


def events(process: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.stdout.splitlines()]


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def test_a_pipe_prints_the_echo_and_closes_cleanly(echo: EchoServer) -> None:
    done = connect(f"ws://127.0.0.1:{echo.port}/", stdin=b"hello\n\xc3\xa9t\xc3\xa9\r\nbye")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\nété\nbye\n".encode(), b"")


def test_json_events_with_deflate_used_when_accepted(echo: EchoServer) -> None:
    stdin = b"a\x1bb\n" + b"x" * 5000 + b"\n"
    url = f"ws://127.0.0.1:{echo.port}/"
    done = connect("--format", "json", "--extension", "permessage-deflate", url, stdin=stdin)
    assert done.returncode == 0, done.stderr
    got = events(done)
    assert got[0] == {"event": "open", "url": f"ws://127.0.0.1:{echo.port}/", "protocol": None,
                      "extensions": ["permessage-deflate"], "at_s": 0.0}  # fmt: skip
    came = [e for e in got if e["event"] == "message" and e["dir"] == "in"]
    assert [(e["type"], e["data"], e["size"]) for e in came] == [
        ("text", "a\x1bb", 3), ("text", "x" * 5000, 5000)]  # fmt: skip
    assert all(isinstance(e["at_s"], float) for e in got)
    assert got[-1]["event"] == "close"
    assert (got[-1]["code"], got[-1]["by"], got[-1]["server_code"]) == (1000, "client", 1000)
    assert b"\x1b" not in done.stdout  # ESC travels as \u001b in JSON


def test_binary_lines_hex_and_base64_and_a_file(echo: EchoServer, tmp_path: Path) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(range(256)))
    done = connect("--binary", "--send-file", str(payload), f"ws://127.0.0.1:{echo.port}/",
                   stdin=b"00 ff\naGk=\nnot hex!\n")  # fmt: skip
    lines = done.stdout.decode().splitlines()
    assert lines[0] == f"binary 256 bytes: {bytes(range(256)).hex()}"
    assert lines[1:] == ["binary 2 bytes: 00ff", "binary 2 bytes: 6869"]
    assert done.stderr.decode().splitlines() == [
        "wsaccept: error: stdin line 3: neither hex nor base64; skipped",
        "wsaccept: error: 1 input line skipped",
    ]
    assert done.returncode == 1  # a line could not be sent


def test_count_ends_after_n_messages_with_stdin_still_open(echo: EchoServer) -> None:
    process = subprocess.Popen(
        [script_path(), "connect", "--count", "1", f"ws://127.0.0.1:{echo.port}/"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(b'{"op":"sub"}\n')
    process.stdin.flush()
    stdout, stderr = process.communicate(timeout=20)  # stdin is closed only now
    assert (process.returncode, stdout, stderr) == (0, b'{"op":"sub"}\n', b"")


def test_pings_are_timed(echo: EchoServer) -> None:
    done = connect("--format", "json", "--ping", "0.2", "--wait", "0.7",
                   f"ws://127.0.0.1:{echo.port}/")  # fmt: skip
    pongs = [e for e in events(done) if e["event"] == "pong"]
    assert len(pongs) >= 2
    assert all(p["dir"] == "in" and p["rtt_ms"] >= 0 for p in pongs)
    assert pongs[0]["data"] == "wsaccept 1"
    assert done.returncode == 0


def test_a_message_over_max_size_is_refused_with_1009(echo: EchoServer) -> None:
    done = connect("--max-size", "10", f"ws://127.0.0.1:{echo.port}/", stdin=b"short\n" + b"y" * 11)
    assert done.stdout == b"short\n"
    assert done.stderr.decode().splitlines() == [
        "wsaccept: error: a message over 10 bytes (--max-size)",
        "wsaccept: error: closed by us: 1009 'a message over 10 bytes (--max-size)'",
    ]
    assert done.returncode == 1


def test_the_server_closing_with_1001_is_a_clean_close() -> None:
    with EchoServer(close_after=0.2) as server:
        done = connect("--format", "json", "--wait", "3", f"ws://127.0.0.1:{server.port}/")
    close = events(done)[-1]
    assert (close["event"], close["code"], close["reason"], close["by"]) == (
        "close", 1001, "going away", "server")  # fmt: skip
    assert done.returncode == 0


def test_protocol_errors_and_drops_exit_1() -> None:
    """`wsaccept serve`'s frame faults: invalid UTF-8 is answered with 1007, a dropped TCP
    connection is 1006 (no Close frame)."""
    with server_thread(ServeOptions(fault_by_path=True)) as (url, seen):
        bad = connect(url + "utf8-invalid", stdin=b"hi\n")
        dropped = connect(url + "drop-tcp")
    assert bad.returncode == 1
    assert bad.stderr.decode().splitlines()[-1].startswith("wsaccept: error: closed by us: 1007")
    assert dropped.returncode == 1
    assert dropped.stderr == (
        b"wsaccept: error: ended abnormally (1006): the connection ended without a Close frame\n"
    )
    verdicts = {c.fault.name: c.client_ok for c in seen if c.fault is not None}
    assert verdicts == {"utf8-invalid": True, "drop-tcp": True}


def test_a_failed_handshake_is_reported_as_probe_does_and_no_close_is_sent() -> None:
    with server_thread(ServeOptions(fault_by_path=True)) as (url, seen):
        done = connect(url + "accept-sha256", stdin=b"never sent\n")
        time.sleep(0.3)
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "fail  response.accept" in out
    assert "never sent" not in out
    served = next(c for c in seen if c.fault is not None)
    assert (served.behaviour, served.client_ok) == ("refused", True)  # TCP closed, no frame


def test_no_connection_exits_3() -> None:
    done = connect("ws://127.0.0.1:1/")
    assert done.returncode == 3
    assert "Connection refused" in done.stdout.decode()


@contextmanager
def aiohttp_echo() -> Iterator[int]:
    from aiohttp import WSMsgType, web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_aiohttp_server_with_deflate() -> None:
    with aiohttp_echo() as port:
        offer = "permessage-deflate; client_max_window_bits"
        url = f"ws://127.0.0.1:{port}/"
        done = connect("--format", "json", "--extension", offer, url, stdin=b"zip me " * 100)
    got = events(done)
    assert got[0]["extensions"] == ["permessage-deflate"]
    assert [e["data"] for e in got if e["event"] == "message" and e["dir"] == "in"] == [
        ("zip me " * 100)]  # fmt: skip
    assert done.returncode == 0


@pytest.mark.skipif(not node_ready(), reason="Node ws is installed by .ci/run (npm ci)")
def test_node_ws_server_binary_and_text() -> None:
    server = subprocess.Popen(["node", str(CLIENTS / "node_ws_server.js")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        done = connect("--binary", f"ws://127.0.0.1:{port}/", stdin=b"cafe\n")
        text = connect(f"ws://127.0.0.1:{port}/", stdin=b"caf\xc3\xa9\n")
    finally:
        server.communicate(timeout=10)
    assert (done.returncode, done.stdout) == (0, b"binary 2 bytes: cafe\n")
    assert (text.returncode, text.stdout) == (0, "café\n".encode())


def test_through_nginx(echo: EchoServer, tmp_path: Path) -> None:
    with nginx(echo.port, tmp_path) as port:
        done = connect(f"ws://127.0.0.1:{port}/good", stdin=b"via nginx\n")
        broken = connect(f"ws://127.0.0.1:{port}/broken", stdin=b"x\n")
    assert (done.returncode, done.stdout) == (0, b"via nginx\n")
    assert broken.returncode == 1  # the classic location without Upgrade: reported as probe
    assert "nginx" in broken.stdout.decode()


def test_interactive_session_on_a_terminal(echo: EchoServer, tmp_path: Path) -> None:
    child = spawn_shell(f"wsaccept connect ws://127.0.0.1:{echo.port}/", tmp_path)
    child.expect("/help lists the commands")
    child.sendline("hello \x16\x1b]0;x")  # Ctrl-V: readline inserts the ESC as typed
    child.expect(r"< text 11 B  hello \\x1b\]0;x")
    child.sendline("/ping abc")
    child.expect(r"< pong 3 B  abc  RTT [0-9.]+ ms")
    child.sendline("/binary 00ff")
    child.expect(r"< binary 2 B  00 ff")
    child.sendline("/nope")
    child.expect("error: no command /nope; /help lists them")
    child.sendline("/help")
    child.expect("/send-file PATH")
    child.sendline("//slash")
    child.expect("< text 6 B  /slash")
    child.sendline("/close 4000 done")
    child.expect("closed by us: 4000 'done'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1  # 4000 is not a clean close (1000/1001)


def test_interactive_session_ends_when_the_server_closes(tmp_path: Path) -> None:
    with EchoServer(close_after=0.5) as server:
        child = spawn_shell(f"wsaccept connect ws://127.0.0.1:{server.port}/", tmp_path)
        child.expect("/help lists the commands")
        child.expect("closed by the server: 1001 'going away'")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0


@pytest.mark.parametrize(
    ("text", "data"),
    [(b"00ff", b"\x00\xff"), (b"00 ff", b"\x00\xff"), (b"de:ad", b"\xde\xad"),
     (b"aGk=", b"hi"), (b"", b""), (b"abc", None), (b"zz", None), (b"aGk", None)],
)  # fmt: skip
def test_binary_input_is_hex_or_base64(text: bytes, data: bytes | None) -> None:
    assert decode_binary(text) == data


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("", (1000, "")), ("1001", (1001, "")), ("4000 bye now", (4000, "bye now")),
     ("1005", "1005 may not be sent in a Close frame (RFC 6455 §7.4)"),
     ("999", "999 may not be sent in a Close frame (RFC 6455 §7.4)"),
     ("x", "'x' is not a close code (e.g. 1000)"),
     ("1000 " + "é" * 62, "a Close reason holds at most 123 bytes (RFC 6455 §5.5)")],
)  # fmt: skip
def test_close_arguments(text: str, parsed: tuple[int, str] | str) -> None:
    assert close_args(text) == parsed


def test_terminal_lines_say_each_event() -> None:
    from wsaccept_cli.ui.conversation import close_text, held_line, open_text, terminal_line

    binary = {"event": "message", "dir": "in", "type": "binary", "size": 70, "at_s": 1.5,
              "data_base64": base64.b64encode(bytes(70)).decode()}  # fmt: skip
    assert terminal_line(binary) == (
        "   1.500 s  < binary 70 B  " + " ".join(["00"] * 64) + " … (6 more bytes)")  # fmt: skip
    ping = {"event": "ping", "dir": "out", "data": "x", "size": 1, "at_s": 0.0}
    assert terminal_line(ping) == "   0.000 s  > ping 1 B  x"
    error = {"event": "error", "message": "bad\x1b", "at_s": 2.0}
    assert terminal_line(error) == "   2.000 s  error: bad\\x1b"
    opened = {"event": "open", "url": "ws://h/", "protocol": "chat",
              "extensions": ["permessage-deflate"], "at_s": 0.0}  # fmt: skip
    assert open_text(opened) == "connected to ws://h/; subprotocol chat; permessage-deflate"
    assert terminal_line(opened).endswith(
        "connected to ws://h/; subprotocol chat; permessage-deflate"
    )
    assert close_text({"code": 1000, "reason": "", "by": "client", "server_code": 1001}) == (
        "closed by us: 1000 (the server answered 1001)")  # fmt: skip
    assert close_text({"code": 1006, "reason": "", "by": "none"}) == (
        "ended abnormally (1006): no Close frame")  # fmt: skip
    assert held_line({"event": "ping", "number": 2, "at_s": 0.5}) == "   0.500 s  > ping 2"
    assert held_line({"event": "pong", "number": 2, "rtt_ms": 1.25, "at_s": 0.5}) == (
        "   0.500 s  < pong 2  RTT 1.2 ms")  # fmt: skip
    message = {"event": "message", "type": "text", "size": 2, "data": "hi", "at_s": 1.0}
    assert held_line(message) == "   1.000 s  < text 2 B  hi"
    assert held_line({"event": "end", "ended": "closed", "code": 1001, "at_s": 3.0}) == (
        "   3.000 s  closed by the server (1001)")  # fmt: skip


def test_ctrl_c_in_a_pipe_closes_with_1001_and_ends_by_the_signal(echo: EchoServer) -> None:
    import signal

    process = subprocess.Popen(
        [script_path(), "connect", "--format", "json", f"ws://127.0.0.1:{echo.port}/"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdin is not None
    process.stdin.write(b"one\n")
    process.stdin.flush()
    lines = [process.stdout.readline() for _ in range(3)]  # open, out, in
    assert json.loads(lines[2])["dir"] == "in"
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=20)
    close = json.loads(stdout.splitlines()[-1])
    assert (close["event"], close["code"], close["reason"]) == ("close", 1001, "interrupted")
    assert process.returncode in (130, -signal.SIGINT)


def test_a_reader_that_goes_away_ends_it_quietly(echo: EchoServer) -> None:
    done = subprocess.run(
        ["bash", "-c", f"yes hello | head -2000 | {script_path()} connect"
         f" ws://127.0.0.1:{echo.port}/ | head -1; echo \"${{PIPESTATUS[2]}}\""],
        capture_output=True, env=clean_env(), timeout=30, check=False,
    )  # fmt: skip
    assert done.stdout.decode().splitlines() == ["hello", "141"]
    assert b"Traceback" not in done.stderr

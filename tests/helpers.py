"""What the tests share: the RFC's example key, ways to run wsaccept (in-process, or the
installed script with pipes), and a peak-memory measurement of a run."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from wsaccept_cli.cli import cli

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

Run = Callable[..., Result]
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def key_of(request: bytes) -> bytes:
    """The Sec-WebSocket-Key of a raw request head (empty when it has none)."""
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            return line.split(b":", 1)[1].strip()
    return b""


def accept_of(key: bytes) -> bytes:
    """The right accept, computed here with hashlib, independently of wsaccept's own code."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


@contextmanager
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop running in a thread of its own, for servers the tests start."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def hold_and_answer_close(
    connection: socket.socket, seconds: float, stop: threading.Event | None = None
) -> None:
    """A test server's end of a connection after its 101: keep it open for `seconds` (or until
    `stop`), and answer the client's Close frame with one, as RFC 6455 §5.5.1 asks (probe
    completes the closing handshake and fails a server that does not)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not (stop and stop.is_set()):
        connection.settimeout(min(left, 0.1))
        try:
            data = connection.recv(4096)
        except TimeoutError:
            continue
        if not data:
            return
        if data[:1] == b"\x88":
            connection.sendall(b"\x88\x02\x03\xe8")
            return


def stop_process(process: subprocess.Popen[bytes], wait: float = 10) -> None:
    """Terminate a process the test started, and kill it if it does not end within `wait`."""
    process.terminate()
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=wait)


def invoke(
    *args: str, input: str | bytes | None = None, env: dict[str, str | None] | None = None
) -> Result:
    """`wsaccept ARGS` in-process, colour settings unset; stdout and stderr stay apart."""
    environment: dict[str, str | None] = {"NO_COLOR": None, "FORCE_COLOR": None, **(env or {})}
    return CliRunner().invoke(cli, list(args), input=input, env=environment, catch_exceptions=False)


def script_path() -> str:
    """The console script pip installed next to this interpreter."""
    beside = Path(sys.executable).with_name("wsaccept")
    found = str(beside) if beside.exists() else shutil.which("wsaccept")
    assert found, "the wsaccept console script is not installed: pip install -e '.[test]'"
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without colour settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(extra)
    return env


def run_script(
    args: Sequence[str], stdin: bytes | None = b"", timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed script with piped stdio and return what it did."""
    return subprocess.run(
        [script_path(), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=clean_env(**env),
        check=False,
    )


# A child's peak RSS counts the memory of the process it was forked from, so a small launcher
# (python -S) forks the measured process and reports its peak, not pytest.
PEAK_RSS_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("peak-rss-kib %d exit %d" % (usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


def run_measured(
    args: Sequence[str], stdin_path: Path, stdout_path: Path, timeout: float = 300
) -> tuple[int, int, bytes]:
    """Run the installed script with files for stdin and stdout: (exit code, peak RSS in KiB,
    stderr without the launcher's report)."""
    with stdin_path.open("rb") as source, stdout_path.open("wb") as sink:
        done = subprocess.run(
            [sys.executable, "-S", "-c", PEAK_RSS_LAUNCHER, script_path(), *args],
            stdin=source,
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env=clean_env(),
            check=False,
        )
    stderr, _, report = done.stderr.rpartition(b"peak-rss-kib ")
    peak, _, code = report.decode().partition(" exit ")
    return int(code), int(peak), stderr


@contextmanager
def socket_server(
    behave: Callable[[socket.socket], None], family: int = socket.AF_INET
) -> Iterator[int]:
    """A server on loopback that runs `behave` on each connection, in a thread."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    listener = socket.create_server((host, 0), family=family)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            behave(connection)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def read_request(connection: socket.socket) -> bytes:
    """A request head (or what came of it before the connection ended)."""
    connection.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data

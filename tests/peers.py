"""Real intermediaries and WebSocket servers for the probe tests, started on 127.0.0.1 on free
ports and stopped by the tests: a `websockets` echo server (ws:// or wss://), nginx (a correct
WebSocket proxy location and the classic broken one), HAProxy, tinyproxy (CONNECT, with and
without Basic auth), pproxy (SOCKS5, and an HTTPS proxy). Each program runs in the foreground
with its files in a temporary directory; every wait is bounded."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers import stop_process

START_WAIT = 10.0


def free_port() -> int:
    """A port free right now on 127.0.0.1, for a program that must be told its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until something accepts on `port` (at most START_WAIT s)."""
    until = time.monotonic() + START_WAIT
    while time.monotonic() < until:
        if process is not None and process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"{process.args} exited with {process.returncode}: {output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {START_WAIT} s")


def program(name: str) -> str:
    """The path of a Debian-packaged program, or a skip saying it is not installed."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return found


@contextmanager
def running(
    args: Sequence[str], port: int, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`args` running until the block ends, once it accepts on `port`."""
    process = subprocess.Popen(
        list(args),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop_process(process, 5)
        if process.stdout:
            process.stdout.close()


class EchoServer:
    """A `websockets` echo server in a thread; `close_after` closes each connection (code
    1001) after that many seconds; `delay` waits that long before each 101."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        close_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        self.tls = tls
        self.close_after = close_after
        self.delay = delay
        self.port = 0
        self.requests: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handler(self, connection: ServerConnection) -> None:
        self.requests.append(connection.request)
        if self.close_after is not None:
            await asyncio.sleep(self.close_after)
            await connection.close(1001, "going away")
            return
        async for message in connection:
            await connection.send(message)

    def __enter__(self) -> EchoServer:
        self.thread.start()

        async def wait(connection: ServerConnection, request: Any) -> None:
            await asyncio.sleep(self.delay or 0)

        async def start() -> Any:
            return await serve(
                self.handler, "127.0.0.1", 0, ssl=self.tls, ping_interval=None,
                process_request=wait if self.delay else None,
            )  # fmt: skip

        future = asyncio.run_coroutine_threadsafe(start(), self.loop)
        self.server = future.result(timeout=10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
        asyncio.run_coroutine_threadsafe(self.server.wait_closed(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


NGINX_CONF = """
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    location /good {{
      proxy_pass http://127.0.0.1:{backend};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout {idle};
    }}
    location /broken {{
      proxy_pass http://127.0.0.1:{backend};
    }}
    location /down {{
      proxy_pass http://127.0.0.1:{dead};
    }}
    location /moved {{
      return 301 ws://127.0.0.1:{port}/good;
    }}
  }}
}}
"""


@contextmanager
def nginx(backend: int, tmp: Path, idle: str = "60s") -> Iterator[int]:
    """nginx in front of `backend`: /good proxies WebSockets as nginx's documentation says,
    /broken is the classic broken location (no proxy_http_version, no Upgrade/Connection),
    /down proxies to a closed port, /moved redirects to /good."""
    binary = program("nginx")
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(tmp=tmp, port=port, backend=backend, dead=free_port(), idle=idle)
    )
    with running([binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")], port):
        yield port


HAPROXY_CONF = """
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout tunnel {tunnel}
frontend web
  bind 127.0.0.1:{port}
  use_backend down if {{ path_beg /down }}
  default_backend app
backend app
  server app 127.0.0.1:{backend}
backend down
  retries 0
  server gone 127.0.0.1:{dead}
"""


@contextmanager
def haproxy(backend: int, tmp: Path, tunnel: str = "1h") -> Iterator[int]:
    """HAProxy in front of `backend` (/down: a backend whose only server is gone)."""
    binary = program("haproxy")
    port = free_port()
    conf = tmp / "haproxy.cfg"
    conf.write_text(
        HAPROXY_CONF.format(port=port, backend=backend, dead=free_port(), tunnel=tunnel)
    )
    with running([binary, "-db", "-f", str(conf)], port):
        yield port


TINYPROXY_CONF = """
Port {port}
Listen 127.0.0.1
Timeout 30
LogLevel Error
MaxClients 32
Allow 127.0.0.1
DisableViaHeader Yes
{extra}
"""


@contextmanager
def tinyproxy(tmp: Path, extra: str = "") -> Iterator[int]:
    """tinyproxy as a forward proxy for CONNECT; `extra` adds lines (BasicAuth, ConnectPort)."""
    binary = program("tinyproxy")
    port = free_port()
    conf = tmp / "tinyproxy.conf"
    conf.write_text(TINYPROXY_CONF.format(port=port, extra=extra))
    with running([binary, "-d", "-c", str(conf)], port):
        yield port


@contextmanager
def pproxy(
    scheme: str, auth: str = "", ssl_files: tuple[Path, Path] | None = None
) -> Iterator[int]:
    """pproxy listening for `scheme` (socks5, http+ssl, …), with `#user:password` if `auth`."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "pproxy",
        "-l",
        f"{scheme}://127.0.0.1:{port}{'#' + auth if auth else ''}",
    ]
    if ssl_files is not None:
        args += ["--ssl", f"{ssl_files[0]},{ssl_files[1]}"]
    with running(args, port):
        yield port

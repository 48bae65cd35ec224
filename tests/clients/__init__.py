"""Drivers for the real clients added by issue 21, one directory each, all with one contract.

A driver is a command that reads WebSocket URLs one per line on stdin, opens each in turn with
its client library's defaults, and writes one JSON line per URL on stdout::

    {"url": "ws://127.0.0.1:PORT/c/case/0", "opened": true, "detail": ""}
    {"url": "ws://127.0.0.1:PORT/c/other/0", "opened": false, "detail": "websocket: bad handshake"}

`opened` is true when the library reported the connection open; the driver then sends one text
frame and closes (so a server sees the outcome too: a frame is an accept). `detail` is the
library's own error when it did not open. `?protocol=NAME` in the URL (repeated, or a comma
list) offers those subprotocols; nothing else is configured, so each client offers the
extensions it offers by default (`Driver.offers_extensions`). The per-URL timeout is
`WSACCEPT_DRIVER_TIMEOUT` seconds (default 3).

The compiled ones (Go, Java, C) are built once per process into a temporary directory, offline:
gorilla/websocket from Debian's golang-github-gorilla-websocket-dev under /usr/share/gocode,
the JDK's java.net.http, libwebsockets-dev through pkg-config.

    python -m tests.clients NAME < urls    # one driver by hand (built first if it must be)
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
NODE_DIR = HERE.parent / "node"
GOPATH = Path("/usr/share/gocode")
GORILLA = GOPATH / "src/github.com/gorilla/websocket"


class DriverUnavailableError(Exception):
    """The client cannot run here; the message says what is missing."""


@dataclass(frozen=True)
class Driver:
    """One real client: its name in the predictions, what it offers by default, and how to
    make its command (`build` gets a private directory it may build into)."""

    name: str
    offers_extensions: bool
    missing: Callable[[], str | None]
    build: Callable[[Path], list[str]]


def _python_module(module: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        found = importlib.util.find_spec(module) is not None
        return None if found else f"the Python package {module!r} is not installed"

    return missing


def _python_driver(directory: str) -> Callable[[Path], list[str]]:
    return lambda _: [sys.executable, str(HERE / directory / "driver.py")]


def _programs(*names: str) -> str | None:
    absent = [name for name in names if shutil.which(name) is None]
    return f"{', '.join(absent)} not installed" if absent else None


def _undici_missing() -> str | None:
    if not (NODE_DIR / "node_modules" / "undici").is_dir():
        return "undici is not installed in tests/node (npm ci)"
    return _programs("node")


def _gorilla_missing() -> str | None:
    if not GORILLA.is_dir():
        return "golang-github-gorilla-websocket-dev is not installed"
    return _programs("go")


def _build(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode:
        raise DriverUnavailableError(
            f"{' '.join(command[:2])} failed: {done.stderr.strip()[-500:]}"
        )


def _build_gorilla(directory: Path) -> list[str]:
    program = directory / "gorilla-driver"
    env = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "GOCACHE": str(directory / "go-cache"),
    }
    _build(["go", "build", "-o", str(program), str(HERE / "gorilla" / "main.go")], env)
    return [str(program)]


def _build_java(directory: Path) -> list[str]:
    classes = directory / "java"
    _build(["javac", "-d", str(classes), str(HERE / "java" / "Driver.java")])
    return ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", str(classes), "Driver"]


def _lws_missing() -> str | None:
    if not Path("/usr/include/libwebsockets.h").is_file():
        return "libwebsockets-dev is not installed"
    return _programs("cc", "pkg-config")


def _build_lws(directory: Path) -> list[str]:
    program = directory / "lws-driver"
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libwebsockets"], capture_output=True, text=True
    ).stdout.split() or ["-lwebsockets"]
    _build(["cc", "-O1", "-o", str(program), str(HERE / "libwebsockets" / "driver.c"), *flags])
    return [str(program)]


DRIVERS: dict[str, Driver] = {
    driver.name: driver
    for driver in (
        Driver(
            "undici",
            True,  # permessage-deflate; client_max_window_bits (lib/web/websocket/connection.js)
            _undici_missing,
            lambda _: ["node", str(HERE / "undici" / "driver.js")],
        ),
        Driver(
            "websocket-client",
            False,
            _python_module("websocket"),
            _python_driver("websocket_client"),
        ),
        Driver("tornado", False, _python_module("tornado"), _python_driver("tornado")),
        Driver("gorilla", False, _gorilla_missing, _build_gorilla),
        Driver("Java", False, lambda: _programs("javac", "java"), _build_java),
        Driver("libwebsockets", False, _lws_missing, _build_lws),
    )
}

_built: dict[str, list[str] | DriverUnavailableError] = {}
_lock = threading.Lock()
_directory: list[Path] = []


def _build_directory() -> Path:
    if not _directory:
        path = Path(tempfile.mkdtemp(prefix="wsaccept-drivers-"))
        atexit.register(shutil.rmtree, path, True)
        _directory.append(path)
    return _directory[0]


def command(name: str) -> list[str]:
    """The driver's command, built on first use in this process; `DriverUnavailableError` says why
    it cannot run here."""
    with _lock:
        if name not in _built:
            driver = DRIVERS[name]
            reason = driver.missing()
            if reason is not None:
                _built[name] = DriverUnavailableError(f"{name}: {reason}")
            else:
                try:
                    _built[name] = driver.build(_build_directory())
                except DriverUnavailableError as error:
                    _built[name] = DriverUnavailableError(f"{name}: {error}")
        found = _built[name]
    if isinstance(found, DriverUnavailableError):
        raise found
    return found


def with_protocols(url: str, protocols: Sequence[str]) -> str:
    """The URL that makes a driver offer `protocols` (the server sees it in the request path:
    `CorpusServer` ignores the query)."""
    if not protocols or "?protocol=" in url:  # CorpusServer.url asks for them already
        return url
    return f"{url}?protocol={','.join(protocols)}"


def run(name: str, urls: Sequence[str], timeout: float = 3) -> dict[str, dict[str, object]]:
    """Each URL's JSON line from the driver, by URL (a URL the driver never answered for, as
    when it died, is missing)."""
    env = {**os.environ, "WSACCEPT_DRIVER_TIMEOUT": str(timeout)}
    done = subprocess.run(
        command(name),
        input="".join(f"{url}\n" for url in urls),
        capture_output=True,
        text=True,
        env=env,
        timeout=20 + (timeout + 2) * len(urls),
        check=False,
    )
    results: dict[str, dict[str, object]] = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        results[str(record["url"])] = record
    return results


def _main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in DRIVERS:
        print(f"usage: python -m tests.clients {{{','.join(DRIVERS)}}} < urls", file=sys.stderr)
        return 2
    try:
        program = command(argv[0])
    except DriverUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return subprocess.run(program, check=False).returncode

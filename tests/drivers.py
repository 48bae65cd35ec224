"""The registry of real-client drivers: how `tests/differential.py` and `tests/test_clients.py`
run each client the models predict (`wsaccept_cli.core.clientmodels.PROFILES`).

A driver is a command that reads URLs one per line on stdin, opens each with its client
(sequentially or a bounded number at once) within WSACCEPT_DRIVER_TIMEOUT seconds (3 by
default), and writes one JSON line per URL on stdout:
`{"url": "...", "opened": true|false, "detail": "..."}`. opened means the client library
reported the connection open; the driver then sends one text message and closes. detail is the
client's error when it did not open. A URL whose query has `protocol=a,b` (repeated or a comma
list) is opened offering those subprotocols, in that order. The browsers are not drivers:
`client_corpus.run_browser` launches each once per run with a page that opens every URL.

To add a client: one line in DRIVERS (its profile's name, the command, the directory it runs
in, and what it needs installed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NODE_DIR = TESTS / "node"
PY_DRIVERS = TESTS / "client_drivers"
BROWSERS = ("Chromium", "Firefox")


def _python_module(name: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        import importlib.util

        return None if importlib.util.find_spec(name) else f"the Python package {name} is missing"

    return missing


def _node_package(name: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        if shutil.which("node") is None:
            return "node is not installed"
        if not (NODE_DIR / "node_modules" / name).is_dir():
            return f"npm package {name} is not installed (cd tests/node && npm ci)"
        return None

    return missing


class Driver:
    """One client's driver: its command, where it runs, and what it needs (a function that
    says what is missing, or None)."""

    def __init__(
        self,
        argv: list[str] | Callable[[], list[str]],
        cwd: Path = TESTS,
        missing: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.argv = argv
        """The command, or a function that makes it (a compiled client is built on first use)."""
        self.cwd = cwd
        self.missing = missing

    def run(self, urls: list[str], timeout: float = 3.0) -> dict[str, tuple[bool, str]]:
        """Each URL's report: (opened, detail). A URL the driver did not report is absent."""
        env = {**os.environ, "WSACCEPT_DRIVER_TIMEOUT": str(timeout)}
        completed = subprocess.run(
            self.argv if isinstance(self.argv, list) else self.argv(),
            input="".join(f"{url}\n" for url in urls).encode(),
            cwd=self.cwd,
            env=env,
            capture_output=True,
            timeout=30 + (timeout + 1) * len(urls),
            check=False,
        )
        reports: dict[str, tuple[bool, str]] = {}
        for line in completed.stdout.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
                reports[record["url"]] = (bool(record["opened"]), str(record.get("detail", "")))
            except (ValueError, KeyError, TypeError):
                continue
        return reports


DRIVERS: dict[str, Driver] = {
    "Node ws": Driver(["node", "ws_driver.js"], NODE_DIR, _node_package("ws")),
    "websockets": Driver(
        [sys.executable, str(PY_DRIVERS / "py_websockets.py")], missing=_python_module("websockets")
    ),
    "aiohttp": Driver(
        [sys.executable, str(PY_DRIVERS / "py_aiohttp.py")], missing=_python_module("aiohttp")
    ),
    "curl": Driver(
        [sys.executable, str(PY_DRIVERS / "py_curl.py")], missing=_python_module("curl_cffi")
    ),
}


def _built(name: str) -> Driver:
    """A client of `tests/clients/` (built on first use: Go, Java, C)."""
    from tests import clients

    return Driver(lambda: clients.command(name), TESTS, clients.DRIVERS[name].missing)


for _name in ("undici", "websocket-client", "tornado", "gorilla", "Java", "libwebsockets"):
    DRIVERS[_name] = _built(_name)


def missing(client: str) -> str | None:
    """Why `client` cannot be run here, or None when it can."""
    if client in BROWSERS:
        from tests.client_corpus import browser_available

        return None if browser_available(client) else f"{client} is not installed"
    driver = DRIVERS.get(client)
    if driver is None:
        return f"no driver for {client} in tests/drivers.py"
    why = driver.missing()
    if why is None and not isinstance(driver.argv, list):
        from tests.clients import DriverUnavailableError

        try:
            driver.argv()  # built once per process (Go, Java, C)
        except DriverUnavailableError as error:
            return str(error)
    return why

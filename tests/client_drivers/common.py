"""What the Python client drivers share: the driver contract (tests/README.md, "Client
drivers"). Each driver reads URLs one per line on stdin, opens each with its client (at most
CONCURRENCY at once), and writes one JSON line per URL, in the order they finish:
`{"url": ..., "opened": true|false, "detail": ...}`. A URL whose query has `protocol=a,b`
(repeated or a comma list) is opened offering those subprotocols. On open the driver sends one
text message and closes."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

CONCURRENCY = 8


def timeout() -> float:
    """The per-URL timeout in seconds: WSACCEPT_DRIVER_TIMEOUT, 3 by default."""
    return float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT", "3"))


def protocols(url: str) -> list[str]:
    """The subprotocols a URL asks the driver to offer (`?protocol=a,b`, repeated or a list)."""
    values = parse_qs(urlsplit(url).query).get("protocol", [])
    return [item for value in values for item in value.split(",") if item]


_write_lock = threading.Lock()


def report(url: str, opened: bool, detail: str) -> None:
    line = json.dumps({"url": url, "opened": opened, "detail": detail[:500]})
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def run(open_one: Callable[[str], str | None]) -> None:
    """Each URL of stdin through `open_one` (None: opened; else the client's error)."""

    def one(url: str) -> None:
        try:
            error = open_one(url)
        except Exception as exc:  # the client's own failure, whatever its class
            error = f"{type(exc).__name__}: {exc}"
        report(url, error is None, error or "")

    urls = [line.strip() for line in sys.stdin if line.strip()]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, urls))

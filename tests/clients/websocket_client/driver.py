"""Python `websocket-client` against URLs read one per line on stdin (the driver contract of
`tests/clients/__init__.py`): one JSON line per URL, `opened` when `create_connection` returned
(then a text frame and a Close), else the library's error; eight URLs at a time, in eight
processes. websocket-client offers no extension (it has no permessage-deflate);
`?protocol=NAME` (or `?protocols=A,B`) in the URL offers those subprotocols."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
from urllib.parse import parse_qs, urlsplit

import websocket

CONCURRENCY = 8


def protocols(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    values = query.get("protocol", []) + query.get("protocols", [])
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def one(url: str, timeout: float) -> dict[str, object]:
    try:
        ws = websocket.create_connection(url, timeout=timeout, subprotocols=protocols(url) or None)
    except Exception as error:  # whatever the library raises is its refusal
        return {"url": url, "opened": False, "detail": f"{type(error).__name__}: {error}"}
    with contextlib.suppress(Exception):  # it opened; what follows is not the handshake
        ws.send("hello")
        ws.close(timeout=0.2)
    return {"url": url, "opened": True, "detail": ""}


def _one(url: str) -> str:
    return json.dumps(one(url, float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT") or 3)))


def main() -> None:
    """Eight processes, not threads: websocket-client reads the head one byte per recv() call,
    and eight such loops sharing one interpreter would slow each other down."""
    urls = [line.strip() for line in sys.stdin if line.strip()]
    with multiprocessing.get_context("fork").Pool(CONCURRENCY) as pool:
        for line in pool.imap_unordered(_one, urls):
            print(line, flush=True)


if __name__ == "__main__":
    main()

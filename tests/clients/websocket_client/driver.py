"""Python `websocket-client` against URLs read one per line on stdin (the driver contract of
`tests/clients/__init__.py`): one JSON line per URL, `opened` when `create_connection` returned
(then a text frame and a Close), else the library's error. websocket-client offers no extension
(it has no permessage-deflate); `?protocol=NAME` in the URL offers that subprotocol."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import websocket


def protocols(url: str) -> list[str]:
    values = parse_qs(urlsplit(url).query).get("protocol", [])
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


def main() -> None:
    timeout = float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT") or 3)
    for line in sys.stdin:
        if url := line.strip():
            print(json.dumps(one(url, timeout)), flush=True)


if __name__ == "__main__":
    main()

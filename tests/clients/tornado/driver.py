"""Tornado's `websocket_connect` against URLs read one per line on stdin (the driver contract
of `tests/clients/__init__.py`): one JSON line per URL, `opened` when the connect future gave a
connection (then a text frame and a Close), else Tornado's error. With its defaults
(`compression_options=None`) Tornado offers no extension; `?protocol=NAME` in the URL offers
that subprotocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from urllib.parse import parse_qs, urlsplit

from tornado.websocket import websocket_connect


def protocols(url: str) -> list[str]:
    values = parse_qs(urlsplit(url).query).get("protocol", [])
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


async def one(url: str, timeout: float) -> dict[str, object]:
    try:
        ws = await asyncio.wait_for(
            websocket_connect(url, connect_timeout=timeout, subprotocols=protocols(url) or None),
            timeout,
        )
    except Exception as error:  # whatever the library raises is its refusal
        detail = f"{type(error).__name__}: {error}"
        return {"url": url, "opened": False, "detail": detail}
    with contextlib.suppress(Exception):  # it opened; what follows is not the handshake
        await ws.write_message("hello")
    ws.close()
    return {"url": url, "opened": True, "detail": ""}


async def main() -> None:
    logging.getLogger("tornado").setLevel(logging.CRITICAL)  # its refusals are our detail
    timeout = float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT") or 3)
    for line in sys.stdin:
        if url := line.strip():
            print(json.dumps(await one(url, timeout)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

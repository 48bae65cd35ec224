"""Tornado's `websocket_connect` against URLs read one per line on stdin (the driver contract
of `tests/clients/__init__.py`): one JSON line per URL, `opened` when the connect future gave a
connection (then a text frame and a Close), else Tornado's error; eight URLs at a time. With its
defaults (`compression_options=None`) Tornado offers no extension; `?protocol=NAME` (or
`?protocols=A,B`) in the URL offers those subprotocols."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from urllib.parse import parse_qs, urlsplit

from tornado.websocket import websocket_connect

CONCURRENCY = 8


def protocols(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    values = query.get("protocol", []) + query.get("protocols", [])
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


async def one(url: str, timeout: float) -> dict[str, object]:
    try:
        ws = await asyncio.wait_for(
            websocket_connect(url, connect_timeout=timeout, subprotocols=protocols(url) or None),
            timeout,
        )
    except Exception as error:  # whatever Tornado raises is its refusal
        detail = f"{type(error).__name__}: {error}"
        return {"url": url, "opened": False, "detail": detail}
    with contextlib.suppress(Exception):  # it opened; what follows is not the handshake
        await ws.write_message("hello")
    ws.close()
    return {"url": url, "opened": True, "detail": ""}


async def main() -> None:
    logging.getLogger("tornado").setLevel(logging.CRITICAL)  # its refusals are our detail
    timeout = float(os.environ.get("WSACCEPT_DRIVER_TIMEOUT") or 3)
    urls = [line.strip() for line in sys.stdin if line.strip()]
    limit = asyncio.Semaphore(CONCURRENCY)

    async def report(url: str) -> None:
        async with limit:
            print(json.dumps(await one(url, timeout)), flush=True)

    await asyncio.gather(*(report(url) for url in urls))


if __name__ == "__main__":
    asyncio.run(main())

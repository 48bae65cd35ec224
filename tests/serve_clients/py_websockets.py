"""A real client for the serve tests: Python websockets. Usage: py_websockets.py URL [PROTOCOL].

Prints `accepted` (and exits 0) when the handshake succeeded and its message came back, or
`refused: REASON` (exit 1) when the library failed the handshake."""

import asyncio
import sys

import websockets


async def main(url: str, protocols: list[str]) -> int:
    try:
        async with websockets.connect(
            url, open_timeout=5, subprotocols=protocols or None, compression=None
        ) as ws:
            await ws.send("hello")
            echo = await asyncio.wait_for(ws.recv(), 5)
            print(f"accepted: echo {echo!r}")
            return 0
    except websockets.exceptions.InvalidHandshake as error:
        print(f"refused: {type(error).__name__}: {error}")
        return 1


sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2:])))

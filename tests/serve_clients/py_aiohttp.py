"""A real client for the serve tests: aiohttp. Usage: py_aiohttp.py URL [PROTOCOL].

Prints `accepted` (exit 0) when the handshake succeeded and its message came back, or
`refused: REASON` (exit 1) when aiohttp failed the handshake."""

import asyncio
import sys

import aiohttp


async def main(url: str, protocols: list[str]) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                url, protocols=protocols, timeout=aiohttp.ClientWSTimeout(ws_close=3)
            ) as ws:
                await ws.send_str("hello")
                echo = await ws.receive(timeout=5)
                print(f"accepted: echo {echo.data!r}")
                return 0
        except (aiohttp.WSServerHandshakeError, aiohttp.ClientError) as error:
            print(f"refused: {type(error).__name__}: {error}")
            return 1


sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2:])))

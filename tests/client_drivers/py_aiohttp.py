"""Client driver (tests/README.md, "Client drivers"): aiohttp's ClientSession.ws_connect,
with its defaults (no compression offered), on its C parser."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import CONCURRENCY, protocols, report, timeout


async def open_one(session: object, url: str) -> str | None:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    async with session.ws_connect(url, protocols=protocols(url)) as ws:
        await ws.send_str("hello")
    return None


async def main() -> None:
    import aiohttp

    urls = [line.strip() for line in sys.stdin if line.strip()]
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout())) as session:

        async def one(url: str) -> None:
            async with limit:
                try:
                    error = await open_one(session, url)
                except Exception as exc:  # the client's own failure, whatever its class
                    error = f"{type(exc).__name__}: {exc}"
                report(url, error is None, error or "")

        await asyncio.gather(*(one(url) for url in urls))


if __name__ == "__main__":
    asyncio.run(main())

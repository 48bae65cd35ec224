"""Real WebSocket servers for the audit tests, each an echo server on 127.0.0.1:PORT with its
library's defaults: `python python_servers.py KIND PORT`, KIND one of websockets, aiohttp,
tornado, hypercorn, uvicorn-websockets, uvicorn-wsproto. Run by tests/test_audit_servers.py in a
process of its own (the audit's threads and the server do not share a GIL)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI echo application that accepts every WebSocket without a subprotocol."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found\n"})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        await send(
            {"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")}
        )


async def websockets_server(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)

    async with serve(echo, "127.0.0.1", port, ping_interval=None):
        await asyncio.Future()


async def aiohttp_server(port: int) -> None:
    from aiohttp import WSMsgType, web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Future()


async def tornado_server(port: int) -> None:
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    tornado.web.Application([(r"/.*", Echo)]).listen(port, "127.0.0.1")
    await asyncio.Future()


async def hypercorn_server(port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.errorlog = None
    await serve(asgi_echo, config)  # type: ignore[arg-type]


def uvicorn_server(port: int, ws: str) -> None:
    import uvicorn

    uvicorn.run(asgi_echo, host="127.0.0.1", port=port, ws=ws, log_level="critical", lifespan="on")


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind.startswith("uvicorn-"):
        uvicorn_server(port, kind.partition("-")[2])
        return
    runner = {
        "websockets": websockets_server,
        "aiohttp": aiohttp_server,
        "tornado": tornado_server,
        "hypercorn": hypercorn_server,
    }[kind]
    asyncio.run(runner(port))


if __name__ == "__main__":
    main()

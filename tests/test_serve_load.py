"""`wsaccept serve` holds 1,000 concurrent connections: each upgraded, each echoing, all open at
once, every one reported. Bounded in time; needs file descriptors for both ends."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import clean_env, script_path
from tests.serve_helpers import read_first_line

CONNECTIONS = 1000


def enough_descriptors(needed: int) -> bool:
    """Raise the soft limit of open files towards the hard one; whether `needed` fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed and (hard == resource.RLIM_INFINITY or hard >= needed):
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        soft = needed
    return soft >= needed


async def hold(url: str) -> tuple[int, float]:
    host, port = url[5:].rstrip("/").rsplit(":", 1)
    request = (
        f"GET /load HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    ping = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])  # masked text "hi"
    started = time.monotonic()

    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        writer.write(ping)
        assert await reader.readexactly(4) == b"\x81\x02hi"
        return reader, writer

    semaphore = asyncio.Semaphore(100)  # at most 100 handshakes under way at once

    async def limited() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with semaphore:
            return await open_one()

    connections = await asyncio.wait_for(
        asyncio.gather(*(limited() for _ in range(CONNECTIONS))), 90
    )
    opened = time.monotonic() - started
    for _, writer in connections:  # all open at once: each still echoes
        writer.write(ping)
    for reader, _ in connections:
        assert await asyncio.wait_for(reader.readexactly(4), 30) == b"\x81\x02hi"
    for _, writer in connections:
        writer.close()
    return len(connections), opened


@pytest.mark.slow
def test_serve_holds_a_thousand_concurrent_connections(tmp_path: Path) -> None:
    if not enough_descriptors(CONNECTIONS + 200):
        pytest.skip(f"ulimit -n is below {CONNECTIONS + 200}")
    output = tmp_path / "serve.jsonl"
    with output.open("wb") as stdout:  # a file, drained by cat: a full pipe would stall serve
        process = subprocess.Popen(
            [script_path(), "serve", "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),  # and the raised limit of open files, inherited
        )
        try:
            url = json.loads(read_first_line(process.stdout, 20))["url"]
            drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=stdout)
            count, seconds = asyncio.run(hold(url))
            time.sleep(1.0)
        finally:
            process.send_signal(2)
            _, stderr = process.communicate(timeout=30)
            drain.wait(timeout=10)
    assert count == CONNECTIONS
    assert seconds < 90
    assert stderr == b""
    records = [json.loads(line) for line in output.read_bytes().splitlines()]
    assert len(records) == CONNECTIONS
    assert {record["verdict"] for record in records} == {"pass"}
    assert {record["client_detail"] for record in records} == {"sent a text frame"}

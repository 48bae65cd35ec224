"""Reading and parsing an HTTP head from a peer of `serve`, bounded in size and time: shared
by the server and the relay."""

from __future__ import annotations

import asyncio
import re
import time

from wsaccept_cli.core.answered import cannot_be_http, not_http
from wsaccept_cli.core.capture import parse_lines
from wsaccept_cli.core.handshake import Capture, Message

MAX_HEAD = 64 * 1024
READ_SIZE = 64 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(r"\r?\n")


class HeadError(Exception):
    """A peer that sent no complete head: why, as a sentence; `too_large` when it was over
    MAX_HEAD (a server answers 431, RFC 6585 §5)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class NotHTTPError(HeadError):
    """An answer that is no HTTP response: what came instead, as a phrase (core.answered)."""


def parse_head(head: bytes, kind: str) -> Message | None:
    """A request or response head as the handshake model, by the capture parser."""
    lines = _LINE_END.split(head.decode("latin-1"))
    handshakes = list(parse_lines(enumerate(lines, 1), Capture(), curl=False))
    for handshake in handshakes:
        message = handshake.request if kind == "request" else handshake.response
        if message is not None:
            message.line = None
            return message
    return None


async def read_head(
    reader: asyncio.StreamReader, timeout: float, *, answer_to: bytes | None = None
) -> tuple[bytes, bytes]:
    """A head and what came after it, within `timeout` and MAX_HEAD bytes. For an answer (to
    the request `answer_to`), a first line that is no status line ends the read at once, and
    an answer that is no HTTP response is a HeadError saying what came."""
    data = b""
    deadline = time.monotonic() + timeout
    while (found := _HEAD_END.search(data)) is None:
        if len(data) > MAX_HEAD:
            raise HeadError(f"the head is over {MAX_HEAD // 1024} KiB", too_large=True)
        left = deadline - time.monotonic()
        try:
            chunk = await asyncio.wait_for(reader.read(READ_SIZE), max(left, 0))
        except (asyncio.TimeoutError, TimeoutError):
            raise HeadError(
                f"no complete head within {timeout:g} s ({len(data)} bytes came)"
            ) from None
        if not chunk:
            what = f"after {len(data)} bytes of its head" if data else "without sending anything"
            raise HeadError(f"the peer closed the connection {what}")
        data += chunk
        if answer_to is not None and cannot_be_http(data[:1024]):
            break  # not_http below says what came
    if answer_to is not None and (came := not_http(data, answer_to)) is not None:
        raise NotHTTPError(came)
    end = found.end() if found is not None else len(data)
    if end > MAX_HEAD:  # the blank line came, but in the piece that passed the limit
        raise HeadError(f"the head is over {MAX_HEAD // 1024} KiB", too_large=True)
    return data[:end], data[end:]


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()

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


class WrongProtocolError(HeadError):
    """A client that speaks another protocol on this port (TLS, HTTP/2 with prior knowledge):
    what it did, as a sentence, and `reply`, the bytes that tell it so at once (a client left
    waiting would wait out its timeout, its next bytes never making an HTTP head)."""

    def __init__(self, message: str, reply: bytes) -> None:
        super().__init__(message)
        self.reply = reply


# A TLS record of the handshake type (a ClientHello), versions 3.x (RFC 8446 §5.1).
_TLS_HANDSHAKE = b"\x16\x03"
_H2_PREFACE = b"PRI * HTTP/2.0\r\n"  # RFC 9113 §3.4
# To a TLS client, a plain HTTP answer: its TLS library fails on it at once ("wrong version
# number"), and a person reading it with openssl s_client sees why.
_PLAIN_HTTP_TO_TLS = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 47\r\nConnection: close\r\n\r\n"
    b"this port speaks plain HTTP (ws://), not TLS.\r\n"
)
# To an HTTP/2 client: an empty SETTINGS frame (a server's first frame), then GOAWAY with
# HTTP_1_1_REQUIRED (RFC 9113 §6.8, §7): it ends at once, saying why.
_H2_GOAWAY = (
    b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    + b"\x00\x00\x08\x07\x00\x00\x00\x00\x00"
    + b"\x00\x00\x00\x00"
    + b"\x00\x00\x00\x0d"
)


def wrong_protocol(data: bytes, scheme: str) -> WrongProtocolError | None:
    """The first bytes of a request that is another protocol's opening, as the error that ends
    the connection, or None."""
    if scheme == "ws" and data.startswith(_TLS_HANDSHAKE):
        return WrongProtocolError(
            "a TLS ClientHello on a ws:// port: the client used wss://", _PLAIN_HTTP_TO_TLS
        )
    if data.startswith(_H2_PREFACE):
        return WrongProtocolError(
            "an HTTP/2 connection preface (PRI *) on a port that speaks HTTP/1.1: the client"
            " used HTTP/2 with prior knowledge; answered GOAWAY HTTP_1_1_REQUIRED",
            _H2_GOAWAY,
        )
    return None


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
    reader: asyncio.StreamReader,
    timeout: float,
    *,
    answer_to: bytes | None = None,
    scheme: str = "",
) -> tuple[bytes, bytes]:
    """A head and what came after it, within `timeout` and MAX_HEAD bytes. For an answer (to
    the request `answer_to`), a first line that is no status line ends the read at once, and
    an answer that is no HTTP response is a HeadError saying what came. For a request on a
    `scheme` ("ws" or "wss") port, a TLS ClientHello or an HTTP/2 preface is a
    WrongProtocolError at once."""
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
        if answer_to is None and scheme and (wrong := wrong_protocol(data, scheme)) is not None:
            raise wrong
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

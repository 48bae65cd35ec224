"""HTTP/2 inside a capture (h2c with prior knowledge, or h2 after TLS decryption): the extended
CONNECT streams of RFC 8441, each a WebSocket handshake with its own frames.

hyperframe parses the frames and hpack decodes the header blocks (both come with `h2`), one
decoder per direction, fed every header block in order as HPACK's dynamic table requires. A
stream whose request is a CONNECT with a :protocol is followed: its request and response heads
become a Handshake checked by the RFC 8441 rules, and the DATA on it feeds the WebSocket frame
tally of each side. Other streams are skipped after their headers. A frame is at most
MAX_FRAME bytes and a header block MAX_BLOCK bytes, so a connection holds bounded memory.
"""

from __future__ import annotations

import copy
from typing import Any

from wsaccept_cli.core.connection import Connection
from wsaccept_cli.core.handshake import Handshake, Message

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_FRAME = 1024 * 1024
MAX_BLOCK = 64 * 1024
MAX_STREAMS = 1000  # extended CONNECT streams followed at once on one connection
_HEADERS, _CONTINUATION, _DATA, _RST = 0x1, 0x9, 0x0, 0x3


class Stream:
    """One extended CONNECT stream: its handshake and its connection record."""

    def __init__(self, stream_id: int, request: Message, connection: Connection) -> None:
        self.stream_id = stream_id
        self.handshake = Handshake(request, None, "")
        self.connection = connection


class H2Connection:
    """Both directions of one HTTP/2 connection, as bytes come in order."""

    def __init__(self, connection: Connection) -> None:
        import hpack

        self.template = connection
        self.buffers = {"client": bytearray(), "server": bytearray()}
        self.decoders = {"client": hpack.Decoder(), "server": hpack.Decoder()}
        self.blocks: dict[str, tuple[int, bytearray]] = {}
        self.preface = len(PREFACE)  # preface bytes of the client still to skip
        self.streams: dict[int, Stream] = {}
        self.ended: list[Stream] = []
        self.broken: str | None = None

    def feed(self, role: str, time: float, data: bytes) -> None:
        if self.broken:
            return
        if role == "client" and self.preface:
            skipped = min(self.preface, len(data))
            self.preface -= skipped
            data = data[skipped:]
        buffer = self.buffers[role]
        buffer += data
        while len(buffer) >= 9 and not self.broken:
            length = int.from_bytes(buffer[:3], "big")
            if length > MAX_FRAME:
                self.broken = f"an HTTP/2 frame of {length} bytes (over {MAX_FRAME}): not followed"
                return
            if len(buffer) < 9 + length:
                return
            frame = bytes(buffer[: 9 + length])
            del buffer[: 9 + length]
            self._frame(role, time, frame)

    def _frame(self, role: str, time: float, raw: bytes) -> None:
        from hyperframe.exceptions import HyperframeError
        from hyperframe.frame import Frame

        frame: Any
        try:
            frame, length = Frame.parse_frame_header(memoryview(raw[:9]))
            frame.parse_body(memoryview(raw[9 : 9 + length]))
        except (HyperframeError, ValueError) as error:
            self.broken = f"an HTTP/2 frame that cannot be parsed ({error})"
            return
        kind = raw[3]
        if kind in (_HEADERS, _CONTINUATION):
            self._header_block(role, time, frame)
        elif kind == _DATA and frame.stream_id in self.streams:
            tally = self.streams[frame.stream_id].connection.frames
            if tally is not None:
                tally[role].feed(bytes(frame.data), time)
            if "END_STREAM" in frame.flags:
                self._end(frame.stream_id, "fin")
        elif kind == _RST and frame.stream_id in self.streams:
            self._end(frame.stream_id, "reset")

    def _header_block(self, role: str, time: float, frame: Any) -> None:
        stream_id, block = self.blocks.pop(role, (frame.stream_id, bytearray()))
        block += frame.data
        if len(block) > MAX_BLOCK:
            self.broken = f"an HTTP/2 header block over {MAX_BLOCK // 1024} KiB: not followed"
            return
        if "END_HEADERS" not in frame.flags:
            self.blocks[role] = (stream_id, block)
            return
        headers = self._decode(role, bytes(block))
        if headers is None:
            return
        if role == "client":
            self._request(stream_id, time, headers)
        elif stream_id in self.streams:
            self._response(stream_id, time, headers)
        if "END_STREAM" in frame.flags and stream_id in self.streams:
            self._end(stream_id, "fin")

    def _decode(self, role: str, block: bytes) -> list[tuple[str, str]] | None:
        from hpack.exceptions import HPACKError

        try:
            pairs = self.decoders[role].decode(block, raw=True)
        except (HPACKError, ValueError, IndexError) as error:
            self.broken = f"an HTTP/2 header block that cannot be decoded ({error})"
            return None
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]

    def _request(self, stream_id: int, time: float, headers: list[tuple[str, str]]) -> None:
        names = {name for name, _ in headers}
        method = dict(headers).get(":method")
        if ":protocol" not in names and method != "CONNECT":
            return
        if len(self.streams) >= MAX_STREAMS:
            return
        connection = copy.copy(self.template)
        connection.gaps = dict(self.template.gaps)
        connection.unchecked = []
        connection.started_at = time
        self.streams[stream_id] = Stream(stream_id, _message("request", headers), connection)

    def _response(self, stream_id: int, time: float, headers: list[tuple[str, str]]) -> None:
        stream = self.streams[stream_id]
        if stream.handshake.response is not None:
            return  # trailers
        response = _message("response", headers)
        stream.handshake.response = response
        stream.connection.answered_at = time
        if response.status is not None and 200 <= response.status < 300:
            extensions = response.tokens("sec-websocket-extensions")
            stream.connection.start_frames(
                any(t.startswith("permessage-deflate") for t in extensions)
            )

    def _end(self, stream_id: int, how: str) -> None:
        stream = self.streams.pop(stream_id)
        stream.connection.ended = how
        self.ended.append(stream)

    def finish(self) -> list[Stream]:
        """Every stream followed, those still open last; the connection's end applies to them."""
        for stream_id in list(self.streams):
            stream = self.streams.pop(stream_id)
            stream.connection.ended = self.template.ended
            self.ended.append(stream)
        if self.broken:
            for stream in self.ended:
                stream.connection.unchecked.append(self.broken)
        return self.ended


def _message(kind: str, headers: list[tuple[str, str]]) -> Message:
    message = Message(kind, None)
    for name, value in headers:
        message.add_header(name, value)
    if kind == "response":
        status = message.values(":status")
        if status and len(status[0]) == 3 and status[0].isdigit():
            message.status = int(status[0])
    message.version = "2"
    return message

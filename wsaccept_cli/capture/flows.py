"""Connections of a capture, followed from their first bytes to their end, and the WebSocket
handshakes found in them by content (a request with an Upgrade, on any port).

Each TCP connection is put back in order both ways (`capture.tcp`). Its client's first bytes
decide what it is: an HTTP request (followed while it could be an upgrade), a TLS ClientHello
(listed with its SNI and ALPN), or anything else (dropped at once, and remembered only as a key
in a bounded table so its later packets cost a look-up). Plain HTTP requests and their answers
do not end the following: a keep-alive connection may send its upgrade request later, so their
bodies are skipped by their framing (`capture.http1`) and the connection is dropped only once it
can carry no further request (a close, a body until the close, broken framing, a FIN). A
followed connection keeps at most MAX_HEAD bytes of a head, a body's few counters and, after a
101, a few bytes of frame state per side: memory stays bounded however long the capture or the
connections are.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict, deque
from collections.abc import Iterator
from functools import partial

from wsaccept_cli.capture.decode import FIN, RST, SYN
from wsaccept_cli.capture.h2 import PREFACE, H2Connection
from wsaccept_cli.capture.http1 import Body, NoFurtherRequestError, request_body, response_body
from wsaccept_cli.capture.tcp import Budget, Direction
from wsaccept_cli.capture.tshark import Decryptor
from wsaccept_cli.core.connection import Connection, Endpoint
from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.frames import FrameTally
from wsaccept_cli.core.handshake import Handshake

MAX_HEAD = 64 * 1024
MAX_FOLLOWED = 4096  # connections followed at once before their fate is known
MAX_PIPELINED = 64  # plain requests awaiting their answers on one connection
MAX_DROPPED = 100_000  # keys of connections known not to matter, remembered to skip them
_REQUEST_START = re.compile(rb"[A-Z]{1,20} [^ \r\n]")
_METHOD_SO_FAR = re.compile(rb"[A-Z]{1,20} ?")
_UPGRADE = re.compile(rb"(?im)^(?:upgrade[ \t]*:|sec-websocket-)")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_TLS_START = (b"\x16\x03",)
Key = tuple[bytes, int, bytes, int]


class Flow:
    """A followed connection: its two directions and what has been read of them."""

    def __init__(self, tracker: Tracker, key: Key, a: tuple[bytes, int], time: float) -> None:
        self.tracker = tracker
        self.key = key
        self.a = a  # the side the first packet came from
        self.client_side: tuple[bytes, int] | None = None
        self.roles: dict[str, str] = {}  # "a" and "b" as "client" or "server", once known
        self.phase = "new"
        self.heads = {"a": bytearray(), "b": bytearray()}
        self.head_times: dict[str, float] = {}
        self.pending_frames: list[tuple[float, bytes | None]] = []  # the client's, before 101
        self.plain = 0  # requests with no upgrade read so far (a keep-alive connection)
        self.owed: deque[str] = deque()  # the methods of plain requests still unanswered
        self.bodies: dict[str, Body] = {}  # the side's plain message body being skipped
        self.finished: list[Handshake] = []  # refused handshakes, before a retry on it
        self.early: dict[str, bytes] = {}  # a side's first bytes, too few to tell what they are
        self.early_times: dict[str, float] = {}
        self.tallies: dict[str, FrameTally] = {}  # each side's frames, after a 101
        self.connection: Connection | None = None
        self.unreadable = ""  # why a head could not be read (a gap in it), once known
        self.request = b""
        self.handshake: Handshake | None = None
        self.fins: set[str] = set()
        self.hellos_read: set[str] = set()  # the TLS sides whose hello was read
        self.h2: H2Connection | None = None
        self.first_time = self.last_time = time
        self.directions = {
            side: Direction(partial(self.data, side), partial(self.gap, side), tracker.budget)
            for side in ("a", "b")
        }

    def other(self, side: str) -> str:
        return "b" if side == "a" else "a"

    def role(self, side: str) -> str:
        """'client' or 'server' for a side, once the client is known."""
        role = self.roles.get(side)
        if role is None and self.client_side is not None:
            point = self.a if side == "a" else self._b()
            role = self.roles[side] = "client" if point == self.client_side else "server"
        return role or "server"

    def _b(self) -> tuple[bytes, int]:
        src, sport, dst, dport = self.key
        return (dst, dport) if (src, sport) == self.a else (src, sport)

    # -- what the bytes are ----------------------------------------------------------------

    def data(self, side: str, time: float, data: bytes) -> None:
        if self.phase == "new":
            first = self._first_bytes(side, time, data)
            if first is None:
                return
            self._read_bytes(side, *first)
            other = self.other(side)
            if other in self.early:  # the other side's first bytes, held: read them now
                self._read_bytes(other, self.early_times.pop(other), self.early.pop(other))
            return
        self._read_bytes(side, time, data)

    def _read_bytes(self, side: str, time: float, data: bytes) -> None:
        if self.phase == "head":
            self._head_bytes(side, time, data)
        elif self.phase == "frames" and self.connection and self.connection.frames:
            self.connection.frames[self.role(side)].feed(data, time)
        elif self.phase == "tls":
            self.tracker.tls_bytes(self, side, time, data)
        elif self.phase == "h2" and self.h2 is not None:
            self.h2.feed(self.role(side), time, data)

    def _first_bytes(self, side: str, time: float, data: bytes) -> tuple[float, bytes] | None:
        """Decide what the connection is from a side's first bytes, held (a few) until they
        tell: a client may send its request a byte at a time. The bytes and their time, once
        decided; None while undecided."""
        held = self.early.pop(side, b"") + data
        time = self.early_times.pop(side, time)
        if _undecided(held):
            self.early[side], self.early_times[side] = held, time
            return None
        self._decide(side, held)
        return (time, held) if self.phase != "dropped" else None

    def _decide(self, side: str, data: bytes) -> None:
        sender = self.a if side == "a" else self._b()
        receiver = self._b() if side == "a" else self.a
        if data.startswith(PREFACE[: len(data)]) and data[:3] == b"PRI":
            self.client_side, self.phase = sender, "h2"
        elif _REQUEST_START.match(data[:22]):
            self.client_side, self.phase = sender, "head"
        elif data.startswith(b"HTTP/"):  # the answer first: the capture missed the request
            self.client_side, self.phase = receiver, "head"
        elif data.startswith(_TLS_START):
            self.client_side, self.phase = sender, "tls"
        else:
            self.tracker.drop(self)
            return
        self.connection = Connection(
            _endpoint(*self.client_side),
            _endpoint(*(receiver if self.client_side == sender else sender)),
        )
        if self.phase == "h2":
            self.h2 = H2Connection(self.connection)

    def _head_bytes(self, side: str, time: float, data: bytes) -> None:
        """Bytes before the upgrade: heads read, plain messages' bodies skipped, one message
        after another (a loop, not a recursion: one segment may hold many messages)."""
        while data and self.phase == "head":
            data = self._head_piece(side, time, data)

    def _head_piece(self, side: str, time: float, data: bytes) -> bytes:
        """Take `data` up to the end of one head or body; the bytes after it."""
        body = self.bodies.get(side)
        if body is not None:
            try:
                rest = body.feed(data)
            except NoFurtherRequestError as why:
                self._no_further_request(str(why))
                return b""
            if rest is not None:
                del self.bodies[side]
            return rest or b""
        role = self.role(side)
        if role == "client" and self.request:  # sent before the 101 came: frames, maybe
            self.pending_frames.append((time, data))
            return b""
        head = self.heads[side]
        self.head_times.setdefault(side, time)
        before = len(head)
        head += data[: MAX_HEAD + 4 - before]
        if role == "server" and not self.request and not self.owed and not self._request_missed():
            return b""  # the answer before the request, in capture order: read once it ends
        end = _HEAD_END.search(head, max(0, before - 3))
        if end is None:
            if len(head) > MAX_HEAD:
                what = "request" if role == "client" else "response"
                reason = f"the {what} head did not end within {MAX_HEAD // 1024} KiB"
                if self.owed:  # the answer to a plain request
                    self._no_further_request(reason)
                else:
                    self.give_up(reason)
            return b""
        rest = bytes(head[end.end() :]) + data[MAX_HEAD + 4 - before :]
        del head[end.end() :]
        if role == "client":
            return self._request_ended(side, bytes(head), time, rest)
        return self._response_ended(side, bytes(head), time, rest)

    def _plain_request(self, side: str, head: bytes, rest: bytes) -> bytes:
        """A request with no upgrade: its body skipped, its answer awaited, and the connection
        followed on to its next request (RFC 9112 §9.3: persistent connections)."""
        self.heads[side] = bytearray()
        self.head_times.pop(side, None)
        try:
            method, body = request_body(head)
        except NoFurtherRequestError as why:
            self._no_further_request(str(why))
            return b""
        if len(self.owed) >= MAX_PIPELINED:
            self._no_further_request(f"over {MAX_PIPELINED} requests awaiting their answers")
            return b""
        self.owed.append(method)
        self.plain += 1
        if body is not None:
            self.bodies[side] = body
        server = self.other(side)
        answer = self.heads[server]
        if answer:  # the response came first in capture order: read it now
            self.heads[server] = bytearray()
            self._head_bytes(server, self.head_times.pop(server), bytes(answer))
        return rest

    def _plain_response(self, side: str, head: bytes, rest: bytes) -> bytes:
        """The answer to a plain request: its body skipped."""
        self.heads[side] = bytearray()
        self.head_times.pop(side, None)
        try:
            final, body = response_body(head, self.owed[0])
        except NoFurtherRequestError as why:
            self._no_further_request(str(why))
            return b""
        if final:
            self.owed.popleft()
        if body is not None:
            self.bodies[side] = body
        return rest

    def _refused(self, side: str, head: bytes, rest: bytes) -> bytes:
        """An upgrade request answered with no 101: that handshake is done, and the connection
        may carry another (a retry with credentials, say) once the answer's body is skipped."""
        self.phase = "done"
        method = self.request.split(b" ", 1)[0].decode("latin-1")
        try:
            final, body = response_body(head, method)
        except NoFurtherRequestError:
            return b""
        if not final or self.request == b"":
            return b""  # an interim answer, or the capture missed the request: as before
        assert self.connection is not None
        self.finished.append(self.result())
        self.connection = Connection(self.connection.client, self.connection.server)
        self.request, self.handshake, self.phase = b"", None, "head"
        self.head_times.clear()  # the next exchange is timed from its own first bytes
        if body is not None:
            self.bodies[side] = body
        pending, self.pending_frames = self.pending_frames, []
        client = self.other(side)
        for when, data in pending:  # sent before the refusal came: the next request
            if data is None:
                self._no_further_request("bytes the client sent are missing")
                return b""
            self._head_bytes(client, when, data)
        return rest

    def _no_further_request(self, why: str) -> None:
        """The connection carries no further request: not WebSocket, unless an upgrade
        request already came (then it is reported, unanswered) or was answered."""
        if self.request:
            self.give_up(f"{why}, before answering the upgrade request")
        elif self.finished:
            self.phase = "done"  # the handshakes it held are reported
        else:
            self.tracker.drop(self)

    def only_plain(self) -> bool:
        """Whether every request so far was plain HTTP, with no other begun: nothing to
        report (yet) of this connection."""
        if self.phase != "head" or not self.plain or self.request or self.finished:
            return False
        client = "a" if self.client_side == self.a else "b"
        return not self.heads[client]

    def _request_missed(self) -> bool:
        """Whether the capture started after the request: no SYN, and the answer came first."""
        client = "a" if self.client_side == self.a else "b"
        server = self.other(client)
        return not self.heads[client] and self.directions[server].mid_connection

    def _request_ended(self, side: str, head: bytes, time: float, rest: bytes) -> bytes:
        if not _UPGRADE.search(head):
            return self._plain_request(side, head, rest)
        self.request = head
        self.heads[side] = bytearray()
        assert self.connection is not None
        self.connection.started_at = self.head_times[side]
        if rest:
            self.pending_frames.append((time, rest))
        server = self.other(side)
        answer = self.heads[server]
        if answer:  # the response came first in capture order: read it now
            self.heads[server] = bytearray()
            self._head_bytes(server, self.head_times.pop(server), bytes(answer))
        return b""

    def _response_ended(self, side: str, head: bytes, time: float, rest: bytes) -> bytes:
        if self.owed:
            return self._plain_response(side, head, rest)
        assert self.connection is not None
        self.heads[side] = bytearray()
        self.connection.answered_at = self.head_times[side]
        if self.request:  # `rest`: what came behind the head in its segment
            self.handshake, _ = parse_exchange(self.request, head, rest)
        else:
            self.handshake, _ = parse_exchange(b"", head, rest)
            self.handshake.request = None
            self.connection.unchecked.append(
                "the capture started after the request was sent: only the response was checked"
            )
        response = self.handshake.response
        if response is None or response.status is None:
            self._not_http(self.handshake, head)
        if response is None or response.status != 101:
            return self._refused(side, head, rest)
        tokens = response.tokens("sec-websocket-extensions")
        self.connection.start_frames(any(t.startswith("permessage-deflate") for t in tokens))
        assert self.connection.frames is not None
        self.tallies = {one: self.connection.frames[self.role(one)] for one in ("a", "b")}
        self.phase = "frames"
        client = self.other(side)
        for when, data in self.pending_frames:
            if data is None:
                self.connection.frames["client"].gap()
            else:
                self.data(client, when, data)
        self.pending_frames = []
        if rest:
            self.data(side, time, rest)
        return b""

    def gap(self, side: str, time: float, count: int) -> None:
        if self.connection is None:
            self.tracker.drop(self)  # missing bytes before anything told what this is
            return
        role = self.role(side)
        self.connection.gaps[role] += count
        if self.phase == "head" and self._skips_gap(side, count):
            return
        if self.phase == "head":
            if role == "client" and self.request:
                self.pending_frames.append((time, None))
                return
            what = "request" if role == "client" else "response"
            self.give_up(
                f"{count} bytes of the {what} head are missing (a lost segment, or cut by the"
                " snap length)"
            )
        elif self.phase == "frames" and self.connection.frames:
            self.connection.frames[role].gap()
        elif self.phase == "h2" and self.h2 is not None:
            self.h2.broken = self.h2.broken or (
                f"{count} bytes the {role} sent are missing from the capture: the HTTP/2 frames"
                " after them were not read"
            )

    def _skips_gap(self, side: str, count: int) -> bool:
        """Whether missing bytes before the upgrade request change nothing (inside a body of
        known length) or end the following (elsewhere, with plain requests only)."""
        body = self.bodies.get(side)
        if body is not None and not body.chunked and count < body.left:
            body.left -= count
            return True
        if (self.plain or self.finished) and not self.request:
            self._no_further_request("")  # the messages' boundaries are lost: no more to read
            return True
        return False

    def give_up(self, why: str) -> None:
        """Stop reading heads: what was read could not be checked whole, and says why."""
        assert self.connection is not None
        self.unreadable = why
        self.phase = "done"
        self.heads = {"a": bytearray(), "b": bytearray()}
        self.pending_frames = []

    # -- packets ---------------------------------------------------------------------------

    def take(
        self,
        time: float,
        src: bytes,
        sport: int,
        seq: int,
        flags: int,
        view: bytes | memoryview,
        missing: int,
    ) -> None:
        """A segment from `src`:`sport` (a decode.Segment's fields, without the object: this
        is the hot path of a capture). Its payload may be a view into the read buffer: it is
        copied only to be read (the middle of a body skipped by its length is not)."""
        self.last_time = time
        side = "a" if sport == self.a[1] and src == self.a[0] else "b"
        direction = self.directions[side]
        if view and not flags & (SYN | FIN | RST) and not missing:
            body = self.bodies.get(side) if self.bodies else None
            if body is not None and body.state == "data" and len(view) < body.left:
                if direction.take_in_order(seq, len(view)):
                    body.left -= len(view)  # the middle of a body: skipped as it comes
                    return
            elif direction.take_in_order(seq, len(view)):  # the usual case: the next bytes
                if self.phase == "frames":
                    self.tallies[side].feed(bytes(view), time)
                else:
                    self.data(side, time, bytes(view))
                return
        payload = bytes(view)
        if flags & SYN:
            direction.syn(seq)
            seq += 1
        if flags & RST:
            if self.connection is not None:
                self.connection.ended = "reset"
            self.tracker.end(self)
            return
        fin = bool(flags & FIN)
        direction.segment(time, seq, payload, missing, fin)
        if fin:
            self.fins.add(side)
            if self.only_plain() and direction.done():
                self.tracker.drop(self)  # no further request, or none answered: no upgrade
                return
            if self.connection is not None and self.connection.ended == "open":
                self.connection.ended = "fin"
            if self.fins == {"a", "b"} and all(d.done() for d in self.directions.values()):
                self.tracker.end(self)

    def finish(self) -> None:
        for direction in self.directions.values():
            direction.finish(self.last_time)
            direction.release()

    def _unended_answer(self, connection: Connection) -> Handshake:
        """The handshake of a request whose answer never ended a head: none came, or the
        server sent something else, or a head without its blank line."""
        server = "b" if self.client_side == self.a else "a"
        answer = bytes(self.heads[server])
        if answer and server not in self.fins:
            self.unreadable = f"the capture ended inside the response head ({len(answer)} bytes)"
            return Handshake(None, None, "")
        handshake, _ = parse_exchange(self.request, answer)
        if not answer:
            return handshake
        if handshake.response is None or handshake.response.status is None:
            self._not_http(handshake, answer)
        else:
            connection.unchecked.append(
                "the response head never ended (no blank line before the connection ended):"
                " it was checked as far as it went"
            )
        return handshake

    def _not_http(self, handshake: Handshake, answer: bytes) -> None:
        assert self.connection is not None
        handshake.response = None
        self.connection.not_http = (
            f"the server answered {len(answer)} bytes that are not an HTTP response, starting"
            f" {answer[:40].decode('latin-1')!r}"
        )

    def results(self) -> Iterator[Handshake]:
        """The handshakes this connection held: one, or each extended CONNECT of HTTP/2; for
        TLS with a key log, those inside it."""
        connection = self.connection
        assert connection is not None
        if connection.tls is not None and self.tracker.decryptor is not None:
            inner = self._decrypted(connection)
            if inner is not None:
                yield from inner
                return
        if self.h2 is None:
            for handshake in self.finished:
                assert handshake.connection is not None
                handshake.connection.ended = connection.ended  # how the TCP connection ended
            yield from self.finished
            client = "a" if self.client_side == self.a else "b"
            if not self.finished or self.request or self.unreadable or self.heads[client]:
                yield self.result()
            return
        for stream in self.h2.finish():
            handshake = stream.handshake
            connection = stream.connection
            handshake.source = (
                f"HTTP/2 stream {stream.stream_id}, TCP {connection.client} -> {connection.server}"
            )
            handshake.connection = connection
            yield handshake

    def _decrypted(self, outer: Connection) -> list[Handshake] | None:
        """The handshakes of the decrypted bytes, on a flow of their own (None when the key
        log held no key for this connection)."""
        assert self.tracker.decryptor is not None
        assert outer.tls is not None
        ends = (outer.client.address, outer.client.port, outer.server.address, outer.server.port)
        chunks = self.tracker.decryptor.stream(ends)
        if not chunks:
            outer.unchecked.append("the key log has no key for this connection")
            return None
        assert self.client_side is not None
        inner = Flow(self.tracker, self.key, self.client_side, self.last_time)
        client, server = ("a", "b")
        first = next((n for n, (role, _, _) in enumerate(chunks) if role == "client"), 0)
        chunks = [chunks[first], *chunks[:first], *chunks[first + 1 :]]  # h2: SETTINGS first
        for role, when, data in chunks:
            inner.data(client if role == "client" else server, when, data)
            if inner.phase == "dropped":
                return []
        if inner.only_plain():
            return []  # HTTPS without an upgrade
        inner.fins = {"a", "b"} if outer.ended != "open" else set()
        found = list(inner.results())
        for handshake in found:
            connection = handshake.connection
            assert connection is not None
            connection.tls = outer.tls
            connection.tls.decrypted = True
            connection.ended = outer.ended if connection.ended == "open" else connection.ended
            connection.gaps = outer.gaps
        return found

    def result(self) -> Handshake:
        """The handshake this connection held, as far as the capture showed it."""
        connection = self.connection
        assert connection is not None
        if self.handshake is not None:
            handshake = self.handshake
        elif self.request and not self.unreadable:
            handshake = self._unended_answer(connection)
        else:
            handshake = Handshake(None, None, "")
            client = "a" if self.client_side == self.a else "b"
            if self.phase == "head" and not self.unreadable:
                part = len(self.heads[client])
                self.unreadable = f"the capture ended inside the request head ({part} bytes)"
        for message in (handshake.request, handshake.response):
            if message is not None:
                message.line = None
        handshake.source = f"TCP {connection.client} -> {connection.server}"
        handshake.connection = connection
        if self.unreadable:
            connection.unchecked.append(self.unreadable + ": the handshake could not be checked")
        return handshake


def _undecided(data: bytes) -> bool:
    """Whether a side's first bytes may still become a request line, a response, the HTTP/2
    preface or a TLS record: a few more bytes will tell."""
    return len(data) < len(PREFACE) and (
        _METHOD_SO_FAR.fullmatch(data) is not None
        or PREFACE.startswith(data)
        or b"HTTP/".startswith(data)
        or _TLS_START[0].startswith(data)
    )


def _endpoint(address: bytes, port: int) -> Endpoint:
    return Endpoint(str(ipaddress.ip_address(address)), port)


class Tracker:
    """Every connection of a capture; each one that mattered handed on when it ends."""

    def __init__(self) -> None:
        self.budget = Budget()
        self.flows: OrderedDict[Key, Flow] = OrderedDict()
        self.dropped: OrderedDict[Key, None] = OrderedDict()
        self.ended: list[Flow] = []
        self.evicted = 0  # connections given up because too many were followed at once
        self.decryptor: Decryptor | None = None

    def start(
        self,
        key: Key,
        time: float,
        src: bytes,
        sport: int,
        seq: int,
        flags: int,
        payload: bytes | memoryview,
        missing: int,
    ) -> None:
        """Start following a connection at a segment (a Segment's fields; the caller hands
        the segments of followed connections to their Flow, and skips the dropped ones)."""
        if not payload and not flags & SYN:
            return  # a bare ACK or FIN of a connection never seen: nothing to follow
        flow = Flow(self, key, (src, sport), time)
        self.flows[key] = flow
        if len(self.flows) > MAX_FOLLOWED:
            self._evict()
        flow.take(time, src, sport, seq, flags, payload, missing)

    def _evict(self) -> None:
        """Stop following the connection idle longest: reported as it is if it had a
        handshake, else forgotten."""
        flow = next(iter(self.flows.values()))
        self.evicted += 1
        if flow.connection is None or flow.only_plain():
            self.drop(flow)
        else:
            flow.connection.unchecked.append(
                f"the capture had over {MAX_FOLLOWED} connections open at once: this one was no"
                " longer followed from here"
            )
            self.end(flow)

    def drop(self, flow: Flow) -> None:
        flow.phase = "dropped"
        for direction in flow.directions.values():
            direction.release()
        if self.flows.pop(flow.key, None) is not None:
            self.dropped[flow.key] = None
            if len(self.dropped) > MAX_DROPPED:
                self.dropped.popitem(last=False)

    def end(self, flow: Flow) -> None:
        if self.flows.pop(flow.key, None) is None:
            return
        flow.finish()
        if flow.connection is not None and flow.phase != "dropped" and not flow.only_plain():
            self.ended.append(flow)

    def take_ended(self) -> Iterator[Flow]:
        ended, self.ended = self.ended, []
        yield from ended

    def finish(self) -> Iterator[Flow]:
        for flow in list(self.flows.values()):
            self.end(flow)
        yield from self.take_ended()

    def tls_bytes(self, flow: Flow, side: str, time: float, data: bytes) -> None:
        from wsaccept_cli.capture.tls import read_hello

        if side in flow.hellos_read:
            return
        assert flow.connection is not None
        if read_hello(flow.connection, flow.role(side), flow.heads[side], data):
            flow.hellos_read.add(side)
            flow.heads[side] = bytearray()

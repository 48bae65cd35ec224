"""`inspect` of a keep-alive connection whose upgrade request comes after plain requests: the
connection is followed across the plain messages (bodies skipped by their framing, RFC 9112 §6.3)
and dropped only once it can carry no further request.

A real recording (tcpdump on `lo`: aiohttp's client reusing one connection for plain requests
then `ws_connect`, against aiohttp's server; tshark as the oracle), and crafted neighbours: each
way a body is framed (Content-Length, chunked with extensions and trailers, none for HEAD, 1xx,
204 and 304), pipelined requests, HTTP/1.0 keep-alive, a lost segment inside a body; and each way
a connection ends its requests (Connection: close, HTTP/1.0, a body until the close, broken
chunked coding), after which nothing is reported.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.captures import (
    REQUEST,
    RESPONSE,
    Conversation,
    Tcpdump,
    capturing_allowed,
    frame,
    tshark_handshakes,
    write_pcap,
)
from tests.helpers import invoke

BODY = bytes(range(256)) * 40  # 10 KiB: several segments


def records(path: Path) -> tuple[int, list[dict[str, Any]], str]:
    result = invoke("inspect", "--format", "json", str(path))
    return (
        result.exit_code,
        [json.loads(line) for line in result.stdout.splitlines()],
        (result.stderr),
    )


def chunked(data: bytes, trailer: bytes = b"") -> bytes:
    pieces = [data[n : n + 3000] for n in range(0, len(data), 3000)]
    coded = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces)
    return coded + b"0\r\n" + trailer + b"\r\n"


def ok(length: int | None = None, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    size = len(BODY) if length is None else length
    return b"HTTP/%s 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (version, size, extra)


# (client bytes, server bytes) exchanged before the upgrade, as separate sends
KEPT_ALIVE = {
    "content-length": [(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", ok() + BODY)],
    "chunked": [
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            + chunked(BODY, b"X-Sum: 1\r\n"),
        )
    ],
    "post bodies": [
        (b"POST /a HTTP/1.1\r\nContent-Length: 10240\r\n\r\n" + BODY, ok(0)),
        (
            b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(BODY),
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ),
    ],
    "head, 304, 100-continue": [
        (b"HEAD /a HTTP/1.1\r\n\r\n", ok(5000)),
        (b"GET /a HTTP/1.1\r\nIf-None-Match: x\r\n\r\n", b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        (
            b"PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 100 Continue\r\n\r\n" + ok(2) + b"ok",
        ),
    ],
    "pipelined": [
        (b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", ok() + BODY + ok(3) + b"abc"),
    ],
    "http/1.0 keep-alive": [
        (
            b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            ok(extra=b"Connection: keep-alive\r\n", version=b"1.0") + BODY,
        )
    ],
}

# exchanges after which the connection carries no further request (what a client might send
# after them is not read)
ENDED = {
    "client closes": (b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", ok() + BODY),
    "server closes": (b"GET /a HTTP/1.1\r\n\r\n", ok(extra=b"Connection: close\r\n") + BODY),
    "http/1.0": (b"GET /a HTTP/1.0\r\n\r\n", ok(version=b"1.0") + BODY),
    "body until the close": (b"GET /a HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n" + BODY),
    "broken chunked coding": (
        b"GET /a HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY,
    ),
    "conflicting lengths": (
        b"GET /a HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    ),
    "a coding not chunked": (b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n" + BODY, b""),
    "a chunk-size line that never ends": (
        b"GET /a HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + b"x" * 5000,
    ),
    "chunk data longer than its size": (
        b"GET /a HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
    ),
    "no HTTP answer": (b"GET /a HTTP/1.1\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    "a 101 to a plain request": (b"GET /a HTTP/1.1\r\n\r\n", b"HTTP/1.1 101 Switching\r\n\r\n"),
    "a CONNECT tunnel": (b"CONNECT h:443 HTTP/1.1\r\n\r\n", ok(0) + b"\x16\x03\x01"),
    "too many requests unanswered": (b"GET /a HTTP/1.1\r\n\r\n" * 65, b""),
    "an answer's head that never ends": (
        b"GET /a HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000,
    ),
}


def upgrade_after(
    exchanges: list[tuple[bytes, bytes]], *, lose: int | None = None, size: int = 1400
) -> Conversation:
    """A connection carrying `exchanges` in segments of `size` bytes, then, 5 s later, a
    WebSocket handshake and a message; `lose` drops that server packet (a lost segment)."""
    talk = Conversation().handshake()
    for request, answer in exchanges:
        talk.send("client", request, size)
        talk.send("server", answer, size)
    if lose is not None:
        del talk.frames[lose]
    talk.time += 5
    talk.send("client", REQUEST).send("server", RESPONSE)
    talk.send("client", frame(0x1, b"hi", mask=True)).send("server", frame(0x1, b"hi", mask=False))
    return talk.fin("client").fin("server")


@pytest.mark.parametrize("case", list(KEPT_ALIVE))
def test_an_upgrade_after_plain_requests_is_found(tmp_path: Path, case: str) -> None:
    talk = upgrade_after(KEPT_ALIVE[case])
    path = write_pcap(tmp_path / "k.pcap", talk.frames)
    code, found, stderr = records(path)
    assert (code, stderr, len(found)) == (0, "", 1)
    record = found[0]
    assert (record["status"], record["verdict"]) == (101, "pass")
    connection = record["connection"]
    started = datetime.fromisoformat(connection["started_at"].replace("Z", "+00:00"))
    assert started.timestamp() > talk.frames[0][0] + 5  # the upgrade request's time
    assert connection["handshake_ms"] == 1.0
    assert connection["frames"]["client"]["text"] == connection["frames"]["server"]["text"] == 1
    # tshark holds a chunked body with trailer fields (or "gzip, chunked") open until the
    # next response, and reports both on its packet: "200,101"
    oracle = [
        (client, server, codes.split(",")[-1]) for client, server, codes in tshark_handshakes(path)
    ]
    assert oracle == [(40000, 8080, "101")]


@pytest.mark.parametrize("size", [1, 5, 13])
def test_messages_split_anywhere_across_segments(tmp_path: Path, size: int) -> None:
    """Heads, chunk-size lines, CR LFs and trailers cut at every place a segment can cut them;
    a request line a byte at a time (its first bytes are held until they tell what it is)."""
    chunked_head = b"Transfer-Encoding: chunked\r\n\r\n"
    exchanges = [
        (b"POST /a HTTP/1.1\r\n" + chunked_head + chunked(b"x" * 40),
         b"HTTP/1.1 200 OK\r\n" + chunked_head + chunked(b"y" * 70, b"T: 1\r\n")),
        (b"GET /b HTTP/1.1\r\n\r\n", ok(9) + b"123456789"),
    ]  # fmt: skip
    path = write_pcap(tmp_path / "split.pcap", upgrade_after(exchanges, size=size).frames)
    code, found, _ = records(path)
    assert (code, [(r["status"], r["verdict"]) for r in found]) == (0, [(101, "pass")])


def test_a_segment_lost_inside_a_body_is_skipped_with_it(tmp_path: Path) -> None:
    exchanges = KEPT_ALIVE["content-length"]
    talk = upgrade_after(exchanges, lose=6)  # SYN, SYN-ACK, ACK, GET, head and body..., body
    path = write_pcap(tmp_path / "lost.pcap", talk.frames)
    code, found, _ = records(path)
    assert (code, [r["status"] for r in found]) == (0, [101])
    assert found[0]["connection"]["gaps"]["server"] == 1400


@pytest.mark.parametrize("case", list(ENDED))
def test_a_connection_that_can_carry_no_further_request_is_dropped(
    tmp_path: Path, case: str
) -> None:
    talk = Conversation().handshake()
    request, answer = ENDED[case]
    talk.send("client", request).send("server", answer).fin("server").fin("client")
    path = write_pcap(tmp_path / "ended.pcap", talk.frames)
    code, found, stderr = records(path)
    assert (code, found) == (2, [])
    assert "no WebSocket handshake in the capture" in stderr


@pytest.mark.parametrize("end", ["open", "fin", "lost"])
def test_plain_requests_alone_are_no_handshake(tmp_path: Path, end: str) -> None:
    """Still open at the end of the capture, closed, or with a head's segment lost (its
    boundaries gone, the connection is no longer read)."""
    talk = Conversation().handshake()
    for request, answer in KEPT_ALIVE["head, 304, 100-continue"]:
        talk.send("client", request).send("server", answer)
    if end == "fin":
        talk.fin("client").send("server", ok(3) + b"abc").fin("server")
    elif end == "lost":
        talk.send("client", b"GET /b HTTP/1.1\r\nX: " + b"y" * 3000 + b"\r\n\r\n")
        del talk.frames[-2]
    path = write_pcap(tmp_path / "plain.pcap", talk.frames)
    code, found, _ = records(path)
    assert (code, found) == (2, [])


def test_an_answer_before_its_request_in_capture_order(tmp_path: Path) -> None:
    """A capture may hold a plain answer before its request (`-i any` orders by interface):
    it is read once the request comes."""
    talk = upgrade_after(KEPT_ALIVE["content-length"])
    request = talk.frames.pop(3)
    talk.frames.insert(4, request)
    path = write_pcap(tmp_path / "swapped.pcap", talk.frames)
    code, found, _ = records(path)
    assert (code, [r["status"] for r in found]) == (0, [101])


def test_an_upgrade_pipelined_behind_a_closing_answer_is_reported_unanswered(
    tmp_path: Path,
) -> None:
    talk = Conversation().handshake()
    talk.send("client", b"GET /a HTTP/1.1\r\n\r\n" + REQUEST)
    talk.send("server", ok(extra=b"Connection: close\r\n") + BODY).fin("server").fin("client")
    path = write_pcap(tmp_path / "closing.pcap", talk.frames)
    code, found, _ = records(path)
    assert (code, [r["status"] for r in found]) == (0, [None])
    unchecked = [f["message"] for f in found[0]["findings"] if f["status"] == "warn"]
    assert any(
        "the server closes the connection after this response, before answering the upgrade"
        " request" in message
        for message in unchecked
    ), unchecked


@pytest.mark.skipif(bool(capturing_allowed()), reason=capturing_allowed() or "")
def test_a_real_client_reusing_its_connection_for_the_upgrade(tmp_path: Path) -> None:
    """aiohttp's client takes the pooled keep-alive connection of two plain requests for its
    ws_connect; aiohttp's server answers all three on it."""
    import aiohttp
    from aiohttp import web

    peers: dict[str, list[int]] = {"plain": [], "ws": []}

    async def plain(request: web.Request) -> web.StreamResponse:
        peers["plain"].append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        if request.path == "/chunked":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(BODY)
            await response.write_eof()
            return response
        return web.Response(body=BODY)

    async def ws(request: web.Request) -> web.WebSocketResponse:
        peers["ws"].append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            await socket.send_str(message.data)
        return socket

    async def run(path: Path) -> int:
        app = web.Application()
        app.router.add_get("/plain", plain)
        app.router.add_get("/chunked", plain)
        app.router.add_get("/ws", ws)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port: int = runner.addresses[0][1]
        try:
            with Tcpdump(path, f"tcp port {port}"):
                connector = aiohttp.TCPConnector(limit=1)
                async with aiohttp.ClientSession(connector=connector) as session:
                    for target in ("/plain", "/chunked"):
                        async with session.get(f"http://127.0.0.1:{port}{target}") as answer:
                            assert await answer.read() == BODY
                    async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as socket:
                        await socket.send_str("after two plain requests")
                        await socket.receive()
        finally:
            await runner.cleanup()
        return port

    path = tmp_path / "keepalive.pcap"
    port = asyncio.run(asyncio.wait_for(run(path), 30))
    assert peers["plain"] == [peers["ws"][0]] * 2  # one connection carried all three
    code, found, _ = records(path)
    assert code == 0
    assert [(r["connection"]["client"]["port"], r["status"], r["verdict"]) for r in found] == [
        (peers["ws"][0], 101, "pass")
    ]
    assert tshark_handshakes(path) == [(peers["ws"][0], port, "101")]


def test_first_bytes_held_on_one_side_while_the_other_tells(tmp_path: Path) -> None:
    """The client's first byte alone tells nothing; the server's answer, first in capture
    order, tells: the held byte is read with the rest of the request."""
    talk = Conversation().handshake()
    talk.send("client", REQUEST[:1]).send("server", RESPONSE).send("client", REQUEST[1:])
    path = write_pcap(tmp_path / "held.pcap", talk.fin("client").fin("server").frames)
    code, found, _ = records(path)
    assert (code, [(r["status"], r["verdict"]) for r in found]) == (0, [(101, "pass")])


REFUSAL = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 12\r\n\r\n"


@pytest.mark.parametrize("pipelined", [False, True])
def test_an_upgrade_retried_after_a_refusal_on_the_same_connection(
    tmp_path: Path, pipelined: bool
) -> None:
    """A 401 with a body, then the retry with credentials on the same connection (sent after
    the refusal, or before it came): both handshakes are reported, each timed on its own."""
    retry = REQUEST.replace(b"\r\n\r\n", b"\r\nAuthorization: Basic dTpw\r\n\r\n")
    talk = Conversation().handshake().send("client", REQUEST)
    if pipelined:
        talk.send("client", retry).send("server", REFUSAL + b"unauthorized")
    else:
        talk.send("server", REFUSAL + b"unauthorized")
        talk.time += 2
        talk.send("client", retry)
    talk.send("server", RESPONSE).send("client", frame(0x1, b"in", mask=True))
    path = write_pcap(tmp_path / "retry.pcap", talk.fin("client").fin("server").frames)
    code, found, stderr = records(path)
    assert stderr == ""
    assert [(r["status"], r["verdict"]) for r in found] == [(401, "fail"), (101, "pass")]
    assert code == 1  # the refusal fails, as a refused handshake does
    first, second = (record["connection"] for record in found)
    expected = 2.0 if pipelined else 1.0  # the retry timed from its own first byte
    assert first["handshake_ms"] == pytest.approx(expected, abs=0.002)
    assert second["handshake_ms"] == pytest.approx(expected, abs=0.002)
    assert second["started_at"] > first["started_at"]
    assert second["frames"]["client"]["text"] == 1
    assert first["close"]["ended"] == second["close"]["ended"] == "fin"


def test_a_refusal_that_closes_ends_the_connection_as_before(tmp_path: Path) -> None:
    closing = REFUSAL.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    talk = Conversation().handshake().send("client", REQUEST).send("server", closing + b"x" * 12)
    talk.send("client", REQUEST)  # never answered: the server said it closes
    path = write_pcap(tmp_path / "closing.pcap", talk.fin("server").fin("client").frames)
    code, found, _ = records(path)
    assert (code, [r["status"] for r in found]) == (1, [401])


def test_an_upgrade_pipelined_behind_a_plain_request(tmp_path: Path) -> None:
    """The plain request and the upgrade in one segment: the first answer is the plain one's,
    skipped with its body; the 101 after it answers the upgrade."""
    talk = Conversation().handshake()
    talk.send("client", b"GET /a HTTP/1.1\r\n\r\n" + REQUEST)
    talk.send("server", ok() + BODY + RESPONSE)
    talk.send("client", frame(0x1, b"hi", mask=True)).fin("client").fin("server")
    path = write_pcap(tmp_path / "pipelined.pcap", talk.frames)
    code, found, _ = records(path)
    assert (code, [(r["status"], r["verdict"]) for r in found]) == (0, [(101, "pass")])
    assert found[0]["connection"]["frames"]["client"]["text"] == 1

"""The frame-level faults of `wsaccept serve` (core/frame_faults.py): each checked against an
independent parser (wsproto, as a client), each judged from what a client did on the wire, and
served to a real client (Python websockets, in this process) whose answers are scored."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.helpers import clean_env, script_path
from tests.serve_helpers import client_command
from wsaccept_cli.core.faults import FAULTS
from wsaccept_cli.core.frame_faults import (
    ALL_BY_NAME,
    CLOSE_BACK,
    DEFLATE_RESPONSE,
    FAIL,
    FRAME_FAULTS,
    HANG_UP,
    PONG,
    TAKE,
    WAIT,
    FrameFault,
    Seen,
    deflated,
    frame,
    judge,
    settled,
)
from wsaccept_cli.core.served import ScoreRow, ServedConnection, serve_report
from wsaccept_cli.net.serve import ServeOptions, Server


def test_at_least_25_frame_faults_each_with_its_section() -> None:
    names = [fault.name for fault in FRAME_FAULTS]
    assert len(names) == len(set(names)) >= 25
    assert not set(names) & {fault.name for fault in FAULTS}  # one namespace for --fault
    assert set(ALL_BY_NAME) == {*names, *(fault.name for fault in FAULTS)}
    for fault in FRAME_FAULTS:
        assert fault.stage == "frame"
        assert fault.section.startswith(("§", "RFC 7692 §"))
        assert fault.why.startswith("RFC ")
        assert fault.expect_text == fault.must
    musts = {fault.must for fault in FRAME_FAULTS}
    assert musts == {FAIL, PONG, WAIT, HANG_UP, TAKE, CLOSE_BACK}


def _client_events(fault: FrameFault) -> list[object]:
    """What wsproto, as a client, makes of the frames (permessage-deflate as negotiated)."""
    from wsproto.connection import Connection, ConnectionType
    from wsproto.extensions import PerMessageDeflate

    extensions = []
    if fault.deflate:
        deflate = PerMessageDeflate()
        deflate.finalize(DEFLATE_RESPONSE)
        extensions.append(deflate)
    client = Connection(ConnectionType.CLIENT, extensions=extensions)
    client.receive_data(fault.frames)
    return list(client.events())


@pytest.mark.parametrize("fault", FRAME_FAULTS, ids=lambda fault: fault.name)
def test_an_independent_parser_agrees_with_each_fault(fault: FrameFault) -> None:
    """wsproto fails the connection with one of the fault's right codes exactly where a
    correct client must fail it, sees the Ping's payload where it must answer it, and takes
    the valid neighbours."""
    from wsproto.events import CloseConnection, Ping, TextMessage

    events = _client_events(fault)
    closes = [event for event in events if isinstance(event, CloseConnection)]
    if fault.must == FAIL:
        assert [close.code for close in closes][:1]
        assert closes[0].code in fault.codes
    elif fault.must == PONG:
        assert [bytes(e.payload) for e in events if isinstance(e, Ping)] == [fault.pong]
        assert not closes
    elif fault.must == CLOSE_BACK:
        assert [close.code for close in closes] == [3000]
    elif fault.must == TAKE:
        text = "".join(e.data for e in events if isinstance(e, TextMessage))
        assert (text, closes) == ("café", [])
    else:  # WAIT, HANG_UP: the server sends no frame at all
        assert (fault.frames, events) == (b"", [])


def test_frame_headers_follow_rfc_6455_section_5_2() -> None:
    assert frame(1, b"hi") == b"\x81\x02hi"
    assert frame(2, b"x" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert frame(2, b"x" * 65536)[:10] == b"\x82\x7f" + (65536).to_bytes(8, "big")
    assert frame(9, b"", fin=False, rsv=4) == b"\x49\x00"
    masked = frame(1, b"abcd", mask=b"\x01\x02\x03\x04")
    assert masked == b"\x81\x84\x01\x02\x03\x04" + bytes([0x60, 0x60, 0x60, 0x60])
    assert frame(1, b"", length=(1 << 63) | 5)[2] == 0x80
    import zlib

    assert zlib.decompressobj(-15).decompress(deflated(b"hello") + b"\x00\x00\xff\xff") == b"hello"


def _seen(**values: object) -> Seen:
    seen = Seen()
    seen.watched_s = 1.0
    for name, value in values.items():
        setattr(seen, name, value)
    return seen


FAILING = ALL_BY_NAME["masked-frame"]
UTF8 = ALL_BY_NAME["utf8-invalid"]
PING = ALL_BY_NAME["ping-payload"]
assert isinstance(FAILING, FrameFault)
assert isinstance(UTF8, FrameFault)
assert isinstance(PING, FrameFault)


@pytest.mark.parametrize(
    ("fault", "seen", "did", "ok", "how"),
    [
        (FAILING, {"close_code": 1002, "close_s": 0.004}, "failed", True,
         "failed the connection: sent Close 1002 after 4 ms"),
        (FAILING, {"eof_s": 0.01}, "dropped", True,
         "closed TCP after 10 ms without the Close 1002 it SHOULD send (§7.1.7)"),
        (FAILING, {"close_code": 1000, "close_s": 0.002}, "closed", False,
         "sent Close 1000 after 2 ms, a normal close: it took the frames as valid"),
        (FAILING, {}, "stayed", False, "kept the connection open for 1 s"),
        (UTF8, {"close_code": 1002, "close_s": 0.001}, "failed", False,
         "sent Close 1002 after 1 ms; the right code is 1007"),
        (PING, {"pongs": [b"wsaccept\x00\xff\x80ping"], "pong_s": 0.003}, "pong", True,
         "answered with the same payload after 3 ms"),
        (PING, {"pongs": [b"wsaccept"]}, "bad pong", False,
         "answered with a Pong of 8 bytes, not the Ping's"),
        (PING, {}, "no pong", False, "no Pong within 1 s"),
        (PING, {"bad_frame": "unmasked"}, "bad frame", False,
         "sent a frame that is not valid (unmasked)"),
        (ALL_BY_NAME["silence"], {"eof_s": 0.5}, "dropped", False,
         "closed TCP after 500 ms of silence"),
        (ALL_BY_NAME["silence"], {}, "waited", True, "kept the connection open for 1 s"),
        (ALL_BY_NAME["close-unanswered"], {"close_code": 1000}, "stayed", False,
         "still open 1 s after its Close"),
        (ALL_BY_NAME["close-unanswered"], {}, "no close", False,
         "sent no Close within 1 s: nothing to judge"),
        (ALL_BY_NAME["close-unanswered"], {"close_code": 1000, "eof_s": 3.0}, "hung up", True,
         "closed TCP itself after 3000 ms"),
        (ALL_BY_NAME["drop-tcp"], {}, "stayed", False, "kept its side open 1 s after the FIN"),
        (ALL_BY_NAME["drop-tcp"], {"close_code": 1006}, "sent 1006", False,
         "sent Close 1006, a code that MUST NOT be sent (§7.4.1)"),
        (ALL_BY_NAME["utf8-split-valid"], {"close_code": 1005, "close_s": 0.02}, "took it",
         True, "sent a Close without a code after 20 ms, a normal close"),
        (ALL_BY_NAME["utf8-split-valid"], {"close_code": 1007, "close_s": 0.02}, "failed",
         False, "sent Close 1007 after 20 ms on valid frames"),
        (ALL_BY_NAME["utf8-split-valid"], {"eof_s": 0.02}, "dropped", False,
         "closed TCP after 20 ms without a Close"),
        (ALL_BY_NAME["close-code-3000"], {"close_code": 1002, "close_s": 0.0}, "failed",
         False, "sent Close 1002 after 0 ms on a valid Close"),
        (ALL_BY_NAME["close-code-3000"], {"eof_s": 0.1}, "dropped", False,
         "closed TCP after 100 ms without answering the Close"),
        (ALL_BY_NAME["close-code-3000"], {}, "stayed", False,
         "did not answer the Close within 1 s"),
    ],
)  # fmt: skip
def test_the_verdict_comes_from_what_the_client_did(
    fault: FrameFault, seen: dict[str, object], did: str, ok: bool, how: str
) -> None:
    assert judge(fault, _seen(**seen)) == (did, ok, how)


def test_when_the_watch_may_stop() -> None:
    hang_up = ALL_BY_NAME["close-unanswered"]
    assert isinstance(hang_up, FrameFault)
    assert not settled(hang_up, _seen(close_code=1000))  # only its TCP close settles it
    assert settled(hang_up, _seen(eof_s=1.0))
    assert settled(PING, _seen(pongs=[PING.pong]))
    assert not settled(PING, _seen(pongs=[b"other"]))
    assert settled(FAILING, _seen(close_code=1002))


# --- a real client: Python websockets, in this process ---------------------------------------


async def _websockets_client(url: str, compression: str | None) -> None:
    """What a typical application does: open, send, read one message, close."""
    import websockets

    with contextlib.suppress(Exception):
        async with websockets.connect(url, compression=compression, close_timeout=0.5) as ws:
            await ws.send("hello")
            await asyncio.wait_for(ws.recv(), 1.5)


async def _score(faults: tuple[FrameFault, ...]) -> dict[str, ScoreRow]:
    got: list[ServedConnection] = []
    server = Server(ServeOptions(fault_by_path=True, grace=0.5), got.append)
    url = await server.start("127.0.0.1", 0)
    rows = {}
    try:
        for fault in faults:
            got.clear()
            await _websockets_client(url + fault.name, "deflate" if fault.deflate else None)
            for _ in range(200):
                if got:
                    break
                await asyncio.sleep(0.01)
            rows[fault.name] = ScoreRow(fault, list(got), None)
    finally:
        await server.close()
    return rows


def test_python_websockets_passes_every_frame_fault() -> None:
    """websockets (its sans-I/O protocol) does what RFC 6455 asks for each fault: the verdicts
    are taken from its frames (the code of its Close, its Pong) and its TCP close."""
    rows = asyncio.run(_score(FRAME_FAULTS))
    failed = {name: (row.did, row.detail) for name, row in rows.items() if row.status != "pass"}
    assert failed == {}
    assert rows["utf8-invalid"].detail.startswith("failed the connection: sent Close 1007 after")
    assert rows["close-unanswered"].did == "hung up"
    assert rows["silence"].detail == "kept the connection open for 1 s"
    connection = rows["ping-payload"].connections[0]
    finding = serve_report(connection).findings[-1]
    assert (finding.rule, finding.status, finding.section) == ("client.verdict", "pass", "§5.5.3")
    assert finding.message.startswith("the client answered with the same payload after ")
    assert finding.message.endswith(
        "; a correct client must pong: RFC 6455 §5.5.3: a Pong MUST carry the Ping's application"
        " data exactly (§5.5.2: answer as soon as practical)"
    )


def test_check_client_scores_frame_faults_with_junit(tmp_path: Path) -> None:
    """--check-client, its JSON rows and its JUnit report work for the frame faults."""
    junit = tmp_path / "frames.xml"
    process = subprocess.run(
        [script_path(), "serve", "--check-client", "--format", "json", "--fault", "ping-payload",
         "--fault", "utf8-invalid", "--fault", "drop-tcp", "--junit", str(junit), "--",
         *client_command("py_websockets")],
        capture_output=True, env=clean_env(), timeout=120, check=False,
    )  # fmt: skip
    assert (process.returncode, process.stderr) == (0, b"")
    rows = {
        record["fault"]: record
        for record in map(json.loads, process.stdout.splitlines())
        if record.get("event") == "score"
    }
    assert {name: (r["correct"], r["client"], r["result"]) for name, r in rows.items()} == {
        "none": ("accept", "accepted", "pass"),
        "request": ("valid", "valid", "pass"),
        "ping-payload": ("pong", "pong", "pass"),
        "utf8-invalid": ("fail", "failed", "pass"),
        "drop-tcp": ("hang up", "hung up", "pass"),
    }
    assert rows["utf8-invalid"]["why"].startswith("RFC 6455 §8.1: invalid UTF-8")
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    assert [case.get("name") for case in cases] == [
        "none",
        "request",
        "ping-payload",
        "utf8-invalid",
        "drop-tcp",
    ]


def test_the_relay_injects_frame_faults_and_judges_the_client() -> None:
    """serve --upstream with frame faults: after the real server's 101 the fault's frames go
    to the client, and its answer, on its way to the server, is the verdict; the faults that
    need the server's side are said not to apply."""
    from tests.peers import EchoServer
    from tests.serve_helpers import serving

    with (
        EchoServer() as echo,
        serving(["--upstream", f"ws://127.0.0.1:{echo.port}/", "--fault", "utf8-invalid",
                 "--fault", "ping-payload", "--fault", "silence", "--format", "json"]) as served,
    ):  # fmt: skip
        for _ in range(3):
            asyncio.run(_websockets_client(served.url, None))
        time.sleep(1.5)
        served.stop()
    records = [json.loads(line) for line in served.stdout.splitlines()[1:]]
    verdicts = [
        [(f["rule"], f["status"], f["message"]) for f in r["findings"] if f["rule"] in
         ("client.verdict", "serve.answer")]
        for r in records if r.get("event") == "connection"
    ]  # fmt: skip
    assert [v[0][2] for v in verdicts] == [
        "answered with fault utf8-invalid: a text message that is not UTF-8",
        "answered with fault ping-payload: a Ping whose payload is 15 bytes of binary (a NUL,"
        " FF, 80)",
        "fault silence does not apply (it needs the server's side of the conversation, which"
        " the upstream has): answered correctly",
    ]
    assert verdicts[0][1][:2] == ("client.verdict", "pass")
    assert verdicts[0][1][2].startswith("the client failed the connection: sent Close 1007")
    assert verdicts[1][1][:2] == ("client.verdict", "pass")
    assert len(verdicts[2]) == 1
    assert [r["fault"] for r in records if r.get("event") == "connection"] == [
        "utf8-invalid", "ping-payload", "silence"]  # fmt: skip

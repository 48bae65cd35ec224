"""What `probe` does around the 101 itself: interim 1xx responses read past (RFC 9110 §15.2),
the connection failed without a Close frame when the rules fail the 101 (RFC 6455 §4.1), and
the closing handshake completed after a good one (§7.1.2, §5.5.1), with a connection dropped
right after the upgrade reported as every client would see it (1006). Real servers: raw ones
scripted here, `wsaccept serve` with every fault, and nginx in front of an application that
closes after its 101."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Run, run_script
from tests.hostile_server import HostileServer, Peer, upgrade_head
from tests.peers import nginx
from tests.serve_helpers import server_thread
from tests.test_probe_proxies import NO_PROXY_ENV
from wsaccept_cli.core.faults import FAULTS
from wsaccept_cli.core.frame_faults import FRAME_FAULTS
from wsaccept_cli.core.wording import and_list
from wsaccept_cli.net.serve import ServeOptions


def probe_json(run: Run, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("probe", "--format", "json", "--timeout", "3", *args, url, env=NO_PROXY_ENV)
    return result.exit_code, json.loads(result.stdout)


def findings(record: dict[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    return [
        (f["rule"], f["status"], f["message"])
        for f in record["findings"]
        if f["rule"].startswith(prefix)
    ]


def server_close_frame(code: int = 1000) -> bytes:
    return bytes([0x88, 2]) + struct.pack("!H", code)


def read_client_frame(peer: Peer, timeout: float = 3) -> bytes:
    """The first bytes the client sends after the head (its Close frame, if any)."""
    peer.connection.settimeout(timeout)
    try:
        return peer.connection.recv(64)
    except OSError:
        return b""


# ----------------------------------------------------------------------------- interim responses

INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
)


@pytest.mark.parametrize("pieces", ["one write", "one write each"])
def test_interim_responses_are_read_past_and_name_the_clients_that_fail_on_them(
    run: Run, pieces: str
) -> None:
    def answer(peer: Peer) -> None:
        final = upgrade_head(peer.accept)
        if pieces == "one write":
            peer.send(INTERIM + final)
        else:
            for head in (*INTERIM.split(b"\r\n\r\n")[:2], final):
                peer.send(head if head is final else head + b"\r\n\r\n")
                time.sleep(0.05)
        if read_client_frame(peer)[:1] == b"\x88":
            peer.send(server_close_frame())

    with HostileServer(answer) as server:
        code, record = probe_json(run, server.url())
    assert (code, record["outcome"], record["status"], record["verdict"]) == (0, "ok", 101, "warn")
    # which clients fail on them is the client models' to say (core/clientmodels): the finding
    # names exactly the clients whose prediction refuses, in the clients line's order
    refused = [c["client"] for c in record["clients"] if not c["accepts"]]
    assert "Chromium" in refused
    assert "Firefox" not in refused
    assert findings(record, "response.interim") == [
        (
            "response.interim",
            "warn",
            "2 interim responses (100, 103) came before the final one; a client must read on to"
            f" the final one, but {and_list(refused)} take the first as the answer and fail",
        )
    ]
    assert findings(record, "closing") == [
        ("closing.handshake", "pass", "the server answered our Close frame with its own (1000)")
    ]
    assert record["response"][0] == "HTTP/1.1 100 Continue"
    assert "HTTP/1.1 101 Switching Protocols" in record["response"]


def test_interim_responses_in_plain_output_and_a_server_that_stops_after_them(run: Run) -> None:
    with HostileServer(lambda peer: peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")) as server:
        result = run("probe", "--timeout", "3", server.url(), env=NO_PROXY_ENV)
    assert result.exit_code == 1
    assert "< HTTP/1.1 100 Continue\n<\n" in result.stdout
    assert (
        "  fail  response.closed        -        the server closed the connection after 1 interim"
        " response, before the final one\n" in result.stdout
    )


# ------------------------------------------------------------------ failing a wrong 101 (§4.1)


def test_a_101_the_rules_fail_is_failed_without_a_close_frame(run: Run) -> None:
    received: list[bytes] = []

    def answer(peer: Peer) -> None:
        peer.send(upgrade_head(b"A" * 27 + b"="))
        received.append(read_client_frame(peer))

    with HostileServer(answer) as server:
        code, record = probe_json(run, server.url())
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert received == [b""]  # TCP closed, nothing sent after the request
    assert findings(record, "closing") == []


def test_probe_gets_a_passing_client_verdict_from_serve_for_every_fault(run: Run) -> None:
    """Against the real serve server, the correct answer and each fault in turn: probe refuses
    what a client must refuse (it fails the connection, so serve sees no Close frame) and
    completes the closing handshake on the rest."""
    options = ServeOptions(faults=tuple(FAULTS))
    with server_thread(options) as (url, seen):
        for _ in FAULTS:
            run("probe", "--timeout", "3", "--format", "json", url, env=NO_PROXY_ENV)
        deadline = time.monotonic() + 10
        while len([c for c in seen if c.reported]) < len(FAULTS) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sorted(c.fault.name for c in seen if c.fault is not None) == sorted(
        fault.name for fault in FAULTS
    )
    wrong = {c.fault.name: (c.behaviour, c.how) for c in seen if c.fault and not c.client_ok}
    assert wrong == {}


def test_check_client_scores_probe_a_correct_client(tmp_path: Path) -> None:
    """The same through the command line: `serve --check-client -- wsaccept probe {url}`."""
    from tests.helpers import script_path

    done = run_script(
        [
            "serve", "--check-client", "--timeout", "5",
            "--fault", "accept-hex", "--fault", "status-200", "--fault", "bare-lf",
            "--", script_path(), "probe", "--timeout", "3", "{url}",
        ],
        timeout=60,
    )  # fmt: skip
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stdout.decode()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["pass", "none"],
        ["pass", "request"],
        ["pass", "accept-hex"],
        ["pass", "status-200"],
        ["pass", "bare-lf"],
    ]
    assert "sent a Close frame (code 1000)" in lines[1]
    assert lines[3].endswith("closed the connection without sending a frame")
    assert lines[-1] == "check-client: pass: all 5 checks passed"


# --------------------------------------------------- serve's frame faults: probe as their client

# The frame faults a conforming server may send: probe passes them (exit 0). The rest break the
# protocol (exit 1), close-unanswered too: a server that leaves our Close unanswered while the
# timeout has time to spare fails (RFC 6455 §5.5.1).
VALID_FRAMES = {
    "ping-payload", "ping-125", "ping-inside-fragments", "utf8-split-valid", "close-code-3000",
    "silence",
}  # fmt: skip


def test_check_client_scores_probe_correct_for_every_frame_fault() -> None:
    """`serve --check-client -- wsaccept probe {url}` over every frame fault: probe reads the
    server's frames (wsproto) before its Close goes out, so it fails the connection with the
    code each fault calls for, answers the Pings, echoes the server's Close and hangs up on a
    server that does not answer. One fault cannot score a probe-style client: `silence` wants
    the connection kept open, and probe closes it (Close 1000) as soon as the handshake is
    judged, by design; the judge cannot tell that from a client that gave up on silence."""
    from tests.helpers import script_path

    faults = [arg for fault in FRAME_FAULTS for arg in ("--fault", fault.name)]
    done = run_script(
        [
            "serve", "--check-client", "--timeout", "5", *faults, "--",
            script_path(), "probe", "--extension", "permessage-deflate", "--timeout", "2", "{url}",
        ],
        timeout=120,
    )  # fmt: skip
    lines = done.stdout.decode().splitlines()
    scored = {line.split()[1]: line.split()[0] for line in lines[1:-1]}
    assert scored == {
        "none": "pass",
        "request": "pass",
        **{fault.name: "fail" if fault.name == "silence" else "pass" for fault in FRAME_FAULTS},
    }, done.stdout.decode()
    assert lines[-1] == f"check-client: fail: 1 of {len(FRAME_FAULTS) + 2} checks failed (silence)"
    assert done.returncode == 1


def test_probe_fails_a_server_that_sends_a_broken_frame_after_its_101(run: Run) -> None:
    """probe's own verdict on each frame fault: a frame that is not valid is a failed finding
    naming wsproto's reason and the Close probe failed the connection with (exit 1); the valid
    neighbours pass (exit 0); and serve scores each answer correct (but silence's, see above)."""
    by_name = {fault.name: fault for fault in FRAME_FAULTS}
    results = []
    with server_thread(ServeOptions(faults=FRAME_FAULTS)) as (url, seen):
        for _ in FRAME_FAULTS:
            results.append(
                probe_json(run, url, "--timeout", "2", "--extension", "permessage-deflate")
            )
        deadline = time.monotonic() + 10
        while (
            len([c for c in seen if c.reported]) < len(FRAME_FAULTS) and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    names = [c.fault.name for c in seen if c.fault is not None]
    assert names == [fault.name for fault in FRAME_FAULTS]
    wrong = {c.fault.name: (c.behaviour, c.how) for c in seen if c.fault and not c.client_ok}
    assert list(wrong) == ["silence"]
    exits = {name: code for name, (code, _) in zip(names, results, strict=True)}
    assert exits == {name: 0 if name in VALID_FRAMES else 1 for name in names}
    for name, (_, record) in zip(names, results, strict=True):
        closing = findings(record, "closing")
        fault = by_name[name]
        if fault.must == "fail":
            [(rule, status, message)] = closing
            assert (rule, status) == ("closing.frames", "fail"), name
            sent = int(message.rsplit("with Close ", 1)[1].split()[0])
            assert sent in fault.codes, (name, message)
    assert findings(results[names.index("close-code-3000")][1], "closing") == [
        (
            "closing.handshake",
            "pass",
            "the server closed the connection with its Close (3000, 'bye'); we answered it",
        )
    ]
    assert findings(results[names.index("drop-tcp")][1], "closing")[0][:2] == (
        "closing.dropped",
        "fail",
    )


# ------------------------------------------------------------ the closing handshake after a 101


def closes_after_101(how: str) -> Callable[[Peer], None]:
    def answer(peer: Peer) -> None:
        peer.send(upgrade_head(peer.accept))
        if how == "reset":
            peer.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.connection.close()

    return answer


NO_CLOSE = (
    "the server closed the connection without a Close frame, right after the 101 or in answer"
    " to ours (it must answer with one): clients see the connection drop (close code 1006)"
)
DROPPED = (
    "the connection was closed right after the 101, before any Close frame: every client would"
    " see it drop (close code 1006, RFC 6455 §7.1.5) as soon as it opens"
)


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_connection_dropped_right_after_the_101_fails(run: Run, how: str) -> None:
    with HostileServer(closes_after_101(how)) as server:
        time.sleep(0)
        result = run("probe", "--timeout", "3", server.url(), env=NO_PROXY_ENV)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    heading = next(line for line in lines if line.startswith("handshake 1: "))
    assert heading.endswith(": fail — 12 passed, 1 failed")
    # a close seen before our Close went out, or (the server's FIN came a moment later) after
    assert f"  fail  closing.dropped        §7.1.5   {DROPPED}" in lines or (
        f"  fail  closing.dropped        §5.5.1   {NO_CLOSE}" in lines
    )
    assert lines[-1].endswith("outcome: handshake_failed")


RULES = {
    "echo": "closing.handshake",
    "hang up": "closing.dropped",
    "nothing": "closing.handshake",
    "garbage": "closing.frames",
}


@pytest.mark.parametrize(
    ("after_close", "status", "message"),
    [
        ("echo", "pass", "the server answered our Close frame with its own (1001)"),
        ("hang up", "fail", NO_CLOSE),
        (
            "nothing",
            "fail",
            "the server did not answer our Close frame within N s (it must send one back):"
            " clients wait for it, then drop the connection (close code 1006)",
        ),
        (
            "nothing, after a slow 101",
            "warn",
            "no Close frame came back to ours in the N s the timeout left; a longer --timeout"
            " tells whether the server answers one",
        ),
        (
            "garbage",
            "fail",
            "after the 101 the server sent a frame that is not valid (Invalid attempt to fragment"
            " control frame): every client fails the connection",
        ),
    ],
)
def test_the_closing_handshake(run: Run, after_close: str, status: str, message: str) -> None:
    """Our Close goes out; data frames before the server's Close are skipped."""

    def answer(peer: Peer) -> None:
        if after_close.endswith("slow 101"):
            time.sleep(1.1)  # of the probe's 1.5 s: too little is left to judge the server by
        peer.send(upgrade_head(peer.accept))
        frame = read_client_frame(peer)
        assert frame[:2] == b"\x88\x82"  # a masked Close, 2 bytes of payload
        if after_close == "echo":
            peer.send(
                b"\x81\x05hello" + b"\x82\x7e\x01\x00" + b"x" * 256 + server_close_frame(1001)
            )
        elif after_close == "garbage":
            peer.send(b"xxxxxxxx")
        if after_close != "hang up":
            peer.hold(3)

    with HostileServer(answer) as server:
        started = time.monotonic()
        code, record = probe_json(run, server.url(), "--timeout", "1.5")
        elapsed = time.monotonic() - started
    seconds = re.compile(r"\d+\.\d s")  # how long the timeout left, which load changes
    closing = [
        (rule, got, seconds.sub("N s", text)) for rule, got, text in findings(record, "closing")
    ]
    assert closing == [(RULES[after_close.split(",")[0]], status, message)]
    assert code == (1 if status == "fail" else 0)
    assert elapsed < 4  # the wait for the Close ends with the timeout
    assert server.errors == []


# ----------------------------------------------------------------------------- through nginx


@pytest.fixture(scope="module")
def closing_application() -> Iterator[int]:
    """An application that answers every upgrade with a 101 and, when the request says
    `Connection: close` (nginx's default to its upstream), closes after it."""

    def answer(peer: Peer) -> None:
        peer.send(upgrade_head(peer.accept))
        if b"connection: close" in peer.request.lower():
            return
        if read_client_frame(peer)[:1] == b"\x88":
            peer.send(server_close_frame())

    with HostileServer(answer) as server:
        yield server.port


def test_nginx_without_the_upgrade_settings_in_front_of_a_101_that_closes(
    run: Run, closing_application: int, tmp_path: Path
) -> None:
    with nginx(closing_application, tmp_path) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/broken")
        good_code, good = probe_json(run, f"ws://127.0.0.1:{port}/good")
    assert (code, record["status"], record["outcome"]) == (1, 101, "handshake_failed")
    assert findings(record, "closing") in (
        [("closing.dropped", "fail", DROPPED)],
        [("closing.dropped", "fail", NO_CLOSE)],
    )
    ((_, status, message),) = findings(record, "response.intermediary")
    assert status == "fail"
    assert message.startswith("the 101 came through nginx (Server: nginx/")
    assert "and the connection was closed right after it" in message
    assert "`proxy_http_version 1.1;`, `proxy_set_header Upgrade $http_upgrade;`" in message
    assert (good_code, good["outcome"]) == (0, "ok")
    assert findings(good, "closing") == [
        ("closing.handshake", "pass", "the server answered our Close frame with its own (1000)")
    ]


# ------------------------------------------------------------------ a refusal's body, no waiting


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b""),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n", b"not here\n"),
        (
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n",
            b"4\r\nnope\r\n0\r\n\r\n",
        ),
    ],
    ids=["empty", "content-length", "chunked"],
)
def test_a_refusal_whose_body_is_whole_costs_no_wait(
    monkeypatch: pytest.MonkeyPatch, answer: bytes, body: bytes
) -> None:
    """The body is read as far as its framing says and no further: a keep-alive server that
    sent it all is not waited on (BODY_WAIT is made 5 s here to show it)."""
    from tests.test_hostile_parsing import probe_in_process
    from wsaccept_cli.net import probe as probe_module

    monkeypatch.setattr(probe_module, "BODY_WAIT", 5.0)

    def answer_and_wait(peer: Peer) -> None:
        peer.send(answer)
        peer.hold(5)

    with HostileServer(answer_and_wait) as server:
        started = time.monotonic()
        result = probe_in_process(server, timeout=8)
        elapsed = time.monotonic() - started
    assert result.body == body
    assert elapsed < 2.5


@pytest.mark.parametrize(
    ("accepted", "enabled"),
    [
        ("permessage-deflate", True),
        ("permessage-deflate; server_no_context_takeover; client_max_window_bits=10", True),
        ("permessage-deflate; client_max_window_bits=8", False),  # wsproto takes 9 to 15
        ("permessage-deflate; server_max_window_bits", False),  # no value: wsproto cannot take it
        ("permessage-deflate; server_max_window_bits=x", False),
        ("permessage-deflate; server_max_window_bits=16", False),
        ("x-webkit-deflate-frame", False),
    ],
)
def test_the_closing_reads_compressed_frames_only_under_a_deflate_it_can_take(
    accepted: str, enabled: bool
) -> None:
    """The 101's permessage-deflate configures wsproto for the server's frames; parameters it
    cannot take leave it off (RSV1 is then a protocol error), never an exception."""
    from wsaccept_cli.net.closing import _extensions

    assert bool(_extensions([("Sec-WebSocket-Extensions", accepted)])) is enabled


# ------------------------------------------------- what the server writes right behind its 101


def writes_behind_the_101(after: bytes) -> Callable[[Peer], None]:
    def answer(peer: Peer) -> None:
        peer.send(upgrade_head(peer.accept) + after)  # one write: a client reads them together
        with_timeout = time.monotonic() + 3
        while time.monotonic() < with_timeout and not peer.stop.is_set():
            try:
                if not peer.connection.recv(4096):
                    return
            except OSError:
                return

    return answer


def test_a_stray_line_end_behind_the_101_names_the_clients_that_fail_on_it(run: Run) -> None:
    """A head ended `\\r\\n\\r\\n\\r\\n`: the last CR LF is, to every client, a frame with
    a reserved opcode; Chromium, websockets, Java and libwebsockets read it before they open
    (clientmodels.frames), wsproto fails it too, and the probe fails."""
    with HostileServer(writes_behind_the_101(b"\r\n")) as server:
        code, record = probe_json(run, server.url())
    assert code == 1
    refusing = [c["client"] for c in record["clients"] if not c["accepts"]]
    assert refusing == ["Chromium", "websockets", "Java", "libwebsockets"]
    reasons = {c["reason"] for c in record["clients"] if not c["accepts"]}
    assert reasons == {
        "a frame with the reserved control opcode 0xd without FIN (control frames are not"
        " fragmented) right after the head",
        "a frame with the reserved opcode 0xd right after the head",
    }
    assert findings(record, "response.clients")[0][:2] == ("response.clients", "warn")
    assert findings(record, "closing")[0][:2] == ("closing.frames", "fail")

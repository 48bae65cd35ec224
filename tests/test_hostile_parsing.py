"""Hostile input: every parser of untrusted input runs in linear time and bounded memory, and
`probe` ends on time with its limits held exactly, whatever a malicious server sends.

The captures are about a megabyte of the shapes that make backtracking regular expressions and
list scans blow up (long runs of spaces and tabs in header lines, non-space bytes before "GET",
extension values of many ';', '=' and quotes, many commas, folded lines, thousands of headers or
handshakes), each line under the line reader's 64 KiB limit so that it is parsed, not dropped.
Linear code takes well under a second on each; the quadratic code these tests replaced took
minutes. The time bounds are generous so that a loaded machine does not fail them, and each test
also asserts what a user sees: the exit status, and no traceback on stderr.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import run_script
from tests.hostile_server import (
    Behaviour,
    HostileServer,
    Peer,
    answer_then_drip,
    drip,
    endless_head,
    fixed,
    many_headers,
    quadratic_header,
    upgrade_head,
)
from wsaccept_cli.core.capture import header_line, read_capture
from wsaccept_cli.core.handshake import MAX_HEADERS, MAX_VALUE, Capture
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.core.rules_h2 import inspect_handshake
from wsaccept_cli.net.probe import MAX_HEAD, ProbeResult, run_probe

TIME_BOUND = 10.0  # seconds for a megabyte: linear code takes a fraction of one
MEGABYTE = 1024 * 1024
LINE = 60_000  # bytes in a hostile line: as long as it can be without being dropped
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
)


def repeated(piece: bytes, size: int = LINE) -> bytes:
    return piece * (size // len(piece))


def handshakes_with(line: bytes, count: int = 0) -> bytes:
    """Enough handshakes to make about a megabyte, each request carrying `line`."""
    handshake = REQUEST + line + b"\r\n\r\n" + RESPONSE + b"\r\n"
    return handshake * (count or max(MEGABYTE // len(handshake), 1))


def curl(data: bytes) -> bytes:
    """`data` as `curl -v` prints it: request lines after '> ', response lines after '< '."""
    out, prefix = [], b"> "
    for line in data.split(b"\n"):
        prefix = b"< " if line.startswith(b"HTTP/") else b"> " if line[:4] == b"GET " else prefix
        out.append(prefix + line)
    return b"\n".join(out)


def har(headers: list[tuple[str, str]], entries: int = 1) -> bytes:
    entry = {
        "_resourceType": "websocket",
        "request": {
            "method": "GET",
            "url": "wss://example.com/chat",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in headers],
        },
        "response": {"status": 101, "httpVersion": "HTTP/1.1", "headers": []},
    }
    return json.dumps({"log": {"entries": [entry] * entries}}).encode()


HAR_HEADERS = [("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
SPACES = b"X-Spaces: a" + b" " * LINE + b"b"

# name -> (capture, the exit status inspect must end with)
SHAPES: dict[str, tuple[Callable[[], bytes], int]] = {
    "spaces inside header values": (lambda: handshakes_with(SPACES), 0),
    "tabs and spaces inside header values": (
        lambda: handshakes_with(b"X-Tabs: a" + repeated(b" \t") + b"b"),
        0,
    ),
    "spaces after the colon, value last": (lambda: handshakes_with(b"X: " + b" " * LINE), 0),
    "spaces before a colon": (lambda: handshakes_with(b"X-Name" + b" " * LINE + b"x: b"), 0),
    "non-space bytes before GET (tcpdump -A)": (
        lambda: (b"x" * LINE + REQUEST + b"\r\n" + RESPONSE + b"\r\n") * 16,
        0,
    ),
    "a 1 MB line of non-space bytes before GET (dropped, too long)": (
        lambda: b"x" * MEGABYTE + REQUEST + b"\r\n" + RESPONSE + b"\r\n",
        0,  # the request line went with the long line; its headers still make a request
    ),
    "GET repeated without spaces": (lambda: (repeated(b"GET") + b" / HTTP/1.1x\n") * 16, 2),
    "HTTP/1.1 repeated before a status": (lambda: (repeated(b"HTTP/1.1") + b" 101 x\n") * 16, 1),
    "spaces inside status lines": (lambda: (b"HTTP/1.1" + b" " * LINE + b"x\n") * 16, 2),
    "a version of 60,000 digits": (
        lambda: (b"GET / HTTP/1." + b"1" * LINE + b"\r\nHost: a\r\n\r\n") * 16,
        1,
    ),
    "extensions of many ';'": (
        lambda: handshakes_with(b"Sec-WebSocket-Extensions: a" + repeated(b";b") + b" x"),
        1,
    ),
    "extensions of many '=' and quotes": (
        lambda: handshakes_with(b'Sec-WebSocket-Extensions: a;b="' + repeated(b'\\"')),
        1,
    ),
    "extension parameters with spaces": (
        lambda: handshakes_with(b"Sec-WebSocket-Extensions: a" + repeated(b' ; b = "c" ') + b"="),
        1,
    ),
    "many commas in offered and chosen extensions": (
        lambda: (
            (
                REQUEST
                + b"Sec-WebSocket-Extensions: "
                + repeated(b"a,")
                + b"\r\n\r\n"
                + RESPONSE
                + b"Sec-WebSocket-Extensions: "
                + repeated(b"b,")
                + b"\r\n\r\n"
            )
            * 8
        ),
        1,
    ),
    "many commas in Connection": (lambda: handshakes_with(b"Connection: " + repeated(b",")), 0),
    "folded continuation lines": (
        lambda: REQUEST + b"X-Folded: a\r\n" + repeated(b" b\r\n", MEGABYTE) + b"\r\n",
        0,
    ),
    "short header lines": (lambda: REQUEST + repeated(b"X: a\r\n", MEGABYTE) + b"\r\n", 0),
    "handshakes with wrong accepts, each key different": (
        lambda: b"".join(
            REQUEST.replace(KEY, b"%024d" % i)
            + b"\r\n"
            + RESPONSE.replace(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"A" * 27 + b"=")
            + b"\r\n"
            for i in range(1_000)  # 280 KB: each wrong accept costs a diagnosis of ~2 ms
        ),
        1,
    ),
    "curl -v: spaces inside header values": (lambda: curl(handshakes_with(SPACES)), 0),
    "curl -v: extensions of many ';'": (
        lambda: curl(handshakes_with(b"Sec-WebSocket-Extensions: a" + repeated(b";b") + b" x")),
        1,
    ),
    "HAR: a megabyte of spaces inside a header value": (
        lambda: har([*HAR_HEADERS, ("X-Spaces", "a" + " " * MEGABYTE + "b")]),
        1,
    ),
    "HAR: an extension of a megabyte of ';' and '='": (
        lambda: har([*HAR_HEADERS, ("Sec-WebSocket-Extensions", "a" + ";b=c" * (MEGABYTE // 4))]),
        1,
    ),
    "HAR: an extension of a megabyte of quotes": (
        lambda: har([*HAR_HEADERS, ("Sec-WebSocket-Extensions", 'a;b="' + '\\"' * MEGABYTE)]),
        1,
    ),
}


SLOW_SHAPES = {"handshakes with wrong accepts, each key different"}  # ~2 s: 1,000 diagnoses


@pytest.mark.parametrize(
    "shape",
    [pytest.param(s, marks=[pytest.mark.slow] if s in SLOW_SHAPES else []) for s in sorted(SHAPES)],
)
def test_worst_case_shapes_are_parsed_in_linear_time(shape: str) -> None:
    build, exit_code = SHAPES[shape]
    data = build()
    assert len(data) > MEGABYTE // 4
    started = time.monotonic()
    done = run_script(["inspect", "--format", "json", "-"], stdin=data, timeout=120)
    elapsed = time.monotonic() - started
    assert b"Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == exit_code, done.stderr[-500:]
    assert elapsed < TIME_BOUND, f"{shape}: {elapsed:.1f} s for {len(data):,} bytes"


_OLD_HEADER_LINE = re.compile(r"(:?[!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*")


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list("aZ-: \t\n\r;=\"'\x85\xa0é")), max_size=24))
def test_header_lines_are_split_as_the_regular_expression_did(text: str) -> None:
    # The str-method splitter replaced a quadratic regex: on short lines they must agree.
    old = _OLD_HEADER_LINE.fullmatch(text)
    assert header_line(text) == (old.groups() if old else None)


def reader(data: bytes) -> Callable[[int], bytes]:
    """A read1 over `data`."""
    position = 0

    def read(limit: int) -> bytes:
        nonlocal position
        chunk = data[position : position + limit]
        position += len(chunk)
        return chunk

    return read


def test_a_message_keeps_max_headers_header_lines_and_folds_count_among_them() -> None:
    lines = [b"X-%d: v" % i for i in range(MAX_HEADERS + 50)]
    capture = REQUEST + b"\r\n".join(lines) + b"\r\n folded after the limit\r\n\r\n"
    (handshake,) = read_capture(reader(capture), Capture())
    request = handshake.request
    assert request is not None
    assert len(request.headers) == MAX_HEADERS
    assert request.truncated
    assert request.headers[-1][1] == "v"  # the fold went with the dropped lines
    assert request.header_lines == 5 + MAX_HEADERS + 50 + 1


def test_folded_values_stop_growing_at_max_value() -> None:
    capture = REQUEST + b"X-Folded: a\r\n" + repeated(b" " + b"b" * 1000 + b"\r\n", 200_000)
    (handshake,) = read_capture(reader(capture + b"\r\n"), Capture())
    assert handshake.request is not None
    name, value = handshake.request.headers[-1]
    assert name == "X-Folded"
    assert MAX_VALUE - 1001 <= len(value) <= MAX_VALUE
    assert handshake.request.truncated
    findings = {f.rule: f.message for f in inspect_handshake(1, handshake, Capture()).findings}
    assert findings["request.size"] == (
        "the request has a folded header value over 64 KiB; the rest was not read"
    )


@pytest.mark.parametrize("value", [b"", b",", b" , ,"])
def test_a_chosen_subprotocol_that_names_none_is_a_failure(value: bytes) -> None:
    # Found by tests/fuzz.py: `Sec-WebSocket-Protocol: ,` in a 101 raised IndexError.
    capture = REQUEST + b"\r\n" + RESPONSE + b"Sec-WebSocket-Protocol: " + value + b"\r\n\r\n"
    done = run_script(["inspect", "--format", "json", "-"], stdin=capture)
    assert b"Traceback" not in done.stderr
    assert done.returncode == 1
    messages = {f["rule"]: f["message"] for f in json.loads(done.stdout)["findings"]}
    assert messages["response.protocol"].endswith("which names no subprotocol")


def test_a_deeply_nested_har_is_one_error_line() -> None:
    done = run_script(["inspect", "-"], stdin=b'{"log": ' + b"[" * 100_000)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "wsaccept: error: the input starts like a HAR file but is not one: its JSON is nested"
        " too deeply"
    ]


def test_har_values_outside_latin_1_are_checked_as_their_utf8_bytes() -> None:
    document = har([("Host", "bücher.example€"), ("Sec-WebSocket-Key", "€" * 8), ("X", "\ud800")])
    done = run_script(["inspect", "--format", "json", "-"], stdin=document)
    assert b"Traceback" not in done.stderr
    assert done.returncode == 1
    record = json.loads(done.stdout)
    messages = {f["rule"]: f["message"] for f in record["findings"]}
    assert messages["request.host"] == "Host is 'bücher.example€'"
    assert "non-ASCII" in messages["request.key"]


def test_har_values_that_are_lists_or_objects_count_as_missing() -> None:
    nested: object = "x"
    for _ in range(900):  # parsed by json, deeper than str() could print from inside wsaccept
        nested = [nested]
    document = har([("Host", nested), ("Upgrade", {"a": nested})])  # type: ignore[list-item]
    done = run_script(["inspect", "--format", "json", "-"], stdin=document)
    assert b"Traceback" not in done.stderr
    assert done.returncode == 1
    messages = {f["rule"]: f["message"] for f in json.loads(done.stdout)["findings"]}
    assert messages["request.host"] == "Host is ''"


# probe: the deadline holds, whatever the server sends

PROBE_TIMEOUT = 1.0
PROBE_MARGIN = 2.0  # start-up of the script and a loaded machine; the slowest case took 25 s


def upgrade_with(*extra: bytes) -> Callable[[Peer], bytes]:
    return lambda peer: upgrade_head(peer.accept, *extra)


# A text frame of 1 MiB whose payload then drips: the server's Close never comes behind it.
ENDLESS_FRAME = b"\x81\x7f" + (1 << 20).to_bytes(8, "big")


def late_upgrade_then_frames(peer: Peer) -> None:
    """Half a 101 at once, the rest 0.8 s later, then a byte of frame data every 10 ms: the
    probe's wait for the echo of its Close must end at the deadline, not later."""
    head = upgrade_head(peer.accept)
    peer.send(head[:20])
    peer.hold(0.8)
    peer.send(head[20:] + ENDLESS_FRAME)
    peer.drip(b"x" * 10_000, 0.01)


PROBE_CASES: dict[str, tuple[Callable[[], Behaviour], int, str]] = {
    "a header of 60,000 spaces (quadratic to a regex)": (
        lambda: quadratic_header(60_000),
        0,
        "Sec-WebSocket-Accept matches the key",
    ),
    "ten lines of 6,000 spaces": (
        lambda: quadratic_header(6_000, lines=10),
        0,
        "Sec-WebSocket-Accept matches the key",
    ),
    "a refusal whose body drips": (
        lambda: answer_then_drip(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 9999\r\n\r\n", 0.05),
        1,
        "status 400 Bad Request",
    ),
    "frames that drip after the 101, never echoing the Close": (
        lambda: answer_then_drip(lambda peer: upgrade_head(peer.accept) + ENDLESS_FRAME, 0.05),
        1,
        "the server did not answer our Close frame within",
    ),
    "bytes that are no frame after the 101": (
        lambda: answer_then_drip(upgrade_with(), 0.05),
        1,
        "the server sent a frame that is not valid",
    ),
    "a head that drips a byte every 5 ms": (
        lambda: drip(upgrade_with(b"X: " + b"a" * 100_000), 0.005),
        5,
        "the response head was not complete within 1 s",
    ),
    "a head that ends just before the deadline, then frames that drip": (
        lambda: late_upgrade_then_frames,
        0,
        "Sec-WebSocket-Accept matches the key",
    ),
    "an endless head": (
        lambda: endless_head(),
        1,
        f"the response head is over {MAX_HEAD // 1024} KiB",
    ),
    "10,000 short headers (80 KB)": (
        lambda: many_headers(10_000, b"X-H: a"),
        1,
        f"the response head is over {MAX_HEAD // 1024} KiB",
    ),
}


@pytest.mark.parametrize("case", list(PROBE_CASES))
def test_probe_ends_on_time_whatever_the_server_sends(case: str) -> None:
    make, exit_code, message = PROBE_CASES[case]
    with HostileServer(make()) as server:
        started = time.monotonic()
        done = run_script(
            ["probe", "--format", "json", "--timeout", str(PROBE_TIMEOUT), server.url()],
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert b"Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == exit_code, done.stdout[-2000:]
    findings = json.loads(done.stdout)["findings"]
    assert any(message in f["message"] for f in findings), findings
    assert elapsed < PROBE_TIMEOUT + PROBE_MARGIN, f"{case}: {elapsed:.1f} s"


def probe_in_process(server: HostileServer, timeout: float = 5) -> ProbeResult:
    target = RequestTarget(server.url())
    request = REQUEST.replace(b"Host: example.com", f"Host: 127.0.0.1:{server.port}".encode())
    return run_probe(target, request + b"\r\n", timeout=timeout, url=server.url())


@pytest.mark.parametrize(
    ("head_size", "cut"), [(MAX_HEAD - 1, False), (MAX_HEAD, False), (MAX_HEAD + 1, True)]
)
def test_the_head_limit_is_exact(head_size: int, cut: bool) -> None:
    start = b"HTTP/1.1 400 Bad Request\r\n"
    filler = b"X: a\r\n"
    lines = (head_size - len(start) - 2) // len(filler)
    rest = head_size - len(start) - 2 - lines * len(filler)
    head = start + filler * (lines - 1) + b"X: a" + b"a" * rest + b"\r\n" + b"\r\n"
    assert len(head) == head_size
    with HostileServer(fixed(head + b"body")) as server:
        result = probe_in_process(server)
    assert result.head_cut is cut
    assert result.head_complete is not cut
    assert len(result.response) == min(head_size, MAX_HEAD)


def test_many_short_headers_in_one_piece_cannot_pass_the_head_limit() -> None:
    with HostileServer(many_headers(10_000, b"X-H: a")) as server:  # 80 KB, sent in one go
        result = probe_in_process(server)
    assert result.head_cut
    assert len(result.response) == MAX_HEAD


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("a..b", "empty label"),
        ("a" * 64 + ".com", "label too long"),
        (".leading.dot", "empty label"),
        ("x" * 300, "label too long"),
        ("a." * 130 + "com", "name too long"),
    ],
)
def test_a_host_that_is_not_a_name_is_a_connect_failure(host: str, reason: str) -> None:
    started = time.monotonic()
    done = run_script(["probe", "--format", "json", "--timeout", "5", f"ws://{host}/"])
    assert time.monotonic() - started < 4  # refused at once, not after the timeout
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert b"Exception in thread" not in done.stderr
    assert done.returncode == 3
    record = json.loads(done.stdout)
    assert record["outcome"] == "connect_failed"
    assert record["findings"][-1]["message"].startswith(f"cannot resolve {host}: {reason}")


def test_a_server_that_never_reads_still_ends_on_time() -> None:
    # It accepts, reads nothing and answers nothing; the kernel buffers our small request.
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        port = listener.getsockname()[1]
        started = time.monotonic()
        done = run_script(
            ["probe", "--format", "json", "--timeout", "1", f"ws://127.0.0.1:{port}/"]
        )
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert done.returncode == 5
    assert elapsed < PROBE_TIMEOUT + PROBE_MARGIN


def test_a_lookup_that_raises_value_error_is_a_connect_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What getaddrinfo raises, in its thread, for a name its IDNA step refuses.
    def refuse(*args: object, **kwargs: object) -> None:
        raise UnicodeError("encoding with 'idna' codec failed (UnicodeError: label too long)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    started = time.monotonic()
    result = run_probe(RequestTarget("ws://example.com/"), REQUEST + b"\r\n", timeout=5)
    assert time.monotonic() - started < 1  # not a wait for the timeout
    assert result.error is not None
    assert result.error.outcome == ProbeOutcome.CONNECT_FAILED
    assert (
        result.error.message == "cannot resolve example.com: not a valid host name (label too long)"
    )

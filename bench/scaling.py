#!/usr/bin/env python3
"""How the parsers of untrusted input scale: each worst-case shape timed at n and 8n bytes.

    python bench/scaling.py            # every shape; about a minute
    python bench/scaling.py --quick    # smaller sizes, fewer repeats

A parser linear in its input takes about 8 times as long on 8 times the bytes (ratio ≈ 8); a
quadratic one about 64 times. The shapes are the ones a backtracking regular expression or a
list scan chokes on: long runs of spaces and tabs inside header lines, a megabyte of non-space
bytes before "GET", extension values of many ';', '=' and quotes, many commas, thousands of
handshakes with wrong accepts, folded lines, a deeply nested HAR. Shapes confined to one line are
timed with a line of n and 8n bytes (the line reader drops lines over 64 KiB), the others with n
and 8n bytes of lines.

Each parser is called the way wsaccept calls it, in this process: `read_capture` and the rules
(inspect: raw HTTP, curl -v, tcpdump -A, HAR), the probe's head reader fed by a fake socket and
`probe_report`, and `value_from_line` (stdin keys). Times are the best of several runs, since this
machine is noisy; `--limit` skips the 8n run of a shape whose n run says it would take too long
(a quadratic parser), and prints the ratio as at least the projected one.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wsaccept_cli.core.capture import CaptureError, read_capture
from wsaccept_cli.core.handshake import Capture
from wsaccept_cli.core.keys import value_from_line
from wsaccept_cli.core.rules import inspect_handshake
from wsaccept_cli.net import probe

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
)


def _fill(piece: bytes, size: int) -> bytes:
    return piece * max(size // len(piece), 1)


def in_request(line: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A handshake whose request carries one line of `size` bytes."""
    return lambda size: REQUEST + line(size) + b"\r\n\r\n" + RESPONSE + b"\r\n"


# Shapes: name -> (kind, builder of about `size` bytes). "line" shapes grow one line.
RAW_SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "spaces inside a header value": (
        "line",
        in_request(lambda n: b"X-Spaces: a" + b" " * n + b"b"),
    ),
    "tabs and spaces inside a header value": (
        "line",
        in_request(lambda n: b"X-Tabs: a" + _fill(b" \t", n) + b"b"),
    ),
    "spaces before a header's colon": (
        "line",
        in_request(lambda n: b"X-Name" + b" " * n + b"x: b"),
    ),
    "non-space bytes before GET (tcpdump -A)": (
        "line",
        lambda n: b"x" * n + b"GET /chat HTTP/1.1\r\n" + REQUEST[20:] + b"\r\n" + RESPONSE,
    ),
    "GET repeated without spaces": ("line", lambda n: _fill(b"GET", n) + b" / HTTP/1.1x\r\n"),
    "HTTP/1.1 repeated before a status": ("line", lambda n: _fill(b"HTTP/1.1", n) + b" 101 x\r\n"),
    "spaces inside a status line": ("line", lambda n: b"HTTP/1.1" + b" " * n + b"x\r\n"),
    "digits of an HTTP version": ("line", lambda n: b"GET / HTTP/1." + b"1" * n + b"\r\n"),
    "extension of many ';'": (
        "line",
        in_request(lambda n: b"Sec-WebSocket-Extensions: a" + _fill(b";b", n) + b" x"),
    ),
    "extension of many '=' and quotes": (
        "line",
        in_request(lambda n: b'Sec-WebSocket-Extensions: a;b="' + _fill(b'\\"', n)),
    ),
    "extension params with spaces": (
        "line",
        in_request(lambda n: b"Sec-WebSocket-Extensions: a" + _fill(b' ; b = "c" ', n) + b"="),
    ),
    "many commas in offered and chosen extensions": (
        "line",
        lambda n: (
            REQUEST
            + b"Sec-WebSocket-Extensions: "
            + _fill(b"a,", n // 2)
            + b"\r\n\r\n"
            + RESPONSE
            + b"Sec-WebSocket-Extensions: "
            + _fill(b"b,", n // 2)
            + b"\r\n\r\n"
        ),
    ),
    "many commas in Connection": (
        "line",
        in_request(lambda n: b"Connection: " + _fill(b",", n) + b"x"),
    ),
    "handshakes with wrong accepts": (
        "lines",
        lambda n: b"".join(
            REQUEST.replace(KEY, b"%024d" % i)
            + b"\r\n"
            + RESPONSE.replace(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"A" * 27 + b"=")
            + b"\r\n"
            for i in range(max(n // 330, 1))
        ),
    ),
    "folded continuation lines": (
        "lines",
        in_request(lambda n: b"X-F: a\r\n" + _fill(b" b\r\n", n)),
    ),
    "short header lines": ("lines", in_request(lambda n: _fill(b"X: a\r\n", n))),
    "lines of spaces only": ("lines", lambda n: REQUEST + _fill(b" " * 1000 + b"\r\n", n)),
}


def curl(data: bytes) -> bytes:
    """`data` as `curl -v` shows it: the request after '> ', the response after '< '."""
    lines, prefix = [], b"> "
    for line in data.split(b"\n"):
        if line.startswith(b"HTTP/"):
            prefix = b"< "
        elif line.startswith(b"GET "):
            prefix = b"> "
        lines.append(prefix + line)
    return b"\n".join(lines)


def har(headers: list[tuple[str, str]], entries: int = 1) -> bytes:
    entry = {
        "_resourceType": "websocket",
        "request": {
            "method": "GET",
            "url": "wss://example.com/chat",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in headers],
        },
        "response": {
            "status": 101,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Sec-WebSocket-Accept", "value": "A" * 27 + "="}],
        },
    }
    return json.dumps({"log": {"entries": [entry] * entries}}).encode()


HAR_BASE = [("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
HAR_SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "HAR: spaces inside a header value": (
        "lines",
        lambda n: har([*HAR_BASE, ("X-Spaces", "a" + " " * n + "b")]),
    ),
    "HAR: extension of many ';' and '='": (
        "lines",
        lambda n: har([*HAR_BASE, ("Sec-WebSocket-Extensions", "a" + ";b=c" * (n // 4) + "=")]),
    ),
    "HAR: entries with wrong accepts": (
        "lines",
        lambda n: har([*HAR_BASE, ("Sec-WebSocket-Key", KEY.decode())], max(n // 400, 1)),
    ),
    "HAR: nesting (refused past ~1000 levels)": (
        "lines",
        lambda n: b'{"log": ' + b"[" * (n // 2) + b"]" * (n // 2) + b"}",
    ),
}

PROBE_SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "probe: spaces inside a header value": (
        "line",
        lambda n: RESPONSE + b"X-Spaces: a" + b" " * (n - 200) + b"b\r\n\r\n",
    ),
    "probe: short header lines": ("lines", lambda n: RESPONSE + _fill(b"X: a\r\n", n) + b"\r\n"),
    "probe: extension of many ';'": (
        "line",
        lambda n: RESPONSE + b"Sec-WebSocket-Extensions: a" + _fill(b";b", n - 200) + b"\r\n\r\n",
    ),
}

KEY_SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "stdin key: spaces before a value": ("line", lambda n: b"Sec-WebSocket-Key:" + b" " * n + b"x"),
    "stdin key: spaces before a colon": ("line", lambda n: b"a" + b" " * n + b"b:"),
    "stdin key: long name without colon": ("line", lambda n: b"a" * n + b" x:"),
    "stdin key: colons": ("line", lambda n: b":" * n),
}


def reader(data: bytes, size: int = 65536) -> Callable[[int], bytes]:
    position = 0

    def read(limit: int) -> bytes:
        nonlocal position
        chunk = data[position : position + min(size, limit)]
        position += len(chunk)
        return chunk

    return read


def inspect(data: bytes) -> None:
    """What `wsaccept inspect` does with a capture, without the output."""
    capture = Capture()
    try:
        for number, handshake in enumerate(read_capture(reader(data), capture), start=1):
            inspect_handshake(number, handshake, capture).as_dict()
    except CaptureError:
        pass


class FakeConnection:
    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def settimeout(self, timeout: float | None) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        pass

    def recv(self, limit: int) -> bytes:
        chunk = self.data[self.position : self.position + min(limit, 1460)]
        self.position += len(chunk)
        return chunk


def probe_head(data: bytes) -> None:
    """The probe's work on a response: the head read from a socket, then checked."""
    result = probe.ProbeResult("ws://example.com/chat", REQUEST + b"\r\n")
    connection: Any = FakeConnection(data)
    probe._read_head(connection, probe.Deadline(600), result, time.monotonic())
    probe.probe_report(result).as_dict()


def key_line(data: bytes) -> None:
    value_from_line(data)


def best_time(parse: Callable[[bytes], None], data: bytes, budget: float) -> float:
    """The fastest of several runs (at least 5), within about `budget` seconds, each after a
    garbage collection so that none pays for the garbage of the one before."""
    best = float("inf")
    spent = 0.0
    runs = 0
    while runs < 5 or (spent < budget and runs < 50):
        gc.collect()
        started = time.perf_counter()
        parse(data)
        elapsed = time.perf_counter() - started
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--limit",
        type=float,
        default=60.0,
        help="skip an 8n run projected (as quadratic) to take longer than this many seconds",
    )
    options = parser.parse_args()
    line_n = 2_000 if options.quick else 8_000  # 8n = 64,000: just under the 64 KiB line limit
    lines_n = 32 * 1024 if options.quick else 128 * 1024
    budget = 0.05 if options.quick else 0.3
    groups: list[tuple[str, Callable[[bytes], None], dict[str, Any]]] = [
        ("inspect (raw HTTP)", inspect, RAW_SHAPES),
        (
            "inspect (curl -v)",
            inspect,
            {
                "curl: " + name: (kind, lambda n, build=build: curl(build(n)))
                for name, (kind, build) in RAW_SHAPES.items()
                if "tcpdump" not in name
            },
        ),
        ("inspect (HAR)", inspect, HAR_SHAPES),
        ("probe (response head)", probe_head, PROBE_SHAPES),
        ("compute/verify (stdin line)", key_line, KEY_SHAPES),
    ]
    print(f"{'shape':52} {'n bytes':>9} {'t(n)':>10} {'t(8n)':>10} {'ratio':>7}")
    for title, parse, shapes in groups:
        print(title)
        for name, (kind, build) in shapes.items():
            n = line_n if kind == "line" else lines_n
            if title.startswith("probe") and kind == "lines":
                n = line_n  # the head is cut at 64 KiB: 8n must fit in it
            small = build(n)
            try:
                t_small = best_time(parse, small, budget)
            except Exception as error:  # a parser that crashes is worse than a slow one
                crash = f"crashed: {type(error).__name__}: {error}"[:80]
                print(f"  {name:50} {len(small):>9,} {crash}")
                continue
            if t_small * 64 > options.limit:
                shown = f"{'skipped':>10} {'>=64?':>7}"
                print(f"  {name:50} {len(small):>9,} {t_small * 1000:8.2f}ms {shown}")
                continue
            large = build(8 * n)
            t_large = best_time(parse, large, budget)
            ratio = t_large / t_small if t_small else float("inf")
            print(
                f"  {name:50} {len(small):>9,} {t_small * 1000:8.2f}ms {t_large * 1000:8.2f}ms"
                f" {ratio:7.1f}"
            )


if __name__ == "__main__":
    main()

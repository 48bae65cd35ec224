#!/usr/bin/env python3
"""Long fuzz runs over the key checks, the stdin line reader and the handshake parsers.

    python tests/fuzz.py                       # hypothesis: 20,000 inputs per target
    python tests/fuzz.py --examples 200000     # a longer run
    python tests/fuzz.py --atheris all --runs 250000       # coverage-guided, every target
    python tests/fuzz.py --atheris probe --runs 1000000    # one target

Run by hand, not in CI (the test suite runs the same properties with a few hundred inputs).

Hypothesis mode gives each target random and mutated inputs; a crash fails the run with the input
that caused it, and each target's peak memory (tracemalloc) must stay under MEMORY_BOUND.

Atheris mode (`pip install atheris`; libFuzzer inside a wheel) is coverage-guided: it instruments
wsaccept_cli and mutates inputs towards new branches, starting from the golden captures and a
dictionary of HTTP and HAR words. Each target runs in a process of its own (libFuzzer ends its
process when done), with a per-input time limit (an input that takes seconds is a super-linear
parser, which is a bug here) and an RSS limit; a crash or timeout leaves the input in
`--artifacts` and fails the run. Its targets, beyond the hypothesis ones:

- capture: `read_capture` on raw HTTP and `curl -v` output, read in pieces of a fuzzed size, then
  every rule and the report's fields;
- har: the same on a document that starts like a HAR file, so the JSON reader and the HAR walker
  are what gets fuzzed;
- probe: the probe's response handling without a socket: the head reader (fed by a fake
  connection, in fuzzed pieces), the body and close waits, `probe_report` and `outcome`;
- keys: a stdin line through `value_from_line`, the key checks and the accept;
- answer: `core.answered` (is a server's answer HTTP at all?): the early check a reader stops
  at must agree with the whole check, and a prefix of a status line is never refused;
- proxy: an HTTP proxy's answer to CONNECT, read from a fake connection in fuzzed pieces and
  judged (a ProbeError is the expected refusal, anything else a crash);
- socks: a SOCKS4 or SOCKS5 proxy's replies (python-socks, through a real socket pair) to the
  probe's own proxy code: a refusal is a ProbeError, never another exception;
- h2: HTTP/2 frames as the probe over HTTP/2 sees them (h2, the session, the report);
- serve-request: a request head as `serve` reads it: the parser, the strict request syntax,
  the refusal, every fault's answer and the report;
- relay: the relay's rewrite of a request head for its upstream, then the same parser.

It prints, per target, the inputs run, the crashes, the time and libFuzzer's peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES_DIR = ROOT / "tests" / "cases" / "inspect"
MEMORY_BOUND = 32 * 1024 * 1024

# ---------------------------------------------------------------------------------------------
# Hypothesis mode


def hypothesis_main(examples: int) -> None:
    from hypothesis import strategies as st

    from tests.test_capture_parsing import inspect_all, mutated_captures
    from wsaccept_cli.core.keys import accept_for, key_problems, value_from_line
    from wsaccept_cli.core.lines import Block, read_blocks
    from wsaccept_cli.stream.bulk import compute_block, verify_block

    def key_target(data: bytes) -> None:
        field = value_from_line(data)
        if field.value is not None:
            key_problems(field.value)
            accept_for(field.value)

    def reader_target(data: bytes) -> None:
        position = 0

        def read(limit: int) -> bytes:
            nonlocal position
            chunk = data[position : position + min(limit, 97)]
            position += len(chunk)
            return chunk

        for block in read_blocks(read, max_line=512, read_size=97):
            list(compute_block(block, strict=True))
            if isinstance(block, Block):
                list(verify_block(block))

    def capture_target(data: bytes) -> None:
        inspect_all(data, 113)

    targets: dict[str, tuple[Callable[[bytes], None], Any]] = {
        "key checks": (key_target, st.binary(max_size=64)),
        "stdin line reader": (reader_target, st.binary(max_size=4096)),
        "handshake parsers (random)": (capture_target, st.binary(max_size=4096)),
        "handshake parsers (mutated captures)": (capture_target, mutated_captures()),
    }
    tracemalloc.start()
    for name, (target, strategy) in targets.items():
        seen = {"tried": 0, "peak": 0}
        fuzz = _hypothesis_run(name, target, strategy, examples, seen)
        started = time.monotonic()
        fuzz()
        elapsed = time.monotonic() - started
        print(
            f"{name:40} {seen['tried']:>9,} inputs, no crash,"
            f" peak {seen['peak'] / 1024:8.1f} KiB, {elapsed:6.1f} s"
        )


def _hypothesis_run(
    name: str,
    target: Callable[[bytes], None],
    strategy: Any,
    examples: int,
    seen: dict[str, int],
) -> Callable[[], None]:
    """One target as a hypothesis test that counts its inputs and the memory each takes."""
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def fuzz(data: bytes) -> None:
        seen["tried"] += 1
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        target(data)
        seen["peak"] = max(seen["peak"], tracemalloc.get_traced_memory()[1] - before)
        assert seen["peak"] < MEMORY_BOUND, f"{name}: {seen['peak']} bytes for {data[:80]!r}"

    return fuzz  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Atheris mode: the targets run in a child process, instrumented


ATHERIS_TARGETS = (
    "capture", "har", "probe", "keys", "answer", "proxy", "socks", "h2", "serve-request", "relay",
)  # fmt: skip

DICTIONARY = [
    "GET", "POST", "HTTP/1.1", "HTTP/1.0", "HTTP/2", " 101 ", " 400 ", " 426 ", "\r\n", "\r\n\r\n",
    ": ", "Host", "Upgrade", "websocket", "Connection", "Sec-WebSocket-Key",
    "Sec-WebSocket-Accept", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits", "Via", "Location",
    ":protocol", ":method", ":status", "CONNECT", "dGhlIHNhbXBsZSBub25jZQ==",
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "> ", "< ", "* ", "Request Headers", "Response Headers",
    '"log"', '"entries"', '"request"', '"response"', '"headers"', '"name"', '"value"',
    '"_resourceType"', '"websocket"', '"status"', '"httpVersion"', '"url"', '"method"',
    '"content"', '"text"', '"statusText"', "[", "]", "{", "}", ",", '\\"', "\\u0000", "\\ud800",
    "\t", " ", ";", "=", '"',
]  # fmt: skip


def _seeds(target: str) -> list[bytes]:
    cases = sorted(CASES_DIR.glob("*"))
    if target == "har":
        return [p.read_bytes().lstrip()[1:] for p in cases if p.suffix == ".har"]
    if target == "keys":
        return [b"dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r"]
    texts = [p.read_bytes() for p in cases if p.suffix in (".http", ".curl", ".txt")]
    if target in ("serve-request", "relay"):  # the request half of each raw capture
        return [t[: t.find(b"\r\n\r\n") + 4] for t in texts if t.startswith(b"GET ")]
    if target == "socks":
        return [
            b"\x00\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50",
            b"\x01\x00\x5a\x00\x50\x7f\x00\x00\x01",
        ]
    if target == "h2":
        return [b"\x40\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x01"]
    if target in ("probe", "answer", "proxy"):  # the response half of each raw capture
        return [b"\x40" + t[t.find(b"HTTP/1") :] for t in texts if b"\nHTTP/1" in t]
    return [b"\x40" + t for t in texts]


def atheris_child(target: str, libfuzzer_args: list[str]) -> None:
    """Runs in the child: instrument wsaccept_cli, then hand the target to libFuzzer."""
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    with atheris.instrument_imports(include=["wsaccept_cli"]):
        from wsaccept_cli.core import capture as capture_module
        from wsaccept_cli.core import keys, rules_h2
        from wsaccept_cli.core.handshake import Capture
        from wsaccept_cli.core.request import RequestTarget
        from wsaccept_cli.net import probe

    def inspect_bytes(data: bytes, size: int) -> None:
        position = 0

        def read(limit: int) -> bytes:
            nonlocal position
            chunk = data[position : position + min(size, limit)]
            position += len(chunk)
            return chunk

        found = Capture()
        try:
            handshakes = capture_module.read_capture(read, found)
            for number, handshake in enumerate(handshakes, start=1):
                report = rules_h2.inspect_handshake(number, handshake, found)
                report.as_dict()
                report.describe()
        except capture_module.CaptureError:
            pass

    class FakeConnection:
        """A socket that hands out `data` in pieces of `size` bytes, then end of stream."""

        def __init__(self, data: bytes, size: int) -> None:
            self.data, self.size, self.position = data, size, 0

        def settimeout(self, timeout: float | None) -> None:
            pass

        def sendall(self, data: bytes) -> None:
            pass

        def send(self, data: bytes) -> int:
            return len(data)

        def close(self) -> None:
            pass

        def recv(self, limit: int) -> bytes:
            chunk = self.data[self.position : self.position + min(self.size, limit)]
            self.position += len(chunk)
            return chunk

    url = "ws://fuzz.test/chat"
    request = (
        b"GET /chat HTTP/1.1\r\nHost: fuzz.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    RequestTarget(url)

    def probe_target(data: bytes) -> None:
        size = 1 + (data[0] if data else 0) * 97  # pieces of 1 B to 24 KiB
        repeat = 1 + (data[1] if len(data) > 1 else 0) % 32  # heads past MAX_HEAD too
        connection: Any = FakeConnection(data[2:] * repeat, size)
        result = probe.ProbeResult(url, request)
        deadline = probe.Deadline(60)
        probe._read_head(connection, deadline, result, time.monotonic())
        if result.head_complete and not probe._is_upgrade(result.response):
            probe._read_body(connection, result, deadline)
        elif result.head_complete:
            probe._close_politely(connection, deadline)
        assert len(result.response) <= probe.MAX_HEAD, len(result.response)
        assert len(result.body) <= probe.MAX_BODY, len(result.body)
        report = probe.probe_report(result)
        probe.outcome(result, report)
        report.as_dict()
        report.describe()

    def capture_target(data: bytes) -> None:
        inspect_bytes(data[1:], 1 + (data[0] if data else 0) * 37)

    def har_target(data: bytes) -> None:
        inspect_bytes(b"{" + data, 65536)

    def keys_target(data: bytes) -> None:
        field = keys.value_from_line(data)
        if field.value is not None:
            keys.key_problems(field.value)
            keys.accept_for(field.value)

    chosen = {
        "capture": capture_target,
        "har": har_target,
        "probe": probe_target,
        "keys": keys_target,
        **_more_targets(FakeConnection, request),
    }[target]
    atheris.Setup([sys.argv[0], *libfuzzer_args], chosen)
    atheris.Fuzz()


def _more_targets(fake: Any, request: bytes) -> dict[str, Callable[[bytes], None]]:
    """The targets of issue 22: what answers a probe (a server, a proxy, an HTTP/2 server) and
    what a client sends to `serve` and its relay. Imported inside atheris's instrumentation."""
    import socket
    import threading

    from wsaccept_cli.core import answered, faults, served
    from wsaccept_cli.core.proxyenv import ProxyURL
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.core.request_h2 import extended_connect_headers
    from wsaccept_cli.net import connect, h2probe, heads, relay
    from wsaccept_cli.net.connect import Connected, Deadline, ProbeError

    def answer_target(data: bytes) -> None:
        what = answered.not_http(data, request)
        if answered.cannot_be_http(data):
            assert what is not None, data
        if what is not None:
            answered.not_http_message(what)

    proxy = ProxyURL("http://user:secret@proxy.test:3128")

    def proxy_target(data: bytes) -> None:
        connection = fake(data[1:], 1 + (data[0] if data else 0) * 37)
        head = connect._read_proxy_head(connection, Deadline(60))
        assert len(head) <= connect.MAX_PROXY_HEAD + connect.MAX_PROXY_LINE_CHECKED
        record = Connected()
        record.proxy = {}
        with contextlib.suppress(ProbeError):
            connect._check_proxy_answer(head, proxy, "fuzz.test:80", record, connection)

    def socks_target(data: bytes) -> None:
        ours, theirs = socket.socketpair()
        kind = "socks5h" if data[:1] == b"\x00" else "socks4a"
        chosen = ProxyURL(f"{kind}://user:secret@127.0.0.1:1080")

        def answer() -> None:
            try:
                theirs.recv(4096)
                theirs.sendall(data[1:])
                theirs.shutdown(socket.SHUT_WR)
                while theirs.recv(4096):
                    pass
            except OSError:
                pass

        helper = threading.Thread(target=answer)
        helper.start()
        try:
            connect._socks_over(ours, chosen, "fuzz.test", 80, Deadline(5))
        except (ProbeError, TimeoutError):
            pass
        finally:
            ours.close()
            helper.join()
            theirs.close()

    h2_headers = extended_connect_headers(RequestTarget("wss://fuzz.test/chat"), request)

    def h2_target(data: bytes) -> None:
        connection = fake(data[1:], 1 + (data[0] if data else 0) * 37)
        result = h2probe.H2ProbeResult("wss://fuzz.test/chat", h2_headers)
        result.alpn = "h2"
        with contextlib.suppress(ProbeError, OSError):
            h2probe._Session(connection, result, Deadline(60)).exchange()
        report = h2probe.h2_probe_report(result)
        report.as_dict()
        report.describe()

    def serve_request_target(data: bytes) -> None:
        message = heads.parse_head(data, "request")
        connection = served.ServedConnection(1, "127.0.0.1:1")
        connection.request, connection.request_bytes = message, data
        if message is not None and faults.request_refusal(message, data) is None:
            fault = faults.FAULTS[data[-1] % len(faults.FAULTS)] if data else None
            answer, connection.skipped = faults.answer_for(message, fault)
            connection.fault = fault
            answer.to_bytes()
        report = served.serve_report(connection)
        report.as_dict()
        report.describe()

    def relay_target(data: bytes) -> None:
        rewritten = relay.rewrite_request(data, "/up", "upstream.test:8080")
        heads.parse_head(rewritten, "request")

    return {
        "answer": answer_target,
        "proxy": proxy_target,
        "socks": socks_target,
        "h2": h2_target,
        "serve-request": serve_request_target,
        "relay": relay_target,
    }


def atheris_main(
    targets: list[str], runs: int, artifacts: Path, workdir: Path | None, max_time: int = 0
) -> int:
    """Run each target in a child process; print a line per target; 1 if any crashed."""
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    artifacts.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="wsaccept-fuzz-") as scratch:
        base = workdir or Path(scratch)
        dictionary = base / "http.dict"
        base.mkdir(parents=True, exist_ok=True)
        dictionary.write_text(
            "".join(f"{_dict_entry(word)}\n" for word in DICTIONARY), encoding="ascii"
        )
        for target in targets:
            corpus = base / f"corpus-{target}"
            corpus.mkdir(exist_ok=True)
            for number, seed in enumerate(_seeds(target)):
                (corpus / f"seed-{number}").write_bytes(seed)
            args = [
                f"-runs={runs}",
                f"-dict={dictionary}",
                f"-artifact_prefix={artifacts}/{target}-",
                "-timeout=10",  # seconds for one input: only a super-linear parser takes that
                "-rss_limit_mb=1024",
                "-max_len=8192",
                "-print_final_stats=1",
                *([f"-max_total_time={max_time}"] if max_time else []),
                str(corpus),
            ]
            started = time.monotonic()
            child = subprocess.run(
                [sys.executable, __file__, "--atheris-child", target, "--", *args],
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            elapsed = time.monotonic() - started
            log = artifacts / f"{target}.log"
            log.write_text(child.stderr + child.stdout)
            executed = _stat(child.stderr, "number_of_executed_units")
            peak = _stat(child.stderr, "peak_rss_mb")
            crashed = child.returncode != 0
            failed += crashed
            verdict = f"CRASH (exit {child.returncode}, see {log})" if crashed else "no crash"
            print(
                f"atheris {target:10} {executed:>11,} inputs, {verdict}, peak RSS {peak:5} MiB,"
                f" {elapsed:7.1f} s",
                flush=True,
            )
    return 1 if failed else 0


def _dict_entry(word: str) -> str:
    escaped = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02x}" for c in word
    )
    return f'"{escaped}"'


def _stat(log: str, name: str) -> int:
    found = re.findall(rf"stat::{name}:\s+(\d+)", log)
    return int(found[-1]) if found else 0


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--atheris-child":
        rest = sys.argv[3:]
        atheris_child(sys.argv[2], rest[1:] if rest[:1] == ["--"] else rest)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="inputs per target")
    parser.add_argument(
        "--atheris",
        metavar="TARGET",
        choices=[*ATHERIS_TARGETS, "all"],
        help=f"coverage-guided fuzzing of one target ({', '.join(ATHERIS_TARGETS)}) or all",
    )
    parser.add_argument("--runs", type=int, default=250_000, help="atheris inputs per target")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "wsaccept-fuzz",
        help="where crashing inputs and logs go (atheris)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the corpora here between runs (atheris)")
    parser.add_argument(
        "--max-time", type=int, default=0, help="stop each atheris target after SECONDS"
    )
    options = parser.parse_args()
    if options.atheris:
        targets = list(ATHERIS_TARGETS) if options.atheris == "all" else [options.atheris]
        sys.exit(
            atheris_main(
                targets, options.runs, options.artifacts, options.workdir, options.max_time
            )
        )
    hypothesis_main(options.examples)


if __name__ == "__main__":
    main()

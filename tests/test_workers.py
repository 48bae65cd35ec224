"""Large stdin spread over processes (-j/--jobs N: wsaccept itself and N - 1 workers): the same
bytes out as one process, in order, streaming, and nothing left behind whatever happens to a
worker or to wsaccept."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from websockets.utils import accept_key

from tests.helpers import RFC_ACCEPT, RFC_KEY, Run, clean_env, invoke, script_path
from wsaccept_cli.core.lines import READ_SIZE, Block, OverlongLine
from wsaccept_cli.stream import parallel
from wsaccept_cli.stream.bulk import compute_block
from wsaccept_cli.stream.parallel import WorkerError, jobs_for, process_stream
from wsaccept_cli.ui.render import RendererSpec
from wsaccept_cli.ui.session import BlockWork

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Canonical keys are 25 bytes a line: this many fill one block, the part done without workers.
KEYS_PER_BLOCK = READ_SIZE // 25 + 1


def keys(count: int) -> list[bytes]:
    raw = os.urandom(16 * count)
    return [base64.b64encode(raw[i : i + 16]) for i in range(0, len(raw), 16)]


def mixed_lines(count: int, *, pairs: bool) -> bytes:
    """Mostly good lines with every kind of bad one spread through, a blank line and an overlong
    one among them, and no newline at the end."""
    pick = random.Random(6455)
    lines = []
    for key in keys(count):
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        roll = pick.random()
        if roll < 0.001:
            key = key[:-2]  # padding cut
        elif roll < 0.002:
            key = b"Sec-WebSocket-Key: " + key
        elif roll < 0.003:
            key = b""
        elif roll < 0.004:
            accept = accept[:-3] + b"AA="  # a mismatch
        elif roll < 0.005:
            key = "clé".encode()
        elif roll < 0.006:
            key = b" " + key + b"\r"
        elif roll < 0.0065:
            key = b"Q" * 70_000  # longer than a line may be
        lines.append(key + b" " + accept if pairs else key)
    return b"\n".join(lines)


@pytest.fixture(scope="module")
def mixed_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "keys"
    path.write_bytes(mixed_lines(120_000, pairs=False))
    return path


@pytest.fixture(scope="module")
def mixed_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "pairs"
    path.write_bytes(mixed_lines(120_000, pairs=True))
    return path


def run_on(path: Path, *args: str) -> tuple[int, bytes, bytes]:
    with path.open("rb") as source:
        done = subprocess.run(
            [script_path(), *args], stdin=source, capture_output=True, env=clean_env(),
            timeout=120, check=False,
        )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("compute", []),
        ("compute", ["--strict"]),
        ("compute", ["--format", "json"]),
        ("compute", ["--response"]),
        ("verify", []),
        ("verify", ["-q"]),
        ("verify", ["--format", "json"]),
    ],
)
def test_workers_write_what_one_process_writes(
    command: str, options: list[str], mixed_keys: Path, mixed_pairs: Path
) -> None:
    source = mixed_pairs if command == "verify" else mixed_keys
    alone = run_on(source, command, *options, "--jobs", "1")
    assert alone[0] == 1  # the input has bad lines: a real comparison, not of two empty runs
    assert alone[2].count(b"\n") > 5
    assert run_on(source, command, *options, "--jobs", "2") == alone
    in_process = invoke(command, *options, input=source.read_bytes())
    assert (in_process.exit_code, in_process.stdout_bytes, in_process.stderr_bytes) == alone


def test_more_jobs_than_cpus_are_lowered_with_a_note(mixed_keys: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    code, stdout, stderr = run_on(mixed_keys, "compute", "-j", "10000")
    note, _, rest = stderr.partition(b"\n")
    plural = "s" if cpus != 1 else ""
    expected_note = f"wsaccept: note: -j 10000 lowered to {min(cpus, 8)}:"
    assert note.decode().startswith(expected_note)
    assert (f"may use {cpus} CPU{plural}" in note.decode()) or "at most 8 help" in note.decode()
    assert (code, stdout, rest) == run_on(mixed_keys, "compute", "-j", "1")


def test_accepts_from_workers_agree_with_websockets(tmp_path: Path) -> None:
    given = keys(50_000)
    source = tmp_path / "keys"
    source.write_bytes(b"\n".join(given) + b"\n")
    code, stdout, stderr = run_on(source, "compute", "-j", "2")
    assert (code, stderr) == (0, b"")
    assert stdout.decode().splitlines() == [accept_key(key.decode()) for key in given]


def family(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except (FileNotFoundError, ProcessLookupError):  # it has just ended
            continue
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found


def workers_of(pid: int, count: int, timeout: float = 20) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(found := family(pid)) < count:
        assert time.monotonic() < deadline, f"{len(found)} workers, expected {count}"
        time.sleep(0.01)
    return found


def gone(pids: set[int]) -> bool:
    return not any(os.path.exists(f"/proc/{pid}") for pid in pids)


def read_exactly(stream: int, size: int, timeout: float = 20) -> bytes:
    """`size` bytes from a pipe, failing the test if they do not come in time."""
    deadline, received = time.monotonic() + timeout, b""
    while len(received) < size:
        ready, _, _ = select.select([stream], [], [], max(0, deadline - time.monotonic()))
        assert ready, f"only {len(received)} of {size} bytes came"
        chunk = os.read(stream, size - len(received))
        assert chunk, f"output ended after {len(received)} of {size} bytes"
        received += chunk
    return received


class Streamed:
    """A running wsaccept fed from a thread, so that the test can read its output meanwhile."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pid = process.pid
        self.feeder: threading.Thread | None = None

    def send(self, given: list[bytes] | None) -> None:
        """Write `given` as lines after whatever was sent before; None ends the input."""
        previous = self.feeder

        def feed() -> None:
            if previous is not None:
                previous.join()
            assert self.process.stdin is not None
            with suppress(BrokenPipeError, ValueError):  # wsaccept has gone, or the test ended
                if given is None:
                    self.process.stdin.close()
                    return
                self.process.stdin.write(b"\n".join(given) + b"\n")
                self.process.stdin.flush()

        self.feeder = threading.Thread(target=feed, daemon=True)
        self.feeder.start()

    def read(self, size: int) -> bytes:
        assert self.process.stdout is not None
        return read_exactly(self.process.stdout.fileno(), size)

    def finish(self, timeout: float = 60) -> tuple[int, bytes, bytes]:
        """End the input; the exit code and the rest of stdout and stderr."""
        self.send(None)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        stdout = self.process.stdout.read()
        return self.process.wait(timeout), stdout, self.process.stderr.read()


@contextmanager
def streaming(*args: str, **popen: Any) -> Iterator[Streamed]:
    with subprocess.Popen(
        [script_path(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=clean_env(), **popen,
    ) as process:  # fmt: skip
        streamed = Streamed(process)
        try:
            yield streamed
        finally:
            process.kill()
            if streamed.feeder is not None:
                streamed.feeder.join(timeout=10)
            with suppress(BrokenPipeError):  # what the feeder left buffered
                assert process.stdin is not None
                process.stdin.close()


def expected(given: list[bytes]) -> bytes:
    return b"".join(accept_key(key.decode()).encode() + b"\n" for key in given)


def test_a_small_input_forks_no_worker() -> None:
    with streaming("compute", "-j", "2") as wsaccept:
        given = keys(KEYS_PER_BLOCK // 2)
        wsaccept.send(given)
        assert wsaccept.read(len(given) * 29) == expected(given)
        assert family(wsaccept.pid) == set()  # all of it done, and waiting for more input
        more = keys(KEYS_PER_BLOCK)
        wsaccept.send(more)
        assert wsaccept.read(len(more) * 29) == expected(more)
        # past the first block, the worker starts: -j 2 is this process and one worker
        assert len(workers_of(wsaccept.pid, 1)) == 1
        assert wsaccept.finish() == (0, b"", b"")


def test_output_keeps_up_with_a_slow_stream_once_workers_run() -> None:
    with streaming("compute", "--jobs", "2") as wsaccept:
        given = keys(3 * KEYS_PER_BLOCK)
        wsaccept.send(given)
        assert wsaccept.read(len(given) * 29) == expected(given)
        workers = workers_of(wsaccept.pid, 1)
        for key in (RFC_KEY, "AAAA"):  # one line at a time, the input still open
            wsaccept.send([key.encode()])
            assert wsaccept.read(29) == f"{accept_key(key)}\n".encode()
        line = 3 * KEYS_PER_BLOCK + 2
        assert wsaccept.finish() == (
            0,
            b"",
            f"wsaccept: warning: line {line}: key decodes to 3 bytes; RFC 6455 §4.1 requires 16,"
            " servers such as Node ws reject it\n"
            f"wsaccept: warning: 1 of {line} keys had problems\n".encode(),
        )
    assert gone(workers)


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-block"])
def test_a_killed_worker_costs_a_warning_and_no_line(busy: bool) -> None:
    with streaming("compute", "--jobs", "2") as wsaccept:
        first, rest = keys(3 * KEYS_PER_BLOCK), keys(6 * KEYS_PER_BLOCK)
        wsaccept.send(first)
        output = wsaccept.read(len(first) * 29)
        victim = min(workers_of(wsaccept.pid, 1))
        if busy:  # stopped first, so that it surely holds blocks when it dies
            os.kill(victim, signal.SIGSTOP)
            wsaccept.send(rest[: 3 * KEYS_PER_BLOCK])
            time.sleep(0.5)
            os.kill(victim, signal.SIGKILL)
            wsaccept.send(rest[3 * KEYS_PER_BLOCK :])
        else:
            os.kill(victim, signal.SIGKILL)
            wsaccept.send(rest)
        code, tail, stderr = wsaccept.finish()
    assert (code, output + tail) == (0, expected(first + rest))
    assert stderr.decode() == (
        f"wsaccept: warning: worker process {victim} was killed by signal 9;"
        " the main process did its work instead\n"
    )


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)]
)
@pytest.mark.parametrize("group", [False, True], ids=["wsaccept", "process-group"])
def test_a_signal_stops_wsaccept_and_its_workers(signum: int, code: int, group: bool) -> None:
    # Ctrl-C at a terminal signals the whole process group: the workers leave it to wsaccept.
    with streaming("compute", "--jobs", "2", process_group=0) as wsaccept:
        given = keys(4 * KEYS_PER_BLOCK)
        wsaccept.send(given)
        received = wsaccept.read(2 * KEYS_PER_BLOCK * 29)
        workers = workers_of(wsaccept.pid, 1)
        if group:
            os.killpg(wsaccept.pid, signum)
        else:
            os.kill(wsaccept.pid, signum)
        assert wsaccept.process.stdout is not None
        received += wsaccept.process.stdout.read()
        assert wsaccept.process.wait(timeout=30) == code
        assert wsaccept.process.stderr is not None
        assert wsaccept.process.stderr.read() == b""
    assert expected(given).startswith(received)
    assert received.endswith(b"\n")
    assert gone(workers)


def test_a_closed_stdout_stops_the_workers(tmp_path: Path) -> None:
    source = tmp_path / "keys"
    source.write_bytes(b"\n".join(keys(20 * KEYS_PER_BLOCK)) + b"\n")
    shell = (
        f"'{script_path()}' compute -j 2 < '{source}' | head -c 100 >/dev/null;"
        ' echo "status=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=60)
    assert (done.stdout, done.stderr) == (b"status=141\n", b"")


def test_jobs_must_be_a_positive_number(run: Run) -> None:
    result = run("compute", "--jobs", "0", input=f"{RFC_KEY}\n")
    assert result.exit_code == 2
    assert "Invalid value for '-j' / '--jobs': 0 is not in the range x>=1." in result.stderr


def test_in_memory_stdin_is_done_in_one_process(run: Run) -> None:
    result = run("verify", "-j", "4", input=f"{RFC_KEY} {RFC_ACCEPT}\n" * (2 * KEYS_PER_BLOCK))
    assert (result.exit_code, result.stdout) == (0, "ok\n" * (2 * KEYS_PER_BLOCK))


def test_default_jobs_follow_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert jobs_for(None) == (1, None)  # one CPU: everything in one process
    assert jobs_for(4) == (1, "-j 4 lowered to 1: this process may use 1 CPU")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert jobs_for(None) == (8, None)
    assert jobs_for(20) == (8, "-j 20 lowered to 8: at most 8 help")
    monkeypatch.delattr(os, "sched_getaffinity")  # as on macOS
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert jobs_for(None) == (2, None)
    assert jobs_for(1) == (1, None)


def fails_on_second_line(block: Block | OverlongLine) -> bytes:
    if isinstance(block, Block) and block.first_line == 2:
        raise ZeroDivisionError("a bug in rendering")
    return b"fine\n"


def test_a_bug_in_a_worker_is_raised_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 0)
    source = tmp_path / "lines"
    source.write_bytes(b"x\ny\n")
    emitted: list[bytes] = []
    warnings: list[str] = []
    with source.open("rb") as lines:
        fd = lines.fileno()
        one_line = partial(os.read, fd, 2)  # one block a line
        with pytest.raises(WorkerError, match="ZeroDivisionError: a bug in rendering"):
            process_stream(
                lambda size: one_line(), fd, fails_on_second_line, emitted.append, jobs=2,
                warn=warnings.append,
            )  # fmt: skip
    assert (emitted, warnings) == ([b"fine\n"], [])


@pytest.mark.parametrize("window", [1, 3])
def test_blocks_come_back_in_order_whatever_the_window(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, window: int
) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 0)
    monkeypatch.setattr(parallel, "WINDOW_PER_JOB", window)
    given = keys(8 * KEYS_PER_BLOCK)
    source = tmp_path / "keys"
    source.write_bytes(b"\n".join(given) + b"\n")
    work = BlockWork(partial(compute_block, strict=False), RendererSpec("plain"))
    emitted: list[bytes] = []
    with source.open("rb") as keys_file:
        fd = keys_file.fileno()
        small_reads = partial(os.read, fd)
        process_stream(
            lambda size: small_reads(READ_SIZE // 4), fd, work,
            lambda rendered: emitted.append(rendered[0]), jobs=3, warn=pytest.fail,
        )  # fmt: skip
    assert len(emitted) > 8  # many blocks, each through a worker
    assert b"".join(emitted) == expected(given)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_workers_start_never_makes_a_traceback(tmp_path: Path, signum: int) -> None:
    # Ctrl-C reaches every process of the group, the workers being forked included: none of
    # them may print a traceback, whenever it arrives.
    source = tmp_path / "keys"
    source.write_bytes(b"\n".join(keys(12 * KEYS_PER_BLOCK)) + b"\n")
    pick = random.Random(signum)
    for _ in range(12):
        with source.open("rb") as stdin, subprocess.Popen(
            [script_path(), "compute", "-j", "2"], stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=clean_env(), process_group=0,
        ) as process:  # fmt: skip
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdout.read(29)  # the first block is out: the workers start about now
            time.sleep(pick.uniform(0, 0.01))
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
            process.stdout.read()
            stderr = process.stderr.read()
            assert process.wait(timeout=30) in (0, -signum)
        assert stderr == b""


def test_quiet_verify_of_a_large_input_in_rich_format_ends(tmp_path: Path) -> None:
    # -q renders nothing, so even with rich chosen (as on a terminal) the blocks go to workers.
    source = tmp_path / "pairs"
    pairs = [key + b" " + accept_key(key.decode()).encode() for key in keys(3 * KEYS_PER_BLOCK)]
    source.write_bytes(b"\n".join(pairs) + b"\n")
    assert run_on(source, "verify", "-q", "--format", "rich", "-j", "2") == (0, b"", b"")


def slow_in_workers(main: int, block: Block | OverlongLine) -> tuple[int, int]:
    """Which process did the block (and its first line); a worker takes its time."""
    if os.getpid() != main:
        time.sleep(0.2)
    assert isinstance(block, Block)
    return os.getpid(), block.first_line


def test_the_main_process_computes_blocks_when_the_workers_lag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A busy machine (or a slow worker) must not leave wsaccept waiting: a block no worker has
    # room for is done by the main process, and the output order is kept.
    monkeypatch.setattr(parallel, "PARALLEL_AFTER", 0)
    source = tmp_path / "lines"
    source.write_bytes(b"x\n" * 12)
    emitted: list[tuple[int, int]] = []
    with source.open("rb") as lines:
        fd = lines.fileno()
        process_stream(
            lambda size: os.read(fd, 2), fd, partial(slow_in_workers, os.getpid()),
            emitted.append, jobs=2, warn=pytest.fail,
        )  # fmt: skip
    assert [line for _, line in emitted] == list(range(1, 13))
    done_here = [line for pid, line in emitted if pid == os.getpid()]
    assert 4 in done_here  # the worker had blocks 1 to 3 in hand when block 4 came
    assert len(done_here) < 12  # and it did its share

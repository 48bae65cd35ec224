"""The bad-input and fault matrix of tests/README.md: no traceback, no hang, no lost line, and
memory that stays flat, whatever wsaccept is fed."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from websockets.utils import accept_key

from tests.helpers import (
    RFC_ACCEPT,
    RFC_KEY,
    Run,
    clean_env,
    run_measured,
    run_script,
    script_path,
)

MIB = 1024


def write_keys(path: Path, count: int) -> list[bytes]:
    """`count` random canonical keys, one per line; the first three returned for checks."""
    first: list[bytes] = []
    with path.open("wb") as out:
        for start in range(0, count, 100_000):
            batch = min(100_000, count - start)
            raw = os.urandom(16 * batch)
            keys = [base64.b64encode(raw[i : i + 16]) for i in range(0, len(raw), 16)]
            first = first or keys[:3]
            out.write(b"\n".join(keys) + b"\n")
    return first


def test_only_blank_lines(run: Run) -> None:
    result = run("compute", input="\n \n\t\r\n\n")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "wsaccept: warning: no keys in the input\n"


def test_nul_bytes_and_invalid_base64_are_warned_and_the_rest_computed(run: Run) -> None:
    result = run("compute", input=b"abc\x00def\n" + RFC_KEY.encode() + b"\nab*d\n")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == accept_key("abc\x00def")
    assert lines[1:] == [RFC_ACCEPT, accept_key("ab*d")]
    assert result.stderr.splitlines() == [
        "wsaccept: warning: line 1: key contains \\x00 at position 4, which is not a base64"
        " character; RFC 6455 §4.1 requires base64",
        "wsaccept: warning: line 3: key contains '*' at position 3, which is not a base64"
        " character; RFC 6455 §4.1 requires base64",
        "wsaccept: warning: 2 of 3 keys had problems",
    ]


@pytest.mark.slow
def test_a_100_mb_line_without_newline_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    with source.open("wb") as data:
        data.write(RFC_KEY.encode() + b"\n")
        for _ in range(100):
            data.write(b"A" * (1024 * 1024))
        data.write(b"\n" + RFC_KEY.encode())  # and a last line without a newline
    code, peak, stderr = run_measured(["compute"], source, output)
    assert code == 1
    assert output.read_bytes() == f"{RFC_ACCEPT}\n{RFC_ACCEPT}\n".encode()
    assert stderr.decode().splitlines() == [
        "wsaccept: error: line 2: line is 104857600 bytes, longer than the 65536-byte limit;"
        " skipped",
        "wsaccept: error: 1 input line skipped",
    ]
    assert peak < 64 * MIB, f"peak RSS {peak} KiB"


@pytest.mark.slow
def test_ten_million_lines_stream_in_flat_memory(tmp_path: Path) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    first = write_keys(source, 10_000_000)
    code, peak, stderr = run_measured(["compute"], source, output)
    assert (code, stderr) == (0, b"")
    with output.open("rb") as produced:
        head = [produced.readline() for _ in range(3)]
        assert head == [accept_key(k.decode()).encode() + b"\n" for k in first]
    assert output.stat().st_size == 29 * 10_000_000
    assert peak < 48 * MIB, f"peak RSS {peak} KiB"


def test_windows_line_endings_in_verify(run: Run) -> None:
    result = run("verify", input=f"{RFC_KEY} {RFC_ACCEPT}\r\n{RFC_KEY}\t{RFC_ACCEPT}\r\n")
    assert (result.exit_code, result.stdout) == (0, "ok\nok\n")


@pytest.mark.parametrize("command", [["genkey", "-n", "100000"], ["compute"]])
def test_full_disk_is_one_clear_error(command: list[str]) -> None:
    stdin = (RFC_KEY + "\n").encode() * 100_000
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [script_path(), *command], input=stdin, stdout=full, stderr=subprocess.PIPE,
            env=clean_env(), timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 74
    assert done.stderr == b"wsaccept: error: cannot write output: No space left on device\n"


def test_closed_pipe_mid_stream_is_quiet(tmp_path: Path) -> None:
    source = tmp_path / "keys"
    write_keys(source, 300_000)
    shell = f"'{script_path()}' compute < '{source}' | head -2; echo \"status=${{PIPESTATUS[0]}}\""
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=60)
    lines = done.stdout.decode().splitlines()
    assert [len(line) for line in lines[:2]] == [28, 28]
    assert (lines[2], done.stderr) == ("status=141", b"")


@contextmanager
def computing(
    tmp_path: Path, count: int
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]]:
    """`wsaccept compute` running over `count` keys from a file, its stdout and stderr piped."""
    source = tmp_path / "keys"
    write_keys(source, count)
    with source.open("rb") as keys, subprocess.Popen(
        [script_path(), "compute"], stdin=keys, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=clean_env(),
    ) as process:  # fmt: skip
        assert process.stdout is not None
        assert process.stderr is not None
        yield process, process.stdout, process.stderr


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)]
)
def test_signal_mid_stream_leaves_whole_lines(tmp_path: Path, signum: int, code: int) -> None:
    with computing(tmp_path, 2_000_000) as (process, stdout, stderr):
        received = stdout.read(1_000_003)  # the pipe is full: it is writing now
        process.send_signal(signum)
        received += stdout.read()
        assert process.wait(timeout=30) == code
        assert stderr.read() == b""
    assert received.endswith(b"\n")
    lines = received.split(b"\n")[:-1]
    assert 1_000_003 // 29 <= len(lines) < 2_000_000
    assert {len(line) for line in lines} == {28}


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)]
)
def test_a_second_signal_stops_wsaccept_when_its_reader_has_stalled(
    tmp_path: Path, signum: int, code: int
) -> None:
    with computing(tmp_path, 200_000) as (process, stdout, stderr):
        stdout.read(100)  # it is writing; from now on nobody reads, the pipe fills up
        time.sleep(0.3)
        process.send_signal(signum)  # held until a line that can never end has ended
        try:
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            process.send_signal(signum)  # not held
        assert process.wait(timeout=10) == code
        assert stderr.read() == b""


def test_a_directory_on_stdin_is_refused_before_wsaccept_runs(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        done = subprocess.run(
            [script_path(), "compute"], stdin=fd, capture_output=True, timeout=30, check=False
        )
    finally:
        os.close(fd)
    assert done.returncode == 1
    assert b"<stdin> is a directory, cannot continue" in done.stderr


def test_a_directory_as_inspect_file_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.endswith(
        f"Error: Invalid value for '[FILE|-]': File '{tmp_path}' is a directory.\n"
    )


def test_shell_special_characters_are_just_keys() -> None:
    keys = ["$(id)", "`id`", "*", "; rm -rf /", "'", '"', "a b", "--", "-", "\\"]
    args = [k for k in keys if k not in ("--", "-")]
    done = run_script(["compute", "--", *args])
    assert done.returncode == 0
    assert done.stdout.decode().splitlines() == [accept_key(k.strip()) for k in args]


def test_a_huge_count_streams_until_the_reader_stops() -> None:
    shell = f"'{script_path()}' genkey -n {10**30} | head -3; echo \"status=${{PIPESTATUS[0]}}\""
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=60)
    lines = done.stdout.decode().splitlines()
    assert [len(line) for line in lines[:3]] == [24, 24, 24]
    assert lines[3] == "status=141"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compute", "--response", "--format", "json", RFC_KEY], "--response prints raw HTTP"),
        (["genkey", "--request", "ws://x/", "--with-accept"], "--request prints one request"),
        (["verify", "a", "b", "c"], "give KEY and ACCEPT"),
        (["genkey", "-n", "-5"], "-5 is not in the range x>=1"),
        (["compute", "--format", "xml", RFC_KEY], "'xml' is not one of 'plain', 'json', 'rich'"),
    ],
)
def test_conflicting_and_bad_options_are_usage_errors(
    run: Run, args: list[str], message: str
) -> None:
    result = run(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr


def test_color_and_no_color_the_last_one_wins(run: Run) -> None:
    assert "\x1b[" in run("compute", "--no-color", "--color", "--format", "rich", RFC_KEY).stdout
    assert (
        "\x1b[" not in run("compute", "--color", "--no-color", "--format", "rich", RFC_KEY).stdout
    )


def test_probe_connection_reset_mid_head(run: Run) -> None:
    import json
    import struct
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def reset_after_a_few_bytes() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 101 Switching")
        time.sleep(0.1)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # an RST, not a FIN

    thread = threading.Thread(target=reset_after_a_few_bytes, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    result = run("probe", "--format", "json", "--timeout", "5", f"ws://127.0.0.1:{port}/")
    thread.join(timeout=5)
    listener.close()
    record = json.loads(result.stdout)
    assert result.exit_code == 1
    assert record["outcome"] == "handshake_failed"
    assert record["findings"][-1]["message"] == (
        "the connection broke after 22 bytes of response: Connection reset by peer"
    )


@pytest.mark.parametrize("stderr", ["/dev/full", "closed"])
def test_unwritable_or_closed_stderr_loses_no_result(stderr: str) -> None:
    shell = f"'{script_path()}' compute {RFC_KEY} AAAA "
    shell += "2>/dev/full" if stderr == "/dev/full" else "2>&-"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=30)
    assert done.returncode == 0
    assert done.stdout.decode().splitlines() == [RFC_ACCEPT, accept_key("AAAA")]


def test_closed_stdout_is_a_clear_error() -> None:
    shell = f"'{script_path()}' compute {RFC_KEY} >&-"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, env=clean_env(), timeout=30)
    assert done.returncode == 2
    assert done.stderr == b"wsaccept: error: stdout is closed\n"

"""`serve … | head -1` ends quietly with 141 once its reader is gone, as every command does, and
stops serving (issue 22, item 9): noticed without a write (the pipe's write end polls as an
error), and for `--check-client` the client's process group is killed on the way out."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import clean_env, script_path


def pipeline(command: str) -> tuple[list[int], bytes, bytes, float]:
    """`command | head -1` in bash: each side's exit status, what head printed, stderr, time."""
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", f'{command} 2>/dev/stderr | head -1; echo "${{PIPESTATUS[@]}}" >&2'],
        capture_output=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    *errors, statuses = done.stderr.decode().rstrip("\n").split("\n")
    return (
        [int(s) for s in statuses.split()],
        done.stdout,
        "\n".join(errors).encode(),
        (time.monotonic() - started),
    )


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_serve_into_head_ends_with_141(fmt: str) -> None:
    statuses, out, err, took = pipeline(f"{script_path()} serve --format {fmt}")
    assert statuses == [141, 0]
    assert out.startswith((b"ws://127.0.0.1:", b'{"event":"listening"'))
    assert err == b""
    assert took < 10


def test_check_client_into_head_ends_with_141_and_kills_the_client(tmp_path: Path) -> None:
    pid_file = tmp_path / "client.pid"
    script = tmp_path / "client.py"
    script.write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    statuses, out, err, took = pipeline(
        f"{script_path()} serve --check-client -- {sys.executable} {script}"
    )
    assert statuses == [141, 0]
    assert out.startswith(b"ws://127.0.0.1:")
    assert err == b""
    assert took < 15  # not the client's 10 s timeout per fault
    if not pid_file.exists():
        return  # the reader went before the first client started: nothing to kill
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while running(pid):
        assert time.monotonic() < deadline, "the client still runs"
        time.sleep(0.05)


def running(pid: int) -> bool:
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False

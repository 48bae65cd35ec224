"""`probe --file` spread over worker processes (stream.spread), seen from outside: the same
output, stderr and exit status as one process (`taskset -c 0`), a worker killed mid-run costs
nothing but a warning, and Ctrl-C or SIGTERM leave no worker behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env, script_path
from tests.peers import EchoServer, free_port
from tests.test_probe_proxies import NO_PROXY_ENV

pytestmark = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="one CPU: probe --file has no worker to spread to"
)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def probe(args: list[str], text: str, *, one_cpu: bool = False) -> subprocess.CompletedProcess[str]:
    command = [script_path(), "probe", "--file", "-", "--timeout", "5", *args]
    if one_cpu:
        command = [shutil.which("taskset") or "taskset", "-c", "0", *command]
    env = clean_env(**{k: v for k, v in NO_PROXY_ENV.items() if v is not None})
    return subprocess.run(
        command, input=text, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def listing(echo: EchoServer) -> str:
    good, dead = f"ws://127.0.0.1:{echo.port}/", f"ws://127.0.0.1:{free_port()}/"
    lines = []
    for number in range(60):
        lines.append({7: "ftp://not-ws/", 20: "# a comment", 33: dead}.get(number, good))
    return "\n".join(lines) + "\n"


def test_plain_output_is_that_of_one_process(echo: EchoServer) -> None:
    text = listing(echo)
    spread, single = (
        probe(["--parallel", "8"], text),
        probe(["--parallel", "8"], text, one_cpu=True),
    )
    columns = [[line.split("\t")[i] for i in (0, 1, 2, 4)] for line in spread.stdout.splitlines()]
    assert columns == [
        [line.split("\t")[i] for i in (0, 1, 2, 4)] for line in single.stdout.splitlines()
    ]
    assert len(columns) == 58
    assert (spread.stderr, spread.returncode) == (single.stderr, single.returncode)
    assert spread.returncode == 2  # a skipped line is a usage error, before the refused URL's 3
    assert "stdin line 8: URL: 'ftp://not-ws/' is not a ws:// or wss:// URL" in spread.stderr


def test_json_records_are_those_of_one_process(echo: EchoServer) -> None:
    text = listing(echo).replace("ftp://not-ws/\n", "")
    spread = probe(["--format", "json", "--parallel", "6"], text)
    single = probe(["--format", "json", "--parallel", "6"], text, one_cpu=True)

    def stable(line: str) -> Any:
        record = json.loads(line)
        record.pop("timings", None)
        return json.dumps(record, sort_keys=True)

    def shape(output: str) -> list[Any]:
        keys = re.compile(r"[A-Za-z0-9+/]{22,27}=+|Date: [^\"]*")  # a fresh key per probe
        return [keys.sub("X", stable(line)) for line in output.splitlines()]

    assert shape(spread.stdout) == shape(single.stdout)
    assert [json.loads(line)["outcome"] for line in spread.stdout.splitlines()].count("ok") == 57
    assert (spread.stderr, spread.returncode) == ("", 3)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def started(text: str, *args: str) -> tuple[subprocess.Popen[str], list[int]]:
    """wsaccept probing `text`, once its workers are forked: (the process, their pids)."""
    env = clean_env(**{k: v for k, v in NO_PROXY_ENV.items() if v is not None})
    process = subprocess.Popen(
        [script_path(), "probe", "--file", "-", "--timeout", "10", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(text)
    process.stdin.close()
    process.stdin = None  # written whole: communicate() only reads
    deadline = time.monotonic() + 20
    while not (workers := children(process.pid)):
        assert time.monotonic() < deadline, "no workers forked"
        time.sleep(0.02)
    return process, workers


def test_a_worker_killed_mid_run_costs_a_warning_not_a_result() -> None:
    with EchoServer(delay=0.4) as slow:
        url = f"ws://127.0.0.1:{slow.port}/"
        process, workers = started(f"{url}\n" * 24, "--parallel", "4")
        time.sleep(0.2)
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    rows = [line.split("\t")[:3] for line in stdout.splitlines()]
    assert rows == [["ok", url, "101"]] * 24
    assert re.fullmatch(
        rf"wsaccept: warning: worker process {workers[0]} was killed by signal 9;"
        r" the main process did its work instead\n",
        stderr,
    )
    assert process.returncode == 0


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_and_every_worker(sent: signal.Signals) -> None:
    with EchoServer(delay=1.0) as slow:
        process, workers = started(f"ws://127.0.0.1:{slow.port}/\n" * 64, "--parallel", "4")
        time.sleep(0.3)
        process.send_signal(sent)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == -sent
    assert "Traceback" not in stderr
    assert all(line.endswith("\t") or line.count("\t") == 4 for line in stdout.splitlines())
    deadline = time.monotonic() + 5
    while any(running(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived wsaccept"
        time.sleep(0.05)

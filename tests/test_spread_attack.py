"""stream.spread attacked from outside its happy path (a second reader's tests): input that
fails part way, a dead worker whose items were slow, and what the consumer sees then."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.helpers import clean_env, script_path
from tests.peers import EchoServer
from tests.test_probe_proxies import NO_PROXY_ENV
from wsaccept_cli.stream.spread import shares, spread, threaded


class BrokenInputError(Exception):
    """The input failing part way (an over-long line, a read error)."""


def failing_after(count: int) -> Iterator[int]:
    yield from range(count)
    raise BrokenInputError(f"line {count + 1} is too long")


def slowly(item: int) -> int:
    time.sleep((item * 7919 % 7) / 1000)
    return item * 3


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_input_failing_part_way_hands_on_every_item_read_before_it(jobs: int) -> None:
    """Input that fails after 40 items: those 40 are still handed on, in order, and the
    failure comes after them (it used to drop the up to 2 × parallel in flight, a number
    that depended on timing: 33 or 36 rows of 40 for `probe --file`)."""
    handed: list[int] = []
    kind = spread if jobs > 1 else None

    def run() -> None:
        if kind is None:
            handed.extend(threaded(failing_after(40), slowly, 4))
        else:
            handed.extend(spread(failing_after(40), slowly, parallel=4, jobs=jobs, warn=print))

    with pytest.raises(BrokenInputError, match="line 41 is too long"):
        run()
    assert handed == [item * 3 for item in range(40)]


def probe_file(text: str, *, one_cpu: bool) -> subprocess.CompletedProcess[str]:
    command = [script_path(), "probe", "--file", "-", "--timeout", "5", "--parallel", "4"]
    if one_cpu:
        command = [shutil.which("taskset") or "taskset", "-c", "0", *command]
    env = clean_env(**{k: v for k, v in NO_PROXY_ENV.items() if v is not None})
    return subprocess.run(
        command, input=text, capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing is spread")
@pytest.mark.parametrize("one_cpu", [False, True], ids=["spread", "one-process"])
def test_an_over_long_line_still_reports_every_url_before_it(one_cpu: bool) -> None:
    with EchoServer() as echo:
        url = f"ws://127.0.0.1:{echo.port}/"
        text = f"{url}\n" * 24 + "ws://x/" + "a" * 70_000 + f"\n{url}\n"
        done = probe_file(text, one_cpu=one_cpu)
    assert [line.split("\t")[:3] for line in done.stdout.splitlines()] == [["ok", url, "101"]] * 24
    assert done.stderr == "wsaccept: error: stdin line 25 is longer than 8192 bytes\n"
    assert done.returncode == 2


def test_a_dead_workers_items_are_redone_side_by_side_not_one_by_one() -> None:
    """A worker killed with its share in flight: the main process redoes those items in its
    pool, at once, as the one-process path would run them; not one after the other in the
    thread that hands results on (four probes of a 10 s timeout took 40 s, and nothing was
    written meanwhile)."""
    main, lock = os.getpid(), threading.Lock()
    in_worker = multiprocessing.get_context("fork").Array("b", 8)
    running, most = [0], [0]

    def dies_in_a_worker(item: int) -> int:
        if os.getpid() != main:
            in_worker[item] = 1
            time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGKILL)
        redone = bool(in_worker[item])
        with lock:
            running[0] += redone
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= redone
        return item

    warnings: list[str] = []
    results = list(spread(range(8), dies_in_a_worker, parallel=8, jobs=2, warn=warnings.append))
    assert results == list(range(8))
    assert len(warnings) == 1
    share = shares(8, 2)[1]  # the worker's share of the 8 in flight
    assert sum(in_worker) == share
    assert most[0] == share  # the dead worker's items, side by side


def megabyte(item: int) -> bytes:
    return bytes([item % 256]) * 1_000_000


def test_results_larger_than_a_pipe_neither_hang_nor_outlive_a_consumer_that_stops() -> None:
    """Results of a megabyte (JSON records of huge heads): workers block sending them while
    the consumer is slow; a consumer that stops (a closed stdout) still ends every worker."""
    started = time.monotonic()
    results = spread(range(1000), megabyte, parallel=6, jobs=3, warn=print)
    for index in range(12):
        time.sleep(0.01)
        assert next(results) == megabyte(index)
    results.close()
    assert multiprocessing.active_children() == []
    assert time.monotonic() - started < 20

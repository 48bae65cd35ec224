"""stream.spread: items worked on by threads in forked workers, the results in input order, no
more in flight than asked, a dead worker's items done by the main process after one warning, a
bug in the work a WorkerError, and no worker left behind however the consumer stops."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time
from typing import Any

import pytest

from wsaccept_cli.stream.parallel import WorkerError
from wsaccept_cli.stream.spread import shares, spread

MAIN = os.getpid()
EXITING = threading.Lock()
FORK = multiprocessing.get_context("fork")


def square_slowly(item: int) -> tuple[int, int]:
    time.sleep((item * 7919 % 13) / 1000)  # finishing out of order
    return item, item * item


def collect(items: Any, work: Any, **options: Any) -> tuple[list[Any], list[str]]:
    warnings: list[str] = []
    options.setdefault("parallel", 8)
    options.setdefault("jobs", 2)
    results = list(spread(items, work, warn=warnings.append, **options))
    return results, warnings


@pytest.mark.parametrize(("parallel", "jobs", "expected"), [
    (16, 2, [5, 11]), (3, 2, [1, 2]), (1, 2, [1]), (5, 8, [1] * 5), (7, 1, [7]),
    (1024, 3, [256, 384, 384]), (16, 8, [1, 3, 2, 2, 2, 2, 2, 2]), (2, 2, [1, 1]),
])  # fmt: skip
def test_threads_are_shared_out_over_the_workers(
    parallel: int, jobs: int, expected: list[int]
) -> None:
    assert shares(parallel, jobs) == expected
    assert sum(shares(parallel, jobs)) == parallel


@pytest.mark.parametrize(("parallel", "jobs"), [(8, 2), (3, 2), (1, 2), (4, 1), (5, 3)])
def test_results_come_in_input_order(parallel: int, jobs: int) -> None:
    results, warnings = collect(range(300), square_slowly, parallel=parallel, jobs=jobs)
    assert results == [(item, item * item) for item in range(300)]
    assert warnings == []
    assert multiprocessing.active_children() == []


def test_no_more_in_flight_than_parallel_and_all_of_it_used() -> None:
    now, most = FORK.Value("i", 0), FORK.Value("i", 0)

    def counted(item: int) -> int:
        with now.get_lock():
            now.value += 1
            most.value = max(most.value, now.value)
        time.sleep(0.02)
        with now.get_lock():
            now.value -= 1
        return item

    results, _ = collect(range(120), counted, parallel=6, jobs=2)
    assert results == list(range(120))
    assert most.value == 6


def test_the_items_are_read_as_they_are_needed() -> None:
    """At most 2 × parallel items are read ahead of the results handed on."""
    read: list[int] = []

    def items() -> Any:
        for item in range(1000):
            read.append(item)
            yield item

    handed = 0
    for result in spread(items(), square_slowly, parallel=4, jobs=2, warn=print):
        assert result[0] == handed
        handed += 1
        assert len(read) - handed <= 2 * 4 + 1
    assert handed == 1000


def test_a_killed_workers_items_are_done_here_after_one_warning() -> None:
    def dies_on_seven(item: int) -> int:
        if item >= 7 and os.getpid() != MAIN:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.005)
        return item * 2

    results, warnings = collect(range(100), dies_on_seven, parallel=4)
    assert results == [item * 2 for item in range(100)]
    assert len(warnings) == 1
    assert re.fullmatch(
        r"worker process \d+ was killed by signal 9; the main process did its work instead",
        warnings[0],
    )
    assert multiprocessing.active_children() == []


def test_when_every_worker_dies_the_rest_is_done_here() -> None:
    def dies_in_a_worker(item: int) -> int:
        if os.getpid() != MAIN:
            with EXITING:  # one thread exits; two at once made coverage's exit hook segfault
                os._exit(3)
        return -item

    results, warnings = collect(range(50), dies_in_a_worker, parallel=6, jobs=3)
    assert results == [-item for item in range(50)]
    assert len(warnings) == 2  # this process is the third
    for warning in warnings:
        assert re.fullmatch(
            r"worker process \d+ ended \(3\); the main process did its work instead", warning
        )


def test_a_bug_in_the_work_is_a_worker_error_with_its_traceback() -> None:
    def buggy(item: int) -> int:
        if item == 5:
            raise KeyError("no such thing")
        return item

    with pytest.raises(WorkerError, match="KeyError: 'no such thing'"):
        collect(range(20), buggy)
    assert multiprocessing.active_children() == []


def test_a_consumer_that_stops_early_leaves_no_worker_behind() -> None:
    started = time.monotonic()
    results = spread(range(10_000), square_slowly, parallel=8, jobs=2, warn=print)
    assert [next(results) for _ in range(3)] == [(0, 0), (1, 1), (2, 4)]
    results.close()
    assert multiprocessing.active_children() == []
    assert time.monotonic() - started < 5


def test_one_cpu_or_one_thread_needs_no_worker() -> None:
    pids: list[int] = []

    def where(item: int) -> int:
        pids.append(os.getpid())  # in this process only: a worker's list is its own copy
        return item

    results, _ = collect(range(30), where, parallel=1, jobs=2)
    assert results == list(range(30))
    assert set(pids) == {MAIN}


def first_slow(item: int) -> int:
    time.sleep(0.3 if item % 10 == 0 else 0.001)
    return item


@pytest.mark.parametrize(("parallel", "jobs"), [(2, 2), (4, 2), (6, 3)])
def test_a_slow_head_of_the_window_does_not_stall_what_follows(parallel: int, jobs: int) -> None:
    """The window fills behind a slow item; once it is handed on, more are read and sent
    before anything is waited for (waiting with nothing in flight hung, seen in review)."""
    finished: list[list[int]] = []

    def run() -> None:
        finished.append(
            list(spread(range(30), first_slow, parallel=parallel, jobs=jobs, warn=print))
        )

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(20)
    assert finished == [list(range(30))], "spread hung"

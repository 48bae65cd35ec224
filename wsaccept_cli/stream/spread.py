"""Items worked on by threads in worker processes, the results handed on in input order: how
`probe --file` spreads many endpoints over the CPUs.

One probe is mostly waiting on the network, and threads overlap those waits; but checking what
came back (the head parsed, the rules, twelve client models, the record rendered) is CPU work
that one process's threads do one at a time under the GIL. Past a few hundred probes a second
that work is the limit (bench/README.md, "Many endpoints"). So the items go to `jobs` forked
workers, each running `work` in a pool of its share of the `parallel` threads (the shares add up
to `parallel`: no more probes are in flight than asked for), and this process only reads the
items, hands each to the worker with the fewest in flight, and hands the results on in input
order. It stays the only writer of stdout and stderr.

`work` runs in the workers, so its result must pickle (rendered bytes, an outcome). At most
2 × `parallel` items are in flight or finished but not yet handed on, which bounds memory
whatever the number of items. A worker that dies (killed, out of memory) is an end of file on
its result pipe: its items are done here instead, after one warning. Where no worker can be
forked, everything is done here, in a pool of `parallel` threads. Workers leave Ctrl-C to this
process, and end with it however it ends (`parallel._worker_started`).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from wsaccept_cli.stream.parallel import WorkerError, _signals_held, _worker_started

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Item = TypeVar("Item")
Result = TypeVar("Result")
_END: Any = object()


def shares(parallel: int, jobs: int) -> list[int]:
    """`parallel` threads shared out over at most `jobs` workers, none without one."""
    jobs = max(1, min(jobs, parallel))
    return [parallel // jobs + (index < parallel % jobs) for index in range(jobs)]


class _Worker(Generic[Item]):
    """A worker process, this process's ends of its two pipes, and its items in flight."""

    def __init__(self, process: BaseProcess, items: Connection, results: Connection, share: int):
        self.process = process
        self.items = items
        self.results = results
        self.share = share
        self.in_flight: dict[int, Item] = {}


def spread(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    *,
    parallel: int,
    jobs: int,
    warn: Callable[[str], None],
) -> Iterator[Result]:
    """`work(item)` for each item, in the order of `items`, run by `parallel` threads spread
    over `jobs` worker processes (see the module's docstring)."""
    workers = _start(work, shares(parallel, jobs))
    if not workers:
        yield from threaded(items, work, parallel)
        return
    finished = False
    try:
        yield from _hand_out(iter(items), work, workers, 2 * parallel, warn)
        finished = True
    finally:
        _stop(workers, finished)


def threaded(
    items: Iterable[Item], work: Callable[[Item], Result], parallel: int
) -> Iterator[Result]:
    """`work(item)` for each item, in order, by a pool of `parallel` threads in this process,
    at most 2 × `parallel` in flight or waiting to be handed on."""
    window: deque[Future[Result]] = deque()
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="probe") as pool:
        try:
            for item in items:
                window.append(pool.submit(work, item))
                if len(window) >= 2 * parallel:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for pending in window:
                pending.cancel()


def _hand_out(
    items: Iterator[Item],
    work: Callable[[Item], Result],
    workers: list[_Worker[Item]],
    window: int,
    warn: Callable[[str], None],
) -> Iterator[Result]:
    from multiprocessing.connection import wait

    done: dict[int, Result] = {}
    sent = handed = 0
    exhausted = False
    while True:
        while not exhausted and sent - handed < window:
            worker = _least_busy(workers)
            if worker is None:
                break
            item = next(items, _END)
            if item is _END:
                exhausted = True
                break
            worker.in_flight[sent] = item
            worker.items.send((sent, item))
            sent += 1
        if handed in done:  # hand on what is ready, then read more before waiting
            while handed in done:
                yield done.pop(handed)
                handed += 1
            continue
        if exhausted and handed == sent:
            return
        if not workers:  # every worker died: the rest is done here
            yield from threaded(items, work, window // 2)
            return
        by_end = {worker.results: worker for worker in workers}
        for end in wait(list(by_end)):
            _collect(by_end[end], done, work, workers, warn)  # type: ignore[index]


def _least_busy(workers: list[_Worker[Item]]) -> _Worker[Item] | None:
    """The live worker with the most room for another item, or None when all are full."""
    room = [w for w in workers if w.share and len(w.in_flight) < w.share]
    return max(room, key=lambda w: w.share - len(w.in_flight), default=None)


def _collect(
    worker: _Worker[Item],
    done: dict[int, Result],
    work: Callable[[Item], Result],
    workers: list[_Worker[Item]],
    warn: Callable[[str], None],
) -> None:
    """A result from `worker`; or, when it has ended, its items done here."""
    try:
        index, failed, result = worker.results.recv()
    except (EOFError, OSError):  # it died, perhaps half way through an answer
        _lost(worker, warn)
        for index, item in sorted(worker.in_flight.items()):
            done[index] = work(item)
        worker.in_flight.clear()
        workers.remove(worker)
        return
    if failed:
        raise WorkerError(result)
    del worker.in_flight[index]
    done[index] = result


def _lost(worker: _Worker[Any], warn: Callable[[str], None]) -> None:
    worker.share = 0
    worker.process.join(1)
    status = worker.process.exitcode
    how = f"was killed by signal {-status}" if status and status < 0 else f"ended ({status})"
    warn(f"worker process {worker.process.pid} {how}; the main process did its work instead")


def _start(work: Callable[[Any], Any], thread_shares: list[int]) -> list[_Worker[Any]]:
    """A worker forked for each share, as many as the system allows (perhaps none)."""
    if len(thread_shares) < 2:
        return []
    try:
        import multiprocessing

        context = multiprocessing.get_context("fork")  # ValueError where there is no fork
    except (ImportError, ValueError):
        return []
    workers: list[_Worker[Any]] = []
    with _signals_held():  # a child forked meanwhile would inherit our handlers
        for share in thread_shares:
            try:
                workers.append(_fork(context, work, share, workers))
            except OSError:  # no processes left to fork
                break
    if len(workers) == 1 and thread_shares:  # one worker and this process waiting: pointless
        workers[0].share += sum(thread_shares[1:])
    return workers


def _fork(
    context: Any, work: Callable[[Any], Any], share: int, others: list[_Worker[Any]]
) -> _Worker[Any]:
    items_in, items_out = context.Pipe(duplex=False)
    results_in, results_out = context.Pipe(duplex=False)
    inherited = [end for other in others for end in (other.items, other.results)]
    inherited += [items_out, results_in]
    process = context.Process(
        target=_serve,
        args=(items_in, results_out, work, share, os.getpid(), inherited),
        daemon=True,
    )
    process.start()
    items_in.close()  # only the worker holds its ends now, so that its death is an end of file
    results_out.close()
    return _Worker(process, items_out, results_in, share)


def _serve(
    items: Connection,
    results: Connection,
    work: Callable[[Any], Any],
    share: int,
    parent: int,
    inherited: list[Connection],
) -> NoReturn:
    """A worker's life: each item it is sent worked on by its pool of `share` threads, each
    answer (index, False, result), or (index, True, traceback) for a bug, sent back whole."""
    _worker_started(parent)
    for end in inherited:
        end.close()
    sending = threading.Lock()

    def run(index: int, item: Any) -> None:
        try:
            answer: tuple[int, bool, Any] = (index, False, work(item))
            with sending:
                results.send(answer)
        except BaseException:  # a bug, or a result that does not pickle: said, never lost
            with sending:
                results.send((index, True, traceback.format_exc()))

    status = 0
    try:
        with ThreadPoolExecutor(max_workers=share, thread_name_prefix="probe") as pool:
            while True:
                try:
                    index, item = items.recv()
                except EOFError:
                    break
                pool.submit(run, index, item)
    except BaseException:  # the main process is gone: just end
        status = 70
    finally:
        os._exit(status)


def _stop(workers: list[_Worker[Any]], finished: bool) -> None:
    """Stop the workers and wait for every one: after a run that finished each sees its input
    end; otherwise (a signal, a closed stdout, an error) they are killed."""
    for worker in workers:
        if not finished:
            worker.process.kill()
        worker.items.close()
    for worker in workers:
        worker.process.join()
        worker.results.close()

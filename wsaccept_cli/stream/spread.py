"""Items worked on in this process and forked workers, the results handed on in input order:
how `probe --file` spreads many endpoints over the CPUs.

One probe is mostly waiting on the network, and a pool overlaps those waits; but checking what
came back (the head parsed, the rules, twelve client models, the record rendered) is CPU work
that one process does one probe at a time under the GIL. Past a few hundred probes a second
that work is the limit (bench/README.md, "Many endpoints"). So the items are spread over `jobs`
processes, this one and jobs - 1 forked workers, each running `work` in a pool (`PoolMaker`:
threads by default, an event loop for probe) with its share of the `parallel` items in flight
(the shares add up to `parallel`: no more probes are in flight than asked for). This process
also reads the items, hands each to the process with the most room, and hands the results on
in input order: it stays the only writer of stdout and stderr, and its pool runs whenever it
waits (`select`), in the same thread. (A process that only handed out would be a third
process on two CPUs, and its memory a third copy.)

`work` runs in the workers, so its result must pickle (rendered bytes, an outcome). At most
2 × `parallel` items are in flight or finished but not yet handed on, which bounds memory
whatever the number of items. A worker that dies (killed, out of memory) is an end of file on
its result pipe: its items are redone here, side by side in this process's pool, after one
warning. Where no worker can be forked (or `jobs` is 1), everything is done here. Workers
leave Ctrl-C to this process, and end with it however it ends (`parallel._worker_started`).
"""

from __future__ import annotations

import os
import pickle
import queue
import selectors
import signal
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, Generic, NoReturn, TypeVar

from wsaccept_cli.stream.parallel import (
    WorkerError,
    _signals_held,
    _worker_started,
    say_lost,
)

Item = TypeVar("Item")
Result = TypeVar("Result")
_END: Any = object()


def shares(parallel: int, jobs: int) -> list[int]:
    """`parallel` items in flight shared out over at most `jobs` processes, none without one:
    this process (first) takes a share as if it were half a process, since it also reads the
    items, hands them out and writes every result (with two CPUs: 5 of 16, the worker 11,
    which evens out the two processes' CPU time), the workers the rest, evenly."""
    jobs = max(1, min(jobs, parallel))
    if jobs == 1:
        return [parallel]
    here = max(1, parallel // (jobs + 1))
    rest, workers = parallel - here, jobs - 1
    return [here] + [rest // workers + (index < rest % workers) for index in range(workers)]


class _Worker(Generic[Item]):
    """A forked worker process, this process's ends of its two pipes, its items in flight."""

    def __init__(self, process: _Forked, items: _Pipe, results: _Pipe, share: int):
        self.process = process
        self.items = items
        self.results = results
        self.share = share
        self.in_flight: dict[int, Item] = {}

    def ready_end(self) -> int:
        return self.results.fileno()

    def send(self, index: int, item: Item) -> None:
        self.in_flight[index] = item
        with suppress(OSError):  # it died: its end of file comes, and the item is done here
            self.items.send_bytes(_packed((index, item)))

    def collect(self, done: dict[int, Any], warn: Callable[[str], None]) -> bool:
        """A result into `done`; or False when the worker has ended (its items still in
        `in_flight`, for this process to redo)."""
        try:
            index, failed, result = pickle.loads(self.results.recv_bytes())
        except (EOFError, OSError):  # it died, perhaps half way through an answer
            self.share = 0
            say_lost(self.process, warn)
            return False
        if failed:
            raise WorkerError(result)
        del self.in_flight[index]
        done[index] = result
        return True


# What a pool calls as each item ends: its index, whether it succeeded, and the result (or the
# exception that ended it: a bug, raised where the results are collected).
Done = Callable[[int, bool, Any], None]
# A pool for one process's share of the items: made with (work, size, done, selector) in the
# process that runs it, it has `submit(index, item)`, `select()` (the caller's ready keys in
# `selector`, whatever the pool runs meanwhile) and `close()` (items not yet started dropped,
# those under way finished). `Threads` by default; probe passes one that runs most probes on
# an event loop in the calling thread (net.cooperative).
PoolMaker = Callable[[Callable[[Any], Any], int, Done, selectors.BaseSelector], Any]


class Threads:
    """Threads that take items from a queue and report each as it ends, started as items
    come, no more than `size`. (A ThreadPoolExecutor's future, lock and callback per item cost
    the handing-out thread, which shares this process's GIL with the probes, a fifth of its
    time.)"""

    def __init__(
        self,
        work: Callable[[Any], Any],
        size: int,
        done: Done,
        selector: selectors.BaseSelector,
    ) -> None:
        self.work, self.size, self.done, self.selector = work, size, done, selector
        self.jobs: queue.SimpleQueue[tuple[int, Any] | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.given = 0

    def submit(self, index: int, item: Any) -> None:
        self.given += 1
        if len(self.threads) < min(self.size, self.given):
            thread = threading.Thread(target=self._run, name=f"probe_{len(self.threads)}")
            thread.daemon = True  # joined by `close`; never left to hold the exit up
            thread.start()
            self.threads.append(thread)
        self.jobs.put((index, item))

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            index, item = job
            try:
                answer: tuple[int, bool, Any] = (index, True, self.work(item))
            except BaseException as error:  # a bug: raised where the results are collected
                answer = (index, False, error)
            self.done(*answer)

    def select(self) -> list[tuple[selectors.SelectorKey, int]]:
        return self.selector.select()

    def close(self) -> None:
        with suppress(queue.Empty):
            while True:
                self.jobs.get_nowait()
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


class _Here(Generic[Item]):
    """This process's own share: a pool whose finished items are signalled by a byte on a
    pipe, so that one wait covers them and the workers' results alike."""

    def __init__(
        self,
        work: Callable[[Item], Any],
        share: int,
        parallel: int,
        pool: PoolMaker,
        selector: selectors.BaseSelector,
    ) -> None:
        self.share = share
        self.finished: queue.SimpleQueue[tuple[int, bool, Any]] = queue.SimpleQueue()
        self.signal_in, self.signal_out = os.pipe()
        # Room for every item that could ever be in flight here (a dead worker's share comes
        # here), though no more are than `share`.
        self.pool = pool(work, parallel, self._done, selector)
        self.in_flight: dict[int, Item] = {}

    def ready_end(self) -> int:
        return self.signal_in

    def send(self, index: int, item: Item) -> None:
        self.in_flight[index] = item
        self.pool.submit(index, item)

    def _done(self, index: int, ok: bool, result: Any) -> None:
        self.finished.put((index, ok, result))
        with suppress(OSError):  # closed: nobody waits any more
            os.write(self.signal_out, b".")

    def collect(self, done: dict[int, Any], warn: Callable[[str], None]) -> bool:
        os.read(self.signal_in, 4096)
        while True:
            try:
                index, ok, result = self.finished.get_nowait()
            except queue.Empty:
                return True
            del self.in_flight[index]
            if not ok:
                raise result  # a bug's exception goes up from here
            done[index] = result

    def close(self) -> None:
        self.pool.close()
        os.close(self.signal_in)
        os.close(self.signal_out)


def spread(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    *,
    parallel: int,
    jobs: int,
    warn: Callable[[str], None],
    pool: PoolMaker = Threads,
) -> Iterator[Result]:
    """`work(item)` for each item, in the order of `items`, run by `parallel` threads spread
    over `jobs` processes, this one included (see the module's docstring); `pool` runs each
    process's share (threads by default)."""
    thread_shares = shares(parallel, jobs)
    workers = _start(work, thread_shares[1:], pool)
    ready = selectors.DefaultSelector()  # every end waited on, kept for the whole run
    here = _Here(work, parallel - sum(w.share for w in workers), parallel, pool, ready)
    reading = _Reading(items)
    finished = False
    try:
        everyone: list[Any] = [here, *workers]
        for worker in everyone:
            ready.register(worker.ready_end(), selectors.EVENT_READ, worker)
        yield from _hand_out(reading, everyone, 2 * parallel, warn, ready, here.pool.select)
        finished = True
    finally:
        _stop(workers, finished)
        here.close()
        ready.close()
    reading.raise_failure()


def threaded(
    items: Iterable[Item], work: Callable[[Item], Result], parallel: int
) -> Iterator[Result]:
    """`work(item)` for each item, in order, by a pool of `parallel` threads in this process,
    at most 2 × `parallel` in flight or waiting to be handed on: `spread` without workers."""
    return spread(items, work, parallel=parallel, jobs=1, warn=_no_worker_to_lose)


def _no_worker_to_lose(message: str) -> None:
    """`spread`'s warning of a lost worker, which a run without workers never gives."""


class _Reading(Iterator[Item]):
    """The items, up to their end or to an error reading them (an over-long line, a read
    error): the error is kept and raised by `raise_failure` once every item read before it
    has been handed on, so that no result of a good line is lost to a bad one after it.
    Ctrl-C and SIGTERM are not errors of the input: they stop the run at once."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.items = iter(items)
        self.failure: Exception | None = None

    def __next__(self) -> Item:
        if self.failure is not None:
            raise StopIteration
        try:
            return next(self.items)
        except StopIteration:
            raise
        except Exception as error:
            self.failure = error
            raise StopIteration from None

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


def _packed(value: Any) -> bytes:
    """`value` pickled as multiprocessing would, without its per-message pickler set-up (a
    copy of the reducer table each time): items and results are plain data."""
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _hand_out(
    items: Iterator[Item],
    workers: list[Any],
    window: int,
    warn: Callable[[str], None],
    ready: selectors.BaseSelector,
    select: Callable[[], list[tuple[selectors.SelectorKey, int]]],
) -> Iterator[Result]:
    """Items handed to the process with the most room, results handed on in input order;
    `select` waits for ends in `ready` (running this process's pool meanwhile)."""
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
            worker.send(sent, item)
            sent += 1
        if handed in done:  # hand on what is ready, then read more before waiting
            while handed in done:
                yield done.pop(handed)
                handed += 1
            continue
        if exhausted and handed == sent:
            return
        for key, _ in select():
            worker = key.data
            share = worker.share
            if not worker.collect(done, warn):  # a worker died: its threads come here,
                ready.unregister(key.fileobj)
                workers.remove(worker)  # and its items, redone side by side as they were
                workers[0].share += share
                for index, item in sorted(worker.in_flight.items()):
                    workers[0].send(index, item)
                worker.in_flight.clear()


def _least_busy(workers: list[Any]) -> Any:
    """The process with the most room for another item, or None when all are full."""
    room = [w for w in workers if w.share and len(w.in_flight) < w.share]
    return max(room, key=lambda w: w.share - len(w.in_flight), default=None)


class _Pipe:
    """One end of a pipe that carries whole messages, each its length (4 bytes) then its bytes,
    as multiprocessing's Connection does, without importing multiprocessing (a tenth of
    probe's start-up) or its checks on every message."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def send_bytes(self, data: bytes) -> None:
        with memoryview(struct.pack("!I", len(data)) + data) as view:
            while view:
                view = view[os.write(self.fd, view) :]

    def recv_bytes(self) -> bytes:
        """The next message; EOFError at the end of the pipe, even within a message."""
        (size,) = struct.unpack("!I", self._exactly(4))
        return self._exactly(size)

    def _exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = os.read(self.fd, size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class _Forked:
    """A forked worker: its pid, and how it ended once waited for (`exitcode`, negative for a
    signal, as multiprocessing has it)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exitcode: int | None = None

    def kill(self) -> None:
        if self.exitcode is None:  # not yet waited for: the pid is still ours
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        """Wait for it to end, at most `timeout` seconds when given."""
        until = time.monotonic() + (timeout or 0.0)
        while self.exitcode is None:
            pid, status = os.waitpid(self.pid, 0 if timeout is None else os.WNOHANG)
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() >= until:
                return
            else:
                time.sleep(0.01)


def _start(
    work: Callable[[Any], Any], thread_shares: list[int], pool: PoolMaker
) -> list[_Worker[Any]]:
    """A worker forked for each share, as many as the system allows (perhaps none)."""
    if not thread_shares or not hasattr(os, "fork"):
        return []
    workers: list[_Worker[Any]] = []
    with _signals_held():  # a child forked meanwhile would inherit our handlers
        for share in thread_shares:
            try:
                workers.append(_fork(work, share, workers, pool))
            except OSError:  # no processes left to fork
                break
    return workers


def _fork(
    work: Callable[[Any], Any],
    share: int,
    others: list[_Worker[Any]],
    pool: PoolMaker,
) -> _Worker[Any]:
    items_in, items_out = os.pipe()
    results_in, results_out = os.pipe()
    inherited = [end for other in others for end in (other.items, other.results)]
    inherited += [_Pipe(items_out), _Pipe(results_in)]
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        for fd in (items_in, items_out, results_in, results_out):
            os.close(fd)
        raise
    if pid == 0:  # the worker: it never returns
        try:
            _serve(_Pipe(items_in), _Pipe(results_out), work, share, parent, inherited, pool)
        finally:
            os._exit(70)
    os.close(items_in)  # only the worker holds its ends now, so that its death is an end of file
    os.close(results_out)
    return _Worker(_Forked(pid), inherited[-2], inherited[-1], share)


def _serve(
    items: _Pipe,
    results: _Pipe,
    work: Callable[[Any], Any],
    share: int,
    parent: int,
    inherited: list[_Pipe],
    pool: PoolMaker,
) -> NoReturn:
    """A worker's life: each item it is sent worked on by its pool (of `share` threads by
    default), each answer (index, False, result), or (index, True, traceback) for a bug,
    sent back whole."""
    _worker_started(parent)
    for end in inherited:
        end.close()
    sending = threading.Lock()

    def done(index: int, ok: bool, result: Any) -> None:
        try:
            if not ok:
                raise result
            answer = _packed((index, False, result))
        except BaseException:  # a bug, or a result that does not pickle: said, never lost
            answer = _packed((index, True, traceback.format_exc()))
        with sending:
            results.send_bytes(answer)

    status = 0
    ready = selectors.DefaultSelector()
    ready.register(items.fileno(), selectors.EVENT_READ, items)
    running = pool(work, share, done, ready)
    try:
        while True:
            running.select()  # the items' pipe is readable: its pool ran meanwhile
            try:
                index, item = pickle.loads(items.recv_bytes())
            except EOFError:
                break
            running.submit(index, item)
    except BaseException:  # the main process is gone: just end
        status = 70
    finally:
        if not status:
            running.close()  # each item it was sent has ended: the main process saw them all
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

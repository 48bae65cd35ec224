"""Stdin in blocks, each turned into a result by one function, here or in worker processes,
the results handed on strictly in input order.

SHA-1 is most of the per-key cost and one process can hash no faster than hashlib, so past the
first PARALLEL_AFTER bytes, blocks are spread over `jobs` processes: this one and jobs - 1
`multiprocessing` workers (the fork context, imported only then), each with its own pair of
`multiprocessing.connection` pipes, which frame and pickle the blocks and results. This process
reads, hands out, and hands each result on in input order: it stays the only writer of stdout
and stderr, so whole-line writes, held signals, exit codes and the capped diagnostics behave as
in one process.

This process computes too: a block goes to a worker that has room for it (fewer than
WINDOW_PER_JOB of its blocks in flight), and when none has, because the workers lag, it is done
here instead of waiting for them. On a quiet machine that keeps every CPU busy with one process
each; beside other CPU-bound work, where a waiting process also waits to be scheduled again, the
time this process would spend waiting goes into blocks (bench/README.md has the measurements).
The pipes are widened to 1 MiB where Linux allows, so a worker can leave a whole result in its
pipe and go on to its next block while this one is busy with its own.

Why not `concurrent.futures.ProcessPoolExecutor`: all its workers answer through one shared
queue, and a worker killed while it writes a result leaves half a message there, which its
result thread then waits on for ever (seen here on Python 3.11). With a pipe per worker, a worker
that dies is an end of file on its own pipe: its blocks are redone here, after one warning.

At most WINDOW_PER_JOB blocks per process are in flight or waiting to be handed on, which
bounds memory. Blocks are sent by one thread, so this process never waits on a worker that is
itself waiting to send a result. While results are due it waits for input, the oldest result
and that worker's end together, so a slow stream's output keeps up with it. Where no worker can
start (no fork, one usable CPU), everything is done here.
"""

from __future__ import annotations

import os
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from wsaccept_cli.core.lines import READ_SIZE, Block, OverlongLine, read_blocks

if TYPE_CHECKING:
    import queue
    import threading
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

# Input up to this size is done here: workers are not worth starting for small inputs, nor for
# keys typed one by one.
PARALLEL_AFTER = READ_SIZE
# Processes beyond the CPUs this process may use only add overhead; eight are past what the one
# reading, writing process can feed.
MAX_JOBS = 8
WINDOW_PER_JOB = 3
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
F_SETPIPE_SZ = 1031  # <linux/fcntl.h>
PIPE_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size, the most an unprivileged process may ask

Result = TypeVar("Result")
Work = Callable[[Block | OverlongLine], Result]


class WorkerError(Exception):
    """A worker failed on a block (a bug, not bad input): its traceback."""


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity to honour
        return os.cpu_count() or 1


def jobs_for(asked: int | None) -> tuple[int, str | None]:
    """How many processes to compute with (this one included): as asked, but no more than help
    here; with a sentence saying so when the number asked for was lowered."""
    cpus = usable_cpus()
    ceiling = min(cpus, MAX_JOBS)
    if asked is None:
        return ceiling, None
    if asked <= ceiling:
        return asked, None
    why = f"this process may use {cpus} CPU{'s' if cpus != 1 else ''}"
    why = why if ceiling == cpus else f"at most {MAX_JOBS} help"
    return ceiling, f"-j {asked} lowered to {ceiling}: {why}"


def process_stream(
    read: Callable[[int], bytes],
    fd: int | None,
    work: Work[Result],
    emit: Callable[[Result], None],
    *,
    jobs: int,
    warn: Callable[[str], None],
) -> None:
    """Each block `read` yields turned into a result by `work` and handed to `emit`, in input
    order; a large input spread over `jobs` processes (this one and jobs - 1 workers) when `fd`
    (what `read` reads) can be waited on."""
    if jobs <= 1 or fd is None:
        for block in read_blocks(read):
            emit(work(block))
        return
    _widen_fd(fd)
    pool = OrderedPool(work, jobs, emit, warn)
    seen, finished = 0, False
    try:
        for block in read_blocks(pool.reader(fd, read)):
            seen += len(block.data) if isinstance(block, Block) else block.length
            if seen > PARALLEL_AFTER:
                pool.submit(block)
            else:
                emit(work(block))
        pool.drain()
        finished = True
    finally:
        pool.close(finished)


class Worker:
    """A worker process and this process's ends of its two pipes."""

    def __init__(self, process: BaseProcess, blocks: Connection, results: Connection) -> None:
        self.process = process
        self.blocks = blocks
        self.results = results
        self.alive = True
        self.pending = 0  # blocks sent whose results are not read yet


class Slot(Generic[Result]):
    """A block's place in the output order: sent to `worker`, or done here (`result`), or, when
    its worker died, to be done here when its turn comes."""

    __slots__ = ("block", "result", "worker")

    def __init__(
        self, worker: Worker | None, block: Block | OverlongLine, result: Result | None = None
    ) -> None:
        self.worker = worker
        self.block = block
        self.result = result

    def ready(self) -> bool:
        """Whether its result can be had without waiting."""
        worker = self.worker
        return worker is None or not worker.alive or worker.results.poll()


class OrderedPool(Generic[Result]):
    """Worker processes whose results come back in the order the blocks went in."""

    def __init__(
        self,
        work: Work[Result],
        jobs: int,
        emit: Callable[[Result], None],
        warn: Callable[[str], None],
    ) -> None:
        self.work = work
        self.jobs = jobs
        self.emit = emit
        self.warn = warn
        self.started = False
        self.workers: list[Worker] = []
        self.turn = 0
        self.window: deque[Slot[Result]] = deque()
        self.outbox: queue.SimpleQueue[tuple[Worker, Block | OverlongLine] | None] | None = None
        self.sender: threading.Thread | None = None

    def submit(self, block: Block | OverlongLine) -> None:
        """Send `block` to a worker that has room for it; when none has (the workers lag, on a
        busy machine as on a quiet one), do it here rather than wait. Results that are ready
        are handed on first, and the window of blocks not yet handed on stays bounded."""
        if not self.started:
            self._start()
        while self.window and self.window[0].ready():
            self._emit_oldest()
        while len(self.window) >= (len(self.workers) + 1) * WINDOW_PER_JOB:
            self._emit_oldest()
        worker = self._free_worker()
        if worker is None:
            self.window.append(Slot(None, block, self.work(block)))
            return
        worker.pending += 1
        self.window.append(Slot(worker, block))
        assert self.outbox is not None
        self.outbox.put((worker, block))

    def drain(self) -> None:
        while self.window:
            self._emit_oldest()

    def reader(self, fd: int, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
        """`read`, but while results are due, wait for input and results both, handing results
        on as they come, so that output keeps up with a slow stream."""

        def read_when_ready(size: int) -> bytes:
            while self.window and not self._hand_on_until_input(fd):
                pass
            return read(size)

        return read_when_ready

    def _hand_on_until_input(self, fd: int) -> bool:
        """Hand on the oldest result if it is there; else wait until it, its worker's end or
        input comes. True when input can be read."""
        from multiprocessing.connection import wait

        oldest = self.window[0]
        if oldest.ready():
            self._emit_oldest()
            return False
        assert oldest.worker is not None
        ready = wait([fd, oldest.worker.results, oldest.worker.process.sentinel])
        return fd in ready and len(ready) == 1

    def _free_worker(self) -> Worker | None:
        """The next live worker in turn with room for another block, or None."""
        for _ in range(len(self.workers)):
            worker = self.workers[self.turn % len(self.workers)]
            self.turn += 1
            if worker.alive and worker.pending < WINDOW_PER_JOB:
                return worker
        return None

    def _emit_oldest(self) -> None:
        self.emit(self._result(self.window.popleft()))

    def _result(self, slot: Slot[Result]) -> Result:
        worker = slot.worker
        if worker is not None and worker.alive:
            try:
                failed, result = worker.results.recv()
            except (EOFError, OSError):  # it died, perhaps half way through its answer
                self._lost(worker)
            else:
                worker.pending -= 1
                if failed:
                    raise WorkerError(result)
                return result  # type: ignore[no-any-return]
        if slot.result is not None:
            return slot.result
        return self.work(slot.block)

    def _lost(self, worker: Worker) -> None:
        """A worker that ended without answering: its blocks are done here from now on."""
        worker.alive = False
        say_lost(worker.process, self.warn)

    def _start(self) -> None:
        """Fork the workers, as many as the system allows (perhaps none), and the thread that
        sends them their blocks."""
        self.started = True
        try:
            import multiprocessing
            import queue
            import threading

            context = multiprocessing.get_context("fork")  # ValueError where there is no fork
        except (ImportError, ValueError):
            return
        with _signals_held():  # a child forked meanwhile would inherit our handlers
            for _ in range(self.jobs - 1):  # this process is one of the jobs
                try:
                    self.workers.append(_fork_worker(context, self.work, self.workers))
                except OSError:  # no processes left to fork
                    break
        self.outbox = queue.SimpleQueue()
        self.sender = threading.Thread(target=_send_blocks, args=(self.outbox,), daemon=True)
        self.sender.start()

    def close(self, finished: bool) -> None:
        """Stop the workers and wait for every one, so that none is left behind: after a run
        that finished, each sees its input end; after one that did not (a signal, a closed
        stdout, an error), they are killed, since they may hold blocks nobody will read."""
        self.window.clear()
        if not finished:
            for worker in self.workers:
                worker.process.kill()
        if self.outbox is not None and self.sender is not None:
            self.outbox.put(None)
            self.sender.join()  # a send to a killed worker fails at once
        for worker in self.workers:
            worker.blocks.close()
            worker.process.join()
            worker.results.close()
        self.workers = []


def say_lost(process: Any, warn: Callable[[str], None]) -> None:
    """One warning for a worker that ended without answering, saying how it ended. `process`:
    a multiprocessing process, or anything with its `pid`, `exitcode` and `join(timeout)`."""
    process.join(1)
    status = process.exitcode
    how = f"was killed by signal {-status}" if status and status < 0 else f"ended ({status})"
    warn(f"worker process {process.pid} {how}; the main process did its work instead")


def _fork_worker(context: Any, work: Work[Any], others: list[Worker]) -> Worker:
    """A worker with its own two pipes. It closes the ends of the others' pipes it inherits,
    so that each worker alone holds what makes the end of its input and its own end visible."""
    blocks_in, blocks_out = context.Pipe(duplex=False)
    results_in, results_out = context.Pipe(duplex=False)
    for end in (blocks_out, results_in):
        _widen(end)
    inherited = [end for other in others for end in (other.blocks, other.results)]
    inherited += [blocks_out, results_in]
    process = context.Process(
        target=_serve, args=(blocks_in, results_out, work, os.getpid(), inherited), daemon=True
    )
    process.start()
    blocks_in.close()  # the worker's ends: only the worker holds them now, so that its death
    results_out.close()  # is an end of file here
    return Worker(process, blocks_out, results_in)


def _widen(end: Connection) -> None:
    """A pipe that holds a whole block or result (F_SETPIPE_SZ, Linux; best effort)."""
    _widen_fd(end.fileno())


def _widen_fd(fd: int) -> None:
    """The pipe behind `fd` widened to PIPE_SIZE when it is one (F_SETPIPE_SZ, Linux; best
    effort): fails with EBADF-like errors for files and terminals, which are left alone."""
    try:
        import fcntl

        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, OSError):
        pass


def _send_blocks(outbox: queue.SimpleQueue[tuple[Worker, Block | OverlongLine] | None]) -> None:
    """The sending thread: each block to its worker, in order, until told to stop. A worker that
    is gone is skipped (the main thread finds out when it reads its result)."""
    while (item := outbox.get()) is not None:
        worker, block = item
        with suppress(OSError, ValueError):  # it died, or it is being closed
            worker.blocks.send(block)


def _serve(
    blocks: Connection,
    results: Connection,
    work: Work[Any],
    parent: int,
    inherited: list[Connection],
) -> NoReturn:
    """A worker's life: take its signals in hand, then do each block it is sent until its input
    ends, answering (False, result), or (True, traceback) for a bug."""
    _worker_started(parent)
    for end in inherited:
        end.close()
    status = 0
    try:
        while True:
            try:
                block = blocks.recv()
            except EOFError:
                break
            try:
                answer: tuple[bool, Any] = (False, work(block))
            except Exception:
                answer = (True, traceback.format_exc())
                status = 70
            results.send(answer)
            if status:
                break
    except BaseException:  # the main process is gone: just end
        status = status or 70
    finally:
        os._exit(status)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked while workers are forked, so that none arrives in a child
    before it has set its own handling (it would print a traceback there)."""
    import signal

    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _worker_started(parent: int) -> None:
    """In each worker, first thing: leave Ctrl-C (sent to the whole process group) to the main
    process, which decides what it means and stops the workers itself; SIGTERM ends a worker at
    once. Then take signals again. And end with the main process, however it ends (even by
    SIGKILL), rather than wait for blocks that will never come."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _end_with_parent()
    if os.getppid() != parent:  # it ended before we asked
        os._exit(0)


def _end_with_parent() -> None:
    """Ask Linux to send SIGKILL to this process when its parent ends (prctl PR_SET_PDEATHSIG);
    elsewhere there is no such request, and the closing of its pipes has to do."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, ImportError):  # not Linux, or no C library to ask
        pass

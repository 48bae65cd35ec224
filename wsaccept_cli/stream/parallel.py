"""Stdin in blocks, each turned into a result by one function, here or in worker processes,
the results handed on strictly in input order.

SHA-1 is most of the per-key cost and one process can hash no faster than hashlib, so past the
first PARALLEL_AFTER bytes, blocks go to a `concurrent.futures` process pool (the fork context,
imported only then). This process reads, submits, and hands each result on in input order: it
stays the only writer of stdout and stderr, so whole-line writes, held signals, exit codes and the
capped diagnostics behave as in one process. At most WINDOW_PER_JOB blocks per worker are in
flight, which bounds memory. Before reading more input, results that are ready are handed on, so
a slow stream's output keeps up with it. A worker that dies breaks the pool: its blocks, and all
that follow, are done here, after one warning. Where no pool can start (no fork, one usable CPU),
everything is done here.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from wsaccept_cli.core.lines import READ_SIZE, Block, OverlongLine, read_blocks

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# Input up to this size is done here: a pool is not worth starting for small inputs, nor for
# keys typed one by one.
PARALLEL_AFTER = READ_SIZE
# Workers beyond the CPUs this process may use only add overhead; eight are past what the one
# reading, writing process can feed.
MAX_JOBS = 8
WINDOW_PER_JOB = 3
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

Result = TypeVar("Result")
Work = Callable[[Block | OverlongLine], Result]


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity to honour
        return os.cpu_count() or 1


def jobs_for(asked: int | None) -> tuple[int, str | None]:
    """How many workers to use: as asked, but no more than help here; with a sentence saying
    so when the number asked for was lowered."""
    ceiling = min(usable_cpus(), MAX_JOBS)
    if asked is None:
        return ceiling, None
    if asked <= ceiling:
        return asked, None
    cpus = usable_cpus()
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
    order; a large input in `jobs` worker processes when `fd` (what `read` reads) can be polled.
    """
    if jobs <= 1 or fd is None:
        for block in read_blocks(read):
            emit(work(block))
        return
    pool = OrderedPool(work, jobs, emit, warn)
    seen = 0
    try:
        for block in read_blocks(pool.reader(fd, read)):
            seen += len(block.data) if isinstance(block, Block) else block.length
            if seen > PARALLEL_AFTER:
                pool.submit(block)
            else:
                emit(work(block))
        pool.drain()
    finally:
        pool.close()


class OrderedPool(Generic[Result]):
    """A process pool whose results come back in the order the blocks went in."""

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
        self.executor: ProcessPoolExecutor | None = None
        self.broken = False
        self.window: deque[tuple[Future[Result] | None, Block | OverlongLine]] = deque()
        self.wake_read = self.wake_write = -1

    def submit(self, block: Block | OverlongLine) -> None:
        """Send `block` to a worker, first handing on results while the window is full."""
        while len(self.window) >= self.jobs * WINDOW_PER_JOB:
            self._emit_oldest()
        self.window.append((self._start(block), block))

    def drain(self) -> None:
        while self.window:
            self._emit_oldest()

    def reader(self, fd: int, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
        """`read`, but while results are due, wait for input and results both, handing results
        on as they come, so that output keeps up with a slow stream."""

        def read_when_ready(size: int) -> bytes:
            while self.window and not self._input_ready(fd):
                pass
            return read(size)

        return read_when_ready

    def _input_ready(self, fd: int) -> bool:
        """Hand on the results that are ready; then wait for input or the oldest result. True
        when input can be read."""
        while self.window and _done(self.window[0][0]):
            self._emit_oldest()
        if not self.window:
            return True
        import select

        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if self.wake_read >= 0:
            poller.register(self.wake_read, select.POLLIN)
        ready = {ready_fd for ready_fd, _ in poller.poll()}
        if self.wake_read in ready:
            os.read(self.wake_read, 4096)
        return fd in ready

    def _start(self, block: Block | OverlongLine) -> Future[Result] | None:
        """The future of `block`'s result, or None when it is to be done here."""
        if self.broken:
            return None
        from concurrent.futures.process import BrokenProcessPool

        try:
            if self.executor is None:
                future = self._first(block)
            else:
                future = self.executor.submit(self.work, block)
        except BrokenProcessPool:
            self._lost()
            return None
        if future is not None:
            future.add_done_callback(self._wake)
        return future

    def _first(self, block: Block | OverlongLine) -> Future[Result] | None:
        """Start the pool with its first block; None, and everything done here, where no pool
        can start (no fork on this system, no semaphores, no processes left)."""
        try:
            with _signals_held():  # a child forked meanwhile would inherit our handlers
                self.executor = self._executor()
                return self.executor.submit(self.work, block)
        except (OSError, ValueError, NotImplementedError, ImportError):
            self.broken = True
            return None

    def _executor(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")  # ValueError where there is no fork
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        return ProcessPoolExecutor(
            self.jobs, mp_context=context, initializer=_worker_started, initargs=(os.getpid(),)
        )

    def _wake(self, future: Future[Result]) -> None:
        """Runs in the pool's thread when a result arrives: wake a main process that waits."""
        with suppress(OSError):  # the pipe is full (a wake-up is pending anyway) or closed
            os.write(self.wake_write, b".")

    def _emit_oldest(self) -> None:
        future, block = self.window.popleft()
        self.emit(self._result(future, block))

    def _result(self, future: Future[Result] | None, block: Block | OverlongLine) -> Result:
        if future is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return future.result()
            except BrokenProcessPool:
                self._lost()
        return self.work(block)

    def _lost(self) -> None:
        """The pool cannot run (or a worker died): from here on, every block is done here."""
        if self.broken:
            return
        self.broken = True
        if self.executor is not None:
            self.warn("a worker process ended unexpectedly; the main process did its work instead")

    def close(self) -> None:
        """Stop the workers: what they hold is finished (a block takes milliseconds), the rest
        is cancelled, and every worker is waited for, so none is left behind."""
        self.window.clear()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        for fd in (self.wake_read, self.wake_write):
            if fd >= 0:
                os.close(fd)
        self.wake_read = self.wake_write = -1


def _done(future: Future[Any] | None) -> bool:
    return future is None or future.done()


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
    once, as the pool expects when it stops a broken pool. Then take signals again. And end with
    the main process, however it ends (even by SIGKILL): a worker waits for work on a queue that
    its siblings keep open, so without this it would wait forever."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _end_with_parent()
    if os.getppid() != parent:  # it ended before we asked
        os._exit(0)


def _end_with_parent() -> None:
    """Ask Linux to send SIGKILL to this process when its parent ends (prctl PR_SET_PDEATHSIG);
    elsewhere there is no such request, and the pool's own shutdown has to do."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, ImportError):  # not Linux, or no C library to ask
        pass

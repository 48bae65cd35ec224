"""Large stdin input spread over forked worker processes, its output kept in input order.

SHA-1 is most of the per-key cost and one process can hash no faster than hashlib, so past the
first block, blocks of input go to workers that each render a block's output whole; this process
reads, hands out, and writes the results back in input order. It stays the only writer of stdout
and stderr, so whole-line writes, held signals, exit codes and the capped diagnostics behave as in
one process, and a worker that dies costs nothing but the time to redo its block here.
"""

from __future__ import annotations

import fcntl
import io
import marshal
import os
import select
import signal
import struct
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

from wsaccept_cli.core.lines import MAX_LINE, READ_SIZE, Block, OverlongLine, read_blocks
from wsaccept_cli.core.results import Item
from wsaccept_cli.ui.diagnostics import Diagnostics
from wsaccept_cli.ui.render import make_renderer
from wsaccept_cli.ui.session import Session
from wsaccept_cli.ui.writer import OutputWriter

if TYPE_CHECKING:
    from wsaccept_cli.ui.session import Remark, Rendered

    RenderBlock = Callable[[Block | OverlongLine], Rendered]

# Input up to this size is done here: forking is not worth it for small inputs, nor for keys
# typed one by one.
PARALLEL_AFTER = READ_SIZE
MAX_DEFAULT_JOBS = 8
# The pipe buffer asked for (the default /proc/sys/fs/pipe-max-size): room for a few blocks.
PIPE_SIZE = 1 << 20
MAX_BLOCK_FRAME = READ_SIZE + MAX_LINE + 64

_HEADER = struct.Struct("<QQ")  # the sizes of a frame's head and body


def default_jobs() -> int:
    """The CPUs this process may run on, up to MAX_DEFAULT_JOBS."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity to honour
        usable = os.cpu_count() or 1
    return min(usable, MAX_DEFAULT_JOBS)


class Remarks(Diagnostics):
    """What a session says about its input, kept to be said by the main process, in order."""

    def __init__(self) -> None:
        super().__init__(None, color=False)
        self.said: list[Remark] = []

    def say(self, kind: str, where: str | None, message: str) -> None:
        self.said.append((kind, where, message))


class BlockRenderer:
    """One block's stdout bytes, remarks and counts, exactly as a session would produce them."""

    def __init__(
        self,
        process: Callable[[Block | OverlongLine], Iterable[Item]],
        fmt: str,
        *,
        strict: bool = False,
        quiet: bool = False,
    ) -> None:
        self.process = process
        self.fmt = fmt
        self.strict = strict
        self.quiet = quiet

    def __call__(self, block: Block | OverlongLine) -> Rendered:
        sink = io.BytesIO()
        remarks = Remarks()
        renderer = make_renderer(self.fmt, OutputWriter(sink), color=False, quiet=self.quiet)
        session = Session(renderer, remarks, strict=self.strict)
        for item in self.process(block):
            session.handle(item)
        session.flush()
        return sink.getvalue(), remarks.said, session.counts()


class WorkerError(Exception):
    """A worker failed on a block (a bug, not bad input): its traceback."""


class Worker:
    """A forked process that renders the blocks written to it, in order.

    `depth` is how many blocks it may hold: the one it works on and as many more as its input
    pipe can take whole, so that it need not wait for the main process between blocks, and the
    main process never blocks writing to a worker that is itself blocked writing its result.
    """

    __slots__ = ("blocks_fd", "depth", "held", "pid", "results_fd")

    def __init__(self, pid: int, blocks_fd: int, results_fd: int, depth: int) -> None:
        self.pid = pid
        self.blocks_fd = blocks_fd
        self.results_fd = results_fd
        self.depth = depth
        self.held = 0

    def stop(self) -> int:
        """Close its pipes and wait for it; its exit status."""
        os.close(self.blocks_fd)
        os.close(self.results_fd)
        return os.waitpid(self.pid, 0)[1]


class WorkerPool:
    """Blocks handed out round the workers and their results collected oldest first; a worker
    that dies is replaced by this process for the blocks it held."""

    def __init__(
        self,
        render: RenderBlock,
        jobs: int,
        warn: Callable[[str], None],
    ) -> None:
        self.render = render
        self.jobs = jobs
        self.warn = warn
        self.started = False
        self.workers: deque[Worker] = deque()
        self.pending: deque[tuple[Worker | None, Block | OverlongLine]] = deque()

    def start(self) -> None:
        """Fork the workers; as many as the system allows, perhaps none."""
        self.started = True
        inherited: list[int] = []
        for _ in range(self.jobs):
            try:
                worker = _fork_worker(self.render, inherited)
            except OSError:
                break
            inherited += (worker.blocks_fd, worker.results_fd)
            self.workers.append(worker)

    def has_room(self) -> bool:
        return any(worker.held < worker.depth for worker in self.workers)

    def submit(self, block: Block | OverlongLine) -> None:
        """Hand `block` to the next worker with room for it (there must be one)."""
        while self.workers[0].held >= self.workers[0].depth:
            self.workers.rotate(-1)
        worker = self.workers[0]
        self.workers.rotate(-1)
        worker.held += 1
        self.pending.append((worker, block))
        with suppress(BrokenPipeError):  # it died; collecting its result finds that out
            if isinstance(block, Block):
                _send(worker.blocks_fd, (True, block.first_line, 0), block.data)
            else:
                _send(worker.blocks_fd, (False, block.line, block.length))

    def oldest_done_before(self, fd: int) -> bool:
        """Wait until the oldest block's result or `fd` can be read; True for the result."""
        worker = self.pending[0][0]
        if worker is None:
            return True
        poller = select.poll()
        poller.register(worker.results_fd, select.POLLIN)
        poller.register(fd, select.POLLIN)
        return any(ready == worker.results_fd for ready, _ in poller.poll())

    def collect(self) -> Rendered:
        """The oldest block's result, waiting for it."""
        worker, block = self.pending.popleft()
        frame = None if worker is None else _receive(worker.results_fd)
        if frame is None:
            if worker is not None:
                self._lost(worker)
            return self.render(block)
        assert worker is not None
        worker.held -= 1
        head, output = frame
        if isinstance(head, str):
            raise WorkerError(head)
        said, counts = head
        return output, said, counts

    def _lost(self, worker: Worker) -> None:
        """A worker that ended without answering: its blocks are rendered here instead."""
        self.workers.remove(worker)
        self.pending = deque((None if held is worker else held, block)
                             for held, block in self.pending)  # fmt: skip
        status = worker.stop()
        if os.WIFSIGNALED(status):
            how = f"was killed by signal {os.WTERMSIG(status)}"
        else:
            how = f"exited with status {os.waitstatus_to_exitcode(status)}"
        self.warn(f"worker process {worker.pid} {how}; the main process did its work instead")

    def close(self) -> None:
        """Stop every worker: idle ones see their input end, busy ones are killed."""
        workers, self.workers, self.pending = list(self.workers), deque(), deque()
        for worker in workers:
            if worker.held:
                os.kill(worker.pid, signal.SIGKILL)
        for worker in workers:
            worker.stop()


def process_in_workers(
    fd: int,
    read_input: Callable[[int], bytes],
    session: Session,
    render: RenderBlock,
    jobs: int,
) -> None:
    """Every block `read_input` reads from `fd` rendered (here, or by a worker once the input is
    large) and handed to `session` in input order."""
    pool = WorkerPool(render, jobs, partial(session.diagnostics.summary, "warning"))

    def read(size: int) -> bytes:
        # Results that are ready go out before waiting for more input, so a slow stream's
        # output keeps up with it.
        while pool.pending and pool.oldest_done_before(fd):
            session.absorb(pool.collect())
        return read_input(size)

    seen = 0
    try:
        for block in read_blocks(read):
            seen += len(block.data) if isinstance(block, Block) else block.length
            if seen > PARALLEL_AFTER and not pool.started:
                pool.start()
            while pool.pending and not pool.has_room():
                session.absorb(pool.collect())
            if pool.has_room():
                pool.submit(block)
            else:
                session.absorb(render(block))
        while pool.pending:
            session.absorb(pool.collect())
    finally:
        pool.close()


def _fork_worker(render: RenderBlock, inherited: list[int]) -> Worker:
    blocks_in, blocks_out = os.pipe()
    results_in, results_out = os.pipe()
    depth = _grow_pipe(blocks_out) // MAX_BLOCK_FRAME + 1
    _grow_pipe(results_out)
    pid = os.fork()
    if pid == 0:  # the worker
        for fd in (*inherited, blocks_out, results_in):
            os.close(fd)
        _serve(blocks_in, results_out, render)
    os.close(blocks_in)
    os.close(results_out)
    return Worker(pid, blocks_out, results_in, depth)


def _grow_pipe(fd: int) -> int:
    """Ask for a PIPE_SIZE buffer (Linux); the size the pipe has, or 0 when unknown."""
    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (AttributeError, OSError):  # not Linux, or over /proc/sys/fs/pipe-max-size
        return 0


def _serve(blocks_fd: int, results_fd: int, render: RenderBlock) -> NoReturn:
    """A worker's life: render each block it is sent until its input ends, then exit."""
    status = 0
    try:
        # The main process decides what Ctrl-C and SIGTERM mean; a worker ends with its input.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while (frame := _receive(blocks_fd)) is not None:
            (whole, line, length), data = frame
            block = Block(line, bytes(data)) if whole else OverlongLine(line, length)
            try:
                output, said, counts = render(block)
            except Exception:
                _send(results_fd, traceback.format_exc())
                status = 70
                break
            _send(results_fd, (said, counts), output)
    except BaseException:  # the main process is gone, or an unexpected failure: just end
        status = status or 70
    finally:
        os._exit(status)


def _send(fd: int, head: Any, body: bytes | bytearray = b"") -> None:
    """One frame: a small marshalled head, then the body as it is (a block's lines, a block's
    output), so that no copy of it is made on the way."""
    packed = marshal.dumps(head)
    for part in (_HEADER.pack(len(packed), len(body)) + packed, body):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


def _receive(fd: int) -> tuple[Any, bytearray] | None:
    """One frame's head and body, or None when the other side closed its end first."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    head_size, body_size = _HEADER.unpack(header)
    head, body = _read_exactly(fd, head_size), _read_exactly(fd, body_size)
    if head is None or body is None:
        return None
    return marshal.loads(head), body


def _read_exactly(fd: int, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        got = os.readv(fd, [view])
        if not got:
            return None
        view = view[got:]
    return buffer

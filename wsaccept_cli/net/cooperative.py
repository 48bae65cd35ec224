"""Many probes on one event loop per process: each probe runs in a greenlet, and its socket
(`CoopSocket`) hands control back to the loop whenever it would block.

Why: `probe --file` spends most of a loopback probe's time in the CPU work around a few
socket calls. In a pool of threads every one of those calls puts a thread to sleep and wakes
it again, and passes the GIL round; in one loop the process goes from one ready socket to the
next without sleeping while any probe has work (bench/README.md, "Many endpoints": the same
probes cost about a fifth less CPU). asyncio would need every probe step written twice, once
async; greenlets let the blocking code of `net.probe` run unchanged, its sockets alone made
cooperative.

The loop runs in the thread that hands out the items and collects their results (stream.
spread), whenever that thread waits: one selector holds both its pipes and the probes'
sockets, so no other thread takes the GIL back and forth with it. What runs on the loop: a
probe whose every wait is a CoopSocket's (a direct TCP connection to a ws:// URL: no proxy,
no TLS, no --hold); the host name, if any, is looked up in a thread of its own that the loop
waits for (`Finished`). Anything else is run by threads beside the loop, in the same process
(`Pool`). Network code: it returns results to a callback and never prints.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import greenlet

# What a pool calls when an item is done: its index, whether it succeeded, and the result (or
# the exception that ended it: a bug, raised where the results are collected).
Done = Callable[[int, bool, Any], None]

_local = threading.local()  # `hub`: the loop running in this thread, if any


def current() -> Hub | None:
    """The loop the calling code runs on (from inside one of its greenlets), or None."""
    hub: Hub | None = getattr(_local, "hub", None)
    if hub is None:
        return None
    import greenlet

    return hub if greenlet.getcurrent() is not hub.main else None


class _Waiter:
    """A greenlet's registration in the loop's selector (the caller's have other data)."""

    __slots__ = ("greenlet",)

    def __init__(self, waiting: greenlet.greenlet) -> None:
        self.greenlet = waiting


class Hub:
    """The loop, run by the thread that made it whenever that thread waits (`select`): a
    selector shared with the caller, the sockets its greenlets wait on, and their timeouts.
    An item starts at once in a greenlet of its own and runs until its first wait."""

    def __init__(
        self, work: Callable[[Any], Any], done: Done, selector: selectors.BaseSelector
    ) -> None:
        import greenlet

        self.work = work
        self.done = done
        self.selector = selector
        self.timers: list[tuple[float, int, greenlet.greenlet]] = []
        self.order = itertools.count()  # ties of equal deadlines, in order
        self.waiting: dict[greenlet.greenlet, int] = {}  # greenlet: its timer's number
        self.main = greenlet.getcurrent()
        self.owed = False  # the caller's keys went first last time
        _local.hub = self

    def submit(self, index: int, item: Any) -> None:
        import greenlet

        greenlet.greenlet(self._item, parent=self.main).switch(index, item)

    def _item(self, index: int, item: Any) -> None:
        try:
            answer: tuple[int, bool, Any] = (index, True, self.work(item))
        except BaseException as error:  # a bug: raised where the results are collected
            answer = (index, False, error)
        self.done(*answer)

    def select(self) -> list[tuple[Any, int]]:
        """The caller's ready keys in the shared selector, the loop run until there are some:
        each greenlet resumed as its socket is ready or its wait times out. The caller's keys
        go first: ready sockets stay ready (the selector is level-triggered) for the next
        turn, while a worker process whose results wait unread gets no new items."""
        while True:
            events = self.selector.select(self._next_timeout())
            theirs = [(key, mask) for key, mask in events if not isinstance(key.data, _Waiter)]
            if theirs and not self.owed:
                self.owed = True  # the greenlets' turn comes first next time: none starves
                return theirs
            self.owed = False
            self._resume(events)
            if theirs:
                return theirs

    def close(self) -> None:
        """Items under way are finished (each wait of theirs is bounded by its timeout); the
        caller's keys are left ready."""
        while self.waiting:
            self._resume(self.selector.select(self._next_timeout()))
        _local.hub = None

    def _resume(self, events: list[tuple[Any, int]]) -> None:
        """Each greenlet whose socket is among `events`, then each whose wait timed out."""
        for key, _ in events:
            if isinstance(key.data, _Waiter):
                key.data.greenlet.switch(True)
        self._expire()

    def wait(self, fd: int, event: int, timeout: float | None) -> None:
        """From a greenlet: until `fd` is ready for `event`, or TimeoutError after `timeout`
        seconds (None: no limit)."""
        import greenlet

        me = greenlet.getcurrent()
        self.selector.register(fd, event, _Waiter(me))
        number = next(self.order)
        if timeout is not None:
            if len(self.timers) > 2 * len(self.waiting) + 64:  # mostly ended waits: drop them
                self.timers = [t for t in self.timers if self.waiting.get(t[2]) == t[1]]
                heapq.heapify(self.timers)
            heapq.heappush(self.timers, (time.monotonic() + timeout, number, me))
        self.waiting[me] = number
        try:
            ready = self.main.switch()
        finally:
            self.selector.unregister(fd)
            del self.waiting[me]
        if not ready:
            raise TimeoutError("timed out")

    def _next_timeout(self) -> float | None:
        while self.timers and self.waiting.get(self.timers[0][2]) != self.timers[0][1]:
            heapq.heappop(self.timers)  # its wait ended otherwise
        return max(self.timers[0][0] - time.monotonic(), 0.0) if self.timers else None

    def _expire(self) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, number, waiter = heapq.heappop(self.timers)
            if self.waiting.get(waiter) == number:
                waiter.switch(False)


class CoopSocket(socket.socket):
    """A TCP socket whose waits are its loop's (`Hub.wait`) when it is used from one of the
    loop's greenlets. Non-blocking underneath; its timeout is kept here and applies to each
    wait, as a socket's does, raising TimeoutError."""

    def __init__(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> None:
        super().__init__(family, kind)
        super().settimeout(0.0)
        self.hub = current()
        self.wait_limit: float | None = None

    def settimeout(self, value: float | None) -> None:
        self.wait_limit = value

    def gettimeout(self) -> float | None:
        return self.wait_limit

    def _wait(self, event: int) -> None:
        if self.wait_limit == 0.0:
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        if self.hub is None:  # not on a loop: wait here, as a blocking socket does
            with selectors.DefaultSelector() as selector:
                selector.register(self, event)
                if not selector.select(self.wait_limit):
                    raise TimeoutError("timed out")
            return
        self.hub.wait(self.fileno(), event, self.wait_limit)

    def connect(self, address: Any) -> None:
        failed = self.connect_ex(address)
        if failed in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            self._wait(selectors.EVENT_WRITE)
            failed = self.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if failed:
            raise OSError(failed, os.strerror(failed))

    def recv(self, size: int, flags: int = 0) -> bytes:
        while True:
            try:
                return super().recv(size, flags)
            except BlockingIOError:
                self._wait(selectors.EVENT_READ)

    def send(self, data: Any, flags: int = 0) -> int:
        while True:
            try:
                return super().send(data, flags)
            except BlockingIOError:
                self._wait(selectors.EVENT_WRITE)

    def sendall(self, data: Any, flags: int = 0) -> None:
        with memoryview(data) as view:
            sent = 0
            while sent < len(view):
                sent += self.send(view[sent:], flags)


class Finished:
    """That a thread's work is done, for a greenlet to wait for without holding up its loop:
    a pipe the loop watches. The thread writes to it and closes its end (`set`); the waiter
    closes the other end when its wait ends, in time or not (`wait`). Each end is closed by
    the one side that uses it, so a late `set` can never write into a reused descriptor."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()

    def set(self) -> None:
        with contextlib.suppress(OSError):  # the waiter gave up: its end is closed
            os.write(self.write_end, b".")
        os.close(self.write_end)

    def wait(self, hub: Hub, timeout: float) -> bool:
        """Whether it was set within `timeout` seconds."""
        try:
            hub.wait(self.read_end, selectors.EVENT_READ, timeout)
        except TimeoutError:
            return False
        finally:
            os.close(self.read_end)
        return True


class Pool:
    """A process's share of the probes: those `takes` accepts on the loop, the others handed
    to `others` (a pool of threads beside it, stream.spread's Threads). `done` is called as
    each item ends: from this thread for the loop's, from a thread for the others'."""

    def __init__(
        self,
        work: Callable[[Any], Any],
        done: Done,
        selector: selectors.BaseSelector,
        takes: Callable[[Any], bool],
        others: Any,
    ) -> None:
        self.work, self.done, self.selector = work, done, selector
        self.takes, self.others = takes, others
        self.hub: Hub | None = None

    def submit(self, index: int, item: Any) -> None:
        if not self.takes(item):
            self.others.submit(index, item)
            return
        if self.hub is None:
            self.hub = Hub(self.work, self.done, self.selector)
        self.hub.submit(index, item)

    def select(self) -> list[tuple[Any, int]]:
        """The caller's ready keys in the selector, the loop's probes run meanwhile."""
        return self.selector.select() if self.hub is None else self.hub.select()

    def close(self) -> None:
        self.others.close()
        if self.hub is not None:
            self.hub.close()

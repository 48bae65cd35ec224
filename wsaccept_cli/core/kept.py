"""What is kept of a stream that may be endless: its first and last bytes, and how much of the
middle was dropped.

A client command run by `serve --check-client` may write megabytes (a debug log, a loop); its
pipes are drained as it writes, so it never blocks on a full pipe and is still killed at the
timeout, while memory stays bounded: the start (which says how it began) and the end (which says
why it failed) are what a reader needs. Pure code.
"""

from __future__ import annotations

KEEP = 64 * 1024  # of the start, and of the end


class KeptBytes:
    """The first `keep` bytes of a stream and its last `keep` bytes; a count of the rest."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.keep:
                del self.tail[: len(self.tail) - self.keep]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def __bool__(self) -> bool:
        return self.total > 0

    def text(self) -> str:
        """What was kept, as text (invalid UTF-8 replaced), a line saying what was dropped
        between the start and the end."""
        head = self.head.decode("utf-8", "replace")
        if not self.dropped:
            return head + self.tail.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        return f"{head}\n[… {self.dropped} bytes dropped …]\n{tail}"

    def last_lines(self, count: int) -> list[str]:
        """The last `count` lines that are not blank, as written (not escaped)."""
        end = bytes(self.tail) if self.dropped else bytes(self.head + self.tail)
        text = end.decode("utf-8", "replace")
        lines = [line.removesuffix("\r") for line in text.split("\n") if line.strip()]
        return lines[-count:]


class ClientOutput:
    """What a client command of `serve --check-client` printed, kept bounded, and what it left
    running outside its process group: (PID, whether it was killed) pairs."""

    def __init__(self) -> None:
        self.stdout = KeptBytes()
        self.stderr = KeptBytes()
        self.left: list[tuple[int, bool]] = []

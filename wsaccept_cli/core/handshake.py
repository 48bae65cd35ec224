"""The handshake model: an HTTP request or response head, a request paired with its response,
and what a parse saw besides them. Pure data; the parsers that build it are in `capture`."""

from __future__ import annotations

MAX_HEADERS = 256
BODY_LINES = 5


class Message:
    """One HTTP request or response head, with what followed it of a body."""

    def __init__(self, kind: str | None, line: int | None, start: str | None = None) -> None:
        self.kind = kind  # "request", "response", or None until its headers tell
        self.line = line  # where it starts in the capture, for messages
        self.start = start  # the request or status line, if the capture has one
        self.method: str | None = None
        self.target: str | None = None
        self.version: str | None = None
        self.status: int | None = None
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.body: list[str] = []
        self.truncated = False

    def values(self, name: str) -> list[str]:
        """Every value of the header `name`, in order (names compare case-insensitively)."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated items of every `name` header, lowercased."""
        return [t.strip().lower() for v in self.values(name) for t in v.split(",") if t.strip()]

    def add_header(self, name: str, value: str) -> None:
        if len(self.headers) < MAX_HEADERS:
            self.headers.append((name, value))
        else:
            self.truncated = True

    def guess_kind(self) -> str:
        """Request or response, from the headers of a message pasted without its first line."""
        names = {name.lower() for name, _ in self.headers}
        if names & {"sec-websocket-accept", "server", ":status", "date"}:
            return "response"
        return "request"


class Handshake:
    """A request and the response to it, either of which a capture may lack."""

    def __init__(
        self,
        request: Message | None,
        response: Message | None,
        source: str,
        url: str | None = None,
    ) -> None:
        self.request = request
        self.response = response
        self.source = source
        self.url = url


class Capture:
    """What a parse saw besides the handshakes: lines read, lines that were not HTTP, and every
    request key (a wrong accept may be the accept of another one)."""

    def __init__(self) -> None:
        self.skipped_lines = 0
        self.lines = 0
        self.keys: list[tuple[str, int | None]] = []

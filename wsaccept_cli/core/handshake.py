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

    def items(self, name: str) -> list[str]:
        """The comma-separated items of every `name` header, as written, empty ones dropped."""
        return [item for item in split_list(self.values(name)) if item]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated items of every `name` header, lowercased."""
        return [item.lower() for item in self.items(name)]

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


def split_list(values: list[str]) -> list[str]:
    """The comma-separated items of header values (RFC 9110 §5.6.1), each stripped, empty ones
    kept (a rule may fault them); a comma inside a quoted string does not split.

    One pass over each value, so a hostile value costs time linear in its length.
    """
    items: list[str] = []
    for value in values:
        if '"' not in value:
            items += (item.strip() for item in value.split(","))
            continue
        start, quoted, escaped = 0, False, False
        for index, char in enumerate(value):
            if escaped:
                escaped = False
            elif quoted and char == "\\":
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                items.append(value[start:index].strip())
                start = index + 1
        items.append(value[start:].strip())
    return items

"""The handshake model: an HTTP request or response head, a request paired with its response,
and what a parse saw besides them. Pure data; the parsers that build it are in `capture`.

The model itself bounds what hostile input can make it hold, whichever parser fills it: at most
MAX_HEADERS header lines per message (folded continuation lines count), a folded value of at most
MAX_VALUE characters, BODY_LINES body lines, and MAX_KEYS request keys per capture.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from wsaccept_cli.core.keys import accept_for

if TYPE_CHECKING:
    from collections.abc import Collection

    from wsaccept_cli.core.connection import Connection

MAX_HEADERS = 256
# Folding (obsolete, RFC 9112 §5.2) joins continuation lines into one value; past this length
# they are dropped, so a value built from thousands of lines costs neither memory nor the time
# of copying an ever longer string once per line.
MAX_VALUE = 64 * 1024
BODY_LINES = 5
# The request keys a capture remembers for the "accept of another request's key" diagnosis: the
# most recent ones, each at most MAX_KEY_LENGTH characters (a real key has 24), so a capture of
# millions of requests, or of huge keys, holds a few MiB at most.
MAX_KEYS = 10_000
MAX_KEY_LENGTH = 256


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
        self.header_lines = 0  # header lines seen, folded continuation lines included
        self.truncated = False  # some header lines were not kept (see `add_header`, `fold`)
        self.bare_lf = False  # its lines ended in LF alone, seen on the wire (`core.exchange`)
        # How the head's lines ended in a text capture: counts of CR LF and of bare LF endings
        # (`core.capture`); `lf_capture` when every line of the capture's request and response
        # ended in LF, which says more of the tool that wrote it than of the wire.
        self.crlf_lines = 0
        self.lf_lines = 0
        self.lf_capture = False
        self.section: str | None = None  # the developer tools' label pasted above it, if any
        self.raw: bytes | None = None  # the head's bytes as received, when they were (`exchange`)
        # What came right behind the head with it (in the same read, or the same segment of a
        # capture), as received: to a client, the start of the WebSocket stream after a 101.
        self.after = b""
        self.raw_lines: list[str] = []  # a pasted head's lines as written (at most MAX_HEADERS)
        self.interim: list[Message] = []  # 1xx responses (not 101) that came before this one
        # `values`' index of the headers by lowercased name, with the list and length it was
        # made from (a message is checked by dozens of rules, each asking for a few names).
        self._by_name: tuple[list[tuple[str, str]], int, dict[str, list[str]]] | None = None

    def keep_line(self, text: str) -> None:
        """Remember a line of the head as written (the client models read it), up to
        MAX_HEADERS + 1 lines."""
        if len(self.raw_lines) <= MAX_HEADERS:
            self.raw_lines.append(text)

    def values(self, name: str) -> list[str]:
        """Every value of the header `name`, in order (names compare case-insensitively)."""
        kept = self._index().get(name.lower())
        return kept[:] if kept else []

    def names(self) -> Collection[str]:
        """The names of its headers as they are now, lowercased."""
        return self._index().keys()

    def _index(self) -> dict[str, list[str]]:
        """The headers' values by lowercased name, made again when the list changed."""
        index, headers = self._by_name, self.headers
        if index is None or index[0] is not headers or index[1] != len(headers):
            found: dict[str, list[str]] = {}
            for key, value in headers:
                found.setdefault(key.lower(), []).append(value)
            index = self._by_name = (headers, len(headers), found)
        return index[2]

    def items(self, name: str) -> list[str]:
        """The comma-separated items of every `name` header, as written, empty ones dropped."""
        return [item for item in split_list(self.values(name)) if item]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated items of every `name` header, lowercased."""
        return [item.lower() for item in self.items(name)]

    def add_header(self, name: str, value: str) -> None:
        """Keep a header line, unless the message already has MAX_HEADERS header lines."""
        self.header_lines += 1
        if self.header_lines <= MAX_HEADERS:
            self.headers.append((name, value))
        else:
            self.truncated = True

    def fold(self, text: str) -> None:
        """Append a continuation line to the last header's value (RFC 9112 §5.2: a fold is one
        space; a value empty before the fold takes the continuation alone: `Name:` CR LF SP
        `value` reads `value`, not ` value`). It counts as a header line, and the value stops
        growing at MAX_VALUE characters. The line must already be stripped; a message without
        headers takes no fold."""
        self.header_lines += 1
        if not self.headers:
            return
        name, value = self.headers[-1]
        if self.header_lines > MAX_HEADERS or len(value) + 1 + len(text) > MAX_VALUE:
            self.truncated = True
            return
        self.headers[-1] = (name, f"{value} {text}" if value else text)
        self._by_name = None  # a value changed in place

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
        self.predicted: Any = None  # the client predictions, made once (`rules.clients_of`)
        self.connection: Connection | None = None  # from a packet capture (`core.connection`)


class Capture:
    """What a parse saw besides the handshakes: lines read, lines that were not HTTP, and the
    request keys (a wrong accept may be the accept of another one).

    Keys are remembered by their accept, so finding the request a wrong accept belongs to is one
    dictionary look-up rather than a SHA-1 of every earlier key: a capture of many handshakes
    with wrong accepts costs time linear in its length, not quadratic."""

    def __init__(self, *, live: bool = False) -> None:
        self.live = live  # a live exchange (probe): findings speak of "the server"
        self.skipped_lines = 0
        self.lines = 0
        self.har_entries: int | None = None  # for a HAR document, how many entries it has
        self._accepts: OrderedDict[bytes, tuple[str, int | None]] = OrderedDict()

    def add_key(self, key: str, line: int | None) -> None:
        """Remember a request's key (its first line, if it comes again); the oldest of
        MAX_KEYS is forgotten, and a key longer than MAX_KEY_LENGTH is not remembered."""
        if len(key) > MAX_KEY_LENGTH:
            return
        accept = accept_for(key.encode("latin-1"))
        if accept in self._accepts:
            return
        self._accepts[accept] = (key, line)
        if len(self._accepts) > MAX_KEYS:
            self._accepts.popitem(last=False)

    def key_answered_by(self, accept: bytes) -> tuple[str, int | None] | None:
        """The first remembered request key whose accept is `accept`, with its line."""
        return self._accepts.get(accept)


def split_list(values: list[str], separator: str = ",") -> list[str]:
    """The comma-separated items of header values (RFC 9110 §5.6.1), each stripped, empty ones
    kept (a rule may fault them); a comma inside a quoted string does not split. With another
    `separator` (';'), the parameters of an extension (RFC 6455 §9.1) the same way.

    One pass over each value, so a hostile value costs time linear in its length.
    """
    if len(values) == 1 and '"' not in values[0]:  # the usual case, in one comprehension
        return [item.strip() for item in values[0].split(separator)]
    items: list[str] = []
    for value in values:
        if '"' not in value:
            items.extend([item.strip() for item in value.split(separator)])
            continue
        start, quoted, escaped = 0, False, False
        for index, char in enumerate(value):
            if escaped:
                escaped = False
            elif quoted and char == "\\":
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif char == separator and not quoted:
                items.append(value[start:index].strip())
                start = index + 1
        items.append(value[start:].strip())
    return items

"""Captured opening handshakes: parsed from raw HTTP, `curl -v` output or a HAR file.

Pure code over lines and decoded JSON: no I/O of its own (input comes through a read function).
Parsing is lenient on purpose, since captures are pasted from packet dumps, proxy logs and browser
developer tools: a message may lack its request or status line, lines may end in CR LF or LF, and
anything that is not HTTP is skipped and counted. Memory is bounded: a message keeps at most
MAX_HEADERS header lines and BODY_LINES body lines, and handshakes are handed on as soon as they
are complete.

Captures are untrusted input, so every parser here runs in time linear in its input
(bench/scaling.py measures it). Header lines are split with str methods. The request and status
line expressions are matched from the start of a line, and each run in them ends at a character
the run cannot contain (a space, a '/', the end), so a failed match gives back each character
once; none has a lazy group followed by an optional run of the same characters, the shape that is
quadratic. Python 3.10 has no possessive quantifiers or atomic groups, hence these shapes.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import Any

from wsaccept_cli.core.handshake import (
    BODY_LINES,
    MAX_KEY_LENGTH,
    Capture,
    Handshake,
    Message,
)
from wsaccept_cli.core.keys import accept_for
from wsaccept_cli.core.lines import READ_SIZE, OverlongLine, read_blocks

# A method in capitals, or a standard one in any case (`get`, which the method rule fails): not
# any run of letters, which would take a tcpdump line's packet bytes before `GET` for a method.
_ANY_CASE_METHOD = r"(?i:GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH)"
_REQUEST_LINE = re.compile(rf"([A-Z]+|{_ANY_CASE_METHOD}) +(\S+) +HTTP/(\d+(?:\.\d+)?)")
_STATUS_LINE = re.compile(r"HTTP/(\d+(?:\.\d+)?) +(\d{3})(?: +(.*))?")
# `tcpdump -A` prints a packet's IP and TCP header bytes on the line where its payload starts:
# a request or status line may follow such a run of non-blank bytes.
_PACKET_BYTES = r"\S*?"
_METHODS = r"(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH)"
_REQUEST_IN_PACKET = re.compile(_PACKET_BYTES + _METHODS + r" +(\S+) +HTTP/(\d+(?:\.\d+)?)")
_STATUS_IN_PACKET = re.compile(_PACKET_BYTES + _STATUS_LINE.pattern)


def request_line(text: str) -> re.Match[str] | None:
    """A request line (its method, target and version are groups 1 to 3), perhaps after the
    packet bytes `tcpdump -A` prints before it, or None."""
    return _REQUEST_LINE.fullmatch(text) or _REQUEST_IN_PACKET.fullmatch(text)


def status_line(text: str) -> re.Match[str] | None:
    """A status line (version, code and reason are groups 1 to 3), perhaps after packet bytes,
    or None."""
    return _STATUS_LINE.fullmatch(text) or _STATUS_IN_PACKET.fullmatch(text)


_FIELD_NAME = re.compile(r":?[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_line(text: str) -> tuple[str, str] | None:
    """`Name: value` split into its name and its value without surrounding spaces and tabs, or
    None when `text` is not a header line (a pseudo-header such as `:method: GET` is one).

    A regular expression such as `name[ \t]*:[ \t]*(.*?)[ \t]*` takes time quadratic in a run
    of spaces inside the value (the lazy group retries the trailing run from each of its spaces),
    so a 64 KiB line of them took seconds: str methods take one pass."""
    start = 1 if text[:1] == ":" else 0
    colon = text.find(":", start)
    if colon < 0 or "\n" in text:  # `.` never matched a newline; a probe's line may hold one
        return None
    name = text[:colon].rstrip(" \t")
    if not _FIELD_NAME.fullmatch(name):
        return None
    return name, text[colon + 1 :].strip(" \t")


_LABELS = {"request headers": "request", "response headers": "response"}


def _answers_pasted_key(message: Message, name: str) -> bool:
    """Whether a pasted `Sec-WebSocket-Accept:` line answers the `Sec-WebSocket-Key:` line
    pasted before it (header lines alone, no request or status line, no blank line between):
    the accept starts the response, so the two are checked as a key and its accept."""
    return (
        message.start is None
        and message.kind is None
        and name.lower() == "sec-websocket-accept"
        and bool(message.values("sec-websocket-key"))
    )


_REQUEST_ONLY = frozenset(["host", "sec-websocket-key", "sec-websocket-version", "origin"])
_RESPONSE_ONLY = frozenset(["sec-websocket-accept", "server", "date"])


def _request_after_pasted_response(message: Message, name: str) -> bool:
    """Whether a pasted header line starts the request below a pasted response (developer
    tools show the response's headers first; a paste may have no blank line between)."""
    if message.start is not None or message.kind == "request":
        return False
    if name.lower() not in _REQUEST_ONLY:
        return False
    return any(n.lower() in _RESPONSE_ONLY for n, _ in message.headers)


def _is_label(text: str) -> str | None:
    """The section a developer tools label starts ("request" or "response"), or None. Firefox
    adds the size: "Response Headers (213 B)"; it is cut with str methods (a regular expression
    searched from every one of a long run of spaces would take quadratic time)."""
    text = text.strip().rstrip(":")
    if text.endswith("B)"):
        text = text.rpartition("(")[0].rstrip()
    return _LABELS.get(text.lower())


class _MessageParser:
    """The line-by-line state machine: idle, in a head, or in a body."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.current: Message | None = None
        self.in_body = False
        self.label: str | None = None
        self.crlf = False  # the line being fed ended in CR LF

    def feed(self, line: int, text: str, kind: str | None) -> Iterator[Message]:
        """Take one line (a CR at its end is its CR LF ending); yield a message when this line
        completes it."""
        self.capture.lines += 1
        stripped = text.rstrip("\r")
        self.crlf, text = len(stripped) != len(text), stripped
        message = self.current
        if message is not None and not self.in_body:
            if self._head_line(message, text):
                return
            yield from self._finish()
        elif message is not None and self.in_body:
            if not self._ends_body(message, text):
                if len(message.body) < BODY_LINES and text.strip():
                    message.body.append(text)
                return
            yield from self._finish()
        self._idle_line(line, text, kind)

    def _head_line(self, message: Message, text: str) -> bool:
        """Take a line of a head; False when the line does not belong to it."""
        taken = self._head_line_taken(message, text)
        if taken:
            self._ending(message)
        return taken

    def _ending(self, message: Message) -> None:
        if self.crlf:
            message.crlf_lines += 1
        else:
            message.lf_lines += 1

    def _head_line_taken(self, message: Message, text: str) -> bool:
        if not text.strip():
            message.kind = message.kind or message.guess_kind()
            self.in_body = True
            return True
        if text[0] in " \t" and message.headers:  # obsolete line folding (RFC 9112 §5.2)
            message.fold(text.strip())
            message.keep_line(text)
            return True
        header = header_line(text)
        if header is None or _answers_pasted_key(message, header[0]):
            return False
        if _request_after_pasted_response(message, header[0]):
            return False
        message.add_header(*header)
        message.keep_line(text)
        return True

    def _ends_body(self, message: Message, text: str) -> bool:
        """Whether `text` starts something new: a message, a pasted section, or (after a
        request, which has no body in a handshake) a header line of the next message."""
        stripped = text.strip()
        return bool(
            request_line(stripped)
            or status_line(stripped)
            or _is_label(stripped)
            or ((message.kind == "request" or message.start is None) and header_line(stripped))
        )

    def _idle_line(self, line: int, text: str, kind: str | None) -> None:
        stripped = text.strip()
        request = request_line(stripped)
        status = status_line(stripped)
        header = header_line(stripped) if stripped else None
        if request:
            message = Message("request", line, stripped[request.start(1) :])
            message.method, message.target, message.version = request.groups()
        elif status:
            message = Message("response", line, stripped[status.start(1) - len("HTTP/") :])
            message.version, code, reason = status.groups()
            message.status, message.reason = int(code), reason or ""
            message.keep_line(message.start or stripped)
        elif header:
            message = Message(kind or self.label, line)
            message.add_header(*header)
        else:
            label = _is_label(stripped)
            self.label = label or self.label
            if stripped and not label:
                self.capture.skipped_lines += 1
            return
        message.section = self.label
        self._ending(message)
        self.current, self.in_body, self.label = message, False, None

    def _finish(self) -> Iterator[Message]:
        message, self.current, self.in_body = self.current, None, False
        if message is not None:
            message.kind = message.kind or message.guess_kind()
            yield message

    def close(self) -> Iterator[Message]:
        yield from self._finish()


_HANDSHAKE_HEADERS = frozenset(
    ["host", "upgrade", "connection", "origin", ":method", ":protocol", ":status"]
)


def _is_handshake_part(message: Message) -> bool:
    """A message with a request or status line, or header lines a handshake has: header-like
    lines found in a log or a binary file are not a handshake."""
    if message.start is not None:
        return True
    names = {name.lower() for name, _ in message.headers}
    return bool(names & _HANDSHAKE_HEADERS) or any(n.startswith("sec-websocket-") for n in names)


MAX_INTERIM = 16


def _is_interim(message: Message) -> bool:
    """An interim response (RFC 9110 §15.2): a 1xx other than 101 Switching Protocols."""
    status = message.status
    return (
        message.kind == "response" and status is not None and 100 <= status < 200 and status != 101
    )


def pair_messages(
    messages: Iterable[Message], source: str, capture: Capture, *, display_order: bool = True
) -> Iterator[Handshake]:
    """Requests paired with their responses. On the wire and in `curl -v` a response follows its
    request; browser developer tools show Response Headers *above* Request Headers, so a paste
    from them (`display_order`, decided at its first response, see `_pasted_in_display_order`)
    pairs each response with the request that follows it."""
    parts = _with_interim(m for m in messages if _kept_as_handshake_part(m, capture))
    ahead: deque[Message] = deque()
    response_first: bool | None = None if display_order else False
    while True:
        while len(ahead) < 3 and (part := next(parts, None)) is not None:
            ahead.append(part)
        if not ahead:
            return
        message = ahead.popleft()
        follower = ahead[0] if ahead else None
        if message.kind == "request":
            response_first = bool(response_first)
            _remember_key(message, capture)
            pairs = follower is not None and follower.kind != "request" and not response_first
            yield Handshake(message, ahead.popleft() if pairs else None, source)
            continue
        if follower is not None and follower.kind == "request" and response_first is not False:
            after = ahead[1] if len(ahead) > 1 else None
            if response_first is None:
                response_first = _pasted_in_display_order(message, follower, after)
            if response_first:
                _remember_key(ahead.popleft(), capture)
                yield Handshake(follower, message, source)
                continue
        response_first = bool(response_first)
        yield Handshake(None, message, source)


def _with_interim(parts: Iterator[Message]) -> Iterator[Message]:
    """The messages, each interim response after a request (a 100 Continue, a 103 Early Hints:
    at most MAX_INTERIM) kept in `interim` of the final response that follows it; when only
    interim responses follow a request, the last of them is its answer."""
    interim: list[Message] = []
    after_request = False
    for message in parts:
        if after_request and _is_interim(message) and len(interim) < MAX_INTERIM:
            interim.append(message)
            continue
        if interim and message.kind != "response":
            yield _final(interim)
        elif interim:
            message.interim = interim
        interim, after_request = [], message.kind == "request"
        yield message
    if interim:
        yield _final(interim)


def _final(interim: list[Message]) -> Message:
    final = interim.pop()
    final.interim = interim
    return final


def _kept_as_handshake_part(message: Message, capture: Capture) -> bool:
    if _is_handshake_part(message):
        return True
    capture.skipped_lines += 1 + len(message.headers)
    return False


def _remember_key(request: Message, capture: Capture) -> None:
    key = request.values("sec-websocket-key")
    if key:
        capture.add_key(key[0], request.line)


def _pasted_in_display_order(response: Message, request: Message, after: Message | None) -> bool:
    """Whether a response followed by a request is a paste from developer tools (the response
    answers the request below it) rather than a capture that starts after a request went by.
    The section labels tell; else the accept answering the key below it; else what follows
    the request: the end or another request (a paste), or a response (the wire)."""
    if response.section == "response" or request.section == "request":
        return True
    if _answers(response, request):
        return True
    if after is not None and after.kind == "response" and _answers(after, request):
        return False
    return after is None or after.kind == "request"


def _answers(response: Message, request: Message) -> bool:
    keys, accepts = request.values("sec-websocket-key"), response.values("sec-websocket-accept")
    if len(keys) != 1 or len(accepts) != 1 or len(keys[0]) > MAX_KEY_LENGTH:
        return False
    return accept_for(keys[0].encode("latin-1")).decode() == accepts[0]


def _curl_lines(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, str | None]]:
    """`curl -v` output as plain HTTP lines: '> ' request, '< ' response, '* ' dropped. With
    `-i` curl also writes the response head to stdout, unprefixed: that copy (a status line
    up to its blank line) is dropped, so the response counts once; other unprefixed lines (a
    body) are kept."""
    copy = False
    for line, text in lines:
        if text.startswith(("> ", "< ")) or text in (">", "<"):
            copy = False
            yield line, text[2:], "request" if text[0] == ">" else "response"
        elif text.startswith(("* ", "{ [", "} [")) or text in ("*", "{", "}"):
            continue
        elif copy or _STATUS_LINE.fullmatch(text.strip()):
            copy = bool(text.strip())  # the copy ends at its blank line
        else:
            yield line, text, None


def looks_like_curl(first_lines: list[str]) -> bool:
    """Whether the first lines of a capture are `curl -v` output."""
    return any(t.startswith(("> ", "< ", "* ")) for t in first_lines)


def parse_lines(
    lines: Iterable[tuple[int, str]], capture: Capture, *, curl: bool
) -> Iterator[Handshake]:
    """Handshakes from numbered text lines of raw HTTP or `curl -v` output."""
    parser = _MessageParser(capture)
    tagged = _curl_lines(lines) if curl else ((n, t, None) for n, t in lines)

    def messages() -> Iterator[Message]:
        for line, text, kind in tagged:
            yield from parser.feed(line, text, kind)
        yield from parser.close()

    source = "curl -v" if curl else "raw HTTP"
    yield from pair_messages(messages(), source, capture, display_order=not curl)


def parse_har(document: Any, capture: Capture) -> Iterator[Handshake]:
    """Handshakes from the WebSocket entries of a HAR 1.2 document."""
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    capture.har_entries = len(entries) if isinstance(entries, list) else 0
    for index, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        if not isinstance(entry, dict) or not _is_websocket_entry(entry):
            capture.skipped_lines += 1
            continue
        request = _har_message(entry.get("request"), "request")
        response = _har_message(entry.get("response"), "response")
        url = request.target if request else None
        if request is not None and isinstance(entry["request"].get("url"), str):
            url = entry["request"]["url"] or None  # the heading shows the URL as written
        key = request.values("sec-websocket-key") if request else []
        if key:
            capture.add_key(key[0], None)
        yield Handshake(request, response, f"HAR entry {index}", url)


def _is_websocket_entry(entry: dict[str, Any]) -> bool:
    if entry.get("_resourceType") == "websocket":
        return True
    request = entry.get("request")
    headers = request.get("headers", []) if isinstance(request, dict) else []
    return any(
        isinstance(h, dict)
        and _har_text(h.get("name", "")).lower() in ("upgrade", ":protocol")  # RFC 8441 too
        and "websocket" in _har_text(h.get("value", "")).lower()
        for h in (headers if isinstance(headers, list) else [])
    )


_HAR_VERSION = re.compile(r"(?i)(?:HTTP/|h)?([0-9]+(?:\.[0-9]+)?)")  # h2, h3: ALPN names


def _har_text(value: Any) -> str:
    """A HAR value as the model's text, one character per byte (Latin-1) like a raw capture: a
    string's UTF-8 bytes, so the rules hash and show what the browser sent (and every character
    survives the Latin-1 encoding they do); a number as written. A list or object, which no HAR
    field holds, counts as missing: turning a deeply nested one into text would recurse."""
    if isinstance(value, (list, dict)):
        return ""
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _har_message(part: Any, kind: str) -> Message | None:
    if not isinstance(part, dict):
        return None
    message = Message(kind, None)
    version_match = _HAR_VERSION.fullmatch(_har_text(part.get("httpVersion") or ""))
    message.version = version_match.group(1) if version_match else None
    if kind == "request":
        message.method = _har_text(part.get("method") or "") or None
        message.target = _har_text(part.get("url") or "") or None
    else:
        status = part.get("status")
        message.status = status if isinstance(status, int) and status > 0 else None
        message.reason = _har_text(part.get("statusText") or "")
        content = part.get("content")
        text = content.get("text") if isinstance(content, dict) else None
        if isinstance(text, str):  # split before the Latin-1 step, which would add line breaks
            lines = (line for line in text.splitlines() if line.strip())
            message.body = [_har_text(line) for line in islice(lines, BODY_LINES)]
    headers = part.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict):
            name, value = header.get("name", ""), header.get("value", "")
            message.add_header(_har_text(name), _har_text(value))
    return message


MAX_HAR_BYTES = 64 * 1024 * 1024
CURL_LOOKAHEAD = 50


class CaptureError(Exception):
    """Input that cannot be taken as a capture at all (an oversized or broken HAR file)."""


def read_capture(
    read: Callable[[int], bytes], capture: Capture, max_har: int = MAX_HAR_BYTES
) -> Iterator[Handshake]:
    """Handshakes from a capture read through `read` (a read1): HAR, `curl -v` or raw HTTP."""
    first = read(READ_SIZE)
    if first.lstrip()[:1] == b"{":
        yield from parse_har(_load_har(first, read, max_har), capture)
        return
    lines = _numbered_lines(_replay(first, read))
    head = list(islice(lines, CURL_LOOKAHEAD))
    curl = looks_like_curl([text for _, text in head])
    if curl:  # its line endings are curl's own, not the wire's
        numbered = ((n, text.rstrip("\r")) for n, text in chain(head, lines))
        yield from parse_lines(numbered, capture, curl=True)
        return
    for handshake in parse_lines(chain(head, lines), capture, curl=False):
        _line_endings(handshake)
        yield handshake


def _line_endings(handshake: Handshake) -> None:
    """What a raw capture's line endings say. A request in CR LF before a response in bare LF
    shows the endings are the wire's (a tool that rewrote them would have rewritten both): the
    response is read as the clients would read those bytes (`Message.bare_lf`). When every
    line of both is LF, they say nothing of the wire (an editor or a copy may have made them):
    the response is read with CR LF, and marked (when the capture shows the wire's exchange)
    so a note can say what LF would mean."""
    request, response = handshake.request, handshake.response
    if response is None or not response.lf_lines or response.crlf_lines:
        return
    if request is not None and request.crlf_lines and not request.lf_lines:
        response.bare_lf = True
    elif request is not None and not request.crlf_lines and _as_on_the_wire(request, response):
        response.lf_capture = True


def _as_on_the_wire(request: Message, response: Message) -> bool:
    """Whether a capture shows the exchange as it went on the wire: its request and status
    lines, in that order, no developer tools' label (a paste from a browser's headers view
    never had line endings of its own to tell)."""
    if request.section or response.section or request.start is None or response.start is None:
        return False
    return (request.line or 0) < (response.line or 0)


def _replay(first: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A read function that hands out `first` before reading on."""
    pending = [first]

    def replayed(size: int) -> bytes:
        return pending.pop() if pending else read(size)

    return replayed


def _numbered_lines(read: Callable[[int], bytes]) -> Iterator[tuple[int, str]]:
    """Lines as text (Latin-1, so every byte survives), numbered; overlong lines dropped."""
    for block in read_blocks(read):
        if isinstance(block, OverlongLine):
            continue
        for offset, raw in enumerate(block.data[:-1].split(b"\n")):
            yield block.first_line + offset, raw.decode("latin-1")  # a CR LF's CR kept


def _load_har(first: bytes, read: Callable[[int], bytes], max_har: int) -> Any:
    import json

    chunks, size = [first], len(first)
    while chunk := read(READ_SIZE):
        size += len(chunk)
        if size > max_har:
            raise CaptureError(
                f"the HAR file is over {max_har // (1024 * 1024)} MiB; export only the WebSocket"
                " entries"
            )
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as error:
        raise CaptureError(
            f"the input starts like a HAR file but is not valid JSON: {error}"
        ) from None
    except RecursionError:  # the C decoder recurses once per level of nesting
        raise CaptureError(
            "the input starts like a HAR file but is not one: its JSON is nested too deeply"
        ) from None

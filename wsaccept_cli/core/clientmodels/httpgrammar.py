"""The HTTP/1.1 response-head parsers of real clients, as one parser with switches.

Every client reads the raw head with its own parser before any WebSocket check, and they differ
at the same few decision points: where a line ends (CR LF only, or a bare LF too), whether empty
lines before the status line are skipped, the grammar of the status line (the case of `HTTP`,
the versions taken, one space or several, a reason phrase or none), the grammar of a field line
(whitespace before the colon, a line without a colon, an empty name, control bytes in a value,
obs-fold continuation lines), size limits (one line, the number of fields, the whole head), and
what an interim 1xx response before the final one does. A `Grammar` is one client's answer at
each point, written from its source (cited in the client's module); `parse_head` applies it to
the raw bytes and gives the final response's status and fields as that client sees them, or the
reason it fails the connection.

Pure code, linear in the head: each line is looked at a constant number of times, and a head
over MAX_HEAD bytes (far beyond every client's limit) is refused before any parse.

Most heads reach none of the decision points: CR LF line endings, `HTTP/1.1`, a status that is
not an interim one, a reason phrase, token names each followed by a colon, and printable ASCII
values. Such a head (`Canonical`) is split once, and each grammar then only checks what could
still differ (its status-line pattern, its versions and limits), instead of parsing it again:
probing many URLs predicts a dozen clients per response (bench/README.md, "Many endpoints").
A property test checks that this gives exactly what the full parse gives, for every grammar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from wsaccept_cli.core.wording import quoted

# No client modelled here reads a head this large (the largest limit is curl's 300 KiB).
MAX_HEAD = 1024 * 1024

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROLS = bytes(range(0x20)).replace(b"\t", b"") + b"\x7f"


@dataclass(frozen=True)
class Grammar:
    """One client's HTTP/1.1 response parser, as its answer at each decision point."""

    status_line: re.Pattern[bytes]
    """Full match of a status line: groups `version` (e.g. `1.1`) and `status` (digits)."""
    versions: frozenset[str] = frozenset({"1.0", "1.1"})
    """Versions the parser takes (others fail the connection)."""
    bare_lf: bool = False
    """LF alone ends a line (else a bare LF fails)."""
    leading_empty_lines: bool = False
    """Empty lines before the status line are skipped (else they fail); with `leading_bytes`,
    every CR and LF byte there is skipped, whatever the line endings."""
    leading_bytes: bool = False
    status_line_after_interim: re.Pattern[bytes] | None = None
    """The status line of a response after an interim one, when it differs."""
    line_controls: bytes = b""
    """Bytes that fail the connection anywhere in the head (status line and names included)."""
    space_before_colon: str = "refuse"
    """`Name : value`: "refuse" the head, "strip" the space from the name, "keep" it in the name
    (so the field is not found under its name), "drop" the line."""
    space_before_colon_names: frozenset[str] | None = None
    """The lowercased names `space_before_colon` applies to (any other name refuses), or None
    for every name."""
    no_colon: str = "refuse"
    """A field line without a colon: "refuse" or "drop"."""
    empty_name: str = "refuse"
    """A field line starting with a colon: "refuse", "drop" or "keep"."""
    invalid_name: str = "refuse"
    """A name with a byte that is not a token character: "refuse", "drop" or "keep"."""
    obs_fold: str = "refuse"
    """A line starting with a space or tab after a field: "refuse", "join" (appended to the
    previous value after one space, its own leading whitespace dropped), "join-raw" (appended
    with its leading whitespace), or "field" (taken as a field line of its own)."""
    unfold_first: bool = False
    """With "join": each continuation is joined to its line first (the line's trailing SP and
    HTAB dropped, one space, the continuation without its leading ones), and every check then
    looks at the whole unfolded line; otherwise the line is checked on its own and the
    continuation as more of its value."""
    first_line_fold: str = "refuse"
    """A first field line starting with whitespace: "refuse", "field" (whitespace skipped),
    "keep" (a field whose name starts with it), "drop"."""
    value_controls: bytes = _CONTROLS
    """Bytes that fail the connection when in a value (tab is always allowed)."""
    value_controls_drop: bool = False
    """A field whose value has such a byte is dropped rather than failing the connection."""
    lone_cr: str = "refuse"
    """A CR not followed by LF inside a line: "refuse", "keep" (part of the value), or
    "after-empty-value" (taken only right after an empty value: llhttp's lenient
    `header_value_discard_ws_almost_done`)."""
    cr_line_ends_head: bool = False
    """A line whose first byte is CR ends the head as an empty line does, whatever follows the
    CR."""
    max_line: int | None = None
    """Longest line the parser takes, its CR LF included (`line_counts_ending`)."""
    line_counts_ending: bool = True
    max_value: int | None = None
    """Longest value (a folded value whole, its fold whitespace included)."""
    max_name: int | None = None
    """Longest name."""
    max_reason: int | None = None
    max_fields: int | None = None
    """Most field lines of one response."""
    max_head: int | None = None
    """Largest head, counted as `head_counts` says."""
    head_counts: str = "bytes"
    """"bytes": every byte of the head; "fields": the bytes of names, values and reason."""
    interim: frozenset[int] = frozenset()
    """Interim statuses skipped before the final response (each parsed by the same grammar);
    any other 1xx than 101 is taken as the final response."""
    trim_value: bytes = b" \t"
    """Bytes stripped from both ends of a value."""
    interim_check: Callable[[Head], str | None] | None = None
    """What an interim response does to the rest (returns why the client then fails)."""
    space_before_colon_chars: bytes = b" \t"
    """The whitespace `space_before_colon` applies to; any other before the colon refuses."""
    field_sizes: Callable[[list[tuple[bytes, bytes]]], str | None] | None = None
    """A client's own size rule over the field lines (raw name, value after the colon), for
    a limit no `max_*` describes; returns why it fails."""
    notes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Free remarks a client module keeps beside its switches (for readers, not the parser)."""
    framing: Callable[[Head], str | None] | None = None
    """A check of the head's framing fields (Content-Length, Transfer-Encoding) the parser makes
    before handing the response on, returning why it fails, or None."""


class Head:
    """A final response as one client's parser saw it: status, version, fields in order. Read
    only once parsed: a canonical head's Head is shared by every grammar it fits."""

    __slots__ = (
        "_by_name", "bare_lf", "end", "fields", "interim", "raw_values", "reason", "status",
        "version",
    )  # fmt: skip

    def __init__(self) -> None:
        self.version: str | None = None
        self.status: int | None = None
        self.reason = ""
        self.fields: list[tuple[str, str]] = []
        self.raw_values: list[str] = []  # each field's value as on the wire (untrimmed)
        self.bare_lf = False
        self.interim: list[Head] = []  # the interim responses skipped before this one
        self.end: int | None = None
        """Where this head (and any body the client reads with it) ends in the bytes parsed:
        what follows is what the client reads as WebSocket frames (`frames.FrameReader`)."""
        self._by_name: tuple[list[tuple[str, str]], int, dict[str, list[str]]] | None = None

    def values(self, name: str) -> list[str]:
        """The values of the fields named `name` (any case), in order: from an index made at
        the first call (the checks ask for a few names, many times)."""
        index, fields = self._by_name, self.fields
        if index is None or index[0] is not fields or index[1] != len(fields):
            found: dict[str, list[str]] = {}
            for key, value in fields:
                found.setdefault(key.lower(), []).append(value)
            index = self._by_name = (fields, len(fields), found)
        return list(index[2].get(name.lower(), ()))

    def items(self, name: str) -> list[str]:
        from wsaccept_cli.core.handshake import split_list

        return [item for item in split_list(self.values(name)) if item]

    def tokens(self, name: str) -> list[str]:
        return [item.lower() for item in self.items(name)]


class RefusalError(Exception):
    """The client's parser fails the connection; the message says why, in a phrase."""


def split_lines(data: bytes, grammar: Grammar) -> tuple[list[bytes], int, bool]:
    """The lines of one head (up to its empty line), where the head ended, and whether a bare
    LF ended one of them."""
    lines: list[bytes] = []
    start, bare = 0, False
    lenient = _LenientStarts() if grammar.lone_cr == "after-empty-value" else None
    if grammar.leading_bytes:
        start = len(data) - len(data.lstrip(b"\r\n"))
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            raise RefusalError("the head never ends (no empty line)")
        crlf = end > start and data[end - 1 : end] == b"\r"
        if not crlf:
            if not grammar.bare_lf:
                raise RefusalError("bare LF line endings")
            bare = True
        line = data[start : end - 1 if crlf else end]
        if grammar.cr_line_ends_head and line[:1] == b"\r":
            line = b""
        length = end + 1 - start if grammar.line_counts_ending else len(line)
        if grammar.max_line is not None and length > grammar.max_line:
            raise RefusalError(f"a line of {length} bytes (over {grammar.max_line})")
        start = end + 1
        if not line:
            if lines or not grammar.leading_empty_lines:
                return lines, start, bare
            continue
        if lenient is not None and lines:
            if lenient.add(line, lines):
                return lines, start, bare
            continue
        lines.append(line)


_CANONICAL = re.compile(
    rb"(HTTP/1\.1 [0-9]{3} [\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)\r\n"
    rb"((?:[!#$%&'*+.^_`|~0-9A-Za-z-]+: ?[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\r\n)*)\r\n"
)
_PRINTABLE = bytes(range(0x20, 0x7F))


class Canonical:
    """A head that reaches none of the grammars' decision points, split once: its status line,
    its fields, and the sizes the grammars' limits are about."""

    __slots__ = (
        "field_bytes", "fields", "head", "longest_line", "longest_name", "longest_value", "size",
        "status_line",
    )  # fmt: skip

    def __init__(self, status_line: bytes, field_lines: bytes, size: int) -> None:
        self.status_line = status_line
        lines = field_lines.split(b"\r\n")[:-1]
        self.fields = [
            (name, value.lstrip(b" "))
            for name, _, value in (line.partition(b":") for line in lines)
        ]
        self.size = size
        self.longest_line = max(map(len, [status_line, *lines])) + 2  # with its CR LF
        self.longest_name = max((len(n) for n, _ in self.fields), default=0)
        self.longest_value = max((len(v) for _, v in self.fields), default=0)
        self.field_bytes = sum(len(n) + len(v) for n, v in self.fields)
        self.head: Head | None = None

    def head_for(self, grammar: Grammar) -> Head | None:
        """The Head `grammar` makes of it, or None where that grammar has to parse it itself
        (its status-line pattern or limits or value bytes decide something)."""
        match = grammar.status_line.fullmatch(self.status_line)
        if match is None or not _plain_grammar(grammar):
            return None
        version, status = match.group("version"), match.group("status")
        reason = match.groupdict().get("reason") or b""
        if (version, status, reason) != (b"1.1", self.status_line[9:12], self.status_line[13:]):
            return None
        code = int(status)
        if "1.1" not in grammar.versions or code in grammar.interim:
            return None
        if not _within_limits(self, grammar, len(reason)):
            return None
        if self.head is None:  # one Head for every grammar it fits: the checks only read it
            self.head = Head()
            self.head.version, self.head.status = "1.1", code
            self.head.reason = reason.decode("latin-1")
            self.head.fields = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.fields]
            self.head.raw_values = [value for _, value in self.head.fields]
            self.head.end = self.size
        return self.head


def _plain_grammar(grammar: Grammar) -> bool:
    """Whether the grammar leaves printable values as they are: no printable byte refused in a
    value, and only a space or tab trimmed (the values of a Canonical start and end with
    neither; the one space after the colon is trimmed)."""
    return (
        not grammar.value_controls.translate(None, bytes(range(0x20)) + b"\x7f")
        and b" " in grammar.trim_value
        and not grammar.trim_value.translate(None, b" \t")
    )


def _within_limits(head: Canonical, grammar: Grammar, reason: int) -> bool:
    lines = head.longest_line if grammar.line_counts_ending else head.longest_line - 2
    size = head.size if grammar.head_counts == "bytes" else reason + head.field_bytes
    return all(
        limit is None or value <= limit
        for value, limit in (
            (lines, grammar.max_line),
            (reason, grammar.max_reason),
            (len(head.fields), grammar.max_fields),
            (head.longest_value, grammar.max_value),
            (head.longest_name, grammar.max_name),
            (size, grammar.max_head),
        )
    )


_last_canonical: tuple[bytes, Canonical | None] = (b"", None)


def canonical(data: bytes) -> Canonical | None:
    """`data` split once if it is a canonical head and nothing follows it; the last answer is
    kept, since every client's prediction asks about the same head in turn."""
    global _last_canonical
    last, found = _last_canonical
    if data == last and data:
        return found
    match = _CANONICAL.fullmatch(data) if len(data) <= MAX_HEAD else None
    found = Canonical(match.group(1), match.group(2), len(data)) if match else None
    _last_canonical = (data, found)
    return found


def parse_head(data: bytes, grammar: Grammar) -> Head:
    """The final response in `data` (interim responses skipped, as the grammar says)."""
    split = canonical(data)
    if split is not None and (head := split.head_for(grammar)) is not None:
        if grammar.field_sizes is not None and (why := grammar.field_sizes(split.fields)):
            raise RefusalError(why)
        if grammar.framing is not None and (why := grammar.framing(head)):
            raise RefusalError(why)
        return head
    return parse_head_fully(data, grammar)


def parse_head_fully(data: bytes, grammar: Grammar) -> Head:
    """parse_head without the shortcut for canonical heads: every decision point looked at."""
    if len(data) > MAX_HEAD:
        raise RefusalError("a head over 1 MiB")
    interim: list[Head] = []
    offset = 0  # where `data` starts in what was given
    while True:
        lines, end, bare = split_lines(data, grammar)
        if not lines:
            raise RefusalError("an empty line where the status line should be")
        head = _parse_one(lines, grammar, after_interim=bool(interim))
        if grammar.max_head is not None:
            size = end if grammar.head_counts == "bytes" else _field_bytes(head, lines[0])
            if size > grammar.max_head:
                raise RefusalError(f"a head of {size} bytes (over {grammar.max_head})")
        head.bare_lf = bare
        if grammar.framing is not None and (problem := grammar.framing(head)) is not None:
            raise RefusalError(problem)
        if head.status is not None and head.status in grammar.interim:
            if grammar.interim_check is not None and (why := grammar.interim_check(head)):
                raise RefusalError(why)
            interim.append(head)
            data, offset = data[end:], offset + end
            continue
        head.interim = interim
        head.end = offset + end
        return head


def _field_bytes(head: Head, status_line: bytes) -> int:
    return len(head.reason) + sum(len(name) + len(value) for name, value in head.fields)


def _parse_one(lines: list[bytes], grammar: Grammar, *, after_interim: bool) -> Head:
    if grammar.lone_cr == "refuse" and b"\r" in lines[0]:
        raise RefusalError("a CR not followed by LF")
    if grammar.line_controls:
        for line in lines:
            if len(line.translate(None, grammar.line_controls)) != len(line):
                raise RefusalError("a control character in the head")
    pattern = grammar.status_line
    if after_interim and grammar.status_line_after_interim is not None:
        pattern = grammar.status_line_after_interim
    match = pattern.fullmatch(lines[0])
    if match is None:
        raise RefusalError(f"a malformed status line {_show(lines[0])}")
    head = Head()
    head.version = match.group("version").decode("latin-1")
    if head.version not in grammar.versions:
        taken = " or ".join(f"HTTP/{version}" for version in sorted(grammar.versions))
        raise RefusalError(f"HTTP/{head.version}, not {taken}")
    head.status = int(match.group("status"))
    reason = match.groupdict().get("reason") or b""
    if grammar.max_reason is not None and len(reason) > grammar.max_reason:
        raise RefusalError(f"a reason phrase of {len(reason)} bytes (over {grammar.max_reason})")
    head.reason = reason.decode("latin-1")
    fields: list[tuple[bytes, bytes]] = []
    field_lines = lines[1:]
    if grammar.obs_fold == "join" and grammar.unfold_first:
        field_lines = _unfolded(field_lines, grammar.max_line)
    for index, line in enumerate(field_lines):
        if line[:1] in (b" ", b"\t"):
            if index == 0:
                if grammar.first_line_fold == "refuse":
                    raise RefusalError("the first field line starts with whitespace")
                if grammar.first_line_fold == "drop":
                    continue
                if grammar.first_line_fold == "field":
                    line = line.lstrip(b" \t")
            elif grammar.obs_fold == "refuse":
                raise RefusalError("an obs-fold continuation line")
            elif grammar.obs_fold in ("join", "join-raw") and fields:
                name, value = fields[-1]
                _check_continuation(line, grammar)
                more = line.strip(b" \t") if grammar.obs_fold == "join" else line
                joined = value + b" " + more if grammar.obs_fold == "join" else value + more
                fields[-1] = (name, joined if value.strip(b" \t") else more)
                unfolded = len(name) + 1 + len(fields[-1][1]) + 2
                if grammar.max_line is not None and unfolded > grammar.max_line:
                    raise RefusalError(
                        f"an unfolded line of {unfolded} bytes (over {grammar.max_line})"
                    )
                continue
            elif grammar.obs_fold == "field":
                line = line.lstrip(b" \t")
        field_ = _field(line, grammar)
        if field_ is not None:
            fields.append(field_)
            if grammar.max_fields is not None and len(fields) > grammar.max_fields:
                raise RefusalError(f"more than {grammar.max_fields} fields")
    if grammar.field_sizes is not None and (why := grammar.field_sizes(fields)):
        raise RefusalError(why)
    for name, value in fields:
        trimmed = value.strip(grammar.trim_value)
        if grammar.max_value is not None and len(trimmed) > grammar.max_value:
            raise RefusalError(f"a field value of {len(trimmed)} bytes (over {grammar.max_value})")
        if grammar.max_name is not None and len(name) > grammar.max_name:
            raise RefusalError(f"a field name of {len(name)} bytes (over {grammar.max_name})")
        head.fields.append(
            (name.decode("latin-1"), value.strip(grammar.trim_value).decode("latin-1"))
        )
        head.raw_values.append(value.decode("latin-1"))
    return head


def _unfolded(lines: list[bytes], max_line: int | None) -> list[bytes]:
    """Field lines with every obs-fold continuation joined to the line before it (a first
    field line starting with whitespace stays a line of its own)."""
    joined: list[list[bytes]] = []  # each line's parts, joined once at the end
    size = 0  # the last line's, unfolded
    for index, line in enumerate(lines):
        if index and line[:1] in (b" ", b"\t"):
            parts = joined[-1]
            while len(parts) > 1 and not parts[-1].strip(b" \t"):  # blanks before the fold
                size -= len(parts.pop())
            kept = parts[-1].rstrip(b" \t")
            more = line.lstrip(b" \t")
            size += len(kept) - len(parts[-1]) + 1 + len(more)
            parts[-1:] = [kept, b" ", more]
            if max_line is not None and size + 2 > max_line:
                raise RefusalError(f"an unfolded line of {size + 2} bytes (over {max_line})")
        else:
            joined.append([line])
            size = len(line)
    return [b"".join(parts) for parts in joined]


class _LenientStarts:
    """Field lines as a lenient llhttp reads the start of each value (`header_value_discard_ws`,
    `header_value_discard_ws_almost_done`, `header_value_discard_lws`): SP, HTAB and the line
    breaks of obs-fold lines before the first byte of the value are skipped, and so is a CR
    followed by SP or HTAB; a CR followed by anything else ends the value, empty, and what
    follows it starts the next field line. When that is the line's own CR LF (`X: \\r\\r\\n`),
    it is the empty line that ends the head."""

    def __init__(self) -> None:
        self.waiting = False  # the last field's value has not begun: a continuation starts it

    def add(self, line: bytes, lines: list[bytes]) -> bool:
        """Add one line (after the status line) to `lines`; True when the head ends with it."""
        while True:
            if self.waiting and line[:1] in (b" ", b"\t"):
                name, rest = lines.pop(), line
            else:
                colon = line.find(b":")
                if colon < 0 or (line[:1] in (b" ", b"\t") and len(lines) > 1):
                    lines.append(line)  # no value to start: a continuation, or no colon
                    self.waiting = False
                    return False
                name, rest = line[: colon + 1], line[colon + 1 :]
            rest = rest[_skipped(rest) :]
            self.waiting = not rest
            if rest[:1] != b"\r":
                lines.append(name + rest)
                return False
            lines.append(name)  # the value ends, empty, at the CR
            if len(rest) == 1:
                return True  # the line's own CR LF follows: the empty line
            line = rest[1:]


_VALUE_START = re.compile(rb"(?:[ \t]|\r(?=[ \t]))*")  # whitespace, and a CR before some


def _skipped(value: bytes) -> int:
    """How many bytes of whitespace llhttp's `header_value_discard_ws` skips."""
    match = _VALUE_START.match(value)
    return match.end() if match else 0


def _check_continuation(line: bytes, grammar: Grammar) -> None:
    """An obs-fold continuation is more of the value: a CR in it (every CR LF was taken off as
    the line's end) and the grammar's value controls fail as they do in the value itself."""
    if b"\r" in line and grammar.lone_cr != "keep":
        raise RefusalError("a CR not followed by LF")
    if len(line.translate(None, grammar.value_controls)) != len(line):
        raise RefusalError("a control character in a field value")


def _field(line: bytes, grammar: Grammar) -> tuple[bytes, bytes] | None:
    if grammar.lone_cr == "refuse" and b"\r" in line:  # in the name as much as in the value
        raise RefusalError("a CR not followed by LF")
    colon = line.find(b":")
    if colon < 0:
        if grammar.no_colon == "refuse":
            raise RefusalError(f"a field line without a colon {_show(line)}")
        return None
    if colon == 0 and grammar.empty_name != "keep":
        if grammar.empty_name == "refuse":
            raise RefusalError("a field line with an empty name")
        return None
    name, value = line[:colon], line[colon + 1 :]
    if name[-1:] in (b" ", b"\t"):
        gap = name[len(name.rstrip(b" \t")) :]
        if gap.strip(grammar.space_before_colon_chars):
            raise RefusalError("whitespace between a field name and its colon")
        only = grammar.space_before_colon_names
        if only is not None and name.rstrip(b" \t").lower().decode("latin-1") not in only:
            raise RefusalError("whitespace between a field name and its colon")
        if grammar.space_before_colon == "refuse":
            raise RefusalError("whitespace between a field name and its colon")
        if grammar.space_before_colon == "drop":
            return None
        if grammar.space_before_colon == "strip":
            name = name.rstrip(b" \t")
    core = name.rstrip(b" \t") if grammar.space_before_colon == "keep" else name
    if not TOKEN.fullmatch(core):
        if grammar.invalid_name == "refuse":
            raise RefusalError(f"a field name that is not a token {_show(name)}")
        if grammar.invalid_name == "drop":
            return None
    if b"\r" in value and grammar.lone_cr != "keep":
        empty = grammar.lone_cr == "after-empty-value" and value.strip(b" \t") == b"\r"
        if not empty:
            raise RefusalError("a CR not followed by LF")
        value = b""
    if len(value.translate(None, grammar.value_controls)) != len(value):
        if grammar.value_controls_drop:
            return None
        raise RefusalError("a control character in a field value")
    return name, value


def _show(line: bytes) -> str:
    text = line[:40].decode("latin-1")
    return quoted(text + ("…" if len(line) > 40 else ""))

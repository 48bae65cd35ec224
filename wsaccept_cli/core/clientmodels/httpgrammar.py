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
"""

from __future__ import annotations

import re
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
    """Empty lines before the status line are skipped (else they fail)."""
    space_before_colon: str = "refuse"
    """`Name : value`: "refuse" the head, "strip" the space from the name, "keep" it in the name
    (so the field is not found under its name), "drop" the line."""
    space_before_colon_names: frozenset[str] | None = None
    """The lowercased names `space_before_colon` applies to (any other name refuses), or None
    for every name."""
    no_colon: str = "refuse"
    """A field line without a colon: "refuse" or "drop"."""
    empty_name: str = "refuse"
    """A field line starting with a colon: "refuse" or "drop"."""
    invalid_name: str = "refuse"
    """A name with a byte that is not a token character: "refuse", "drop" or "keep"."""
    obs_fold: str = "refuse"
    """A line starting with a space or tab after a field: "refuse", "join" (appended to the
    previous value after one space, its own leading whitespace dropped), "join-raw" (appended
    with its leading whitespace), or "field" (taken as a field line of its own)."""
    first_line_fold: str = "refuse"
    """A first field line starting with whitespace: "refuse", "field" (whitespace skipped),
    "drop"."""
    value_controls: bytes = _CONTROLS
    """Bytes that fail the connection when in a value (tab is always allowed)."""
    value_controls_drop: bool = False
    """A field whose value has such a byte is dropped rather than failing the connection."""
    lone_cr: str = "refuse"
    """A CR not followed by LF inside a line: "refuse" or "keep" (part of the value)."""
    max_line: int | None = None
    """Longest line the parser takes, its CR LF included (`line_counts_ending`)."""
    line_counts_ending: bool = True
    max_field: int | None = None
    """Longest name plus value (aiohttp's max_field_size)."""
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
    notes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


class Head:
    """A final response as one client's parser saw it: status, version, fields in order."""

    __slots__ = ("bare_lf", "fields", "interim", "reason", "status", "version")

    def __init__(self) -> None:
        self.version: str | None = None
        self.status: int | None = None
        self.reason = ""
        self.fields: list[tuple[str, str]] = []
        self.bare_lf = False
        self.interim: list[int] = []

    def values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.fields if key.lower() == name]

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
        length = end + 1 - start if grammar.line_counts_ending else len(line)
        if grammar.max_line is not None and length > grammar.max_line:
            raise RefusalError(f"a line of {length} bytes (over {grammar.max_line})")
        start = end + 1
        if not line:
            if lines or not grammar.leading_empty_lines:
                return lines, start, bare
            continue
        lines.append(line)


def parse_head(data: bytes, grammar: Grammar) -> Head:
    """The final response in `data` (interim responses skipped, as the grammar says)."""
    if len(data) > MAX_HEAD:
        raise RefusalError("a head over 1 MiB")
    interim: list[int] = []
    while True:
        lines, end, bare = split_lines(data, grammar)
        if not lines:
            raise RefusalError("an empty line where the status line should be")
        head = _parse_one(lines, grammar)
        if grammar.max_head is not None:
            size = end if grammar.head_counts == "bytes" else _field_bytes(head, lines[0])
            if size > grammar.max_head:
                raise RefusalError(f"a head of {size} bytes (over {grammar.max_head})")
        head.bare_lf = bare
        if head.status is not None and head.status in grammar.interim:
            interim.append(head.status)
            data = data[end:]
            continue
        head.interim = interim
        return head


def _field_bytes(head: Head, status_line: bytes) -> int:
    return len(head.reason) + sum(len(name) + len(value) for name, value in head.fields)


def _parse_one(lines: list[bytes], grammar: Grammar) -> Head:
    match = grammar.status_line.fullmatch(lines[0])
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
    for index, line in enumerate(lines[1:]):
        if line[:1] in (b" ", b"\t"):
            if index == 0:
                if grammar.first_line_fold == "refuse":
                    raise RefusalError("the first field line starts with whitespace")
                if grammar.first_line_fold == "drop":
                    continue
                line = line.lstrip(b" \t")
            elif grammar.obs_fold == "refuse":
                raise RefusalError("an obs-fold continuation line")
            elif grammar.obs_fold in ("join", "join-raw") and fields:
                name, value = fields[-1]
                more = line.strip(b" \t") if grammar.obs_fold == "join" else line
                joined = value + b" " + more if grammar.obs_fold == "join" else value + more
                fields[-1] = (name, joined.strip(b" \t") if value else more.strip(b" \t"))
                continue
            elif grammar.obs_fold == "field":
                line = line.lstrip(b" \t")
        field_ = _field(line, grammar)
        if field_ is not None:
            fields.append(field_)
            if grammar.max_fields is not None and len(fields) > grammar.max_fields:
                raise RefusalError(f"more than {grammar.max_fields} fields")
    for name, value in fields:
        if grammar.max_field is not None and len(name) + len(value) > grammar.max_field:
            raise RefusalError(
                f"a field of {len(name) + len(value)} bytes (over {grammar.max_field})"
            )
        head.fields.append((name.decode("latin-1"), value.decode("latin-1")))
    return head


def _field(line: bytes, grammar: Grammar) -> tuple[bytes, bytes] | None:
    colon = line.find(b":")
    if colon < 0:
        if grammar.no_colon == "refuse":
            raise RefusalError(f"a field line without a colon {_show(line)}")
        return None
    if colon == 0:
        if grammar.empty_name == "refuse":
            raise RefusalError("a field line with an empty name")
        return None
    name, value = line[:colon], line[colon + 1 :]
    if name[-1:] in (b" ", b"\t"):
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
    if b"\r" in value and grammar.lone_cr == "refuse":
        raise RefusalError("a CR not followed by LF")
    if len(value.translate(None, grammar.value_controls)) != len(value):
        if grammar.value_controls_drop:
            return None
        raise RefusalError("a control character in a field value")
    return name, value.strip(grammar.trim_value)


def _show(line: bytes) -> str:
    text = line[:40].decode("latin-1")
    return quoted(text + ("…" if len(line) > 40 else ""))

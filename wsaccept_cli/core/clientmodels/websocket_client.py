"""Python websocket-client 1.9 (`websocket.create_connection`), read at 1.9.2.

HTTP/1.1 parser, `websocket/_http.py` (read_headers) over `websocket/_socket.py` (recv_line):
- a line is whatever comes up to an LF (recv_line reads byte by byte): a bare LF ends a line;
- each line must decode as UTF-8 (else "Invalid header line, not valid UTF-8") and is then
  stripped with Python's `str.strip()` (CR, SP, HTAB and every other Unicode whitespace, at
  both ends); the first line that strips to nothing ends the head, so an empty line before the
  status line, or a line of blanks, ends it there;
- the status line is split at single spaces (`line.split(" ", 2)`) and its second part read
  with Python's `int()` (leading zeros, `+`, `_` taken); the version is never looked at and the
  reason phrase may hold anything;
- a field line is split at its first colon ("Invalid header" without one); the name is only
  lowercased (a space before the colon stays in it, so the field is not found under its name,
  and an obs-fold line, stripped, is a field line of its own); the value is `str.strip()`ped;
  controls, NUL and obs-text pass; a repeated field replaces the earlier one (a dict), except
  Set-Cookie; there is no size limit on a line, a field count or the head.
Interim responses are not skipped: `_handshake.py` (_get_resp_headers) takes the first status,
and any but 101 fails (3xx are redirects the client follows, failing here too).

Then `_handshake.py` (_validate): the Upgrade and the Connection values, split at commas,
stripped and lowercased, must hold `websocket` and `upgrade`; with subprotocols offered, the
chosen one, lowercased, must be one of them lowercased (none chosen fails); the accept,
lowercased, must equal the expected one lowercased. Extensions are never looked at (the client
offers none and has no permessage-deflate).
"""

from __future__ import annotations

import re

from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head, RefusalError
from wsaccept_cli.core.clientmodels.mirror import MirrorProfile, head_of, show
from wsaccept_cli.core.clientmodels.profile import Facts

NAME = "websocket-client"

# For readers of the limits: none (recv_line and read_headers have no bound).
GRAMMAR = Grammar(
    status_line=re.compile(rb"(?P<version>[^ ]*) (?P<status>[^ ]+)(?: (?P<reason>.*))?"),
    versions=frozenset({"any"}),
    bare_lf=True,
    space_before_colon="keep",
    empty_name="drop",
    invalid_name="keep",
    obs_fold="field",
    first_line_fold="field",
    value_controls=b"",
    lone_cr="keep",
    notes={"parser": "mirrored in parse(): str.strip() on UTF-8 lines"},
)


def parse(data: bytes) -> Head:
    """`read_headers`: the status and the fields (lowercased names, last one wins)."""
    status: int | None = None
    fields: dict[str, str] = {}
    start = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            raise RefusalError("the head never ends (no empty line)")
        raw, start = data[start : end + 1], end + 1
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as error:
            raise RefusalError(f"a line that is not UTF-8 (byte {error.start})") from None
        if not line:
            break
        if status is None:
            parts = line.split(" ", 2)
            try:
                status = int(parts[1])
            except (IndexError, ValueError):
                raise RefusalError(f"a malformed status line {show(line)}") from None
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise RefusalError(f"a field line without a colon {show(line)}")
        name = name.lower()
        if name == "set-cookie" and fields.get(name):
            fields[name] = fields[name] + "; " + value.strip()
        else:
            fields[name] = value.strip()
    return head_of(status, None, list(fields.items()))


def status_101(facts: Facts) -> str | None:
    status = facts.response.status
    return None if status == 101 else f"status {status}, not 101"


def upgrade_and_connection(facts: Facts) -> str | None:
    """`_validate`'s _HEADERS_TO_CHECK: each value split at commas, stripped, lowercased."""
    for name, token in (("upgrade", "websocket"), ("connection", "upgrade")):
        value = facts.first(name)
        if not value:
            return f"no {name.capitalize()}"
        if token not in [item.strip().lower() for item in value.split(",")]:
            return f"{name.capitalize()} is {value!r}, not {token}"
    return None


def subprotocol(facts: Facts) -> str | None:
    if not facts.offered:
        return None
    chosen = facts.first("sec-websocket-protocol")
    if not chosen:
        return "no subprotocol chosen"
    if chosen.lower() not in [name.lower() for name in facts.offered]:
        return "a subprotocol that was not offered"
    return None


def accept(facts: Facts) -> str | None:
    value = facts.first("sec-websocket-accept")
    if not value:
        return "no Sec-WebSocket-Accept"
    if facts.expected is not None and value.lower() != facts.expected.lower():
        return "wrong Sec-WebSocket-Accept"
    return None


PROFILE = MirrorProfile(
    NAME,
    "websocket/_handshake.py",
    GRAMMAR,
    parse,
    (status_101, upgrade_and_connection, subprotocol, accept),
    offers_extensions=False,
)

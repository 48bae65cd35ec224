"""Clients whose HTTP/1.1 response parser does not fit `httpgrammar.Grammar`'s switches.

Some clients read the head in ways no switch describes: websocket-client strips every line with
Python's `str.strip()` and ends the head at the first line that strips to nothing; Tornado ends
it at the first `\\r?\\n\\r?\\n` and strips one run of CR LF before the status line; the JDK's
parser drops what came before a lone CR on a field line; libwebsockets matches field names
(their colon included) against a table and skips the others byte by byte. Their modules mirror
that code in a `parse(head) -> Head` function, line for line where it matters, and give it to a
`MirrorProfile`, which runs it in place of `httpgrammar.parse_head`. Each still has a `GRAMMAR`
with its limits, for the readers (and generators) that look there.
"""

from __future__ import annotations

from collections.abc import Callable

from wsaccept_cli.core.clientmodels.frames import FrameReader
from wsaccept_cli.core.clientmodels.httpgrammar import Grammar, Head
from wsaccept_cli.core.clientmodels.profile import Check, Profile

Parse = Callable[[bytes], Head]


class MirrorProfile(Profile):
    """A profile whose HTTP/1.1 parser is a function mirroring the client's own code."""

    def __init__(
        self,
        name: str,
        source: str,
        grammar: Grammar,
        parse: Parse,
        checks: tuple[Check, ...],
        *,
        offers_extensions: bool = True,
        reader: FrameReader | None = None,
    ) -> None:
        super().__init__(
            name,
            source,
            grammar,
            checks,
            offers_extensions=offers_extensions,
            parse=parse,
            reader=reader,
        )


def head_of(status: int | None, version: str | None, fields: list[tuple[str, str]]) -> Head:
    """A `Head` from what a mirror parser found."""
    head = Head()
    head.status, head.version, head.fields = status, version, fields
    head.raw_values = [value for _, value in fields]
    return head


def show(line: bytes | str) -> str:
    """A line for a refusal's phrase: at most 40 characters, in quotes."""
    text = line if isinstance(line, str) else line.decode("latin-1")
    return repr(text[:40] + ("…" if len(text) > 40 else ""))

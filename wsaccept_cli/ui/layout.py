"""Hanging indents for the rich (terminal) output: a line's last column, wrapped at spaces to the
terminal's width, its continuation lines indented under that column, so that a finding, a URL's
first failure or a scoreboard detail never splits a word nor restarts at column 0. Plain output
to a pipe does not come here: it stays one record a line."""

from __future__ import annotations

import textwrap

MIN_ROOM = 24  # narrower than this, the last column starts on the next line instead
FALLBACK_INDENT = 6


def hanging(prefix: str, text: str, width: int, indent: int = FALLBACK_INDENT) -> list[str]:
    """`prefix` + `text` in lines of at most `width` characters, `text` wrapped at spaces under
    its column. Where that column is narrower than MIN_ROOM or than one of the words (a URL, a
    quoted key), `text` goes on the lines below, `indent` spaces in; only a word longer than
    even that is cut."""
    if len(prefix) + len(text) <= width:  # the usual case, and the fast one
        return [prefix + text]
    room = width - len(prefix)
    longest = max((len(word) for word in text.split()), default=0)
    if room >= max(MIN_ROOM, longest):
        pieces = _wrap(text, room)
        return [prefix + pieces[0], *(" " * len(prefix) + piece for piece in pieces[1:])]
    pad = " " * indent
    return [prefix.rstrip(), *(pad + piece for piece in _wrap(text, max(width - indent, 1)))]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]

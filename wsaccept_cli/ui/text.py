"""The one boundary between untrusted text and a terminal.

Everything wsaccept prints may carry bytes from outside: a capture, a server's answer, a HAR
field, a key on stdin, an argument echoed back. A terminal obeys some of them: ESC starts
sequences that set the window title, write the clipboard (OSC 52) or clear the screen; C1 controls
(U+0080–U+009F) do the same on some terminals; bidi controls reorder what the reader sees. So every
piece of text a renderer or a diagnostic writes passes through `display`, which shows each
character that is not printable (C0 and C1 controls, DEL, bidi controls, line and paragraph
separators, other format characters) as a visible escape, the way `repr` spells it: ESC as
`\\x1b`, U+202E as `\\u202e`. Our own newlines and tabs are added around the pieces, never inside.
"""

from __future__ import annotations

from typing import TextIO


def display(text: str) -> str:
    """`text` safe to show on a terminal: every non-printable character as a visible escape."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


# A hostile capture or server may put 64 KiB into one header: plain and rich output show the
# start of such a line and how much more there was (JSON carries it all).
SHOWN_WIDTH = 400


def shown(text: str, width: int = SHOWN_WIDTH) -> str:
    """`text` through `display`, cut after `width` characters with a count of the rest."""
    text = display(text)
    if len(text) <= width:
        return text
    rest = len(text) - width
    return f"{text[:width]}[… {rest} more character{'' if rest == 1 else 's'}]"


def display_bytes(value: bytes) -> str:
    """Bytes as display text: UTF-8 where it decodes, `\\xNN` for bytes that do not."""
    return display(value.decode("utf-8", "backslashreplace"))


def json_safe(encoded: str) -> str:
    """JSON text with the characters json.dumps leaves raw (C1 controls, bidi controls, line
    separators: valid JSON, but a terminal acts on them) written as `\\uXXXX` escapes."""
    if encoded.isprintable():
        return encoded
    import json  # only reached for such characters; json.dumps makes surrogate pairs too

    return "".join(char if char.isprintable() else json.dumps(char)[1:-1] for char in encoded)


class DisplayStream:
    """A text stream that passes each line written to it through `display`, keeping its
    newlines: for text we do not compose ourselves, such as click's usage errors, which echo
    arguments."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write("\n".join(display(line) for line in text.split("\n")))

    def flush(self) -> None:
        self.stream.flush()

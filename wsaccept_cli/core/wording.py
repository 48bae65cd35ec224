"""Small rules of English that messages share."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 line`, `2 lines`, `0 entries`: a count with its noun, singular only for one."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def and_list(items: list[str]) -> str:
    """`A`, `A and B`, `A, B and C`: names in a sentence."""
    if len(items) < 3:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def quoted(text: str) -> str:
    """`text` in quotes, as a message shows a value: like `repr`, a character that is not
    printable as its escape (ESC as `\\x1b`), but a backslash stays one backslash, so a value
    reads as it was sent (`a\\b`), not doubled (`a\\\\b`). Double quotes when `text` holds a
    single quote and no double one, as `repr` does."""
    if not text.isprintable():
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    quote = '"' if "'" in text and '"' not in text else "'"
    return f"{quote}{text}{quote}"

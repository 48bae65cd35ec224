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

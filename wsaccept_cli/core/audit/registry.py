"""The audit's catalogue, built once: each category's cases numbered in the order they are
added, so an ID (`key.3`) means the same case in every release. A new case goes at the end of
its category; a case is never renumbered or reused for another request.
"""

from __future__ import annotations

from wsaccept_cli.core.audit.model import Builder, Case, Judge


class Catalogue:
    """The cases, in order, numbered per category."""

    def __init__(self) -> None:
        self.cases: list[Case] = []
        self._counts: dict[str, int] = {}

    def add(
        self,
        category: str,
        section: str,
        title: str,
        expected: str,
        build: Builder,
        judge: Judge,
        *,
        slow: bool = False,
    ) -> None:
        number = self._counts.get(category, 0) + 1
        self._counts[category] = number
        self.cases.append(Case(number, category, section, title, expected, build, judge, slow=slow))

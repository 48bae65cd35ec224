"""Fixtures: the in-process runner and the installed script; the golden-file option."""

from __future__ import annotations

import pytest

from tests.helpers import Run, invoke, script_path


@pytest.fixture
def run() -> Run:
    return invoke


@pytest.fixture(scope="session")
def wsaccept() -> str:
    return script_path()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the expected output of the golden cases (review the diff before committing)",
    )

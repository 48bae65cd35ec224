"""A nonsense terminal width never blanks or garbles output (issue 22, item 12): COLUMNS=0 made
rich print nothing at all, COLUMNS=5 one letter a line. A width under 40 (or over 4096, or not
a number) is taken as unknown: the output is the one of an 80-column terminal. The installed
script, rich output in a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import RFC_KEY, run_script

CAPTURE = sorted(Path(__file__).parent.glob("cases/inspect/*.http"))[0]
COMMANDS = [
    ["--format", "rich", "inspect", str(CAPTURE)],
    ["--format", "rich", "compute", RFC_KEY],
    ["--format", "rich", "serve", "--check-client", "--fault", "no-accept", "--", sys.executable,
     "-c", "import sys; sys.exit('cannot connect')"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=["inspect", "compute", "check-client"])
def test_a_nonsense_width_is_taken_as_unknown(command: list[str]) -> None:
    def shown(columns: str) -> list[str]:
        done = run_script(command, COLUMNS=columns)
        lines = done.stdout.decode().splitlines()
        return [line for line in lines if not line.startswith("ws://127.0.0.1:")]

    expected = shown("80")
    assert any(len(line) > 60 for line in expected)
    for columns in ("0", "5"):
        assert shown(columns) == expected, columns

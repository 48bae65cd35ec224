"""The frame faults against real clients: Python websockets, aiohttp and Node ws through
`wsaccept serve --check-client`, headless Chromium and Firefox ESR launched once each. What
they do is kept in tests/cases/frame_scoreboard.json (`python -m tests.frame_scoreboard
--write`); this test fails when a client no longer does what the file says, and the README's
table is made from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import frame_scoreboard
from wsaccept_cli.core.frame_faults import FRAME_FAULTS


def test_the_expected_scoreboard_covers_every_client_and_fault() -> None:
    boards = frame_scoreboard.expected()
    assert set(boards) == set(frame_scoreboard.CLIENTS)
    for board in boards.values():
        assert set(board) == {fault.name for fault in FRAME_FAULTS}


def test_readme_table_is_made_from_the_scoreboard() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert frame_scoreboard.readme_table(readme) == frame_scoreboard.table(), (
        "the README's frame-fault table is stale: python -m tests.frame_scoreboard --table"
    )


@pytest.mark.slow
def test_real_clients_still_do_what_the_scoreboard_says() -> None:
    """Every client at once, every frame fault but the one that waits out each client's own
    closing timeout (close-unanswered: up to a minute; it is in the file, run by --write)."""
    clients = [client for client in frame_scoreboard.CLIENTS if frame_scoreboard.available(client)]
    missing = set(frame_scoreboard.CLIENTS) - set(clients)
    assert not missing - {"Node ws"}, f"not installed: {missing}"  # .ci/run installs them
    observed = frame_scoreboard.observe_all(clients, slow=False)
    expected = frame_scoreboard.expected()
    stale = [
        f"{client} {fault}: expected {expected[client][fault]}, did {did}"
        for client in clients
        for fault, did in observed[client].items()
        if did != expected[client][fault]
    ]
    assert not stale, "stale (python -m tests.frame_scoreboard --write):\n" + "\n".join(stale)
    assert set(observed["websockets"]) == set(frame_scoreboard.fault_names(slow=False))

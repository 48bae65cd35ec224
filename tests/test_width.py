"""Rich output at a narrow terminal (issue 24, item 7): the many-URL table, the check-client
scoreboard and a handshake's findings wrap at spaces, their continuation lines indented under
their own column (a hanging indent), never split mid-word nor restarting at column 0. At 80 and
60 columns, set by COLUMNS and by a real pseudo-terminal's size; plain output stays one record
a line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import clean_env, run_script, script_path
from tests.peers import free_port
from tests.test_probe_proxies import NO_PROXY_ENV
from wsaccept_cli.ui.layout import MIN_ROOM, hanging

WIDTHS = ("80", "60")
# A URL that fits under its column at 80, and on the line below the row (6 in) at 60: so a
# split inside a word is a fault of the layout, never a must.
PATH = "/api/v2/live/updates"
CAPTURE = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=x\r\n\r\n"
)
CLIENT_ERROR = "cannot connect: the server refused the opening handshake with a wrong accept value"


def without_proxies(**extra: str) -> dict[str, str]:
    """The environment with no proxy variables (the probes go to 127.0.0.1), plus `extra`."""
    return {k: v for k, v in clean_env(**extra).items() if k not in NO_PROXY_ENV}


def probe(*args: str, columns: str) -> list[str]:
    done = subprocess.run(
        [script_path(), "probe", "--timeout", "3", *args],
        capture_output=True,
        env=without_proxies(COLUMNS=columns),
        timeout=60,
        check=False,
    )
    return done.stdout.decode().splitlines()


def words_whole(lines: list[str], said: str) -> bool:
    """Whether `said` reads in `lines` with every word whole (lines joined at a space)."""
    return " ".join(said.split()) in " ".join(" ".join(lines).split())


def indents(lines: list[str]) -> set[int]:
    return {len(line) - len(line.lstrip(" ")) for line in lines if line.startswith(" ")}


def laid_out(lines: list[str], width: int) -> None:
    assert all(len(line) <= width for line in lines), "\n".join(lines)


def test_the_many_url_table_hangs_under_its_columns() -> None:
    dead = [f"ws://127.0.0.1:{free_port()}{PATH}", f"ws://127.0.0.1:{free_port()}/"]
    for columns in WIDTHS:
        lines = probe("--format", "rich", *dead, columns=columns)
        laid_out(lines, int(columns))
        rows = lines[1:-1]
        assert [row.split()[0] for row in rows if not row.startswith(" ")] == ["connect_failed"] * 2
        assert indents(rows) <= {35, 6}, rows  # under the url column, or the lines below
        for url in dead:
            port = url.split(":")[2].split("/")[0]
            assert words_whole(rows, f"{url} (cannot connect to 127.0.0.1:{port}:"), rows
        assert lines[-1] == "2 URLs: 2 connect_failed"


def test_the_many_url_table_at_a_narrow_terminal(tmp_path: Path) -> None:
    # A real pseudo-terminal 60 columns wide, no COLUMNS: rich output by default, sized to it.
    url = f"ws://127.0.0.1:{free_port()}{PATH}"
    bin_dir = os.path.dirname(script_path())
    env = without_proxies(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TERM="xterm")
    env.pop("COLUMNS", None)
    child = pexpect.spawn(
        "bash",
        ["-c", f"wsaccept probe --timeout 3 {url} {url} 2>/dev/null"],
        env=env,
        cwd=tmp_path,
        encoding="utf-8",
        dimensions=(24, 60),
        timeout=30,
    )
    child.expect(pexpect.EOF)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", child.before).replace("\r\n", "\n").splitlines()
    laid_out(lines, 60)
    assert lines[0].split() == ["outcome", "status", "ms", "url", "(first", "failure)"]
    assert indents(lines) == {6}  # the url is too long for its column at 60: below the row
    assert words_whole(lines, f"{url} (cannot connect to")
    assert lines[-1] == "2 URLs: 2 connect_failed"


def test_plain_many_url_output_stays_one_record_a_line() -> None:
    dead = f"ws://127.0.0.1:{free_port()}{PATH}"
    lines = probe(dead, dead, columns="60")
    assert [line.split("\t")[:2] for line in lines] == [["connect_failed", dead]] * 2


def test_the_scoreboard_hangs_under_its_columns() -> None:
    client = [sys.executable, "-c", f"import sys; sys.exit({CLIENT_ERROR!r})"]
    for columns in WIDTHS:
        done = run_script(
            ["--format", "rich", "serve", "--check-client", "--fault", "no-accept", "--", *client],
            COLUMNS=columns,
        )
        lines = done.stdout.decode().splitlines()[1:]  # after the URL
        laid_out(lines, int(columns))
        rows = [line.split()[:2] for line in lines if not line.startswith(" ")]
        assert rows[:2] == [["fail", "none"], ["fail", "no-accept"]], lines
        under = lines[1 : lines.index(next(line for line in lines[1:] if line.startswith("fail")))]
        assert words_whole(under, "the client made no connection (it exited with status 1)")
        assert words_whole(under, f"stderr: {CLIENT_ERROR}")
        # The detail below the row (6 in), the client's lines under themselves (after stderr:).
        assert indents(under) == {6, 14}, under
        assert [line[6:14] for line in under if line.startswith(" " * 6 + "s")] == ["stderr: "]


def test_findings_hang_under_the_message_column(tmp_path: Path) -> None:
    (tmp_path / "capture.http").write_bytes(CAPTURE)
    expected = (
        "Sec-WebSocket-Accept is 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=x', expected"
        " 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=': no known implementation bug reproduces it"
    )
    for columns in WIDTHS:
        done = run_script(
            ["--format", "rich", "inspect", str(tmp_path / "capture.http")], COLUMNS=columns
        )
        lines = done.stdout.decode().splitlines()
        laid_out(lines, int(columns))
        assert lines[0].startswith("handshake 1  ")
        assert lines[1].startswith(" " * len("handshake 1  ")), lines  # the heading hangs too
        start = next(i for i, line in enumerate(lines) if line.startswith("  fail  "))
        end = next(i for i, line in enumerate(lines) if line.startswith("  clients:"))
        finding = lines[start:end]
        assert words_whole(finding, expected), finding
        column = len(finding[0]) - len(finding[0].split("§4.2.2", 1)[1].lstrip())
        assert indents(finding[1:]) == ({column} if columns == "80" else {8}), finding
        clients = lines[end:]
        assert indents(clients[1:]) == {len("  clients: ")}, clients


@given(
    prefix=st.text(alphabet="ab -", max_size=50),
    words=st.lists(st.text(alphabet="xyz.:/", min_size=1, max_size=30), max_size=30),
    width=st.integers(min_value=40, max_value=120),
)
def test_hanging_keeps_words_whole_and_under_their_column(
    prefix: str, words: list[str], width: int
) -> None:
    text = " ".join(words)
    lines = hanging(prefix, text, width)
    if len(prefix) + len(text) <= width:
        assert lines == [prefix + text]
        return
    assert all(len(line) <= width for line in lines)
    room = width - len(prefix)
    under = room >= MIN_ROOM and all(len(word) <= room for word in words)
    if under:  # the text starts after the prefix, goes on under it
        indent, pieces = len(prefix), [lines[0][len(prefix) :], *lines[1:]]
    else:  # the prefix alone, then the text below, 6 in
        indent, pieces = 6, lines[1:]
        assert lines[0] == prefix.rstrip()
    assert lines[0].startswith(prefix.rstrip())
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())  # every word whole
    assert all(line[:indent] == " " * indent and line[indent] != " " for line in lines[1:])

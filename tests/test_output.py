"""Formats and colour: plain and JSON for pipes and machines, rich for people."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from tests.helpers import RFC_ACCEPT, RFC_KEY, Run
from wsaccept_cli.core.lines import Block
from wsaccept_cli.core.results import KeyResult, PairResult
from wsaccept_cli.stream.bulk import compute_block, verify_block
from wsaccept_cli.ui.environment import Environment
from wsaccept_cli.ui.render import JsonRenderer
from wsaccept_cli.ui.writer import line_end


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("flag", "env", "tty", "expected"),
    [
        (None, {}, True, True),
        (None, {}, False, False),
        (None, {"NO_COLOR": "1"}, True, False),
        (None, {"NO_COLOR": ""}, True, True),
        (True, {"NO_COLOR": "1"}, False, True),
        (False, {"FORCE_COLOR": "1"}, True, False),
        (None, {"FORCE_COLOR": "1"}, False, True),
        (None, {"FORCE_COLOR": "0"}, False, False),
        (None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, False),
        (None, {"TERM": "dumb"}, True, False),
    ],
)
def test_colour_is_decided_from_the_flag_the_environment_and_the_terminal(
    flag: bool | None, env: dict[str, str], tty: bool, expected: bool
) -> None:
    stream = FakeTty() if tty else io.StringIO()
    assert Environment(None, None, stream, env).color(flag, stream) is expected


def test_plain_is_the_default_in_a_pipe(run: Run) -> None:
    assert run("compute", RFC_KEY).stdout == RFC_ACCEPT + "\n"


def test_rich_table_without_colour_in_a_pipe(run: Run) -> None:
    result = run("compute", "--format", "rich", RFC_KEY, "AAAA")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0].split() == ["key", "accept", "check"]
    assert set(lines[1]) == {"─"}
    assert lines[2].split() == [RFC_KEY, RFC_ACCEPT, "✓", "valid"]
    assert lines[3].split() == ["AAAA", "XB9IIzDTB5SFgH/jYXFZTWYC8MY=", "⚠", "wrong_length"]
    assert lines[4].startswith("  key decodes to 3 bytes")  # its problem, once: not on stderr
    assert result.stderr == "wsaccept: warning: 1 of 2 keys had problems\n"
    assert "\x1b[" not in result.stdout


def test_rich_colour_on_request_and_stream_numbers_lines(run: Run) -> None:
    result = run("compute", "--format", "rich", "--color", input=f"{RFC_KEY}\nAAAA\n")
    assert "\x1b[" in result.stdout
    result = run("compute", "--format", "rich", "--no-color", input=f"{RFC_KEY}\nAAAA\n")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["line", "key", "accept", "check"]
    assert lines[2].split()[:3] == ["1", RFC_KEY, RFC_ACCEPT]
    assert lines[3].split()[:2] == ["2", "AAAA"]


def test_rich_verify_and_genkey(run: Run) -> None:
    result = run("verify", "--format", "rich", RFC_KEY, "nope")
    assert result.exit_code == 1
    assert "✗ mismatch" in result.stdout
    assert f"expected {RFC_ACCEPT}" in result.stdout
    result = run("genkey", "--format", "rich", "-n", "2")
    assert [len(line) for line in result.stdout.splitlines()] == [24, 24]  # ready to copy


def test_rich_strict_refusal_shows_no_accept(run: Run) -> None:
    result = run("compute", "--format", "rich", "--strict", "AAAA")
    assert "✗ refused (--strict)" in result.stdout
    assert "key decodes to 3 bytes" in result.stdout
    assert "XB9IIzDTB5SFgH" not in result.stdout


def test_stderr_colour_follows_the_flag(run: Run) -> None:
    assert "\x1b[33mwarning:\x1b[0m" in run("compute", "--color", "AAAA").stderr
    assert "\x1b[" not in run("compute", "AAAA").stderr
    assert "\x1b[" not in run("compute", "--color", "AAAA", env={"NO_COLOR": "1"}).stdout


def _fast_and_slow_records(data: bytes) -> tuple[list[str], list[str]]:
    """JSON of the fast path's runs and of the same keys through the per-line path."""
    fast, slow = JsonRenderer(), JsonRenderer()
    for item in compute_block(Block(1, data), strict=False):
        if isinstance(item, KeyResult):
            fast.key_result(item)
        else:
            fast.key_run(item)
            for i, key in enumerate(item.keys):
                slow.key_result(
                    KeyResult(item.first_line + i, key, item.accept_lines[i][:-1], (), ())
                )
    return [p.decode() for p in fast.pieces], [p.decode() for p in slow.pieces]


def test_json_fast_path_records_equal_json_dumps_records() -> None:
    fast, slow = _fast_and_slow_records(f"{RFC_KEY}\n{RFC_KEY}\n".encode())
    assert fast == slow
    assert json.loads(fast[0])["line"] == 1


def test_json_fast_path_pair_records_equal_json_dumps_records() -> None:
    data = f"{RFC_KEY} {RFC_ACCEPT}\n".encode()
    fast, slow = JsonRenderer(), JsonRenderer()
    (run,) = verify_block(Block(7, data))
    assert not isinstance(run, PairResult)
    fast.pair_run(run)
    key, accept = RFC_KEY.encode(), RFC_ACCEPT.encode()
    slow.pair_result(PairResult(7, key, accept, accept, True, (), ()))
    assert fast.pieces == slow.pieces


def test_rich_verify_stream_with_problems_and_notes(run: Run) -> None:
    stdin = f"{RFC_KEY} {RFC_ACCEPT}\nAAAA XB9IIzDTB5SFgH/jYXFZTWYC8MY=\nAAAA nope\n"
    result = run("verify", "--format", "rich", "--no-color", input=stdin)
    text = " ".join(result.stdout.split())
    assert text.startswith("line key accept received check")
    assert f"1 {RFC_KEY} {RFC_ACCEPT} ✓ match" in text
    assert "2 AAAA XB9IIzDTB5SFgH/jYXFZTWYC8MY= ⚠ wrong_length key decodes to 3 bytes" in text
    assert "3 AAAA nope ✗ mismatch, ⚠ wrong_length expected XB9IIzDTB5SFgH/jYXFZTWYC8MY=" in text
    result = run("verify", "--format", "rich", f"Sec-WebSocket-Key: {RFC_KEY} ", f" {RFC_ACCEPT}")
    assert "note: surrounding whitespace was trimmed" in " ".join(result.stdout.split())


def test_rich_genkey_with_accept(run: Run) -> None:
    result = run("genkey", "--format", "rich", "--with-accept")
    (row,) = result.stdout.splitlines()
    assert [len(cell) for cell in row.split("\t")] == [24, 28]


def test_quiet_renderer_prints_nothing_for_a_stream(run: Run) -> None:
    result = run("verify", "-q", input=f"{RFC_KEY} {RFC_ACCEPT}\n{RFC_KEY} x\nAAAA nope\n")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


def test_closed_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    stream.close()
    assert Environment(None, None, stream, {}).color(None, stream) is False


@pytest.mark.parametrize(
    ("written", "end"),
    [(0, 0), (3, 3), (1, 3), (4, 6), (7, 8)],
    ids=["nothing yet", "after a newline", "mid-line", "mid-line 2", "in a last line"],
)
def test_a_held_signal_lets_only_the_line_being_written_end(written: int, end: int) -> None:
    assert line_end(b"ab\ncd\nef", written) == end


def test_a_huge_head_shows_its_first_lines_and_a_count_of_the_rest() -> None:
    from wsaccept_cli.ui.views import transcript

    head = b"HTTP/1.1 101 Switching Protocols\r\n" + b"X-Filler: y\r\n" * 5000 + b"\r\n"
    lines = transcript(head)
    assert lines[:2] == ["HTTP/1.1 101 Switching Protocols", "X-Filler: y"]
    assert len(lines) == 41
    assert lines[-1] == "[4961 more lines, 64493 bytes, not shown]"  # 13 bytes a line
    (long_line,) = transcript(b"X-Long: " + b"z" * 60_000 + b"\r\n\r\n")
    assert long_line == "X-Long: " + "z" * 392 + "[… 59608 more characters]"


def test_a_huge_captured_value_is_cut_in_plain_output_and_whole_in_json(
    run: Run, tmp_path: Path
) -> None:
    capture = tmp_path / "capture.http"
    capture.write_text(
        f"GET / HTTP/1.1\r\nHost: {'h' * 30_000}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    plain = run("inspect", "-v", str(capture))
    assert max(map(len, plain.stdout.splitlines())) < 500
    assert "[… 29" in plain.stdout
    assert "more characters]" in plain.stdout
    record = json.loads(run("inspect", "--format", "json", str(capture)).stdout)
    host = next(f for f in record["findings"] if f["rule"] == "request.host")
    assert "h" * 30_000 in host["message"]


def test_rich_inspect_of_many_handshakes_takes_time_linear_in_them(
    run: Run, tmp_path: Path
) -> None:
    # rich is the default at a terminal: a capture of thousands of handshakes must not take
    # minutes there (a rich Table per handshake did, at about 7 ms each).
    capture = tmp_path / "many.http"
    capture.write_text("GET / HTTP/1.1\r\n" * 3000)
    started = time.monotonic()
    result = run("inspect", "--format", "rich", str(capture))
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert result.stdout.count("handshake ") == 3000


def test_rich_arguments_then_stdin_share_one_table_without_line_numbers(run: Run) -> None:
    result = run("compute", "--format", "rich", RFC_KEY, "-", input=f"{RFC_KEY}\n")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["key", "accept", "check"]
    assert [line.split()[:2] for line in lines[2:]] == [[RFC_KEY, RFC_ACCEPT]] * 2


def test_rich_overlong_key_keeps_the_columns(run: Run) -> None:
    key = "x" * 40
    result = run("compute", "--format", "rich", "--no-color", input=f"{key}\n")
    heading, _, row, rest, *under = result.stdout.splitlines()
    assert row == f"      1  {key}"
    accept = rest.split()[0]
    assert rest.index(accept) == heading.index("accept")  # the accept stays in its column
    assert under[0].startswith(" " * 9 + "key decodes to 30 bytes")


def test_rich_messages_under_a_row_wrap_at_the_terminal_width(run: Run) -> None:
    result = run("compute", "--format", "rich", "AAAA", env={"COLUMNS": "50"})
    under = result.stdout.splitlines()[3:]
    assert len(under) > 1
    assert all(len(line) <= 50 for line in under)
    assert " ".join(line.strip() for line in under).startswith("key decodes to 3 bytes; RFC 6455")

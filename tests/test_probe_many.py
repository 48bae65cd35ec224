"""`probe` with several URLs: arguments and --file (stdin, comments), probed --parallel at once,
one JSON object per URL in input order, one tab-separated line each in plain, the exit status
of the worst outcome; a thousand loopback endpoints in seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Run, run_measured, run_script
from tests.peers import EchoServer, free_port
from tests.test_probe_proxies import NO_PROXY_ENV


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def test_json_lines_in_input_order_and_the_worst_exit(run: Run, echo: EchoServer) -> None:
    good, dead = f"ws://127.0.0.1:{echo.port}/", f"ws://127.0.0.1:{free_port()}/"
    result = run("probe", "--format", "json", "--timeout", "3", good, dead, good, env=NO_PROXY_ENV)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["outcome"] for r in records] == ["ok", "connect_failed", "ok"]
    assert [r["url"] for r in records] == [good, dead, good]
    assert result.exit_code == 3


def test_a_file_on_stdin_with_comments_in_plain(run: Run, echo: EchoServer) -> None:
    good = f"ws://127.0.0.1:{echo.port}/"
    text = f"# endpoints\n\n{good}  # the echo server\nws://127.0.0.1:{free_port()}/x\n"
    result = run("probe", "--file", "-", "--timeout", "3", input=text, env=NO_PROXY_ENV)
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(fields[0], fields[1], fields[2]) for fields in lines] == [
        ("ok", good, "101"),
        ("connect_failed", f"ws://127.0.0.1:{lines[1][1].split(':')[2]}", ""),
    ]
    assert lines[1][4].startswith("cannot connect to 127.0.0.1:")
    assert result.exit_code == 3


def test_a_bad_url_line_is_skipped_with_an_error(
    run: Run, echo: EchoServer, tmp_path: Path
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"ftp://not-ws/\nws://127.0.0.1:{echo.port}/\n")
    result = run("probe", "--file", str(listing), "--format", "json", env=NO_PROXY_ENV)
    assert [json.loads(line)["outcome"] for line in result.stdout.splitlines()] == ["ok"]
    assert (
        f"error: {listing} line 1: URL: 'ftp://not-ws/' is not a ws:// or wss:// URL"
        in result.stderr
    )
    assert result.exit_code == 2


def test_no_url_is_a_usage_error(run: Run) -> None:
    result = run("probe")
    assert result.exit_code == 2
    assert "give a URL, or --file FILE" in result.stderr


@pytest.mark.slow
def test_a_thousand_endpoints_in_seconds_in_bounded_memory(
    echo: EchoServer, tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(f"ws://127.0.0.1:{echo.port}/\n" * 1000)
    started = time.monotonic()
    code, peak_kib, stderr = run_measured(
        ["probe", "--file", "-", "--format", "json", "--parallel", "32"], urls, tmp_path / "out"
    )
    elapsed = time.monotonic() - started
    lines = (tmp_path / "out").read_bytes().splitlines()
    assert (code, stderr, len(lines)) == (0, b"", 1000)
    assert elapsed < 30
    assert peak_kib < 96 * 1024


def test_the_summary_table_on_a_terminal(echo: EchoServer) -> None:
    done = run_script(
        [
            "probe",
            "--format",
            "rich",
            f"ws://127.0.0.1:{echo.port}/",
            f"ws://127.0.0.1:{echo.port}/",
        ]
    )
    lines = done.stdout.decode().splitlines()
    assert lines[0].split() == ["outcome", "status", "ms", "url", "(first", "failure)"]
    assert lines[1].split()[:2] == ["ok", "101"]
    assert lines[-1] == "2 URLs: 2 ok"


def test_the_table_counts_skipped_lines(echo: EchoServer) -> None:
    listing = f"ws://127.0.0.1:{echo.port}/\nnot a url\n".encode()
    done = run_script(["probe", "--format", "rich", "--file", "-"], stdin=listing)
    assert done.stdout.decode().splitlines()[-1] == "2 URLs: 1 ok, 1 skipped"
    assert done.returncode == 2


def test_an_endless_line_in_the_file_is_an_error(run: Run) -> None:
    result = run("probe", "--file", "-", input="ws://a/" + "x" * 70000 + "\n", env=NO_PROXY_ENV)
    assert result.exit_code == 2
    assert "error: stdin line 1 is longer than 8192 bytes" in result.stderr

"""What a person at a terminal or in a shell meets first (issue 14): findings to scan with a count
per handshake, -v for every rule, probe's live progress on a terminal's stderr, rich tables that
stream, bare keys from genkey, output options before the command, hints and plurals."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.helpers import (
    RFC_ACCEPT,
    RFC_KEY,
    Run,
    clean_env,
    read_request,
    script_path,
    socket_server,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CASES = ROOT / "tests" / "cases" / "inspect"
DECODED_KEY_FAILURE = (
    "  fail  response.accept        §4.2.2   Sec-WebSocket-Accept is"
    " 'PY6hjGwRrbbAd6TdLp2DdZjeVPc=', expected 'x0C0Lz646RCnRa76VPI9gPzSnqg=': the server"
    " hashed the base64-decoded key bytes"
    " instead of the key text"
)
PROTOCOL_PASS = "  pass  response.protocol      §4.1     the server chose 'chat'"
DECODED_KEY_CLIENTS = (
    "  clients: refused by Chromium, Firefox, Node ws, websockets, aiohttp, undici,"
    " websocket-client, tornado, gorilla, Java, libwebsockets (wrong Sec-WebSocket-Accept);"
    " accepted by curl"
)


def test_inspect_shows_the_failure_and_a_count_of_every_rule(run: Run) -> None:
    result = run("inspect", str(EXAMPLES / "decoded-key-bug.http"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "handshake 1: raw HTTP, request at line 1, response at line 11: fail — 14 passed, 1 failed",
        DECODED_KEY_FAILURE,
        DECODED_KEY_CLIENTS,
    ]


def test_failures_come_first_then_warnings_and_notes(run: Run) -> None:
    result = run("inspect", str(CASES / "proxy-http10-via.http"))
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": fail — 9 passed, 2 failed, 1 warning")
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["fail", "response.status"],  # the status leads: it says the most (issue 24)
        ["fail", "response.http_version"],
        ["warn", "response.via"],
    ]
    result = run("inspect", str(CASES / "version-426-lists-13.http"))
    assert "info  response.versions" in result.stdout


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_shows_every_rule_in_the_order_checked(run: Run, flag: str) -> None:
    capture = str(EXAMPLES / "decoded-key-bug.http")
    record = json.loads(run("inspect", "--format", "json", capture).stdout)
    lines = run("inspect", flag, capture).stdout.splitlines()
    assert lines[0] == "handshake 1: raw HTTP, request at line 1, response at line 11: fail"
    assert [line.split()[1] for line in lines[1:-1]] == [f["rule"] for f in record["findings"]]
    assert lines[-3:] == [DECODED_KEY_FAILURE, PROTOCOL_PASS, DECODED_KEY_CLIENTS]


def test_json_carries_every_finding_and_says_line_numbers(run: Run) -> None:
    capture = str(EXAMPLES / "decoded-key-bug.http")
    plain = json.loads(run("inspect", "--format", "json", capture).stdout)
    assert plain == json.loads(run("inspect", "-v", "--format", "json", capture).stdout)
    assert len(plain["findings"]) == 15
    assert (plain["request_line_number"], plain["response_line_number"]) == (1, 11)
    assert not {"request_line", "response_line"} & set(plain)


def test_rich_inspect_sums_up_too(run: Run) -> None:
    result = run("inspect", "--format", "rich", str(EXAMPLES / "decoded-key-bug.http"))
    text = " ".join(result.stdout.split())
    assert "FAIL 14 passed, 1 failed fail response.accept §4.2.2" in text
    assert "request.method" not in text
    verbose = run("inspect", "-v", "--format", "rich", str(EXAMPLES / "decoded-key-bug.http"))
    assert "pass request.method" in " ".join(verbose.stdout.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "json", "compute", RFC_KEY], f'"accept":"{RFC_ACCEPT}"'),
        (["--format", "json", "compute", "--format", "plain", RFC_KEY], f"{RFC_ACCEPT}\n"),
        (["--format", "rich", "--no-color", "compute", RFC_KEY], "✓ valid"),
        (["--format", "rich", "--color", "compute", RFC_KEY], "\x1b["),
        (["--format", "json", "verify", RFC_KEY, RFC_ACCEPT], '"match":true'),
    ],
)
def test_output_options_before_the_command(run: Run, args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.exit_code == 0
    assert expected in result.stdout


def test_compute_given_key_accept_pairs_points_to_verify(run: Run) -> None:
    result = run("compute", input=f"{RFC_KEY}\t{RFC_ACCEPT}\n{RFC_KEY}\t{RFC_ACCEPT}\n")
    assert result.stderr.splitlines()[-2:] == [
        "wsaccept: warning: 2 of 2 keys had problems",
        "wsaccept: note: these look like 'KEY ACCEPT' pairs (as 'wsaccept genkey"
        " --with-accept' writes them); to check each accept against its key: wsaccept verify",
    ]
    assert "these look like" not in run("compute", input="AAAA\n").stderr


def test_a_har_file_without_entries_says_so(run: Run) -> None:
    result = run("inspect", input='{"log": {"version": "1.2", "entries": []}}')
    assert result.exit_code == 2
    assert result.stderr == (
        "wsaccept: error: no handshake in the input: found a HAR file with no entries (export"
        " it from the network panel after the WebSocket connection was opened, with recording"
        " on)\n"
    )
    result = run("inspect", input='{"log": {"entries": [{}, {}]}}')
    assert "found a HAR file with 2 entries, none of them WebSocket\n" in result.stderr


@pytest.mark.parametrize(("accept", "code"), [(RFC_ACCEPT, 0), ("s3pPLMBiTxaQ9kYGzzhZRbK+xOx=", 1)])
def test_pasted_key_and_accept_lines_are_checked_as_a_pair(
    run: Run, accept: str, code: int
) -> None:
    pasted = f"Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Accept: {accept}\r\n"
    record = json.loads(run("inspect", "--format", "json", input=pasted).stdout)
    assert [f["rule"] for f in record["findings"]] == [
        "request.key",
        "response.accept",
        "capture.key_and_accept",
    ]
    assert run("inspect", input=pasted).exit_code == code


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (["compute", "AA=="], "", "key decodes to 1 byte; RFC 6455"),
        (["compute", "A"], "", "key is 1 character long"),
        (["verify"], f"{RFC_KEY}\n", "found 1 field\n"),
        (["inspect"], "just one line\n", "found 1 line, none of them"),
    ],
)
def test_plurals_are_right(run: Run, args: list[str], stdin: str, said: str) -> None:
    assert said in run(*args, input=stdin).stderr


def spawn_shell(command: str, cwd: Path) -> pexpect.spawn:
    """`command` run by bash on a pseudo-terminal: stdin, stdout and stderr a terminal unless
    the command redirects them."""
    bin_dir = os.path.dirname(script_path())
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TERM="xterm")
    return pexpect.spawn("bash", ["-c", command], env=env, cwd=cwd, encoding="utf-8", timeout=20)


def silent(connection: socket.socket) -> None:
    read_request(connection)
    time.sleep(3)


def test_probe_says_what_it_is_doing_while_it_waits(tmp_path: Path) -> None:
    with socket_server(silent) as port:
        started = time.monotonic()
        child = spawn_shell(
            f"wsaccept probe --timeout 2 --format json ws://localhost:{port}/ > out.json", tmp_path
        )
        child.expect(r"\* +[0-9.]+ ms  resolving localhost")
        child.expect(rf"connecting to \S+:{port}")
        child.expect(rf"connected to \S+:{port}")
        child.expect(r"request sent \([0-9]+ bytes\)")
        child.expect(r"waiting for the response head")
        assert time.monotonic() - started < 1.8  # said as it happens, not at the end
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 5
    record = json.loads((tmp_path / "out.json").read_text())  # stdout got JSON alone
    assert (record["outcome"], record["request_sent"]) == ("timeout", True)


def test_probe_says_nothing_more_when_stderr_is_not_a_terminal() -> None:
    with socket_server(lambda connection: read_request(connection)) as port:
        result = subprocess.run(
            [script_path(), "probe", "--timeout", "2", f"ws://127.0.0.1:{port}/"],
            capture_output=True,
            env=clean_env(),
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == b""
    assert result.stdout.startswith(b"> GET / HTTP/1.1\n")


def unused_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def test_no_request_transcript_when_nothing_was_sent(run: Run) -> None:
    url = f"ws://127.0.0.1:{unused_port()}/"
    result = run("probe", "--timeout", "2", url)
    assert result.exit_code == 3
    assert ">" not in result.stdout
    assert result.stdout.startswith(f"handshake 1: probe, {url}: fail — 0 passed, 1 failed\n")
    record = json.loads(run("probe", "--timeout", "2", "--format", "json", url).stdout)
    assert record["request_sent"] is False


def test_rich_rows_appear_as_their_lines_arrive() -> None:
    with subprocess.Popen(
        [script_path(), "compute", "--format", "rich", "--no-color"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    ) as process:
        assert process.stdin
        assert process.stdout
        process.stdin.write(f"{RFC_KEY}\n".encode())
        process.stdin.flush()
        assert process.stdout.readline().split() == [b"line", b"key", b"accept", b"check"]
        process.stdout.readline()
        assert process.stdout.readline().split() == [
            b"1",
            RFC_KEY.encode(),
            RFC_ACCEPT.encode(),
            "✓".encode(),
            b"valid",
        ]
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def test_rich_output_of_many_keys_costs_about_what_plain_output_does(tmp_path: Path) -> None:
    # bench/bench.py measures the ratio (at most 3 on 100,000 keys); this catches a return to
    # a rich Table per block, which took 200 times as long as plain output.
    keys = tmp_path / "keys.txt"
    keys.write_bytes(f"{RFC_KEY}\n".encode() * 50_000)

    def seconds(*args: str) -> float:
        started = time.monotonic()
        with keys.open("rb") as stdin:
            subprocess.run(
                [script_path(), "compute", "-j", "1", *args],
                stdin=stdin,
                stdout=subprocess.DEVNULL,
                env=clean_env(),
                check=True,
            )
        return time.monotonic() - started

    plain, rich = min(seconds() for _ in range(2)), seconds("--format", "rich")
    assert rich < 5 * plain + 1, (plain, rich)


def test_genkey_at_a_terminal_prints_keys_ready_to_copy(tmp_path: Path) -> None:
    child = spawn_shell("wsaccept genkey -n 3", tmp_path)
    child.expect(pexpect.EOF)
    child.close()
    lines = child.before.splitlines()
    assert child.exitstatus == 0
    assert [len(line) for line in lines] == [24, 24, 24], lines
    assert all("\x1b" not in line and "─" not in line for line in lines)


def test_the_probe_reports_each_step_to_its_progress_callback() -> None:
    from wsaccept_cli.core.request import probe_request
    from wsaccept_cli.net.probe import run_probe

    def answer(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    events: list[tuple[str, str]] = []
    with socket_server(answer) as port:
        target, request = probe_request(f"ws://127.0.0.1:{port}/", ())
        result = run_probe(target, request, timeout=5, progress=lambda *event: events.append(event))
    assert result.sent
    address = f"127.0.0.1:{port}"
    assert events == [
        ("resolving", "127.0.0.1"),
        ("connecting", address),
        ("connected", address),
        ("sent", str(len(request))),
        ("waiting", ""),
        ("received", str(len(result.response))),
    ]


def test_progress_lines_say_each_event(tmp_path: Path) -> None:
    import io

    from wsaccept_cli.ui.progress import ProbeProgress

    stream = io.StringIO()
    progress = ProbeProgress(stream, color=False)
    for event, detail in [
        ("tls", "example.com"),
        ("tls_done", "TLSv1.3"),
        ("sent", "1"),
        ("received", "2"),
        ("resolving", "evil\x1b[2J.example"),
    ]:
        progress(event, detail)
    said = [line.split("ms  ", 1)[1] for line in stream.getvalue().splitlines()]
    assert said == [
        "TLS handshake with example.com",
        "TLSv1.3 established",
        "request sent (1 byte)",
        "response head received (2 bytes)",
        "resolving evil\\x1b[2J.example",
    ]
    coloured = io.StringIO()
    ProbeProgress(coloured, color=True)("waiting", "")
    assert coloured.getvalue().startswith("\x1b[2m* ")
    closed = io.StringIO()
    closed.close()
    unwritable = ProbeProgress(closed, color=False)
    unwritable("waiting", "")  # stderr gone: the probe goes on, quietly
    unwritable("waiting", "")
    assert unwritable.stream is None

"""The README's JSON fields table against real output: every key a command writes is in the
table for that command, and every key the table lists for it is written. Each command runs with
`--format json` on real inputs made here: keys, the golden captures and a pcapng `probe --save`
wrote, an audit (the key cases) and probes of the real `serve` server (one plain, one
`--compare`), `serve` itself (one connection, a `--check-client` run) and `connect` to it
(text, binary, pings both ways, a protocol error). serve's and connect's lines are events: a
row `serve score` lists the fields of the `score` event, a row `serve` those of every event."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import invoke, run_script, script_path
from tests.serve_helpers import server_thread
from tests.test_inspect import CASES
from wsaccept_cli.core.frame_faults import ALL_BY_NAME
from wsaccept_cli.net.serve import ServeOptions

README = Path(__file__).resolve().parent.parent / "README.md"
KEY, ACCEPT = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def documented() -> dict[str, set[str]]:
    """The fields of the README's table, by command (`| compute, verify | `key` | … |`)."""
    text = README.read_text()
    section = text.split("### JSON fields", 1)[1].split("\n### ", 1)[0]
    fields: dict[str, set[str]] = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].startswith("`"):
            continue
        for command in cells[0].split(","):
            fields.setdefault(command.strip(), set()).update(re.findall(r"`([^`]+)`", cells[1]))
    return fields


def keys(lines: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.splitlines() if line.strip()]


def written(records: list[dict[str, Any]]) -> set[str]:
    return {key for record in records for key in record}


def events(command: str, records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The fields of each kind of event (`serve score`), and those of every event (`serve`)."""
    common = set.intersection(*(set(record) for record in records))
    found: dict[str, set[str]] = {command: common}
    for record in records:
        found.setdefault(f"{command} {record['event']}", set()).update(set(record) - common)
    return found


def serve_events() -> list[dict[str, Any]]:
    """`serve --once` with one probe (listening, connection), then a `--check-client` run with
    a handshake fault and a frame fault (listening, score, summary)."""
    server = subprocess.Popen(
        [script_path(), "serve", "--once", "--format", "json", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        listening = server.stdout.readline().decode()
        url = json.loads(listening)["url"]
        run_script(["probe", "--timeout", "5", url], NO_PROXY="*", no_proxy="*")
        rest, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    checked = run_script(
        ["serve", "--check-client", "--format", "json", "--timeout", "5", "--fault", "accept-hex",
         "--fault", "masked-frame", "--", script_path(), "probe", "--timeout", "3", "{url}"],
        timeout=60,
    )  # fmt: skip
    return keys(listening + rest.decode()) + keys(checked.stdout.decode())


def connect_events() -> list[dict[str, Any]]:
    """`connect` to serve: a text message and our pings; a binary message; the server's Ping
    (ping-payload); a masked frame (masked-frame), a protocol error."""
    faults = tuple(ALL_BY_NAME[name] for name in ("ping-payload", "masked-frame"))
    records: list[dict[str, Any]] = []
    with server_thread(ServeOptions(faults=faults)) as (url, _):
        for _fault in faults:  # each connection gets the next fault
            done = run_script(["connect", "--format", "json", "--wait", "0.3", url])
            records += keys(done.stdout.decode())
    with server_thread(ServeOptions()) as (url, _):
        for args, stdin in (([], b"hello\n"), (["--binary"], b"00ff01\n")):
            done = run_script(
                ["connect", "--format", "json", "--ping", "0.1", "--wait", "0.3", *args, url],
                stdin=stdin,
            )
            records += keys(done.stdout.decode())
    return records


def test_every_field_written_is_documented_and_every_documented_one_written(
    tmp_path: Path,
) -> None:
    found: dict[str, set[str]] = {}
    found["compute"] = written(
        keys(invoke("--format", "json", "compute", KEY).stdout)
        + keys(invoke("--format", "json", "compute", "--strict", "-", input="short\n").stdout)
    )
    found["verify"] = written(
        keys(invoke("--format", "json", "verify", KEY, ACCEPT).stdout)
        + keys(invoke("--format", "json", "verify", KEY, ACCEPT[:-1]).stdout)
    )
    found["genkey"] = written(keys(invoke("--format", "json", "genkey").stdout))
    saved = tmp_path / "probe.pcapng"
    with server_thread(ServeOptions()) as (url, _):
        probe = run_script(
            ["probe", "--format", "json", "--timeout", "5", "--save", str(saved), url],
            NO_PROXY="*",
            no_proxy="*",
        )
        compare = run_script(
            ["probe", "--format", "json", "--timeout", "5", "--compare", url],
            NO_PROXY="*",
            no_proxy="*",
        )
    probes = keys(probe.stdout.decode())
    *halves, comparison = keys(compare.stdout.decode())
    found["probe"] = written(probes + halves)
    found["probe --compare"] = written([comparison])
    captures = [str(case) for case in CASES] + [str(saved)]
    found["inspect"] = written(
        [
            record
            for capture in captures
            for record in keys(invoke("--format", "json", "inspect", capture).stdout)
        ]
    )
    with server_thread(ServeOptions()) as (url, _):
        audit = run_script(
            ["audit", "--format", "json", "--category", "key", "--parallel", "8", url],
            NO_PROXY="*",
            no_proxy="*",
        )
    [report] = keys(audit.stdout.decode())
    found["audit"] = set(report)
    found["audit cases"] = written(report["cases"])
    found.update(events("serve", serve_events()))
    found.update(events("connect", connect_events()))
    *rows, counts = keys(invoke("--format", "json", "inspect", "--summary", str(saved)).stdout)
    found["inspect --summary"] = written(rows)
    found["inspect --summary counts"] = set(counts)
    table = documented()
    assert {command: sorted(fields) for command, fields in found.items()} == {
        command: sorted(table.get(command, set())) for command in found
    }
    assert set(table) == set(found)  # no command in the table goes unchecked

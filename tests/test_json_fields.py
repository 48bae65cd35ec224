"""The README's JSON fields table against real output: every key a command writes is in the
table for that command, and every key the table lists for it is written. Each command runs with
`--format json` on real inputs made here: keys, the golden captures and a pcapng `probe --save`
wrote, and probes of the real `serve` server (one plain, one `--compare`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.helpers import invoke, run_script
from tests.serve_helpers import server_thread
from tests.test_inspect import CASES
from tests.test_probe_proxies import NO_PROXY_ENV
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
            **{k: v for k, v in NO_PROXY_ENV.items() if v is not None},
        )
        compare = run_script(
            ["probe", "--format", "json", "--timeout", "5", "--compare", url],
            **{k: v for k, v in NO_PROXY_ENV.items() if v is not None},
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
    table = documented()
    assert {command: sorted(fields) for command, fields in found.items()} == {
        command: sorted(table.get(command, set())) for command in found
    }
    assert set(table) == set(found)  # no command in the table goes unchecked

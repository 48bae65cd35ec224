"""`wsaccept serve` against real clients on 127.0.0.1: Python websockets and aiohttp, Node ws,
libcurl (through curl_cffi) and headless Chromium. The scoreboard must say what each client did
on the wire, so each row is compared with the client's own account of the run (its output:
`accepted: …` or `refused: …`), and a few facts are pinned: curl never checks the accept."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.helpers import clean_env, script_path
from tests.serve_helpers import client_command, node_ready, server_thread
from wsaccept_cli.core.faults import FAULTS
from wsaccept_cli.net.serve import ServeOptions

WRONG_ACCEPTS = [fault.name for fault in FAULTS if fault.name.startswith("accept-")]


# One fault of each kind, for the clients that do not run them all (the time budget of CI).
SAMPLE = ["accept-decoded-key", "accept-guid-typo", "no-accept", "two-accepts", "no-upgrade",
          "status-200", "http10-101", "protocol-not-offered", "protocol-missing",
          "extension-not-offered", "bare-lf"]  # fmt: skip


def check_client(
    name: str, tmp_path: Path, *options: str, faults: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """`wsaccept serve --check-client` of a real client, every handshake fault (or `faults`),
    JSON and JUnit (the frame faults: test_serve_frame_clients.py)."""
    chosen = [argument for fault in faults or ["handshake"] for argument in ("--fault", fault)]
    return subprocess.Popen(
        [script_path(), "serve", "--check-client", "--format", "json", "--timeout", "10",
         *chosen, "--junit", str(tmp_path / f"{name}.xml"), "--", *client_command(name),
         *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )  # fmt: skip


def refused_or_moot(row: dict[str, Any]) -> bool:
    """Refused; or skipped where the fault made the right accept for the client's key (the
    URL-safe alphabet is the standard one for an accept without '+' and '/')."""
    if row["result"] == "skip":
        return row["detail"] == "for this key the fault makes the right accept"
    return (row["client"], row["result"]) == ("refused", "pass")


def scoreboard(
    name: str, process: subprocess.Popen[bytes], tmp_path: Path
) -> tuple[int, dict[str, dict[str, Any]]]:
    """The exit status and the rows, each checked against what the client said it did."""
    stdout, stderr = process.communicate(timeout=240)
    assert stderr == b""
    records = [json.loads(line) for line in stdout.splitlines()]
    rows = {r["fault"]: r for r in records if r.get("event") == "score"}
    assert {"none", "request", *SAMPLE} <= set(rows)
    said = {
        case.get("name"): (case.findtext("system-out") or "").strip()
        for case in ElementTree.parse(tmp_path / f"{name}.xml").getroot()
    }
    for fault, row in rows.items():
        if row["client"] in ("accepted", "refused"):
            own = said[fault].split(":")[0]
            assert own == row["client"], (
                f"{name} {fault}: scoreboard {row}, client said {said[fault]!r}"
            )
    assert records[-1]["verdict"] == ("fail" if process.returncode else "pass")
    return process.returncode, rows


@pytest.mark.slow
def test_check_client_with_real_clients(tmp_path: Path) -> None:
    """Four real clients at once (each run is mostly waiting), every fault each."""
    runs = {
        "py_websockets": check_client("py_websockets", tmp_path, "chat"),
        "py_aiohttp": check_client("py_aiohttp", tmp_path, faults=SAMPLE),
        "py_curl": check_client("py_curl", tmp_path),
    }
    if node_ready():
        runs["node_ws"] = check_client("node_ws", tmp_path, "chat", faults=SAMPLE)
    results = {name: scoreboard(name, process, tmp_path) for name, process in runs.items()}

    status, curl = results["py_curl"]
    assert set(curl) == {"none", "request", *(fault.name for fault in FAULTS)}
    assert status == 1
    for fault in [*WRONG_ACCEPTS, "no-accept", "two-accepts"]:  # curl never checks the accept
        skipped = curl[fault]["result"] == "skip"
        assert skipped or (curl[fault]["client"], curl[fault]["result"]) == ("accepted", "fail")
    assert (curl["none"]["client"], curl["none"]["result"]) == ("accepted", "pass")
    assert curl["protocol-missing"]["result"] == "skip"

    status, websockets = results["py_websockets"]
    for fault in [*WRONG_ACCEPTS, "no-accept", "two-accepts", "no-upgrade", "status-200"]:
        assert refused_or_moot(websockets[fault]), fault
    assert websockets["protocol-missing"]["result"] == "pass"  # offered chat: either is right
    assert status == 0

    _, aiohttp = results["py_aiohttp"]
    assert set(aiohttp) == {"none", "request", *SAMPLE}
    for fault in ["accept-decoded-key", "accept-guid-typo", "no-accept", "no-upgrade"]:
        assert refused_or_moot(aiohttp[fault]), fault
    if "node_ws" in results:
        _, node = results["node_ws"]
        for fault in [
            "accept-decoded-key",
            "accept-guid-typo",
            "no-upgrade",
            "protocol-not-offered",
        ]:
            assert refused_or_moot(node[fault]), fault


# --- headless Chromium: one launch, a page that tries every fault ----------------------------

PAGE = """<!doctype html><script>
const base = location.hash.slice(1);
const names = %s;
function attempt(name) {
  return new Promise((done) => {
    let opened = false;
    const ws = new WebSocket(base + name, ["chat"]);
    const finish = () => {
      console.log("RESULT " + name + " " + (opened ? "accepted" : "refused"));
      done();
    };
    const timer = setTimeout(() => { try { ws.close(); } catch (e) {} finish(); }, 5000);
    ws.onopen = () => { opened = true; ws.send("hello"); };
    ws.onmessage = () => { clearTimeout(timer); ws.close(); finish(); };
    ws.onclose = () => { clearTimeout(timer); finish(); };
  });
}
(async () => { for (const name of names) { await attempt(name); } console.log("RESULT done"); })();
</script>"""


def chromium_flags(profile: Path) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_headless_chromium_against_every_fault(tmp_path: Path) -> None:
    names = ["correct", *(fault.name for fault in FAULTS)]
    page = tmp_path / "page.html"
    page.write_text(PAGE % json.dumps(names))
    with server_thread(ServeOptions(fault_by_path=True, grace=1.0)) as (url, seen):
        browser = subprocess.Popen(
            [shutil.which("chromium") or "chromium", *chromium_flags(tmp_path / "profile"),
             f"file://{page}#{url}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        said: dict[str, str] = {}
        try:
            assert browser.stderr is not None
            deadline = time.monotonic() + 120
            for raw in browser.stderr:  # bounded: the browser is killed at the deadline below
                line = raw.decode("utf-8", "replace")
                if '"RESULT ' in line:
                    words = line.split('"RESULT ', 1)[1].split('"')[0].split()
                    if words == ["done"]:
                        break
                    said[words[0]] = words[1]
                if time.monotonic() > deadline:
                    break
        finally:
            browser.kill()
            browser.communicate(timeout=30)
        time.sleep(0.5)  # the last verdict
    by_path = {c.request.target.rsplit("/", 1)[-1]: c for c in seen if c.request is not None}
    assert set(said) == set(names), f"no result from the page for {set(names) - set(said)}"
    missing = set(names) - set(by_path)
    assert not missing, f"no connection for {missing} (pending results are not refusals)"
    for name in names:
        assert by_path[name].behaviour == said[name], (name, by_path[name].how)
    assert said["correct"] == "accepted"
    assert by_path["correct"].client_ok
    moot = by_path["accept-urlsafe"].skipped is not None
    checked = [n for n in WRONG_ACCEPTS if not (moot and n == "accept-urlsafe")]
    checked += ["no-accept", "two-accepts", "no-upgrade", "no-connection", "protocol-not-offered",
                "protocol-missing", "extension-not-offered"]  # fmt: skip
    for name in checked:
        assert said[name] == "refused", name  # Chromium checks the accept and the negotiation

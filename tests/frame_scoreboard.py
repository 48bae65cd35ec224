"""The frame faults of `wsaccept serve` against real clients: what each one did (its real
behaviour, judged from the wire) is kept in tests/cases/frame_scoreboard.json, and the README's
frame-fault table is made from it. A test runs the clients again and fails when the file is
stale (a client changed, or a verdict did).

Python websockets, aiohttp and Node ws run through `wsaccept serve --check-client` (the
programs in tests/serve_clients/); headless Chromium and Firefox ESR are launched once each,
on a page that opens one WebSocket per fault (each sends "hello" on open and closes after the
first message), and are judged by the server, never by the page.

    python -m tests.frame_scoreboard --write   # run every client, write the JSON (~2 min)
    python -m tests.frame_scoreboard --table   # the README's table, from the JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.client_corpus import browser_available, browser_command
from tests.helpers import clean_env, script_path, stop_process
from tests.serve_helpers import client_command, node_ready, server_thread
from wsaccept_cli.core.frame_faults import FRAME_FAULTS, HANG_UP_WAIT
from wsaccept_cli.core.served import ScoreRow
from wsaccept_cli.net.serve import ServeOptions

EXPECTED = Path(__file__).parent / "cases" / "frame_scoreboard.json"
CLIENTS = {"websockets": "py_websockets", "aiohttp": "py_aiohttp", "Node ws": "node_ws",
           "Chromium": None, "Firefox": None}  # fmt: skip
# Waits out each client's own closing timeout (Chromium 60 s): for --write, not for CI.
SLOW = {"close-unanswered"}
Board = dict[str, list[str]]  # fault -> [what the client did, pass/fail/skip]

PAGE = """<!doctype html><meta charset="utf-8"><title>frames</title><script>
const base = location.hash.slice(1);
const names = %s;
function attempt(name) {
  return new Promise((done) => {
    let ws;
    const timer = setTimeout(() => { try { ws.close(); } catch (e) {} done(); }, %d);
    try { ws = new WebSocket(base + name); } catch (e) { clearTimeout(timer); done(); return; }
    ws.onopen = () => ws.send("hello");
    ws.onmessage = () => ws.close();
    ws.onclose = () => { clearTimeout(timer); done(); };
  });
}
(async () => { for (const name of names) await attempt(name); new WebSocket(base + "done"); })();
</script>"""


def fault_names(slow: bool) -> list[str]:
    return [fault.name for fault in FRAME_FAULTS if slow or fault.name not in SLOW]


def run_check_client(client: str, names: list[str]) -> Board:
    """`wsaccept serve --check-client` of one client program over `names`: its rows."""
    chosen = [argument for name in names for argument in ("--fault", name)]
    process = subprocess.run(
        [script_path(), "serve", "--check-client", "--format", "json", "--timeout", "10",
         *chosen, "--", *client_command(client)],
        capture_output=True,
        env=clean_env(),
        timeout=600,
        check=False,
    )  # fmt: skip
    assert process.stderr == b"", process.stderr
    rows = [json.loads(line) for line in process.stdout.splitlines()]
    return {r["fault"]: [r["client"], r["result"]] for r in rows if r.get("fault") in names}


def run_browser(client: str, names: list[str]) -> Board:
    """One launch of the browser for every fault; the verdicts are the server's."""
    wait = int(HANG_UP_WAIT + 5) * 1000 if SLOW & set(names) else 4000
    with (
        tempfile.TemporaryDirectory(prefix="wsaccept-frames-") as profile,
        server_thread(ServeOptions(fault_by_path=True, grace=1.0)) as (url, seen),
    ):
        page = Path(profile, "page.html")
        page.write_text(PAGE % (json.dumps(names), wait))
        env = {**os.environ, "HOME": profile, "MOZ_CRASHREPORTER_DISABLE": "1"}
        Path(profile, "p").mkdir()
        browser = subprocess.Popen(
            browser_command(client, str(Path(profile, "p")), f"file://{page}#{url}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60 + len(names) * wait / 1000
        try:
            while time.monotonic() < deadline and not any(_path(c) == "done" for c in seen):
                time.sleep(0.1)
            time.sleep(0.3)  # the last verdict
        finally:
            stop_process(browser)
        board = {}
        for fault in FRAME_FAULTS:
            if fault.name in names:
                connections = [c for c in seen if _path(c) == fault.name]
                row = ScoreRow(fault, connections, "no connection")
                board[fault.name] = [row.did, row.status]
                if os.environ.get("WSACCEPT_SCOREBOARD_DETAIL"):
                    board[fault.name].append(row.detail)
        return board


def _path(connection: object) -> str:
    request = getattr(connection, "request", None)
    target = (request.target or "") if request is not None else ""
    return target.rsplit("/", 1)[-1]


def available(client: str) -> bool:
    program = CLIENTS[client]
    if program is None:
        return browser_available(client)
    return program != "node_ws" or node_ready()


def observe_all(clients: list[str], slow: bool) -> dict[str, Board]:
    """Every client at once (each mostly waits); each client's board."""
    names = fault_names(slow)
    boards: dict[str, Board] = {}

    def one(client: str) -> None:
        program = CLIENTS[client]
        if program is None:
            boards[client] = run_browser(client, names)
        else:
            boards[client] = run_check_client(program, names)

    threads = [threading.Thread(target=one, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return boards


def expected() -> dict[str, Board]:
    loaded: dict[str, Board] = json.loads(EXPECTED.read_text())
    return loaded


# The README table ----------------------------------------------------------------------------

TABLE_START = "<!-- frame-fault table: python -m tests.frame_scoreboard --table -->"
TABLE_END = "<!-- end of frame-fault table -->"
MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


def table() -> str:
    """Markdown: one row per frame fault, what a correct client must do, and ✓ where the
    client did it, ✗ (with what it did) where it did not, – where the fault did not apply."""
    boards = expected()
    names = list(CLIENTS)
    rows = [
        "| fault (after a correct 101) | RFC | correct | " + " | ".join(names) + " |",
        "| --- | --- | --- |" + " :-: |" * len(names),
    ]
    for fault in FRAME_FAULTS:
        marks = []
        for client in names:
            did, status = boards[client][fault.name]
            marks.append(MARKS[status] + (f" {did}" if status == "fail" else ""))
        rows.append(
            f"| `{fault.name}` | {fault.section} | {fault.must} | " + " | ".join(marks) + " |"
        )
    return "\n".join([TABLE_START, *rows, TABLE_END])


def readme_table(readme: str) -> str:
    start = readme.index(TABLE_START)
    end = readme.index(TABLE_END) + len(TABLE_END)
    return readme[start:end]


def _main(argv: list[str]) -> int:
    if argv == ["--table"]:
        print(table())
        return 0
    if argv == ["--write"]:
        boards = observe_all([c for c in CLIENTS if available(c)], slow=True)
        EXPECTED.write_text(json.dumps(boards, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {EXPECTED}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

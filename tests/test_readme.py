"""Every shell example of README.md runs as written and prints what the README says.

Like sqlite-utils's documentation tests: the README's `$ ` lines (in fenced blocks) are run from
the root of the repository by bash, with the installed `wsaccept` first on PATH, stdin empty and
no colour settings, and what they print (stdout, then stderr; CR LF as LF) must match the lines
under them up to the next `$ ` line or the end of the block. In those lines `…` stands for any
text, and a line of `…` alone for any number of lines: a fresh key, a timing, a server's Date.
The probe example's server is started here, a real `websockets` server on a free port, which is
written for the README's port 8765 in the command and the output.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers import clean_env, script_path
from tests.serve_helpers import serving
from wsaccept_cli.core.faults import FAULTS, MUST_REFUSE

ROOT = Path(__file__).resolve().parent.parent
README_PORT = "8765"


def examples(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, command, expected output lines) of each `$ ` line in a fenced block."""
    found: list[tuple[int, str, list[str]]] = []
    in_block, current = False, None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            in_block, current = not in_block, None
        elif in_block and line.startswith("$ "):
            current = (number, line[2:], [])
            found.append(current)
        elif current is not None:
            current[2].append(line)
    return found


def pattern(expected: list[str]) -> re.Pattern[str]:
    """The expected lines as a regular expression: `…` any text, a line of `…` any lines."""
    parts = []
    for line in expected:
        if line == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(map(re.escape, line.split("…"))) + r"\n")
    return re.compile("".join(parts))


def test_examples_are_found() -> None:
    found = examples((ROOT / "README.md").read_text())
    commands = [command for _, command, _ in found]
    assert len(found) >= 15
    assert any(command.startswith("wsaccept probe") for command in commands)
    assert all("wsaccept" in command for command in commands)


def test_the_pattern_matches_what_it_should() -> None:
    assert pattern(["a …", "…", "z"]).fullmatch("a b c\nx\ny\nz\n")
    assert pattern(["a", "…", "z"]).fullmatch("a\nz\n")
    assert not pattern(["a", "z"]).fullmatch("a\nb\nz\n")


@pytest.fixture(scope="module")
def chat_server() -> Iterator[int]:
    """A websockets server on a free loopback port that speaks the subprotocol `chat`."""

    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> Any:
        return await serve(echo, "127.0.0.1", 0, subprotocols=["chat"])  # type: ignore[list-item]

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


EXAMPLES = examples((ROOT / "README.md").read_text())


@pytest.mark.parametrize(
    ("number", "command", "expected"), EXAMPLES, ids=[f"line {n}" for n, _, _ in EXAMPLES]
)
def test_readme_example(number: int, command: str, expected: list[str], chat_server: int) -> None:
    port = str(chat_server)
    command = command.replace(README_PORT, port)
    expected = [line.replace(README_PORT, port) for line in expected]
    bin_dir = os.path.dirname(script_path())
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TERM="dumb"),
        timeout=60,
        check=False,
    )
    printed = (result.stdout + result.stderr).decode().replace("\r\n", "\n")
    assert pattern(expected).fullmatch(printed), (
        f"README.md line {number}: $ {command}\n--- README says:\n"
        + "\n".join(expected)
        + f"\n--- it printed:\n{printed}"
    )


def ci_snippet() -> str:
    """The README's one-line CI check of a server, as written (the block after its sentence)."""
    text = (ROOT / "README.md").read_text()
    after = text.index("To check a server in a CI step")
    block = text.index("```sh\n", after) + len("```sh\n")
    return text[block : text.index("```", block)].strip()


def test_the_ci_snippet_fails_every_fault_a_client_must_refuse_and_passes_the_right_answer() -> (
    None
):
    """Run as written against a real `wsaccept serve`, once per fault (faults take turns), then
    against its correct answer: a server that does not upgrade correctly fails the step."""
    snippet = ci_snippet()
    assert "ws://localhost:8080/ws" in snippet
    bin_dir = os.path.dirname(script_path())
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    refused = [fault.name for fault in FAULTS if fault.expect == MUST_REFUSE]
    assert "status-200" in refused
    loop = f'for i in $(seq {len(refused)}); do (\n{snippet}\n); echo "exit $?"; done'
    fault_args = [arg for name in refused for arg in ("--fault", name)]
    with serving([*fault_args, "--format", "json"]) as served:
        url = served.url.rstrip("/") + "/ws"
        done = subprocess.run(
            ["bash", "-c", loop.replace("ws://localhost:8080/ws", url)],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        served.stop()
    statuses = done.stdout.decode().split("\n")[:-1]
    connections = [json.loads(line) for line in served.stdout.splitlines()[1:]]
    assert [c["fault"] for c in connections] == refused
    # a fault may happen to give the right answer (the URL-safe alphabet of an accept without
    # '+' or '/'): serve says so, and the step must pass then
    expected = ["exit 1" if c["fault_applied"] else "exit 0" for c in connections]
    assert expected.count("exit 1") >= len(refused) - 1
    assert statuses == expected, dict(zip(refused, statuses))
    with serving([]) as served:
        command = snippet.replace("ws://localhost:8080/ws", served.url.rstrip("/") + "/ws")
        done = subprocess.run(["bash", "-c", command], env=env, timeout=60, check=False)
    assert done.returncode == 0

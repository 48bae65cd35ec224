"""`probe --idle-timeout`: through real nginx (proxy_read_timeout 3s) and HAProxy (timeout
tunnel 3s) the idle timeout is measured (3 s ±1), the intermediary named with its setting, and
a second connection with pings proves the fix; a server that closes with a Close frame whatever
the traffic fails the proof; one with no timeout passes. The probes run at once (each mostly
waits)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env, script_path
from tests.peers import EchoServer, haproxy, nginx
from wsaccept_cli.core.idle import ended_by, idle_findings, likely

IDLE_URLS: dict[str, str] = {}


def start(url: str, maximum: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [script_path(), "probe", "--format", "json", "--timeout", "5", "--idle-timeout",
         maximum, url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
    )  # fmt: skip


def finish(process: subprocess.Popen[bytes]) -> tuple[int, dict[str, Any]]:
    stdout, stderr = process.communicate(timeout=60)
    assert stderr == b""
    return process.returncode, json.loads(stdout)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with (
        EchoServer() as echo,
        EchoServer(close_after=1.5) as closing,
        nginx(echo.port, tmp_path_factory.mktemp("nginx"), idle="3s") as nginx_port,
        haproxy(echo.port, tmp_path_factory.mktemp("haproxy"), tunnel="3s") as haproxy_port,
    ):
        running = {
            "nginx": start(f"ws://127.0.0.1:{nginx_port}/good", "10"),
            "haproxy": start(f"ws://127.0.0.1:{haproxy_port}/chat", "10"),
            "none": start(f"ws://127.0.0.1:{echo.port}/", "2"),
            "closing": start(f"ws://127.0.0.1:{closing.port}/", "10"),
        }
        yield {name: finish(process) for name, process in running.items()}


def messages(record: dict[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["status"], f["message"]) for f in record["findings"]
            if f["rule"].startswith(prefix)]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "who", "setting"),
    [("nginx", "likely nginx (Server: nginx", "proxy_read_timeout"),
     ("haproxy", "likely HAProxy (its error page: 'Your browser sent an invalid request')",
      "`timeout tunnel`")],
)  # fmt: skip
def test_the_proxy_idle_timeout_is_measured_named_and_fixed(
    results: dict[str, Any], name: str, who: str, setting: str
) -> None:
    code, record = results[name]
    idle = record["idle_timeout"]
    assert 2 <= idle["measured_s"] <= 4, idle  # 3 s, to the second
    assert idle["ended_by"] == "a TCP close (FIN) with no Close frame"
    assert idle["likely"].startswith(who)
    assert setting in idle["likely"]
    third = round(idle["measured_s"] / 3, 3)
    assert (idle["fix"]["ping_s"], idle["fix"]["ended"]) == (third, "open")
    found = messages(record, "idle.")
    assert [(rule, status) for rule, status, _ in found] == [
        ("idle.timeout", "warn"), ("idle.fix", "pass")]  # fmt: skip
    assert found[1][2].endswith(f"send a ping at least every {idle['fix']['ping_s']:g} s")
    assert not messages(record, "session.")  # the measuring connection's end is no failure
    assert (code, record["outcome"]) == (0, "ok")


@pytest.mark.slow
def test_no_idle_timeout_up_to_max(results: dict[str, Any]) -> None:
    code, record = results["none"]
    assert record["idle_timeout"]["measured_s"] is None
    assert messages(record, "idle.") == [
        ("idle.timeout", "pass", "no idle timeout up to 2 s: the silent connection stayed open")
    ]
    assert code == 0


@pytest.mark.slow
def test_pings_that_do_not_keep_it_open_fail(results: dict[str, Any]) -> None:
    code, record = results["closing"]
    idle = record["idle_timeout"]
    assert idle["ended_by"] == "a Close frame from the server, code 1001 'going away'"
    assert idle["fix"]["ended"] == "closed"
    assert messages(record, "idle.fix")[0][1] == "fail"
    assert code == 1


def test_who_ended_it_and_what_it_probably_was() -> None:
    assert ended_by({"ended": "reset", "by": "rst", "close_reason": "x"}) == (
        "a TCP reset (RST), no Close frame")  # fmt: skip
    assert ended_by({"ended": "reset", "by": "error", "close_reason": "timed out"}) == (
        "the connection failing (timed out)")  # fmt: skip
    assert likely(100.4, None) == "by its length, probably Cloudflare (100 s)"
    assert likely(60, None).startswith("by its length, probably nginx (proxy_read_timeout")
    assert likely(42, None).startswith("no header names the intermediary")
    record = {"max_s": 300, "measured_s": 100.0, "ended_by": "a TCP reset (RST), no Close frame",
              "likely": likely(100, None),
              "fix": {"ping_s": 33.333, "held_s": 152, "ended": "reset", "after_s": 100.2,
                      "ended_by": "a TCP reset (RST), no Close frame"}}  # fmt: skip
    timeout, fix = idle_findings(record)
    assert timeout.message == (
        "the silent connection was ended after 100 s by a TCP reset (RST), no Close frame; by its"
        " length, probably Cloudflare (100 s)"
    )
    assert (fix.status, fix.message) == ("fail", (
        "even with pings every 33.333 s a second connection was ended after 100.2 s by a TCP"
        " reset (RST), no Close frame: pings do not count as traffic here, or the limit is not"
        " an idle timeout"))  # fmt: skip
    assert [f.message for f in idle_findings({**record, "fix": None})] == [timeout.message]


def test_idle_timeout_takes_one_url_over_http1(tmp_path: Path) -> None:
    done = subprocess.run(
        [script_path(), "probe", "--idle-timeout", "5", "--hold", "3", "ws://127.0.0.1:1/"],
        capture_output=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert b"--idle-timeout probes one URL over HTTP/1.1, without --hold" in done.stderr


def test_hold_at_a_terminal_shows_each_event_and_ctrl_c_shows_the_report_so_far(
    tmp_path: Path,
) -> None:
    """Issue 24, item 6: pongs as they come on stderr (a terminal), then Ctrl-C: the
    handshake's verdict and the hold so far on stdout, and the end by the signal."""
    import pexpect

    from tests.test_terminal_ux import spawn_shell

    with EchoServer() as echo:
        child = spawn_shell(
            f"wsaccept probe --format plain --hold 30 --ping 0.3 ws://127.0.0.1:{echo.port}/",
            tmp_path,
        )
        child.expect(r"> ping 1")
        child.expect(r"< pong 1  RTT [0-9.]+ ms")
        child.expect(r"< pong 2  RTT [0-9.]+ ms")
        child.sendintr()
        child.expect(r"session\.end .*interrupted \(Ctrl-C\) after [0-9.]+ s: the hold so far")
        child.expect(r"pings answered")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 130 or child.signalstatus == 2

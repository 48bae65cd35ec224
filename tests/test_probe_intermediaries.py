"""`probe` through real reverse proxies started here, nginx and HAProxy, in front of a real
`websockets` server: a correct configuration passes, the classic broken nginx location (no
proxy_http_version 1.1, no Upgrade/Connection forwarding) fails naming nginx and its fix, a
gateway whose application is down is "answered by" the proxy, and an idle timeout shows when
the connection is held."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import Run
from tests.peers import EchoServer, haproxy, nginx
from tests.test_probe_proxies import NO_PROXY_ENV


def probe_json(run: Run, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("probe", "--format", "json", "--timeout", "5", *args, env=NO_PROXY_ENV)
    return result.exit_code, json.loads(result.stdout)


def finding(record: dict[str, Any], rule: str) -> dict[str, str]:
    return next(f for f in record["findings"] if f["rule"] == rule)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def nginx_port(echo: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with nginx(echo.port, tmp_path_factory.mktemp("nginx"), idle="1s") as port:
        yield port


@pytest.fixture(scope="module")
def haproxy_port(echo: EchoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with haproxy(echo.port, tmp_path_factory.mktemp("haproxy"), tunnel="1s") as port:
        yield port


def test_nginx_configured_for_websockets_passes(run: Run, nginx_port: int) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{nginx_port}/good")
    assert (code, record["outcome"], record["status"]) == (0, "ok", 101)
    assert record["intermediary"]["name"] == "nginx"
    assert record["intermediary"]["answered"] is False
    message = finding(record, "response.intermediary")["message"]
    assert message.startswith("passed through nginx (Server: nginx")
    assert "proxy_read_timeout" in message


def test_the_classic_broken_nginx_location_names_nginx_and_its_fix(
    run: Run, nginx_port: int
) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{nginx_port}/broken")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    assert record["status"] != 101
    found = finding(record, "response.intermediary")
    assert found["status"] == "fail"
    assert found["message"].startswith("the response came through nginx (Server: nginx")
    for setting in ("proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade"):
        assert setting in found["message"]


def test_nginx_with_its_application_down_answered_itself(run: Run, nginx_port: int) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{nginx_port}/down")
    assert (code, record["status"]) == (1, 502)
    assert record["intermediary"]["answered"] is True
    assert finding(record, "response.intermediary")["message"].startswith(
        "answered by nginx (its error page: '<center>nginx"
    )
    assert "not by the WebSocket application" in finding(record, "response.intermediary")["message"]


@pytest.mark.slow
def test_nginx_idle_timeout_shows_when_the_connection_is_held(run: Run, nginx_port: int) -> None:
    code, record = probe_json(run, "--hold", "3", f"ws://127.0.0.1:{nginx_port}/good")
    held = record["held"]
    assert (held["ended"], held["by"]) == ("reset", "fin")  # nginx sends no Close frame
    assert 0.8 < held["after_s"] < 2.5  # proxy_read_timeout 1s, not the 3 s hold
    assert finding(record, "session.end")["status"] == "fail"  # a held connection dropped
    assert code == 1


def test_haproxy_passes_and_its_down_backend_answers_503(run: Run, haproxy_port: int) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{haproxy_port}/chat")
    assert (code, record["outcome"]) == (0, "ok")
    code, record = probe_json(run, f"ws://127.0.0.1:{haproxy_port}/down")
    assert (code, record["status"]) == (1, 503)
    assert record["intermediary"]["name"] == "HAProxy"
    assert record["intermediary"]["answered"] is True
    assert "No server is available" in finding(record, "response.intermediary")["message"]


@pytest.mark.slow
def test_haproxy_timeout_tunnel_with_pings_keeps_it_open(run: Run, haproxy_port: int) -> None:
    url = f"ws://127.0.0.1:{haproxy_port}/chat"
    code, record = probe_json(run, "--hold", "2.5", url)
    assert record["held"]["ended"] in ("closed", "reset")
    assert record["held"]["after_s"] < 2
    code, record = probe_json(run, "--hold", "2", "--ping", "0.4", url)
    held = record["held"]
    assert (code, held["ended"], held["close_code"]) == (0, "open", 1000)
    assert len(held["pings"]) >= 4
    assert all(ping["rtt_ms"] is not None for ping in held["pings"])

"""Probes on a process's event loop (net.cooperative): the same result as a probe run in a
thread, against real servers that answer, refuse, stall, drip and hang up; waits bounded by the
probe's deadline without holding up the other probes on the loop; host names looked up without
blocking it; and which URLs go there (net.many.on_loop)."""

from __future__ import annotations

import os
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hostile_server import HostileServer, drip, endless_head, fixed, upgrade_head
from tests.peers import EchoServer, free_port
from wsaccept_cli.core.keys import accept_for
from wsaccept_cli.net import cooperative
from wsaccept_cli.net.endpoint import Checked, Settings, check
from wsaccept_cli.net.many import on_loop
from wsaccept_cli.stream.spread import Threads


def on_the_loop(work: Callable[[Any], Any], items: list[Any]) -> list[tuple[bool, Any]]:
    """Each item worked on by greenlets of one loop in this thread, all at once (as
    stream.spread's dispatcher runs them: waiting in `select` for its own pipe)."""
    selector = selectors.DefaultSelector()
    signal_in, signal_out = os.pipe()
    selector.register(signal_in, selectors.EVENT_READ, "results")
    done: dict[int, tuple[bool, Any]] = {}

    def finished(index: int, ok: bool, result: Any) -> None:
        done[index] = (ok, result)
        os.write(signal_out, b".")

    others = Threads(work, 4, finished, selector)
    pool = cooperative.Pool(work, finished, selector, lambda item: True, others)
    try:
        for index, item in enumerate(items):
            pool.submit(index, item)
        while len(done) < len(items):
            assert [key.data for key, _ in pool.select()] == ["results"]
            os.read(signal_in, 4096)
    finally:
        pool.close()
        selector.close()
        os.close(signal_in)
        os.close(signal_out)
    assert pool.hub is not None
    assert cooperative.current() is None
    return [done[index] for index in range(len(items))]


def seen(checked: Checked) -> dict[str, Any]:
    """What a user sees of a probe, less what differs from one probe to the next (the key and
    its accept, timings)."""
    key = checked.request.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0]
    accept = accept_for(key).decode()
    return {
        "outcome": checked.outcome,
        "closing": checked.result.closing,
        "error": str(checked.result.error) if checked.result.error else None,
        "findings": [
            (f.rule, f.status, f.message.replace(key.decode(), "KEY").replace(accept, "ACCEPT"))
            for f in checked.report.findings
        ],
        "status": checked.report.handshake.response.status
        if checked.report.handshake.response
        else None,
    }


BEHAVIOURS = {
    "101": fixed(lambda peer: upgrade_head(peer.accept), hold=1),
    "101 from a named server": fixed(lambda peer: upgrade_head(peer.accept, b"Server: x"), hold=1),
    "101 wrong accept": fixed(upgrade_head(b"x3JJHMbDL1EzLkh9GBhXDw=="), hold=0.5),
    "400 with a body": fixed(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope!"),
    "a dripped head": drip(lambda peer: upgrade_head(peer.accept), 0.002, size=7),
    "an endless head": endless_head(),
    "no HTTP at all": fixed(b"SSH-2.0-OpenSSH_9.2\r\n", hold=0.5),
    "silence": fixed(b"", hold=3),
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, HostileServer]]:
    running = {name: HostileServer(behaviour) for name, behaviour in BEHAVIOURS.items()}
    for server in running.values():
        server.__enter__()
    try:
        yield running
    finally:
        for server in running.values():
            server.close()


def test_each_probe_on_the_loop_is_the_probe_a_thread_makes(
    servers: dict[str, HostileServer],
) -> None:
    settings = Settings(timeout=1.5)
    urls = [server.url() for server in servers.values()]
    urls.append(f"ws://127.0.0.1:{free_port()}/")  # refused
    threaded = [seen(check(url, settings)) for url in urls]
    looped = on_the_loop(lambda url: seen(check(url, settings)), urls)
    assert all(ok for ok, _ in looped)
    assert [result for _, result in looped] == threaded
    outcomes = {url: result["outcome"].label for url, result in zip(urls, threaded, strict=True)}
    assert outcomes[servers["101"].url()] == "ok"
    assert outcomes[servers["silence"].url()] == "timeout"
    assert outcomes[urls[-1]] == "connect_failed"


def test_a_stalled_probe_holds_up_no_other_probe_on_the_loop(
    servers: dict[str, HostileServer],
) -> None:
    """Three silent servers and twenty good ones at once: the good ones end long before the
    silent ones' deadline, which ends them (a blocking wait would have queued them all)."""
    settings = Settings(timeout=1.0)
    ended: dict[str, float] = {}
    started = time.monotonic()

    def probe(url: str) -> str:
        label = check(url, settings).outcome.label
        ended[url] = time.monotonic() - started
        return label

    silent, good = servers["silence"].url(), servers["101"].url()
    urls = [silent + "a", silent + "b", silent + "c"] + [f"{good}{n}" for n in range(40)]
    results = on_the_loop(probe, urls)
    assert [result for _, result in results] == ["timeout"] * 3 + ["ok"] * 40
    assert max(ended[url] for url in urls[3:]) < 0.8
    assert all(1.0 <= ended[url] < 1.5 for url in urls[:3])


def test_a_host_name_is_looked_up_without_blocking_the_loop() -> None:
    with EchoServer() as echo:
        settings = Settings(timeout=5)
        urls = [f"ws://localhost:{echo.port}/", f"ws://127.0.0.1:{echo.port}/"]
        results = on_the_loop(lambda url: check(url, settings).outcome.label, urls)
    assert results == [(True, "ok"), (True, "ok")]


def test_a_bug_in_the_work_is_handed_back_not_lost() -> None:
    def work(item: int) -> int:
        if item == 1:
            raise ZeroDivisionError("a bug")
        return item

    results = on_the_loop(work, [0, 1, 2])
    assert results[0] == (True, 0)
    assert results[2] == (True, 2)
    assert not results[1][0]
    assert isinstance(results[1][1], ZeroDivisionError)


def test_a_coop_socket_fails_and_times_out_as_a_socket_does() -> None:
    refused = cooperative.CoopSocket()
    refused.settimeout(1)
    with pytest.raises(ConnectionRefusedError):
        refused.connect(("127.0.0.1", free_port()))
    refused.close()
    with HostileServer(lambda peer: peer.stop.wait(3), read_request=False) as deaf:
        connection = cooperative.CoopSocket()
        connection.settimeout(2)
        connection.connect(("127.0.0.1", deaf.port))
        connection.settimeout(0.3)
        with pytest.raises(TimeoutError):
            connection.sendall(b"x" * 64 * 1024 * 1024)
        connection.close()


def test_a_coop_socket_outside_a_loop_waits_like_a_socket() -> None:
    with EchoServer() as echo:
        connection = cooperative.CoopSocket()
        connection.settimeout(2)
        connection.connect(("127.0.0.1", echo.port))
        connection.settimeout(0.2)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            connection.recv(10)
        assert 0.2 <= time.monotonic() - started < 1
        connection.settimeout(0.0)
        with pytest.raises(BlockingIOError):
            connection.recv(10)
        connection.close()


@pytest.mark.parametrize(
    ("url", "options", "environ", "expected"),
    [
        ("ws://127.0.0.1:1/", {}, {}, True),
        ("ws://example.test/x", {}, {}, True),
        ("wss://127.0.0.1:1/", {}, {}, False),  # TLS: threads
        ("ws://127.0.0.1:1/", {"follow": True}, {}, False),  # a redirect may lead to TLS
        ("ws://127.0.0.1:1/", {"proxy": "http://127.0.0.1:3128"}, {}, False),
        ("ws://example.test/", {}, {"http_proxy": "http://127.0.0.1:3128"}, False),
        (
            "ws://example.test/",
            {"noproxy": "example.test"},
            {"http_proxy": "http://127.0.0.1:3128"},
            True,
        ),
        ("ws://[::1/", {"proxy": "http://127.0.0.1:3128"}, {}, True),  # fails without a wait
        ("ws://127.0.0.1:1/", {"proxy": ""}, {"http_proxy": "http://127.0.0.1:3128"}, True),
        ("WS://127.0.0.1:1/", {}, {}, True),
        ("ftp://not-ws/", {}, {}, False),
        ("http://127.0.0.1:1/", {}, {}, False),
    ],
)
def test_which_urls_go_on_the_loop(
    url: str, options: dict[str, Any], environ: dict[str, str], expected: bool
) -> None:
    assert on_loop(url, Settings(environ=environ, **options)) is expected


def test_closing_the_loop_finishes_the_probes_under_way(
    servers: dict[str, HostileServer],
) -> None:
    """What a Ctrl-C or an error in the caller leaves: probes still waiting on their servers
    are run to their end (bounded by their timeout) before the loop goes."""
    selector = selectors.DefaultSelector()
    ended: list[str] = []
    settings = Settings(timeout=0.5)
    pool = cooperative.Pool(
        lambda url: check(url, settings).outcome.label,
        lambda index, ok, result: ended.append(result),
        selector,
        lambda item: True,
        Threads(str, 1, lambda *_: None, selector),
    )
    started = time.monotonic()
    pool.submit(0, servers["silence"].url())
    pool.submit(1, servers["silence"].url())
    assert ended == []
    pool.close()
    assert ended == ["timeout", "timeout"]
    assert 0.5 <= time.monotonic() - started < 1.5
    assert cooperative.current() is None
    selector.close()


def test_a_lookup_slower_than_the_deadline_times_the_probe_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = socket.getaddrinfo

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    settings = Settings(timeout=0.3)
    started = time.monotonic()
    results = on_the_loop(lambda url: check(url, settings).result.error, ["ws://localhost:1/"])
    assert results[0][0]
    assert "no connection within 0.3 s" in str(results[0][1])
    assert time.monotonic() - started < 0.9  # the loop did not wait for the lookup's thread


def test_a_pool_whose_items_all_go_to_threads_waits_on_the_selector_alone() -> None:
    selector = selectors.DefaultSelector()
    signal_in, signal_out = os.pipe()
    selector.register(signal_in, selectors.EVENT_READ, "results")
    done: list[Any] = []

    def finished(index: int, ok: bool, result: Any) -> None:
        done.append((index, ok, result))
        os.write(signal_out, b".")

    pool = cooperative.Pool(
        str.upper, finished, selector, lambda item: False, Threads(str.upper, 2, finished, selector)
    )
    pool.submit(0, "a")
    assert [key.data for key, _ in pool.select()] == ["results"]
    pool.close()
    assert pool.hub is None
    assert done == [(0, True, "A")]
    selector.close()
    os.close(signal_in)
    os.close(signal_out)

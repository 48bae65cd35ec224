"""SOCKS proxies that answer wrongly (issue 22, item 4): every malformed reply is `proxy_failed`,
exit 6, saying what was wrong, never a traceback; `--timeout` bounds the whole exchange, so a
proxy that drips its reply cannot stretch it. Scripted SOCKS4 and SOCKS5 servers started here;
a hypothesis property sends arbitrary replies."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Run, run_script, socket_server

NO_PROXY = {"no_proxy": None, "NO_PROXY": None, "ALL_PROXY": None, "all_proxy": None}


def socks5(*replies: bytes, drip: float = 0.0) -> Any:
    """A SOCKS5 proxy that reads each client message and answers the next reply (dripped a
    byte every `drip` seconds if given), then closes."""

    def behave(connection: socket.socket) -> None:
        connection.settimeout(5)
        for reply in replies:
            connection.recv(1024)
            if drip:
                for byte in reply:
                    connection.sendall(bytes([byte]))
                    time.sleep(drip)
            else:
                connection.sendall(reply)

    return behave


def probe_through(
    run: Run, scheme: str, port: int, timeout: str = "3"
) -> tuple[int, dict[str, Any]]:
    result = run(
        "probe", "--format", "json", "--timeout", timeout, "-x", f"{scheme}://127.0.0.1:{port}",
        "ws://example.test/", env=NO_PROXY,
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


NO_AUTH = b"\x05\x00"
CASES = [
    ("socks5h", socks5(b"\x04\x00"), "sent a malformed SOCKS reply"),
    ("socks5h", socks5(b"\x05"), "closed the connection after 1 of 2 reply bytes"),
    (
        "socks5h",
        socks5(NO_AUTH, b"\x05\x00\x00\x03\x04\xff\xfe\xfd\xfc\x00\x50"),
        "sent a malformed SOCKS reply",
    ),
    ("socks5h", socks5(NO_AUTH, b"\x05\x00\x00\x03\xff" + b"a" * 20), "closed the connection"),
    ("socks5h", socks5(NO_AUTH, b"\x05\x00\x00\x09\x00\x00"), "sent a malformed SOCKS reply"),
    ("socks5h", socks5(NO_AUTH, b"\x06\x00\x00\x01" + bytes(6)), "sent a malformed SOCKS reply"),
    ("socks5h", socks5(NO_AUTH, b"\x05\x05\x00\x01" + bytes(6)), "refused the connection"),
    ("socks5h", socks5(b"\x05\x02"), "sent a malformed SOCKS reply"),  # a login not offered
    ("socks4a", socks5(b"\x07\x5a\x00\x50\x7f\x00\x00\x01"), "sent a malformed SOCKS reply"),
    ("socks4a", socks5(b"\x00\x5a\x00"), "closed the connection after 3 of 8 reply bytes"),
    ("socks4a", socks5(b"\x00\x5b" + bytes(6)), "refused the connection"),
]


@pytest.mark.parametrize(("scheme", "behaviour", "said"), CASES)
def test_a_malformed_socks_reply_is_a_proxy_failure(
    run: Run, scheme: str, behaviour: Any, said: str
) -> None:
    with socket_server(behaviour) as port:
        code, record = probe_through(run, scheme, port)
    assert (code, record["outcome"]) == (6, "proxy_failed")
    message = record["findings"][-1]["message"]
    assert message.startswith(f"the SOCKS proxy {scheme}://127.0.0.1:{port}")
    assert said in message


def test_a_proxy_that_drips_its_reply_is_bounded_by_the_timeout() -> None:
    # 12 bytes, one every 0.25 s: 3 s in all, where each read alone would be within 1 s
    behaviour = socks5(NO_AUTH, b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50", drip=0.25)
    with socket_server(behaviour) as port:
        started = time.monotonic()
        done = run_script(
            ["probe", "--timeout", "1", "-x", f"socks5h://127.0.0.1:{port}", "ws://example.test/"],
            no_proxy="",
            NO_PROXY="",
        )
        took = time.monotonic() - started
    assert done.returncode == 5
    assert done.stderr == b""
    assert took < 2.5
    assert done.stdout.decode().splitlines()[-1].endswith("outcome: timeout")


class Replies:
    """One SOCKS server for every example: each connection gets the current replies."""

    def __init__(self) -> None:
        self.replies: tuple[bytes, ...] = ()

    def behave(self, connection: socket.socket) -> None:
        socks5(*self.replies)(connection)


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Replies, int]]:
    replies = Replies()
    with socket_server(replies.behave) as port:
        yield replies, port


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.binary(max_size=3),
    reply=st.binary(max_size=40)
    | st.builds(lambda tail: b"\x05\x00\x00" + tail, st.binary(max_size=30)),
    scheme=st.sampled_from(["socks5h", "socks4a"]),
)
def test_any_socks_reply_is_a_verdict_never_a_traceback(
    run: Run, scripted: tuple[Replies, int], method: bytes, reply: bytes, scheme: str
) -> None:
    replies, port = scripted
    replies.replies = (method, reply) if scheme == "socks5h" else (reply,)
    code, record = probe_through(run, scheme, port, timeout="0.5")
    assert code in (1, 5, 6), record  # the tunnel may even open: then the "server" is the proxy

"""`serve` and its relay keep credentials out of every output format, as `probe` does (issue 22,
item 7): a client's Authorization, Proxy-Authorization and Cookie, an upstream's Set-Cookie, and
the same secrets echoed elsewhere; `--show-secrets` shows them."""

from __future__ import annotations

import socket
import time

import pytest

from tests.helpers import accept_of, key_of, read_request, socket_server
from tests.serve_helpers import handshake_request, raw_client, serving

SECRETS = ["tok-SECRET-1", "cookie-SECRET-2", "dXNlcjpwYXNzLVNFQ1JFVC0z", "pass-SECRET-3"]
CREDENTIALS = (
    "Authorization: Bearer tok-SECRET-1\r\nCookie: sid=cookie-SECRET-2\r\n"
    "Proxy-Authorization: Basic dXNlcjpwYXNzLVNFQ1JFVC0z\r\n"
)


def served_output(args: list[str]) -> str:
    with serving(["--once", "--grace", "0.2", *args]) as served:
        connection, head = raw_client(
            served.port, handshake_request(served.port, extra=CREDENTIALS)
        )
        assert head.startswith(b"HTTP/1.1 101 ")
        time.sleep(0.5)  # accepted: open past --grace
        connection.close()
        assert served.wait() == 0
    assert served.stderr == b""
    return served.stdout.decode()


@pytest.mark.parametrize("args", [["--format", "json"], ["-v"], ["--format", "rich", "-v"]])
def test_serve_redacts_what_the_client_sent(args: list[str]) -> None:
    out = served_output(args)
    for secret in SECRETS:
        assert secret not in out
    if "json" in args:
        assert '"Authorization: [redacted; --show-secrets shows it]"' in out
        assert '"Cookie: [redacted; --show-secrets shows it]"' in out


def test_show_secrets_shows_them() -> None:
    out = served_output(["--format", "json", "--show-secrets"])
    assert '"Authorization: Bearer tok-SECRET-1"' in out


def upstream_setting_cookies(connection: socket.socket) -> None:
    request = read_request(connection)
    connection.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_of(key_of(request)) + b"\r\n"
        b"Set-Cookie: session=set-SECRET-4; Path=/; HttpOnly\r\n"
        b"X-Echo: tok-SECRET-1\r\n\r\n"
    )
    connection.settimeout(2)
    connection.recv(1)


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_the_relay_redacts_both_sides(fmt: str) -> None:
    with (
        socket_server(upstream_setting_cookies) as port,
        serving(
            ["--upstream", f"ws://127.0.0.1:{port}/", "--once", "--format", fmt, "-v"]
        ) as relay,
    ):
        connection, head = raw_client(relay.port, handshake_request(relay.port, extra=CREDENTIALS))
        assert b"set-SECRET-4" in head  # the client gets the upstream's answer unchanged
        connection.close()
        relay.wait()
    out = relay.stdout.decode()
    for secret in [*SECRETS, "set-SECRET-4"]:
        assert secret not in out
    if fmt == "json":
        assert '"Set-Cookie: session=[redacted; --show-secrets shows it]; Path=/; HttpOnly"' in out
        assert '"X-Echo: [redacted; --show-secrets shows it]"' in out

"""`probe` redirects (-L), pinned addresses (--resolve, --connect-to, -4/-6), TLS client
certificates (mutual TLS with trustme certificates), and a held connection (--hold, --ping,
--send) against real `websockets` servers on loopback."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.helpers import (
    Run,
    accept_of,
    hold_and_answer_close,
    key_of,
    read_request,
    run_script,
    socket_server,
)
from tests.peers import EchoServer, free_port
from tests.test_probe_proxies import NO_PROXY_ENV


def probe_json(run: Run, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("probe", "--format", "json", "--timeout", "5", *args, env=NO_PROXY_ENV)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def rules(record: dict[str, Any], rule: str) -> list[dict[str, str]]:
    return [f for f in record["findings"] if f["rule"] == rule]


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def redirecting(location: Callable[[bytes], str]) -> Callable[[socket.socket], None]:
    def behave(connection: socket.socket) -> None:
        request = read_request(connection)
        to = location(request)
        connection.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    return behave


def test_a_redirect_without_l_fails_showing_the_location(run: Run, echo: EchoServer) -> None:
    with socket_server(redirecting(lambda _: f"ws://127.0.0.1:{echo.port}/")) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/old")
    assert (code, record["status"], record["redirects"]) == (1, 302, [])
    assert f"ws://127.0.0.1:{echo.port}/" in json.dumps(record["findings"])


def test_l_follows_a_chain_reporting_every_hop(run: Run, echo: EchoServer) -> None:
    with socket_server(redirecting(lambda _: f"http://127.0.0.1:{echo.port}/new")) as second:
        first_server = socket_server(redirecting(lambda _: f"ws://localhost:{second}/b"))
        with first_server as first:
            code, record = probe_json(run, "-L", f"ws://127.0.0.1:{first}/a")
    assert (code, record["outcome"], record["status"]) == (0, "ok", 101)
    assert record["url"] == f"ws://127.0.0.1:{echo.port}/new"
    hops = record["redirects"]
    assert [(h["status"], h["to"], h["host_changed"]) for h in hops] == [
        (302, f"ws://localhost:{second}/b", True),
        (302, f"ws://127.0.0.1:{echo.port}/new", True),
    ]
    assert [f["status"] for f in rules(record, "redirect.hop")] == ["warn", "warn"]
    assert "(the host changes)" in rules(record, "redirect.hop")[0]["message"]


def test_l_stops_at_a_loop_and_at_max_redirs(run: Run) -> None:
    with socket_server(redirecting(lambda r: "/b" if b"GET /a" in r else "/a")) as port:
        code, record = probe_json(run, "-L", f"ws://127.0.0.1:{port}/a")
        assert (code, record["outcome"]) == (1, "handshake_failed")
        assert rules(record, "redirect.loop")[0]["message"] == (
            f"a redirect loop: ws://127.0.0.1:{port}/a was visited before"
        )
    with socket_server(redirecting(lambda r: r.split(b" ")[1].decode() + "a")) as port:
        code, record = probe_json(run, "-L", "--max-redirs", "1", f"ws://127.0.0.1:{port}/a")
    assert code == 1
    assert len(record["redirects"]) == 2
    assert rules(record, "redirect.limit")[0]["message"] == "more than 1 redirects (--max-redirs)"


def test_resolve_pins_a_name_to_an_address(run: Run, echo: EchoServer) -> None:
    url = f"ws://backend.example.test:{echo.port}/"
    code, record = probe_json(run, "--resolve", f"backend.example.test:{echo.port}:127.0.0.1", url)
    assert (code, record["address"]) == (0, f"127.0.0.1:{echo.port}")
    assert record["pinned"] == [f"--resolve backend.example.test:{echo.port}:127.0.0.1"]
    assert echo.requests[-1].headers["Host"] == f"backend.example.test:{echo.port}"


def test_connect_to_keeps_the_host_header(run: Run, echo: EchoServer) -> None:
    url = "ws://app.example.test/chat"
    code, record = probe_json(
        run, "--connect-to", f"app.example.test:80:127.0.0.1:{echo.port}", url
    )
    assert (code, record["address"]) == (0, f"127.0.0.1:{echo.port}")
    assert echo.requests[-1].headers["Host"] == "app.example.test"
    code, record = probe_json(run, "--connect-to", f"::127.0.0.1:{echo.port}", url)
    assert code == 0


def test_ipv4_and_ipv6_only(run: Run) -> None:
    def upgrade(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with socket_server(upgrade, family=socket.AF_INET6) as port:
        pin = f"dual.test:{port}:127.0.0.1,[::1]"
        code, record = probe_json(run, "-6", "--resolve", pin, f"ws://dual.test:{port}/")
        assert (code, record["address"]) == (1, f"[::1]:{port}")
        code, record = probe_json(run, "-4", f"ws://[::1]:{port}/")
    assert (code, record["outcome"]) == (3, "connect_failed")
    result = run("probe", "-4", "-6", "ws://x/")
    assert result.exit_code == 2


def test_bad_pins_are_usage_errors(run: Run) -> None:
    for option, value, message in [
        ("--resolve", "a.test:80", "is not HOST:PORT:ADDRESS"),
        ("--resolve", "a.test:80:not-an-ip", "'not-an-ip' is not an IP address"),
        ("--connect-to", "a:1:b", "is not HOST1:PORT1:HOST2:PORT2"),
        ("--connect-to", "a:99999:b:1", "'99999' is not a TCP port"),
    ]:
        result = run("probe", option, value, "ws://a.test/")
        assert result.exit_code == 2
        assert message in result.stderr


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, trustme.CA]]:
    """A wss:// server that requires a client certificate from its CA."""
    ca, tmp = trustme.CA(), tmp_path_factory.mktemp("mtls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    client = ca.issue_cert("client@example.test", common_name="probe client")
    client.cert_chain_pems[0].write_to_path(str(tmp / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp / "client.key"))
    client.private_key_and_cert_chain_pem.write_to_path(str(tmp / "both.pem"))
    with EchoServer(tls=context) as server:
        yield server.port, tmp, ca


def test_mutual_tls_needs_the_client_certificate(
    run: Run, mtls: tuple[int, Path, trustme.CA]
) -> None:
    port, tmp, _ = mtls
    url = f"wss://localhost:{port}/"
    code, record = probe_json(run, "--cacert", str(tmp / "ca.pem"), url)
    assert (code, record["outcome"]) in ((4, "tls_failed"), (1, "handshake_failed"))
    assert "client certificate" in record["findings"][-1]["message"]
    cert = ["--cert", str(tmp / "client.pem"), "--key", str(tmp / "client.key")]
    code, record = probe_json(run, "--cacert", str(tmp / "ca.pem"), *cert, url)
    assert (code, record["outcome"]) == (0, "ok")
    tls = record["tls"]
    assert tls["client_certificate"] is True
    assert tls["subject"] == "O=trustme, OU=Testing CA #1"[:0] + tls["subject"]
    assert tls["issuer"].startswith("O=trustme")
    assert tls["days_left"] > 14
    assert not rules(record, "tls.expiry")
    code, record = probe_json(
        run, "--cacert", str(tmp / "ca.pem"), "--cert", str(tmp / "both.pem"), url
    )
    assert code == 0


def test_k_skips_the_check_and_key_needs_cert(run: Run, mtls: tuple[int, Path, trustme.CA]) -> None:
    port, tmp, _ = mtls
    cert = ["--cert", str(tmp / "client.pem"), "--key", str(tmp / "client.key")]
    code, record = probe_json(run, "-k", *cert, f"wss://localhost:{port}/")
    assert (code, record["tls"]["verified"]) == (0, False)
    result = run("probe", "--key", str(tmp / "client.key"), f"wss://localhost:{port}/")
    assert result.exit_code == 2
    assert "--key is the private key of --cert" in result.stderr


@pytest.mark.parametrize(
    ("left", "days", "said"),
    [
        (datetime.timedelta(days=5), (4, 5), ("expires in 4 days", "expires in 5 days")),
        (datetime.timedelta(hours=5, minutes=30), (0,), ("expires in 5 hours",)),
        (datetime.timedelta(minutes=30), (0,), ("expires in 29 minutes", "expires in 30 minutes")),
    ],
    ids=["days", "hours", "minutes"],
)
def test_a_certificate_expiring_soon_is_a_warning(
    run: Run, tmp_path: Path, left: datetime.timedelta, days: tuple[int], said: tuple[str]
) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    soon = datetime.datetime.now(datetime.timezone.utc) + left
    ca.issue_cert("localhost", not_after=soon).configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with EchoServer(tls=context) as server:
        code, record = probe_json(
            run, "--cacert", str(tmp_path / "ca.pem"), f"wss://localhost:{server.port}/"
        )
    assert code == 0
    assert record["tls"]["days_left"] in days
    (expiry,) = rules(record, "tls.expiry")
    assert expiry["status"] == "warn"
    assert expiry["message"].startswith("the server's certificate ")
    assert any(expiry["message"].startswith(f"the server's certificate {s} (") for s in said)


def test_send_shows_what_comes_back_and_ping_times_pongs(run: Run, echo: EchoServer) -> None:
    code, record = probe_json(
        run, "--send", "hello", "--ping", "0.2", f"ws://127.0.0.1:{echo.port}/"
    )
    held = record["held"]
    assert (code, held["ended"], held["close_code"]) == (0, "open", 1000)
    assert held["messages"][0]["data"] == "hello"
    assert held["messages"][0]["rtt_ms"] >= 0
    assert held["pings"][0]["rtt_ms"] >= 0
    assert rules(record, "session.message")[0]["message"].startswith(
        "sent 'hello'; came back: 'hello'"
    )


def test_a_peer_that_closes_is_reported_with_its_code(run: Run) -> None:
    with EchoServer(close_after=0.3) as server:
        code, record = probe_json(run, "--hold", "3", f"ws://127.0.0.1:{server.port}/")
    held = record["held"]
    assert (code, held["ended"], held["close_code"], held["close_reason"]) == (
        0,
        "closed",
        1001,
        "going away",
    )
    assert 0.2 < held["after_s"] < 2
    assert rules(record, "session.end")[0]["message"].startswith("closed by the peer after")


def test_a_reset_after_the_upgrade(run: Run) -> None:
    def upgrade_then_drop(connection: socket.socket) -> None:
        accept = accept_of(key_of(read_request(connection)))
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        connection.recv(100)
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )

    with socket_server(upgrade_then_drop) as port:
        code, record = probe_json(run, "--send", "x", "--hold", "2", f"ws://127.0.0.1:{port}/")
    assert code == 1  # reset before the end of the hold: a failed finding
    assert (record["held"]["ended"], record["held"]["by"]) == ("reset", "rst")
    assert record["held"]["after_s"] < 1.5


def test_hold_and_ping_need_seconds(run: Run) -> None:
    result = run("probe", "--hold", "nan", "ws://x/")
    assert result.exit_code == 2
    assert free_port() > 0


def test_a_redirect_to_what_cannot_be_probed(run: Run, echo: EchoServer) -> None:
    with socket_server(redirecting(lambda _: "ftp://files.example/")) as port:
        code, record = probe_json(run, "-L", f"ws://127.0.0.1:{port}/")
    assert code == 1
    assert rules(record, "redirect.location")[0]["message"] == (
        "the Location 'ftp://files.example/' is not a ws:// URL"
    )
    with socket_server(redirecting(lambda _: "wss://secure.example/")) as port:
        result = run(
            "probe", "--format", "json", "-L", f"ws://127.0.0.1:{port}/",
            env={**NO_PROXY_ENV, "https_proxy": "gopher://p"},
        )  # fmt: skip
    record = json.loads(result.stdout)
    assert "(the scheme and host changes)" in rules(record, "redirect.hop")[0]["message"]
    assert rules(record, "redirect.location")[0]["message"].startswith("https_proxy: ")


def test_every_address_is_tried_and_a_pin_of_the_wrong_family(run: Run, echo: EchoServer) -> None:
    pin = f"two.test:{echo.port}:127.0.0.2,127.0.0.1"
    code, record = probe_json(run, "--resolve", pin, f"ws://two.test:{echo.port}/")
    assert (code, record["address"]) == (0, f"127.0.0.1:{echo.port}")
    code, record = probe_json(run, "-4", "--resolve", "six.test:80:[::1]", "ws://six.test/")
    assert (code, record["findings"][-1]["message"]) == (
        3, "--resolve gives no IPv4 address for six.test (-4)"
    )  # fmt: skip


def test_a_cert_file_that_is_no_certificate(run: Run, tmp_path: Path) -> None:
    bogus = tmp_path / "cert.pem"
    bogus.write_text("not a certificate\n")
    result = run("probe", "--cert", str(bogus), "wss://127.0.0.1:9/")
    assert result.exit_code == 2
    assert f"--cert '{bogus}': no PEM certificate and private key that match" in result.stderr
    result = run("probe", "--cert", str(tmp_path), "wss://127.0.0.1:9/")
    assert result.exit_code == 2


def test_a_client_certificate_from_another_ca(
    run: Run, mtls: tuple[int, Path, trustme.CA], tmp_path: Path
) -> None:
    port, tmp, _ = mtls
    stranger = trustme.CA().issue_cert("someone@example.test")
    stranger.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "stranger.pem"))
    code, record = probe_json(
        run, "--cacert", str(tmp / "ca.pem"), "--cert", str(tmp_path / "stranger.pem"),
        f"wss://localhost:{port}/",
    )  # fmt: skip
    assert (code, record["outcome"]) in ((4, "tls_failed"), (1, "handshake_failed"))


def test_a_server_ping_is_answered_and_binary_messages_are_hex(run: Run) -> None:
    async def handler(connection: Any) -> None:
        await connection.ping(b"p")
        await connection.send(b"\x00\xff")
        await connection.wait_closed()

    server = EchoServer()
    server.handler = handler  # type: ignore[method-assign]
    with server:
        code, record = probe_json(run, "--send", "x", f"ws://127.0.0.1:{server.port}/")
    assert code == 0
    assert record["held"]["messages"][0] == {
        **record["held"]["messages"][0],
        "type": "binary",
        "data": "00ff",
    }


def test_a_redirect_echoing_the_password_is_redacted(run: Run, echo: EchoServer) -> None:
    with socket_server(redirecting(lambda _: f"ws://127.0.0.1:{echo.port}/?p=hunter2-pw")) as port:
        result = run(
            "probe", "--format", "json", "-L", f"ws://me:hunter2-pw@127.0.0.1:{port}/",
            env=NO_PROXY_ENV,
        )  # fmt: skip
    assert result.exit_code == 0
    assert "hunter2-pw" not in result.stdout
    assert "redacted" in json.loads(result.stdout)["redirects"][0]["location"]


def test_send_text_that_is_not_utf8_is_a_usage_error() -> None:
    done = run_script([b"probe", b"--send", b"\xff\xfe", b"ws://127.0.0.1:9/"])  # type: ignore[list-item]
    assert done.returncode == 2
    assert b"--send: TEXT is not valid UTF-8" in done.stderr
    assert b"Traceback" not in done.stderr


def upgrading_then(frames: bytes) -> Callable[[socket.socket], None]:
    """A scripted server: a valid 101, then `frames` as they are, then it waits."""

    def behave(connection: socket.socket) -> None:
        accept = accept_of(key_of(read_request(connection)))
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + frames
        )
        time.sleep(1)

    return behave


def test_a_frame_that_breaks_the_protocol_ends_the_session(run: Run) -> None:
    with socket_server(upgrading_then(b"\x83\x00")) as port:  # opcode 3 is reserved
        code, record = probe_json(run, "--hold", "2", f"ws://127.0.0.1:{port}/")
    assert (code, record["held"]["ended"], record["held"]["close_code"]) == (
        1,
        "protocol_error",
        1002,
    )
    assert rules(record, "session.end")[0]["status"] == "fail"  # the server broke the protocol


def test_at_most_a_hundred_messages_are_kept(run: Run) -> None:
    with socket_server(upgrading_then(b"\x81\x01a" * 150)) as port:
        code, record = probe_json(run, "--hold", "0.5", f"ws://127.0.0.1:{port}/")
    assert (code, len(record["held"]["messages"])) == (0, 100)


def test_tls_failure_hints() -> None:
    from wsaccept_cli.net.connect import Route, tls_failure

    error = ssl.SSLError(1, "alert")
    error.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"  # type: ignore[misc]
    assert tls_failure(error, Route()).endswith("(the server may require a client certificate:"
                                                " --cert FILE --key FILE)")  # fmt: skip
    error.reason = "SSLV3_ALERT_BAD_CERTIFICATE"  # type: ignore[misc]
    assert tls_failure(error, Route(cert="c.pem")).endswith(
        "(the server refused the client certificate given with --cert)"
    )


def test_credentials_are_not_sent_on_when_the_scheme_changes(run: Run, tmp_path: Path) -> None:
    """wss://app.test/ redirects to ws://app.test:443/: the same host and port, another scheme
    (a downgrade to cleartext). As curl, -H Cookie and the URL's password are not sent on; the
    hop says so. One port speaks both: TLS when the first byte is a ClientHello."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("app.test").configure_cert(context)
    cacert = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(cacert))
    plain_requests: list[bytes] = []

    def both(connection: socket.socket) -> None:
        connection.settimeout(5)
        if connection.recv(1, socket.MSG_PEEK) == b"\x16":
            with context.wrap_socket(connection, server_side=True) as secure:
                read_request(secure)
                secure.sendall(
                    b"HTTP/1.1 301 Moved\r\nLocation: ws://app.test:443/plain\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            return
        request = read_request(connection)
        plain_requests.append(request)
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_of(key_of(request)) + b"\r\n\r\n"
        )
        hold_and_answer_close(connection, 1)

    with socket_server(both) as port:
        code, record = probe_json(
            run, "-L", "--cacert", str(cacert), "--connect-to", f"app.test:443:127.0.0.1:{port}",
            "-H", "Cookie: session=s3cr3t-cookie", "wss://bob:pw-5678@app.test/",
        )  # fmt: skip
    assert (code, record["outcome"]) == (0, "ok")
    (request,) = plain_requests
    assert b"Cookie" not in request
    assert b"Authorization" not in request
    (hop,) = record["redirects"]
    assert (hop["scheme_changed"], hop["host_changed"]) == (True, False)
    assert hop["credentials_dropped"] == ["Cookie", "the URL's user and password"]
    assert rules(record, "redirect.hop")[0]["message"] == (
        "301 from wss://bob@app.test/ to ws://app.test:443/plain (the scheme changes); followed"
        " (-L); Cookie and the URL's user and password not sent on, since the scheme changes"
        " (as curl)"
    )
    assert "s3cr3t-cookie" not in json.dumps(record)

"""`probe` through real forward proxies started here: tinyproxy for HTTP CONNECT (with and
without Basic auth, and one that refuses the port), pproxy for SOCKS5 (with and without auth)
and for an HTTPS proxy; the proxy chosen from -x or the environment as curl chooses it."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.helpers import Run, read_request, socket_server
from tests.peers import EchoServer, free_port, pproxy, tinyproxy
from wsaccept_cli.core.proxyenv import variables_for

NO_PROXY_ENV: dict[str, str | None] = dict.fromkeys(
    {*variables_for(True), *variables_for(False), "no_proxy", "NO_PROXY"}
)


def probe_json(
    run: Run, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    result = run(
        "probe", "--format", "json", "--timeout", "5", *args, env={**NO_PROXY_ENV, **(env or {})}
    )
    assert result.stderr == "" or "error" not in result.stderr, result.stderr
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def echo_tls(ca: trustme.CA) -> Iterator[EchoServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with EchoServer(tls=context) as server:
        yield server


@pytest.fixture(scope="module")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def open_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as port:
        yield port


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with tinyproxy(
        tmp_path_factory.mktemp("tinyproxy-auth"), "BasicAuth alice s3cret-pass"
    ) as port:
        yield port


def test_through_tinyproxy_with_the_option(run: Run, open_proxy: int, echo: EchoServer) -> None:
    code, record = probe_json(
        run, "-x", f"http://127.0.0.1:{open_proxy}", f"ws://127.0.0.1:{echo.port}/"
    )
    assert (code, record["outcome"]) == (0, "ok")
    assert record["proxy"]["url"] == f"http://127.0.0.1:{open_proxy}"
    assert record["proxy"]["source"] == "--proxy"
    assert record["proxy"]["status"] == 200
    assert record["address"] == f"127.0.0.1:{open_proxy}"
    finding = next(f for f in record["findings"] if f["rule"] == "connection.proxy")
    assert finding["message"] == (
        f"through the proxy http://127.0.0.1:{open_proxy}: the --proxy option names it"
    )


def test_wss_through_tinyproxy_from_https_proxy(
    run: Run, open_proxy: int, echo_tls: EchoServer, cafile: str
) -> None:
    env = {"https_proxy": f"127.0.0.1:{open_proxy}", "http_proxy": "http://127.0.0.1:1"}
    code, record = probe_json(run, "--cacert", cafile, f"wss://localhost:{echo_tls.port}/", env=env)
    assert (code, record["outcome"]) == (0, "ok")
    assert record["proxy"]["source"] == "https_proxy"
    assert record["proxy"]["reason"] == "the environment variable https_proxy names it"
    assert record["tls"]["version"].startswith("TLSv1")
    assert record["tls"]["subject"] is not None


def test_ws_proxy_wins_and_no_proxy_bypasses(run: Run, open_proxy: int, echo: EchoServer) -> None:
    env = {"ws_proxy": f"http://127.0.0.1:{open_proxy}", "http_proxy": "http://127.0.0.1:1"}
    code, record = probe_json(run, f"ws://127.0.0.1:{echo.port}/", env=env)
    assert (code, record["proxy"]["source"]) == (0, "ws_proxy")
    code, record = probe_json(
        run, f"ws://127.0.0.1:{echo.port}/", env={**env, "no_proxy": "localhost,127.0.0.0/8"}
    )
    assert code == 0
    assert record["proxy"]["url"] is None
    assert record["proxy"]["reason"] == "no_proxy matches '127.0.0.0/8', so ws_proxy is not used"
    code, record = probe_json(run, "--proxy", "", f"ws://127.0.0.1:{echo.port}/", env=env)
    assert code == 0
    assert record["proxy"]["reason"] == "--proxy '' ignores the proxy environment variables"


def test_upper_case_http_proxy_is_ignored_as_curl_does(run: Run, echo: EchoServer) -> None:
    code, record = probe_json(
        run, f"ws://127.0.0.1:{echo.port}/", env={"HTTP_PROXY": "http://127.0.0.1:1"}
    )
    assert (code, record["proxy"]["url"]) == (0, None)


def test_basic_auth_refused_then_accepted(run: Run, auth_proxy: int, echo: EchoServer) -> None:
    url = f"ws://127.0.0.1:{echo.port}/"
    code, record = probe_json(run, "-x", f"http://127.0.0.1:{auth_proxy}", url)
    assert (code, record["outcome"]) == (6, "proxy_failed")
    message = record["findings"][-1]["message"]
    assert message.startswith(
        f"the proxy http://127.0.0.1:{auth_proxy} refused CONNECT 127.0.0.1:{echo.port}: 407"
    )
    assert "Proxy-Authenticate: Basic" in message
    result = run(
        "probe", "--timeout", "5", "-x", f"http://alice:s3cret-pass@127.0.0.1:{auth_proxy}", url,
        env=NO_PROXY_ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    assert "s3cret-pass" not in result.stdout + result.stderr
    assert f"via proxy http://alice@127.0.0.1:{auth_proxy}" in result.stdout
    code, record = probe_json(run, "-x", f"http://alice:wrong@127.0.0.1:{auth_proxy}", url)
    assert code == 6
    assert "the credentials in the proxy URL were refused" in record["findings"][-1]["message"]


def test_a_proxy_that_refuses_the_port(run: Run, tmp_path: Path, echo: EchoServer) -> None:
    with tinyproxy(tmp_path, "ConnectPort 443") as port:
        code, record = probe_json(
            run, "-x", f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{echo.port}/"
        )
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert ": 403 " in record["findings"][-1]["message"]
    assert record["proxy"]["status"] == 403


def test_an_unreachable_proxy(run: Run, echo: EchoServer) -> None:
    dead = free_port()
    code, record = probe_json(run, "-x", f"http://127.0.0.1:{dead}", f"ws://127.0.0.1:{echo.port}/")
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert record["findings"][-1]["message"].startswith(
        f"cannot connect to the proxy at 127.0.0.1:{dead}"
    )


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_through_socks5(run: Run, scheme: str, echo: EchoServer) -> None:
    with pproxy("socks5") as port:
        code, record = probe_json(
            run, "-x", f"{scheme}://127.0.0.1:{port}", f"ws://localhost:{echo.port}/"
        )
    assert (code, record["outcome"]) == (0, "ok")
    assert record["proxy"]["url"] == f"{scheme}://127.0.0.1:{port}"


def test_socks5_auth(run: Run, echo: EchoServer) -> None:
    # pproxy remembers an address that has logged in, so the wrong password goes first
    with pproxy("socks5", auth="bob:pw-1234") as port:
        url = f"ws://127.0.0.1:{echo.port}/"
        code, record = probe_json(run, "-x", f"socks5://bob:nope@127.0.0.1:{port}", url)
        assert (code, record["outcome"]) == (6, "proxy_failed")
        assert record["findings"][-1]["message"].startswith(
            f"the SOCKS proxy socks5://bob@127.0.0.1:{port} refused the connection"
        )
        code, record = probe_json(run, "-x", f"socks5://bob:pw-1234@127.0.0.1:{port}", url)
        assert (code, record["outcome"]) == (0, "ok")
        assert "pw-1234" not in json.dumps(record)


def test_a_socks_error_reply_is_a_proxy_failure(run: Run) -> None:
    # pproxy replies "succeeded" before it connects, so a refusal comes from a scripted peer
    def refuse(connection: socket.socket) -> None:
        connection.recv(16)  # greeting
        connection.sendall(b"\x05\x00")  # no authentication
        connection.recv(300)  # the CONNECT request
        connection.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")  # connection refused

    with socket_server(refuse) as port:
        code, record = probe_json(run, "-x", f"socks5h://127.0.0.1:{port}", "ws://example.test/")
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert "Connection refused" in record["findings"][-1]["message"]


def test_through_an_https_proxy(
    run: Run, ca: trustme.CA, cafile: str, tmp_path: Path, echo: EchoServer
) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "proxy.pem", tmp_path / "proxy.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    with pproxy("http+ssl", ssl_files=(cert, key)) as port:
        code, record = probe_json(
            run,
            "--cacert",
            cafile,
            "-x",
            f"https://127.0.0.1:{port}",
            f"ws://127.0.0.1:{echo.port}/",
        )
    assert (code, record["outcome"]) == (0, "ok"), record["findings"][-1]
    assert record["proxy"]["tls"]["version"].startswith("TLSv1")


def test_a_bad_proxy_url_is_a_usage_error(run: Run, echo: EchoServer) -> None:
    result = run(
        "probe", "-x", "ftp://127.0.0.1:21", f"ws://127.0.0.1:{echo.port}/", env=NO_PROXY_ENV
    )
    assert result.exit_code == 2
    assert "the proxy scheme 'ftp' is not one of" in result.stderr


def scripted_proxy(answer: bytes) -> Any:
    """A proxy that reads a CONNECT and answers `answer` (b"": closes)."""

    def behave(connection: socket.socket) -> None:
        read_request(connection)
        if answer:
            connection.sendall(answer)

    return socket_server(behave)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"", "closed the connection without answering to CONNECT"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "sent no HTTP response: an SSH banner ('SSH-2.0-OpenSSH')"),
        (
            b"HTTP/1.1 502 Bad Gateway\r\n\r\n",
            "502 Bad Gateway (the proxy could not reach the server)",
        ),
    ],
)
def test_a_proxy_that_does_not_open_the_tunnel(run: Run, answer: bytes, message: str) -> None:
    with scripted_proxy(answer) as port:
        code, record = probe_json(run, "-x", f"127.0.0.1:{port}", "ws://example.test/")
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert message in record["findings"][-1]["message"]


def test_an_https_proxy_with_an_untrusted_certificate(
    run: Run, ca: trustme.CA, tmp_path: Path
) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "proxy.pem", tmp_path / "proxy.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    with pproxy("http+ssl", ssl_files=(cert, key)) as port:
        code, record = probe_json(run, "-x", f"https://127.0.0.1:{port}", "ws://example.test/")
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert record["findings"][-1]["message"].startswith(
        f"TLS with the proxy https://127.0.0.1:{port}: the server's certificate was refused"
    )


def test_through_socks4a(run: Run, echo: EchoServer) -> None:
    # an address, not a name: pproxy resolves localhost to ::1, where nothing listens
    with pproxy("socks4") as port:
        for scheme in ("socks4", "socks4a"):
            code, record = probe_json(
                run, "-x", f"{scheme}://127.0.0.1:{port}", f"ws://127.0.0.1:{echo.port}/"
            )
            assert (code, record["outcome"]) == (0, "ok")


def test_an_unreachable_socks_proxy_and_one_that_never_answers(run: Run) -> None:
    dead = free_port()
    code, record = probe_json(run, "-x", f"socks5h://127.0.0.1:{dead}", "ws://example.test/")
    assert (code, record["outcome"]) == (6, "proxy_failed")
    assert record["findings"][-1]["message"].startswith(
        f"cannot connect to the proxy socks5h://127.0.0.1:{dead}"
    )
    with socket_server(lambda connection: connection.recv(100) and time.sleep(2)) as port:
        result = run(
            "probe",
            "--format",
            "json",
            "--timeout",
            "0.5",
            "-x",
            f"socks5h://127.0.0.1:{port}",
            "ws://example.test/",
            env=NO_PROXY_ENV,
        )
    assert (result.exit_code, json.loads(result.stdout)["outcome"]) == (5, "timeout")


def test_a_pin_applies_through_a_proxy(run: Run, open_proxy: int, echo: EchoServer) -> None:
    url = f"ws://pinned.example.test:{echo.port}/"
    pin = f"pinned.example.test:{echo.port}:127.0.0.1"
    code, record = probe_json(run, "-x", f"http://127.0.0.1:{open_proxy}", "--resolve", pin, url)
    assert (code, record["pinned"]) == (0, [f"--resolve {pin}"])
    code, record = probe_json(run, "-x", f"http://127.0.0.1:{open_proxy}", "ws://a..b/")
    assert (code, record["outcome"]) == (3, "connect_failed")


def test_a_proxy_that_never_answers_connect(run: Run) -> None:
    with socket_server(lambda connection: (read_request(connection), time.sleep(2))) as port:
        result = run(
            "probe", "--format", "json", "--timeout", "0.5", "-x", f"http://127.0.0.1:{port}",
            "ws://example.test/", env=NO_PROXY_ENV,
        )  # fmt: skip
    record = json.loads(result.stdout)
    assert (result.exit_code, record["outcome"]) == (5, "timeout")
    assert record["findings"][-1]["message"] == (
        f"the proxy http://127.0.0.1:{port} did not answer CONNECT example.test:80 in time"
    )


@pytest.mark.parametrize("password", ["pa/ss-9731", "pa?ss-9731", "pa#ss-9731", "pa@ss-9731"])
@pytest.mark.parametrize("fmt", ["plain", "json", "rich"])
def test_a_proxy_password_with_url_delimiters_is_never_printed(
    run: Run, password: str, fmt: str
) -> None:
    """Typed unencoded, '/', '?', '#' and '@' end a password at the last '@' (as users mean it);
    no message shows any of it: a usage error, a refusal (407), an unreachable proxy."""
    secret = password.split("-")[0][3:] + "-9731"  # what follows the delimiter
    dead = free_port()
    with scripted_proxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"
    ) as port:
        results = [
            run("probe", "--format", fmt, "-x", f"http://bob:{password}@127.0.0.1:{port}",
                "ws://example.test/", env=NO_PROXY_ENV),
            run("probe", "--format", fmt, "-x", f"socks5h://bob:{password}@127.0.0.1:{dead}",
                "ws://example.test/", env=NO_PROXY_ENV),
            run("probe", "--format", fmt, "-x", f"http://bob:{password}@127.0.0.1:99999",
                "ws://example.test/", env=NO_PROXY_ENV),
            run("probe", "--format", fmt, "ws://example.test/",
                env={**NO_PROXY_ENV, "ws_proxy": f"ftp://bob:{password}@127.0.0.1:1"}),
        ]  # fmt: skip
    assert [r.exit_code for r in results] == [6, 6, 2, 2]
    # Rich output wraps long lines with a hanging indent: the words are read across the breaks,
    # and so would a secret be if the wrapping had split it.
    words = [" ".join((r.stdout + r.stderr).split()) for r in results]
    assert "the credentials in the proxy URL were refused" in words[0]
    for result, text in zip(results, words):
        assert secret not in result.stdout + result.stderr
        assert "9731" not in result.stdout + result.stderr + text.replace(" ", "")

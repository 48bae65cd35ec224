"""Rules that match what real clients and servers do (issue 13): exact where peers are strict,
warnings where they split, no false alarms, and explanations that point at the cause; in
`inspect` and, over a live connection, in `probe`."""

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
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import (
    RFC_ACCEPT,
    RFC_KEY,
    Run,
    hold_and_answer_close,
    read_request,
    socket_server,
)
from tests.test_probe import accept_of, answering, key_of, probe_json, upgrade
from wsaccept_cli.core.diagnose import diagnose_accept
from wsaccept_cli.core.extensions import deflate_problem, parse_extensions

REQUEST = (
    "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n"
)
UPGRADED = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n"
)


def inspect(run: Run, capture: str) -> dict[str, Any]:
    result = run("inspect", "--format", "json", input=capture)
    record: dict[str, Any] = json.loads(result.stdout)
    record["exit"] = result.exit_code
    return record


def finding(record: dict[str, Any], rule: str) -> tuple[str, str, str]:
    found = [f for f in record["findings"] if f["rule"] == rule]
    assert len(found) == 1, (rule, record["findings"])
    return found[0]["status"], found[0]["section"], found[0]["message"]


def test_response_upgrade_must_be_exactly_websocket(run: Run) -> None:
    response = UPGRADED.replace("Upgrade: websocket", "Upgrade: websocket, h2c")
    record = inspect(run, REQUEST + "\r\n" + response + "\r\n")
    status, section, message = finding(record, "response.upgrade")
    assert (status, section, record["exit"]) == ("fail", "§4.1", 1)
    assert message.startswith("Upgrade is 'websocket, h2c'; it must be exactly the token")
    record = inspect(run, REQUEST + "\r\n" + UPGRADED.replace("websocket", "WebSocket") + "\r\n")
    assert finding(record, "response.upgrade")[0] == "pass"


@pytest.mark.parametrize(
    ("value", "section", "text"),
    [
        ("permessage-deflate; foo=1", "RFC 7692 §7", "unknown parameter 'foo'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         "RFC 7692 §7", "has server_no_context_takeover twice"),
        ("permessage-deflate; server_max_window_bits=16", "RFC 7692 §7", "it must be 8 to 15"),
        ("permessage-deflate; client_max_window_bits=7", "RFC 7692 §7", "it must be 8 to 15"),
        ("permessage-deflate; server_max_window_bits=08", "RFC 7692 §7", "it must be 8 to 15"),
        ("permessage-deflate; client_max_window_bits", "RFC 7692 §7",
         "without a value; in a response it needs one (RFC 7692 §7.1.2.2)"),
        ("permessage-deflate; server_no_context_takeover=1", "RFC 7692 §7", "it takes no value"),
        ("permessage-deflate, permessage-deflate", "RFC 7692 §5",
         "accepted permessage-deflate 2 times"),
        ("permessage-deflate;", "§9.1", "not name;param=value syntax"),
    ],
)  # fmt: skip
def test_permessage_deflate_responses_are_checked(
    run: Run, value: str, section: str, text: str
) -> None:
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    capture = REQUEST + offer + "\r\n" + UPGRADED + f"Sec-WebSocket-Extensions: {value}\r\n\r\n"
    record = inspect(run, capture)
    status, found_section, message = finding(record, "response.extensions")
    assert (status, found_section, record["exit"]) == ("fail", section, 1)
    assert text in message


def test_a_valid_deflate_response_passes_and_the_same_extension_twice_warns(run: Run) -> None:
    offer = "Sec-WebSocket-Extensions: permessage-deflate, x-foo\r\n"
    good = "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n"
    record = inspect(run, REQUEST + offer + "\r\n" + UPGRADED + good + "\r\n")
    assert finding(record, "response.extensions")[0] == "pass"
    twice = "Sec-WebSocket-Extensions: x-foo, x-foo\r\n"
    record = inspect(run, REQUEST + offer + "\r\n" + UPGRADED + twice + "\r\n")
    status, _, message = finding(record, "response.extensions")
    assert (status, record["exit"]) == ("warn", 0)
    assert "the same extension twice" in message


def test_malformed_deflate_offers_warn_that_the_server_must_decline_them(run: Run) -> None:
    offer = "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=20\r\n"
    record = inspect(run, REQUEST + offer + "\r\n")
    status, section, message = finding(record, "request.extensions")
    assert (status, section) == ("warn", "RFC 7692 §7")
    assert "a server must decline such an offer" in message
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    assert finding(inspect(run, REQUEST + offer + "\r\n"), "request.extensions")[0] == "pass"


def test_a_lowercase_method_is_a_request_line_that_fails(run: Run) -> None:
    record = inspect(run, REQUEST.replace("GET", "get") + "\r\n")
    status, _, message = finding(record, "request.method")
    assert (status, record["exit"]) == ("fail", 1)
    assert message == (
        "the method is get; it must be GET (methods are case-sensitive, RFC 9110 §9.1)"
    )


def test_request_upgrade_with_more_tokens_warns_naming_the_servers(run: Run) -> None:
    record = inspect(run, REQUEST.replace("Upgrade: websocket", "Upgrade: websocket, h2c") + "\r\n")
    status, _, message = finding(record, "request.upgrade")
    assert (status, record["exit"]) == ("warn", 0)
    assert "websockets, aiohttp, tornado and Node ws refuse" in message


def test_a_subprotocol_offered_and_none_chosen_warns(run: Run) -> None:
    capture = REQUEST + "Sec-WebSocket-Protocol: chat\r\n\r\n" + UPGRADED + "\r\n"
    record = inspect(run, capture)
    status, _, message = finding(record, "response.protocol")
    assert (status, record["exit"]) == ("warn", 0)
    assert "Chromium and Node ws fail the connection" in message
    refusing = [c["client"] for c in record["clients"] if not c["accepts"]]
    assert refusing == ["Chromium", "Node ws", "undici", "websocket-client"]


def test_non_canonical_key_is_a_warning(run: Run) -> None:
    key = RFC_KEY.replace("Q==", "R==")
    record = inspect(run, REQUEST.replace(RFC_KEY, key) + "\r\n")
    status, _, message = finding(record, "request.key")
    assert (status, record["exit"]) == ("warn", 0)
    assert "RFC 4648 §3.5 lets a decoder accept it" in message


def test_subprotocols_and_extensions_split_over_request_lines_are_allowed(run: Run) -> None:
    split = (
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: x-foo\r\n"
    )
    record = inspect(run, REQUEST + split + "\r\n")
    assert not [f for f in record["findings"] if f["rule"] == "request.duplicates"]
    assert record["verdict"] == "warn"  # only for the missing response


def test_a_request_alone_says_which_accept_the_server_must_send(run: Run) -> None:
    record = inspect(run, REQUEST + "\r\n")
    status, section, message = finding(record, "response")
    assert (status, section) == ("warn", "§4.2.2")
    assert message == (
        f"the capture has no response; the server must answer 101 with Sec-WebSocket-Accept:"
        f" {RFC_ACCEPT} (`wsaccept compute --response '{RFC_KEY}'` prints a complete one)"
    )


def test_the_key_hashed_without_its_padding_is_a_known_bug() -> None:
    import base64
    import hashlib

    from wsaccept_cli.core.keys import GUID

    unpadded = base64.b64encode(hashlib.sha1(RFC_KEY.rstrip("=").encode() + GUID).digest())
    cause = diagnose_accept(RFC_KEY.encode(), unpadded)
    assert cause == "the server hashed the key without its '=' padding"


@pytest.mark.parametrize(
    ("status", "origin", "shown"),
    [
        ("403 Forbidden", "Origin: https://evil.example\r\n", "the Origin sent was 'https://evil.example'"),
        ("401 Unauthorized", "", "no Origin was sent"),
    ],
)  # fmt: skip
def test_a_refused_valid_request_names_the_usual_server_checks(
    run: Run, status: str, origin: str, shown: str
) -> None:
    capture = REQUEST + origin + f"\r\nHTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nno\r\n"
    record = inspect(run, capture)
    kind, _, message = finding(record, "response.refusal")
    assert kind == "info"
    assert "the request is valid by RFC 6455" in message
    assert shown in message
    assert "Node ws answers 401 without WWW-Authenticate" in message
    assert record["body"] == ["no"]
    broken = capture.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")
    assert not [f for f in inspect(run, broken)["findings"] if f["rule"] == "response.refusal"]


def test_a_400_to_a_valid_request_is_not_explained_as_an_origin_allow_list(run: Run) -> None:
    """A server that got no upgrade headers (a proxy dropped them) answers 400: the
    explanation points there, not at an Origin check (which answers 403)."""
    capture = REQUEST + "\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno\r\n"
    kind, _, message = finding(inspect(run, capture), "response.refusal")
    assert kind == "info"
    assert "Origin" not in message
    assert "dropped the hop-by-hop Upgrade and Connection headers" in message


def test_a_426_without_versions_is_an_upgrade_the_server_did_not_see(run: Run) -> None:
    """A 426 naming no Sec-WebSocket-Version is no version mismatch: the server behind a proxy
    that dropped Upgrade asks for the upgrade it never saw."""
    capture = REQUEST + "\r\nHTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n"
    kind, _, message = finding(inspect(run, capture), "response.versions")
    assert kind == "info"
    assert "supports versions" not in message
    assert "not a version mismatch" in message
    assert "proxy in front of the server probably dropped" in message
    listed = capture.replace("Content-Length: 0", "Sec-WebSocket-Version: 8\r\nContent-Length: 0")
    assert finding(inspect(run, listed), "response.versions")[2] == (
        "the server supports versions: 8"
    )


def test_two_accepts_merged_into_one_list_are_named() -> None:
    twice = f"{RFC_ACCEPT}, {RFC_ACCEPT}".encode()
    assert diagnose_accept(RFC_KEY.encode(), twice).startswith(
        "it is 2 copies of the right accept joined into one comma-separated value"
    )
    other = f"{RFC_ACCEPT},xyz".encode()
    assert "joined with other values" in diagnose_accept(RFC_KEY.encode(), other)
    assert "comma" not in diagnose_accept(RFC_KEY.encode(), b"abc")


def test_an_accept_folded_after_an_empty_value_is_read_without_a_leading_space(run: Run) -> None:
    """obs-fold: `Sec-WebSocket-Accept:` CR LF SP accept is the accept, not ' accept'."""
    capture = (
        REQUEST
        + "\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        + f"Connection: Upgrade\r\nSec-WebSocket-Accept:\r\n {RFC_ACCEPT}\r\n\r\n"
    )
    record = inspect(run, capture)
    assert finding(record, "response.accept")[0] == "pass"
    aiohttp = next(c for c in record["clients"] if c["client"] == "aiohttp")
    assert aiohttp["accepts"] is True  # aiohttp's parser unfolds it too
    kind, section, message = finding(record, "response.grammar")
    assert (kind, section) == ("fail", "RFC 9112")
    assert "obs-fold" in message


def test_warnings_name_only_the_clients_the_predictions_refuse(run: Run) -> None:
    """A Connection list is allowed (RFC 9110 §7.6.1): the warning names aiohttp because its
    prediction refuses, and no client the predictions accept."""
    capture = REQUEST + (
        "\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        f"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    )
    record = inspect(run, capture)
    assert record["verdict"] == "warn"
    refused = [c["client"] for c in record["clients"] if not c["accepts"]]
    accepted = [c["client"] for c in record["clients"] if c["accepts"]]
    assert "aiohttp" in refused
    assert {"Chromium", "Firefox", "Node ws", "websockets", "curl"} <= set(accepted)
    warnings = [f for f in record["findings"] if f["status"] == "warn"]
    assert [f["rule"] for f in warnings] == ["response.clients"]
    message = warnings[0]["message"]
    assert message.startswith("the RFCs allow this 101, but aiohttp")
    assert message.endswith(" refuse it; the other clients open it")
    assert all(name in message for name in refused)
    assert not any(name in message for name in accepted)


def test_via_on_a_101_every_client_opens_is_no_warning(run: Run) -> None:
    capture = REQUEST + (
        "\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
        f"\r\nVia: 1.1 proxy\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    )
    record = inspect(run, capture)
    assert record["verdict"] == "pass"
    assert finding(record, "response.via")[0] == "info"
    refused = capture.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade")
    assert finding(inspect(run, refused), "response.via")[0] == "warn"


@pytest.mark.parametrize(
    ("head", "verdict"),
    [
        ("HTTP/1.1 101 Switching Protocols\r\n{good}", "pass"),
        ("HTTP/1.1 101 Switching Protocols\r\nX-Bad : y\r\n{good}", "fail"),  # RFC 9112 §5.1
        ("HTTP/1.1 101 Switching Protocols\r\nX-No-Colon\r\n{good}", "fail"),
        ("HTTP/1.1 101 Switching Protocols\r\nX: a\x01b\r\n{good}", "fail"),  # RFC 9110 §5.5
        ("HTTP/1.1 101\r\n{good}", "fail"),  # RFC 9112 §4: the space after the code
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n{good}", "warn"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: {accept}, {accept}\r\n", "fail"),
    ],
)  # fmt: skip
def test_the_verdict_follows_the_grammar_and_the_clients(head: str, verdict: str) -> None:
    """Grammar broken, or every client refuses: fail; some clients refuse what the RFCs allow:
    warn, naming them; pass only when none refuses."""
    from wsaccept_cli.core.exchange import parse_exchange
    from wsaccept_cli.core.rules import check_handshake
    from wsaccept_cli.core.rules import verdict as overall

    good = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    response = (head.replace("{good}", good).replace("{accept}", RFC_ACCEPT) + "\r\n").encode(
        "latin-1"
    )
    request = (REQUEST + "\r\n").encode()
    handshake, capture = parse_exchange(request, response)
    findings = check_handshake(handshake, capture)
    assert overall(findings) == verdict, [(f.rule, f.status, f.message) for f in findings]
    if verdict == "warn":
        clients = next(f for f in findings if f.rule == "response.clients")
        refused = [v.client for v in handshake.predicted if not v.accepts]
        assert refused[:2] == ["Chromium", "websockets"]
        assert clients.message.startswith(
            f"the RFCs allow this 101, but {', '.join(refused)} (status 100, not 101) refuse it"
        )


def test_extension_parsing_and_deflate_parameters() -> None:
    parsed = parse_extensions(['permessage-deflate; client_max_window_bits="10"; x', "y"])
    assert parsed is not None
    assert [(e.name, e.parameters) for e in parsed] == [
        ("permessage-deflate", [("client_max_window_bits", "10"), ("x", None)]),
        ("y", []),
    ]
    assert parse_extensions(["a; b=c d"]) is None
    assert parse_extensions(["a b"]) is None
    assert parse_extensions(["a;"], empty_parameters=True) is not None
    assert parse_extensions(["a; b, , c"]) is not None  # an empty item between commas
    assert parse_extensions(["a; b, c d"]) is None  # a name that is no token
    assert parse_extensions(['a; b="x"y']) is None
    assert deflate_problem([("client_max_window_bits", None)], response=False) is None
    assert deflate_problem([("server_max_window_bits", None)], response=False) is not None


# probe: the same over a live connection --------------------------------------------------------


def test_probe_reads_a_bare_lf_response_and_says_so(run: Run) -> None:
    def bare_lf(request: bytes) -> bytes:
        return upgrade(accept_of(key_of(request))).replace(b"\r\n", b"\n")

    started = time.monotonic()
    with socket_server(answering(bare_lf, lambda c: hold_and_answer_close(c, 2))) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--timeout", "5")
    assert time.monotonic() - started < 4  # the head ended at its blank line, no timeout
    assert (code, record["outcome"], record["verdict"]) == (0, "ok", "warn")
    status, section, message = finding(record, "response.line_endings")
    assert (status, section) == ("warn", "RFC 9112 §2.2")
    refused = {c["client"]: c["reason"] for c in record["clients"] if not c["accepts"]}
    assert refused == dict.fromkeys(["Node ws", "websockets", "undici"], "bare LF line endings")
    assert message.endswith("; Node ws, websockets and undici refuse it")  # from the predictions
    assert record["response"][:2] == ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"]


def test_probe_reports_a_cut_off_head_as_what_came(run: Run) -> None:
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    with socket_server(answering(lambda request: head, lambda c: None)) as port:
        code, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--timeout", "3")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    rules = [f["rule"] for f in record["findings"]]
    assert [rule for rule in rules if rule.startswith("response.")] == [
        "response.partial",
        "response.closed",
    ]
    status, _, message = finding(record, "response.partial")
    assert status == "info"
    assert message == (
        f"{len(head)} bytes of the response head came: the status line"
        " 'HTTP/1.1 101 Switching Protocols' and 1 header lines; the header rules were not run"
        " on a head that did not arrive whole"
    )
    assert "before the end of the response head" in finding(record, "response.closed")[2]
    assert record["clients"] == []


def test_probe_speaks_of_the_server_not_a_capture(run: Run) -> None:
    with socket_server(answering(lambda r: b"HTTP/1.1 403 Forbidden\r\n\r\n")) as port:
        _, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--origin", "https://a.example")
    messages = " ".join(f["message"] for f in record["findings"])
    assert "capture" not in messages
    assert "the Origin sent was 'https://a.example'" in messages


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_port(certificate_authority: trustme.CA) -> Iterator[int]:
    """A TLS server that answers the handshake with a valid 101."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)

    def behave(connection: socket.socket) -> None:
        with context.wrap_socket(connection, server_side=True) as secure:
            request = read_request(secure)
            secure.sendall(upgrade(accept_of(key_of(request))))
            hold_and_answer_close(secure, 0.3)

    with socket_server(behave) as port:
        yield port


def test_ws_to_a_tls_port_hints_at_wss(run: Run, tls_port: int) -> None:
    code, record = probe_json(run, f"ws://127.0.0.1:{tls_port}/", "--timeout", "3")
    assert (code, record["outcome"]) == (1, "handshake_failed")
    status, _, message = finding(record, "transport.scheme")
    assert status == "info"
    assert message.endswith("if this port speaks TLS, use a wss:// URL")

    def alert(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"\x15\x03\x01\x00\x02\x02\x46")  # a TLS alert, as OpenSSL sends

    with socket_server(alert) as port:
        _, record = probe_json(run, f"ws://127.0.0.1:{port}/", "--timeout", "3")
    assert finding(record, "transport.scheme")[2] == (
        "the server speaks TLS on this port (it answered with TLS, not HTTP): use a wss:// URL"
    )
    with socket_server(answering(lambda r: b"HTTP/1.1 403 Forbidden\r\n\r\n")) as port:
        _, record = probe_json(run, f"ws://127.0.0.1:{port}/")
    assert "transport.scheme" not in [f["rule"] for f in record["findings"]]


def test_wss_to_a_plain_port_hints_at_ws(run: Run) -> None:
    def plain_http(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")

    with socket_server(plain_http) as port:
        code, record = probe_json(run, f"wss://127.0.0.1:{port}/", "--timeout", "3")
    assert (code, record["outcome"]) == (4, "tls_failed")
    assert (
        "it speaks plain HTTP on this port, so try a ws:// URL" in record["findings"][-1]["message"]
    )


def test_a_leaf_certificate_as_cacert_is_named(
    run: Run, tls_port: int, certificate_authority: trustme.CA, tmp_path: Path
) -> None:
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(certificate_authority.issue_cert("localhost").cert_chain_pems[0].bytes())
    code, record = probe_json(run, f"wss://localhost:{tls_port}/", "--cacert", str(leaf))
    assert (code, record["outcome"]) == (4, "tls_failed")
    assert (
        f"--cacert {leaf} holds a server certificate, not a CA's"
        in (record["findings"][-1]["message"])
    )
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    code, record = probe_json(run, f"wss://localhost:{tls_port}/", "--cacert", str(other))
    assert code == 4
    assert record["findings"][-1]["message"].endswith(
        "(--cacert FILE trusts a private CA; -k/--insecure skips the check)"
    )
    ca = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca))
    code, record = probe_json(run, f"wss://localhost:{tls_port}/", "--cacert", str(ca))
    assert (code, record["outcome"]) == (0, "ok")


NAMES = st.sampled_from(
    ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
     "client_max_window_bits", "x_unknown"]
)  # fmt: skip
VALUES = st.one_of(st.none(), st.sampled_from(["8", "9", "15", "16", "7", "08", "1", "x", ""]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(NAMES, VALUES), max_size=4), st.booleans())
def test_deflate_parameters_agree_with_websockets(
    parameters: list[tuple[str, str | None]], response: bool
) -> None:
    """websockets' own parameter check (a client reading a response, a server reading an
    offer) is an independent implementation of RFC 7692 §7."""
    from websockets.exceptions import NegotiationError
    from websockets.extensions.permessage_deflate import _extract_parameters

    try:
        _extract_parameters(parameters, is_server=not response)
        valid = True
    except NegotiationError:
        valid = False
    assert (deflate_problem(parameters, response=response) is None) == valid


def test_predictions_need_a_request_line_and_status_and_are_for_browsers_over_http2() -> None:
    from wsaccept_cli.core.clients import ClientVerdict, predict_clients
    from wsaccept_cli.core.exchange import parse_exchange

    request = f"GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: {RFC_KEY}".encode()
    handshake, _ = parse_exchange(request, UPGRADED.encode() + b"\r\n")  # no blank line sent
    assert handshake.response is not None
    assert handshake.response.status == 101
    assert len(predict_clients(handshake)) == 12
    h2 = b":method: CONNECT\r\n:protocol: websocket\r\n\r\n"
    handshake, _ = parse_exchange(h2, b"HTTP/2 200 OK\r\n\r\n")
    assert [v.client for v in predict_clients(handshake) if v.accepts] == ["Chromium", "Firefox"]
    assert repr(ClientVerdict("curl", True, None)) == "ClientVerdict('curl', True, None)"

"""`wsaccept audit`: the catalogue (stable IDs, sections, at least 120 HTTP/1.1 cases), the
reference server `wsaccept serve` (no FAILED), serve with a fault and a server that upgrades
anything (the failures they imply), the outputs (plain, JSON, JUnit, HTML, hostile text), the
exit statuses, and start-up cost. The real servers' tables are in test_audit_servers.py."""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.helpers import RFC_KEY, Run, accept_of, clean_env, key_of, run_script, socket_server
from tests.serve_helpers import server_thread
from wsaccept_cli.core.audit import CATEGORIES, catalogue
from wsaccept_cli.core.audit.build import frame
from wsaccept_cli.core.audit.model import Outcome, Result, Server, parse_frames, summary
from wsaccept_cli.core.faults import BY_NAME, FAULTS, Fault
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.net.audit import run_audit
from wsaccept_cli.net.connect import Route
from wsaccept_cli.net.serve import ServeOptions

# --- the catalogue ----------------------------------------------------------------------------


def test_the_catalogue_has_at_least_120_cases_with_stable_unique_ids() -> None:
    cases = catalogue()
    ids = [case.id for case in cases]
    assert len(ids) >= 120
    assert len(set(ids)) == len(ids)
    for case in cases:
        category, number = case.id.split(".")
        assert category == case.category
        assert category in CATEGORIES
        assert number.isdigit()
        assert not number.startswith("0")
    assert [c.category for c in cases] == sorted((c.category for c in cases), key=CATEGORIES.index)
    for category in CATEGORIES:  # numbered 1, 2, 3… within each category, in order
        numbers = [int(c.id.split(".")[1]) for c in cases if c.category == category]
        assert numbers == list(range(1, len(numbers) + 1)), category


# A few IDs pinned: the meaning of an ID never changes (new cases go at the end).
PINNED = {
    "request.1": "a valid opening handshake",
    "request.10": "HTTP/1.0",
    "host.1": "no Host header",
    "host.2": "two Host headers with the same value",
    "upgrade.1": "no Upgrade header",
    "key.1": "no Sec-WebSocket-Key",
    "key.17": "a key whose padding bits are not zero",
    "version.2": "Sec-WebSocket-Version: 8",
    "framing.4": "both Content-Length and Transfer-Encoding",
    "limits.5": "a head of 1 MiB",
    "extension.1": "the offer 'permessage-deflate'",
    "origin.4": "a foreign Origin (https://evil.example)",
    "after.1": "an unmasked client frame",
}


def test_pinned_ids_keep_their_meaning() -> None:
    titles = {case.id: case.title for case in catalogue()}
    assert {case_id: titles[case_id] for case_id in PINNED} == PINNED


def test_every_case_rests_on_a_section_and_says_what_a_good_server_does() -> None:
    for case in catalogue():
        assert re.search(r"(RFC \d+ §[\d.]+|OWASP)", case.section), case.id
        assert case.title, case.id
        assert case.expected, case.id


def test_each_case_sends_its_own_key_and_a_well_formed_request_line() -> None:
    server = Server(host_header="127.0.0.1:9", path="/chat", secure=False)
    keys = set()
    for case in catalogue():
        request = case.build(case, server)
        assert request.pieces, case.id
        keys.add(case.key)
    assert len(keys) == len(catalogue())


def test_frames_round_trip_through_the_parser() -> None:
    data = frame(0x1, b"hello", mask=False) + frame(0x9, b"x" * 200) + frame(0x2, b"cut")[:-1]
    frames = parse_frames(data)
    assert [(f.opcode, f.masked, f.length) for f in frames] == [(1, False, 5), (9, True, 200)]
    assert [f.payload for f in frames] == [b"hello", b"x" * 125]


# --- serve, serve with a fault, a server that upgrades anything --------------------------------


def audit_port(
    port: int, *, categories: tuple[str, ...] = (), timeout: float = 2.0, parallel: int = 4
) -> list[Result]:
    target = RequestTarget(f"ws://127.0.0.1:{port}/chat")
    server = Server(host_header=target.host_header, path=target.path, secure=False)
    cases = [c for c in catalogue() if not categories or c.category in categories]
    return run_audit(cases, server, target, Route(), timeout=timeout, parallel=parallel)


def not_ok(results: list[Result]) -> dict[str, str]:
    return {r.case.id: r.outcome.label for r in results if r.outcome is not Outcome.OK}


# What the reference server does that is not OK: it takes every subprotocol it is offered
# (the first one) and no extension, checks no Origin and no Host against itself, takes an
# absolute ws:// target, and waits up to its --head-timeout (10 s) for a head.
SERVE_TABLE = {
    "request.16": "INFORMATIONAL",
    "host.8": "INFORMATIONAL",
    "host.9": "INFORMATIONAL",
    "host.10": "INFORMATIONAL",
    "limits.8": "INFORMATIONAL",
    "protocol.4": "INFORMATIONAL",
    **{f"extension.{n}": "UNIMPLEMENTED" for n in range(1, 21)},
    "origin.1": "INFORMATIONAL",
    **{f"origin.{n}": "INFORMATIONAL" for n in range(3, 12)},
}


def test_serve_the_reference_server_scores_no_failed() -> None:
    with server_thread(ServeOptions(head_timeout=10, grace=0.2)) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        results = audit_port(port)
    assert not_ok(results) == SERVE_TABLE
    assert summary(results)["FAILED"] == 0


def test_serve_with_a_wrong_accept_fails_every_case_that_must_upgrade() -> None:
    """serve --fault accept-guid-typo upgrades with a wrong accept: each case a correct server
    upgrades is FAILED for it, and the ones it must refuse stay OK (serve still refuses
    them)."""
    with server_thread(ServeOptions(faults=(BY_NAME["accept-guid-typo"],), grace=0.2)) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        results = audit_port(port, categories=("request", "upgrade", "key"))
    failed = {r.case.id for r in results if r.outcome is Outcome.FAILED}
    assert {"request.1", "request.11", "request.26", "upgrade.3", "key.20", "key.21"} <= failed
    assert all("Sec-WebSocket-Accept is" in r.verdict.why for r in results if r.case.id in failed)
    assert {r.case.id: r.outcome for r in results}["key.1"] is Outcome.OK


# What each serve --fault implies for the valid handshake (request.1) and a valid variant
# (request.11, HTTP/1.2): a broken 101 FAILED; an answer a client may accept not.
ALLOWED_FAULTS = {"upgrade-token-list": "OK", "http10-101": "OK", "protocol-missing": "OK",
                  "bare-lf": "NON-STRICT"}  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
def test_serve_with_each_fault_scores_what_the_fault_implies(fault: Fault) -> None:
    with server_thread(ServeOptions(faults=(fault,), grace=0.1)) as (url, _):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        target = RequestTarget(f"ws://127.0.0.1:{port}/")
        server = Server(host_header=target.host_header, path="/", secure=False)
        variants = [c for c in catalogue() if c.id in ("request.1", "request.11")]
        results = run_audit(variants, server, target, Route(), timeout=2)
    outcomes = [r.outcome.label for r in results]
    if fault.name in ALLOWED_FAULTS:
        assert outcomes == [ALLOWED_FAULTS[fault.name]] * 2
    elif fault.name == "accept-urlsafe":  # wrong only for keys whose accept has '+' or '/'
        assert "FAILED" in outcomes
    elif fault.name == "status-200":  # a 200 does not upgrade: the variant tells nothing
        assert outcomes == ["FAILED", "INFORMATIONAL"]
        assert results[0].verdict.why.startswith("answered 200 with a Sec-WebSocket-Accept")
    else:
        assert outcomes == ["FAILED", "FAILED"], [r.verdict.why for r in results]


def lenient(connection: socket.socket) -> None:
    """A server that answers 101 to anything that ends a head (or to nothing, after 0.3 s),
    with the accept of whatever key came, then echoes nothing and closes when the client
    does."""
    connection.settimeout(0.3)
    data = b""
    try:
        while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 2_000_000:
            chunk = connection.recv(65536)
            if not chunk:
                return
            data += chunk
    except TimeoutError:
        pass
    accept = accept_of(key_of(data)).decode()
    connection.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
    )
    connection.settimeout(2)
    while connection.recv(65536):
        pass


def test_a_server_that_upgrades_anything_scores_at_least_40_failed() -> None:
    with socket_server(lenient) as port:
        results = audit_port(port, timeout=1.0, parallel=16)
    counts = Counter(r.outcome for r in results)
    assert counts[Outcome.FAILED] >= 40
    failed = {r.case.id for r in results if r.outcome is Outcome.FAILED}
    assert {"request.2", "request.10", "host.1", "host.2", "key.1", "version.3"} <= failed
    assert {"framing.4", "framing.5", "limits.5", "after.2", "after.5"} <= failed


# --- the command -----------------------------------------------------------------------------


def test_list_cases_prints_every_case_without_connecting(run: Run) -> None:
    result = run("audit", "--list-cases")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(catalogue())
    assert lines[0].split()[:4] == ["request.1", "request", "RFC", "6455"]
    assert lines[0].endswith("RFC 6455 §4.2.2: a valid opening handshake")
    json_lines = run("audit", "--list-cases", "--format", "json", "--category", "host").output
    records = [json.loads(line) for line in json_lines.splitlines()]
    assert [r["id"] for r in records] == [f"host.{n}" for n in range(1, 11)]
    assert set(records[0]) == {"id", "category", "section", "title", "expected"}


def test_case_and_category_choose_cases_and_unknown_ones_are_usage_errors(run: Run) -> None:
    result = run("audit", "--list-cases", "--case", "key.3", "--case", "host.1")
    assert [line.split()[0] for line in result.output.splitlines()] == ["host.1", "key.3"]
    bad = run("audit", "--list-cases", "--case", "key.999")
    assert bad.exit_code == 2
    assert "no case 'key.999' (wsaccept audit --list-cases lists them)" in bad.output
    bad = run("audit", "--list-cases", "--category", "nope")
    assert bad.exit_code == 2
    assert "no category 'nope'; the categories: after," in bad.output
    missing = run("audit")
    assert missing.exit_code == 2
    assert "give a ws:// or wss:// URL (or --list-cases)" in missing.output
    for option, value in (("--parallel", "33"), ("--parallel", "0"), ("--delay", "-1")):
        assert run("audit", option, value, "ws://127.0.0.1:9/").exit_code == 2


@contextmanager
def lenient_url() -> Iterator[str]:
    with socket_server(lenient) as port:
        yield f"ws://127.0.0.1:{port}/chat"


def test_plain_output_lists_what_is_not_ok_then_a_table_and_exits_1() -> None:
    with lenient_url() as url:
        result = run_script(
            ["audit", "--category", "host", "--category", "after", "--timeout", "1", url]
        )
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.startswith(
        f"audit {url}\nFAILED        host.1        no Host header [RFC 9112 §3.2]\n"
    )
    assert "              expected: refuses it: a server MUST answer 400\n" in out
    assert "              observed: 101 Switching Protocols; then no frame" in out
    table = out[out.index("category ") :].splitlines()
    assert table[0].split() == ["category", *(o.label for o in Outcome)]
    assert [row.split()[0] for row in table[1:3]] == ["host", "after"]
    assert table[-1].startswith("audit: 23 cases: ")
    assert result.stderr == b""


def test_json_junit_and_html_reports(tmp_path: Path) -> None:
    with lenient_url() as url:
        result = run_script(
            [
                "audit",
                "--format",
                "json",
                "--category",
                "version",
                "--timeout",
                "1",
                "--junit",
                str(tmp_path / "a.xml"),
                "--html",
                str(tmp_path / "a.html"),
                url,
            ]
        )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert set(document) == {"url", "cases", "summary"}
    assert document["url"] == url
    assert len(document["cases"]) == 17
    first = document["cases"][0]
    assert {"id", "category", "section", "title", "outcome", "expected", "observed"} <= set(first)
    assert (first["id"], first["outcome"]) == ("version.1", "FAILED")
    assert first["status"] == 101
    assert document["summary"] == {
        "FAILED": 11, "NON-STRICT": 3, "INFORMATIONAL": 2, "UNIMPLEMENTED": 0, "OK": 1,
    }  # fmt: skip
    suite = ElementTree.parse(tmp_path / "a.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("17", "11")
    cases = suite.findall("testcase")
    assert cases[0].get("name") == "version.1 no Sec-WebSocket-Version"
    assert cases[0].find("failure") is not None
    outcome = cases[-1].find("properties/property[@name='outcome']")
    assert outcome is not None
    assert outcome.get("value") == "OK"
    page = (tmp_path / "a.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # self-contained
    assert page.count('data-outcome="FAILED"') == 11


def hostile(connection: socket.socket) -> None:
    """A server whose refusal carries markup and terminal escapes in its reason, headers and
    body."""
    connection.settimeout(2)
    connection.recv(65536)
    body = b"<script>alert(1)</script>\x1b]0;pwned\x07</td>"
    connection.sendall(
        b"HTTP/1.1 400 <b>Bad</b>\x1b[2J\r\nSec-WebSocket-Version: <img src=x onerror=alert(2)>\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_hostile_text_from_the_server_is_escaped_everywhere(tmp_path: Path) -> None:
    with socket_server(hostile) as port:
        url = f"ws://127.0.0.1:{port}/"
        args = [
            "audit",
            "--case",
            "version.2",
            "--timeout",
            "1",
            "--html",
            str(tmp_path / "p.html"),
        ]
        plain = run_script([*args, "--junit", str(tmp_path / "j.xml"), url])
        as_json = run_script([*args, "--format", "json", url])
    assert b"\x1b" not in plain.stdout
    assert b"\x07" not in plain.stdout
    assert b"\\x1b[2J" in plain.stdout
    assert b"\x1b" not in as_json.stdout
    page = (tmp_path / "p.html").read_text()
    for markup in ("<script>alert", "<img", "<b>Bad"):
        assert markup not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    ElementTree.parse(tmp_path / "j.xml")  # well-formed despite the control characters


def test_a_server_that_cannot_be_reached_exits_like_probe(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = run_script(["audit", f"ws://127.0.0.1:{port}/"])
    assert refused.returncode == 3
    assert refused.stdout == b""
    assert b"cannot connect to 127.0.0.1:" in refused.stderr
    proxy = run_script(["audit", "-x", f"http://127.0.0.1:{port}", "ws://127.0.0.1:9/"])
    assert proxy.returncode == 6
    with socket_server(hostile) as plain_port:  # wss:// to a server that speaks no TLS
        tls = run_script(["audit", "--timeout", "2", f"wss://127.0.0.1:{plain_port}/"])
    assert tls.returncode == 4

    def silent(connection: socket.socket) -> None:
        time.sleep(3)

    with socket_server(silent) as silent_port:  # connected, but nothing answers
        started = time.monotonic()
        mute = run_script(["audit", "--timeout", "1", f"ws://127.0.0.1:{silent_port}/"])
        assert time.monotonic() - started < 10  # not a timeout for each of 189 cases
    assert mute.returncode == 5
    assert b"no answer to the valid handshake (request.1) within 1 s" in mute.stderr
    with socket_server(silent) as silent_port:  # a proxy that never answers CONNECT
        slow = run_script(
            ["audit", "--timeout", "1", "-x", f"http://127.0.0.1:{silent_port}", "ws://a.test/"]
        )
    assert slow.returncode == 5


def test_the_audit_of_a_websockets_server_takes_under_10_seconds() -> None:
    from tests.peers import EchoServer

    with EchoServer() as echo:
        started = time.monotonic()
        results = audit_port(echo.port, timeout=5.0)
        took = time.monotonic() - started
    assert len(results) == len(catalogue())
    assert took < 10, took


def test_compute_loads_neither_jinja2_nor_the_audit() -> None:
    probe = (
        "import sys\n"
        "from wsaccept_cli.cli import cli\n"
        "try:\n"
        f"    cli.main(['compute', '{RFC_KEY}'], prog_name='wsaccept')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('jinja2', 'wsaccept_cli.core.audit',"
        " 'wsaccept_cli.net.audit', 'wsaccept_cli.ui.audit', 'markupsafe'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=30, env=clean_env(), check=True
    )
    assert ast.literal_eval(result.stdout.decode().splitlines()[-1]) == []


# --- over HTTP/2 (RFC 8441), with --http2 -------------------------------------------------------


def test_http2_cases_against_hypercorn() -> None:
    """Hypercorn (cleartext, prior knowledge) enables the extended CONNECT and answers each
    malformed request with a GOAWAY PROTOCOL_ERROR (h2's validation of what it receives); it
    answers a Sec-WebSocket-Key with an accept HTTP/2 does not use, and upgrades any
    :protocol (hypercorn/protocol/h2.py hands every extended CONNECT to the application as a
    WebSocket)."""
    from tests.h2_servers import WebSocketApp, hypercorn_server
    from wsaccept_cli.core.audit import h2_catalogue

    with hypercorn_server(WebSocketApp()) as port:
        target = RequestTarget(f"ws://127.0.0.1:{port}/chat")
        server = Server(host_header=target.host_header, path=target.path, secure=False)
        results = run_audit(list(h2_catalogue()), server, target, Route(), timeout=2)
    assert {r.case.id: r.outcome.label for r in results} == {
        "h2.1": "OK", "h2.2": "INFORMATIONAL", "h2.3": "OK", "h2.4": "OK", "h2.5": "OK",
        "h2.6": "NON-STRICT", "h2.7": "OK", "h2.8": "OK", "h2.9": "NON-STRICT", "h2.10": "OK",
    }  # fmt: skip
    by_id = {r.case.id: r for r in results}
    assert by_id["h2.4"].verdict.why.startswith("reset the stream (GOAWAY PROTOCOL_ERROR)")
    assert by_id["h2.2"].verdict.why == "not sent: the server enables the extended CONNECT"


def test_http2_cases_against_servers_without_rfc_8441(run: Run) -> None:
    """serve speaks HTTP/1.1 only (its answer to the HTTP/2 preface is a GOAWAY
    HTTP_1_1_REQUIRED), a silent server no HTTP at all: h2.1 says UNIMPLEMENTED, and the rest
    were not sent; the h2 cases need --http2."""
    with server_thread(ServeOptions(head_timeout=1)) as (url, _):
        result = run_script(
            ["audit", "--http2", "--category", "h2", "--timeout", "1", "--format", "json", url]
        )
    assert result.returncode == 0, result.stderr
    cases = {case["id"]: case for case in json.loads(result.stdout)["cases"]}
    assert cases["h2.1"]["outcome"] == "UNIMPLEMENTED"
    for number in range(2, 11):
        case = cases[f"h2.{number}"]
        assert case["outcome"] == "INFORMATIONAL", case
        assert case["observed"].startswith("not sent: "), case

    def no_http(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with socket_server(no_http) as port:
        silent = run_script(
            ["audit", "--http2", "--case", "h2.1", "--timeout", "1", f"ws://127.0.0.1:{port}/"]
        )
    assert "UNIMPLEMENTED h2.1" in silent.stdout.decode()
    bad = run("audit", "--list-cases", "--case", "h2.1")
    assert bad.exit_code == 2
    assert "'h2.1' is an HTTP/2 case: add --http2" in bad.output
    listed = run("audit", "--list-cases", "--http2", "--category", "h2").output.splitlines()
    assert len(listed) == 10
    assert listed[0].startswith("h2.1")


# --- the connection options of probe, politeness, memory ---------------------------------------


def test_wss_through_connect_to_with_a_ca_file(tmp_path: Path) -> None:
    """The audit's connections go through net.connect: TLS checked against --cacert, the
    address pinned by --connect-to while Host and SNI stay the URL's."""
    import ssl

    import trustme

    from tests.peers import EchoServer

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("audit.test").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with EchoServer(tls=context) as echo:
        pin = f"audit.test:443:127.0.0.1:{echo.port}"
        args = ["audit", "--category", "upgrade", "--connect-to", pin]
        trusted = run_script([*args, "--cacert", str(tmp_path / "ca.pem"), "wss://audit.test/"])
        untrusted = run_script([*args, "wss://audit.test/"])
        insecure = run_script([*args, "-k", "-v", "wss://audit.test/"])
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.decode().splitlines()[-1].startswith("audit: 19 cases: 0 FAILED")
    assert untrusted.returncode == 4
    assert b"certificate" in untrusted.stderr
    assert insecure.returncode == 0
    assert insecure.stdout.decode().count("\nOK            upgrade.") == 17  # -v shows OK too
    assert echo.requests[0].headers["Host"] == "audit.test"


def test_delay_spaces_the_connections() -> None:
    with server_thread(ServeOptions(head_timeout=1, grace=0.1)) as (url, seen):
        started = time.monotonic()
        result = run_script(["audit", "--delay", "0.3", "--case", "key.1", "--case", "key.2", url])
        took = time.monotonic() - started
        starts = sorted(connection.number for connection in seen)
    assert result.returncode == 0
    assert len(starts) == 3  # request.1 first, then the two cases
    assert took >= 0.6


def test_a_session_makes_a_foreign_origin_upgraded_a_failure() -> None:
    """OWASP WSTG-CLNT-10: serve checks no Origin, so with the user's cookie every foreign
    Origin it upgrades is cross-site WebSocket hijacking."""
    with server_thread(ServeOptions(head_timeout=1, grace=0.1)) as (url, seen):
        result = run_script(
            ["audit", "--category", "origin", "-H", "Cookie: session=s3cr3t", "--format",
             "json", url]
        )  # fmt: skip
        cookies = {c.request.values("cookie")[0] for c in seen if c.request is not None}
    assert result.returncode == 1
    outcomes = {c["id"]: c["outcome"] for c in json.loads(result.stdout)["cases"]}
    assert outcomes == {
        "origin.1": "INFORMATIONAL", "origin.2": "OK",
        **{f"origin.{n}": "FAILED" for n in range(3, 12)},
    }  # fmt: skip
    assert cookies == {"session=s3cr3t"}


def test_memory_stays_flat_with_the_number_of_cases(tmp_path: Path) -> None:
    """Each case's request is dropped once sent (a 1 MiB head among them) and what is kept of
    an answer is bounded: the whole suite peaks within a few MiB of one category."""
    from tests.helpers import run_measured
    from tests.peers import EchoServer

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with EchoServer() as echo:
        url = f"ws://127.0.0.1:{echo.port}/"
        small = run_measured(["audit", "--case", "key.1", url], empty, tmp_path / "a")
        whole = run_measured(["audit", "--timeout", "1", url], empty, tmp_path / "b")
    assert small[0] == 0
    assert whole[0] == 1  # websockets has FAILED cases (tests/test_audit_servers.py)
    assert whole[1] - small[1] < 12 * 1024, (small[1], whole[1])


@pytest.mark.parametrize(
    ("answer", "enable", "outcome", "why"),
    [
        ("200", 1, "OK", "answered 200: the stream is the WebSocket"),
        ("reset", 1, "FAILED", "refused the valid extended CONNECT its SETTINGS enabled"),
        ("goaway", 1, "FAILED", "refused the valid extended CONNECT its SETTINGS enabled"),
        ("none", 1, "FAILED", "refused the valid extended CONNECT its SETTINGS enabled"),
        ("200", None, "UNIMPLEMENTED", "the server's SETTINGS do not enable the extended"),
    ],
)
def test_how_an_http2_answer_ends_is_what_the_case_observes(
    answer: str, enable: int | None, outcome: str, why: str
) -> None:
    from tests.h2_servers import goaway, h2_server, reset, respond
    from wsaccept_cli.core.audit import h2_catalogue

    answers = {"200": respond(b"200"), "reset": reset(1), "goaway": goaway(1, b"no"), "none": None}
    with h2_server(enable, answers[answer]) as port:
        target = RequestTarget(f"ws://127.0.0.1:{port}/")
        server = Server(host_header=target.host_header, path=target.path, secure=False)
        valid = h2_catalogue()[0]
        (result,) = run_audit([valid], server, target, Route(), timeout=1)
    assert result.outcome.label == outcome
    assert result.verdict.why.startswith(why)


def test_an_http2_case_that_cannot_connect_says_so() -> None:
    from wsaccept_cli.core.audit import h2_catalogue
    from wsaccept_cli.core.audit.model import Observed
    from wsaccept_cli.net.audit_h2 import exchange_h2
    from wsaccept_cli.net.connect import ProbeError

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = RequestTarget(f"ws://127.0.0.1:{port}/")
    server = Server(host_header=target.host_header, path="/", secure=False)
    case = h2_catalogue()[0]
    with pytest.raises(ProbeError, match=r"cannot connect to 127\.0\.0\.1"):
        exchange_h2(case.build(case, server), target, Route(), 1, Observed())


def test_http2_cases_over_tls_with_alpn_h2(tmp_path: Path) -> None:
    import trustme

    from tests.h2_servers import WebSocketApp, hypercorn_server

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with hypercorn_server(WebSocketApp(), ca, tmp_path) as port:
        url = f"wss://localhost:{port}/chat"
        result = run_script(
            ["audit", "--http2", "--case", "h2.1", "--case", "h2.4", "--cacert",
             str(tmp_path / "ca.pem"), "-v", url]
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "OK            h2.1          a valid extended CONNECT" in out
    assert "answered 200: the stream is the WebSocket" in out
    assert "reset the stream (GOAWAY PROTOCOL_ERROR)" in out


def test_bad_values_are_one_line_usage_errors(run: Run, tmp_path: Path) -> None:
    bad_url = run("audit", "ftp://example.test/")
    assert bad_url.exit_code == 2
    assert "is not a ws:// or wss:// URL" in bad_url.output
    bad_pin = run("audit", "--resolve", "nonsense", "ws://example.test/")
    assert bad_pin.exit_code == 2
    assert "--resolve" in bad_pin.output
    bad_header = run("audit", "-H", "X-A: a\rb", "ws://example.test/")
    assert bad_header.exit_code == 2
    with server_thread(ServeOptions(head_timeout=1)) as (url, _):
        unwritable = run_script(
            ["audit", "--case", "key.1", "--junit", str(tmp_path / "no" / "a.xml"), url]
        )
    assert unwritable.returncode == 2
    assert unwritable.stderr.decode().startswith("wsaccept: error: cannot write ")


def test_a_url_with_credentials_is_a_session_and_ipv6_hosts_keep_their_brackets() -> None:
    """The URL's user and password go as Authorization (as probe sends them), which makes the
    foreign Origin cases a hijack; the look-alike Origins of an IPv6 host keep its brackets."""
    with server_thread(ServeOptions(head_timeout=1, grace=0.1)) as (url, seen):
        with_user = url.replace("ws://", "ws://user:pw@")
        result = run_script(["audit", "--case", "origin.4", with_user])
    assert result.returncode == 1
    assert b"FAILED        origin.4" in result.stdout
    assert any(c.request and c.request.values("authorization") for c in seen)
    ipv6 = Server(host_header="[::1]:8080", path="/", secure=False)
    case = {c.id: c for c in catalogue()}["origin.5"]
    assert b"Origin: http://[::1].evil.example\r\n" in case.build(case, ipv6).data

"""`wsaccept inspect`: golden captures from real peers, every input form, rule and diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.http11 import Request
from websockets.server import ServerProtocol

from tests.helpers import RFC_ACCEPT, RFC_KEY, Run, invoke

CASES_DIR = Path(__file__).resolve().parent / "cases" / "inspect"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.suffix in (".http", ".curl", ".har", ".txt"))


@pytest.mark.parametrize("capture", CASES, ids=[case.name for case in CASES])
def test_golden_case(capture: Path, request: pytest.FixtureRequest) -> None:
    result = invoke("inspect", "--verbose", "--format", "plain", str(capture))
    actual = f"exit: {result.exit_code}\n{result.stdout}"
    expected = capture.with_name(capture.name + ".expected")
    if request.config.getoption("--update-golden"):
        expected.write_text(actual)
    assert actual == expected.read_text()


def test_every_input_form_and_outcome_has_a_case() -> None:
    suffixes = {case.suffix for case in CASES}
    assert suffixes == {".http", ".curl", ".har", ".txt"}
    outcomes = {
        case.with_name(case.name + ".expected").read_text().split("\n")[0] for case in CASES
    }
    assert outcomes == {"exit: 0", "exit: 1", "exit: 2"}


def test_each_known_bug_is_named() -> None:
    causes = {
        "bug-decoded-key": "base64-decoded key bytes",
        "bug-trailing-crlf": "with a trailing CR LF",
        "bug-lowercase-guid": "GUID in lowercase",
        "bug-hex-digest": "hex digest",
        "bug-sha256": "SHA-256 instead of SHA-1",
        "bug-no-padding": "dropped the base64 padding",
        "bug-mistyped-guid": "GUID is mistyped: characters 27 and 28 are swapped",
        "bug-accept-of-the-previous-key": "accept of another request's key in the capture",
        "bug-accept-of-an-unknown-key": "no known implementation bug reproduces it",
    }
    for name, cause in causes.items():
        output = invoke("inspect", str(CASES_DIR / f"{name}.http")).stdout
        assert cause in output, name


def test_json_output_has_stable_fields(run: Run) -> None:
    result = run("inspect", "--format", "json", str(CASES_DIR / "session.har"))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(r) for r in records] == [
        {
            "handshake",
            "source",
            "url",
            "request_line_number",
            "response_line_number",
            "status",
            "verdict",
            "findings",
            "clients",
            "body",
        }
    ] * 2
    assert [(r["handshake"], r["source"], r["verdict"]) for r in records] == [
        (1, "HAR entry 2", "pass"),
        (2, "HAR entry 3", "fail"),
    ]
    assert {tuple(f) for r in records for f in r["findings"]} == {
        ("rule", "status", "section", "message")
    }
    assert result.exit_code == 1


def test_rich_output(run: Run) -> None:
    result = run("inspect", "--format", "rich", str(CASES_DIR / "bug-sha256.http"))
    text = " ".join(result.stdout.split())
    assert "handshake 1 raw HTTP, request at line 1, response at line 11 FAIL" in text
    assert "fail response.accept §4.2.2" in text
    assert result.exit_code == 1


def test_stdin_and_dash(run: Run) -> None:
    capture = (CASES_DIR / "curl-websockets-server.curl").read_bytes()
    assert run("inspect", input=capture).exit_code == 0
    assert run("inspect", "-", input=capture).exit_code == 0


def test_no_handshake_says_what_was_found(run: Run) -> None:
    result = run("inspect", input="just\nsome\ntext\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "wsaccept: error: no handshake in the input: found 3 lines, none of them an HTTP"
        " request, response or header (expected raw HTTP, 'curl -v' output or a HAR file)\n"
    )
    result = run("inspect", input='{"log": {"entries": [{"request": {}}]}}')
    assert result.exit_code == 2
    assert "a HAR file with 1 entry, none of them WebSocket" in result.stderr
    assert run("inspect", input="").stderr.endswith(
        "found no input at all (expected raw HTTP, 'curl -v' output or a HAR file)\n"
    )


def test_broken_har_is_a_clear_error(run: Run) -> None:
    result = run("inspect", input='{"log": [')
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "wsaccept: error: the input starts like a HAR file but is not valid JSON:"
    )


def test_missing_file_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"wsaccept: error: cannot read {tmp_path / 'nope.txt'}: No such file or directory\n"
    )


def test_compute_response_is_a_complete_101(run: Run) -> None:
    response = run("compute", "--response", RFC_KEY).stdout_bytes
    assert response == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + RFC_ACCEPT.encode() + b"\r\n\r\n"
    )


def test_genkey_request_is_accepted_by_a_websockets_server(run: Run) -> None:
    request = run("genkey", "--request", "ws://example.com:8080/chat?room=1").stdout_bytes
    assert request.startswith(b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\n")
    server = ServerProtocol()
    server.receive_data(request)
    (parsed,) = server.events_received()
    assert isinstance(parsed, Request)
    response = server.accept(parsed)
    assert response.status_code == 101
    key = parsed.headers["Sec-WebSocket-Key"]
    answer = run("compute", "--response", key).stdout_bytes
    result = run("inspect", input=request + answer)
    assert result.exit_code == 0, result.stdout
    assert response.headers["Sec-WebSocket-Accept"].encode() in answer


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        ("wss://example.com/", "example.com", "/"),
        ("wss://example.com:443", "example.com", "/"),
        ("ws://example.com:80/a/b", "example.com", "/a/b"),
        ("wss://example.com:8443/x?y=z&w", "example.com:8443", "/x?y=z&w"),
        ("ws://[::1]:9000/", "[::1]:9000", "/"),
        ("ws://[::1]/", "[::1]", "/"),
    ],
)
def test_genkey_request_host_and_path(run: Run, url: str, host: str, path: str) -> None:
    lines = run("genkey", "--request", url).stdout_bytes.split(b"\r\n")
    assert lines[0] == f"GET {path} HTTP/1.1".encode()
    assert lines[1] == f"Host: {host}".encode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["genkey", "--request", "ftp://example.com/"], "is not a ws:// or wss:// URL"),
        (["genkey", "--request", "ws:///nohost"], "has no host"),
        (["genkey", "--request", "ws://example.com:99999/"], "has a bad port"),
        (["genkey", "--request", "ws://x/", "-n", "2"], "--request prints one request"),
        (["genkey", "--request", "ws://x/", "--format", "json"], "--request prints raw HTTP"),
        (["compute", "--response", "--format", "rich", RFC_KEY], "--response prints raw HTTP"),
    ],
)
def test_request_and_response_usage_errors(run: Run, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_har_websocket_entries_found_by_upgrade_header_without_resource_type(run: Run) -> None:
    document = json.loads((CASES_DIR / "session.har").read_text())
    for entry in document["log"]["entries"]:
        entry.pop("_resourceType")
    result = run("inspect", "--format", "json", input=json.dumps(document))
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == [
        "HAR entry 2",
        "HAR entry 3",
    ]


def test_header_like_lines_in_binary_or_logs_are_not_a_handshake(run: Run) -> None:
    result = run(
        "inspect", input=b"\x7fELF\x02\x01\nGCC: (Debian 12.2.0-14) 12.2.0\nid: 7\n\xff\x00"
    )
    assert result.exit_code == 2
    assert "no handshake in the input: found 4 lines" in result.stderr


def devtools_paste(*, labels: bool, start_lines: bool, blank: bool, accept: str) -> str:
    """Headers pasted from Chrome's or Firefox's developer tools, in the order they show them:
    Response Headers above Request Headers."""
    response = ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Accept: {accept}"]
    request = [
        "Host: example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {RFC_KEY}",
        "Sec-WebSocket-Version: 13",
    ]
    if start_lines:
        response.insert(0, "HTTP/1.1 101 Switching Protocols")
        request.insert(0, "GET /chat HTTP/1.1")
    lines = [*(["Response Headers (129 B)"] if labels else []), *response]
    lines += [*([""] if blank else []), *(["Request Headers"] if labels else []), *request]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("labels", [True, False], ids=["labels", "no-labels"])
@pytest.mark.parametrize("start_lines", [True, False], ids=["start-lines", "headers-only"])
@pytest.mark.parametrize("blank", [True, False], ids=["blank-line", "no-blank-line"])
@pytest.mark.parametrize(("accept", "exit_code"), [(RFC_ACCEPT, 0), ("A" * 27 + "=", 1)])
def test_a_devtools_paste_in_display_order_is_one_handshake(
    labels: bool, start_lines: bool, blank: bool, accept: str, exit_code: int
) -> None:
    paste = devtools_paste(labels=labels, start_lines=start_lines, blank=blank, accept=accept)
    result = invoke("inspect", "--format", "plain", "-", input=paste)
    assert result.exit_code == exit_code, result.stdout
    headings = [line for line in result.stdout.splitlines() if line.startswith("handshake")]
    request_line = paste.splitlines().index("Host: example.com") + 1 - start_lines
    response_line = 1 + labels
    verdict = "pass" if exit_code == 0 else "fail"
    assert len(headings) == 1, result.stdout
    assert headings[0].startswith(
        f"handshake 1: raw HTTP, request at line {request_line}, response at line"
        f" {response_line}: {verdict} — "
    )
    assert "the capture has no" not in result.stdout
    if exit_code:
        assert f"Sec-WebSocket-Accept is '{accept}', expected '{RFC_ACCEPT}'" in result.stdout


def test_several_devtools_pastes_pair_each_response_with_the_request_below_it() -> None:
    wrong = "A" * 27 + "="
    paste = devtools_paste(labels=True, start_lines=True, blank=True, accept=RFC_ACCEPT)
    paste += "\n" + devtools_paste(labels=True, start_lines=True, blank=True, accept=wrong)
    result = invoke("inspect", "--format", "plain", "-", input=paste)
    assert result.exit_code == 1
    headings = [line for line in result.stdout.splitlines() if line.startswith("handshake")]
    assert [h.split(": ", 2)[1:] for h in headings] == [
        ["raw HTTP, request at line 8, response at line 2", "pass — 12 passed"],
        ["raw HTTP, request at line 22, response at line 16", "fail — 11 passed, 1 failed"],
    ]


def test_a_capture_that_starts_with_a_lone_response_keeps_wire_order() -> None:
    """A packet capture that began after a request went by: its first response stays alone,
    and the next request is paired with the response that follows it."""
    request = (
        f"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    response = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    )
    capture = response.replace(RFC_ACCEPT, "B" * 27 + "=") + request + response
    result = invoke("inspect", "--format", "plain", "-", input=capture)
    headings = [line for line in result.stdout.splitlines() if line.startswith("handshake")]
    assert [h.split(": ", 2)[1] for h in headings] == [
        "raw HTTP, response at line 1",
        "raw HTTP, request at line 6, response at line 13",
    ]


def test_curl_output_is_never_taken_as_display_order() -> None:
    """curl prints a response after its request: a lone '<' response before a '>' request
    (output of two transfers cut short) is not paired with it."""
    capture = (
        "< HTTP/1.1 101 Switching Protocols\n< Upgrade: websocket\n< Connection: Upgrade\n"
        f"< Sec-WebSocket-Accept: {RFC_ACCEPT}\n<\n"
        "> GET /chat HTTP/1.1\n> Host: example.com\n> Upgrade: websocket\n"
        f"> Connection: Upgrade\n> Sec-WebSocket-Key: {RFC_KEY}\n> Sec-WebSocket-Version: 13\n>\n"
    )
    result = invoke("inspect", "--format", "plain", "-", input=capture)
    headings = [line for line in result.stdout.splitlines() if line.startswith("handshake")]
    assert [h.split(": ", 2)[1] for h in headings] == [
        "curl -v, response at line 1",
        "curl -v, request at line 6",
    ]


def test_curl_v_i_output_is_one_handshake() -> None:
    """`curl -v -i … 2>&1 | wsaccept inspect`: curl writes the response head twice (after '< '
    on stderr, and unprefixed on stdout for -i); inspect counts it once. A real curl against a
    real `wsaccept serve` answering with a wrong accept (curl itself never checks it)."""
    import shutil
    import subprocess

    from tests.helpers import run_script
    from tests.serve_helpers import serving

    curl = shutil.which("curl")
    assert curl, "curl is installed by .ci/run"
    with serving(["--fault", "accept-hex"]) as served:
        url = served.url.replace("ws://", "http://") + "chat"
        done = subprocess.run(
            [curl, "-v", "-i", "-s", "--max-time", "1", "-H", "Connection: Upgrade",
             "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
             "-H", f"Sec-WebSocket-Key: {RFC_KEY}", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, check=False,
        )  # fmt: skip
    output = done.stdout.decode("latin-1")
    assert output.count("HTTP/1.1 101 Switching Protocols") == 2  # the '< ' lines and the copy
    result = run_script(["inspect", "-"], stdin=done.stdout)
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 1
    assert [line.split(": ", 2)[2] for line in lines if line.startswith("handshake")] == [
        "fail — 11 passed, 1 failed"
    ]
    assert "sent the hex digest instead of its base64" in result.stdout.decode()
    request_line = output.splitlines().index("> GET /chat HTTP/1.1") + 1
    response_line = output.splitlines().index("< HTTP/1.1 101 Switching Protocols") + 1
    assert lines[0].startswith(
        f"handshake 1: curl -v, request at line {request_line}, response at line {response_line}:"
    )


ESCAPED_CAPTURE = (
    b"GET /chat HTTP/1.1\r\nHost: exa\x1b]0;x\x07mple.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a\\b\r\nX-A: 1\x012\r\n\r\n"
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: a\\b\r\n"
    b"X-Title: \x1b]0;pwned\x07\r\n\r\n"
)


def test_values_read_as_sent_and_control_characters_fail_their_field() -> None:
    """A value shows as the README says: ESC as `\\x1b` and a backslash as one backslash (not
    `\\\\x1b`, `a\\\\b`); a field value holding control characters fails (RFC 9110 §5.5)."""
    result = invoke("inspect", "-v", "--format", "plain", "-", input=ESCAPED_CAPTURE)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "handshake 1: raw HTTP, request at line 1, response at line 10: fail"
    expected = [
        "  fail  request.host           RFC 9110 §5.5  Host is 'exa\\x1b]0;x\\x07mple.com': it"
        " holds control characters, which make a field value invalid (and no host has them)",
        "  fail  request.protocol       §4.1     Sec-WebSocket-Protocol has 'a\\b', which is not a"
        " token",
        "  fail  request.fields         RFC 9110 §5.5  control characters in the value of 'X-A':"
        " they make a field value invalid",
        "  pass  response.protocol      §4.1     the server chose 'a\\b'",
        "  fail  response.fields        RFC 9110 §5.5  control characters in the value of"
        " 'X-Title': they make a field value invalid",
    ]
    for line in expected:
        assert line in lines
    assert "\\\\" not in result.stdout
    assert "\x1b" not in result.stdout


def _line_endings(capture: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """The response.line_endings findings of a capture, and the clients predicted to refuse
    it for its line endings."""
    result = invoke("inspect", "--format", "json", "-", input=capture)
    record = json.loads(result.stdout.splitlines()[0])
    found = [
        (f["status"], f["message"])
        for f in record["findings"]
        if f["rule"] == "response.line_endings"
    ]
    refusing = [c["client"] for c in record["clients"] if c["reason"] == "bare LF line endings"]
    return found, refusing


def test_bare_lf_after_a_crlf_request_is_the_wires_and_names_the_clients_that_refuse_it() -> None:
    """A request in CR LF before a response in bare LF: the endings are the wire's (a tool
    would have rewritten both), so the response is read as the clients read those bytes, and
    the finding names exactly the clients whose prediction refuses them. Every line in LF says
    nothing of the wire: a note names the same clients, the predictions stay on CR LF."""
    good = (CASES_DIR / "websockets-client-websockets-server.http").read_bytes()
    request, _, response = good.partition(b"\r\n\r\n")
    mixed = request + b"\r\n\r\n" + response.replace(b"\r\n", b"\n")
    found, refusing = _line_endings(mixed)
    assert refusing == ["Node ws", "websockets", "undici"]
    assert found == [
        (
            "warn",
            "the response's lines end in a bare LF, not CR LF: a recipient may accept it;"
            " Node ws, websockets and undici refuse it",
        )
    ]
    found, refusing = _line_endings(good.replace(b"\r\n", b"\n"))
    assert refusing == []
    assert found == [
        (
            "info",
            "every line of the capture ends in a bare LF, as an editor or a copy may leave it,"
            " so it was read as CR LF; had the server sent bare LF line endings, Node ws,"
            " websockets and undici would refuse them",
        )
    ]
    # the neighbours: CR LF throughout, a request in LF before a response in CR LF, a
    # response with CR LF and LF mixed say nothing of line endings
    for capture in (
        good,
        request.replace(b"\r\n", b"\n") + b"\n\n" + response,
        request + b"\r\n\r\n" + response.replace(b"\r\n", b"\n", 1),
    ):
        assert _line_endings(capture) == ([], []), capture

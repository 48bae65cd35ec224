"""`wsaccept verify`: exit codes scripts can trust, and the values that differ."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from tests.helpers import RFC_ACCEPT, RFC_KEY, Run
from wsaccept_cli.core.keys import GUID

WRONG = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo"  # the right value with its padding cut off


def test_match_exits_0(run: Run) -> None:
    result = run("verify", RFC_KEY, RFC_ACCEPT)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")


def test_mismatch_exits_1_with_expected_and_received(run: Run) -> None:
    result = run("verify", RFC_KEY, WRONG)
    assert result.exit_code == 1
    assert result.stdout == (
        f"mismatch: expected {RFC_ACCEPT}, received {WRONG}:"
        " the server dropped the base64 padding ('=')\n"
    )


def test_header_lines_are_accepted_as_arguments(run: Run) -> None:
    result = run("verify", f"Sec-WebSocket-Key: {RFC_KEY}", f"Sec-WebSocket-Accept: {RFC_ACCEPT}")
    assert (result.exit_code, result.stdout) == (0, "ok\n")


@pytest.mark.parametrize("accept", [RFC_ACCEPT, WRONG])
def test_quiet_prints_nothing(run: Run, accept: str) -> None:
    result = run("verify", "-q", RFC_KEY, accept)
    assert (result.stdout, result.stderr) == ("", "")
    assert result.exit_code == (0 if accept == RFC_ACCEPT else 1)


def test_stdin_pairs_reports_every_line_and_fails_if_any_failed(run: Run) -> None:
    stdin = f"{RFC_KEY} {RFC_ACCEPT}\n\n{RFC_KEY}\t{WRONG}\r\n{RFC_KEY}   {RFC_ACCEPT}\n"
    result = run("verify", input=stdin)
    assert result.exit_code == 1
    assert result.stdout == (
        f"ok\nline 3: mismatch: expected {RFC_ACCEPT}, received {WRONG}:"
        " the server dropped the base64 padding ('=')\nok\n"
    )
    assert result.stderr == ""


def test_stdin_all_matching_exits_0(run: Run) -> None:
    result = run("verify", "-", input=f"{RFC_KEY} {RFC_ACCEPT}\n" * 5)
    assert (result.exit_code, result.stdout) == (0, "ok\n" * 5)


def test_mismatch_inside_a_run_of_good_pairs_keeps_order(run: Run) -> None:
    good = f"{RFC_KEY} {RFC_ACCEPT}\n"
    bad = f"{RFC_KEY} {RFC_ACCEPT[:-2]}A=\n"
    result = run("verify", input=good * 3 + bad + good * 2 + bad)
    assert result.stdout.splitlines() == [
        "ok",
        "ok",
        "ok",
        f"line 4: mismatch: expected {RFC_ACCEPT}, received {RFC_ACCEPT[:-2]}A=",
        "ok",
        "ok",
        f"line 7: mismatch: expected {RFC_ACCEPT}, received {RFC_ACCEPT[:-2]}A=",
    ]


def test_malformed_pair_line_is_an_error_with_its_line_number(run: Run) -> None:
    result = run("verify", input=f"{RFC_KEY}\n{RFC_KEY} {RFC_ACCEPT}\n")
    assert result.exit_code == 1
    assert result.stdout == "ok\n"
    assert result.stderr == (
        "wsaccept: error: line 1: expected 'KEY ACCEPT', found 1 field\n"
        "wsaccept: error: 1 input line skipped\n"
    )


def test_no_pairs_on_stdin_fails(run: Run) -> None:
    result = run("verify", input="\n\n")
    assert result.exit_code == 1
    assert result.stderr == "wsaccept: error: no 'KEY ACCEPT' pairs in the input\n"


def test_invalid_key_that_matches_is_ok_with_a_warning(run: Run) -> None:
    result = run("verify", "AAAA", "XB9IIzDTB5SFgH/jYXFZTWYC8MY=")
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == (
        "wsaccept: warning: 'AAAA': key decodes to 3 bytes; RFC 6455 §4.1 requires 16,"
        " servers such as Node ws reject it\n"
    )


def test_a_mismatch_names_the_known_bug_that_made_it(run: Run) -> None:
    unpadded = base64.b64encode(hashlib.sha1(RFC_KEY.rstrip("=").encode() + GUID).digest())
    result = run("verify", RFC_KEY, unpadded.decode())
    assert result.exit_code == 1
    assert result.stdout.endswith(": the server hashed the key without its '=' padding\n")
    decoded = base64.b64encode(hashlib.sha1(base64.b64decode(RFC_KEY) + GUID).digest())
    record = json.loads(run("verify", "--format", "json", RFC_KEY, decoded.decode()).stdout)
    assert record["cause"] == (
        "the server hashed the base64-decoded key bytes instead of the key text"
    )


def test_received_value_with_control_characters_is_escaped(run: Run) -> None:
    result = run("verify", RFC_KEY, "\x1b[31mred")
    assert result.stdout == f"mismatch: expected {RFC_ACCEPT}, received \\x1b[31mred\n"


def test_json_records(run: Run) -> None:
    result = run("verify", "--format", "json", input=f"{RFC_KEY} {RFC_ACCEPT}\n{RFC_KEY} {WRONG}\n")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "line": 1,
            "key": RFC_KEY,
            "accept": RFC_ACCEPT,
            "expected": RFC_ACCEPT,
            "match": True,
            "cause": None,
            "valid": True,
            "problems": [],
            "notes": [],
        },
        {
            "line": 2,
            "key": RFC_KEY,
            "accept": WRONG,
            "expected": RFC_ACCEPT,
            "match": False,
            "cause": "the server dropped the base64 padding ('=')",
            "valid": True,
            "problems": [],
            "notes": [],
        },
    ]


@pytest.mark.parametrize("args", [("only-one",), ("a", "b", "c")])
def test_wrong_number_of_arguments_is_a_usage_error(run: Run, args: tuple[str, ...]) -> None:
    result = run("verify", *args)
    assert result.exit_code == 2
    assert "give KEY and ACCEPT, or '-' (or nothing) to read pairs from stdin" in result.stderr


@pytest.mark.parametrize(
    ("key", "accept", "stdout"),
    [
        (
            RFC_KEY,
            "",
            f"mismatch: expected {RFC_ACCEPT}, received (empty): the received accept is empty"
            " (no value, or the header was not captured)\n",
        ),
        (
            "",
            "",
            "mismatch: expected Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=, received (empty): the key is empty:"
            " there is no accept to check against it\n",
        ),
        (
            "",
            RFC_ACCEPT,
            f"mismatch: expected Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=, received {RFC_ACCEPT}: the key is"
            " empty: there is no accept to check against it\n",
        ),
    ],
)
def test_an_empty_value_is_said_to_be_empty(run: Run, key: str, accept: str, stdout: str) -> None:
    """Not "the server echoed the key" for two empty values, nor "received " and nothing."""
    result = run("verify", "--format", "plain", key, accept)
    assert result.exit_code == 1
    assert result.stdout == stdout

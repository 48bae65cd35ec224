"""`wsaccept compute`: what a user sees on stdout, stderr and in the exit code."""

from __future__ import annotations

import json

from tests.helpers import RFC_ACCEPT, RFC_KEY, Run

WARNING_20_BYTES = (
    "key decodes to 20 bytes; RFC 6455 §4.1 requires 16, servers such as Node ws reject it"
)
KEY_20_BYTES = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
# printf %s "$KEY$GUID" | openssl sha1 -binary | base64
ACCEPT_20_BYTES = "UWrVbbSA8CwQ2KbqU4597jO0leU="


def test_rfc_example(run: Run) -> None:
    result = run("compute", RFC_KEY)
    assert (result.exit_code, result.stdout, result.stderr) == (0, RFC_ACCEPT + "\n", "")


def test_several_keys_in_order(run: Run) -> None:
    result = run("compute", RFC_KEY, KEY_20_BYTES, RFC_KEY)
    assert result.stdout == f"{RFC_ACCEPT}\n{ACCEPT_20_BYTES}\n{RFC_ACCEPT}\n"


def test_invalid_key_is_computed_with_a_warning(run: Run) -> None:
    result = run("compute", KEY_20_BYTES)
    assert result.exit_code == 0
    assert result.stdout == ACCEPT_20_BYTES + "\n"
    assert result.stderr == f"wsaccept: warning: {KEY_20_BYTES!r}: {WARNING_20_BYTES}\n"


def test_strict_refuses_invalid_keys_but_processes_the_rest(run: Run) -> None:
    stdin = f"{RFC_KEY}\n{KEY_20_BYTES}\n{RFC_KEY}\n"
    result = run("compute", "--strict", input=stdin)
    assert result.exit_code == 1
    assert result.stdout == f"{RFC_ACCEPT}\n{RFC_ACCEPT}\n"
    assert result.stderr == (
        f"wsaccept: error: line 2: {WARNING_20_BYTES}\nwsaccept: error: 1 of 3 keys had problems\n"
    )


def test_strict_with_only_valid_keys_succeeds(run: Run) -> None:
    result = run("compute", "--strict", RFC_KEY)
    assert (result.exit_code, result.stdout, result.stderr) == (0, RFC_ACCEPT + "\n", "")


def test_argument_whitespace_is_trimmed_with_a_note(run: Run) -> None:
    result = run("compute", f" {RFC_KEY}\r\n")
    assert result.stdout == RFC_ACCEPT + "\n"
    assert result.stderr == (
        f"wsaccept: note: {RFC_KEY!r}: surrounding whitespace was trimmed before hashing,"
        " as servers trim header values (RFC 9110 §5.5)\n"
    )


def test_stdin_lines_bare_and_header_with_crlf_and_blank_lines(run: Run) -> None:
    stdin = f"{RFC_KEY}\r\n\n   \nSec-WebSocket-Key: {RFC_KEY}\r\nsec-websocket-key:{RFC_KEY}\n"
    result = run("compute", input=stdin)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"{RFC_ACCEPT}\n" * 3


def test_last_line_without_newline_is_computed(run: Run) -> None:
    result = run("compute", input=f"{RFC_KEY}\n{RFC_KEY}")
    assert result.stdout == f"{RFC_ACCEPT}\n" * 2


def test_dash_reads_stdin_between_arguments(run: Run) -> None:
    result = run("compute", KEY_20_BYTES, "-", KEY_20_BYTES, input=f"{RFC_KEY}\n")
    assert result.stdout == f"{ACCEPT_20_BYTES}\n{RFC_ACCEPT}\n{ACCEPT_20_BYTES}\n"


def test_line_that_holds_no_key_is_an_error_and_the_rest_still_computed(run: Run) -> None:
    result = run("compute", input=f"{RFC_KEY}\nHost: example.com\n{RFC_KEY}\n")
    assert result.exit_code == 1
    assert result.stdout == f"{RFC_ACCEPT}\n" * 2
    assert result.stderr == (
        "wsaccept: error: line 2: a 'Host' header line holds no Sec-WebSocket-Key\n"
        "wsaccept: error: 1 input line skipped\n"
    )


def test_invalid_utf8_keys_are_hashed_as_bytes(run: Run) -> None:
    result = run("compute", input=b"\xff\x00key\n")
    assert result.stdout == "s9E/1K3miiAt5tzOqaHQzYm18A8=\n"
    assert result.stderr == (
        "wsaccept: warning: line 1: key contains non-ASCII bytes;"
        " RFC 6455 §4.1 requires base64 text\n"
    )


def test_warnings_are_capped_and_summed_up(run: Run) -> None:
    result = run("compute", input="AAAA\n" * 25)
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 25
    lines = result.stderr.splitlines()
    assert lines[:10] == [
        f"wsaccept: warning: line {n}: key decodes to 3 bytes; RFC 6455 §4.1 requires 16,"
        " servers such as Node ws reject it"
        for n in range(1, 11)
    ]
    assert lines[10:] == [
        "wsaccept: warning: 15 more warnings not shown (--format json lists every problem)",
        "wsaccept: warning: 25 of 25 keys had problems",
    ]


def test_empty_stdin_warns_and_succeeds(run: Run) -> None:
    result = run("compute", input="")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "wsaccept: warning: no keys in the input\n"


def test_overlong_line_is_skipped_with_its_length(run: Run) -> None:
    stdin = f"{RFC_KEY}\n{'A' * 70_000}\n{RFC_KEY}\n"
    result = run("compute", input=stdin)
    assert result.exit_code == 1
    assert result.stdout == f"{RFC_ACCEPT}\n" * 2
    assert result.stderr == (
        "wsaccept: error: line 2: line is 70000 bytes, longer than the 65536-byte limit; skipped\n"
        "wsaccept: error: 1 input line skipped\n"
    )


def test_json_records_have_the_documented_fields(run: Run) -> None:
    result = run("compute", "--format", "json", RFC_KEY, " AAAA", input="")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [
        {
            "line": None,
            "key": RFC_KEY,
            "accept": RFC_ACCEPT,
            "valid": True,
            "problems": [],
            "notes": [],
        },
        {
            "line": None,
            "key": "AAAA",
            "accept": "XB9IIzDTB5SFgH/jYXFZTWYC8MY=",
            "valid": False,
            "problems": [
                {
                    "code": "wrong_length",
                    "message": "key decodes to 3 bytes; RFC 6455 §4.1 requires 16,"
                    " servers such as Node ws reject it",
                }
            ],
            "notes": [
                {
                    "code": "surrounding_whitespace",
                    "message": "surrounding whitespace was trimmed before hashing,"
                    " as servers trim header values (RFC 9110 §5.5)",
                }
            ],
        },
    ]


def test_json_stream_numbers_lines_and_marks_strict_refusals(run: Run) -> None:
    result = run("compute", "--format", "json", "--strict", input=f"{RFC_KEY}\n\nAAAA\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], r["accept"], r["valid"]) for r in records] == [
        (1, RFC_ACCEPT, True),
        (3, None, False),
    ]
    assert result.exit_code == 1


def test_json_key_with_invalid_utf8_is_escaped(run: Run) -> None:
    result = run("compute", "--format", "json", input=b"ab\xffc\n")
    assert json.loads(result.stdout)["key"] == "ab\\xffc"

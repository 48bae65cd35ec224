"""The pure core: accept computation, key checks, key generation, constant-time verify."""

from __future__ import annotations

import base64

import pytest

from tests.helpers import RFC_ACCEPT, RFC_KEY
from wsaccept_cli.core.keys import (
    accept_for,
    accept_lines,
    accepts_equal,
    generate_keys,
    key_problems,
    printable,
    trim,
    value_from_line,
)


def test_rfc_6455_example() -> None:
    assert accept_for(RFC_KEY.encode()) == RFC_ACCEPT.encode()


def test_accept_is_over_the_key_as_sent_not_its_decoded_bytes() -> None:
    decoded = base64.b64decode(RFC_KEY)
    assert accept_for(decoded) != accept_for(RFC_KEY.encode())
    assert accept_for(decoded) == b"BXhwxM0SZasKmCD9S4BfpPmCnEw="


def test_accept_lines_end_in_newline_and_match_accept_for() -> None:
    keys = [RFC_KEY.encode(), b"x", b"\xff\xfe"]
    assert accept_lines(keys) == [accept_for(k) + b"\n" for k in keys]


def test_non_utf8_key_is_hashed_byte_for_byte() -> None:
    # printf '\xff\x00key258EAFA5-E914-47DA-95CA-C5AB0DC85B11' | openssl sha1 -binary | base64
    assert accept_for(b"\xff\x00key") == b"s9E/1K3miiAt5tzOqaHQzYm18A8="


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [
        (b"", "empty", "key is empty; RFC 6455 §4.1 requires a base64-encoded 16-byte nonce"),
        (
            b"d\xc3\xa9f",
            "non_ascii",
            "key contains non-ASCII bytes; RFC 6455 §4.1 requires base64 text",
        ),
        (
            b"dGhlIHNhbXBsZSB*b25jZQ==",
            "not_base64",
            "key contains '*' at position 16, which is not a base64 character;"
            " RFC 6455 §4.1 requires base64",
        ),
        (
            b"dGhl IHNhbXBsZSBub25jZQ==",
            "not_base64",
            "key contains ' ' at position 5, which is not a base64 character;"
            " RFC 6455 §4.1 requires base64",
        ),
        (
            b"dGhlIHNh\x01bXBsZSBub25jZQ==",
            "not_base64",
            "key contains \\x01 at position 9, which is not a base64 character;"
            " RFC 6455 §4.1 requires base64",
        ),
        (
            b"dGhlIHNhbXBsZSBub25jZQ=",
            "bad_padding",
            "key is 23 characters long, not a multiple of 4: padding missing or cut (RFC 4648 §4)",
        ),
        (
            b"dGhlIHNhbXBsZSBub25jZQ",
            "bad_padding",
            "key is 22 characters long, not a multiple of 4: padding missing or cut (RFC 4648 §4)",
        ),
        (
            b"dGhlIHNhbXBsZSBub25j====",
            "bad_padding",
            "key ends in 4 '=' characters, which no base64 value has (RFC 4648 §4)",
        ),
        (
            b"dGhl=HNhbXBsZSBub25jZQ==",
            "bad_padding",
            "key has '=' padding at position 5, before its end (RFC 4648 §4)",
        ),
        (
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "wrong_length",
            "key decodes to 20 bytes; RFC 6455 §4.1 requires 16, servers such as Node ws reject it",
        ),
        (
            b"AAAA",
            "wrong_length",
            "key decodes to 3 bytes; RFC 6455 §4.1 requires 16, servers such as Node ws reject it",
        ),
        (
            b"dGhlIHNhbXBsZSBub25jZR==",
            "non_canonical",
            "key ends in 'R==': its padding bits are not zero, so no base64 encoder produces it;"
            " strict decoders reject it (RFC 4648 §3.5)",
        ),
    ],
)
def test_key_problems_name_the_problem(key: bytes, code: str, message: str) -> None:
    problems = key_problems(key)
    assert [(p.code, p.message) for p in problems] == [(code, message)]
    accept_for(key)  # a bad key is described, never refused


def test_canonical_keys_have_no_problems() -> None:
    assert key_problems(RFC_KEY.encode()) == ()
    assert all(key_problems(k) == () for k in generate_keys(1000))


def test_trim_reports_surrounding_whitespace_as_a_note() -> None:
    assert trim(RFC_KEY.encode()) == (RFC_KEY.encode(), ())
    value, notes = trim(b" \t" + RFC_KEY.encode() + b"\r\n")
    assert value == RFC_KEY.encode()
    assert [n.code for n in notes] == ["surrounding_whitespace"]


@pytest.mark.parametrize(
    ("line", "value", "error"),
    [
        (RFC_KEY.encode(), RFC_KEY.encode(), None),
        (b"Sec-WebSocket-Key: " + RFC_KEY.encode(), RFC_KEY.encode(), None),
        (b"sec-websocket-key:" + RFC_KEY.encode() + b"  ", RFC_KEY.encode(), None),
        (b"SEC-WEBSOCKET-KEY :\t" + RFC_KEY.encode(), RFC_KEY.encode(), None),
        (b"Sec-WebSocket-Key:", b"", None),
        (b"Host: example.com", None, "a 'Host' header line holds no Sec-WebSocket-Key"),
    ],
)
def test_value_from_line(line: bytes, value: bytes | None, error: str | None) -> None:
    found = value_from_line(line)
    assert (found.value, found.error, found.notes) == (value, error, ())


def test_header_value_whitespace_is_not_a_note_but_bare_key_whitespace_is() -> None:
    assert value_from_line(b"Sec-WebSocket-Key:   " + RFC_KEY.encode()).notes == ()
    assert value_from_line(b"  " + RFC_KEY.encode()).notes[0].code == "surrounding_whitespace"


def test_value_from_line_for_the_accept_field() -> None:
    found = value_from_line(b"Sec-WebSocket-Accept: " + RFC_ACCEPT.encode(), "Sec-WebSocket-Accept")
    assert found.value == RFC_ACCEPT.encode()


def test_generated_keys_are_valid_distinct_and_16_random_bytes() -> None:
    keys = generate_keys(10_000)
    assert len(set(keys)) == 10_000
    assert all(len(base64.b64decode(k, validate=True)) == 16 and len(k) == 24 for k in keys)
    assert key_problems(generate_keys(1)[0]) == ()


def test_generate_key_uses_the_os_csprng(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.urandom", lambda n: bytes(range(n)))
    assert generate_keys(1)[0] == base64.b64encode(bytes(range(16)))


def test_accepts_compare_with_the_accept_of_the_key() -> None:
    assert accepts_equal(accept_for(RFC_KEY.encode()), RFC_ACCEPT.encode())
    assert not accepts_equal(accept_for(RFC_KEY.encode()), RFC_ACCEPT.lower().encode())
    assert not accepts_equal(accept_for(RFC_KEY.encode()), b"")


def test_printable_escapes_control_characters_and_invalid_utf8() -> None:
    assert printable(b"abc") == "abc"
    assert printable(b"a\x1b[31mb\xff") == "a\\x1b[31mb\\xff"


def test_problem_value_semantics() -> None:
    (problem,) = key_problems(b"")
    (same,) = key_problems(b"")
    assert problem == same
    assert hash(problem) == hash(same)
    assert problem != "empty"
    assert repr(problem).startswith("Problem('empty', ")

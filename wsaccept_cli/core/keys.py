"""Sec-WebSocket-Key checks and Sec-WebSocket-Accept computation (RFC 6455 §4.1, §4.2.2).

Pure functions over bytes: the accept is a hash of the key exactly as sent, so a key that is not
valid UTF-8 is still hashed byte for byte, and a bad key is described, never refused.
"""

from __future__ import annotations

import binascii
import functools
import os
import re

from wsaccept_cli.core.wording import quoted

try:  # CPython's built-in SHA-1: one key's accept without loading OpenSSL at start-up
    from _sha1 import sha1 as _small_sha1  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha1 as _small_sha1

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY_NONCE_BYTES = 16
BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Optional whitespace around an HTTP field value (RFC 9110 §5.5), plus stray line ends.
WHITESPACE = b" \t\r\n"
# An HTTP field line, leniently: a token, a colon, the value (RFC 9110 §5.1, §5.6.2).
_FIELD_LINE = rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:(.*)"

_b2a_base64 = binascii.b2a_base64


class Problem:
    """Something wrong with a key: a stable code for machines and a sentence for people."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.code, self.message) == (
            other.code,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"Problem({self.code!r}, {self.message!r})"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def is_canonical_key(key: bytes) -> bool:
    """Base64 of 16 bytes with zero padding bits (RFC 4648 §3.5): what a conforming client sends."""
    return (
        len(key) == 24
        and key[22:] == b"=="
        and key[21] in b"AQgw"
        and not key[:21].translate(None, BASE64_ALPHABET)
    )


def accept_lines(keys: list[bytes], *, newline: bool = True) -> list[bytes]:
    """The accept of each key, each followed by a newline (the bulk paths write them as is),
    or without it, for comparing."""
    from hashlib import sha1  # OpenSSL's SHA-1: slower to load, faster per key

    guid, b2a = GUID, _b2a_base64
    if newline:
        return [b2a(sha1(key + guid).digest()) for key in keys]
    return [b2a(sha1(key + guid).digest(), newline=False) for key in keys]


def accept_for(key: bytes) -> bytes:
    """Sec-WebSocket-Accept for `key`, hashing the key as sent, not its decoded bytes."""
    return _b2a_base64(_small_sha1(key + GUID).digest(), newline=False)


def accepts_equal(expected: bytes, received: bytes) -> bool:
    """Constant-time comparison, so a verifier built on this leaks nothing through timing."""
    from hmac import compare_digest

    return compare_digest(expected, received)


def generate_keys(count: int) -> list[bytes]:
    """`count` fresh Sec-WebSocket-Keys: 16 bytes from the OS CSPRNG each, base64-encoded."""
    nonces, step, b2a = os.urandom(KEY_NONCE_BYTES * count), KEY_NONCE_BYTES, _b2a_base64
    return [b2a(nonces[i : i + step], newline=False) for i in range(0, len(nonces), step)]


def trim(value: bytes) -> tuple[bytes, tuple[Problem, ...]]:
    """Trim the whitespace a server would trim, and say so when there was any."""
    trimmed = value.strip(WHITESPACE)
    if len(trimmed) == len(value):
        return value, ()
    return trimmed, (
        Problem(
            "surrounding_whitespace",
            "surrounding whitespace was trimmed before hashing, as servers trim header values"
            " (RFC 9110 §5.5)",
        ),
    )


def key_problems(key: bytes) -> tuple[Problem, ...]:
    """What makes `key` unlike the base64-encoded 16-byte nonce RFC 6455 §4.1 asks for."""
    if is_canonical_key(key):
        return ()
    if not key:
        return (
            Problem("empty", "key is empty; RFC 6455 §4.1 requires a base64-encoded 16-byte nonce"),
        )
    if not key.isascii():
        return (
            Problem(
                "non_ascii",
                "key contains non-ASCII bytes; RFC 6455 §4.1 requires base64 text",
            ),
        )
    body = key.rstrip(b"=")
    if body.translate(None, BASE64_ALPHABET):
        return _alphabet_problems(body)
    return _length_problems(len(key), len(key) - len(body)) or _non_canonical(key)


def _alphabet_problems(body: bytes) -> tuple[Problem, ...]:
    """The first character of `body` (the key less its final '=') outside the alphabet."""
    index, byte = next((i, b) for i, b in enumerate(body) if b not in BASE64_ALPHABET)
    if byte == 0x3D:
        return (
            Problem(
                "bad_padding",
                f"key has '=' padding at position {index + 1}, before its end (RFC 4648 §4)",
            ),
        )
    char = chr(byte)
    shown = repr(char) if char.isprintable() else f"\\x{byte:02x}"
    return (
        Problem(
            "not_base64",
            f"key contains {shown} at position {index + 1}, which is not a base64"
            " character; RFC 6455 §4.1 requires base64",
        ),
    )


@functools.lru_cache(maxsize=256)
def _length_problems(length: int, padding: int) -> tuple[Problem, ...]:
    """Padding and decoded-length problems, which depend on these two numbers alone.

    Cached: a stream of bad keys tends to repeat one mistake, and this keeps it cheap.
    """
    if length % 4:
        characters = "character" if length == 1 else "characters"
        detail = f"key is {length} {characters} long, not a multiple of 4: padding missing or cut"
        return (Problem("bad_padding", f"{detail} (RFC 4648 §4)"),)
    if padding > 2:
        detail = f"key ends in {padding} '=' characters, which no base64 value has"
        return (Problem("bad_padding", f"{detail} (RFC 4648 §4)"),)
    decoded = length // 4 * 3 - padding
    if decoded != KEY_NONCE_BYTES:
        return (
            Problem(
                "wrong_length",
                f"key decodes to {decoded} byte{'' if decoded == 1 else 's'}; RFC 6455 §4.1"
                " requires 16,"
                " servers such as Node ws reject it",
            ),
        )
    return ()


def _non_canonical(key: bytes) -> tuple[Problem, ...]:
    """A 16-byte key that is still not canonical can only have non-zero padding bits."""
    return (
        Problem(
            "non_canonical",
            f"key ends in {quoted(key[21:].decode())}: its padding bits are not zero, so no base64"
            " encoder produces it; strict decoders reject it (RFC 4648 §3.5)",
        ),
    )


class FieldValue:
    """A value taken from an input line, or the reason the line holds none."""

    __slots__ = ("error", "notes", "value")

    def __init__(self, value: bytes | None, notes: tuple[Problem, ...], error: str | None) -> None:
        self.value = value
        self.notes = notes
        self.error = error


def value_from_line(line: bytes, field_name: str = "Sec-WebSocket-Key") -> FieldValue:
    """Take a value from a bare value or a `Field-Name: value` header line."""
    field = re.fullmatch(_FIELD_LINE, line.strip(WHITESPACE), re.DOTALL) if b":" in line else None
    if field is None:
        value, notes = trim(line)
        return FieldValue(value, notes, None)
    name = field.group(1)
    if name.lower() != field_name.lower().encode():
        return FieldValue(
            None, (), f"a {quoted(printable(name))} header line holds no {field_name}"
        )
    return FieldValue(field.group(2).strip(WHITESPACE), (), None)


def printable(value: bytes) -> str:
    """`value` as text safe to print: invalid UTF-8 and control characters escaped."""
    text = value.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

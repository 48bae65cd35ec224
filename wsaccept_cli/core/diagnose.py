"""Why an accept is wrong: recompute it the ways real implementations get it wrong.

Each candidate is a known bug, computed from the key; the first whose value equals the received
accept names the cause. Pure code; a few hundred SHA-1s at most.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from wsaccept_cli.core.keys import GUID, accept_for


def _b64_sha1(data: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(data).digest())


def _candidates(key: bytes) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(cause, value) for each known bug, most common first; values computed lazily."""
    yield (
        "the server hashed the base64-decoded key bytes instead of the key text",
        lambda: _b64_sha1(base64.b64decode(key + b"=" * (-len(key) % 4), validate=False) + GUID),
    )
    yield (
        "the server hashed the key without its '=' padding",
        lambda: _b64_sha1(key.rstrip(b"=") + GUID),
    )
    for label, variant in (
        ("a trailing CR LF", key + b"\r\n"),
        ("a trailing LF", key + b"\n"),
        ("a trailing CR", key + b"\r"),
        ("a trailing space", key + b" "),
        ("a leading space", b" " + key),
    ):
        cause = f"the server hashed the key with {label} (it did not trim the header value)"
        yield cause, partial(_b64_sha1, variant + GUID)
    yield ("the server used the GUID in lowercase", lambda: _b64_sha1(key + GUID.lower()))
    yield ("the server put the GUID before the key", lambda: _b64_sha1(GUID + key))
    yield (
        "the server base64-encoded the hex digest instead of the raw 20-byte digest",
        lambda: base64.b64encode(hashlib.sha1(key + GUID).hexdigest().encode()),
    )
    yield (
        "the server sent the hex digest instead of its base64",
        lambda: hashlib.sha1(key + GUID).hexdigest().encode(),
    )
    yield (
        "the server used SHA-256 instead of SHA-1",
        lambda: base64.b64encode(hashlib.sha256(key + GUID).digest()),
    )
    yield (
        "the server dropped the base64 padding ('=')",
        lambda: accept_for(key).rstrip(b"="),
    )
    yield (
        "the server used the URL-safe base64 alphabet ('-' and '_')",
        lambda: base64.urlsafe_b64encode(hashlib.sha1(key + GUID).digest()),
    )
    yield ("the server echoed the key back instead of its accept", lambda: key)
    yield (
        "the server hashed the key alone, without the GUID",
        lambda: _b64_sha1(key),
    )


def _guid_typos() -> Iterator[tuple[str, bytes]]:
    """Every GUID one slip away: a character changed, dropped or swapped with its neighbour."""
    text = GUID.decode()
    alphabet = "0123456789ABCDEF-"
    for index, char in enumerate(text):
        position = f"character {index + 1}"
        for other in alphabet:
            if other != char:
                yield (
                    f"{position} is {other!r} instead of {char!r}",
                    (text[:index] + other + text[index + 1 :]).encode(),
                )
        yield f"{position} ({char!r}) is missing", (text[:index] + text[index + 1 :]).encode()
        if index + 1 < len(text) and text[index + 1] != char:
            swapped = text[:index] + text[index + 1] + char + text[index + 2 :]
            yield f"characters {index + 1} and {index + 2} are swapped", swapped.encode()


NO_KNOWN_BUG = "no known implementation bug reproduces it (it may answer a different key)"


def known_bug(key: bytes, received: bytes) -> str | None:
    """The known bug that turns `key` into `received`, or None: what `verify` adds to a
    mismatch."""
    cause = diagnose_accept(key, received)
    return None if cause == NO_KNOWN_BUG else cause


def diagnose_accept(
    key: bytes, received: bytes, other_keys: Sequence[tuple[bytes, int | None]] = ()
) -> str:
    """The known bug that turns `key` into `received`, as a sentence; or say that none does."""
    for cause, compute in _candidates(key):
        try:
            if compute() == received:
                return cause
        except ValueError:  # a key that is not base64 has no decoded bytes to hash
            continue
    for other, line in other_keys:
        if accept_for(other) == received:
            where = f", the request at line {line}" if line else ""
            shown = other.decode("latin-1")
            return f"it is the accept of another request's key in the capture ({shown!r}{where})"
    for typo, guid in _guid_typos():
        if _b64_sha1(key + guid) == received:
            return f"the server's GUID is mistyped: {typo}"
    return NO_KNOWN_BUG

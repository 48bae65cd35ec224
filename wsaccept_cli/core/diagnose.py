"""Why an accept is wrong: recompute it the ways real implementations get it wrong.

Each candidate is a known bug, computed from the key; the first whose value equals the received
accept names the cause. Pure code; a few hundred SHA-1s at most.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Sequence

from wsaccept_cli.core.keys import GUID, accept_for
from wsaccept_cli.core.wording import quoted


def _b64_sha1(data: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(data).digest())


class WrongAccept:
    """One known bug: its short name (the `serve --fault` that makes it), the sentence that
    names it in a diagnosis, and the wrong accept it makes of a key."""

    __slots__ = ("cause", "compute", "name")

    def __init__(self, name: str, cause: str, compute: Callable[[bytes], bytes]) -> None:
        self.name = name
        self.cause = cause
        self.compute = compute


def _decoded(key: bytes) -> bytes:
    return _b64_sha1(base64.b64decode(key + b"=" * (-len(key) % 4), validate=False) + GUID)


def _untrimmed(name: str, label: str, before: bytes, after: bytes) -> WrongAccept:
    """The key hashed with the whitespace around it that a server should have trimmed."""
    return WrongAccept(
        name,
        f"the server hashed the key with {label} (it did not trim the header value)",
        lambda key: _b64_sha1(before + key + after + GUID),
    )


# Most common first: the first whose value equals a received accept names the cause. `serve`
# makes its wrong-accept faults from this same table, so the two cannot drift apart.
WRONG_ACCEPTS: tuple[WrongAccept, ...] = (
    WrongAccept(
        "accept-decoded-key",
        "the server hashed the base64-decoded key bytes instead of the key text",
        _decoded,
    ),
    WrongAccept(
        "accept-key-without-padding",
        "the server hashed the key without its '=' padding",
        lambda key: _b64_sha1(key.rstrip(b"=") + GUID),
    ),
    _untrimmed("accept-trailing-crlf", "a trailing CR LF", b"", b"\r\n"),
    _untrimmed("accept-trailing-lf", "a trailing LF", b"", b"\n"),
    _untrimmed("accept-trailing-cr", "a trailing CR", b"", b"\r"),
    _untrimmed("accept-trailing-space", "a trailing space", b"", b" "),
    _untrimmed("accept-leading-space", "a leading space", b" ", b""),
    WrongAccept(
        "accept-guid-lowercase",
        "the server used the GUID in lowercase",
        lambda key: _b64_sha1(key + GUID.lower()),
    ),
    WrongAccept(
        "accept-guid-first",
        "the server put the GUID before the key",
        lambda key: _b64_sha1(GUID + key),
    ),
    WrongAccept(
        "accept-hex-base64",
        "the server base64-encoded the hex digest instead of the raw 20-byte digest",
        lambda key: base64.b64encode(hashlib.sha1(key + GUID).hexdigest().encode()),
    ),
    WrongAccept(
        "accept-hex",
        "the server sent the hex digest instead of its base64",
        lambda key: hashlib.sha1(key + GUID).hexdigest().encode(),
    ),
    WrongAccept(
        "accept-sha256",
        "the server used SHA-256 instead of SHA-1",
        lambda key: base64.b64encode(hashlib.sha256(key + GUID).digest()),
    ),
    WrongAccept(
        "accept-no-padding",
        "the server dropped the base64 padding ('=')",
        lambda key: accept_for(key).rstrip(b"="),
    ),
    WrongAccept(
        "accept-urlsafe",
        "the server used the URL-safe base64 alphabet ('-' and '_')",
        lambda key: base64.urlsafe_b64encode(hashlib.sha1(key + GUID).digest()),
    ),
    WrongAccept(
        "accept-key-echoed",
        "the server echoed the key back instead of its accept",
        lambda key: key,
    ),
    WrongAccept(
        "accept-no-guid",
        "the server hashed the key alone, without the GUID",
        _b64_sha1,
    ),
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
                    f"{position} is {other!r} instead of {char!r}",  # the GUID's own characters
                    (text[:index] + other + text[index + 1 :]).encode(),
                )
        yield f"{position} ({char!r}) is missing", (text[:index] + text[index + 1 :]).encode()
        if index + 1 < len(text) and text[index + 1] != char:
            swapped = text[:index] + text[index + 1] + char + text[index + 2 :]
            yield f"characters {index + 1} and {index + 2} are swapped", swapped.encode()


def _merged(key: bytes, received: bytes) -> str | None:
    """Accepts joined into one comma-separated value: a proxy or framework that merges a
    repeated header (RFC 9110 §5.3) made one field of two."""
    if b"," not in received:
        return None
    parts = [part.strip(b" \t") for part in received.split(b",")]
    right = accept_for(key)
    if all(part == right for part in parts):
        return (
            f"it is {len(parts)} copies of the right accept joined into one comma-separated"
            " value: the server (or a proxy or framework merging a repeated header, RFC 9110"
            " §5.3) sent the accept more than once; send it once"
        )
    if right in parts:
        return (
            "it is the right accept joined with other values into one comma-separated value:"
            " a proxy or framework merged repeated Sec-WebSocket-Accept headers (RFC 9110 §5.3);"
            " send it once"
        )
    return None


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
    merged = _merged(key, received)
    if merged is not None:
        return merged
    for candidate in WRONG_ACCEPTS:
        try:
            if candidate.compute(key) == received:
                return candidate.cause
        except ValueError:  # a key that is not base64 has no decoded bytes to hash
            continue
    for other, line in other_keys:
        if accept_for(other) == received:
            where = f", the request at line {line}" if line else ""
            shown = other.decode("latin-1")
            return (
                f"it is the accept of another request's key in the capture ({quoted(shown)}{where})"
            )
    for typo, guid in _guid_typos():
        if _b64_sha1(key + guid) == received:
            return f"the server's GUID is mistyped: {typo}"
    return NO_KNOWN_BUG

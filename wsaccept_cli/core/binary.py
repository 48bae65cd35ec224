"""What `wsaccept connect` reads from a person or a pipe and turns into frames: a binary
message written as hex or base64, and the arguments of /close. Pure code."""

from __future__ import annotations

import base64
import binascii
import string

HEX_DIGITS = frozenset(string.hexdigits)
MAX_REASON = 123  # bytes of a Close reason: 125 less the code (RFC 6455 §5.5)


def decode_binary(text: bytes) -> bytes | None:
    """The bytes `text` spells in hex (spaces and colons allowed between bytes) or in base64;
    None when it is neither. Hex is tried first: an even run of hex digits is read as hex."""
    stripped = text.strip()
    compact = stripped.replace(b" ", b"").replace(b":", b"")
    if compact and len(compact) % 2 == 0 and set(compact.decode("latin-1")) <= HEX_DIGITS:
        return bytes.fromhex(compact.decode("ascii"))
    if not stripped:
        return b""
    try:
        return base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return None


def close_args(text: str) -> tuple[int, str] | str:
    """`[CODE [REASON]]` of /close: the code (1000 by default) and reason, or what is wrong
    with them (RFC 6455 §7.4: 1000–1003, 1007–1014 and 3000–4999 may be sent)."""
    code_text, _, reason = text.strip().partition(" ")
    if not code_text:
        return 1000, ""
    if not code_text.isdigit():
        return f"{code_text!r} is not a close code (e.g. 1000)"
    code = int(code_text)
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        return f"{code} may not be sent in a Close frame (RFC 6455 §7.4)"
    if len(reason.encode("utf-8")) > MAX_REASON:
        return f"a Close reason holds at most {MAX_REASON} bytes (RFC 6455 §5.5)"
    return code, reason

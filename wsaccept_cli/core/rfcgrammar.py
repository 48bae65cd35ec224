"""Whether a response head keeps the grammar of RFC 9112 (HTTP/1.1 message syntax) and RFC 9110
(field values): what a conforming server sends, whatever a lenient client then takes.

A head that breaks it fails wsaccept's verdict even when some clients open it: another client,
proxy or version may not. A bare LF line ending is left to its own rule (RFC 9112 §2.2 lets a
recipient take it). Pure code over bytes, linear in the head.
"""

from __future__ import annotations

import re

_STATUS_LINE = re.compile(rb"HTTP/[0-9]\.[0-9] [0-9]{3} [\t\x20-\x7e\x80-\xff]*")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")


def _lines(head: bytes) -> list[bytes]:
    """The head's lines, each without its LF and the CR before it."""
    return [line.removesuffix(b"\r") for line in head.split(b"\n")]


def grammar_problems(head: bytes, *, exact: bool = True) -> list[str]:
    """What breaks RFC 9112 in a response head (interim responses before it included), as
    sentences citing the section; empty when nothing does. Without `exact` (a head rebuilt
    from a pasted capture, whose lines lost their trailing whitespace) a status line without
    the space after its code is not held against it."""
    problems: list[str] = []
    lines = _lines(head)
    if lines and lines[-1] == b"":
        lines.pop()
    if lines and lines[0] == b"":
        problems.append(
            "empty lines come before the status line (RFC 9112 §2.1: the message starts with it)"
        )
        while lines and lines[0] == b"":
            lines.pop(0)
    expect_status = True
    for line in lines:
        if expect_status:
            problems += _status_problems(line if exact else line.rstrip(b" ") + b" ")
            expect_status = False
        elif line == b"":
            expect_status = True
        else:
            problems += _field_problems(line)
        if len(problems) >= 3:
            break
    return problems[:3]


def _show(data: bytes) -> str:
    text = data[:40].decode("latin-1")
    return repr(text + ("…" if len(data) > 40 else ""))


def _status_problems(line: bytes) -> list[str]:
    if b"\r" in line:
        return [f"the status line {_show(line)} holds a CR (RFC 9112 §2.2: no bare CR)"]
    if _STATUS_LINE.fullmatch(line):
        return []
    if re.fullmatch(rb"HTTP/[0-9]\.[0-9] [0-9]{3}", line):
        why = "it lacks the space after the status code, which is sent even without a reason"
    else:
        why = "it is not `HTTP/x.y SP 3DIGIT SP reason`"
    return [f"the status line {_show(line)} is malformed: {why} (RFC 9112 §4)"]


def _field_problems(line: bytes) -> list[str]:
    if line[:1] in (b" ", b"\t"):
        return [
            f"the line {_show(line)} is an obs-fold continuation; a sender must not fold"
            " (RFC 9112 §5.2)"
        ]
    name, colon, value = line.partition(b":")
    if not colon:
        return [f"the line {_show(line)} has no colon: it is not a field line (RFC 9112 §5)"]
    if name[-1:] in (b" ", b"\t"):
        return [f"the field {_show(name.rstrip())} has whitespace before its colon (RFC 9112 §5.1)"]
    if not _TOKEN.fullmatch(name):
        return [f"the field name {_show(name)} is not a token (RFC 9110 §5.1)"]
    value = value.strip(b" \t")
    if not _VALUE.fullmatch(value):
        bad = next(byte for byte in value if not _VALUE.fullmatch(bytes([byte])))
        return [
            f"the value of {name.decode('latin-1')} holds the control character"
            f" {chr(bad)!r} (RFC 9110 §5.5: CR, LF, NUL and other controls are invalid there)"
        ]
    return []

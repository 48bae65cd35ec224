"""Sec-WebSocket-Extensions values taken apart (RFC 6455 §9.1), and the parameters of
permessage-deflate checked (RFC 7692 §7). Pure code, shared by the rules and the client
predictions, in time linear in the values.
"""

from __future__ import annotations

import re

from wsaccept_cli.core.handshake import split_list
from wsaccept_cli.core.wording import quoted

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')

DEFLATE = "permessage-deflate"
_TAKEOVER = ("server_no_context_takeover", "client_no_context_takeover")
_WINDOW_BITS = ("server_max_window_bits", "client_max_window_bits")
# RFC 7692 §7.1.2.1: 1*DIGIT, a value from 8 to 15, without leading zeros.
WINDOW_BITS_VALUES = frozenset(str(bits) for bits in range(8, 16))

Parameter = tuple[str, "str | None"]


class Extension:
    """One extension of a Sec-WebSocket-Extensions list: its name and its parameters, names
    lowercased, quoted values unquoted."""

    __slots__ = ("name", "parameters")

    def __init__(self, name: str, parameters: list[Parameter]) -> None:
        self.name = name
        self.parameters = parameters


def _parameter(text: str) -> Parameter | None:
    name, equals, value = (part.strip() for part in text.partition("="))
    if not _TOKEN.fullmatch(name):
        return None
    if not equals:
        return name.lower(), None
    if _TOKEN.fullmatch(value):
        return name.lower(), value
    if _QUOTED.fullmatch(value):
        return name.lower(), re.sub(r"\\(.)", r"\1", value[1:-1])
    return None


def parse_extensions(
    values: list[str], *, empty_parameters: bool = False
) -> list[Extension] | None:
    """The extensions of every value, in order; None if any item is not `name; param=value`
    syntax (an empty item between commas is skipped, as lists allow, RFC 9110 §5.6.1; an empty
    parameter is skipped too with `empty_parameters`, as Firefox does)."""
    if not any(";" in value or '"' in value for value in values):  # names alone: one pass
        names = [item for item in split_list(values) if item]
        if not all(map(_TOKEN.fullmatch, names)):
            return None
        return [Extension(name, []) for name in ",".join(names).lower().split(",")]
    extensions = []
    for item in split_list(values):
        if not item:
            continue
        if ";" not in item:  # the usual case, and a hostile list of many names: no split
            if not _TOKEN.fullmatch(item):
                return None
            extensions.append(Extension(item.lower(), []))
            continue
        name, *texts = split_list([item], ";")
        if empty_parameters:
            texts = [text for text in texts if text]
        parameters = [_parameter(text) for text in texts]
        if not _TOKEN.fullmatch(name) or None in parameters:
            return None
        extensions.append(Extension(name.lower(), [p for p in parameters if p is not None]))
    return extensions


def deflate_problem(
    parameters: list[Parameter], *, response: bool, exact: bool = False
) -> str | None:
    """What is wrong with the parameters of a permessage-deflate offer or response by RFC 7692
    §7, as a sentence with its section, or None. With `exact`, parameter names are compared as
    written (a client that does so refuses `Server_No_Context_Takeover`)."""
    seen: set[str] = set()
    for name, value in parameters:
        if exact and name != name.lower():
            return f"{DEFLATE} has the unknown parameter {name!r} (RFC 7692 §7)"
        name = name.lower()
        if name in seen:
            return f"{DEFLATE} has {name} twice; each parameter may appear once (RFC 7692 §7)"
        seen.add(name)
        if name in _TAKEOVER and value is not None:
            return f"{DEFLATE} has {name}={quoted(value)}; it takes no value (RFC 7692 §7.1.1)"
        if name not in _TAKEOVER and name not in _WINDOW_BITS:
            return f"{DEFLATE} has the unknown parameter {quoted(name)} (RFC 7692 §7)"
        if value is None and name == "client_max_window_bits":
            if response:
                return (
                    f"{DEFLATE} has client_max_window_bits without a value; in a response it"
                    " needs one (RFC 7692 §7.1.2.2)"
                )
        elif name in _WINDOW_BITS and value not in WINDOW_BITS_VALUES:
            shown = "no value" if value is None else quoted(value)
            return f"{DEFLATE} has {name} with {shown}; it must be 8 to 15 (RFC 7692 §7.1.2)"
    return None

"""The shortcuts taken for speed (probing many URLs checks and reports each one in full) give
exactly what the full path gives.

- The clients' head parsers (core/clientmodels/httpgrammar.py): a canonical head is split once
  and each grammar checks only what could still differ; whatever that returns must be what the
  grammar's full parse returns, for every client model registered, on canonical heads and on
  their neighbours that are not (which must take the full parse).
- Redaction (core/secrets.py) skips a text that names no credential header and holds no
  secret or marker.
- Header lookups by name (core/handshake.py, httpgrammar.Head) go through an index that follows
  the header list as it grows, is replaced, or has a value folded in.
- A probe checks the rules once (net/probe.py), though its closing handshake needs the verdict
  before the report is made.
- Intermediaries (core/intermediaries.py) are looked for only among the headers a response
  has, when their names are given."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import accept_of, key_of, socket_server
from wsaccept_cli.core import secrets
from wsaccept_cli.core.clientmodels import PROFILES
from wsaccept_cli.core.clientmodels.httpgrammar import (
    Head,
    RefusalError,
    canonical,
    parse_head,
    parse_head_fully,
)
from wsaccept_cli.core.handshake import Message
from wsaccept_cli.core.rules import check_handshake
from wsaccept_cli.net import probe
from wsaccept_cli.net.endpoint import Settings, check

# The profiles whose HTTP/1.1 parser is their Grammar (the others parse with a function of their
# own, `Profile.parse`, and never reach httpgrammar.parse_head).
GRAMMARS = [profile for profile in PROFILES if profile.parse is None]

TOKEN = "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"

names = st.text(TOKEN, min_size=1, max_size=20)
values = st.from_regex(r"[\x21-\x7e](?:[\x20-\x7e]{0,60}[\x21-\x7e])?", fullmatch=True)
statuses = st.sampled_from([101, 100, 103, 200, 204, 301, 400, 403, 426, 500, 503, 999])
reasons = st.sampled_from(["Switching Protocols", "OK", "x", "Forbidden  now", "A" * 9000])


def head_bytes(status: int, reason: str, fields: list[tuple[str, str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status:03d} {reason}", *(f"{n}:{sp}{v}" for n, sp, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def outcome(parse: object, data: bytes, grammar: object) -> tuple[object, ...]:
    try:
        head: Head = parse(data, grammar)  # type: ignore[operator]
    except RefusalError as refusal:
        return ("refused", str(refusal))
    except Exception as error:  # a model's own bug: the shortcut must not hide or add one
        return ("raised", type(error).__name__, str(error))
    fields = head.fields
    return (head.version, head.status, head.reason, fields, head.bare_lf, head.interim)


canonical_heads = st.builds(
    head_bytes,
    statuses,
    reasons,
    st.lists(st.tuples(names, st.sampled_from(["", " "]), values), max_size=140),
)


@settings(max_examples=60, deadline=None)
@given(canonical_heads)
def test_a_canonical_head_parses_as_every_grammar_parses_it(data: bytes) -> None:
    assert canonical(data) is not None
    for profile in GRAMMARS:
        assert outcome(parse_head, data, profile.grammar) == outcome(
            parse_head_fully, data, profile.grammar
        ), profile.name


@settings(max_examples=60, deadline=None)
@given(
    canonical_heads,
    st.sampled_from(
        [
            b"HTTP/1.1 101 Switching Protocols\r\n",
            b"\n",
            b"\r\n",
            b" ",
            b"\t",
            b"\r",
            b"\x00",
            b"\x7f",
            b"\xe9",
            b":",
            b"a",
            b"HTTP/1.0",
            b"X : y\r\n",
            b" folded\r\n",
        ]
    ),
    st.integers(min_value=0),
)
def test_a_neighbour_of_a_canonical_head_parses_as_every_grammar_parses_it(
    data: bytes, inserted: bytes, where: int
) -> None:
    at = where % (len(data) + 1)
    neighbour = data[:at] + inserted + data[at:]
    for profile in GRAMMARS:
        assert outcome(parse_head, neighbour, profile.grammar) == outcome(
            parse_head_fully, neighbour, profile.grammar
        ), profile.name


def test_a_usual_101_takes_the_shortcut_for_every_client() -> None:
    data = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )
    split = canonical(data)
    assert split is not None
    taken = {profile.name for profile in GRAMMARS if split.head_for(profile.grammar)}
    assert taken >= {"Node ws", "websockets", "aiohttp", "curl"}  # Chromium, Firefox: own parse
    assert canonical(data[:-2]) is None  # no end: the full parse says why


def test_values_are_found_by_name_in_any_case_and_follow_a_replaced_field_list() -> None:
    head = Head()
    head.fields = [("Upgrade", "websocket"), ("X", "1"), ("upgrade", "h2c")]
    assert head.values("UPGRADE") == ["websocket", "h2c"]
    head.fields.append(("x", "2"))
    assert head.values("x") == ["1", "2"]
    head.fields = [("X", "3")]
    assert head.values("x") == ["3"]
    assert head.values("absent") == []


pieces = st.sampled_from(
    ["Cookie: a=b", "set-COOKIE: s=1; Path=/", "Proxy-Authorization: Basic x", "cookie", "x: y",
     secrets.REDACTED, ":", "\n", "\r\n", " ", "\t", "Authorization:", "KOOKIE", "\u212a", "é"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(pieces, st.text(max_size=8)), max_size=12).map("".join))
def test_redaction_with_no_secrets_is_that_of_the_full_path(text: str) -> None:
    shortcut = secrets.Redactor().redact_text(text)
    original = secrets._may_name_a_secret_header
    secrets._may_name_a_secret_header = lambda text: True  # the full path, always
    try:
        assert secrets.Redactor().redact_text(text) == shortcut
    finally:
        secrets._may_name_a_secret_header = original


def test_header_values_follow_the_message_as_it_changes() -> None:
    message = Message("response", None)
    message.add_header("Upgrade", "websocket")
    assert message.values("upgrade") == ["websocket"]
    message.fold("and more")
    assert message.values("UPGRADE") == ["websocket and more"]
    message.add_header("upgrade", "h2c")
    assert message.values("Upgrade") == ["websocket and more", "h2c"]
    message.headers = [("X", "1")]
    assert (message.values("upgrade"), message.values("x")) == ([], ["1"])


def answer_101(accept_right: bool) -> Callable[[socket.socket], None]:
    """A server's 101, its accept right or not, then the Close echoed."""

    def behave(connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(4096)
        accept = accept_of(key_of(request)) if accept_right else b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        if connection.recv(4096)[:1] == b"\x88":
            connection.sendall(b"\x88\x02\x03\xe8")

    return behave


@pytest.mark.parametrize("accept_right", [True, False], ids=["valid", "wrong-accept"])
def test_a_probe_checks_the_rules_once(monkeypatch: pytest.MonkeyPatch, accept_right: bool) -> None:
    # The closing handshake depends on the rules' verdict (a failed 101 is closed without a
    # Close frame): the report takes that verdict's findings rather than checking again.
    calls = []

    def counted(*args: Any) -> Any:
        calls.append(args)
        return check_handshake(*args)

    monkeypatch.setattr(probe, "check_handshake", counted)
    with socket_server(answer_101(accept_right)) as port:
        checked = check(f"ws://127.0.0.1:{port}/", Settings(environ={}))
    assert len(calls) == 1
    assert checked.report.verdict == ("pass" if accept_right else "fail")
    assert checked.report.handshake.url == f"ws://127.0.0.1:{port}/"
    assert checked.result.closing == ("closed" if accept_right else "failed")


INTERMEDIARY_FIELDS = st.sampled_from(
    [("Server", "nginx/1.25"), ("server", "cloudflare"), ("VIA", "1.1 varnish"), ("Via", "x"),
     ("X-Cache", "MISS from squid"), ("x-served-by", "cache-lhr"), ("CF-RAY", "8a-LHR"),
     ("X-Squid-Error", "ERR_X 0"), ("Upgrade", "websocket"), ("X-Amz-Cf-Id", "abc"),
     ("x-envoy-upstream-service-time", "3"), ("X-Varnish", "12"), ("Server", "")]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(INTERMEDIARY_FIELDS, max_size=6),
    st.sampled_from([101, 200, 403, 426, 502, 503, 504, None]),
    st.lists(st.sampled_from(["", "<center>nginx</center>", "Bad gateway", "x"]), max_size=2),
)
def test_intermediaries_found_among_the_names_there_are_as_among_all(
    fields: list[tuple[str, str]], status: int | None, body: list[str]
) -> None:
    from wsaccept_cli.core.intermediaries import identify

    message = Message("response", None)
    for name, value in fields:
        message.add_header(name, value)
    everywhere = identify(status, message.values, body)
    among = identify(status, message.values, body, message.names())
    assert (among and among.as_dict()) == (everywhere and everywhere.as_dict())

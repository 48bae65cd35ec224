"""Our results checked against independent implementations: websockets and wsproto.

Property-based: hypothesis draws keys, valid and invalid, and both sides must agree.
"""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.utils import accept_key
from wsproto.utilities import generate_accept_token

from tests.helpers import invoke
from wsaccept_cli.core.keys import accept_for, accepts_equal, key_problems

BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
# Printable ASCII a key line may hold: no whitespace (trimmed) and no ':' (a header line).
KEY_CHARS = "".join(chr(c) for c in range(33, 127) if chr(c) != ":")

valid_keys = st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode())
near_keys = st.text(alphabet=BASE64_CHARS, min_size=0, max_size=32)
odd_keys = st.text(alphabet=KEY_CHARS, min_size=1, max_size=40)
any_keys = st.one_of(valid_keys, near_keys, odd_keys)
# On a line of its own an empty key is a blank line, which the streams skip.
line_keys = st.one_of(valid_keys, near_keys.filter(bool), odd_keys)


def websockets_server_verdict(key: str) -> tuple[int, str | None]:
    """What a real websockets server answers to a handshake with this key."""
    headers = Headers()
    headers["Host"] = "example.com"
    headers["Upgrade"] = "websocket"
    headers["Connection"] = "Upgrade"
    headers["Sec-WebSocket-Key"] = key
    headers["Sec-WebSocket-Version"] = "13"
    response = ServerProtocol().accept(Request("/", headers))
    return response.status_code, response.headers.get("Sec-WebSocket-Accept")


@given(st.binary(max_size=64))
def test_accept_of_any_bytes_matches_wsproto(key: bytes) -> None:
    assert accept_for(key) == generate_accept_token(key)


@given(any_keys)
def test_accept_matches_websockets(key: str) -> None:
    assert accept_for(key.encode()).decode() == accept_key(key)


@given(any_keys)
def test_validity_agrees_with_a_websockets_server(key: str) -> None:
    status, server_accept = websockets_server_verdict(key)
    problems = {p.code for p in key_problems(key.encode())}
    if not problems:
        assert (status, server_accept) == (101, accept_for(key.encode()).decode())
    if status == 101:
        # websockets decodes leniently: it takes non-zero padding bits, which we flag.
        assert problems <= {"non_canonical"}
    else:
        assert problems


@given(any_keys, st.one_of(st.text(alphabet=BASE64_CHARS, max_size=30), st.just("")))
def test_verify_agrees_with_websockets(key: str, accept: str) -> None:
    right = accept_key(key)
    assert accepts_equal(accept_for(key.encode()), right.encode())
    assert accepts_equal(accept_for(key.encode()), accept.encode()) == (accept == right)


@settings(max_examples=50, deadline=None)
@given(st.lists(line_keys, min_size=1, max_size=30))
def test_compute_stream_matches_websockets(keys: list[str]) -> None:
    result = invoke("compute", "--format", "json", input="\n".join(keys) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["accept"] for r in records] == [accept_key(k) for k in keys]
    assert [r["line"] for r in records] == list(range(1, len(keys) + 1))
    assert [r["valid"] for r in records] == [not key_problems(k.encode()) for k in keys]
    assert result.exit_code == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(line_keys, st.booleans()), min_size=1, max_size=30))
def test_verify_stream_matches_websockets(pairs: list[tuple[str, bool]]) -> None:
    lines = [f"{k} {accept_key(k) if good else accept_key(k + 'x')}" for k, good in pairs]
    result = invoke("verify", "--format", "json", input="\n".join(lines) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["match"] for r in records] == [good for _, good in pairs]
    assert [r["expected"] for r in records] == [accept_key(k) for k, _ in pairs]
    assert result.exit_code == (0 if all(good for _, good in pairs) else 1)

"""The client models on the bytes after the response head (`clientmodels.frames`): the measured
outcomes of `tests/after_cases.py`, the same bytes given as one head or as head and `after`,
the memo, the JDK's body, and how `inspect` and the JSON report carry it."""

from __future__ import annotations

import json

import pytest

from tests.after_cases import CASES, served
from tests.client_corpus import render_template
from wsaccept_cli.core import clientmodels
from wsaccept_cli.core.clientmodels import PROFILES, Offer, predict, predict_each
from wsaccept_cli.core.clientmodels.frames import RFC, SECTIONS, FrameReader, Stage
from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.keys import accept_for
from wsaccept_cli.core.rules import check_handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n"
)
HEAD = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: " + accept_for(KEY.encode()) + b"\r\n\r\n"
)


def outcomes(data: bytes, after: bytes = b"") -> str:
    """Each client's prediction for its own request (with or without an extension offer)."""
    return "".join(
        "o" if profile.predict(data, Offer(KEY, (), profile.offers_extensions), after).accepts
        else "r"
        for profile in PROFILES
    )  # fmt: skip


@pytest.mark.parametrize(("name", "fields", "after", "ending", "measured"), CASES)
def test_each_model_predicts_what_its_client_did(
    name: str, fields: str, after: bytes, ending: bytes, measured: str
) -> None:
    data = render_template(served(fields, after, ending), KEY.encode())
    assert outcomes(data) == measured, name
    split = data.find(b"\r\n\r\n") + 4
    if split > 3:  # the same bytes handed over as a head and what came after it
        assert outcomes(data[:split], data[split:]) == measured, name


def test_the_memo_keeps_the_bytes_after_the_head_apart() -> None:
    offer = Offer(KEY, (), True, target="/chat")
    clientmodels._MEMO.clear()
    for after in (b"", b"\x81\x02hi", b"\r\n", b"\x88\x02\x03\xe8", b"\x81\x02hi", b"x" * 300):
        got = [verdict.as_dict() for verdict in predict(HEAD, offer, after)]
        assert got == [verdict.as_dict() for verdict in predict_each(HEAD, offer, after)]
    assert clientmodels._memo_key(HEAD, offer, b"x" * 300) is None  # long: not memoised
    assert clientmodels._memo_key(HEAD, offer, b"\r\n") is not None


def test_the_jdk_reads_a_body_the_101_announces_before_its_frames() -> None:
    """Http1Response reads a Content-Length or chunked body on a 101: what follows it is the
    first frame; a body that does not all come is waited for (a refusal)."""
    java = next(profile for profile in PROFILES if profile.name == "Java")
    offer = Offer(KEY, (), False)
    head = HEAD[:-2] + b"Content-Length: 3\r\n\r\n"
    assert java.predict(head, offer, b"abc\x81\x02hi").accepts
    assert java.predict(head, offer, b"ab").reason == "a body of 3 bytes announced"
    reason = java.predict(head, offer, b"abc\x83\x00").reason
    assert reason == "a frame with the reserved opcode 0x3 right after the head"
    chunked = HEAD[:-2] + b"Transfer-Encoding: chunked\r\n\r\n"
    assert java.predict(chunked, offer, b"2;x=y\r\nab\r\n0\r\nT: 1\r\n\r\n\x89\x00").accepts
    for cut in (b"2\r\nab", b"2\r\nabXY0\r\n\r\n", b"zz\r\n", b"0\r\n"):
        assert java.predict(chunked, offer, cut).reason == "a chunked body announced", cut


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        (b"\x81\x02hi\x89\x00\x8a\x00", None),
        (b"\x88\x00", None),  # a Close is allowed
        (b"\x88\x03\x03\xe8\xff", "close"),
        (b"\xc1\x00", "rsv"),
        (b"\x8b", "opcode"),
        (b"\x09\x00", "control_fin"),
        (b"\x89\x7e", "control_length"),
        (b"\x81\x80", "mask"),
        (b"\x80", "sequence"),
        (b"\x01\x01a\x81\x00", "sequence"),
        (b"\x81\x7e\x00\x05", "nonminimal"),
        (b"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05", "nonminimal"),
        (b"\x82\x7f\x80", "top_bit"),
        (b"\x81\x02\xc3", None),  # UTF-8 cut short: the rest may come
        (b"\x81\x01\xc3", "utf8"),
        (b"\x81\x01\xff", "utf8"),
        (b"\x01\x01\xe2\x80\x01\x82", "utf8"),  # a message that ends inside a character
    ],
)
def test_the_rfc_reader_names_what_rfc_6455_forbids(after: bytes, problem: str | None) -> None:
    found = RFC.problem(after)
    assert (found[0] if found else None) == problem, found
    assert problem is None or problem in SECTIONS


def test_compressed_messages_are_inflated_when_deflate_was_agreed() -> None:
    reader = FrameReader("test", {"rsv": Stage.BYTE, "utf8": Stage.MESSAGE})
    good = b"\xc1\x07\xcaH\xcd\xc9\xc9\x07\x00"  # "hello", RFC 7692 §7.2.3.1
    assert reader.read(good, deflate=True) is None
    assert reader.read(good, deflate=False) == (
        "a frame with RSV1 set and no extension that defines it right after the head"
    )
    assert reader.read(b"\xc1\x05hello", deflate=True) == (
        "a compressed message that does not inflate right after the head"
    )
    with pytest.raises(ValueError, match="unknown checks"):
        FrameReader("test", {"nonsense": Stage.BYTE})


def test_a_101_followed_by_a_stray_line_end_warns_naming_the_clients() -> None:
    """A head ended CR LF LF CR LF (a framework's extra empty line): the two bytes left are a
    frame with a reserved opcode to every client, and four of them read it before opening."""
    handshake, capture = parse_exchange(REQUEST + b"\r\n", HEAD, b"\r\n")
    findings = [f for f in check_handshake(handshake, capture) if f.status != "pass"]
    assert [(f.rule, f.status, f.section) for f in findings] == [
        ("response.clients", "warn", "§5.2")
    ]
    assert findings[0].message == (
        "the 101 is right, but Chromium (a frame with the reserved control opcode 0xd without"
        " FIN (control frames are not fragmented) right after the head); websockets, Java,"
        " libwebsockets (a frame with the reserved opcode 0xd right after the head) read what"
        " the server sent right behind it before their first message goes out, and stop there;"
        " the other clients open it and send"
    )
    close, _ = parse_exchange(REQUEST + b"\r\n", HEAD, b"\x88\x02\x03\xe8")
    [finding] = [f for f in check_handshake(close, capture) if f.status != "pass"]
    assert finding.section == "§5.5.1"
    assert "tornado" in finding.message
    assert "Firefox" not in finding.message
    ping, _ = parse_exchange(REQUEST + b"\r\n", HEAD, b"\x89\x00")
    assert [f for f in check_handshake(ping, capture) if f.status != "pass"] == []


def test_a_refusal_keeps_its_after_bytes_out_of_the_prediction() -> None:
    """Only a 101's following bytes are read: a 403's body changes no prediction."""
    refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n"
    handshake, _ = parse_exchange(REQUEST + b"\r\n", refusal, b"\r\n")
    plain, _ = parse_exchange(REQUEST + b"\r\n", refusal)
    report = clientmodels.predict_clients(handshake)
    assert [v.as_dict() for v in report] == [
        v.as_dict() for v in clientmodels.predict_clients(plain)
    ]
    assert json.dumps([v.as_dict() for v in report])


@pytest.mark.parametrize(("size", "accepts"), [(3953, False), (3954, True)])
def test_libwebsockets_reads_what_came_in_the_read_that_ended_the_head(
    size: int, accepts: bool
) -> None:
    """It reads 4080 bytes at a time: a 127-byte Close that ends past byte 4080 of the
    response is read after the open (measured byte by byte: the differential's m75-2585)."""
    lws = next(profile for profile in PROFILES if profile.name == "libwebsockets")
    head = HEAD[:-2] + b"X-Filler: " + b"a" * (size - len(HEAD) - 12) + b"\r\n\r\n"
    assert len(head) == size
    close = b"\x88\x7d\x03\xe9" + b"x" * 123
    assert lws.predict(head, Offer(KEY, (), False), close).accepts is accepts

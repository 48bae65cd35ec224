"""The closing handshake's shortcut (net/closing.py): our Close is the frame wsproto writes, and
whatever the server answers, the outcome is the one wsproto alone reaches feeding the same
bytes, whether or not the answer is the plain Close the shortcut knows."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsaccept_cli.net import closing
from wsaccept_cli.net.connect import Deadline


@given(st.binary(min_size=4, max_size=4))
def test_our_close_is_the_frame_wsproto_writes(key: bytes) -> None:
    import wsproto.frame_protocol as frames
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import CloseConnection

    original = frames.os.urandom
    frames.os.urandom = lambda size: key
    try:
        written = Connection(ConnectionType.CLIENT).send(CloseConnection(code=1000))
    finally:
        frames.os.urandom = original
    assert closing.masked_close(key) == written


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    length = bytes([size]) if size < 126 else b"\x7e" + size.to_bytes(2, "big")
    if mask:
        return head + bytes([length[0] | 0x80]) + length[1:] + b"\0\0\0\0" + payload
    return head + length + payload


ANSWERS = st.lists(
    st.sampled_from(
        [
            closing.PLAIN_CLOSE_ANSWER,
            frame(0x8, b"\x03\xe8bye"),
            frame(0x8, b"\x03\xe9"),
            frame(0x8, b""),
            frame(0x8, b"\x03\xe8", mask=True),
            frame(0x9, b"hi"),
            frame(0x1, b"text"),
            frame(0x1, b"\xff"),
            frame(0x3, b""),
            frame(0x8, b"\x03\xe8", fin=False),
            b"\x88",
            b"\x02\xe8",
        ]
    ),
    max_size=3,
).map(b"".join)


def outcome(answer: bytes, *, shortcut: bool) -> tuple[Any, ...]:
    """The closing handshake against a peer that reads our Close and answers `answer`."""
    ours, theirs = socket.socketpair()
    got: list[bytes] = []

    def peer() -> None:
        got.append(theirs.recv(64))
        if answer:
            theirs.sendall(answer)
        theirs.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=peer)
    thread.start()
    try:
        ours.settimeout(2)
        if shortcut:
            result = closing.closing_handshake(ours, Deadline(2), b"", [], look=False)
        else:  # wsproto alone, as before the shortcut
            client = closing._Client(ours, [])
            client.close()
            result = closing._await_close(client, ours, Deadline(2), ours.recv(65536))
    finally:
        thread.join()
        ours.close()
        theirs.close()
    assert got[0][:2] == b"\x88\x82"  # our Close went out, masked
    return result.how, result.code, result.reason, result.sent_code


@settings(max_examples=150, deadline=None)
@given(ANSWERS)
def test_every_answer_ends_as_wsproto_alone_ends_it(answer: bytes) -> None:
    assert outcome(answer, shortcut=True) == outcome(answer, shortcut=False)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (closing.PLAIN_CLOSE_ANSWER, ("closed", 1000, "", None)),
        (frame(0x8, b"\x03\xe8bye"), ("closed", 1000, "bye", None)),
        (b"", ("no-close", None, "", None)),
    ],
)
def test_plain_and_other_answers(answer: bytes, expected: tuple[Any, ...]) -> None:
    assert outcome(answer, shortcut=True) == expected

"""`clientmodels.predict` predicts heads that differ only in a right Sec-WebSocket-Accept once
(`_memo_key`): its answers must be those of every model run on the head (`predict_each`), for
the differential generator's heads (every mutation class), keys of every shape, and heads made
to defeat the swap (the accept elsewhere, twice, in another case, beside the sample's)."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mutations import generate
from wsaccept_cli.core import clientmodels
from wsaccept_cli.core.clientmodels import Offer, predict, predict_each
from wsaccept_cli.core.keys import accept_for

SAMPLE = "dGhlIHNhbXBsZSBub25jZQ=="
SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def answers(head: bytes, offer: Offer) -> list[dict[str, object]]:
    return [verdict.as_dict() for verdict in predict(head, offer)]


def expected(head: bytes, offer: Offer) -> list[dict[str, object]]:
    return [verdict.as_dict() for verdict in predict_each(head, offer)]


def head_for(template: bytes, key: str) -> bytes:
    return template.replace(b"{accept}", accept_for(key.encode("latin-1")))


MUTATIONS = [mutation.template() for mutation in generate(7, 400)]


@pytest.mark.parametrize("index", range(0, 400, 5))
def test_generated_heads_agree_whatever_the_key(index: int) -> None:
    """The same template under five keys: the memo (filled by the first) answers the rest."""
    clientmodels._MEMO.clear()
    for offset in range(5):
        template, protocols, _ = MUTATIONS[(index + offset) % len(MUTATIONS)]
        for key in (SAMPLE, base64.b64encode(bytes([index % 256, offset]) * 8).decode()):
            offer = Offer(key, protocols, True, target="/")
            head = head_for(template, key)
            assert answers(head, offer) == expected(head, offer), head


DATES = st.builds(
    lambda day, month, digits: (
        f"{day}, {digits[:2]} {month} {digits[2:6]} {digits[6:8]}:{digits[8:10]}:{digits[10:]} GMT"
    ),
    st.sampled_from(["Mon", "Tue", "Sat", "Sun", "Xyz"]),
    st.sampled_from(["Jan", "Dec", "Abc"]),
    st.text("0123456789", min_size=12, max_size=12),
)
DATE_LINES = st.one_of(
    st.none(),
    st.builds(
        lambda name, gap, date, tail: f"{name}:{gap}{date}{tail}".encode(),
        st.sampled_from(["Date", "date", "DATE", "Date ", "X-Date", " Date"]),
        st.sampled_from(["", " ", "\t", "  "]),
        st.one_of(DATES, st.sampled_from(["Sat, 5 Dec 2026 11:21:58 GMT", "yesterday"])),
        st.sampled_from(["", " ", "\t", "\r", " x"]),
    ),
)


@settings(max_examples=int(os.environ.get("MEMO_EXAMPLES", "300")), deadline=None)
@given(
    index=st.integers(0, len(MUTATIONS) - 1),
    key=st.one_of(
        st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode()),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30),
    ),
    extensions=st.booleans(),
    date_line=DATE_LINES,
    where=st.integers(0, 8),
)
def test_any_key_any_mutation(
    index: int, key: str, extensions: bool, date_line: bytes | None, where: int
) -> None:
    template, protocols, _ = MUTATIONS[index]
    offer = Offer(key, protocols, extensions, target="/chat")
    head = head_for(template, key)
    if date_line is not None:  # a Date field line (or a near miss) after one of the lines
        lines = head.split(b"\n")
        at = min(where, len(lines) - 2) + 1
        head = b"\n".join([*lines[:at], date_line + b"\r", *lines[at:]])
    assert answers(head, offer) == expected(head, offer)
    assert answers(head, offer) == expected(head, offer)  # the second time from the memo


VALID = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: {accept}\r\n"
)


@pytest.mark.parametrize(
    "extra",
    [
        b"X-Echo: {accept}\r\n",  # the right accept twice
        b"X-Echo: {lower}\r\n",  # and once more in another case
        b"X-Echo: " + SAMPLE_ACCEPT.encode() + b"\r\n",  # the sample's accept beside it
        b"X-Echo: " + SAMPLE_ACCEPT.lower().encode() + b"\r\n",
        b"",
    ],
)
@pytest.mark.parametrize("key", [SAMPLE, "x3JJHMbDL1EzLkh9GBhXDw==", "AAAAAAAAAAAAAAAAAAAAAA=="])
def test_heads_made_to_defeat_the_swap(extra: bytes, key: str) -> None:
    accept = accept_for(key.encode())
    head = (VALID + extra + b"\r\n").replace(b"{lower}", accept.lower())
    head = head.replace(b"{accept}", accept)
    offer = Offer(key, (), True, target="/")
    assert answers(head, offer) == expected(head, offer)


@pytest.mark.parametrize(
    "line",
    [
        b"Sec-WebSocket-Accept: {accept}",
        b"sec-websocket-accept:\t{accept} \t",
        b"Sec-WebSocket-Accept : {accept}",  # whitespace before the colon: not memoised
        b"Sec-WebSocket-Accept: {lower}",
        b"Sec-WebSocket-Accept: x{accept}",
        b" {accept}",  # an obs-fold line
        b"Sec-WebSocket-Accept: {accept}\r",
    ],
)
def test_the_accept_line_in_every_shape(line: bytes) -> None:
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    accept = accept_for(key.encode())
    head = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + line.replace(b"{lower}", accept.lower()).replace(b"{accept}", accept)
        + b"\r\n\r\n"
    )
    offer = Offer(key, (), True, target="/")
    assert answers(head, offer) == expected(head, offer)


def test_most_generated_heads_are_memoised() -> None:
    """So the comparisons above exercise the swap, not only the heads it leaves alone."""
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    offers = [(head_for(t, key), Offer(key, p, True, target="/")) for t, p, _ in MUTATIONS]
    swapped = sum(clientmodels._memo_key(head, offer) is not None for head, offer in offers)
    assert swapped > len(offers) // 2


def test_only_right_accepts_in_field_lines_are_memoised() -> None:
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    accept = accept_for(key.encode())
    offer = Offer(key, (), True, target="/")
    head = head_for(VALID + b"\r\n", key)
    memo_key = clientmodels._memo_key(head, offer)
    assert memo_key is not None
    assert memo_key[0] == head.replace(accept, SAMPLE_ACCEPT.encode())
    assert clientmodels._memo_key(head.replace(accept, accept.lower()), offer) is None
    assert clientmodels._memo_key(head, Offer(None, (), True)) is None
    assert clientmodels._memo_key(head + b"X" * 5000, offer) is None
    assert clientmodels._memo_key(head, Offer(key, (), True, http2=True)) is None


def test_heads_differing_in_their_date_share_a_prediction() -> None:
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    offer = Offer(key, (), True, target="/")
    dated = [
        head_for(VALID + f"Date: {date}\r\n\r\n".encode(), key)
        for date in ("Sat, 05 Dec 2026 11:21:58 GMT", "Mon, 31 Jan 1999 23:59:59 GMT")
    ]
    keys = [clientmodels._memo_key(head, offer) for head in dated]
    assert keys[0] is not None
    assert keys[0] == keys[1]
    assert b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n" in keys[0][0]
    odd = head_for(VALID + b"Date: Sat, 5 Dec 2026 11:21:58 GMT\r\n\r\n", key)
    odd_key = clientmodels._memo_key(odd, offer)
    assert odd_key is not None
    assert b"Sat, 5 Dec 2026" in odd_key[0]  # not IMF-fixdate: kept as it is
    for head in [*dated, odd]:
        assert answers(head, offer) == expected(head, offer)


def test_the_memo_stays_bounded() -> None:
    clientmodels._MEMO.clear()
    for number in range(clientmodels.MEMO_ENTRIES * 2 + 3):
        key = base64.b64encode(number.to_bytes(16, "big")).decode()
        head = head_for(VALID + f"X-Number: {number}\r\n\r\n".encode(), key)
        predict(head, Offer(key, (), True, target="/"))
        assert len(clientmodels._MEMO) <= clientmodels.MEMO_ENTRIES


@pytest.mark.parametrize("first", [b"Sec-WebSocket-Accept: {accept}", b"Date: {date}"])
def test_a_reason_that_quotes_the_head_is_not_shared(first: bytes) -> None:
    """After an interim response the next line is a status line to every client: the line the
    memo swaps a value in is then quoted in the refusal (found by the property test above)."""
    for key, date in (("x3JJHMbDL1EzLkh9GBhXDw==", "Sat, 05 Dec 2026 11:21:58 GMT"),
                      ("AAAAAAAAAAAAAAAAAAAAAA==", "Mon, 31 Jan 1999 23:59:59 GMT")):  # fmt: skip
        accept = accept_for(key.encode())
        line = first.replace(b"{accept}", accept).replace(b"{date}", date.encode())
        head = (
            b"HTTP/1.1 100 Continue\r\n\r\n" + line + b"\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        offer = Offer(key, (), True, target="/")
        verdicts = answers(head, offer)
        assert verdicts == expected(head, offer)
        assert any(accept.decode()[:10] in str(v["reason"]) or date[:10] in str(v["reason"])
                   for v in verdicts)  # fmt: skip

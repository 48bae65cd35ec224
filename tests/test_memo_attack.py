"""The client-prediction memo (`clientmodels.predict`, `_memo_key`) attacked at its swap
boundaries by a second reader: heads assembled line by line from the pieces every model's
parser decides on (interim responses, leading empty lines, bare CR and LF, obs-fold, lines
without a colon, empty and repeated accepts, near-miss Date lines, the accept or the date where
a status line is read), each under a random key, must get from `predict` exactly what every
model run on the head gives (`predict_each`), the first time and from the memo.

CI runs a fixed sample; `MEMO_ATTACK_EXAMPLES=20000 python -m pytest tests/test_memo_attack.py`
runs the long search (each test: 0 disagreements in 20,000 examples when written, 2 min each)."""

from __future__ import annotations

import base64
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsaccept_cli.core import clientmodels
from wsaccept_cli.core.clientmodels import Offer, predict, predict_each
from wsaccept_cli.core.keys import accept_for

SAMPLE_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

DAYS = st.sampled_from(["Mon", "Thu", "Sat", "Xyz", "Icy", "Htt", "Ttp"])
MONTHS = st.sampled_from(["Jan", "Dec", "Abc", "Htt"])
DIGITS = st.text("0123456789", min_size=12, max_size=12)
IMF = st.builds(
    lambda day, month, d: f"{day}, {d[:2]} {month} {d[2:6]} {d[6:8]}:{d[8:10]}:{d[10:]} GMT",
    DAYS,
    MONTHS,
    DIGITS,
)
GAPS = st.sampled_from(["", " ", "\t", "  ", " \t"])
TAILS = st.sampled_from(["", " ", "\t", " \t"])

# Each piece is a line without its ending; "{accept}" and "{lower}" are filled per key.
PIECES = st.one_of(
    st.builds(lambda g, t: f"Sec-WebSocket-Accept:{g}{{accept}}{t}", GAPS, TAILS),
    st.builds(
        lambda name, g: f"{name}:{g}{{accept}}",
        st.sampled_from(["sec-websocket-accept", "SEC-WEBSOCKET-ACCEPT", "Sec-WebSocket-Accept "]),
        GAPS,
    ),
    st.sampled_from(
        [
            "Sec-WebSocket-Accept:",
            "Sec-WebSocket-Accept: ",
            "Sec-WebSocket-Accept: x",
            "Sec-WebSocket-Accept: {lower}",
            " {accept}",
            "\t{accept}",
            "X-Echo: {accept}",
            "Upgrade: websocket",
            "Upgrade: WebSocket",
            "Connection: Upgrade",
            "Connection: up",
            "Connection: close",
            "Upgrade",
            "Connection",
            "X",
            "X:",
            ":",
            " folded",
            "\t",
            "Sec-WebSocket-Protocol: chat",
            "Sec-WebSocket-Extensions: permessage-deflate",
            "Content-Length: 0",
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            "HTTP/1.1 100 Continue",
            "HTTP/1.1 101 Switching Protocols",
            "",
            "\r",
            "Sec-WebSocket-Version: 13",
            "Expires: Thu, 01 Jan 1970 00:00:00 GMT",
        ]
    ),
    st.builds(
        lambda name, g, date, t: f"{name}:{g}{date}{t}",
        st.sampled_from(
            ["Date", "date", "DATE", "Date ", " Date", "Expires", "Sec-WebSocket-Protocol"]
        ),
        GAPS,
        IMF,
        TAILS,
    ),
    st.builds(lambda date: f"Date:{date}", IMF),
)
STATUS = st.sampled_from(
    [
        "HTTP/1.1 101 Switching Protocols",
        "HTTP/1.1 101",
        "HTTP/1.0 101 OK",
        "http/1.1 101 x",
        "HTTP/1.1 100 Continue",
        "HTTP/1.1 103 Early Hints",
        "HTTP/1.1 200 OK",
        "",
    ]
)
ENDINGS = st.sampled_from(["\r\n", "\r\n", "\r\n", "\n", "\r\r\n", "\n\r"])
LINES = st.lists(st.tuples(st.one_of(STATUS, PIECES), ENDINGS), min_size=1, max_size=12)
KEYS = st.one_of(
    st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(["dGhlIHNhbXBsZSBub25jZQ==", "x3JJHMbDL1EzLkh9GBhXDw=="]),
)


def assembled(status: str, lines: list[tuple[str, str]], end: str, accept: bytes) -> bytes:
    text = status + "\r\n" + "".join(line + ending for line, ending in lines) + end
    head = text.encode("latin-1")
    return head.replace(b"{lower}", accept.lower()).replace(b"{accept}", accept)


@settings(
    max_examples=int(os.environ.get("MEMO_ATTACK_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    status=STATUS,
    lines=LINES,
    end=st.sampled_from(["\r\n", "\n", "", "\r\n\r\n"]),
    key=KEYS,
    protocols=st.sampled_from([(), ("chat",), ("chat", "x")]),
    extensions=st.booleans(),
    fresh=st.booleans(),
)
def test_predict_is_predict_each_at_the_swap_boundaries(
    status: str,
    lines: list[tuple[str, str]],
    end: str,
    key: str,
    protocols: tuple[str, ...],
    extensions: bool,
    fresh: bool,
) -> None:
    if fresh:
        clientmodels._MEMO.clear()
    head = assembled(status, lines, end, accept_for(key.encode()))
    offer = Offer(key, protocols, extensions, target="/c/m1-123/0")
    each = predict_each(head, offer)
    assert predict(head, offer) == each, head
    assert predict(head, offer) == each, head  # from the memo, if it was kept
    # And under a second key, as a server answers the next probe, the memo filled by the first.
    other = "AAAAAAAAAAAAAAAAAAAAAA==" if key != "AAAAAAAAAAAAAAAAAAAAAA==" else SAMPLE_KEY
    head2 = assembled(status, lines, end, accept_for(other.encode()))
    offer2 = Offer(other, protocols, extensions, target="/c/m1-123/0")
    assert predict(head2, offer2) == predict_each(head2, offer2), head2


SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


@settings(
    max_examples=int(os.environ.get("MEMO_ATTACK_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    status=STATUS,
    lines=LINES,
    end=st.sampled_from(["\r\n", "\n", "", "\r\n\r\n"]),
    key=KEYS,
    accept_at=st.integers(0, 12),
    accept_line=st.tuples(
        st.builds(lambda g, t: f"Sec-WebSocket-Accept:{g}{{accept}}{t}", GAPS, TAILS),
        st.sampled_from(["\r\n", "\n"]),
    ),
    date_at=st.integers(0, 12),
    date_line=st.one_of(
        st.none(),
        st.tuples(
            st.builds(lambda g, d: f"Date:{g}{d}", GAPS, IMF), st.sampled_from(["\r\n", "\n"])
        ),
    ),
    protocols=st.sampled_from([(), ("chat",)]),
)
def test_heads_the_memo_swaps_in(
    status: str,
    lines: list[tuple[str, str]],
    end: str,
    key: str,
    accept_at: int,
    accept_line: tuple[str, str],
    date_at: int,
    date_line: tuple[str, str] | None,
    protocols: tuple[str, ...],
) -> None:
    """One right accept line (and often one IMF-fixdate Date line) among the pieces, so that
    most heads are swapped, not left alone."""
    lines = [*lines[:accept_at], accept_line, *lines[accept_at:]]
    if date_line is not None:
        lines = [*lines[:date_at], date_line, *lines[date_at:]]
    for name in (key, SAMPLE_KEY, "AAAAAAAAAAAAAAAAAAAAAA=="):
        head = assembled(status, lines, end, accept_for(name.encode()))
        offer = Offer(name, protocols, True, target="/c/m1-123/0")
        assert predict(head, offer) == predict_each(head, offer), head

"""Client predictions (`core/clients.py`) against the real clients, and the README's table.

Each real client runs against every response of the corpus (`tests/client_corpus.py`); what it
does (a frame: it accepted; closed without one: it refused) must be what wsaccept predicts.
Browsers are launched once each for the whole corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.client_corpus import (
    BY_NAME,
    CASES,
    SAMPLE_KEY,
    mismatches,
    observe,
    readme_table,
    table,
)
from tests.drivers import missing
from tests.helpers import RFC_ACCEPT, RFC_KEY, Run
from wsaccept_cli.core.clients import CLIENTS, describe, predict_clients
from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.handshake import Handshake, Message

README = Path(__file__).parent.parent / "README.md"


@pytest.mark.parametrize(
    "client",
    [
        pytest.param(
            client.name, marks=[pytest.mark.slow] * (client.name in ("Chromium", "Firefox"))
        )
        for client in CLIENTS
    ],
)
def test_real_clients_do_what_wsaccept_predicts(client: str) -> None:
    if (why := missing(client)) is not None:
        pytest.skip(why)
    observed = observe(client)
    assert set(observed) == set(BY_NAME)
    assert mismatches(client, observed) == []


def test_the_readme_table_is_the_corpus_predictions() -> None:
    assert readme_table(README.read_text()) == table(), (
        "README's compatibility table is stale: paste `python -m tests.client_corpus --table`"
    )


def test_the_corpus_covers_every_client_check() -> None:
    """Every check some client makes refuses at least one case of the corpus, so the real
    clients test each of them."""
    used: set[str] = set()
    for case in CASES:
        for verdict in case.predicted():
            if not verdict.accepts:
                used.add(f"{verdict.client}: {verdict.reason}")
    for client in CLIENTS:
        refusing = [entry for entry in used if entry.startswith(f"{client.name}:")]
        assert len(refusing) >= len(client.checks) - 1, (client.name, refusing)


def _handshake(response: str, protocols: str = "") -> str:
    offer = f"Sec-WebSocket-Protocol: {protocols}\r\n" if protocols else ""
    return (
        f"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n{response}"
    )


def test_no_subprotocol_chosen_is_refused_by_the_clients_that_require_one() -> None:
    request, _, response = _handshake(
        f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n",
        "chat",
    ).partition("\r\n\r\n")
    handshake, _ = parse_exchange(request.encode() + b"\r\n\r\n", response.encode())
    assert describe(predict_clients(handshake)) == (
        "refused by Chromium, Node ws, undici, websocket-client (no subprotocol chosen);"
        " accepted by Firefox, websockets, aiohttp, curl, tornado, gorilla, Java, libwebsockets"
    )


def test_inspect_reports_the_clients_in_json_and_plain(run: Run) -> None:
    capture = _handshake(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    )
    record = json.loads(run("inspect", "--format", "json", input=capture).stdout)
    refused = "Upgrade is 'websocket, h2c', not websocket"
    assert record["clients"] == [
        {"client": "Chromium", "accepts": False, "reason": refused},
        {"client": "Firefox", "accepts": True, "reason": None},
        {"client": "Node ws", "accepts": False, "reason": refused},
        {"client": "websockets", "accepts": False, "reason": refused},
        {"client": "aiohttp", "accepts": False, "reason": refused},
        {"client": "curl", "accepts": True, "reason": None},
        {"client": "undici", "accepts": False, "reason": refused},
        {"client": "websocket-client", "accepts": True, "reason": None},
        {"client": "tornado", "accepts": False, "reason": refused},
        {"client": "gorilla", "accepts": True, "reason": None},
        {"client": "Java", "accepts": False, "reason": refused},
        {"client": "libwebsockets", "accepts": False, "reason": refused},
    ]
    plain = run("inspect", input=capture).stdout.splitlines()
    assert (
        "  clients: refused by Chromium, Node ws, websockets, aiohttp, undici, tornado, Java,"
        " libwebsockets (Upgrade is 'websocket, h2c', not websocket); accepted by Firefox, curl,"
        " websocket-client, gorilla"
    ) in plain


def test_no_prediction_without_a_request(run: Run) -> None:
    capture = f"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    record = json.loads(run("inspect", "--format", "json", input=capture).stdout)
    assert record["clients"] == []


def test_rich_output_has_the_clients_line(run: Run) -> None:
    capture = _handshake(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
    )
    result = run("inspect", "--format", "rich", "--no-color", input=capture)
    shown = " ".join(result.stdout.split())  # rich wraps the line at the terminal's width
    assert (
        "clients: accepted by Chromium, Firefox, Node ws, websockets, aiohttp, curl, undici,"
        " websocket-client, tornado, gorilla, Java, libwebsockets" in shown
    )


def test_wsaccept_fails_what_every_strict_client_refuses_and_passes_what_all_accept() -> None:
    """No false alarm (a failure for what every client accepts), no false pass (a pass for
    what every client but curl, which checks almost nothing, refuses)."""
    for case in CASES:
        # the verdict is on the case's own request (a browser's, offering extensions), so are
        # the predictions compared with it (a client that offers none is not held to an
        # extension answered to an offer it would not have made)
        handshake, _ = parse_exchange(case.request(), case.head(SAMPLE_KEY))
        verdicts = predict_clients(handshake)
        strict = [v.accepts for v in verdicts if v.client != "curl"]
        if all(v.accepts for v in verdicts):
            assert case.verdict() != "fail", case.name
        if not any(strict):
            assert case.verdict() == "fail", case.name
        if case.verdict() == "pass":
            assert all(strict), case.name


H2_REQUEST = (
    ":method: CONNECT\n:protocol: websocket\n:scheme: https\n:authority: example.com\n"
    ":path: /chat\nsec-websocket-version: 13\nsec-websocket-protocol: chat\n"
    "sec-websocket-extensions: permessage-deflate; client_max_window_bits\n"
)


def test_inspect_predicts_the_browsers_for_a_pasted_http2_handshake(run: Run) -> None:
    """Over HTTP/2 (RFC 8441) the browsers want 200 exactly; the other clients do not speak it."""
    capture = H2_REQUEST + "\n:status: 204\n"
    plain = run("inspect", input=capture).stdout.splitlines()
    assert "  clients: refused by Chromium, Firefox (status 204, not 200)" in plain
    record = json.loads(run("inspect", "--format", "json", input=capture).stdout)
    assert record["clients"] == [
        {"client": "Chromium", "accepts": False, "reason": "status 204, not 200"},
        {"client": "Firefox", "accepts": False, "reason": "status 204, not 200"},
    ]
    capture = H2_REQUEST + "\n:status: 200\n"
    plain = run("inspect", input=capture).stdout.splitlines()
    assert "  clients: refused by Chromium (no subprotocol chosen); accepted by Firefox" in plain


def test_http2_predictions_need_a_status() -> None:
    request, response = Message("request", 1), Message("response", 9)
    request.add_header(":protocol", "websocket")
    response.add_header("sec-websocket-protocol", "chat")
    assert predict_clients(Handshake(request, response, "-")) == ()
    response.add_header(":status", "200")
    assert describe(predict_clients(Handshake(request, response, "-"))) == (
        "refused by Chromium (a subprotocol that was not offered); accepted by Firefox"
    )
    request.version = "3"  # HTTP/3 (RFC 9220): explained by inspect, not predicted
    assert predict_clients(Handshake(request, response, "-")) == ()

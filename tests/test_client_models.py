"""The models of the six clients of `tests/clients/` against what the real clients did with
every raw head of `client_models_cases.py` (each decision point of their parsers and checks);
`python -m tests.client_models_cases --run` re-runs the real clients over them."""

from __future__ import annotations

import pytest

from tests import fold_cases
from tests.client_models_cases import CASES, CLIENTS, KEY
from wsaccept_cli.core.clientmodels import PROFILES, Profile
from wsaccept_cli.core.clientmodels.profile import Facts, Offer
from wsaccept_cli.core.keys import accept_for


def _profile(client: str) -> Profile:
    return next(profile for profile in PROFILES if profile.name == client)


@pytest.mark.parametrize("client", CLIENTS)
def test_each_model_predicts_what_its_client_did(client: str) -> None:
    wrong = [
        f"{case.name}: the client {'opened' if client in case.opened else 'refused'} it"
        for case in CASES
        if case.predicted(client) != (client in case.opened)
    ]
    assert wrong == []


@pytest.mark.parametrize("client", CLIENTS)
def test_the_cases_reach_every_check_of_the_model(
    client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each WebSocket check of the model is the one that refuses some case (so each is held
    to the real client), and so is the model's HTTP parser."""
    profile = _profile(client)
    refused_by: set[str] = set()

    def recording(check):  # type: ignore[no-untyped-def]
        def run(facts: Facts) -> str | None:
            reason = check(facts)
            if reason is not None:
                refused_by.add(check.__name__)
            return reason

        return run

    monkeypatch.setattr(profile, "checks", tuple(recording(check) for check in profile.checks))
    parser_refusals = 0
    for case in CASES:
        offer = case.offer(profile.offers_extensions)
        before = len(refused_by)
        verdict = profile.predict(case.head(KEY.encode()), offer)
        parser_refusals += not verdict.accepts and len(refused_by) == before
    assert refused_by >= {check.__name__ for check in profile.checks} - {"run"}
    assert len(refused_by) == len(profile.checks)
    assert parser_refusals > 0


def test_an_extension_answered_to_another_clients_offer_is_not_held_against_these() -> None:
    """A captured handshake whose request offered permessage-deflate (a browser's) may get it
    back; the clients that offer none would not have been sent it, so they are not predicted
    to refuse it (as `wschecks.no_extensions` does for curl)."""
    from tests.client_models_cases import RawCase

    case = RawCase("deflate", CASES[0].template.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-"
                   b"Extensions: permessage-deflate\r\n\r\n"), "", "")  # fmt: skip
    head = case.head(KEY.encode())
    for client in ("tornado", "gorilla", "Java", "libwebsockets"):
        assert _profile(client).predict(head, Offer(KEY, (), True)).accepts, client
        assert not _profile(client).predict(head, Offer(KEY, (), False)).accepts, client


@pytest.mark.parametrize("client", fold_cases.CLIENTS)
def test_each_model_predicts_what_its_client_did_with_stray_crs_in_folded_fields(
    client: str,
) -> None:
    """The class of the differential miss m26-454 (curl, a CR CR LF ending an obs-fold
    continuation): every model against what its real client did (`tests/fold_cases.py`)."""
    code = fold_cases.CODES[fold_cases.CLIENTS.index(client)]
    wrong = [
        f"{name}: the client {'opened' if code in opened else 'refused'} it"
        for name, opened in fold_cases.OPENED.items()
        if fold_cases.predicted(name, client) != (code in opened)
    ]
    assert set(fold_cases.OPENED) == set(fold_cases.heads())
    assert wrong == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (b"Content-Length: 4\r\nContent-Length  : 1\r\n", "Content-Length more than once"),
        (b"Content-Length : 0\r\nContent-Length  : 0\r\n", "Content-Length more than once"),
        (b"Transfer-Encoding  : chunked\r\nContent-Length: 0\r\n",
         "Content-Length with Transfer-Encoding"),
        (b"Content-Length  : abc\r\n", "a Content-Length that is not a number"),
        (b"Content-Length  : 1\r\n", None),
    ],
)  # fmt: skip
def test_llhttp_frames_a_lenient_name_by_the_name_it_matched(fields: bytes, reason: str) -> None:
    """aiohttp's lenient llhttp lets spaces before the colon of Content-Length and
    Transfer-Encoding, keeps them in the name it hands on, but frames the message by the name
    it matched (the differential's m55-582; measured on aiohttp 3.14)."""
    head = (
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Accept: " + accept_for(KEY.encode()) + b"\r\n" + fields + b"\r\n"
    )
    verdict = _profile("aiohttp").predict(head, Offer(KEY, (), False))
    assert (verdict.accepts, verdict.reason) == (reason is None, reason)

"""The drivers of `tests/clients/` keep their contract with their real client libraries: one
JSON line per URL, `opened` exactly when the server got the text frame sent on open, the
library's own error otherwise, the offered subprotocols and each client's default extension
offer on the wire. (What each client accepts is compared with wsaccept's predictions over the
whole corpus in `test_clients.py`.)"""

from __future__ import annotations

import pytest

from tests import clients
from tests.client_corpus import BY_NAME, FRAME, CorpusServer

CASES = tuple(BY_NAME[name] for name in ("valid", "status-403", "bug-no-guid", "valid-subprotocol"))


def _command_or_skip(name: str) -> None:
    try:
        clients.command(name)
    except clients.DriverUnavailableError as error:
        pytest.skip(str(error))


@pytest.mark.parametrize("name", list(clients.DRIVERS))
def test_each_driver_reports_what_its_client_did(name: str) -> None:
    _command_or_skip(name)
    with CorpusServer(CASES, wait=10) as server:
        urls = {
            case.name: clients.with_protocols(server.url(case.name), case.protocols)
            for case in CASES
        }
        results = clients.run(name, list(urls.values()), timeout=10)  # a loaded machine
        outcomes = {case: server.wait_for(f"{case}/0", 10) for case in urls}
        requests = {case: server.requests[f"{case}/0"].lower().split(b"\r\n") for case in urls}
    assert set(results) == set(urls.values())
    for case, url in urls.items():
        record = results[url]
        assert record["url"] == url
        assert record["opened"] is (outcomes[case] == FRAME), (case, record, outcomes[case])
        assert (record["detail"] == "") is record["opened"], (case, record)
    assert results[urls["valid"]]["opened"] is True
    assert results[urls["valid-subprotocol"]]["opened"] is True
    assert results[urls["status-403"]]["opened"] is False
    assert results[urls["bug-no-guid"]]["opened"] is False
    assert b"sec-websocket-protocol: chat" in requests["valid-subprotocol"]
    assert not any(line.startswith(b"sec-websocket-protocol") for line in requests["valid"])
    offered = any(
        line.startswith(b"sec-websocket-extensions: permessage-deflate")
        for line in requests["valid"]
    )
    assert offered is clients.DRIVERS[name].offers_extensions


def test_a_driver_that_cannot_run_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = clients.DRIVERS["gorilla"]
    absent = clients.Driver("absent", False, lambda: "nothing here", driver.build)
    monkeypatch.setitem(clients.DRIVERS, "absent", absent)
    with pytest.raises(clients.DriverUnavailableError, match=r"^absent: nothing here$"):
        clients.command("absent")
    assert clients._main(["absent"]) == 1
    assert clients._main([]) == 2

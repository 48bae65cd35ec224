"""`probe --save FILE`: the exchange as pcapng, read back by `inspect` and by tshark."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.captures import tshark_handshakes
from tests.helpers import invoke
from tests.peers import EchoServer


def test_saved_exchange_is_read_by_inspect_and_tshark(tmp_path: Path) -> None:
    saved = tmp_path / "probe.pcapng"
    with EchoServer() as server:
        url = f"ws://127.0.0.1:{server.port}/chat"
        result = invoke("probe", "--send", "hello", "--save", str(saved), url)
    assert result.exit_code == 0, result.stderr
    inspected = invoke("inspect", "--format", "json", str(saved))
    assert inspected.exit_code == 0
    record = json.loads(inspected.stdout)
    connection = record["connection"]
    assert (record["status"], record["verdict"]) == (101, "pass")
    assert connection["client"] == {"address": "192.0.2.1", "port": 40000}
    assert connection["server"] == {"address": "198.51.100.1", "port": server.port}
    assert connection["frames"]["client"]["text"] == 1
    assert connection["frames"]["server"]["text"] == 1
    assert connection["close"]["ended"] == "close"
    assert tshark_handshakes(saved) == [(40000, server.port, "101")]
    frames = subprocess.run(
        ["tshark", "-r", str(saved), "-Y", "websocket", "-T", "fields", "-e", "websocket.opcode"],
        capture_output=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert frames == [b"1", b"1", b"8", b"8"]


def test_save_probes_one_url_over_http1(tmp_path: Path) -> None:
    saved = str(tmp_path / "x.pcapng")
    for extra in (["--http2"], ["ws://127.0.0.1:9/b"]):
        result = invoke("probe", "--save", saved, "ws://127.0.0.1:9/a", *extra)
        assert result.exit_code == 2
        assert "--save records one URL's exchange over HTTP/1.1" in result.stderr


def test_save_to_an_unwritable_place_is_an_error(tmp_path: Path) -> None:
    with EchoServer() as server:
        result = invoke(
            "probe",
            "--save",
            str(tmp_path / "no" / "such.pcapng"),
            f"ws://127.0.0.1:{server.port}/",
        )
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_a_refused_connection_saves_a_file_without_connections(tmp_path: Path) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    saved = tmp_path / "none.pcapng"
    result = invoke("probe", "--save", str(saved), f"ws://127.0.0.1:{port}/")
    assert result.exit_code == 3
    assert f"{saved} holds no connection: none was made" in result.stderr

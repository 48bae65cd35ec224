"""`serve` at the limits of its resources (issue 22, item 5): out of file descriptors it says so
in one line at most once a second (asyncio's default is a traceback each second), serves the
connections it has and accepts again when descriptors free up; a relay whose upstream leads back
to itself, directly or through another relay, is refused (508 Loop Detected) by the Via it adds,
instead of opening connections until the descriptors run out."""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import time

from tests.helpers import clean_env, script_path
from tests.peers import free_port
from tests.serve_helpers import handshake_request, raw_client, read_first_line, serving

WARNING = (
    "wsaccept: warning: out of file descriptors (EMFILE: Too many open files): new connections"
    " wait until some close (ulimit -n raises the limit); the open ones go on"
)


def test_out_of_file_descriptors_is_one_line_a_second_and_serving_goes_on() -> None:
    process = subprocess.Popen(
        [script_path(), "serve", "--grace", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)),
    )
    try:
        url = read_first_line(process.stdout, 20).decode().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        started = time.monotonic()
        held = []
        for _ in range(120):  # more than the 64 descriptors allow
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(handshake_request(port))
            held.append(connection)
        time.sleep(2.5)
        for connection in held:
            connection.close()
        time.sleep(1.5)  # asyncio retries accept() after a second
        connection, head = raw_client(port, handshake_request(port))
        connection.close()
        assert head.startswith(b"HTTP/1.1 101 ")  # accepting again
        elapsed = time.monotonic() - started
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    lines = stderr.decode().splitlines()
    assert lines, "no word about the exhausted descriptors"
    assert set(lines) == {WARNING}
    assert len(lines) <= elapsed + 1


def test_a_relay_loop_is_refused_with_508() -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/"
    with serving(["--listen", f"127.0.0.1:{port}", "--upstream", url, "--format", "json"]) as relay:
        connection, head = raw_client(port, handshake_request(port))
        connection.close()
        time.sleep(0.5)
        relay.stop()
    assert head.startswith(b"HTTP/1.1 508 Loop Detected\r\n")
    records = [json.loads(line) for line in relay.stdout.splitlines()[1:]]
    messages = [f["message"] for r in records for f in r["findings"] if f["rule"] == "upstream"]
    assert any(m.startswith("a relay loop: the request came back to this relay") for m in messages)
    assert len(records) == 2  # the client's connection and the one that came back: no more


def test_two_relays_pointing_at_each_other() -> None:
    first_port, second_port = free_port(), free_port()
    with (
        serving(["--listen", f"127.0.0.1:{first_port}",
                 "--upstream", f"ws://127.0.0.1:{second_port}/"]) as first,
        serving(["--listen", f"127.0.0.1:{second_port}",
                 "--upstream", f"ws://127.0.0.1:{first_port}/"]) as second,
    ):  # fmt: skip
        connection, head = raw_client(first_port, handshake_request(first_port))
        connection.close()
        first.stop()
        second.stop()
    assert head.startswith(b"HTTP/1.1 508 Loop Detected\r\n")
    assert b"a relay loop" in first.stdout

"""`wsaccept audit` against real servers, started here on 127.0.0.1: websockets, aiohttp,
Tornado, Hypercorn, uvicorn (with its websockets and its wsproto implementations), Node `ws`,
and nginx (its documented WebSocket location) in front of websockets. Each server's outcomes
are kept below as a table of the cases that are not OK: a change in a server or in a case
shows as a diff here.

Every FAILED was checked by hand against the RFC and the server's source (the release the
test extras install; its repository holds the same file):

- The Host cases (host.1-3 no or repeated Host, host.4-6 an invalid one): RFC 9112 §3.2, "A
  server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message
  that lacks a Host header field and to any request message that contains more than one Host
  header field line or a Host header field with an invalid field value." websockets
  (python-websockets/websockets src/websockets/server.py, ServerProtocol.process_request)
  and Node ws (websockets/ws lib/websocket-server.js, handleUpgrade) never read Host; the
  others read it but do not validate it.
- The key cases (key.2-16, key.22): RFC 6455 §4.2.1 item 5 (the key, "when decoded, is 16
  bytes in length") and its opening: a server that finds the request is not such a handshake
  "MUST stop processing the client's handshake and return an HTTP response with an
  appropriate error code". Tornado (tornadoweb/tornado tornado/websocket.py,
  WebSocketProtocol13._handle_websocket_headers) checks only that the key is present and
  hashes whatever came; Hypercorn (pgjones/hypercorn src/hypercorn/protocol/ws_stream.py,
  Handshake.is_valid) checks only that there is one, and so does wsproto under uvicorn
  (python-hyper/wsproto src/wsproto/handshake.py, H11Handshake._process_connection_request,
  which keeps the last of several); aiohttp (aio-libs/aiohttp aiohttp/web_ws.py,
  WebSocketResponse._handshake) decodes with base64.b64decode, which skips characters
  outside the alphabet (key.9, key.11), and takes the first of two headers (key.14-16).
- The version cases (version.2-6, version.11): RFC 6455 §4.4, "If the server doesn't support
  the requested version, it MUST respond with a |Sec-WebSocket-Version| header field ...
  containing all versions it is willing to use." websockets (server.py, process_request:
  InvalidHeaderValue becomes a 400 without it), aiohttp (web_ws.py: HTTPBadRequest
  "Unsupported version") and Hypercorn (ws_stream.py: is_valid is False, a bare 400) answer
  without the header; wsproto does send it (a 426). version.15/16 (two
  Sec-WebSocket-Version headers upgraded): RFC 6455 §11.3.5, it "MUST NOT appear more than
  once in an HTTP request"; aiohttp reads the first, wsproto and Hypercorn the last.
- HTTP/1.0 (request.10) and no version (request.13) upgraded: RFC 6455 §4.2.1 item 1, "An
  HTTP/1.1 or higher GET request". aiohttp's parser, Tornado, uvicorn and Node's http module
  pass HTTP/1.0 on; nginx sends the request upstream as HTTP/1.1 (proxy_http_version 1.1).
- Methods: request.4 (aiohttp upgrades HEAD: web_ws.py checks no method), request.8/9
  (Hypercorn upgrades 'get': RFC 9110 §9.1, methods are case-sensitive). request.18
  (GET * upgraded): RFC 6455 §4.2.1 item 1 wants a Request-URI that is a /resource name/
  (a path) or an absolute URI, and '*' is neither (RFC 9112 §3.2.4: it is for OPTIONS);
  the handshake does not match, so the server MUST NOT go on with it.
- upgrade.12 (Hypercorn answers Upgrade: h2c without HTTP2-Settings with a 101 to HTTP/2):
  RFC 7540 §3.2.1, "A server MUST NOT upgrade the connection to HTTP/2 if this header field
  is not present".
- nginx upgrade.2 and upgrade.16-18 (no 'upgrade' token in Connection, yet a 101): nginx's
  documented location (nginx.org/en/docs/http/websocket.html) sends `Connection: upgrade`
  upstream whenever the client sent Upgrade, so the backend upgrades what RFC 6455 §4.2.1
  item 4 says a server must refuse.
- framing.4 (both Content-Length and Transfer-Encoding, upgraded): RFC 9112 §6.1, "the
  server MUST close the connection after responding to such a request"; uvicorn's
  implementations (encode/uvicorn uvicorn/protocols/websockets/) hand the request to the
  WebSocket library without looking at its framing.
- The extension cases (an invalid permessage-deflate offer accepted): RFC 7692 §7.1, "A
  server MUST decline an extension negotiation offer for this extension if any of the
  following conditions are met: the negotiation offer contains an extension parameter not
  defined for use in an offer; ... an extension parameter with an invalid value; ... multiple
  extension parameters with the same name". aiohttp (aiohttp/helpers.py ws_ext_parse) and
  wsproto (src/wsproto/extensions.py, PerMessageDeflate.accept) skip what they do not know.
- after.1 (an unmasked frame answered): RFC 6455 §5.1, "a server MUST close the connection
  upon receiving a frame that is not masked". aiohttp (aiohttp/_websocket/reader_py.py) and
  Tornado (websocket.py, _receive_frame: it unmasks only when the mask bit is set) read it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.peers import free_port, nginx, running
from tests.test_audit import SERVE_TABLE
from wsaccept_cli.core.audit import catalogue
from wsaccept_cli.core.audit.model import Outcome, Server
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.net.audit import run_audit
from wsaccept_cli.net.connect import Route

PEERS = Path(__file__).resolve().parent / "audit_peers"
NODE_WS = Path(__file__).resolve().parent / "node" / "node_modules" / "ws"
# The servers' own outcomes do not depend on the machine's load, but a slow head does: the
# timeout is the case's, and limits.8 waits all of it.
TIMEOUT = 2.0


def table(
    FAILED: str = "",  # noqa: N803 - the outcomes' own names
    NON_STRICT: str = "",  # noqa: N803
    INFORMATIONAL: str = "",  # noqa: N803
    UNIMPLEMENTED: str = "",  # noqa: N803
) -> dict[str, str]:
    """A server's cases that are not OK, by outcome (IDs separated by spaces)."""
    rows = {}
    for outcome, ids in (
        (Outcome.FAILED, FAILED),
        (Outcome.NON_STRICT, NON_STRICT),
        (Outcome.INFORMATIONAL, INFORMATIONAL),
        (Outcome.UNIMPLEMENTED, UNIMPLEMENTED),
    ):
        rows.update(dict.fromkeys(ids.split(), outcome.label))
    return rows


WEBSOCKETS = table(
    FAILED=(
        "request.18 host.1 host.2 host.3 host.4 host.5 host.6 version.2 version.3 version.4 "
        "version.5 version.6 version.11 "
    ),
    NON_STRICT=(
        "request.11 request.12 request.13 request.14 request.17 request.19 request.20 "
        "request.22 request.23 request.28 host.7 upgrade.10 upgrade.11 key.17 version.7 "
        "version.8 version.9 version.10 version.12 version.13 version.14 version.15 "
        "version.16 framing.1 framing.3 framing.4 framing.5 framing.6 framing.7 framing.8 "
        "framing.9 framing.12 protocol.8 extension.36 extension.37 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 limits.1 limits.8 origin.1 origin.3 origin.4 "
        "origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 "
    ),
    UNIMPLEMENTED="extension.7",
)

AIOHTTP = table(
    FAILED=(
        "request.4 request.10 request.13 host.4 host.5 host.6 key.9 key.11 key.14 key.15 "
        "key.16 version.3 version.5 version.6 version.11 version.15 version.16 extension.21 "
        "extension.22 extension.23 extension.28 extension.31 extension.32 after.1 "
    ),
    NON_STRICT=(
        "request.11 request.12 request.19 request.20 host.7 upgrade.10 upgrade.11 key.17 "
        "version.7 version.8 version.9 version.10 version.12 version.13 version.14 framing.1 "
        "framing.3 framing.9 framing.13 after.3 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 version.2 version.4 limits.1 limits.8 origin.1 "
        "origin.3 origin.4 origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 origin.11 "
    ),
    UNIMPLEMENTED="extension.6 extension.7",
)

TORNADO = table(
    FAILED=(
        "request.10 host.6 key.3 key.4 key.5 key.6 key.7 key.8 key.9 key.10 key.11 key.12 "
        "key.13 key.14 key.15 key.16 key.22 after.1 "
    ),
    NON_STRICT=(
        "request.15 request.19 request.21 upgrade.10 upgrade.11 key.17 framing.1 framing.3 "
        "framing.13 limits.2 limits.4 limits.5 limits.6 after.11 after.12 "
    ),
    INFORMATIONAL="request.16 host.8 host.9 host.10 limits.8 origin.1 origin.7 origin.10",
    UNIMPLEMENTED=(
        "extension.1 extension.2 extension.3 extension.4 extension.5 extension.6 extension.7 "
        "extension.8 extension.9 extension.10 extension.11 extension.12 extension.13 "
        "extension.14 extension.15 extension.16 extension.17 extension.18 extension.19 "
        "extension.20 "
    ),
)

HYPERCORN = table(
    FAILED=(
        "request.8 request.9 request.18 host.4 host.5 host.6 upgrade.12 key.2 key.3 key.4 "
        "key.5 key.6 key.7 key.8 key.9 key.10 key.11 key.12 key.13 key.14 key.15 key.16 "
        "key.22 version.2 version.3 version.4 version.5 version.6 version.11 version.15 "
        "extension.28 extension.29 extension.30 extension.31 extension.32 extension.33 "
        "extension.34 "
    ),
    NON_STRICT=(
        "request.11 request.19 request.21 host.7 upgrade.10 upgrade.11 key.17 version.7 "
        "version.8 version.9 version.10 version.12 version.13 version.14 version.16 "
        "framing.10 framing.11 framing.12 extension.6 extension.24 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 framing.13 limits.8 origin.1 origin.3 origin.4 "
        "origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 origin.11 "
    ),
    UNIMPLEMENTED="extension.4 extension.7",
)

UVICORN_WEBSOCKETS = table(
    FAILED=(
        "request.10 request.18 host.4 host.5 host.6 version.2 version.3 version.4 version.5 "
        "version.6 version.11 framing.4 "
    ),
    NON_STRICT=(
        "request.12 request.19 request.21 host.7 upgrade.10 upgrade.11 key.17 version.7 "
        "version.8 version.9 version.10 version.12 version.13 version.14 version.15 "
        "version.16 framing.1 framing.3 framing.10 framing.11 extension.36 extension.37 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 framing.12 limits.1 limits.8 origin.1 origin.3 "
        "origin.4 origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 "
    ),
    UNIMPLEMENTED="extension.7",
)

UVICORN_WSPROTO = table(
    FAILED=(
        "request.10 request.18 host.4 host.5 host.6 key.2 key.3 key.4 key.5 key.6 key.7 key.8 "
        "key.9 key.10 key.11 key.12 key.13 key.14 key.15 key.16 key.22 version.15 framing.4 "
        "extension.28 extension.29 extension.30 extension.31 extension.32 extension.33 "
        "extension.34 "
    ),
    NON_STRICT=(
        "request.12 request.19 request.21 host.7 upgrade.10 upgrade.11 key.17 framing.1 "
        "framing.3 framing.10 framing.11 limits.2 limits.6 extension.6 extension.24 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 framing.12 limits.8 origin.1 origin.3 origin.4 "
        "origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 origin.11 "
    ),
    UNIMPLEMENTED="extension.4 extension.7",
)

NODE = table(
    FAILED="request.10 request.13 request.18 host.1 host.2 host.3 host.4 host.5 host.6",
    NON_STRICT=(
        "request.6 request.11 request.12 request.19 request.20 host.7 upgrade.10 upgrade.11 "
        "key.17 version.8 version.9 version.10 framing.1 framing.3 framing.9 protocol.7 "
        "protocol.8 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 version.2 limits.8 protocol.4 origin.1 origin.3 "
        "origin.4 origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 origin.11 "
    ),
    UNIMPLEMENTED=(
        "extension.1 extension.2 extension.3 extension.4 extension.5 extension.6 extension.7 "
        "extension.8 extension.9 extension.10 extension.11 extension.12 extension.13 "
        "extension.14 extension.15 extension.16 extension.17 extension.18 extension.19 "
        "extension.20 "
    ),
)

NGINX = table(
    FAILED=(
        "request.10 host.5 host.6 upgrade.2 upgrade.16 upgrade.17 upgrade.18 version.2 "
        "version.3 version.4 version.5 version.6 version.11 "
    ),
    NON_STRICT=(
        "request.13 request.19 request.20 request.21 upgrade.10 upgrade.11 key.17 version.7 "
        "version.8 version.9 version.10 version.12 version.13 version.14 version.15 "
        "version.16 framing.3 framing.13 protocol.8 extension.36 extension.37 "
    ),
    INFORMATIONAL=(
        "request.16 host.8 host.9 host.10 limits.1 limits.8 origin.1 origin.3 origin.4 "
        "origin.5 origin.6 origin.7 origin.8 origin.9 origin.10 "
    ),
    UNIMPLEMENTED="extension.7",
)


@contextmanager
def python_server(kind: str) -> Iterator[int]:
    """A server of tests/audit_peers/python_servers.py in a process of its own."""
    port = free_port()
    command = ["env", "-u", "COVERAGE_PROCESS_CONFIG", sys.executable]
    with running([*command, str(PEERS / "python_servers.py"), kind, str(port)], port):
        yield port


@contextmanager
def node_server() -> Iterator[int]:
    node = shutil.which("node")
    if node is None or not NODE_WS.is_dir():
        pytest.skip("Node ws is not installed (npm ci in tests/node; .ci/run does it)")
    port = free_port()
    with running([node, str(PEERS / "node_ws_server.js"), str(port)], port):
        yield port


def audit(port: int, path: str = "/chat") -> dict[str, str]:
    """The server's cases that are not OK, by ID."""
    target = RequestTarget(f"ws://127.0.0.1:{port}{path}")
    server = Server(host_header=target.host_header, path=target.path, secure=False)
    results = run_audit(catalogue(), server, target, Route(), timeout=TIMEOUT, parallel=4)
    assert server.baseline is True  # the valid handshake upgraded: the table means something
    return {r.case.id: r.outcome.label for r in results if r.outcome is not Outcome.OK}


PYTHON_SERVERS = {
    "websockets": WEBSOCKETS,
    "aiohttp": AIOHTTP,
    "tornado": TORNADO,
    "hypercorn": HYPERCORN,
    "uvicorn-websockets": UVICORN_WEBSOCKETS,
    "uvicorn-wsproto": UVICORN_WSPROTO,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PYTHON_SERVERS))
def test_python_servers(kind: str) -> None:
    with python_server(kind) as port:
        assert audit(port) == PYTHON_SERVERS[kind]


@pytest.mark.slow
def test_node_ws() -> None:
    with node_server() as port:
        assert audit(port) == NODE


@pytest.mark.slow
def test_nginx_in_front_of_websockets(tmp_path: Path) -> None:
    with python_server("websockets") as backend, nginx(backend, tmp_path) as port:
        assert audit(port, "/good") == NGINX


def test_every_failed_on_a_real_server_is_one_the_docstring_explains() -> None:
    """The docstring above groups the FAILED cases by cause; a new FAILED must be added there
    (checked against the RFC and the server's source) before its table changes."""
    explained = {
        "request.4", "request.8", "request.9", "request.10", "request.13", "request.18",
        "host.1", "host.2", "host.3", "host.4", "host.5", "host.6", "upgrade.2", "upgrade.12",
        "upgrade.16", "upgrade.17", "upgrade.18", "framing.4", "after.1",
        *(f"key.{n}" for n in (*range(2, 17), 22)),
        *(f"version.{n}" for n in (2, 3, 4, 5, 6, 11, 15, 16)),
        *(f"extension.{n}" for n in range(21, 35)),
    }  # fmt: skip
    tables = [*PYTHON_SERVERS.values(), NODE, NGINX]
    failed = {case for rows in tables for case, outcome in rows.items() if outcome == "FAILED"}
    assert failed <= explained, sorted(failed - explained)


README_TABLE_START = "<!-- audit-servers: generated by tests/test_audit_servers.py -->"
README_TABLE_END = "<!-- end of audit-servers -->"
README = Path(__file__).resolve().parent.parent / "README.md"
SHOWN = {
    "serve": ("`wsaccept serve`", SERVE_TABLE),
    "websockets": ("websockets", WEBSOCKETS),
    "aiohttp": ("aiohttp", AIOHTTP),
    "tornado": ("Tornado", TORNADO),
    "hypercorn": ("Hypercorn", HYPERCORN),
    "uvicorn-websockets": ("uvicorn (websockets)", UVICORN_WEBSOCKETS),
    "uvicorn-wsproto": ("uvicorn (wsproto)", UVICORN_WSPROTO),
    "node": ("Node ws", NODE),
    "nginx": ("nginx → websockets", NGINX),
}


def readme_table() -> str:
    """The README's table of the real servers' outcome counts, from the tables above."""
    total = len(catalogue())
    labels = [outcome.label for outcome in Outcome]
    lines = [
        README_TABLE_START,
        "| server | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for name, rows in SHOWN.values():
        counts = {label: list(rows.values()).count(label) for label in labels}
        counts["OK"] = total - len(rows)
        lines.append(f"| {name} | " + " | ".join(str(counts[label]) for label in labels) + " |")
    return "\n".join([*lines, README_TABLE_END])


def test_the_readme_table_is_current() -> None:
    """`python -m tests.test_audit_servers` prints the table to paste (and with `tables`, the
    servers' tables above, audited afresh)."""
    text = README.read_text()
    start, end = text.index(README_TABLE_START), text.index(README_TABLE_END)
    assert text[start : end + len(README_TABLE_END)] == readme_table()


def table_source(name: str, rows: dict[str, str]) -> str:
    """`rows` as the `table(...)` literal above, for pasting after a server changed."""
    import textwrap

    lines = [f"{name} = table("]
    for outcome in (Outcome.FAILED, Outcome.NON_STRICT, Outcome.INFORMATIONAL,
                    Outcome.UNIMPLEMENTED):  # fmt: skip
        ids = " ".join(case for case, label in rows.items() if label == outcome.label)
        parts = textwrap.wrap(ids, 84)
        if len(parts) == 1:
            lines.append(f'    {outcome.name}="{parts[0]}",')
        elif parts:
            wrapped = "".join(f'\n        "{part} "' for part in parts)
            lines.append(f"    {outcome.name}=({wrapped}\n    ),")
    return "\n".join([*lines, ")"])


def current_tables() -> str:
    """Every server audited now, as the table literals above (`python -m
    tests.test_audit_servers tables`)."""
    import tempfile

    found = []
    for kind in PYTHON_SERVERS:
        with python_server(kind) as port:
            found.append(table_source(kind.upper().replace("-", "_"), audit(port)))
    with node_server() as port:
        found.append(table_source("NODE", audit(port)))
    with (
        tempfile.TemporaryDirectory() as tmp,
        python_server("websockets") as backend,
        nginx(backend, Path(tmp)) as port,
    ):
        found.append(table_source("NGINX", audit(port, "/good")))
    return "\n\n".join(found)


if __name__ == "__main__":
    print(current_tables() if sys.argv[1:] == ["tables"] else readme_table())

"""A corpus of response mutations, a server that answers each on its own path, and drivers that
run real WebSocket clients against it: what `test_clients.py` compares with wsaccept's
predictions (`wsaccept_cli.core.clients`), and what the README's compatibility table is made of.

Each case is one server answer to a client's opening handshake: a correct 101, or a 101 with one
thing wrong (every rule of `core/rules.py` a response can break, and every wrong-accept bug that
`core/diagnose.py` knows), or a refusal. The server reads the client's request, computes the
answer for the client's own key and sends it; a client that accepted the handshake sends a text
frame (each driver sends one on open), so the server tells the outcome: a frame is an accept, a
connection that ends without one is a refusal, anything else is pending (retried, never counted
as a refusal).

    python -m tests.client_corpus --table    # the README's table, from the predictions
    python -m tests.client_corpus --run      # every installed client against the corpus
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import stop_process
from wsaccept_cli.core.clients import CLIENTS, ClientVerdict, predict_clients
from wsaccept_cli.core.exchange import parse_exchange
from wsaccept_cli.core.keys import GUID, accept_for
from wsaccept_cli.core.rules import check_handshake, verdict

SAMPLE_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def _b64_sha1(data: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(data).digest())


Accept = Callable[[bytes], bytes]


class Case:
    """One answer to a handshake: `head(key)` is the response head for the client's key."""

    def __init__(
        self,
        name: str,
        summary: str,
        lines: list[str],
        *,
        accept: Accept = accept_for,
        protocols: tuple[str, ...] = (),
        body: str = "",
        newline: str = "\r\n",
        template: bytes | None = None,
        after: bytes = b"",
    ) -> None:
        self.name = name
        self.summary = summary
        self.lines = lines
        self.accept = accept
        self.protocols = protocols
        self.body = body
        self.newline = newline
        self.template = template
        """The whole head as bytes, `{accept}` standing for the key's accept (a generated
        mutation, `tests/mutations.py`); `lines` and `newline` are then unused."""
        self.after = after
        """What the server writes right behind the head, in the same write."""

    def head(self, key: bytes) -> bytes:
        """What the server writes: the head for `key`, and what follows it."""
        return self.head_only(key) + self.after

    def head_only(self, key: bytes) -> bytes:
        if self.template is not None:
            return render_template(self.template, key)
        accept = self.accept(key).decode("latin-1")
        text = self.newline.join(line.replace("{accept}", accept) for line in self.lines)
        return (text + self.newline * 2 + self.body).encode("latin-1")

    def request(self, key: bytes = SAMPLE_KEY, *, extensions: bool = True) -> bytes:
        """The request wsaccept's prediction assumes: a browser's, with this case's offer (and
        no extension offer for the clients that make none, as their own requests have none)."""
        lines = [
            "GET /chat HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if extensions:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        if self.protocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(self.protocols)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def predicted(self) -> tuple[ClientVerdict, ...]:
        """Each client's verdict, for the request it makes: with or without an extension offer."""
        predictions = {}
        for offer in (True, False):
            handshake, _ = parse_exchange(
                self.request(extensions=offer), self.head_only(SAMPLE_KEY), self.after
            )
            predictions[offer] = predict_clients(handshake)
        return tuple(
            predictions[client.offers_extensions][index] for index, client in enumerate(CLIENTS)
        )

    def verdict(self) -> str:
        """wsaccept's own verdict on the handshake: pass, warn or fail."""
        handshake, capture = parse_exchange(self.request(), self.head_only(SAMPLE_KEY), self.after)
        return verdict(check_handshake(handshake, capture))


def render_template(template: bytes, key: bytes) -> bytes:
    """A mutation's head for a key: `{accept}` is its accept, `{accept-lower}` the accept in
    lowercase, `{accept-unpadded}` without its `=`."""
    accept = accept_for(key)
    return (
        template.replace(b"{accept}", accept)
        .replace(b"{accept-lower}", accept.lower())
        .replace(b"{accept-unpadded}", accept.rstrip(b"="))
    )


UPGRADED = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"]
ACCEPT = "Sec-WebSocket-Accept: {accept}"
GOOD = [*UPGRADED, ACCEPT]


def _ext(value: str, summary: str, name: str) -> Case:
    return Case(name, summary, [*GOOD, f"Sec-WebSocket-Extensions: {value}"])


def _bug(name: str, summary: str, accept: Accept) -> Case:
    return Case(name, summary, GOOD, accept=accept)


CASES: tuple[Case, ...] = (
    Case("valid", "a valid 101", GOOD),
    Case("valid-subprotocol", "a valid 101 choosing the offered subprotocol",
         [*GOOD, "Sec-WebSocket-Protocol: chat"], protocols=("chat",)),
    Case("upgrade-capitalised", "`Upgrade: WebSocket`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: WebSocket", "Connection: Upgrade",
          ACCEPT]),
    Case("connection-keep-alive-upgrade", "`Connection: keep-alive, Upgrade`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
          "Connection: keep-alive, Upgrade", ACCEPT]),
    Case("bare-lf", "line endings are a bare LF", GOOD, newline="\n"),
    Case("http-1.0", "an `HTTP/1.0` status line",
         ["HTTP/1.0 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
          ACCEPT]),
    Case("status-200", "status 200", ["HTTP/1.1 200 OK", "Content-Length: 2",
                                      "Connection: close"], body="ok"),
    Case("status-403", "status 403", ["HTTP/1.1 403 Forbidden", "Content-Length: 9",
                                      "Connection: close"], body="forbidden"),
    Case("no-upgrade", "no `Upgrade`",
         ["HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", ACCEPT]),
    Case("upgrade-websocket-h2c", "`Upgrade: websocket, h2c`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket, h2c", "Connection: Upgrade",
          ACCEPT]),
    Case("upgrade-twice", "`Upgrade: websocket` twice", [*GOOD, "Upgrade: websocket"]),
    Case("upgrade-h2c", "`Upgrade: h2c`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: h2c", "Connection: Upgrade", ACCEPT]),
    Case("no-connection", "no `Connection`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", ACCEPT]),
    Case("connection-close", "`Connection: close`",
         ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: close",
          ACCEPT]),
    Case("no-upgrade-no-connection", "neither `Upgrade` nor `Connection`",
         ["HTTP/1.1 101 Switching Protocols", ACCEPT]),
    Case("no-accept", "no `Sec-WebSocket-Accept`", UPGRADED),
    Case("accept-twice", "the right accept twice", [*GOOD, ACCEPT]),
    _bug("bug-decoded-key", "accept of the decoded key bytes",
         lambda key: _b64_sha1(base64.b64decode(key) + GUID)),
    _bug("bug-trailing-crlf", "accept of the key with CR LF",
         lambda key: _b64_sha1(key + b"\r\n" + GUID)),
    _bug("bug-trailing-space", "accept of the key with a space",
         lambda key: _b64_sha1(key + b" " + GUID)),
    _bug("bug-lowercase-guid", "accept with the GUID in lowercase",
         lambda key: _b64_sha1(key + GUID.lower())),
    _bug("bug-guid-first", "accept with the GUID before the key",
         lambda key: _b64_sha1(GUID + key)),
    _bug("bug-mistyped-guid", "accept with a mistyped GUID",
         lambda key: _b64_sha1(key + GUID.replace(b"C5AB", b"C5BA"))),
    _bug("bug-hex-digest-base64", "accept of the hex digest, base64-encoded",
         lambda key: base64.b64encode(hashlib.sha1(key + GUID).hexdigest().encode())),
    _bug("bug-hex-digest", "the hex digest as accept",
         lambda key: hashlib.sha1(key + GUID).hexdigest().encode()),
    _bug("bug-sha256", "accept made with SHA-256",
         lambda key: base64.b64encode(hashlib.sha256(key + GUID).digest())),
    _bug("bug-no-padding", "accept without its `=`", lambda key: accept_for(key).rstrip(b"=")),
    _bug("bug-key-unpadded", "accept of the key without its `=`",
         lambda key: _b64_sha1(key.rstrip(b"=") + GUID)),
    _bug("bug-echoed-key", "the key echoed back", lambda key: key),
    _bug("bug-no-guid", "accept of the key alone", _b64_sha1),
    _bug("bug-other-key", "accept of another key", lambda key: accept_for(SAMPLE_KEY)
         if key != SAMPLE_KEY else accept_for(b"x3JJHMbDL1EzLkh9GBhXDw==")),
    Case("subprotocol-none-chosen", "subprotocol offered, none chosen", GOOD,
         protocols=("chat",)),
    Case("subprotocol-not-offered", "a subprotocol the client did not offer",
         [*GOOD, "Sec-WebSocket-Protocol: superchat"], protocols=("chat",)),
    Case("subprotocol-unrequested", "a subprotocol when none was offered",
         [*GOOD, "Sec-WebSocket-Protocol: chat"]),
    Case("subprotocol-case", "the offered subprotocol in another case",
         [*GOOD, "Sec-WebSocket-Protocol: Chat"], protocols=("chat",)),
    Case("subprotocol-two", "two subprotocols chosen",
         [*GOOD, "Sec-WebSocket-Protocol: chat, superchat"], protocols=("chat", "superchat")),
    Case("subprotocol-twice", "the chosen subprotocol twice",
         [*GOOD, "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"],
         protocols=("chat",)),
    _ext("permessage-deflate", "`permessage-deflate`", "deflate"),
    _ext("permessage-deflate; server_max_window_bits=10", "`server_max_window_bits=10`",
         "deflate-server-bits"),
    _ext("permessage-deflate; client_max_window_bits=10", "`client_max_window_bits=10`",
         "deflate-client-bits"),
    _ext("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         "both `no_context_takeover`", "deflate-no-context-takeover"),
    _ext("x-webkit-deflate-frame", "an extension not offered", "extension-not-offered"),
    _ext("permessage-deflate; foo=1", "an unknown deflate parameter", "deflate-unknown-param"),
    _ext("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         "a repeated deflate parameter", "deflate-repeated-param"),
    _ext("permessage-deflate; server_max_window_bits=16", "`server_max_window_bits=16`",
         "deflate-server-bits-16"),
    _ext("permessage-deflate; client_max_window_bits=7", "`client_max_window_bits=7`",
         "deflate-client-bits-7"),
    _ext("permessage-deflate; client_max_window_bits", "`client_max_window_bits` without value",
         "deflate-client-bits-no-value"),
    _ext("permessage-deflate; server_no_context_takeover=1",
         "a value on `server_no_context_takeover`", "deflate-takeover-value"),
    _ext("permessage-deflate, permessage-deflate", "permessage-deflate accepted twice",
         "deflate-twice"),
    _ext("permessage-deflate;", "an empty extension parameter", "deflate-empty-param"),
)  # fmt: skip


def _raw(
    name: str, summary: str, template: bytes, protocols: tuple[str, ...] = (), after: bytes = b""
) -> Case:
    return Case(name, summary, [], protocols=protocols, template=template, after=after)


_GOOD = b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
_OK = b"HTTP/1.1 101 Switching Protocols\r\n" + _GOOD
_FILL = b"X-Filler: "

# One case per class of the differential generator (tests/mutations.py): the README's table shows
# each client on each, and test_clients.py runs them against the real clients.
CLASS_CASES: tuple[Case, ...] = (
    _raw("status-no-reason", "no reason phrase (`HTTP/1.1 101`)",
         b"HTTP/1.1 101\r\n" + _GOOD + b"\r\n"),
    _raw("status-lowercase", "`http/1.1` in lowercase", b"http/1.1 101 Switching Protocols\r\n"
         + _GOOD + b"\r\n"),
    _raw("status-two-spaces", "two spaces after the version",
         b"HTTP/1.1  101 Switching Protocols\r\n" + _GOOD + b"\r\n"),
    _raw("status-http2", "an `HTTP/2` status line", b"HTTP/2 101 Switching Protocols\r\n"
         + _GOOD + b"\r\n"),
    _raw("leading-crlf", "an empty line before the status line", b"\r\n" + _OK + b"\r\n"),
    _raw("interim-100", "`100 Continue` before the 101",
         b"HTTP/1.1 100 Continue\r\n\r\n" + _OK + b"\r\n"),
    _raw("interim-103", "`103 Early Hints` before the 101",
         b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + _OK + b"\r\n"),
    _raw("interim-http10", "an HTTP/1.0 `100 Continue` before the 101",
         b"HTTP/1.0 100 Continue\r\n\r\n" + _OK + b"\r\n"),
    _raw("space-before-colon", "`Upgrade : websocket`", b"HTTP/1.1 101 Switching Protocols\r\n"
         b"Upgrade : websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"),
    _raw("line-without-colon", "a field line without a colon", _OK + b"X-No-Colon\r\n\r\n"),
    _raw("nul-in-value", "a NUL in a field value", _OK + b"X-Bytes: a\x00b\r\n\r\n"),
    _raw("control-in-value", "a control character in a field value",
         _OK + b"X-Bytes: a\x01b\r\n\r\n"),
    _raw("lone-cr", "a CR alone inside a line", _OK + b"X-Bytes: a\rb\r\n\r\n"),
    _raw("obs-fold-accept", "the accept on an obs-fold line",
         b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Accept:\r\n {accept}\r\n\r\n"),
    _raw("obs-fold-other", "an obs-fold line in another field",
         _OK + b"X-Folded: a\r\n b\r\n\r\n"),
    _raw("upgrade-trailing-comma", "`Upgrade: websocket,`", b"HTTP/1.1 101 Switching Protocols"
         b"\r\nUpgrade: websocket,\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}"
         b"\r\n\r\n"),
    _raw("connection-trailing-tab", "`Connection: Upgrade` and a tab",
         b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\t\r\n"
         b"Sec-WebSocket-Accept: {accept}\r\n\r\n"),
    _raw("protocol-trailing-comma", "`Sec-WebSocket-Protocol: chat,`",
         _OK + b"Sec-WebSocket-Protocol: chat,\r\n\r\n", ("chat",)),
    _raw("extension-name-case", "`Permessage-Deflate` in another case",
         _OK + b"Sec-WebSocket-Extensions: Permessage-Deflate\r\n\r\n"),
    _raw("extension-parameter-case", "a deflate parameter in another case",
         _OK + b"Sec-WebSocket-Extensions: permessage-deflate; Server_No_Context_Takeover\r\n\r\n"),
    _raw("extension-empty-item", "an empty item before permessage-deflate",
         _OK + b"Sec-WebSocket-Extensions: , permessage-deflate\r\n\r\n"),
    _raw("deflate-client-bits-8", "`client_max_window_bits=8`",
         _OK + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n\r\n"),
    _raw("deflate-server-bits-quoted", "`server_max_window_bits=\"10\"`",
         _OK + b'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="10"'
         b"\r\n\r\n"),
    _raw("accept-merged", "two accepts merged into one list",
         b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Accept: {accept}, {accept}\r\n\r\n"),
    _raw("length-and-chunked", "Content-Length with Transfer-Encoding",
         _OK + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    _raw("head-over-16k", "a head over 16 KiB", _OK + _FILL + b"a" * 16400 + b"\r\n\r\n"),
    _raw("line-over-8k", "a line over 8 KiB", _OK + _FILL + b"a" * 8190 + b"\r\n\r\n"),
    _raw("fields-129", "129 fields", _OK + b"".join(b"X-F%d: v\r\n" % i for i in range(126))
         + b"\r\n"),
)  # fmt: skip
MUTATIONS = Path(__file__).parent / "cases" / "mutations.json"


def _saved_mutations() -> tuple[Case, ...]:
    """The disagreements `python -m tests.differential --save` minimised and kept."""
    if not MUTATIONS.exists():
        return ()
    return tuple(
        _raw(entry["name"], entry["summary"], entry["template"].encode("latin-1"),
             tuple(entry["protocols"]), entry.get("after", "").encode("latin-1"))
        for entry in json.loads(MUTATIONS.read_text())
    )  # fmt: skip


CASES = CASES + CLASS_CASES + _saved_mutations()
BY_NAME = {case.name: case for case in CASES}


# The server ----------------------------------------------------------------------------------

FRAME, CLOSED = "frame", "closed"


def _control_reply(data: bytes) -> int | None:
    """The length of a whole Ping or Pong frame from the client at the start of `data` (a
    client answering a Ping the server sent after its head has opened: its text follows), 0
    when `data` starts with another frame, None when more bytes are needed to tell."""
    if len(data) < 2:
        return None if not data or data[0] & 0x0F in (0x9, 0xA) else 0
    if data[0] & 0x0F not in (0x9, 0xA):
        return 0
    length, at = data[1] & 0x7F, 2
    if length == 126:
        length, at = int.from_bytes(data[2:4], "big") if len(data) >= 4 else -1, 4
    elif length == 127:
        length, at = int.from_bytes(data[2:10], "big") if len(data) >= 10 else -1, 10
    at += 4 if data[1] & 0x80 else 0
    if length < 0 or len(data) < at + length:
        return None
    return at + length


class CorpusServer:
    """Answers `GET /c/<case>/<attempt>` with the case, `GET /` with the browser page; records
    each attempt's outcome: `frame`, `closed`, or nothing yet."""

    def __init__(
        self, cases: tuple[Case, ...] = CASES, wait: float = 3.0, *, silence_refuses: bool = False
    ) -> None:
        self.cases = {case.name: case for case in cases}
        self.wait = wait
        self.silence_refuses = silence_refuses
        """A client that neither sends a frame nor closes within `wait` refused (the server
        then closes): the differential's rule, where thousands of cases cannot each be retried."""
        self.outcomes: dict[str, str] = {}
        self.requests: dict[str, bytes] = {}
        self.lock = threading.Condition()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> CorpusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def url(self, name: str, attempt: int = 0) -> str:
        """The case's URL; a case that offers subprotocols asks the driver for them (the
        drivers' `?protocol=a,b` contract, tests/drivers.py)."""
        protocols = self.cases[name].protocols
        query = f"?protocol={','.join(protocols)}" if protocols else ""
        return f"ws://127.0.0.1:{self.port}/c/{name}/{attempt}{query}"

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.settimeout(self.wait)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1").partition("?")[0]
            if not path.startswith("/c/"):
                self._serve_page(connection, path)
                return
            _, _, name, attempt = path.split("/", 3)
            key = b""
            for line in head.split(b"\r\n")[1:]:
                field, _, value = line.partition(b":")
                if field.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            answer = self.cases[name].head(key)
            connection.sendall(answer)
            # a client that reads a large head slowly (byte by byte) gets the time it needs
            wait = self.wait + len(answer) / 20_000
            self._record(f"{name}/{attempt}", head, self._outcome(connection, rest, wait))

    def _outcome(self, connection: socket.socket, data: bytes, wait: float) -> str | None:
        """A text frame from the client (opcode 1, maybe compressed): it accepted. The
        connection's end without one: it refused. Neither within `wait` seconds: no outcome
        (or, with `silence_refuses`, a refusal)."""
        end = time.monotonic() + wait
        while True:
            skip = _control_reply(data)
            if skip:  # a Pong (or Ping) answering what the server sent after its head
                data = data[skip:]
                continue
            if skip == 0:
                return FRAME if data[0] & 0x0F == 1 else CLOSED
            left = end - time.monotonic()
            if left <= 0:
                return CLOSED if self.silence_refuses else None
            connection.settimeout(left)
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                return CLOSED if self.silence_refuses else None
            except OSError:
                return CLOSED
            if not chunk:
                return CLOSED
            data += chunk

    def _record(self, attempt: str, request: bytes, outcome: str | None) -> None:
        with self.lock:
            self.requests[attempt] = request
            if outcome is not None:
                self.outcomes[attempt] = outcome
            self.lock.notify_all()

    def _serve_page(self, connection: socket.socket, path: str) -> None:
        if path.startswith("/pending"):
            body = json.dumps(self.pending_for_browser()).encode()
            kind = "application/json"
        else:
            body = BROWSER_PAGE.encode()
            kind = "text/html"
        connection.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    browser_round = 0

    def pending_for_browser(self) -> list[dict[str, object]]:
        """What the browser page asks for: the cases still without an outcome, each under a
        new attempt number (a late outcome of an earlier attempt still counts)."""
        with self.lock:
            self.browser_round += 1
            return [
                {"url": self.url(name, self.browser_round), "protocols": case.protocols}
                for name, case in self.cases.items()
                if not self._decided(name)
            ]

    def _decided(self, name: str) -> bool:
        return any(key.split("/")[0] == name for key in self.outcomes)

    def result(self, name: str) -> str | None:
        with self.lock:
            found = [v for k, v in self.outcomes.items() if k.split("/")[0] == name]
        return found[0] if found else None

    def wait_for(self, attempt: str, timeout: float) -> str | None:
        """The outcome of one attempt (`case/n`), waiting for it up to `timeout` seconds."""
        end = time.monotonic() + timeout
        with self.lock:
            while attempt not in self.outcomes:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)
            return self.outcomes[attempt]

    def wait_progress(self, end: float, stall: float, startup: float = 0) -> bool:
        """Wait until every case has an outcome (True), the monotonic time `end`, or `stall`
        seconds without a new outcome (False); the first outcome may take `startup` seconds
        (a browser launched into a fresh profile on a loaded machine)."""
        with self.lock:
            seen, quiet_until = len(self.outcomes), time.monotonic() + max(stall, startup)
            while not all(self._decided(name) for name in self.cases):
                now = time.monotonic()
                if now >= end or now >= quiet_until:
                    return False
                self.lock.wait(min(end, quiet_until) - now)
                if len(self.outcomes) != seen:
                    seen, quiet_until = len(self.outcomes), time.monotonic() + stall
            return True


BROWSER_PAGE = """<!doctype html><meta charset="utf-8"><title>corpus</title><script>
async function one(item) {
  return new Promise((resolve) => {
    let ws;
    const done = () => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(() => { try { ws.close(); } catch (e) {} resolve(); }, 4000);
    try { ws = new WebSocket(item.url, item.protocols); } catch (e) { done(); return; }
    ws.onopen = () => { ws.send("hello"); setTimeout(() => { ws.close(); done(); }, 100); };
    ws.onerror = done;
    ws.onclose = done;
  });
}
async function main() {
  for (let round = 0; round < 4; round++) {
    const todo = await (await fetch("/pending", {cache: "no-store"})).json();
    if (!todo.length) break;
    for (const item of todo) await one(item);
  }
  document.title = "done";
}
main();
</script>"""


# The clients ---------------------------------------------------------------------------------


def run_client(client: str, server: CorpusServer, cases: tuple[Case, ...] = CASES,
               rounds: int = 3) -> dict[str, str | None]:  # fmt: skip
    """Each case's outcome with `client`, run by its driver (`tests/drivers.py`): pending
    attempts are retried, up to `rounds`."""
    from tests.drivers import DRIVERS

    outcomes: dict[str, str | None] = {case.name: None for case in cases}
    for attempt in range(rounds):
        todo = [case for case in cases if outcomes[case.name] is None]
        if not todo:
            break
        # the driver's own timeout is longer than the server's wait: the server decides
        DRIVERS[client].run([server.url(case.name, attempt) for case in todo], server.wait + 30)
        for case in todo:
            outcomes[case.name] = server.wait_for(f"{case.name}/{attempt}", server.wait + 31)
    return outcomes


# Browsers: launched once each, one page for the whole corpus ---------------------------------

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"

FIREFOX_PREFS = """
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("extensions.update.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.startup.page", 0);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("remote-settings.disabled", true);
user_pref("browser.region.network.url", "");
user_pref("network.trr.mode", 5);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.tabs.remote.autostart", true);
user_pref("network.websocket.delay-failed-reconnects", false);
"""


def browser_command(client: str, profile: str, url: str) -> list[str]:
    if client == "Chromium":
        return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                url]  # fmt: skip
    Path(profile, "user.js").write_text(FIREFOX_PREFS)
    return [FIREFOX, "--headless", "--no-remote", "--profile", profile, url]


def node_available() -> bool:
    """Whether Node and the npm package ws are installed (tests/node)."""
    from tests.drivers import missing

    return missing("Node ws") is None


def browser_available(client: str) -> bool:
    return os.access(CHROMIUM if client == "Chromium" else FIREFOX, os.X_OK)


def run_browser(
    client: str,
    server: CorpusServer,
    budget: float = 90,
    stall: float = 12,
    launches: int = 4,
    startup: float = 45,
) -> dict[str, str | None]:
    """One browser process, one page that opens every case's WebSocket in turn and asks again
    for the cases still without an outcome; waits at most `budget` seconds. A browser that
    makes no progress for `stall` seconds (a crashed page) is stopped and launched again for the
    cases left, as long as each launch decides some case, and at most `launches` times in a row
    without one. Firefox's page stops at every response that negotiates client_max_window_bits=8
    (the connection ends, a refusal, as predicted), so a corpus with many such cases needs one
    launch each. A launch has `startup` seconds for its first outcome (a browser started into a
    fresh profile on a loaded machine)."""
    end = time.monotonic() + budget
    fruitless = 0
    while fruitless < launches:
        before = sum(server.result(name) is not None for name in server.cases)
        with tempfile.TemporaryDirectory(prefix="wsaccept-browser-") as profile:
            env = {**os.environ, "HOME": profile, "MOZ_CRASHREPORTER_DISABLE": "1"}
            process = subprocess.Popen(
                browser_command(client, profile, f"http://127.0.0.1:{server.port}/"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            try:
                finished = server.wait_progress(end, stall, startup)
            finally:
                stop_process(process)
        if finished or time.monotonic() >= end:
            break
        decided = sum(server.result(name) is not None for name in server.cases)
        fruitless = 0 if decided > before else fruitless + 1
        print(f"{client}: no outcome for {stall:.0f} s, launched again for the"
              f" {len(server.cases) - decided} cases left", file=sys.stderr)  # fmt: skip
    return {name: server.result(name) for name in server.cases}


def observe(client: str, cases: tuple[Case, ...] = CASES) -> dict[str, str | None]:
    """Run `client` against `cases`: each case's outcome, `frame`, `closed` or None."""
    with CorpusServer(cases, silence_refuses=True) as server:
        if client in ("Chromium", "Firefox"):
            return run_browser(client, server)
        return run_client(client, server, cases)


def mismatches(client: str, observed: dict[str, str | None]) -> list[str]:
    """The cases where `client` did not do what wsaccept predicts, one line each."""
    lines = []
    for name, outcome in observed.items():
        case = BY_NAME[name]
        verdict = next(v for v in case.predicted() if v.client == client)
        if outcome is None:
            lines.append(f"{name}: no outcome (pending)")
        elif (outcome == FRAME) != verdict.accepts:
            said = "accepts" if verdict.accepts else f"refuses ({verdict.reason})"
            lines.append(f"{name}: wsaccept says {client} {said}, it sent {outcome}")
    return lines


# The README table ----------------------------------------------------------------------------

TABLE_START = "<!-- compatibility table: python -m tests.client_corpus --table -->"
TABLE_END = "<!-- end of compatibility table -->"


def table() -> str:
    """Markdown: one row per case, ✓ where the client accepts, ✗ where it refuses, and
    wsaccept's own verdict."""
    names = [client.name for client in CLIENTS]
    rows = [
        "| server's answer | wsaccept | " + " | ".join(names) + " |",
        "| --- | --- |" + " :-: |" * len(names),
    ]
    for case in CASES:
        verdicts = {v.client: v for v in case.predicted()}
        marks = ["✓" if verdicts[name].accepts else "✗" for name in names]
        rows.append(f"| {case.summary} | {case.verdict()} | " + " | ".join(marks) + " |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def readme_table(readme: str) -> str:
    start = readme.index(TABLE_START)
    end = readme.index(TABLE_END) + len(TABLE_END)
    return readme[start:end]


def _main(argv: list[str]) -> int:
    if argv == ["--table"]:
        print(table())
        return 0
    if argv[:1] == ["--run"]:
        clients = argv[1:] or [client.name for client in CLIENTS]
        for client in clients:
            started = time.monotonic()
            observed = observe(client)
            problems = mismatches(client, observed)
            took = time.monotonic() - started
            print(f"{client}: {len(problems)} mismatches in {took:.1f} s")
            for line in problems:
                print(f"  {line}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

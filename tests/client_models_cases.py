"""Raw response heads for the six clients of `tests/clients/`, with what each real client did.

Written while reading the clients' sources (`wsaccept_cli/core/clientmodels/`): one head per
decision point of their HTTP/1.1 parsers (status-line grammar, field grammar, obs-fold, line
endings, controls, lone CRs, interim responses, Content-Length and Transfer-Encoding on a 101,
sizes around each limit) and of their WebSocket checks (lists, case, repetition, subprotocols,
extensions). The last field of each case is what the real clients did: the letters (`CODES`) of
those that opened it, recorded with `python -m tests.client_models_cases --run` (undici 7.30.3
on Node 20, websocket-client 1.9.2, Tornado 6.6.1, gorilla/websocket 1.5.0 on Go 1.19.8, OpenJDK
17.0.21, libwebsockets 4.1.6); `test_client_models.py` holds every model to it, and `--run`
checks it still holds for the installed clients. `{accept}` is the accept for the client's key,
`{acceptlower}` the same in lowercase.

    python -m tests.client_models_cases --run [CLIENT...]   # the real clients, differences
"""

from __future__ import annotations

import sys

from tests import clients
from tests.client_corpus import Case, CorpusServer
from wsaccept_cli.core.clientmodels import PROFILES
from wsaccept_cli.core.clientmodels.profile import Offer
from wsaccept_cli.core.keys import accept_for

CLIENTS = ("undici", "websocket-client", "tornado", "gorilla", "Java", "libwebsockets")
CODES = "uwtgjl"  # in OPENED strings: the clients that opened, by their letter
KEY = "dGhlIHNhbXBsZSBub25jZQ=="

S = b"HTTP/1.1 101 Switching Protocols\r\n"
U = b"Upgrade: websocket\r\n"
C = b"Connection: Upgrade\r\n"
A = b"Sec-WebSocket-Accept: {accept}\r\n"
E = b"\r\n"
LF, CRLF = b"\n", b"\r\n"
XF, OR = b"X-Filler", b"Origin"  # an unknown field, a known one (libwebsockets' table)
P = b"Sec-WebSocket-Protocol: chat\r\n"


def h(*parts: bytes) -> bytes:
    return b"".join(parts)


def good(extra: bytes = b"", status: bytes = S) -> bytes:
    return h(status, U, C, A, extra, E)


def ended(head: bytes, fields: bytes, end: bytes) -> bytes:
    """`head` (CR LF lines) with its field lines ending in `fields`, its empty line in `end`."""
    return head[:-2].replace(b"\r\n", fields) + end


def filled(name: bytes, size: int, fields: bytes = b"\r\n", end: bytes = b"\r\n",
           tail: bytes = b"", extra: bytes = b"") -> bytes:  # fmt: skip
    """A good head with a `name` field of `size` a's (then `tail`): near libwebsockets' limit."""
    return ended(good(extra + name + b": " + b"a" * size + tail + b"\r\n"), fields, end)


class RawCase:
    """One head, the subprotocols offered, the clients that opened it."""

    def __init__(self, name: str, template: bytes, protocols: str, opened: str) -> None:
        """`opened`: the letters of the clients that opened it (`CODES`)."""
        self.name = name
        self.template = template
        self.protocols = tuple(item for item in protocols.split(",") if item)
        self.opened = frozenset(CLIENTS[CODES.index(code)] for code in opened)

    def head(self, key: bytes) -> bytes:
        accept = accept_for(key)
        return self.template.replace(b"{acceptlower}", accept.lower()).replace(b"{accept}", accept)

    def offer(self, extensions: bool) -> Offer:
        """The request the drivers send for it: `CorpusServer.url`'s path (libwebsockets keeps
        the path in the table the response fills, so its limit moves with the name)."""
        query = f"?protocol={','.join(self.protocols)}" if self.protocols else ""
        return Offer(KEY, self.protocols, extensions, target=f"/c/{self.name}/0{query}")

    def predicted(self, client: str) -> bool:
        profile = next(profile for profile in PROFILES if profile.name == client)
        offer = self.offer(profile.offers_extensions)
        return profile.predict(self.head(KEY.encode()), offer).accepts


def _case(name: str, template: bytes, protocols: str, opened: str) -> RawCase:
    return RawCase(name, template, protocols, opened)


CASES: tuple[RawCase, ...] = (
    _case("valid", good(), "", "uwtgjl"),
    _case("http10", good(status=b"HTTP/1.0 101 Switching Protocols\r\n"), "", "uwtgjl"),
    _case("lower-http", good(status=b"http/1.1 101 Switching Protocols\r\n"), "", "wl"),
    _case("no-reason", good(status=b"HTTP/1.1 101\r\n"), "", "uwgjl"),
    _case("no-reason-sp", good(status=b"HTTP/1.1 101 \r\n"), "", "uwtgjl"),
    _case("two-sp-before-code", good(status=b"HTTP/1.1  101 Switching Protocols\r\n"), "", "gl"),
    _case("two-sp-after-code", good(status=b"HTTP/1.1 101  Switching\r\n"), "", "uwtgjl"),
    _case("http20", good(status=b"HTTP/2.0 101 Switching Protocols\r\n"), "", "uwg"),
    _case("http12", good(status=b"HTTP/1.2 101 Switching Protocols\r\n"), "", "wtgj"),
    _case("http11-tab", good(status=b"HTTP/1.1\t101 Switching Protocols\r\n"), "", "j"),
    _case("code-0101", good(status=b"HTTP/1.1 0101 Switching\r\n"), "", "wl"),
    _case("code-101x", good(status=b"HTTP/1.1 101x Switching\r\n"), "", "jl"),
    _case("code-plus", good(status=b"HTTP/1.1 +101 Switching\r\n"), "", "wl"),
    _case("http-11", good(status=b"HTTP/11 101 Switching\r\n"), "", "w"),
    _case("reason-ctl", good(status=b"HTTP/1.1 101 Switch\x01ing\r\n"), "", "uwgjl"),
    _case("reason-tab", good(status=b"HTTP/1.1 101 Switch\ting\r\n"), "", "uwtgjl"),
    _case("lead-crlf", b"\r\n" + good(), "", "ut"),
    _case("lead-2crlf", b"\r\n\r\n" + good(), "", "u"),
    _case("lead-lf", b"\n" + good(), "", "ut"),
    _case("lead-space", b" " + good(), "", "w"),
    _case("sp-before-colon", h(S, b"Upgrade : websocket\r\n", C, A, E), "", ""),
    _case("sp-before-colon-other", good(b"X-Foo : bar\r\n"), "", "wgl"),
    _case("no-sp-after-colon", h(S, b"Upgrade:websocket\r\n", C, A, E), "", "uwtgjl"),
    _case("tab-value", h(S, b"Upgrade:\twebsocket\r\n", C, A, E), "", "uwtgj"),
    _case("trailing-sp-upgrade", h(S, b"Upgrade: websocket \r\n", C, A, E), "", "wtgj"),
    _case("trailing-tab-upgrade", h(S, b"Upgrade: websocket\t\r\n", C, A, E), "", "wtgj"),
    _case("trailing-sp-accept", h(S, U, C, b"Sec-WebSocket-Accept: {accept} \r\n", E), "", "wtgj"),
    _case("fold-upgrade", h(S, b"Upgrade:\r\n websocket\r\n", C, A, E), "", "gj"),
    _case("fold-other", good(b"X-Foo: a\r\n b\r\n"), "", "gj"),
    _case("fold-accept", h(S, U, C, b"Sec-WebSocket-Accept:\r\n {accept}\r\n", E), "", "gj"),
    _case("first-line-ws", h(S, b" X-Foo: bar\r\n", U, C, A, E), "", "wl"),
    _case("no-colon", good(b"Foo\r\n"), "", "j"),
    _case("empty-name", good(b": bar\r\n"), "", "wgj"),
    _case("bad-name", good(b"X(y): z\r\n"), "", "wgl"),
    _case("nul-other", good(b"X-Foo: a\x00b\r\n"), "", "wgl"),
    _case("nul-upgrade-end", h(S, b"Upgrade: websocket\x00\r\n", C, A, E), "", "jl"),
    _case("ctl01-other", good(b"X-Foo: a\x01b\r\n"), "", "wgl"),
    _case("del-other", good(b"X-Foo: a\x7fb\r\n"), "", "wgl"),
    _case("ff-other", good(b"X-Foo: a\xffb\r\n"), "", "utgjl"),
    _case("latin1-other", good(b"X-Foo: caf\xe9\r\n"), "", "utgjl"),
    _case("utf8-other", good(b"X-Foo: caf\xc3\xa9\r\n"), "", "uwtgjl"),
    _case("lone-cr-other", good(b"X-Foo: a\rb\r\n"), "", "wgjl"),
    _case("lone-cr-upgrade", h(S, b"Upgrade: web\rsocket\r\n", C, A, E), "", ""),
    _case("crcrlf-other", good(b"X-Foo: a\r\r\n"), "", "wgjl"),
    _case("bare-lf", good().replace(b"\r\n", b"\n"), "", "wtgjl"),
    _case("bare-lf-end-only", good()[:-2] + b"\n", "", "wtgjl"),
    _case("mixed-lf", h(S, b"Upgrade: websocket\n", C, A, E), "", "wtgjl"),
    _case("upgrade-comma", h(S, b"Upgrade: websocket,\r\n", C, A, E), "", "wg"),
    _case("upgrade-lead-comma", h(S, b"Upgrade: , websocket\r\n", C, A, E), "", "w"),
    _case("upgrade-upper", h(S, b"Upgrade: WEBSOCKET\r\n", C, A, E), "", "uwtgjl"),
    _case("upgrade-h2c-ws", h(S, b"Upgrade: h2c, websocket\r\n", C, A, E), "", "wg"),
    _case("upgrade-twice", h(S, U, U, C, A, E), "", "wgl"),
    _case("upgrade-two-values", h(S, b"Upgrade: h2c\r\n", U, C, A, E), "", "wg"),
    _case("conn-lower", h(S, U, b"Connection: upgrade\r\n", A, E), "", "uwtgjl"),
    _case("conn-upgrade-ka", h(S, U, b"Connection: Upgrade, keep-alive\r\n", A, E), "", "wgl"),
    _case("conn-ka-upgrade", h(S, U, b"Connection: keep-alive, Upgrade\r\n", A, E), "", "wgl"),
    _case("conn-comma", h(S, U, b"Connection: Upgrade,\r\n", A, E), "", "wgl"),
    _case("conn-up", h(S, U, b"Connection: up\r\n", A, E), "", "l"),
    _case("conn-twice", h(S, U, b"Connection: keep-alive\r\n", C, A, E), "", "wgl"),
    _case("conn-upgrade-twice", h(S, U, C, C, A, E), "", "wgl"),
    _case("conn-tab", h(S, U, b"Connection: Upgrade\t\r\n", A, E), "", "wtgjl"),
    _case("accept-twice", good(A), "", "wgl"),
    _case("accept-wrong-then-right", h(S, U, C, b"Sec-WebSocket-Accept: x\r\n", A, E), "", "w"),
    _case("accept-right-then-wrong", h(S, U, C, A, b"Sec-WebSocket-Accept: x\r\n", E), "", "gl"),
    _case("accept-lower", h(S, U, C, b"Sec-WebSocket-Accept: {acceptlower}\r\n", E), "", "w"),
    _case("no-accept", h(S, U, C, E), "", ""),
    _case("no-upgrade", h(S, C, A, E), "", ""),
    _case("no-connection", h(S, U, A, E), "", ""),
    _case("proto-none-chosen", good(), "chat", "tgjl"),
    _case("proto-chat", good(b"Sec-WebSocket-Protocol: chat\r\n"), "chat", "uwtgjl"),
    _case("proto-Chat", good(b"Sec-WebSocket-Protocol: Chat\r\n"), "chat", "wtg"),
    _case("proto-unoffered", good(b"Sec-WebSocket-Protocol: chat\r\n"), "", "wtg"),
    _case("proto-other", good(b"Sec-WebSocket-Protocol: superchat\r\n"), "chat", "tg"),
    _case("proto-two", good(b"Sec-WebSocket-Protocol: chat, superchat\r\n"), "chat,superchat", "tg"),  # noqa: E501
    _case("proto-twice", good(b"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"), "chat", "wtgl"),  # noqa: E501
    _case("proto-second-offered", good(b"Sec-WebSocket-Protocol: superchat\r\n"), "chat,superchat", "uwtgjl"),  # noqa: E501
    _case("proto-empty", good(b"Sec-WebSocket-Protocol: \r\n"), "chat", "tgl"),
    _case("proto-comma", good(b"Sec-WebSocket-Protocol: chat,\r\n"), "chat", "tg"),
    _case("ext-deflate", good(b"Sec-WebSocket-Extensions: permessage-deflate\r\n"), "", "uw"),
    _case("ext-deflate-nct", good(b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"), "", "uwg"),  # noqa: E501
    _case("ext-deflate-upper", good(b"Sec-WebSocket-Extensions: Permessage-Deflate\r\n"), "", "wg"),
    _case("ext-deflate-bits8", good(b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n"), "", "uw"),  # noqa: E501
    _case("ext-deflate-sbits8", good(b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n"), "", "uw"),  # noqa: E501
    _case("ext-deflate-sbits10", good(b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n"), "", "uw"),  # noqa: E501
    _case("ext-deflate-cbits-novalue", good(b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"), "", "uw"),  # noqa: E501
    _case("ext-deflate-unknown-param", good(b"Sec-WebSocket-Extensions: permessage-deflate; foo=1\r\n"), "", "uw"),  # noqa: E501
    _case("ext-deflate-PARAM-case", good(b"Sec-WebSocket-Extensions: permessage-deflate; Server_No_Context_Takeover\r\n"), "", "uw"),  # noqa: E501
    _case("ext-empty", good(b"Sec-WebSocket-Extensions: \r\n"), "", "wtgl"),
    _case("ext-comma", good(b"Sec-WebSocket-Extensions: ,\r\n"), "", "wg"),
    _case("ext-other", good(b"Sec-WebSocket-Extensions: x-foo\r\n"), "", "wg"),
    _case("ext-deflate-twice", good(b"Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n"), "", "w"),  # noqa: E501
    _case("version-13", good(b"Sec-WebSocket-Version: 13\r\n"), "", "uwtgjl"),
    _case("version-8", good(b"Sec-WebSocket-Version: 8\r\n"), "", "uwtgl"),
    _case("interim-100", b"HTTP/1.1 100 Continue\r\n\r\n" + good(), "", "tj"),
    _case("interim-103", b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + good(), "", "utj"),  # noqa: E501
    _case("interim-102", b"HTTP/1.1 102 Processing\r\n\r\n" + good(), "", "utj"),
    _case("interim-100-cl", b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n" + good(), "", "j"),  # noqa: E501
    _case("interim-two", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + good(), "", "tj"),  # noqa: E501
    _case("te-chunked", good(b"Transfer-Encoding: chunked\r\n"), "", "uwtgl"),
    _case("te-gzip", good(b"Transfer-Encoding: gzip\r\n"), "", "uwtjl"),
    _case("cl-5", good(b"Content-Length: 5\r\n"), "", "uwtgl"),
    _case("cl-0", good(b"Content-Length: 0\r\n"), "", "uwtgjl"),
    _case("cl-two-diff", good(b"Content-Length: 0\r\nContent-Length: 5\r\n"), "", "wtjl"),
    _case("cl-abc", good(b"Content-Length: abc\r\n"), "", "wtgl"),
    _case("value-4000", good(b"X-Big: " + b"a" * 4000 + b"\r\n"), "", "uwtgj"),
    _case("value-8100", good(b"X-Big: " + b"a" * 8100 + b"\r\n"), "", "uwtgj"),
    _case("value-8200", good(b"X-Big: " + b"a" * 8200 + b"\r\n"), "", "uwtgj"),
    _case("value-16300", good(b"X-Big: " + b"a" * 16300 + b"\r\n"), "", "wtgj"),
    _case("value-16400", good(b"X-Big: " + b"a" * 16400 + b"\r\n"), "", "wtgj"),
    _case("value-65000", good(b"X-Big: " + b"a" * 65000 + b"\r\n"), "", "wtgj"),
    _case("value-70000", good(b"X-Big: " + b"a" * 70000 + b"\r\n"), "", "wgj"),
    _case("value-300k", good(b"X-Big: " + b"a" * 300000 + b"\r\n"), "", "wgj"),
    _case("value-400k", good(b"X-Big: " + b"a" * 400000 + b"\r\n"), "", "wg"),
    _case("fields-100", good(b"".join(b"X-F%d: v\r\n" % i for i in range(100))), "", "uwtgjl"),
    _case("fields-130", good(b"".join(b"X-F%d: v\r\n" % i for i in range(130))), "", "uwtgjl"),
    _case("fields-1000", good(b"".join(b"X-F%d: v\r\n" % i for i in range(1000))), "", "uwtgj"),
    _case("status-200", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", "", ""),  # noqa: E501
    _case("status-301", b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", "", ""),
    _case("head-never-ends", h(S, U, C, A), "", ""),
    _case("status-only", S + E, "", ""),
    _case("cl-neg", good(b"Content-Length: -1\r\n"), "", "wtgjl"),
    _case("cl-sp5", good(b"Content-Length:  5 \r\n"), "", "uwtgl"),
    _case("cl-00", good(b"Content-Length: 00\r\n"), "", "uwtgjl"),
    _case("cl-5-0", good(b"Content-Length: 5\r\nContent-Length: 0\r\n"), "", "wtl"),
    _case("cl-0-0", good(b"Content-Length: 0\r\nContent-Length: 0\r\n"), "", "wtgjl"),
    _case("cl-empty", good(b"Content-Length: \r\n"), "", "wtgl"),
    _case("te-Chunked", good(b"Transfer-Encoding: Chunked\r\n"), "", "uwtgl"),
    _case("te-gzip-chunked", good(b"Transfer-Encoding: gzip, chunked\r\n"), "", "uwtjl"),
    _case("te-chunked-cl", good(b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), "", "wtgjl"),  # noqa: E501
    _case("te-chunked-http10", good(b"Transfer-Encoding: chunked\r\n", status=b"HTTP/1.0 101 Switching Protocols\r\n"), "", "uwtgl"),  # noqa: E501
    _case("interim-199", b"HTTP/1.1 199 Whatever\r\n\r\n" + good(), "", "utj"),
    _case("interim-100-cl5", b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n" + good(), "", "j"),  # noqa: E501
    _case("interim-103-bad", b"HTTP/1.1 103 Early\r\nX : y\r\n\r\n" + good(), "", ""),
    _case("interim-many", b"HTTP/1.1 103 Early Hints\r\n\r\n" * 12 + good(), "", "u"),
    _case("value-380k", good(b"X-Big: " + b"a" * 380000 + b"\r\n"), "", "wgj"),
    _case("value-392k", good(b"X-Big: " + b"a" * 392000 + b"\r\n"), "", "wgj"),
    _case("value-393300", good(b"X-Big: " + b"a" * 393300 + b"\r\n"), "", "wg"),
    _case("fields-10000", good(b"".join(b"X-F%d: v\r\n" % i for i in range(10000))), "", "wg"),
    _case("lws-value-4000", good(b"Upgrade-X: " + b"a" * 4000 + b"\r\n"), "", "uwtgj"),
    _case("lws-known-3900", good(b"Origin: " + b"a" * 3900 + b"\r\n"), "", "uwtgjl"),
    _case("lws-known-4100", good(b"Origin: " + b"a" * 4100 + b"\r\n"), "", "uwtgj"),
    _case("conn-64", h(S, U, b"Connection: " + b"a" * 60 + b", Upgrade\r\n", A, E), "", "wg"),
    _case("conn-long-upgrade-first", h(S, U, b"Connection: Upgrade, " + b"a" * 60 + b"\r\n", A, E), "", "wg"),  # noqa: E501
    _case("cr-space-fold", good(b"X-Foo: a\r b\r\n"), "", "wgjl"),
    _case("ext-quoted-param", good(b'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; x="a\\"b"\r\n'), "", "uwg"),  # noqa: E501
    _case("ext-quoted-unterminated", good(b'Sec-WebSocket-Extensions: permessage-deflate; x="ab\r\n'), "", "uw"),  # noqa: E501
    _case("ext-quoted-plain", good(b'Sec-WebSocket-Extensions: permessage-deflate; x="ab"\r\n'), "", "uw"),  # noqa: E501
    _case("ext-other-then-deflate", good(b"Sec-WebSocket-Extensions: x-foo; a=1, permessage-deflate\r\n"), "", "w"),  # noqa: E501
    _case("ext-bad-param", good(b"Sec-WebSocket-Extensions: permessage-deflate; =1\r\n"), "", "uwg"),  # noqa: E501
    _case("ext-junk-after", good(b"Sec-WebSocket-Extensions: permessage-deflate x\r\n"), "", "wg"),
    _case("status-cr-x", b"HTTP/1.1 101 Switching\rX\r\n" + U + C + A + E, "", "wgl"),
    _case("end-crlfcr-x", h(S, U, C, A, b"\rX\r\n\r\n"), "", ""),
    _case("interim-8", b"HTTP/1.1 103 Early Hints\r\n\r\n" * 8 + good(), "", "utj"),
    _case("interim-9", b"HTTP/1.1 103 Early Hints\r\n\r\n" * 9 + good(), "", "ut"),
    _case("version-twice", good(b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n"), "", "uwtgl"),  # noqa: E501
    _case("status-short", good(status=b"HTTP/1.1 99\r\n"), "", ""),
    _case("conn-equals", h(S, U, b"Connection: Upgrade=1\r\n", A, E), "", ""),
    _case("conn-number-first", h(S, U, b"Connection: 1, Upgrade\r\n", A, E), "", "wg"),
    _case("conn-quoted", h(S, U, b'Connection: "Upgrade"\r\n', A, E), "", ""),
    _case("conn-lead-comma", h(S, U, b"Connection: , Upgrade\r\n", A, E), "", "w"),
    _case("conn-double-comma", h(S, U, b"Connection: keep-alive,, Upgrade\r\n", A, E), "", "w"),
    _case("conn-dot", h(S, U, b"Connection: upgrade.x\r\n", A, E), "", "l"),
    _case("conn-utf8-first", h(S, U, b"Connection: caf\xc3\xa9, Upgrade\r\n", A, E), "", "w"),
    _case("conn-latin1-first", h(S, U, b"Connection: caf\xe9, Upgrade\r\n", A, E), "", ""),
    _case("conn-no-comma", h(S, U, b"Connection: keep-alive Upgrade\r\n", A, E), "", ""),
    _case("conn-float", h(S, U, b"Connection: 1.5, Upgrade\r\n", A, E), "", "wg"),
    _case("conn-close-upgrade", h(S, U, b"Connection: Upgrade, close\r\n", A, E), "", "wl"),
    _case("conn-slash", h(S, U, b"Connection: a/b, Upgrade\r\n", A, E), "", "w"),
    _case("upgrade-empty", h(S, b"Upgrade: \r\n", C, A, E), "", ""),
    _case("accept-empty", h(S, U, C, b"Sec-WebSocket-Accept: \r\n", E), "", ""),
    _case("proto-lws-prefix", good(b"Sec-WebSocket-Protocol: cha\r\n"), "chat", "tg"),
    _case("known-name-colon-merge", good(b"X: y\r\n"), "", "uwtgj"),
    _case("put-header", good(b"Put-Me: x\r\n"), "", "uwtgjl"),
    _case("te-chunked-cl5", good(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), "", "wtgl"),  # noqa: E501
    _case("upgrade-nul-mid", h(S, b"Upgrade: web\x00socket\r\n", C, A, E), "", ""),
    _case("status-nonascii-digit", good(status="HTTP/1.1 １０１ Switching\r\n".encode()), "", "w"),
    _case("status-underscore", good(status=b"HTTP/1.1 1_01 Switching\r\n"), "", "w"),
    _case("fold-ws-only", good(b"X-Foo: a\r\n   \r\n"), "", "wgj"),
    _case("obs-fold-first-after-status", h(S, b"\tX: y\r\n", U, C, A, E), "", "wl"),
    # libwebsockets' 4096-byte table at its limit (the client's own path is in it, so the case's
    # name moves the limit): bare LF and CR LF lines, known and unknown fields, trailing spaces
    _case("lws-limit-lf-fits", filled(XF, 3950, LF, LF), "", "wtgjl"),
    _case("lws-limit-lf-over", filled(XF, 3951, LF, LF), "", "wtgj"),
    _case("lws-limit-crlf-fits", filled(XF, 3938, CRLF, CRLF), "", "uwtgjl"),
    _case("lws-limit-crlf-over", filled(XF, 3939, CRLF, CRLF), "", "uwtgj"),
    _case("lws-limit-lf-crlf-end-fits", filled(XF, 3931, LF, CRLF), "", "wtgjl"),
    _case("lws-limit-lf-crlf-end-over", filled(XF, 3932, LF, CRLF), "", "wtgj"),
    _case("lws-limit-crlf-lf-end-fits", filled(XF, 3941, CRLF, LF), "", "wtgjl"),
    _case("lws-limit-crlf-lf-end-over", filled(XF, 3942, CRLF, LF), "", "wtgj"),
    _case("lws-limit-lf-known-fits", filled(OR, 3960, LF, LF), "", "wtgjl"),
    _case("lws-limit-lf-known-over", filled(OR, 3961, LF, LF), "", "wtgj"),
    _case("lws-limit-crlf-known-fits", filled(OR, 3948, CRLF, CRLF), "", "uwtgjl"),
    _case("lws-limit-crlf-known-over", filled(OR, 3949, CRLF, CRLF), "", "uwtgj"),
    _case("lws-limit-lf-spaces-fits", filled(XF, 3941, LF, LF, tail=b"  "), "", "wtgjl"),
    _case("lws-limit-lf-spaces-over", filled(XF, 3942, LF, LF, tail=b"  "), "", "wtgj"),
    _case("lws-limit-crlf-known-spaces-fits", filled(OR, 3939, CRLF, CRLF, tail=b"  "), "", "uwtgjl"),  # noqa: E501
    _case("lws-limit-crlf-known-spaces-over", filled(OR, 3940, CRLF, CRLF, tail=b"  "), "", "uwtgj"),  # noqa: E501
    _case("lws-limit-lf-proto-fits", filled(XF, 3920, LF, LF, extra=P), "chat", "wtgjl"),
    _case("lws-limit-lf-proto-over", filled(XF, 3921, LF, LF, extra=P), "chat", "wtgj"),
    _case("lws-limit-crlf-fits-longer-path", filled(XF, 3938, CRLF, CRLF), "", "uwtgj"),
)  # fmt: skip


class _Served(Case):
    """A raw case as `CorpusServer` serves it."""

    def __init__(self, case: RawCase) -> None:
        super().__init__(case.name, case.name, [], protocols=case.protocols)
        self.raw = case

    def head(self, key: bytes) -> bytes:
        return self.raw.head(key)


def observe(client: str, timeout: float = 10) -> dict[str, bool | None]:
    """What the real `client` does with each case, as its driver reports it: opened, refused,
    or None when the driver said nothing about it."""
    served = tuple(_Served(case) for case in CASES)
    with CorpusServer(served, wait=timeout) as server:  # type: ignore[arg-type]
        urls = {
            case.name: clients.with_protocols(server.url(case.name), case.protocols)
            for case in served
        }
        reports = clients.run(client, list(urls.values()), timeout=timeout)
    return {
        name: bool(reports[url]["opened"]) if url in reports else None for name, url in urls.items()
    }


def _main(argv: list[str]) -> int:
    if argv[:1] != ["--run"]:
        print(__doc__)
        return 2
    for client in argv[1:] or CLIENTS:
        seen = observe(client)
        for case in CASES:
            recorded, model = client in case.opened, case.predicted(client)
            real = seen[case.name]
            if real != recorded or model != recorded:
                print(f"{client} {case.name}: recorded {recorded}, real {real}, model {model}")
        print(f"{client}: done")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

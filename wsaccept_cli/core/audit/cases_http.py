"""The cases about the HTTP request itself: the request line, Host, Upgrade and Connection,
Sec-WebSocket-Key, Sec-WebSocket-Version, message framing and smuggling shapes, and limits.
"""

from __future__ import annotations

from collections.abc import Callable

from wsaccept_cli.core.audit.build import (
    Edit,
    Head,
    adding,
    removing,
    replacing,
    request,
    setting,
)
from wsaccept_cli.core.audit.judges import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    clean_upgrade,
    either,
    must_accept,
    must_refuse,
    upgrade_problem,
)
from wsaccept_cli.core.audit.model import Judge, Observed, Request, Server, Verdict
from wsaccept_cli.core.audit.registry import Catalogue

R6455, R9110, R9112 = "RFC 6455", "RFC 9110", "RFC 9112"
REFUSE = "refuses it (400), never 101"
ACCEPT = "upgrades it (101)"


def _line(method: str | None = None, target: str | None = None, version: str | None = None) -> Edit:
    def edit(head: Head) -> None:
        if method is not None:
            head.method = method
        if target is not None:
            head.target = target
        if version is not None:
            head.version = version

    return edit


def _request_line(c: Catalogue) -> None:
    cat = "request"
    c.add(cat, f"{R6455} §4.2.2", "a valid opening handshake", ACCEPT, request(), _baseline)
    for method in ("POST", "PUT", "HEAD", "OPTIONS", "CONNECT", "DELETE"):
        c.add(
            cat,
            f"{R6455} §4.2.1",
            f"the method {method}",
            f"{REFUSE}: the method must be GET",
            request(_line(method=method)),
            must_refuse("the handshake's method must be GET"),
        )
    for method in ("get", "Get"):
        c.add(
            cat,
            f"{R9110} §9.1",
            f"the method {method!r} (methods are case-sensitive)",
            f"{REFUSE}: {method!r} is not GET",
            request(_line(method=method)),
            must_refuse("methods are case-sensitive, and this is not GET"),
        )
    c.add(
        cat,
        f"{R6455} §4.2.1",
        "HTTP/1.0",
        f"{REFUSE}: the handshake needs HTTP/1.1 or higher",
        request(_line(version="HTTP/1.0")),
        must_refuse("a handshake must be HTTP/1.1 or higher"),
    )
    c.add(
        cat,
        f"{R9112} §2.3",
        "HTTP/1.2 (a later minor version)",
        "upgrades it: a server reads a later 1.x as 1.1",
        request(_line(version="HTTP/1.2")),
        must_accept("a later minor version is read as the highest it knows", refused=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §2.3",
        "HTTP/2.0 on an HTTP/1.1 connection",
        "refuses it (400 or 505)",
        request(_line(version="HTTP/2.0")),
        must_refuse("HTTP/2 is not spoken in an HTTP/1 request line", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §2.3",
        "no HTTP version (an HTTP/0.9 request line)",
        REFUSE,
        request(_line(version="")),
        must_refuse("a request line without a version is no HTTP/1.1 request"),
    )
    c.add(
        cat,
        f"{R9112} §2.3",
        "the version in lowercase (http/1.1)",
        f"{REFUSE}: HTTP-name is case-sensitive",
        request(_line(version="http/1.1")),
        must_refuse("HTTP-name is case-sensitive", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §3.2.2",
        "an absolute-form target (http://host/path)",
        "upgrades it: a server MUST accept the absolute form",
        request(_absolute("http")),
        must_accept("a server MUST accept the absolute form", refused=NON_STRICT),
    )
    c.add(
        cat,
        f"{R6455} §3",
        "an absolute-form target with the ws:// scheme",
        "either: no rule says",
        request(_absolute("ws")),
        either("ws:// is no HTTP scheme in a request line", refused=INFORMATIONAL),
    )
    c.add(
        cat,
        f"{R9112} §3",
        "no request target (GET  HTTP/1.1)",
        REFUSE,
        request(_line(target="")),
        must_refuse("the request line has no target"),
    )
    c.add(
        cat,
        f"{R6455} §4.2.1",
        "the asterisk form (GET * HTTP/1.1)",
        f"{REFUSE}: '*' names no resource (and is for OPTIONS only, RFC 9112 §3.2.4)",
        request(_line(target="*")),
        must_refuse("the handshake's target is a resource name, and '*' is none"),
    )
    c.add(
        cat,
        f"{R6455} §3",
        "a fragment in the target (/path#frag)",
        "refuses it: a WebSocket URI has no fragment",
        request(lambda head: setattr(head, "target", head.target + "#fragment")),
        must_refuse("fragments MUST NOT be used in WebSocket URIs", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §3",
        "two spaces between the parts of the request line",
        "refuses it (400); a lenient server may read it",
        request(raw=replacing(b" HTTP/1.1\r\n", b"  HTTP/1.1\r\n")),
        must_refuse("the request line has one SP between its parts", upgraded=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §2.2",
        "bare LF line endings",
        "either: a recipient MAY take a bare LF as a line end",
        request(raw=lambda data: data.replace(b"\r\n", b"\n")),
        either("a bare LF is allowed to a lenient recipient", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §5.1",
        "whitespace between a header name and its colon (X-Audit : 1)",
        "refuses it: a server MUST answer 400",
        request(adding(("X-Audit ", "1"))),
        must_refuse("a server MUST reject whitespace before the colon with 400 (smuggling)"),
    )
    c.add(
        cat,
        f"{R9112} §2.2",
        "whitespace before the first header line (it hides the key)",
        "refuses it: the indented line is no header, so the key is missing",
        request(_indented_key, key=lambda head: None),
        must_refuse("the only key is on a line a recipient must reject or ignore"),
    )
    c.add(
        cat,
        f"{R9110} §5.5",
        "a NUL in a header value",
        "refuses it, or reads the NUL as a space",
        request(adding(("X-Audit", "a\x00b"))),
        either("a recipient MUST reject a NUL or replace it with SP", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9112} §2.2",
        "a bare CR in a header value",
        "refuses it, or reads the CR as a space",
        request(adding(("X-Audit", "a\rb"))),
        either("a recipient MUST reject a bare CR or replace it with SP", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9110} §5.1",
        "header names in lowercase",
        "upgrades it: field names are case-insensitive",
        request(lambda head: _rename(head, str.lower)),
        must_accept("field names are case-insensitive"),
    )
    c.add(
        cat,
        f"{R9110} §5.1",
        "header names in uppercase",
        "upgrades it: field names are case-insensitive",
        request(lambda head: _rename(head, str.upper)),
        must_accept("field names are case-insensitive"),
    )
    c.add(
        cat,
        f"{R9112} §5.1",
        "a header name that is no token (X Audit: 1)",
        REFUSE,
        request(adding(("X Audit", "1"))),
        must_refuse("a field name is a token"),
    )


def _baseline(observed: Observed, request_: Request, server: Server) -> Verdict:
    if observed.upgraded:
        problem = upgrade_problem(observed, request_)
        if problem is not None:
            return Verdict(FAILED, problem)
        return clean_upgrade(observed, OK, "a valid 101")
    if observed.values("sec-websocket-accept"):
        return Verdict(
            FAILED,
            f"answered {observed.status} with a Sec-WebSocket-Accept: the handshake is accepted"
            " with the wrong status (RFC 6455 §4.2.2: 101 Switching Protocols)",
        )
    return Verdict(
        INFORMATIONAL,
        "the valid handshake was not upgraded: give the path, headers (-H) or --origin the"
        " server needs, or the cases that must be upgraded tell nothing",
    )


def _absolute(scheme: str) -> Edit:
    def edit(head: Head) -> None:
        host = head.values("host")[0]
        head.target = f"{scheme}://{host}{head.target}"

    return edit


def _indented_key(head: Head) -> None:
    key = head.values("sec-websocket-key")[0]
    head.remove("sec-websocket-key")
    head.headers.insert(0, (" Sec-WebSocket-Key", key))


def _rename(head: Head, change: Callable[[str], str]) -> None:
    head.headers = [(change(name), value) for name, value in head.headers]


def _host(c: Catalogue) -> None:
    cat = "host"
    must = f"{R9112} §3.2"
    c.add(
        cat,
        must,
        "no Host header",
        "refuses it: a server MUST answer 400",
        request(removing("Host")),
        must_refuse("a server MUST answer 400 to an HTTP/1.1 request without Host"),
    )
    c.add(
        cat,
        must,
        "two Host headers with the same value",
        "refuses it: a server MUST answer 400",
        request(lambda head: head.add("Host", head.values("host")[0])),
        must_refuse("a server MUST answer 400 to more than one Host"),
    )
    c.add(
        cat,
        must,
        "two Host headers with different values",
        "refuses it: a server MUST answer 400",
        request(adding(("Host", "other.example"))),
        must_refuse("a server MUST answer 400 to more than one Host"),
    )
    c.add(
        cat,
        must,
        "a Host with a space in it",
        "refuses it: an invalid Host MUST get 400",
        request(setting("Host", "exa mple.test")),
        must_refuse("a server MUST answer 400 to an invalid Host"),
    )
    c.add(
        cat,
        must,
        "a Host with user information (user@host)",
        "refuses it: an invalid Host MUST get 400",
        request(lambda head: head.set("Host", "user@" + head.values("host")[0])),
        must_refuse("Host is uri-host[:port]; '@' makes it invalid, and a server MUST answer 400"),
    )
    c.add(
        cat,
        must,
        "a Host whose port is not a number",
        "refuses it: an invalid Host MUST get 400",
        request(setting("Host", "localhost:web")),
        must_refuse("a port is digits; a server MUST answer 400 to an invalid Host"),
    )
    c.add(
        cat,
        must,
        "an empty Host",
        "either: empty is valid syntax, but this URI has an authority",
        request(setting("Host", "")),
        either("an empty Host names no authority", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R6455} §4.2.1",
        "a Host naming another server (other.example)",
        "either: a server may check that Host names it",
        request(setting("Host", "other.example")),
        either("Host names another server"),
    )
    c.add(
        cat,
        f"{R6455} §4.2.1",
        "a Host with another port",
        "either: a server may check that Host names it",
        request(lambda head: head.set("Host", _other_port(head.values("host")[0]))),
        either("Host names another port"),
    )
    c.add(
        cat,
        f"{R9112} §3.2.2",
        "an absolute-form target and a Host that disagrees",
        "upgrades it: the target's authority wins, Host is ignored",
        request(_absolute_other_host),
        either("the server MUST use the target's authority and ignore Host", refused=INFORMATIONAL),
    )


def _other_port(host: str) -> str:
    name = host.rpartition(":")[0] if ":" in host.rpartition("]")[2] else host
    return f"{name}:1"


def _absolute_other_host(head: Head) -> None:
    head.target = f"http://{head.values('host')[0]}{head.target}"
    head.set("Host", "other.example")


def _upgrade(c: Catalogue) -> None:
    cat = "upgrade"
    s = f"{R6455} §4.2.1"
    c.add(
        cat,
        s,
        "no Upgrade header",
        REFUSE,
        request(removing("Upgrade")),
        must_refuse("the handshake needs Upgrade: websocket"),
    )
    c.add(
        cat,
        s,
        "no Connection header",
        REFUSE,
        request(removing("Connection")),
        must_refuse("the handshake needs Connection: Upgrade"),
    )
    for value in ("WebSocket", "WEBSOCKET"):
        c.add(
            cat,
            s,
            f"Upgrade: {value}",
            f"{ACCEPT}: the value is case-insensitive",
            request(setting("Upgrade", value)),
            must_accept("'websocket' is compared case-insensitively"),
        )
    for value in ("upgrade", "UPGRADE"):
        c.add(
            cat,
            s,
            f"Connection: {value}",
            f"{ACCEPT}: the token is case-insensitive",
            request(setting("Connection", value)),
            must_accept("Connection's tokens are case-insensitive"),
        )
    for value in ("keep-alive, Upgrade", "Upgrade, keep-alive"):
        c.add(
            cat,
            s,
            f"Connection: {value} (as Firefox sends it)",
            f"{ACCEPT}: Connection is a list that must include upgrade",
            request(setting("Connection", value)),
            must_accept("Connection is a list; it includes 'upgrade'"),
        )
    c.add(
        cat,
        f"{R9110} §5.3",
        "Connection split over two header lines",
        f"{ACCEPT}: two lines of a list header are one list",
        request(_split_connection),
        must_accept("two field lines of a list are one list", refused=NON_STRICT),
    )
    for value in ("websocket, h2c", "h2c, websocket"):
        c.add(
            cat,
            f"{R9110} §7.8",
            f"Upgrade: {value}",
            f"{ACCEPT}: Upgrade is a list that includes websocket",
            request(setting("Upgrade", value)),
            must_accept("Upgrade is a list; it includes 'websocket'", refused=NON_STRICT),
        )
    for value, why in (
        (
            "h2c",
            "it offers no websocket, and h2c without HTTP2-Settings MUST NOT be upgraded"
            " (RFC 7540 §3.2.1)",
        ),
        ("websockets", "'websockets' is not 'websocket'"),
        ("xwebsocket", "'xwebsocket' is not 'websocket'"),
        ("", "an empty Upgrade offers nothing"),
    ):
        c.add(
            cat,
            s,
            f"Upgrade: {value!r}" if value else "an empty Upgrade",
            REFUSE,
            request(setting("Upgrade", value)),
            must_refuse(why),
        )
    for value, why in (
        ("close", "Connection has no 'upgrade' token"),
        ("upgrades", "'upgrades' is not the token 'upgrade'"),
        ("keep-alive", "Connection has no 'upgrade' token"),
    ):
        c.add(
            cat,
            s,
            f"Connection: {value}",
            REFUSE,
            request(setting("Connection", value)),
            must_refuse(why),
        )
    c.add(
        cat,
        f"{R9110} §7.8",
        "Upgrade: websocket/13 (a protocol version)",
        "either: no rule names websocket/13",
        request(setting("Upgrade", "websocket/13")),
        either("websocket/13 is a protocol-version no RFC defines"),
    )


def _split_connection(head: Head) -> None:
    head.set("Connection", "keep-alive")
    head.add("Connection", "Upgrade")


def _key(c: Catalogue) -> None:
    cat = "key"
    s = f"{R6455} §4.2.1"
    bad_keys = (
        ("an empty Sec-WebSocket-Key", ""),
        ("a key of 12 bytes", "AAECAwQFBgcICQoL"),
        ("a key of 20 bytes", "AAECAwQFBgcICQoLDA0ODxAREhM="),
        ("a key that is not base64 (24 '!')", "!" * 24),
        ("a key with one character outside base64", "dGhlIHNhbXBsZSBub25jZQ=!"),
        ("a key with base64url characters", "-_8AAQIDBAUGBwgJCgsMDQ=="),
        ("a key without its padding", "dGhlIHNhbXBsZSBub25jZQ"),
        ("a key with whitespace inside", "dGhlIHNhbXBs ZSBub25jZQ=="),
        ("a key with '=' in the middle", "dGhlIHNhbXBs=ZSBub25jZQ="),
        ("a key with bytes after its padding", "dGhlIHNhbXBsZSBub25jZQ==AA"),
        ("a key of 32 hex digits", "00112233445566778899aabbccddeeff"),
        ("a key of 24 non-ASCII bytes", "\xe9" * 24),
    )
    c.add(
        cat,
        s,
        "no Sec-WebSocket-Key",
        REFUSE,
        request(removing("Sec-WebSocket-Key")),
        must_refuse("the handshake needs a key"),
    )
    for title, value in bad_keys:
        c.add(
            cat,
            s,
            title,
            f"{REFUSE}: the key must be base64 of 16 bytes",
            request(setting("Sec-WebSocket-Key", value)),
            must_refuse("the key must be the base64 encoding of 16 bytes"),
        )
    c.add(
        cat,
        f"{R6455} §11.3.1",
        "two Sec-WebSocket-Key headers with the same value",
        f"{REFUSE}: the header MUST NOT appear twice",
        request(lambda head: head.add("Sec-WebSocket-Key", head.values("sec-websocket-key")[0])),
        must_refuse("Sec-WebSocket-Key MUST NOT appear more than once"),
    )
    c.add(
        cat,
        f"{R6455} §11.3.1",
        "two Sec-WebSocket-Key headers with different values",
        f"{REFUSE}: the header MUST NOT appear twice",
        request(adding(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="))),
        must_refuse("Sec-WebSocket-Key MUST NOT appear more than once"),
    )
    c.add(
        cat,
        s,
        "two keys in one header (key, key)",
        REFUSE,
        request(lambda head: head.set("Sec-WebSocket-Key", _twice(head))),
        must_refuse("a list of two keys is no key"),
    )
    c.add(
        cat,
        "RFC 4648 §3.5",
        "a key whose padding bits are not zero",
        "refuses it; a lenient decoder reads 16 bytes",
        request(setting("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==")),
        either("the key is not canonical base64 (its pad bits are set)", accepted=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9110} §5.5",
        "spaces around the key",
        f"{ACCEPT}, the accept computed over the key without them",
        request(lambda head: head.set("Sec-WebSocket-Key", f"  {head.key()}  ")),
        must_accept("OWS around a value is not part of it", refused=NON_STRICT),
    )
    c.add(
        cat,
        f"{R9110} §5.5",
        "a tab before the key",
        f"{ACCEPT}, the accept computed over the key without it",
        request(lambda head: head.set("Sec-WebSocket-Key", f"\t{head.key()}")),
        must_accept("OWS around a value is not part of it", refused=NON_STRICT),
    )
    c.add(
        cat,
        s,
        "the example key of RFC 6455 §1.3",
        f"{ACCEPT} with s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        request(setting("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")),
        must_accept("a valid key"),
    )
    c.add(
        cat,
        s,
        "a key of 16 zero bytes",
        ACCEPT,
        request(setting("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")),
        must_accept("any 16 bytes are a valid key"),
    )
    c.add(
        cat,
        s,
        "a key of 10 KiB",
        f"{REFUSE} (or 431)",
        request(setting("Sec-WebSocket-Key", "QUFB" * 2560)),
        must_refuse("the key must be the base64 encoding of 16 bytes"),
    )


def _twice(head: Head) -> str:
    key = head.key()
    return f"{key}, {key}"


def _version(c: Catalogue) -> None:
    cat = "version"
    s = f"{R6455} §4.2.2"
    c.add(
        cat,
        f"{R6455} §4.2.1",
        "no Sec-WebSocket-Version",
        "refuses it (400, or 426 with Sec-WebSocket-Version: 13)",
        request(removing("Sec-WebSocket-Version")),
        must_refuse("the handshake needs Sec-WebSocket-Version: 13"),
    )
    for value in ("8", "14", "7", "0", "12", "abc", "013", "+13", "13.0", "99999999999999999999"):
        numeric = (value.isdigit() and not value.startswith("0")) or value == "0"
        c.add(
            cat,
            f"{R6455} §4.4" if numeric else s,
            f"Sec-WebSocket-Version: {value}",
            "refuses it with 426 and Sec-WebSocket-Version: 13",
            request(setting("Sec-WebSocket-Version", value)),
            version_426(f"{value!r} is not 13", must=numeric, value=value),
        )
    for value in ("13, 8", "8, 13", "13, 13"):
        c.add(
            cat,
            f"{R6455} §11.3.5",
            f"Sec-WebSocket-Version: {value} (a list)",
            "refuses it with 426 and Sec-WebSocket-Version: 13",
            request(setting("Sec-WebSocket-Version", value)),
            version_426("the version is one number, not a list"),
        )
    for values in (("13", "13"), ("13", "8")):
        c.add(
            cat,
            f"{R6455} §11.3.5",
            f"two Sec-WebSocket-Version headers ({values[0]} and {values[1]})",
            "refuses it with 426 and Sec-WebSocket-Version: 13",
            request(adding(("Sec-WebSocket-Version", values[1]))),
            version_426("Sec-WebSocket-Version MUST NOT appear more than once"),
        )
    c.add(
        cat,
        f"{R9110} §5.5",
        "Sec-WebSocket-Version: 13 with spaces around it",
        f"{ACCEPT}: OWS is not part of the value",
        request(setting("Sec-WebSocket-Version", " 13 ")),
        must_accept("OWS around a value is not part of it"),
    )


def version_426(why: str, *, must: bool = False, value: str = "") -> Judge:
    """The answer to a version the server does not speak (RFC 6455 §4.2.2, §4.4): a refusal
    with a Sec-WebSocket-Version header naming 13 (426 is the example status). For a version
    number (`must`), a refusal without that header is FAILED: "it MUST respond with a
    |Sec-WebSocket-Version| header field" (§4.4); for a value that is no version, or a list,
    NON-STRICT. Upgrading is FAILED, except for 7 and 8 (the hybi drafts, which a server may
    still speak: INFORMATIONAL) and for a value a lenient number parse reads as 13 ('013',
    '+13', '13.0': NON-STRICT)."""

    def judge(observed: Observed, request_: Request, server: Server) -> Verdict:
        if observed.upgraded:
            if value in DRAFT_VERSIONS:
                return Verdict(INFORMATIONAL, f"upgraded: it speaks version {value} (a hybi draft)")
            if value in LENIENT_13:
                return Verdict(NON_STRICT, f"upgraded: it reads {value!r} as 13, leniently")
            return Verdict(FAILED, f"upgraded, though {why}")
        versions = [
            v.strip() for v in ",".join(observed.values("sec-websocket-version")).split(",")
        ]
        if observed.answered and "13" in versions:
            return Verdict(
                OK, f"refused with {observed.status} and Sec-WebSocket-Version naming 13: {why}"
            )
        if observed.answered:
            return Verdict(
                FAILED if must else NON_STRICT,
                f"refused with {observed.status} but no Sec-WebSocket-Version naming 13"
                f" ({why}; §4.2.2 and §4.4 want the versions the server speaks)",
            )
        return Verdict(NON_STRICT, f"closed the connection without an HTTP answer: {why}")

    return judge


DRAFT_VERSIONS = ("7", "8")
LENIENT_13 = ("013", "+13", "13.0")


def register(c: Catalogue) -> None:
    _request_line(c)
    _host(c)
    _upgrade(c)
    _key(c)
    _version(c)

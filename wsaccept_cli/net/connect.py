"""The connection a probe sends its handshake over: which address, through which proxy, with
which TLS. Network code only: it records what it did and never prints.

- Addresses: `--connect-to` and `--resolve` (core.pins) before DNS; `-4`/`-6` keep one family;
  every address is tried in turn, each with an equal share of the time left.
- Proxies (core.proxyenv chooses one): `http://` and `https://` (TLS to the proxy) open a
  tunnel with CONNECT (RFC 9110 §9.3.6), for ws:// as for wss://, as the websockets library and
  browsers do; `socks4`, `socks4a`, `socks5`, `socks5h` go through python-socks (imported only
  then). A proxy that cannot be reached or refuses is the outcome `proxy_failed`, with its
  status and `Proxy-Authenticate` scheme, or the SOCKS error.
- TLS: SNI and certificate checks (unless --insecure), a client certificate (--cert/--key), and
  a summary of the session and of the server's certificate for the report.

Every wait is bounded by the probe's one Deadline.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from wsaccept_cli.core.answered import cannot_be_http, not_http, not_http_message
from wsaccept_cli.core.exchange import head_lines
from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.pins import Pins
from wsaccept_cli.core.proxyenv import ProxyChoice, ProxyURL
from wsaccept_cli.core.wording import quoted
from wsaccept_cli.net import cooperative

MAX_PROXY_HEAD = 16 * 1024
MAX_PROXY_LINE_CHECKED = 1024  # of the first line, while reading: enough to tell HTTP from not
EXPIRY_WARNING_DAYS = 14


class ProbeError(Exception):
    """How a probe ended early: an outcome and a sentence."""

    def __init__(self, outcome: ProbeOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


# How far past the deadline a socket's timeout may end a wait before it is set again: a
# hundredth of the whole timeout (0.1 s of the usual 10), and never less than 5 ms.
TIMEOUT_SLACK = 0.01
MIN_TIMEOUT_SLACK = 0.005


class Deadline:
    """One timeout for the whole probe, handed out as what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def bound(self, connection: socket.socket) -> None:
        """Make the next blocking call on `connection` wait no longer than what is left
        (TimeoutError when nothing is), give or take TIMEOUT_SLACK: a timeout set a moment ago
        for this deadline is kept. Each settimeout is a system call that lets go of the GIL,
        and a probe's calls come milliseconds apart: setting it before each one handed the
        GIL round the other probes' threads eight times a probe."""
        left = self.left()
        current = connection.gettimeout()
        slack = max(self.seconds * TIMEOUT_SLACK, MIN_TIMEOUT_SLACK)
        if current is None or not left <= current <= left + slack:
            connection.settimeout(left)


def waiting(connection: socket.socket, size: int) -> bytes | None:
    """What has come on `connection` and not yet been read, at most `size` bytes, without
    waiting: None when nothing has, b"" when the peer has closed; OSError (a reset) is the
    caller's. A plain socket with a timeout is non-blocking underneath, so it is read as it is
    (its recv would first wait out the timeout for data); anything else (TLS, a recording
    socket) is read with a timeout of 0, then given back its own."""
    if type(connection) is socket.socket and connection.gettimeout() is not None:
        try:
            return os.read(connection.fileno(), size)
        except BlockingIOError:
            return None
    timeout = connection.gettimeout()
    try:
        connection.settimeout(0.0)
        return connection.recv(size)
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    finally:
        connection.settimeout(timeout)


# What the probe is doing, as it happens, for a person watching: an event name ("resolving",
# "connecting", "connected", "tls", "tls_done", "sent", "waiting", "received", ...) and its
# detail (a host, an address, a TLS version, a byte count). The ui decides whether and how to
# show it; an event it does not know is shown as its name and detail.
Progress = Callable[[str, str], None]


def no_progress(event: str, detail: str) -> None:
    """Progress nobody watches."""


class Route:
    """How to reach a server: pinned addresses, an address family, a proxy, TLS settings.

    `family` is 0 (any), 4 or 6; `proxy` None means directly (core.proxyenv said why)."""

    def __init__(
        self,
        *,
        pins: Pins | None = None,
        family: int = 0,
        proxy: ProxyChoice | None = None,
        insecure: bool = False,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        alpn: tuple[str, ...] = ("http/1.1",),
    ) -> None:
        self.pins = pins or Pins([], [])
        self.family = family
        self.proxy = proxy
        self.insecure = insecure
        self.cacert = cacert
        self.cert = cert
        self.key = key
        self.alpn = alpn
        self.progress: Progress = no_progress


class Connected:
    """What the connection layer records for the report: where it connected, through what,
    the TLS session, and how long each step took."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.pinned: list[str] = []  # the --connect-to / --resolve entries that applied
        self.proxy: dict[str, Any] | None = None
        self.tls: dict[str, Any] | None = None
        self.tls_stalled: int | None = None  # bytes of a TLS handshake that timed out
        self.timings: dict[str, float | None] = {
            "connect_ms": None,
            "tls_ms": None,
            "first_byte_ms": None,
            "total_ms": None,
        }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def open_connection(
    target: Any, route: Route, deadline: Deadline, record: Connected, started: float
) -> socket.socket:
    """A connection to `target` (a core.request.RequestTarget) ready for the handshake: TCP,
    through the proxy if any, then TLS for wss://."""
    host, port, connect_to = route.pins.destination(target.host, target.port)
    if connect_to is not None:
        record.pinned.append(f"--connect-to {connect_to}")
    choice = route.proxy
    if choice is not None and choice.proxy is not None:
        connection = _through_proxy(choice, host, port, target, route, deadline, record, started)
    else:
        connection = connect_tcp(host, port, route, deadline, record, target.host_problem)
        record.timings["connect_ms"] = ms(time.monotonic() - started)
    if target.secure:
        connection = start_tls(connection, target.host, route, deadline, record)
    return connection


def _escaped(text: str) -> str:
    """`text`, or when it holds something that cannot be printed (a lone surrogate from an
    undecodable argument, a control character) its escaped form, for a message about a name."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def show_address(address: tuple[str, int]) -> str:
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve(
    host: str,
    port: int,
    route: Route,
    deadline: Deadline,
    record: Connected,
    problem: str | None = None,
) -> list[tuple[int, tuple[str, int]]]:
    """The addresses of `host`, pinned by --resolve or in the resolver's order, of the family
    -4/-6 asks for, within the deadline.

    A host that is no DNS name (an empty label, one over 63 bytes: `problem`) fails here
    without a lookup, as a browser's does; one that the resolver's IDNA step refuses anyway
    (getaddrinfo raises UnicodeError, a ValueError, in its thread) fails the same way rather
    than as a traceback from the thread and a wait for the timeout."""
    pinned = route.pins.addresses(host, port)
    if pinned is not None:
        record.pinned.append(f"--resolve {pinned[1]}")
        found = [(_family_of(a), (a, port)) for a in pinned[0]]
        return _of_family(found, route.family, host, "--resolve gives")
    if problem is not None:
        raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot resolve {host}: {problem}")
    literal = _literal(host, route.family)
    if literal is not None:
        return [(literal[0], (literal[1], port))]
    answer: list[object] = []
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(route.family, socket.AF_UNSPEC)

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))
        except (OSError, ValueError) as error:  # ValueError: a name IDNA cannot encode
            answer.append(error)

    hub = cooperative.current()
    finished = cooperative.Finished() if hub is not None else None

    def looked_up() -> None:
        try:
            lookup()
        finally:
            if finished is not None:
                finished.set()

    worker = threading.Thread(target=looked_up, daemon=True)
    worker.start()
    if hub is not None and finished is not None:  # waited for on the loop, not in its thread
        finished.wait(hub, deadline.left())
    else:
        worker.join(deadline.left())
    if not answer:
        raise TimeoutError
    result = answer[0]
    if isinstance(result, OSError):
        reason = result.strerror if isinstance(result, socket.gaierror) else str(result)
        ask = f" (IPv{route.family} only)" if route.family else ""
        raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot resolve {host}{ask}: {reason}")
    if isinstance(result, ValueError):  # a label over 63 characters, an empty one, a bad character
        detail = str(result).rpartition("UnicodeError: ")[2].rstrip(")") or "not a host name"
        raise ProbeError(
            ProbeOutcome.CONNECT_FAILED,
            f"cannot resolve {_escaped(host)}: not a valid host name ({_escaped(detail)})",
        )
    assert isinstance(result, list)
    return [(fam, address[:2]) for fam, _, _, _, address in result]


def _literal(host: str, family: int) -> tuple[int, str] | None:
    """An IPv4 or IPv6 address written out (as inet_pton reads it) of the family asked for,
    as getaddrinfo would give it back: no lookup, so no resolver thread (`probe --file` over
    many `ws://127.0.0.1:…` URLs started one a probe). Anything else is the resolver's."""
    for kind, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            packed = socket.inet_pton(kind, host)
        except (OSError, ValueError):  # ValueError: a NUL in the host
            continue
        return (kind, socket.inet_ntop(kind, packed)) if family in (0, version) else None
    return None


def _family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _of_family(
    found: list[tuple[int, tuple[str, int]]], family: int, host: str, how: str
) -> list[tuple[int, tuple[str, int]]]:
    wanted = {4: socket.AF_INET, 6: socket.AF_INET6}.get(family)
    kept = [entry for entry in found if wanted is None or entry[0] == wanted]
    if not kept:
        raise ProbeError(
            ProbeOutcome.CONNECT_FAILED, f"{how} no IPv{family} address for {host} (-{family})"
        )
    return kept


def connect_tcp(
    host: str,
    port: int,
    route: Route,
    deadline: Deadline,
    record: Connected,
    problem: str | None = None,
    outcome: ProbeOutcome = ProbeOutcome.CONNECT_FAILED,
    what: str = "",
) -> socket.socket:
    """A TCP connection to the first address that takes one, as clients try them in turn.

    Each address gets an equal share of the time left, so one that swallows packets does not
    use up the time of the ones after it."""
    failures = []
    # On a probe loop, a socket whose waits are the loop's (net.cooperative)
    make_socket = cooperative.CoopSocket if cooperative.current() else socket.socket
    route.progress("resolving", host)
    addresses = resolve(host, port, route, deadline, record, problem)
    for index, (family, address) in enumerate(addresses):
        route.progress("connecting", show_address(address))
        connection = make_socket(family, socket.SOCK_STREAM)
        connection.settimeout(deadline.left() / (len(addresses) - index))
        try:
            connection.connect(address)
        except TimeoutError:
            connection.close()
            if index == len(addresses) - 1:
                raise
            failures.append(f"{show_address(address)}: timed out")
            continue
        except OSError as error:
            connection.close()
            failures.append(f"{show_address(address)}: {error.strerror or error}")
            continue
        record.address = show_address(address)
        route.progress("connected", record.address)
        return connection
    raise ProbeError(outcome, f"cannot connect to {what}{'; '.join(failures)}")


def _through_proxy(
    choice: ProxyChoice,
    host: str,
    port: int,
    target: Any,
    route: Route,
    deadline: Deadline,
    record: Connected,
    started: float,
) -> socket.socket:
    """A tunnel to `host`:`port` through the chosen proxy."""
    proxy = choice.proxy
    assert proxy is not None
    record.proxy = {**choice.as_dict(), "status": None}
    pinned = route.pins.addresses(host, port)
    if pinned is not None:  # the pinned backend, not whatever the proxy would resolve
        record.pinned.append(f"--resolve {pinned[1]}")
        host = pinned[0][0]
    elif target.host_problem is not None and host == target.host:
        problem = target.host_problem
        raise ProbeError(ProbeOutcome.CONNECT_FAILED, f"cannot resolve {host}: {problem}")
    if proxy.scheme.startswith("socks"):
        connection = _socks(proxy, host, port, route, deadline, record)
    else:
        connection = _connect_tunnel(proxy, host, port, route, deadline, record)
    record.timings["connect_ms"] = ms(time.monotonic() - started)
    return connection


def _connect_tunnel(
    proxy: ProxyURL, host: str, port: int, route: Route, deadline: Deadline, record: Connected
) -> socket.socket:
    """CONNECT host:port through an http:// or https:// proxy; its answer must be 2xx."""
    proxy_record = Connected()
    proxy_route = Route(family=route.family, insecure=route.insecure, cacert=route.cacert)
    try:
        connection = connect_tcp(
            proxy.host, proxy.port, proxy_route, deadline, proxy_record,
            outcome=ProbeOutcome.PROXY_FAILED, what="the proxy at ",
        )  # fmt: skip
    except ProbeError as error:
        raise ProbeError(ProbeOutcome.PROXY_FAILED, f"{error.message} (the proxy)") from None
    assert record.proxy is not None
    record.address = record.proxy["address"] = proxy_record.address
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if proxy.scheme == "https":
            try:
                connection = start_tls(connection, proxy.host, proxy_route, deadline, proxy_record)
            except ProbeError as error:
                raise ProbeError(
                    ProbeOutcome.PROXY_FAILED,
                    f"TLS with the proxy {proxy.display}: {error.message}",
                ) from None
            record.proxy["tls"] = proxy_record.tls
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        credentials = proxy.basic_credentials()
        if credentials is not None:
            lines.append(f"Proxy-Authorization: {credentials}")
        send_all(connection, ("\r\n".join([*lines, "", ""])).encode("utf-8"), deadline)
        head = _read_proxy_head(connection, deadline)
    except ssl.SSLError as error:
        connection.close()
        raise ProbeError(
            ProbeOutcome.PROXY_FAILED, f"TLS with the proxy {proxy.display} failed: {error.reason}"
        ) from None
    except OSError as error:
        connection.close()
        if isinstance(error, TimeoutError):
            raise ProbeError(
                ProbeOutcome.TIMEOUT,
                f"the proxy {proxy.display} did not answer CONNECT {authority} in time",
            ) from None
        raise ProbeError(
            ProbeOutcome.PROXY_FAILED,
            f"the proxy {proxy.display} broke the connection: {error.strerror or error}",
        ) from None
    _check_proxy_answer(head, proxy, authority, record, connection)
    return connection


def _read_proxy_head(connection: socket.socket, deadline: Deadline) -> bytes:
    """The proxy's answer head, up to its blank line (CR LF or bare LF endings) and at most
    MAX_PROXY_HEAD bytes; byte by byte, since what follows the head is the server's."""
    data = bytearray()
    while not data.endswith((b"\r\n\r\n", b"\n\n")) and len(data) < MAX_PROXY_HEAD:
        deadline.bound(connection)
        chunk = connection.recv(1)
        if not chunk:
            break
        data += chunk
        if cannot_be_http(data[:MAX_PROXY_LINE_CHECKED]):  # what came with it, to show it
            connection.settimeout(0.0)  # only what already came (TLS too)
            with contextlib.suppress(OSError):
                data += connection.recv(MAX_PROXY_LINE_CHECKED)
            break
    return bytes(data)


def _check_proxy_answer(
    head: bytes, proxy: ProxyURL, authority: str, record: Connected, connection: socket.socket
) -> None:
    _check_proxy_head(head, proxy, authority, connection)
    lines = head_lines(head)
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    assert record.proxy is not None
    record.proxy["status"] = status
    record.proxy["response"] = [line for line in lines if line]
    if status is not None and 200 <= status < 300:
        return
    connection.close()
    if status is None:
        said = (
            f"answered {quoted(lines[0][:80])}"
            if head
            else "closed the connection without answering"
        )
        raise ProbeError(
            ProbeOutcome.PROXY_FAILED, f"the proxy {proxy.display} {said} to CONNECT {authority}"
        )
    reason = parts[2] if len(parts) > 2 else ""
    message = f"the proxy {proxy.display} refused CONNECT {authority}: {status} {reason}".rstrip()
    challenges = [
        line.split(":", 1)[1].strip()
        for line in lines[1:]
        if line.lower().startswith(("proxy-authenticate:", "www-authenticate:"))
    ]
    if status in (401, 407):  # tinyproxy answers 401 to wrong credentials
        schemes = ", ".join(c.split(" ", 1)[0] for c in challenges) or "none named"
        sent = "the credentials in the proxy URL were refused" if proxy.user else (
            "give them in the proxy URL: http://USER:PASSWORD@HOST:PORT")  # fmt: skip
        message += f" (Proxy-Authenticate: {schemes}; {sent}; RFC 9110 §11.7.1)"
    elif status in (403, 405):
        message += " (the proxy does not allow a tunnel to this host or port)"
    elif status in (502, 503, 504):
        message += " (the proxy could not reach the server)"
    raise ProbeError(ProbeOutcome.PROXY_FAILED, message)


def _check_proxy_head(
    head: bytes, proxy: ProxyURL, authority: str, connection: socket.socket
) -> None:
    """A proxy's answer that is no HTTP, or no whole head (over MAX_PROXY_HEAD, or cut off by
    a close), is a failed proxy: what followed it would be taken for the server's answer."""
    problem = None
    if (what := not_http(head)) is not None:
        problem = not_http_message(what, f"the proxy {proxy.display}")
    elif head and not head.endswith((b"\r\n\r\n", b"\n\n")):
        why = (
            f"is over {MAX_PROXY_HEAD // 1024} KiB"
            if len(head) >= MAX_PROXY_HEAD
            else f"ended after {len(head)} bytes"
        )
        problem = (
            f"the proxy {proxy.display}'s answer to CONNECT {authority} {why}, before the end"
            " of its head; nothing after it can be read as the server's answer"
        )
    if problem is not None:
        connection.close()
        raise ProbeError(ProbeOutcome.PROXY_FAILED, problem)


def _socks(
    proxy: ProxyURL, host: str, port: int, route: Route, deadline: Deadline, record: Connected
) -> socket.socket:
    """A SOCKS tunnel: our own TCP connection to the proxy (bounded like every connection),
    then python-socks's SOCKS4 or SOCKS5 exchange over it; for socks4/socks5 the name is
    resolved here first."""
    if not proxy.remote_dns:
        _, address = resolve(host, port, route, deadline, Connected())[0]
        host = address[0]
    assert record.proxy is not None
    record.proxy["address"] = show_address((proxy.host, proxy.port))
    connection = connect_tcp(
        proxy.host, proxy.port, Route(family=route.family), deadline, Connected(),
        outcome=ProbeOutcome.PROXY_FAILED, what=f"the proxy {proxy.display} at ",
    )  # fmt: skip
    try:
        _socks_over(connection, proxy, host, port, deadline)
    except BaseException:
        connection.close()
        raise
    record.address = record.proxy["address"]
    return connection


class _DeadlineStream:
    """The stream python-socks reads and writes: each recv and send may take only what is left
    of the deadline, so a proxy that drips its reply cannot stretch the exchange past
    --timeout (a timeout per read would let it)."""

    def __init__(self, connection: socket.socket, deadline: Deadline) -> None:
        self.connection, self.deadline = connection, deadline

    def write(self, data: bytes) -> None:
        send_all(self.connection, data, self.deadline)

    def read(self, max_bytes: int = 65536) -> bytes:
        self.deadline.bound(self.connection)
        return self.connection.recv(max_bytes)

    def read_exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            packet = self.read(n - len(data))
            if not packet:
                raise _SocksClosedError(len(data), n)
            data += packet
        return bytes(data)

    def close(self) -> None:
        pass  # the caller closes the connection


class _SocksClosedError(Exception):
    """The proxy closed the connection in the middle of a reply."""

    def __init__(self, got: int, wanted: int) -> None:
        super().__init__(f"it closed the connection after {got} of {wanted} reply bytes")


# python-socks (3.x) words a reply it cannot read so (its refusals carry the reply's code, or
# name the login that failed): _protocols/socks4.py, socks5.py.
_MALFORMED = ("Unexpected", "Malformed", "Invalid", "Empty", "The reserved")


def _socks_over(
    connection: socket.socket, proxy: ProxyURL, host: str, port: int, deadline: Deadline
) -> None:
    """The SOCKS exchange over `connection`. A refusal, and any reply python-socks cannot
    read (short, a wrong version, a bad address type, a domain that is not UTF-8, an absurd
    length), is a ProbeError naming the proxy and what was wrong; never a traceback."""
    from python_socks import ProxyType
    from python_socks._connectors.factory_sync import create_connector
    from python_socks._protocols.errors import ReplyError
    from python_socks.sync._resolver import SyncResolver

    kind = ProxyType.SOCKS5 if proxy.scheme.startswith("socks5") else ProxyType.SOCKS4
    connector = create_connector(
        proxy_type=kind, username=proxy.user, password=proxy.password,
        rdns=proxy.remote_dns, resolver=SyncResolver(),
    )  # fmt: skip
    refused = (
        f"the SOCKS proxy {proxy.display} refused the connection to {show_address((host, port))}"
    )
    try:
        connector.connect(stream=_DeadlineStream(connection, deadline), host=host, port=port)  # type: ignore[arg-type]
    except ReplyError as error:
        if error.error_code is None and str(error).startswith(_MALFORMED):
            raise ProbeError(
                ProbeOutcome.PROXY_FAILED,
                f"the SOCKS proxy {proxy.display} sent a malformed SOCKS reply: {error}",
            ) from None
        raise ProbeError(ProbeOutcome.PROXY_FAILED, f"{refused}: {error}") from None
    except _SocksClosedError as error:  # as pproxy refuses a login
        raise ProbeError(ProbeOutcome.PROXY_FAILED, f"{refused}: {error}") from None
    except (TimeoutError, ProbeError):
        raise
    except OSError as error:
        raise ProbeError(
            ProbeOutcome.PROXY_FAILED,
            f"the SOCKS proxy {proxy.display} broke the connection: {error.strerror or error}",
        ) from None
    except Exception as error:  # a reply python-socks could not read: the proxy's fault
        raise ProbeError(
            ProbeOutcome.PROXY_FAILED,
            f"the SOCKS proxy {proxy.display} sent a malformed SOCKS reply"
            f" ({type(error).__name__}: {error})",
        ) from None


def tls_context(route: Route) -> ssl.SSLContext:
    """The client's TLS context: --cacert, --insecure, --cert/--key, ALPN."""
    try:
        context = ssl.create_default_context(cafile=route.cacert)
    except (OSError, ssl.SSLError) as error:
        raise ProbeError(
            ProbeOutcome.TLS_FAILED, f"cannot load --cacert {route.cacert}: {error}"
        ) from None
    if route.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if route.cert is not None:  # checked before connecting (cli.probe_settings)
        context.load_cert_chain(route.cert, route.key)
    if route.alpn:
        context.set_alpn_protocols(list(route.alpn))
    return context


def start_tls(
    connection: socket.socket, host: str, route: Route, deadline: Deadline, record: Connected
) -> socket.socket:
    """TLS with SNI and certificate checks (unless --insecure), a client certificate if given;
    the session and the server's certificate summed up in `record.tls`."""
    context = tls_context(route)
    began = time.monotonic()
    connection.settimeout(deadline.left())
    route.progress("tls", host)
    secure = context.wrap_socket(connection, server_hostname=host, do_handshake_on_connect=False)
    try:
        secure.do_handshake()
    except ssl.SSLCertVerificationError as error:
        secure.close()
        raise ProbeError(
            ProbeOutcome.TLS_FAILED,
            f"the server's certificate was refused: {error.verify_message or error.reason}"
            f"{_leaf_hint(route.cacert)}",
        ) from None
    except ssl.SSLError as error:
        secure.close()
        raise ProbeError(ProbeOutcome.TLS_FAILED, tls_failure(error, route)) from None
    except TimeoutError:  # how much of its side of the handshake the server sent, for the report
        record.tls_stalled = bytes_received(secure)
        secure.close()
        raise
    except OSError:
        secure.close()
        raise
    record.timings["tls_ms"] = ms(time.monotonic() - began)
    record.tls = tls_summary(secure, route)
    route.progress("tls_done", secure.version() or "TLS")
    return secure


def bytes_received(connection: socket.socket) -> int:
    """The bytes the kernel received on a TCP connection (Linux TCP_INFO, tcpi_bytes_received at
    offset 128 of struct tcp_info since Linux 4.1); 0 where that cannot be known."""
    import struct

    try:
        info = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return 0
    return int(struct.unpack_from("Q", info, 128)[0]) if len(info) >= 136 else 0


_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)
_BASIC_CONSTRAINTS = b"\x06\x03\x55\x1d\x13"  # the OID 2.5.29.19, DER-encoded
_TRUE = b"\x01\x01\xff"  # BOOLEAN TRUE


def _leaf_hint(cacert: str | None) -> str:
    """Why a --cacert did not help, when it can tell: a file of server (leaf) certificates,
    none a CA, which OpenSSL does not take as an anchor of the server's chain."""
    usual = " (--cacert FILE trusts a private CA; -k/--insecure skips the check)"
    if cacert is None:
        return usual
    try:
        with open(cacert, "rb") as file:
            pem = file.read(1024 * 1024)
        blocks = [base64.b64decode(block) for block in _CERTIFICATE.findall(pem)]
    except (OSError, ValueError):  # gone since, or a block that is not base64
        return usual
    if not blocks or any(_is_ca(der) for der in blocks):
        return usual
    return (
        f" (--cacert {cacert} holds a server certificate, not a CA's: give the certificate of"
        " the CA that issued the server's)"
    )


def _is_ca(der: bytes) -> bool:
    """Whether a DER certificate says it is a CA (basicConstraints cA TRUE, RFC 5280
    §4.2.1.9); one without basicConstraints (an old v1 root), or one this short reading of
    DER cannot follow, counts as one."""
    index = der.find(_BASIC_CONSTRAINTS)
    if index < 0:
        return True
    index += len(_BASIC_CONSTRAINTS)
    if der[index : index + 3] == _TRUE:  # the extension is critical
        index += 3
    if der[index : index + 1] != b"\x04" or der[index + 2 : index + 3] != b"\x30":
        return True  # not OCTET STRING { SEQUENCE ... } with short lengths
    return der[index + 4 : index + 7] == _TRUE  # the SEQUENCE starts with cA TRUE


# What OpenSSL says when the server answers a ClientHello in plain text (an HTTP 400).
_PLAIN_REPLY_REASONS = frozenset(
    ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"]
)


def tls_failure(error: ssl.SSLError, route: Route) -> str:
    """What a TLS error means, with the hint for a server that wants a client certificate."""
    reason = str(error.reason or error)
    message = f"TLS failed: {reason}"
    if error.reason in _PLAIN_REPLY_REASONS:
        message += (
            " (the server answered in plain text, not TLS: it speaks plain HTTP on this port,"
            " so try a ws:// URL)"
        )
    elif "UNEXPECTED_EOF" in reason or "EOF occurred" in reason:
        message += (
            " (the server closed the connection without a TLS answer: it probably does not"
            " speak TLS on this port, so try a ws:// URL, or it refused this TLS hello)"
        )
    elif "CERTIFICATE_REQUIRED" in reason or ("HANDSHAKE_FAILURE" in reason and not route.cert):
        message += " (the server may require a client certificate: --cert FILE --key FILE)"
    elif "UNKNOWN_CA" in reason or "BAD_CERTIFICATE" in reason:
        message += " (the server refused the client certificate given with --cert)"
    return message


def tls_summary(secure: ssl.SSLSocket, route: Route) -> dict[str, Any]:
    cipher = secure.cipher()
    summary: dict[str, Any] = {
        "version": secure.version(),
        "cipher": cipher[0] if cipher else None,
        "alpn": secure.selected_alpn_protocol(),
        "client_certificate": route.cert is not None,
        "verified": not route.insecure,
        "subject": None,
        "issuer": None,
        "not_after": None,
        "days_left": None,
    }
    peer = secure.getpeercert()
    if peer:
        summary["subject"] = _name(peer.get("subject", ()))
        summary["issuer"] = _name(peer.get("issuer", ()))
        not_after = peer.get("notAfter")
        if isinstance(not_after, str):
            summary["not_after"] = not_after
            summary["days_left"] = int((ssl.cert_time_to_seconds(not_after) - time.time()) // 86400)
    return summary


def _name(name: Any) -> str:
    """An X.509 name as `CN=example.com, O=Example`."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
             "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST"}  # fmt: skip
    parts = [f"{short.get(key, key)}={value}" for rdn in name for key, value in rdn]
    return ", ".join(parts)


def send_all(connection: socket.socket, data: bytes, deadline: Deadline) -> None:
    """sendall() within the deadline: over TLS, sendall() gives each record the whole timeout
    again, so a server that reads slowly could stretch it; here each piece gets what is left."""
    with memoryview(data) as view:
        sent = 0
        while sent < len(view):
            deadline.bound(connection)
            sent += connection.send(view[sent:])

"""`wsaccept serve --upstream URL`: a relay that checks both sides of each handshake.

The client's request goes to the upstream with two lines changed so that the upstream sees a
request for itself, as a reverse proxy sends it: the request target (when the upstream URL has a
path) and Host; and a Via added, by which a request that comes back (a relay loop) is refused.
Everything else, the key included, is forwarded as it came, so the upstream's
Sec-WebSocket-Accept is checked against the client's own key. The upstream's response head is
forwarded unchanged, then the bytes of both directions, frames included, byte for byte.
Network code only: the findings go to the callback, nothing is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsaccept_cli.core.answered import not_http_message
from wsaccept_cli.net.heads import HeadError, NotHTTPError, parse_head, read_head, send

if TYPE_CHECKING:
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.core.served import ServedConnection
    from wsaccept_cli.net.frames import RelayWatch

RELAY_SIZE = 64 * 1024
# This relay's name in the Via header it adds (RFC 9110 §7.6.3): a request that comes back with
# it went round a loop of relays (RFC 5842 §7.2: 508 Loop Detected).
VIA_ME = f"wsaccept-{os.getpid()}-{secrets.token_hex(4)}"


def rewrite_request(head: bytes, path: str | None, host: str) -> bytes:
    """The client's head with the request target replaced by `path` (if given), exactly one
    Host header, the upstream's, and our Via right after the request line: every Host line of
    the client's is dropped with its continuation lines (obsolete folding, RFC 9112 §5.2), and
    one is added when the client sent none. Every other byte as it came."""
    lines = head.split(b"\n")
    ending = b"\r" if lines[0].endswith(b"\r") else b""
    if path is not None:
        method, _, rest = lines[0].partition(b" ")
        _target, _, version = rest.partition(b" ")
        lines[0] = b" ".join([method, path.encode("ascii"), version])
    # a continuation line first (folding nothing) would fold into our Host: dropped too
    kept, in_host = [lines[0], b"Host: " + host.encode("ascii") + ending], True
    kept.append(b"Via: 1.1 " + VIA_ME.encode("ascii") + ending)  # RFC 9110 §7.6.3
    for line in lines[1:]:
        if in_host and line[:1] in (b" ", b"\t"):
            continue  # a continuation of a Host line
        name, colon, _ = line.partition(b":")
        in_host = bool(colon) and name.strip().lower() == b"host"
        if not in_host:
            kept.append(line)
    return b"\n".join(kept)


async def relay(
    connection: ServedConnection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    rest: bytes,
    upstream: tuple[RequestTarget, ssl.SSLContext | None, float],
    report: Callable[[ServedConnection], None],
    grace: float = 1.0,
) -> None:
    """Forward one client's handshake to the upstream (its URL, TLS context and the time its
    answer may take), check it, relay its frames both ways; with a frame fault, its frames
    go to the client after the upstream's 101 and the client's answer is judged on its way."""
    target, tls, head_timeout = upstream
    connection.upstream = target.display_url
    if any(
        VIA_ME in value
        for value in (connection.request.values("via") if connection.request else [])
    ):
        connection.upstream_error = (
            f"a relay loop: the request came back to this relay (its Via holds {VIA_ME}), so"
            f" the upstream {target.display_url} leads back here"
        )
        report(connection)
        await send(writer, _bad_gateway(connection.upstream_error, 508, "Loop Detected"))
        return
    try:
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(
                target.host,
                target.port,
                ssl=tls if target.secure else None,
                server_hostname=target.host if target.secure else None,
            ),
            head_timeout,
        )
    except (OSError, asyncio.TimeoutError, TimeoutError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or str(error) or "timed out"
        connection.upstream_error = f"cannot connect to the upstream {target.display_url}: {reason}"
        report(connection)
        await send(writer, _bad_gateway(connection.upstream_error))
        return
    try:
        path = target.path if target.path != "/" else None
        forwarded = rewrite_request(connection.request_bytes, path, target.host_header)
        up_writer.write(forwarded + rest)
        try:
            head, body = await read_head(up_reader, head_timeout, answer_to=forwarded)
        except NotHTTPError as error:
            connection.upstream_error = not_http_message(str(error), "the upstream")
        except HeadError as error:
            connection.upstream_error = f"the upstream sent no response: {error}"
        if connection.upstream_error is not None:
            report(connection)
            await send(writer, _bad_gateway(connection.upstream_error))
            return
        connection.response_bytes = head
        connection.response = parse_head(head, "response")
        writer.write(head + body)
        watch = _frame_fault(connection, writer, grace, report)
        if watch is None:
            report(connection)
        connection.received += len(body)
        await _pipe_both(connection, reader, writer, up_reader, up_writer, watch)
    finally:
        up_writer.close()


def _frame_fault(
    connection: ServedConnection,
    writer: asyncio.StreamWriter,
    grace: float,
    report: Callable[[ServedConnection], None],
) -> RelayWatch | None:
    """The watch of a frame fault after an upgrade, or None (no such fault, or it cannot be
    made in a relay: then why, in `skipped`)."""
    fault = connection.fault
    response = connection.response
    if fault is None or fault.stage != "frame" or response is None or response.status != 101:
        return None
    from wsaccept_cli.net.frames import RelayWatch, relay_skip

    connection.skipped = relay_skip(fault)  # type: ignore[arg-type]
    if connection.skipped is not None:
        return None
    return RelayWatch(connection, writer, grace, report)


async def _pipe_both(
    connection: ServedConnection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    watch: RelayWatch | None = None,
) -> None:
    """Both directions until either side closes; then the other is closed too."""

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, up: bool) -> None:
        try:
            while data := await source.read(RELAY_SIZE):
                if up:
                    connection.sent += len(data)
                    if watch is not None:
                        watch.feed(data)
                else:
                    connection.received += len(data)
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            if sink.can_write_eof() and not sink.is_closing():
                with contextlib.suppress(OSError):
                    sink.write_eof()

    tasks = [
        asyncio.ensure_future(pipe(reader, up_writer, True)),
        asyncio.ensure_future(pipe(up_reader, writer, False)),
    ]
    deadline = asyncio.ensure_future(watch.deadline()) if watch is not None else None
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if watch is not None and tasks[0].done():
            watch.eof()  # the client closed TCP
        await asyncio.wait(tasks, timeout=1.0)  # the other side's last bytes, then close
    finally:
        for task in [*tasks, *([deadline] if deadline else [])]:
            task.cancel()
        if watch is not None:
            watch.finish()


def _bad_gateway(reason: str, status: int = 502, phrase: str = "Bad Gateway") -> bytes:
    body = f"wsaccept relay: {reason}\n"
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()

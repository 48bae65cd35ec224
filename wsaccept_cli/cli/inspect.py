"""inspect: check a captured opening handshake, rule by rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import click

from wsaccept_cli.cli.base import InputError, command, environment, start, stdin_or_usage_error
from wsaccept_cli.cli.options import clients_option, output_options, verbose_option
from wsaccept_cli.fastclick import FilePath
from wsaccept_cli.ui.inputs import open_input

if TYPE_CHECKING:
    from wsaccept_cli.capture import Decryptor
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.ui.session import Session


@command()
@click.argument("capture", required=False, metavar="[FILE|-]", type=FilePath(allow_dash=True))
@click.option(
    "--summary",
    is_flag=True,
    help="Packet captures: one row per connection (like Zeek's websocket.log) and the counts"
    " by outcome and by server, instead of every report.",
)
@click.option(
    "--keylog",
    metavar="FILE",
    type=FilePath(exists=True),
    help="Packet captures: decrypt TLS with this key log (SSLKEYLOGFILE, as browsers, curl,"
    " Python and Node write it), by tshark, which must be on PATH.",
)
@verbose_option
@clients_option
@output_options
@click.pass_context
def inspect(
    ctx: click.Context,
    capture: str | None,
    summary: bool,
    keylog: str | None,
    verbose: bool,
    clients: tuple[str, ...] | None,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Check a captured opening handshake, rule by rule, and explain what is wrong.

    Reads FILE (or stdin) holding a request, a response or both: raw HTTP text (CR LF or LF,
    as from a packet capture's 'follow stream', tcpdump -A, nc, a proxy log, or headers pasted
    from a browser), 'curl -v' output, or a HAR file from browser developer tools (every
    WebSocket entry is checked). Each rule is checked and reported as pass, fail, warn or info
    with its RFC 6455 section; the failures, warnings and notes are shown with a count of every
    rule (-v shows them all). A wrong Sec-WebSocket-Accept is recomputed with known
    implementation bugs to name the one that produced it.

    Exits 0 when no rule fails, 1 when one does, 2 when the input holds no handshake.


    \b
    Examples:
      wsaccept inspect examples/decoded-key-bug.http
      curl -sv --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \\
        -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $(wsaccept genkey)" \\
        http://localhost:8080/ws 2>&1 | wsaccept inspect
      wsaccept inspect -v --format json examples/session.har
    """
    from wsaccept_cli.capture.packets import is_capture_file
    from wsaccept_cli.core.capture import CaptureError, read_capture
    from wsaccept_cli.core.fragments import report_handshake
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.lines import READ_SIZE

    if capture is None:
        stdin_or_usage_error(ctx, "FILE", several=False)
    session = start(ctx, fmt, color, verbose=verbose, clients=clients)
    rendering = session.rendering()
    found = Capture()
    with open_input(environment(ctx), capture) as (read, _name):
        first = read(READ_SIZE)
        if is_capture_file(first):
            decryptor = decryption(capture, keylog)
            inspect_packets(ctx, session, read, first, summary=summary, decryptor=decryptor)
        for option, value in (("--summary", summary), ("--keylog", keylog)):
            if value:
                raise click.UsageError(f"{option} is for packet captures (pcap or pcapng files)")
        try:
            for number, handshake in enumerate(read_capture(replay(first, read), found), 1):
                rendering.handshake(report_handshake(number, handshake, found))
                session.emit(rendering.take())
        except CaptureError as error:
            raise InputError(str(error)) from None
    if session.tally.empty:
        raise NoHandshakeError(found)
    ctx.exit(session.finish("handshake"))


def replay(first: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A read function that hands out `first` before reading on."""
    pending = [first]

    def replayed(size: int) -> bytes:
        return pending.pop() if pending else read(size)

    return replayed


def decryption(capture: str | None, keylog: str | None) -> Decryptor | None:
    """The decryptor of --keylog, which reads the capture file again (so not stdin)."""
    from wsaccept_cli.capture import DecryptionError, Decryptor
    from wsaccept_cli.capture.tshark import tshark

    if keylog is None:
        return None
    if capture in (None, "-"):
        raise click.UsageError(
            "--keylog needs the capture as a file, not stdin: tshark reads it a second time"
        )
    assert capture is not None
    try:
        tshark()  # said before any report, not when the first TLS connection ends
    except DecryptionError as error:
        raise InputError(str(error)) from None
    return Decryptor(capture, keylog)


def inspect_packets(
    ctx: click.Context,
    session: Session,
    read: Callable[[int], bytes],
    first: bytes,
    *,
    summary: bool,
    decryptor: Decryptor | None,
) -> NoReturn:
    """Every handshake of a pcap or pcapng capture, reported as its connection ends."""
    from wsaccept_cli.capture import CaptureReading, DecryptionError
    from wsaccept_cli.core.captured import report_captured
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.ui.connections import ConnectionTable
    from wsaccept_cli.ui.session import Counts

    reading = CaptureReading(read, first, decryptor)
    rendering = session.rendering()
    found = Capture()
    table = ConnectionTable(session.spec.fmt) if summary else None
    try:
        for number, handshake in enumerate(reading.handshakes(), 1):
            report = report_captured(number, handshake, found)
            if table is None:
                rendering.handshake(report)
            else:
                rendering.count(report)  # only its row is shown
            output, remarks, counts = rendering.take()
            session.emit((output if table is None else table.row(report), remarks, counts))
    except DecryptionError as error:
        raise InputError(str(error)) from None
    if table is not None and not session.tally.empty:
        session.emit((table.totals(), [], Counts()))
    if reading.error is not None:
        session.diagnostics.summary(
            "warning", f"the capture is damaged: {reading.error}; reported what came before"
        )
    elif reading.truncated:
        session.diagnostics.summary(
            "warning",
            f"the capture ends inside a packet (truncated after {reading.source.offset} bytes);"
            " reported what it held",
        )
    if session.tally.empty:
        raise InputError(
            f"no WebSocket handshake in the capture: {reading.packets} packets,"
            f" {reading.segments} of them TCP, no HTTP upgrade request and no TLS among them"
        )
    ctx.exit(session.finish("handshake"))


class NoHandshakeError(InputError):
    """Input that holds no HTTP message at all: say what it held instead."""

    def __init__(self, capture: Capture) -> None:
        from wsaccept_cli.core.wording import plural

        lines = capture.lines + capture.skipped_lines
        if capture.har_entries == 0:
            found = (
                "a HAR file with no entries (export it from the network panel after the"
                " WebSocket connection was opened, with recording on)"
            )
        elif capture.har_entries is not None:
            entries = plural(capture.har_entries, "entry", "entries")
            found = f"a HAR file with {entries}, none of them WebSocket"
        elif lines:
            found = (
                f"{plural(capture.lines, 'line')}, none of them an HTTP request, response or header"
            )
        else:
            found = "no input at all"
        if capture.har_entries is None:
            found += " (expected raw HTTP, 'curl -v' output or a HAR file)"
        super().__init__(f"no handshake in the input: found {found}")

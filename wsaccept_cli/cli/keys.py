"""compute, verify and genkey: the commands on keys, from arguments or in bulk from stdin."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

import click

from wsaccept_cli.cli.base import (
    InputError,
    command,
    environment,
    raw_http_format,
    start,
    stdin_or_usage_error,
)
from wsaccept_cli.cli.options import jobs_option, output_options
from wsaccept_cli.core.keys import accept_lines, generate_keys
from wsaccept_cli.core.results import compute_key, verify_pair
from wsaccept_cli.ui.inputs import stdin_reader
from wsaccept_cli.ui.session import BlockWork, Rendering, Session

if TYPE_CHECKING:
    from wsaccept_cli.core.lines import Block, OverlongLine
    from wsaccept_cli.core.results import Item

GENKEY_BATCH = 8192


@command()
@click.argument("keys", nargs=-1, metavar="[KEY|-]...")
@click.option(
    "--strict",
    is_flag=True,
    help="Treat an invalid key as an error for its line: no accept printed, exit 1 at the end.",
)
@click.option(
    "--response",
    is_flag=True,
    help="Print a complete '101 Switching Protocols' response for each key (CR LF line"
    " endings), ready to paste into nc or a test.",
)
@jobs_option
@output_options
@click.pass_context
def compute(
    ctx: click.Context,
    keys: tuple[str, ...],
    strict: bool,
    response: bool,
    jobs: int | None,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Print the Sec-WebSocket-Accept for each KEY.

    With no KEY, or with '-', keys are read from stdin, one per line: a bare key or a header
    line such as 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='. Surrounding whitespace is
    trimmed, as a server trims a header value. An invalid key is computed anyway, with a
    warning on stderr, unless --strict is given.


    \b
    Examples:
      wsaccept compute dGhlIHNhbXBsZSBub25jZQ==
      grep -i '^sec-websocket-key:' examples/handshake.http | wsaccept compute
      wsaccept compute --format json < examples/keys.txt
    """
    if response:
        fmt = raw_http_format(fmt, "--response")
    if not keys:
        stdin_or_usage_error(ctx, "KEY")
    session = start(ctx, fmt, color, strict=strict)
    rendering = session.rendering()
    for source in keys or ("-",):
        if source == "-":
            from wsaccept_cli.stream.bulk import compute_block

            process_stdin(ctx, session, partial(compute_block, strict=strict), rendering, jobs)
        else:
            rendering.handle(compute_key(os.fsencode(source), None, strict=strict))
            session.emit(rendering.take())
    ctx.exit(session.finish("key", nothing="no keys in the input"))


@command()
@click.argument("pair", nargs=-1, metavar="[KEY ACCEPT | -]")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print no results or warnings, only errors (a malformed line, unreadable input); the"
    " exit code tells.",
)
@jobs_option
@output_options
@click.pass_context
def verify(
    ctx: click.Context,
    pair: tuple[str, ...],
    quiet: bool,
    jobs: int | None,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Check that ACCEPT is the right Sec-WebSocket-Accept for KEY.

    Exits 0 on a match and 1 on a mismatch, printing the expected and received values. With
    no arguments, or '-', reads 'KEY ACCEPT' pairs from stdin, one per line, and reports each
    line: 'ok', or its line number with the expected and received values.


    \b
    Examples:
      wsaccept verify dGhlIHNhbXBsZSBub25jZQ== s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
      wsaccept verify -q "$KEY" "$ACCEPT" || echo 'handshake broken'
      wsaccept genkey -n 3 --with-accept | wsaccept verify
    """
    if len(pair) != 2 and pair not in ((), ("-",)):
        raise click.UsageError("give KEY and ACCEPT, or '-' (or nothing) to read pairs from stdin")
    if not pair:
        stdin_or_usage_error(ctx, "KEY ACCEPT")
    session = start(ctx, fmt, color, quiet=quiet, required=True)
    rendering = session.rendering()
    if len(pair) == 2:
        rendering.handle(verify_pair(os.fsencode(pair[0]), os.fsencode(pair[1]), None))
        session.emit(rendering.take())
    else:
        from wsaccept_cli.stream.bulk import verify_block

        process_stdin(ctx, session, verify_block, rendering, jobs)
    ctx.exit(session.finish("pair", nothing="no 'KEY ACCEPT' pairs in the input"))


def process_stdin(
    ctx: click.Context,
    session: Session,
    process: Callable[[Block | OverlongLine], Iterable[Item]],
    rendering: Rendering,
    jobs: int | None,
) -> None:
    """Each block of stdin rendered by the one block function and written in input order; a
    large input by worker processes, when the format allows."""
    from wsaccept_cli.stream.parallel import jobs_for, process_stream

    read, fd = stdin_reader(environment(ctx))
    work = BlockWork(process, session.spec, rendering)
    jobs, lowered = jobs_for(1 if session.spec.keeps_state() else jobs)
    if lowered:
        session.diagnostics.summary("note", lowered)
    warn = partial(session.diagnostics.summary, "warning")
    process_stream(read, fd, work, session.emit, jobs=jobs, warn=warn)


@command()
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many keys to print.",
)
@click.option(
    "--with-accept", is_flag=True, help="Print each key's accept after it, tab separated."
)
@click.option(
    "--request",
    "url",
    metavar="URL",
    help="Print a complete opening handshake request with a fresh key for a ws:// or wss:// URL"
    " (CR LF line endings), ready to pipe into nc or openssl s_client.",
)
@output_options
@click.pass_context
def genkey(
    ctx: click.Context,
    count: int,
    with_accept: bool,
    url: str | None,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Print fresh Sec-WebSocket-Key values from the OS random source.

    Each key is 16 random bytes (os.urandom), base64-encoded to 24 characters, as RFC 6455
    §4.1 asks of a client.


    \b
    Examples:
      wsaccept genkey -n 3 --with-accept
      curl -H "Sec-WebSocket-Key: $(wsaccept genkey)" ...
      wsaccept genkey --request ws://localhost:8080/chat | nc localhost 8080
    """
    if url is not None:
        print_request(ctx, url, fmt, count, with_accept)
        return
    session = start(ctx, fmt, color)
    rendering = session.rendering()
    while count > 0:
        keys = generate_keys(min(count, GENKEY_BATCH))
        rendering.generated(keys, accept_lines(keys) if with_accept else None)
        session.emit(rendering.take())
        count -= len(keys)
    ctx.exit(session.finish("key"))


def print_request(ctx: click.Context, url: str, fmt: str | None, count: int, accept: bool) -> None:
    """genkey --request: one request, as raw HTTP."""
    from wsaccept_cli.core.request import RequestError, RequestTarget, build_request

    raw_http_format(fmt, "--request")
    if count != 1 or accept:
        raise click.UsageError("--request prints one request; it takes no --count or --with-accept")
    try:
        request = build_request(RequestTarget(url), generate_keys(1)[0])
    except RequestError as error:
        raise InputError(f"--request: {error}") from None
    start(ctx, "plain", False).stdout.write(request)

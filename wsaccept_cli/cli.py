"""The `wsaccept` commands: parse arguments, call the core, hand results to a renderer."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from wsaccept_cli import __version__
from wsaccept_cli.core.keys import accept_lines, generate_keys
from wsaccept_cli.core.outcomes import ExitCode
from wsaccept_cli.core.results import Item, compute_key, verify_pair
from wsaccept_cli.ui.diagnostics import FORMATS, Diagnostics, resolve_color, resolve_format
from wsaccept_cli.ui.render import make_renderer
from wsaccept_cli.ui.session import Session
from wsaccept_cli.ui.writer import GUARD, OutputError, OutputWriter, TerminatedError, discard_stdout

if TYPE_CHECKING:
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.lines import Block, OverlongLine

GENKEY_BATCH = 8192

F = TypeVar("F", bound=Callable[..., Any])


class InputError(click.ClickException):
    """Input that cannot be read at all: exit 2, one line on stderr."""

    exit_code = ExitCode.USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"wsaccept: error: {self.format_message()}", err=True)


HELP_TEXT = "Show this message and exit."


def show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """-V/--version; not click.version_option, which looks its help up (see HelpOption)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"wsaccept, version {__version__}", color=ctx.color)
        ctx.exit()


class HelpOption:
    """click's -h/--help, with its help text given rather than looked up through gettext.

    click builds the option on every run and looks the text up in a translation catalogue (it
    ships none); the first lookup loads the locale module and searches for catalogues, a
    millisecond of every one-liner's start-up.
    """

    help_option: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        assert isinstance(self, click.Command)
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if self.help_option is None:
            self.help_option = click.Option(
                names, is_flag=True, expose_value=False, is_eager=True, help=HELP_TEXT,
                callback=show_help,
            )  # fmt: skip
        return self.help_option


class WsacceptCommand(HelpOption, click.Command):
    """A wsaccept command."""


class WsacceptGroup(HelpOption, click.Group):
    """Maps Ctrl-C, SIGTERM, a closed stdout and a failed write to their exit codes."""

    command_class = WsacceptCommand

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            ctx.exit(ExitCode.INTERRUPTED)
        except TerminatedError:
            ctx.exit(ExitCode.TERMINATED)
        except BrokenPipeError:
            discard_stdout(sys.stdout.buffer)
            ctx.exit(ExitCode.BROKEN_PIPE)
        except OutputError as error:
            discard_stdout(sys.stdout.buffer)
            click.echo(f"wsaccept: error: {error}", err=True)
            ctx.exit(ExitCode.OUTPUT_FAILED)


def output_options(command: F) -> F:
    """--format and --color/--no-color, shared by every command."""
    command = click.option(
        "--color/--no-color",
        default=None,
        help="Colour the output. Default: on for a terminal, unless NO_COLOR is set;"
        " FORCE_COLOR turns it on in a pipe.",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="plain: one value per line; json: JSON Lines; rich: a table."
        "  [default: rich on a terminal, plain in a pipe]",
    )(command)


def jobs_option(command: F) -> F:
    """-j/--jobs, for the commands that read keys in bulk from stdin."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Worker processes for large stdin input (output stays in input order);"
        " 1 keeps all work in one process.  [default: the usable CPUs, up to 8]",
    )(command)


class ExistingFile(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A file that exists, as click.Path(exists=True, dir_okay=False) checks, but built without
    a gettext lookup at import (see HelpOption)."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        path = os.fsdecode(value)
        if not os.path.exists(path):
            self.fail(f"File {path!r} does not exist.", param, ctx)
        if os.path.isdir(path):
            self.fail(f"File {path!r} is a directory.", param, ctx)
        return path


def raw_http_format(fmt: str | None, option: str) -> str:
    """The internal format that writes raw HTTP; only plain output can carry it."""
    if fmt not in (None, "plain"):
        raise click.UsageError(
            f"{option} prints raw HTTP; it cannot be combined with --format {fmt}"
        )
    return "http"


def stdout_writer() -> OutputWriter:
    """Stdout for results, written whole; anything Python buffered for it goes first."""
    if sys.stdout is None:
        raise InputError("stdout is closed")
    sys.stdout.flush()
    return OutputWriter(sys.stdout.buffer)


def open_session(
    fmt: str | None, color: bool | None, *, strict: bool = False, quiet: bool = False
) -> Session:
    """The session a command reports through, with format and colour decided once."""
    stdout = stdout_writer()
    renderer = make_renderer(
        resolve_format(fmt), stdout, color=resolve_color(color, sys.stdout), quiet=quiet
    )
    diagnostics = Diagnostics(sys.stderr, color=resolve_color(color, sys.stderr), quiet=quiet)
    return Session(renderer, diagnostics, strict=strict, stdout=stdout)


def stdin_blocks() -> Iterator[Block | OverlongLine]:
    """Stdin as blocks of whole lines; any read failure is an InputError."""
    from wsaccept_cli.core.lines import read_blocks

    stdin = stdin_binary()
    GUARD.install()
    try:
        yield from read_blocks(stdin.read1)
    except OSError as error:
        raise InputError(f"cannot read stdin: {error.strerror or error}") from None


def process_stdin(
    session: Session,
    process: Callable[[Block | OverlongLine], Iterable[Item]],
    *,
    fmt: str | None,
    jobs: int | None,
    strict: bool = False,
    quiet: bool = False,
) -> None:
    """Each block of stdin processed, its results handed on and written before the next read;
    a large input by worker processes, when there are CPUs for them and the format allows."""
    fmt = resolve_format(fmt)
    fd = stdin_fd()
    if fd is not None and (quiet or fmt != "rich"):
        from wsaccept_cli.stream.parallel import BlockRenderer, default_jobs, process_in_workers

        jobs = default_jobs() if jobs is None else jobs
        if jobs > 1:
            GUARD.install()
            render = BlockRenderer(process, fmt, strict=strict, quiet=quiet)
            process_in_workers(fd, partial(read_input, fd), session, render, jobs)
            return
    for block in stdin_blocks():
        for item in process(block):
            session.handle(item)
        session.flush()


def stdin_fd() -> int | None:
    """Stdin's file descriptor, or None when it has none (a test's in-memory stream)."""
    try:
        return stdin_binary().fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def read_input(fd: int, size: int) -> bytes:
    """Up to `size` bytes from stdin's file descriptor; a read failure is an InputError."""
    try:
        return os.read(fd, size)
    except OSError as error:
        raise InputError(f"cannot read stdin: {error.strerror or error}") from None


def stdin_or_usage_error(what: str) -> None:
    """Refuse to wait silently for input typed at a terminal nobody may be watching."""
    if sys.stdin is not None and sys.stdin.isatty():
        raise click.UsageError(
            f"no {what} given and stdin is a terminal; give {what} as arguments,"
            " pipe lines in, or pass '-' to type them"
        )


@click.group(
    name="wsaccept", cls=WsacceptGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=show_version,
    help="Show the version and exit.",
)  # fmt: skip
def cli() -> None:
    """Compute, check and debug the WebSocket opening handshake (RFC 6455).

    Sec-WebSocket-Accept is base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), taken
    over the Sec-WebSocket-Key exactly as sent. compute, verify and genkey work on keys;
    inspect checks a captured handshake, probe a live server. Results go to stdout,
    diagnostics to stderr.

    \b
    Exit status: 0 success; 1 a check failed (a mismatch, an invalid key
    under --strict, an input line with no key, a broken handshake rule);
    2 usage error or unreadable input; 3, 4, 5 probe: no connection, TLS
    failed, timeout; 74 stdout not writable; 130 Ctrl-C; 141 stdout closed
    by its reader; 143 SIGTERM.
    """


@cli.command()
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
      grep -i '^sec-websocket-key:' capture.txt | wsaccept compute
      wsaccept compute --format json < keys.txt
      wsaccept compute --response dGhlIHNhbXBsZSBub25jZQ==
    """
    if response:
        fmt = raw_http_format(fmt, "--response")
    if not keys:
        stdin_or_usage_error("KEY")
    session = open_session(fmt, color, strict=strict)
    for source in keys or ("-",):
        if source != "-":
            session.handle(compute_key(os.fsencode(source), None, strict=strict))
            continue
        from wsaccept_cli.stream.bulk import compute_block

        process = partial(compute_block, strict=strict)
        process_stdin(session, process, fmt=fmt, jobs=jobs, strict=strict)
    ctx.exit(session.finish("key", nothing="no keys in the input"))


@cli.command()
@click.argument("pair", nargs=-1, metavar="[KEY ACCEPT | -]")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print no results or warnings; the exit code tells."
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
      paste keys.txt accepts.txt | wsaccept verify
    """
    if len(pair) != 2 and pair not in ((), ("-",)):
        raise click.UsageError("give KEY and ACCEPT, or '-' (or nothing) to read pairs from stdin")
    if not pair:
        stdin_or_usage_error("KEY ACCEPT")
    session = open_session(fmt, color, quiet=quiet)
    if len(pair) == 2:
        session.handle(verify_pair(os.fsencode(pair[0]), os.fsencode(pair[1]), None))
    else:
        from wsaccept_cli.stream.bulk import verify_block

        process_stdin(session, verify_block, fmt=fmt, jobs=jobs, quiet=quiet)
    ctx.exit(session.finish("pair", nothing="no 'KEY ACCEPT' pairs in the input", required=True))


@cli.command()
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
      wsaccept genkey
      wsaccept genkey -n 3 --with-accept
      curl -H "Sec-WebSocket-Key: $(wsaccept genkey)" ...
      wsaccept genkey --request ws://localhost:8080/chat | nc localhost 8080
    """
    if url is not None:
        print_request(url, fmt, count, with_accept)
        return
    session = open_session(fmt, color)
    GUARD.install()
    while count > 0:
        keys = generate_keys(min(count, GENKEY_BATCH))
        session.generated(keys, accept_lines(keys) if with_accept else None)
        session.flush()
        count -= len(keys)
    ctx.exit(session.finish("key"))


@cli.command()
@click.argument("capture", required=False, metavar="[FILE|-]")
@output_options
@click.pass_context
def inspect(ctx: click.Context, capture: str | None, fmt: str | None, color: bool | None) -> None:
    """Check a captured opening handshake, rule by rule, and explain what is wrong.

    Reads FILE (or stdin) holding a request, a response or both: raw HTTP text (CR LF or LF,
    as from a packet capture's 'follow stream', tcpdump -A, nc, a proxy log, or headers pasted
    from a browser), 'curl -v' output, or a HAR file from browser developer tools (every
    WebSocket entry is checked). Each rule is reported as pass, fail, warn or info with its RFC 6455
    section. A wrong Sec-WebSocket-Accept is recomputed with known implementation bugs to name
    the one that produced it.

    Exits 0 when no rule fails, 1 when one does, 2 when the input holds no handshake.

    \b
    Examples:
      wsaccept inspect handshake.txt
      curl -sv --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \\
        -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $(wsaccept genkey)" \\
        http://localhost:8080/ws 2>&1 | wsaccept inspect
      wsaccept inspect --format json session.har
    """
    from wsaccept_cli.core.capture import CaptureError, read_capture
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.rules import inspect_handshake

    if capture in (None, "-"):
        if capture is None:
            stdin_or_usage_error("FILE")
        stream = stdin_binary()
    else:
        stream = open_input(capture)
    session = open_session(fmt, color)
    GUARD.install()
    found = Capture()
    try:
        for number, handshake in enumerate(read_capture(stream.read1, found), start=1):
            session.handshake(inspect_handshake(number, handshake, found))
            session.flush()
    except CaptureError as error:
        raise InputError(str(error)) from None
    except OSError as error:
        raise InputError(f"cannot read {capture or 'stdin'}: {error.strerror or error}") from None
    finally:
        stream.close()
    if not session.results:
        raise NoHandshakeError(found)
    ctx.exit(session.finish("handshake"))


@cli.command()
@click.argument("url")
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Add a request header (repeatable); one named like ours replaces ours.",
)
@click.option("--origin", metavar="ORIGIN", help="Send this Origin header.")
@click.option(
    "--protocol",
    "protocols",
    multiple=True,
    metavar="NAME",
    help="Offer this subprotocol in Sec-WebSocket-Protocol (repeatable).",
)
@click.option(
    "--extension",
    "extensions",
    multiple=True,
    metavar="EXT",
    help="Offer this extension in Sec-WebSocket-Extensions (repeatable).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up when the whole exchange (resolve, connect, TLS, response head) takes longer.",
)
@click.option("--insecure", is_flag=True, help="Skip TLS certificate checks (wss://).")
@click.option(
    "--cacert",
    type=ExistingFile(),
    metavar="FILE",
    help="Trust the CA certificates in FILE (PEM) for wss://.",
)
@click.option("--key", metavar="KEY", help="Send this Sec-WebSocket-Key instead of a fresh one.")
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Print Authorization, Cookie and Proxy-Authorization values instead of redacting them.",
)
@output_options
@click.pass_context
def probe(
    ctx: click.Context,
    url: str,
    headers: tuple[str, ...],
    origin: str | None,
    protocols: tuple[str, ...],
    extensions: tuple[str, ...],
    timeout: float,
    insecure: bool,
    cacert: str | None,
    key: str | None,
    show_secrets: bool,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Check a live server's opening handshake over ws:// or wss://.

    Sends a handshake with a fresh key, reads the response head (at most 64 KiB, within
    --timeout), checks it with the rules of 'wsaccept inspect', prints the request, the response
    and the findings, then closes politely (a Close frame with code 1000 after an upgrade).
    Certificates are checked unless --insecure.

    \b
    Exit status: 0 the handshake is valid; 1 the server answered but a
    rule failed; 3 no connection (DNS, refused, unreachable); 4 TLS
    failed; 5 timed out; 2 usage error.

    \b
    Examples:
      wsaccept probe ws://localhost:8080/chat
      wsaccept probe --protocol chat --origin https://app.example wss://example.com/ws
      wsaccept probe --format json --timeout 5 "$ENDPOINT" || exit 1
    """
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.net.probe import build_probe_request, outcome, probe_report, redact, run_probe
    from wsaccept_cli.ui.render import ProbeView

    try:
        target = RequestTarget(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'URL'") from None
    nonce = os.fsencode(key) if key is not None else generate_keys(1)[0]
    request = build_probe_request(
        target,
        nonce,
        [parse_header(header) for header in headers],
        origin=origin,
        protocols=protocols,
        extensions=extensions,
    )
    session = open_session(fmt, color)
    result = run_probe(target, request, timeout=timeout, insecure=insecure, cacert=cacert, url=url)
    report = probe_report(result)
    ended = outcome(result, report)
    shown = (
        (result.request, result.response)
        if show_secrets
        else (redact(result.request), redact(result.response))
    )
    session.probe(ProbeView(*shown, report, ended, result.address, result.timings))
    session.finish("probe")
    ctx.exit(ended.exit_code)


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' from -H, or a usage error saying what is wrong with it."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(c in name for c in " \t\r\n"):
        raise click.BadParameter(f"{text!r} is not 'Name: value'", param_hint="'-H'")
    return name.strip(), value.strip()


class NoHandshakeError(InputError):
    """Input that holds no HTTP message at all: say what it held instead."""

    def __init__(self, capture: Capture) -> None:
        lines = capture.lines + capture.skipped_lines
        if capture.lines == 0 and capture.skipped_lines:
            found = f"a JSON document with {capture.skipped_lines} entries, none of them WebSocket"
        elif lines:
            found = f"{capture.lines} lines, none of them an HTTP request, response or header"
        else:
            found = "no input at all"
        super().__init__(
            f"no handshake in the input: found {found} (expected raw HTTP, 'curl -v' output or"
            " a HAR file)"
        )


def stdin_binary() -> io.BufferedReader:
    """Stdin's bytes, or an InputError when there is no stdin at all."""
    if sys.stdin is None:
        raise InputError("stdin is closed; give the input as arguments")
    return cast(io.BufferedReader, sys.stdin.buffer)


def open_input(path: str) -> io.BufferedReader:
    """A file opened for reading, or an InputError saying why it cannot be."""
    try:
        return open(path, "rb")  # closed by the caller
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


def print_request(url: str, fmt: str | None, count: int, with_accept: bool) -> None:
    """genkey --request: one request, as raw HTTP."""
    from wsaccept_cli.core.request import RequestTarget, build_request

    raw_http_format(fmt, "--request")
    if count != 1 or with_accept:
        raise click.UsageError("--request prints one request; it takes no --count or --with-accept")
    try:
        target = RequestTarget(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--request'") from None
    stdout_writer().write(build_request(target, generate_keys(1)[0]))


def main() -> None:
    """The console script: click's main, with a Ctrl-C outside a command exiting 130 too."""
    try:
        cli.main(prog_name="wsaccept")
    except KeyboardInterrupt:  # before or after a command ran
        sys.exit(ExitCode.INTERRUPTED)

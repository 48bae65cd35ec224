"""The `wsaccept` commands: parse arguments, call the core or the network code, hand the results
to the session. How things look is decided in `ui`, what is true in `core`."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wsaccept_cli import __version__
from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.core.keys import accept_lines, generate_keys
from wsaccept_cli.core.results import compute_key, verify_pair
from wsaccept_cli.fastclick import Command, FilePath, Group, version_option
from wsaccept_cli.ui.environment import FORMATS, Environment
from wsaccept_cli.ui.session import BlockWork, Counts, Rendering, Session
from wsaccept_cli.ui.text import display
from wsaccept_cli.ui.writer import OutputError, TerminatedError, discard_stdout

if TYPE_CHECKING:
    from wsaccept_cli.capture import CaptureReading
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.lines import Block, OverlongLine
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.core.results import Item
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.net.endpoint import Settings
    from wsaccept_cli.net.h2probe import H2Probe

GENKEY_BATCH = 8192
# --timeout: long enough for any real server, short enough that a typo (1e9) is caught.
MAX_TIMEOUT = 24 * 3600.0
SHELLS = ("bash", "zsh", "fish")  # wsaccept_cli.completion.SHELLS, not imported at start-up

F = TypeVar("F", bound=Callable[..., Any])


class InputError(click.ClickException):
    """Input that cannot be read at all: exit 2, one line on stderr."""

    exit_code = ExitCode.USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"wsaccept: error: {display(self.format_message())}", err=True)


class ExamplesLast:
    """A command whose help ends with its examples: the docstring's last block, a `\\b` line
    then `Examples:`, is printed after the options (click's epilog) rather than before them,
    where a reader scrolling back from the prompt would pass them by."""

    help: str | None
    epilog: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        at = self.help.rfind("\b", 0, self.help.find("Examples:")) if self.help else -1
        if self.help and at >= 0 and self.epilog is None:
            self.help, self.epilog = self.help[:at].rstrip(), self.help[at:]


class WsacceptCommand(ExamplesLast, Command):
    """A command of wsaccept: examples last."""


class WsacceptGroup(ExamplesLast, Group):
    """Maps Ctrl-C, SIGTERM, a closed stdout and a failed write to their exit codes."""

    command_class = WsacceptCommand

    def list_commands(self, ctx: click.Context) -> list[str]:
        """In the order people use them, not alphabetical."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            ctx.exit(ExitCode.INTERRUPTED)
        except TerminatedError:
            ctx.exit(ExitCode.TERMINATED)
        except BrokenPipeError:
            discard_stdout(environment(ctx).stdout)
            ctx.exit(ExitCode.BROKEN_PIPE)
        except OutputError as error:
            discard_stdout(environment(ctx).stdout)
            click.echo(f"wsaccept: error: {display(str(error))}", err=True)
            ctx.exit(ExitCode.OUTPUT_FAILED)


def environment(ctx: click.Context) -> Environment:
    """The run's Environment: the one a test handed in as `obj`, else this process's."""
    root = ctx.find_root()
    if not isinstance(root.obj, Environment):
        root.obj = Environment.of_process()
    return root.obj


def from_group(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An output option not given to the command: the one given before it, if any
    (`wsaccept --format json compute KEY`)."""
    if value is None and ctx.parent is not None and param.name:
        return ctx.find_root().params.get(param.name)
    return value


def output_options(command: F) -> F:
    """--format and --color/--no-color, shared by every command (and accepted before it)."""
    command = click.option(
        "--color/--no-color",
        default=None,
        callback=from_group,
        help="Colour rich output and the labels on stderr (plain and JSON output are never"
        " coloured). Default: on for a terminal, unless NO_COLOR is set; FORCE_COLOR turns it"
        " on in a pipe.",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        callback=from_group,
        help="plain: one value per line; json: JSON Lines; rich: a table."
        "  [default: rich on a terminal, plain in a pipe]",
    )(command)


def verbose_option(command: F) -> F:
    """-v/--verbose, for the commands that check handshakes rule by rule."""
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show every rule checked, passes included, in the order checked (by default:"
        " failures, warnings and notes, with a count of every rule).",
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


def raw_http_format(fmt: str | None, option: str) -> str:
    """The internal format that writes raw HTTP; only plain output can carry it."""
    if fmt not in (None, "plain"):
        raise click.UsageError(
            f"{option} prints raw HTTP; it cannot be combined with --format {fmt}"
        )
    return "http"


def start(
    ctx: click.Context,
    fmt: str | None,
    color: bool | None,
    *,
    strict: bool = False,
    quiet: bool = False,
    required: bool = False,
    verbose: bool = False,
) -> Session:
    """The session a command reports through; a closed stdout is an InputError."""
    env = environment(ctx)
    if env.stdout is None:
        raise InputError("stdout is closed")
    return Session.open(
        env, fmt, color, strict=strict, quiet=quiet, required=required, verbose=verbose
    )


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

    env = environment(ctx)
    stdin = stdin_of(env)
    work = BlockWork(process, session.spec, rendering)
    jobs, lowered = jobs_for(1 if session.spec.keeps_state() else jobs)
    if lowered:
        session.diagnostics.summary("note", lowered)
    fd = env.stdin_fd()
    read = reading(partial(os.read, fd) if fd is not None else stdin.read1, "stdin")
    warn = partial(session.diagnostics.summary, "warning")
    process_stream(read, fd, work, session.emit, jobs=jobs, warn=warn)


def reading(read: Callable[[int], bytes], name: str) -> Callable[[int], bytes]:
    """`read`, with a read failure an InputError naming what could not be read (a failure to
    write is not caught here: a closed stdout must still end quietly)."""

    def read_or_fail(size: int) -> bytes:
        try:
            return read(size)
        except OSError as error:
            raise InputError(f"cannot read {name}: {error.strerror or error}") from None

    return read_or_fail


def stdin_of(env: Environment) -> io.BufferedReader:
    """Stdin's bytes, or an InputError when there is no stdin at all."""
    if env.stdin is None:
        raise InputError("stdin is closed; give the input as arguments")
    return env.stdin


def stdin_or_usage_error(ctx: click.Context, what: str) -> None:
    """Refuse to wait silently for input typed at a terminal nobody may be watching."""
    if environment(ctx).stdin_is_terminal():
        raise click.UsageError(
            f"no {what} given and stdin is a terminal; give {what} as arguments,"
            " pipe lines in, or pass '-' to type them"
        )


@click.group(
    name="wsaccept", cls=WsacceptGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@version_option(__version__, "-V", "--version")
@output_options
@click.pass_context
def cli(ctx: click.Context, fmt: str | None, color: bool | None) -> None:
    """Compute, check and debug the WebSocket opening handshake (RFC 6455).

    Sec-WebSocket-Accept is base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), taken
    over the Sec-WebSocket-Key exactly as sent. compute, verify and genkey work on keys;
    inspect checks a captured handshake, probe a live server, serve tests clients (and relays
    to a server). Results go to stdout, diagnostics to stderr.

    \b
    Exit status: 0 success; 1 a check failed (a mismatch, an invalid key
    under --strict, an input line with no key, a broken handshake rule);
    2 usage error or unreadable input; 3, 4, 5 probe: no connection, TLS
    failed, timeout; 74 stdout not writable; 130 Ctrl-C; 141 stdout closed
    by its reader; 143 SIGTERM.

    \b
    Examples:
      wsaccept compute dGhlIHNhbXBsZSBub25jZQ==
      wsaccept inspect examples/decoded-key-bug.http
      wsaccept probe ws://localhost:8080/chat
    """
    environment(ctx)


@cli.command(short_help="Print the Sec-WebSocket-Accept for each KEY.")
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


@cli.command(short_help="Check that ACCEPT is the right Sec-WebSocket-Accept for KEY.")
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


@cli.command(short_help="Print fresh Sec-WebSocket-Key values from the OS random source.")
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


@cli.command(
    short_help="Check a captured opening handshake, rule by rule, and explain what is wrong."
)
@click.argument("capture", required=False, metavar="[FILE|-]", type=FilePath(allow_dash=True))
@click.option(
    "--summary",
    is_flag=True,
    help="For a pcap/pcapng file: one line per connection and the counts, not every report.",
)
@verbose_option
@output_options
@click.pass_context
def inspect(
    ctx: click.Context,
    capture: str | None,
    summary: bool,
    verbose: bool,
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
    from wsaccept_cli.capture import CaptureReading, is_capture_file
    from wsaccept_cli.core.capture import CaptureError, read_capture
    from wsaccept_cli.core.fragments import report_handshake
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.lines import READ_SIZE

    if capture is None:
        stdin_or_usage_error(ctx, "FILE")
    session = start(ctx, fmt, color, verbose=verbose)
    rendering = session.rendering()
    found = Capture()
    with open_capture(ctx, capture) as (stream, name):
        read = reading(stream, name)
        first = read(READ_SIZE)
        if is_capture_file(first):
            inspect_packets(ctx, session, CaptureReading(read, first), summary=summary)
            return
        if summary:
            raise click.UsageError("--summary is for packet captures (pcap or pcapng files)")
        try:
            replayed = replay(first, read)
            for number, handshake in enumerate(read_capture(replayed, found), 1):
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


def inspect_packets(
    ctx: click.Context, session: Session, reading: CaptureReading, *, summary: bool
) -> None:
    """Every handshake of a pcap or pcapng capture, reported as its connection ends."""
    from wsaccept_cli.core.captured import report_captured
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.ui.connections import ConnectionTable

    rendering = session.rendering()
    found = Capture()
    table = ConnectionTable(session.spec.fmt) if summary else None
    for number, handshake in enumerate(reading.handshakes(), 1):
        report = report_captured(number, handshake, found)
        rendering.handshake(report)
        output, remarks, counts = rendering.take()
        if table is not None:
            output = table.row(report)
        session.emit((output, remarks, counts))
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


@contextmanager
def open_capture(
    ctx: click.Context, path: str | None
) -> Iterator[tuple[Callable[[int], bytes], str]]:
    """The capture's read function and name: stdin for none or '-' (left open), else the file,
    closed afterwards; an InputError saying why it cannot be read."""
    if path in (None, "-"):
        yield stdin_of(environment(ctx)).read1, "stdin"
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the `with` below
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    with stream:
        yield stream.read1, path


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


def finite_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A timeout must be a number of seconds a clock can count down: not nan, not infinite."""
    if value != value or not 0 < value <= MAX_TIMEOUT:  # value != value: nan
        raise click.BadParameter(
            f"{value!r} is not a number of seconds between 0 and {MAX_TIMEOUT:g}"
        )
    return value


def pem_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--cacert must hold PEM certificates: found out before connecting, not as a TLS failure."""
    if pem_key_file(ctx, param, value) is None:
        return None
    import ssl

    try:
        ssl.create_default_context(cafile=value)
    except (OSError, ssl.SSLError, ValueError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise click.BadParameter(f"{value!r} holds no PEM certificate ({reason})") from None
    return value


def optional_seconds(
    ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    """--hold and --ping: as --timeout when given."""
    return None if value is None else finite_seconds(ctx, param, value)


def pem_key_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--cert/--key (and --cacert) must be regular files: a FIFO or a device would be read
    until it ends, or for ever."""
    if value is not None and not os.path.isfile(value):
        raise click.BadParameter(f"{value!r} is not a regular file")
    return value


@cli.command(short_help="Check a live server's opening handshake over ws:// or wss://.")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option(
    "--file",
    "url_file",
    type=FilePath(allow_dash=True),
    metavar="FILE",
    help="Probe the URLs in FILE too, one per line ('-' for stdin; '#' starts a comment).",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1, max=1024),
    default=16,
    show_default=True,
    metavar="N",
    help="Probe up to N URLs at once (with several URLs).",
)
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
    type=float,
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    callback=finite_seconds,
    help="Give up when the whole exchange (resolve, connect, TLS, response head) takes longer.",
)
@click.option(
    "-x",
    "--proxy",
    metavar="URL",
    help="Go through this proxy: http://, https://, socks5://, socks5h:// (socks4, socks4a),"
    " with USER:PASSWORD@ if it asks; '' ignores the *_proxy environment variables.",
)
@click.option(
    "--noproxy",
    metavar="LIST",
    help="Hosts reached directly, comma separated ('*' for all; overrides no_proxy).",
)
@click.option(
    "-L", "--location", "follow", is_flag=True, help="Follow redirects (301, 302, 303, 307, 308)."
)
@click.option(
    "--max-redirs",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="With -L, fail after N redirects.",
)
@click.option(
    "--resolve",
    multiple=True,
    metavar="HOST:PORT:ADDR",
    help="Connect to ADDR (comma separated addresses) for HOST:PORT instead of asking DNS.",
)
@click.option(
    "--connect-to",
    "connect_to",
    multiple=True,
    metavar="HOST1:PORT1:HOST2:PORT2",
    help="Connect to HOST2:PORT2 for HOST1:PORT1; Host and TLS name stay the URL's.",
)
@click.option("-4", "--ipv4", "ipv4", is_flag=True, help="Use IPv4 addresses only.")
@click.option("-6", "--ipv6", "ipv6", is_flag=True, help="Use IPv6 addresses only.")
@click.option(
    "-k", "--insecure", is_flag=True, help="Skip TLS certificate checks (wss://, https proxy)."
)
@click.option(
    "--cacert",
    type=FilePath(exists=True),
    callback=pem_file,
    metavar="FILE",
    help="Trust the CA certificates in FILE (PEM) for wss://.",
)
@click.option(
    "--cert",
    type=FilePath(exists=True),
    callback=pem_key_file,
    metavar="FILE",
    help="Present this TLS client certificate (PEM; with its key unless --key).",
)
@click.option(
    "--key",
    "cert_key",
    type=FilePath(exists=True),
    callback=pem_key_file,
    metavar="FILE",
    help="The private key of --cert (PEM).",
)
@click.option(
    "--ws-key",
    "key",
    metavar="KEY",
    help="Send this Sec-WebSocket-Key instead of a fresh one.",
)
@click.option(
    "--hold",
    type=float,
    metavar="SECONDS",
    callback=optional_seconds,
    help="Keep the upgraded connection SECONDS, and report how it ended.",
)
@click.option(
    "--ping",
    type=float,
    metavar="SECONDS",
    callback=optional_seconds,
    help="Send a ping every SECONDS after the upgrade and time each pong.",
)
@click.option("--send", metavar="TEXT", help="Send TEXT as a message after the upgrade.")
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Print credentials (Authorization, Cookie, Proxy-Authorization, a URL's password) and"
    " Set-Cookie values instead of redacting them.",
)
@click.option(
    "--http2",
    is_flag=True,
    help="Probe over HTTP/2 (RFC 8441 extended CONNECT): TLS with ALPN h2 for wss://, cleartext"
    " with prior knowledge for ws://.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Probe over HTTP/1.1 and over HTTP/2 and show both verdicts side by side, with what"
    " differs.",
)
@verbose_option
@output_options
@click.pass_context
def probe(ctx: click.Context, /, urls: tuple[str, ...], url_file: str | None, parallel: int,
          **options: Any) -> None:  # fmt: skip
    """Check a live server's opening handshake over ws:// or wss://.

    Sends a handshake with a fresh key, reads the response head (at most 64 KiB, within
    --timeout), checks it with the rules of 'wsaccept inspect', prints the request, the response
    and the findings, then closes politely (a Close frame with code 1000 after an upgrade).
    Certificates are checked unless --insecure. When stderr is a terminal, each step is said
    there as it happens (resolving, connecting, TLS, request sent, waiting). Proxies are taken
    from -x/--proxy or the environment as curl takes them (http_proxy for ws://, https_proxy for
    wss://, all_proxy, no_proxy; ws_proxy and wss_proxy first). With several URLs (or --file)
    they are probed --parallel at once and each gets one line (plain) or one JSON object.

    \b
    Exit status: 0 the handshake is valid; 1 the server answered but a
    rule failed; 3 no connection (DNS, refused, unreachable); 4 TLS
    failed; 5 timed out; 6 the proxy failed or refused; 2 usage error.
    With several URLs: the worst, in the order 3, 6, 4, 5, 1, 0.


    \b
    Examples:
      wsaccept probe --protocol chat --origin https://app.example --compare wss://example.com/ws
      wsaccept probe -x http://proxy.corp:3128 --hold 90 --ping 20 wss://example.com/ws
      wsaccept probe --format json --file endpoints.txt > results.jsonl
    """
    from wsaccept_cli.core.pins import PinError
    from wsaccept_cli.core.proxyenv import ProxyError
    from wsaccept_cli.core.request import RequestError

    if not urls and url_file is None:
        raise click.UsageError("give a URL, or --file FILE with one URL per line")
    http2, compare = options.pop("http2"), options.pop("compare")
    if (http2 or compare) and (len(urls) != 1 or url_file is not None):
        raise click.UsageError("--http2 and --compare probe one URL")
    if (http2 or compare) and (
        options["follow"] or any(options[name] is not None for name in ("hold", "ping", "send"))
    ):
        raise click.UsageError("-L, --hold, --ping and --send work over HTTP/1.1 only")
    try:
        settings = probe_settings(ctx, options)
    except PinError as error:
        raise click.UsageError(str(error)) from None
    session = start(ctx, options["fmt"], options["color"], verbose=options["verbose"])
    if len(urls) == 1 and url_file is None:
        settings.progress = probe_progress(ctx, options["color"]) or settings.progress
        try:
            probe_one(session, urls[0], settings, http2=http2, compare=compare)
        except (RequestError, ProxyError) as error:
            raise InputError(str(error)) from None
    else:
        probe_many(ctx, session, urls, url_file, settings, parallel)
    ctx.exit(session.finish("probe"))


def probe_settings(ctx: click.Context, options: dict[str, Any]) -> Any:
    """The probe's Settings from its options (PinError for a bad --resolve/--connect-to)."""
    from wsaccept_cli.core.pins import Pins
    from wsaccept_cli.net.endpoint import Settings

    if options["ipv4"] and options["ipv6"]:
        raise click.UsageError("-4 and -6 cannot be combined")
    if options["cert_key"] is not None and options["cert"] is None:
        raise click.UsageError("--key is the private key of --cert; give --cert too")
    if options["cert"] is not None:
        import ssl

        try:
            ssl.create_default_context().load_cert_chain(options["cert"], options["cert_key"])
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
            raise click.UsageError(
                f"--cert {options['cert']!r}: no PEM certificate and private key that match"
                f" ({reason})"
            ) from None
    if options["send"] is not None:
        try:
            options["send"].encode("utf-8")
        except UnicodeEncodeError:
            raise click.UsageError("--send: TEXT is not valid UTF-8 (RFC 6455 §5.6)") from None
    plan = None
    if any(options[name] is not None for name in ("hold", "ping", "send")):
        from wsaccept_cli.net.hold import Plan

        plan = Plan(options["hold"], options["ping"], options["send"])
    return Settings(
        headers=options["headers"],
        origin=options["origin"],
        protocols=options["protocols"],
        extensions=options["extensions"],
        key=options["key"],
        timeout=options["timeout"],
        proxy=options["proxy"],
        noproxy=options["noproxy"],
        environ=environment(ctx).environ,
        pins=Pins.parse(options["resolve"], options["connect_to"]),
        family=4 if options["ipv4"] else 6 if options["ipv6"] else 0,
        insecure=options["insecure"],
        cacert=options["cacert"],
        cert=options["cert"],
        cert_key=options["cert_key"],
        follow=options["follow"],
        max_redirs=options["max_redirs"],
        show_secrets=options["show_secrets"],
        hold=plan,
    )


def probe_one(
    session: Session, url: str, settings: Settings, *, http2: bool = False, compare: bool = False
) -> None:
    """One URL: its whole report (over HTTP/2 with --http2; over both, compared, with
    --compare)."""
    from wsaccept_cli.net.endpoint import check
    from wsaccept_cli.ui.views import ProbeView

    if http2 and not compare:  # over HTTP/2 alone (RFC 8441)
        target, request = settings.request(url, settings.headers)
        rendering = session.rendering()
        session.tally.outcome = probe_http2(rendering, target, request, settings).outcome
        session.emit(rendering.take())
        return
    checked = check(url, settings)
    session.tally.outcome = checked.outcome
    result = checked.result
    view = ProbeView(
        checked.request, checked.response, checked.report, checked.outcome,
        result.address, result.timings, checked.extra(), sent=result.sent,
    )  # fmt: skip
    rendering = session.rendering()
    rendering.probe(view)
    if compare:  # the same URL over HTTP/2, and the two verdicts side by side
        target, request = settings.request(url, settings.headers)
        http1 = (checked.outcome, checked.report)
        http2_probe = probe_http2(rendering, target, request, settings)
        session.tally.outcome = compared(rendering, checked.url, http1, http2_probe)
    session.emit(rendering.take())


def probe_many(
    ctx: click.Context,
    session: Session,
    urls: tuple[str, ...],
    url_file: str | None,
    settings: Any,
    parallel: int,
) -> None:
    """Several URLs, probed `parallel` at once, reported in input order: JSON one object
    each, plain one line each, a table on a terminal; the worst outcome is the exit status."""
    from wsaccept_cli.net.many import check_all, worst
    from wsaccept_cli.ui.many import ManyWriter
    from wsaccept_cli.ui.views import ProbeView

    writer = ManyWriter(session.spec.fmt)
    session.stdout.write(writer.start())
    outcomes = []
    bad = 0
    with open_capture(ctx, url_file) if url_file else nullcontext_lines() as (read, name):
        lines = url_lines(urls, read if url_file else None, name)
        for where, url, checked in check_all(lines, settings, parallel):
            if isinstance(checked, str):
                bad += 1
                session.diagnostics.say("error", where, checked)
                continue
            outcomes.append(checked.outcome)
            if session.spec.fmt == "json":
                view = ProbeView(
                    checked.request, checked.response, checked.report, checked.outcome,
                    checked.result.address, checked.result.timings, checked.extra(),
                )  # fmt: skip
                rendering = session.rendering()
                rendering.probe(view)
                session.emit(rendering.take())
            else:
                session.stdout.write(writer.row(url, checked))
    session.stdout.write(writer.end(outcomes, bad))
    session.tally.results += len(outcomes)
    session.tally.outcome = worst(outcomes)
    if bad:
        session.diagnostics.summary("error", f"{bad} URL{'s' if bad != 1 else ''} skipped")
        session.tally.outcome = None
        session.tally.bad_lines = bad
        ctx.exit(ExitCode.USAGE)


@contextmanager
def nullcontext_lines() -> Iterator[tuple[None, str]]:
    yield None, "arguments"


def url_lines(
    urls: tuple[str, ...], read: Callable[[int], bytes] | None, name: str
) -> Iterator[tuple[str, str]]:
    """(where, URL) for each argument, then each line of the file that is not blank or a
    comment; a line is at most 8 KiB (a longer one is reported, not held)."""
    for index, url in enumerate(urls, 1):
        yield f"argument {index}", url
    if read is None:
        return
    pending = b""
    number = 0
    while True:
        chunk = read(65536)
        pending += chunk
        *complete, pending = pending.split(b"\n") if chunk else (*pending.split(b"\n"), b"")
        for line in complete:
            number += 1
            text = line.decode("utf-8", "surrogateescape").strip()
            if text and not text.startswith("#"):
                yield f"{name} line {number}", text.split(" #", 1)[0].strip()
        if not chunk:
            return
        if len(pending) > 8192:
            raise InputError(f"{name} line {number + 1} is longer than 8192 bytes")


def probe_progress(ctx: click.Context, color: bool | None) -> Callable[[str, str], None] | None:
    """A probe's progress: lines on stderr when it is a terminal, else None (nothing)."""
    env = environment(ctx)
    if env.stderr is None or not env.stderr_is_terminal():
        return None
    from wsaccept_cli.ui.progress import ProbeProgress

    return ProbeProgress(env.stderr, color=env.color(color, env.stderr))


def probe_http2(
    rendering: Rendering, target: RequestTarget, request: bytes, settings: Settings
) -> H2Probe:
    """probe --http2: the extended CONNECT made from `request`, sent over the route the
    settings give (proxy, pins, TLS), judged and rendered."""
    from wsaccept_cli.net.h2probe import probe_over_http2
    from wsaccept_cli.ui.views import ProbeView

    shown_url = target.full_url if settings.show_secrets else target.display_url
    route = settings.route(target)
    route.progress = settings.progress
    h2 = probe_over_http2(
        target,
        request,
        timeout=settings.timeout,
        route=route,
        url=shown_url,
        show_secrets=settings.show_secrets,
    )
    view = ProbeView(
        *h2.exchange, h2.report, h2.outcome, h2.address, h2.timings, h2.extra,
        http_version="2", settings=h2.settings, sent=bool(h2.exchange[0]),
    )  # fmt: skip
    rendering.probe(view)
    return h2


def compared(
    rendering: Rendering,
    url: str,
    http1: tuple[ProbeOutcome, HandshakeReport],
    http2: H2Probe,
) -> ProbeOutcome:
    """probe --compare: HTTP/1.1 and HTTP/2 side by side; the outcome the exit code follows."""
    from wsaccept_cli.core.compare import Comparison, Side

    sides = Side("HTTP/1.1", *http1), Side("HTTP/2", http2.outcome, http2.report)
    comparison = Comparison(url, *sides)
    rendering.comparison(comparison)
    return comparison.outcome


def fault_names() -> list[str]:
    from wsaccept_cli.core.faults import FAULTS

    return [fault.name for fault in FAULTS]


class FaultChoice(click.Choice):  # type: ignore[type-arg]
    """The fault names, listed only when help or an error needs them (start-up stays fast)."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return fault_names()

    @choices.setter
    def choices(self, value: object) -> None:
        pass


@cli.command(
    short_help="Serve handshakes to test WebSocket clients, or relay and check both sides.",
    context_settings={"allow_interspersed_args": False},
)
@click.argument("command", nargs=-1, metavar="[-- CMD [ARG]...]")
@click.option(
    "--listen",
    default="127.0.0.1:0",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to listen; port 0 lets the OS pick. The first line printed is the URL.",
)
@click.option(
    "--cert",
    type=FilePath(exists=True),
    metavar="FILE",
    help="TLS certificate chain (PEM) to serve wss://; needs --key.",
)
@click.option(
    "--key", type=FilePath(exists=True), metavar="FILE", help="The certificate's private key (PEM)."
)
@click.option(
    "--once",
    is_flag=True,
    help="End after one connection; its verdict is the exit status (0 pass, 1 fail).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    type=FaultChoice(),
    metavar="NAME",
    help="Answer with this deliberate fault (repeatable: connections take turns;"
    " with --check-client, the faults to run). See --list-faults.",
)
@click.option(
    "--list-faults",
    is_flag=True,
    help="List the faults, each with what a correct client must do, and exit.",
)
@click.option(
    "--grace",
    type=float,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    callback=finite_seconds,
    help="A client that keeps the connection open this long"
    " without a frame has accepted the answer.",
)
@click.option(
    "--check-client",
    is_flag=True,
    help="Run CMD once against the correct handshake"
    " and once per fault ({url} in its arguments, and WSACCEPT_URL, is the URL) and"
    " print a scoreboard; exit 0 when it did what a correct client does every time.",
)
@click.option(
    "--timeout",
    type=float,
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    callback=finite_seconds,
    help="--check-client: how long one run of CMD may take; then it is killed.",
)
@click.option(
    "--junit",
    type=FilePath(),
    metavar="FILE",
    help="--check-client: write a JUnit XML report, one test case per fault.",
)
@click.option(
    "--upstream",
    metavar="URL",
    help="Relay to this ws:// or wss:// server: check"
    " the client's request and the server's response, forward frames byte for byte.",
)
@click.option("--insecure", is_flag=True, help="--upstream wss://: skip certificate checks.")
@click.option(
    "--cacert",
    type=FilePath(exists=True),
    callback=pem_file,
    metavar="FILE",
    help="--upstream wss://: trust the CA certificates in FILE (PEM).",
)
@verbose_option
@output_options
@click.pass_context
def serve(
    ctx: click.Context,
    command: tuple[str, ...],
    listen: str,
    cert: str | None,
    key: str | None,
    once: bool,
    faults: tuple[str, ...],
    list_faults: bool,
    grace: float,
    check_client: bool,
    timeout: float,
    junit: str | None,
    upstream: str | None,
    insecure: bool,
    cacert: str | None,
    verbose: bool,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Serve WebSocket handshakes to test clients, or relay to a server and check both sides.

    Answers each client with the correct handshake, or with --fault a deliberate fault, checks
    the client's request with the request rules and reports what the client did with the
    answer: a client that sent a frame, or kept the connection open for --grace seconds,
    accepted it; one that closed without a frame refused it. After a correct upgrade it echoes
    messages, answers pings and closes politely. Runs until Ctrl-C, or --once.

    \b
    Exit status: 0 the client (or the relayed handshake) passed; 1 it
    failed; 2 usage error; 130 Ctrl-C.

    \b
    Examples:
      wsaccept serve --once --fault accept-sha256
      wsaccept serve --check-client -- python3 my_client.py {url}
      wsaccept serve --listen 127.0.0.1:8081 --upstream ws://127.0.0.1:8080/ws
    """
    from wsaccept_cli.core.faults import BY_NAME, FAULTS

    chosen = tuple(BY_NAME[name] for name in faults)
    session = start(ctx, fmt, color, verbose=verbose)
    if list_faults:
        from wsaccept_cli.ui.serve_output import fault_list

        session.emit(fault_list(session, chosen or FAULTS))
        ctx.exit(ExitCode.OK)
    options, address = serve_options(
        listen,
        cert,
        key,
        grace,
        upstream,
        insecure,
        cacert,
        chosen,
        check_client,
        command,
        once,
        junit,
    )
    if check_client:
        ctx.exit(
            run_check_client(session, command, chosen or FAULTS, options, address, timeout, junit)
        )
    ctx.exit(run_serve(session, options, address, once))


def serve_options(
    listen: str,
    cert: str | None,
    key: str | None,
    grace: float,
    upstream: str | None,
    insecure: bool,
    cacert: str | None,
    faults: tuple[Any, ...],
    check_client: bool,
    command: tuple[str, ...],
    once: bool,
    junit: str | None,
) -> tuple[Any, tuple[str, int]]:
    """The server's options from serve's, or a usage error saying which do not go together."""
    import ssl

    from wsaccept_cli.net.serve import ServeOptions, listen_address, server_tls

    if command and not check_client:
        raise click.UsageError("a command is run only with --check-client")
    if check_client and not command:
        raise click.UsageError("--check-client needs a command after '--', e.g. -- CMD {url}")
    if junit and not check_client:
        raise click.UsageError("--junit goes with --check-client")
    if check_client and (once or upstream):
        raise click.UsageError("--check-client cannot be combined with --once or --upstream")
    if upstream and faults:
        raise click.UsageError("--upstream relays the server's own answer; it takes no --fault")
    if (cert is None) != (key is None):
        raise click.UsageError("--cert and --key go together")
    try:
        address = listen_address(listen)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--listen'") from None
    options = ServeOptions(faults=faults, grace=grace)
    if cert is not None and key is not None:
        try:
            options.tls = server_tls(cert, key)
        except (OSError, ssl.SSLError) as error:
            raise InputError(f"cannot use --cert {cert} --key {key}: {error}") from None
    if upstream is not None:
        from wsaccept_cli.core.request import RequestError, RequestTarget

        try:
            options.upstream = RequestTarget(upstream)
        except RequestError as error:
            raise InputError(f"--upstream: {error}") from None
        context = ssl.create_default_context(cafile=cacert)
        if insecure:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        options.upstream_tls = context
    return options, address


def run_serve(session: Session, options: Any, address: tuple[str, int], once: bool) -> int:
    """Serve (or relay) until Ctrl-C, or one connection with --once; each connection's report
    is written as its verdict is known."""
    import asyncio

    from wsaccept_cli.net.serve import run_server
    from wsaccept_cli.ui import serve_output
    from wsaccept_cli.ui.writer import GUARD

    GUARD.install()  # Ctrl-C and SIGTERM unwind the server (and a client's process group)

    def listening(url: str) -> None:
        session.emit(serve_output.listening(session, url))

    def result(connection: Any) -> None:
        session.emit(serve_output.connection(session, connection))

    try:
        served = asyncio.run(run_server(*address, options, listening, result, once=once))
    except OSError as error:
        raise InputError(
            f"cannot listen on {address[0]}:{address[1]}: {error.strerror or error}"
        ) from None
    if served is None:  # pragma: no cover - run_server returns only with once
        return ExitCode.OK
    verdict = serve_output.connection_report(served).verdict
    return ExitCode.CHECK_FAILED if verdict == "fail" else ExitCode.OK


def run_check_client(
    session: Session,
    command: tuple[str, ...],
    faults: Any,
    options: Any,
    address: tuple[str, int],
    timeout: float,
    junit: str | None,
) -> int:
    """Run the client command once per fault, print the scoreboard, write the JUnit file."""
    import asyncio

    from wsaccept_cli.net.checkclient import check_client
    from wsaccept_cli.ui import serve_output
    from wsaccept_cli.ui.writer import GUARD

    GUARD.install()  # Ctrl-C and SIGTERM unwind the runs: the client's process group is killed

    def listening(url: str) -> None:
        session.emit(serve_output.listening(session, url))

    def scored(run: Any) -> None:
        session.emit(serve_output.score_row(session, run.row))

    try:
        runs = asyncio.run(
            check_client(
                command,
                faults,
                options,
                host=address[0],
                port=address[1],
                timeout=timeout,
                on_listening=listening,
                on_run=scored,
            )
        )
    except OSError as error:
        raise InputError(
            f"cannot listen on {address[0]}:{address[1]}: {error.strerror or error}"
        ) from None
    rows = [run.row for run in runs]
    session.emit(serve_output.score_summary(session, rows))
    if junit is not None:
        report = serve_output.junit(rows, [r.output for r in runs], [r.seconds for r in runs])
        try:
            with open(junit, "wb") as file:
                file.write(report)
        except OSError as error:
            raise InputError(f"cannot write {junit}: {error.strerror or error}") from None
    failed = any(row.status == "fail" for row in rows)
    return ExitCode.CHECK_FAILED if failed else ExitCode.OK


@cli.command(short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL: commands, options, their choices and file names
    complete at <TAB>. Load it from your shell's start-up file.

    \b
    Examples:
      eval "$(wsaccept completion bash)"     # in ~/.bashrc
      eval "$(wsaccept completion zsh)"      # in ~/.zshrc, after compinit
      wsaccept completion fish > ~/.config/fish/completions/wsaccept.fish
    """
    from wsaccept_cli.completion import completion_script

    start(ctx, "plain", False).stdout.write(completion_script(shell).encode())


def main() -> None:
    """The console script: click's main, and what happens around it.

    Errors are shown through the display boundary (click's usage errors echo arguments). A
    Ctrl-C or SIGTERM ends wsaccept by that signal itself, after its whole lines, so that a
    calling shell loop, xargs or make stops too. Help or version text that stdout would not take
    is one line and exit 74 (141, quietly, for a closed pipe), not a traceback.
    """
    import sys

    from wsaccept_cli.ui.text import DisplayStream
    from wsaccept_cli.ui.writer import end_by_signal

    try:
        code = cli.main(prog_name="wsaccept", standalone_mode=False)
    except click.ClickException as error:
        if sys.stderr is not None:
            with suppress(OSError, ValueError):
                error.show(DisplayStream(sys.stderr))  # type: ignore[arg-type]
        code = error.exit_code
    except (click.Abort, KeyboardInterrupt):  # Ctrl-C before or after a command ran
        code = ExitCode.INTERRUPTED
    end_by_signal(code)
    sys.exit(code)

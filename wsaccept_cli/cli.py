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
from wsaccept_cli.fastclick import FilePath, Group, version_option
from wsaccept_cli.ui.environment import FORMATS, Environment
from wsaccept_cli.ui.session import BlockWork, Rendering, Session
from wsaccept_cli.ui.text import display
from wsaccept_cli.ui.writer import OutputError, TerminatedError, discard_stdout

if TYPE_CHECKING:
    from wsaccept_cli.core.handshake import Capture
    from wsaccept_cli.core.lines import Block, OverlongLine
    from wsaccept_cli.core.results import Item

GENKEY_BATCH = 8192
# --timeout: long enough for any real server, short enough that a typo (1e9) is caught.
MAX_TIMEOUT = 24 * 3600.0

F = TypeVar("F", bound=Callable[..., Any])


class InputError(click.ClickException):
    """Input that cannot be read at all: exit 2, one line on stderr."""

    exit_code = ExitCode.USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"wsaccept: error: {display(self.format_message())}", err=True)


class WsacceptGroup(Group):
    """Maps Ctrl-C, SIGTERM, a closed stdout and a failed write to their exit codes."""

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
) -> Session:
    """The session a command reports through; a closed stdout is an InputError."""
    env = environment(ctx)
    if env.stdout is None:
        raise InputError("stdout is closed")
    return Session.open(env, fmt, color, strict=strict, quiet=quiet, required=required)


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
@click.pass_context
def cli(ctx: click.Context) -> None:
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
    """
    environment(ctx)


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


@cli.command()
@click.argument("capture", required=False, metavar="[FILE|-]", type=FilePath(allow_dash=True))
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

    if capture is None:
        stdin_or_usage_error(ctx, "FILE")
    session = start(ctx, fmt, color)
    rendering = session.rendering()
    found = Capture()
    with open_capture(ctx, capture) as (stream, name):
        try:
            for number, handshake in enumerate(read_capture(reading(stream, name), found), 1):
                rendering.handshake(inspect_handshake(number, handshake, found))
                session.emit(rendering.take())
        except CaptureError as error:
            raise InputError(str(error)) from None
    if session.tally.empty:
        raise NoHandshakeError(found)
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


def finite_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A timeout must be a number of seconds a clock can count down: not nan, not infinite."""
    if value != value or not 0 < value <= MAX_TIMEOUT:  # value != value: nan
        raise click.BadParameter(
            f"{value!r} is not a number of seconds between 0 and {MAX_TIMEOUT:g}"
        )
    return value


def pem_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--cacert must hold PEM certificates: found out before connecting, not as a TLS failure."""
    if value is None:
        return None
    if not os.path.isfile(value):  # a FIFO or a device would be read until it ends, or for ever
        raise click.BadParameter(f"{value!r} is not a regular file")
    import ssl

    try:
        ssl.create_default_context(cafile=value)
    except (OSError, ssl.SSLError, ValueError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise click.BadParameter(f"{value!r} holds no PEM certificate ({reason})") from None
    return value


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
    type=float,
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    callback=finite_seconds,
    help="Give up when the whole exchange (resolve, connect, TLS, response head) takes longer.",
)
@click.option("--insecure", is_flag=True, help="Skip TLS certificate checks (wss://).")
@click.option(
    "--cacert",
    type=FilePath(exists=True),
    callback=pem_file,
    metavar="FILE",
    help="Trust the CA certificates in FILE (PEM) for wss://.",
)
@click.option(
    "--ws-key",
    "--key",
    "key",
    metavar="KEY",
    help="Send this Sec-WebSocket-Key instead of a fresh one.",
)
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Print credentials (Authorization, Cookie, Proxy-Authorization, a URL's password) and"
    " Set-Cookie values instead of redacting them.",
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
    from wsaccept_cli.core.request import RequestError, probe_request
    from wsaccept_cli.core.secrets import redact_exchange
    from wsaccept_cli.net.probe import outcome, probe_report, run_probe
    from wsaccept_cli.ui.views import ProbeView

    try:
        target, request = probe_request(
            url, headers, origin=origin, protocols=protocols, extensions=extensions, key=key
        )
    except RequestError as error:
        raise InputError(str(error)) from None
    session = start(ctx, fmt, color)
    shown_url = target.full_url if show_secrets else target.display_url
    result = run_probe(
        target, request, timeout=timeout, insecure=insecure, cacert=cacert, url=shown_url
    )
    report = probe_report(result)
    exchange = (result.request, result.response)
    if not show_secrets:
        exchange = redact_exchange(target, result.request, result.response, report)
    session.tally.outcome = ended = outcome(result, report)
    rendering = session.rendering()
    rendering.probe(ProbeView(*exchange, report, ended, result.address, result.timings))
    session.emit(rendering.take())
    ctx.exit(session.finish("probe"))


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


@cli.command(context_settings={"allow_interspersed_args": False})
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
      wsaccept serve
      wsaccept serve --once --fault accept-sha256
      wsaccept serve --check-client -- python3 my_client.py {url}
      wsaccept serve --listen 127.0.0.1:8081 --upstream ws://127.0.0.1:8080/ws
    """
    from wsaccept_cli.core.faults import BY_NAME, FAULTS

    chosen = tuple(BY_NAME[name] for name in faults)
    session = start(ctx, fmt, color)
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

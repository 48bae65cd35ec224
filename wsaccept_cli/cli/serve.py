"""serve: answer clients' handshakes (correctly or with a deliberate fault), run a client
command against each fault (--check-client), or relay to a server and check both sides."""

from __future__ import annotations

from typing import Any

import click

from wsaccept_cli.cli.base import InputError, WsacceptCommand, start
from wsaccept_cli.cli.options import (
    CORRECT,
    STAGES,
    FaultChoice,
    finite_seconds,
    options,
    output_options,
    pem_file,
    pem_key_file,
    verbose_option,
    writable_or_usage_error,
)
from wsaccept_cli.completion import complete_client_command
from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.fastclick import FilePath
from wsaccept_cli.ui.session import Session


@click.command(cls=WsacceptCommand, context_settings={"allow_interspersed_args": False})
@click.argument(
    "command", nargs=-1, metavar="[-- CMD [ARG]...]", shell_complete=complete_client_command
)
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
    callback=pem_key_file,
    metavar="FILE",
    help="TLS certificate chain (PEM) to serve wss://; needs --key.",
)
@click.option(
    "--key",
    type=FilePath(exists=True),
    callback=pem_key_file,
    metavar="FILE",
    help="The certificate's private key (PEM).",
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
    " with --check-client, the faults to run); 'handshake' or 'frame' for every fault of"
    " that kind. See --list-faults.",
)
@click.option(
    "--list-faults",
    is_flag=True,
    help="List the faults, each with what a correct client must do, and exit: those of the"
    " handshake, then those of the frames after a correct 101.",
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
@options("show_secrets")
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
    show_secrets: bool,
    verbose: bool,
    fmt: str | None,
    color: bool | None,
) -> None:
    """Serve WebSocket handshakes to test clients, or relay to a server and check both sides.

    Answers each client with the correct handshake, or with --fault a deliberate fault, checks
    the client's request with the request rules and reports what the client did with the
    answer: a client that sent a frame, or kept the connection open for --grace seconds,
    accepted it; one that closed without a frame refused it. A frame fault follows a correct
    101 with broken frames (a masked frame, a reserved opcode, invalid UTF-8, a bad Close
    code...) and judges the client's answer on the wire: the code of its Close, its Pong, its
    TCP close. After a correct upgrade it echoes messages, answers pings and closes politely.
    Runs until Ctrl-C, or --once.

    \b
    Exit status: 0 the client (or the relayed handshake) passed; 1 it
    failed; 2 usage error; 130 Ctrl-C.

    \b
    Examples:
      wsaccept serve --once --fault accept-sha256
      wsaccept serve --check-client -- python3 my_client.py {url}
      wsaccept serve --listen 127.0.0.1:8081 --upstream ws://127.0.0.1:8080/ws
    """
    from wsaccept_cli.core.frame_faults import ALL_BY_NAME, ALL_FAULTS

    chosen = tuple(
        fault
        for name in faults
        for fault in (
            [f for f in ALL_FAULTS if f.stage == name]
            if name in STAGES
            else [None]
            if name == CORRECT
            else [ALL_BY_NAME[name]]
        )
    )
    # --fault none is the correct answer: with --check-client it always runs first, so it is no
    # run of its own; for the server it takes its turn like a fault
    real = tuple(fault for fault in chosen if fault is not None)
    session = start(ctx, fmt, color, verbose=verbose)
    if list_faults:
        from wsaccept_cli.ui.serve_output import fault_list

        session.emit(fault_list(session, real or ALL_FAULTS))
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
        runs = real if faults else ALL_FAULTS
        ctx.exit(run_check_client(session, command, runs, options, address, timeout, junit))
    ctx.exit(run_serve(session, options, address, once, show_secrets))


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
    if junit:
        writable_or_usage_error(junit)
    if check_client and (once or upstream):
        raise click.UsageError("--check-client cannot be combined with --once or --upstream")
    if upstream and any(fault.stage != "frame" for fault in faults):
        raise click.UsageError(
            "--upstream relays the server's own handshake; it takes only frame faults"
            " (--fault frame, or their names: see --list-faults)"
        )
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


def run_serve(
    session: Session, options: Any, address: tuple[str, int], once: bool, show_secrets: bool
) -> int:
    """Serve (or relay) until Ctrl-C, or one connection with --once; each connection's report
    is written as its verdict is known."""
    import asyncio

    from wsaccept_cli.net.serve import run_server
    from wsaccept_cli.ui import serve_output
    from wsaccept_cli.ui.writer import GUARD, ReaderWatch

    GUARD.install()  # Ctrl-C and SIGTERM unwind the server (and a client's process group)

    watch = ReaderWatch(session.stdout)
    options.notice = lambda text: session.diagnostics.summary("warning", text)

    def listening(url: str) -> None:
        watch.emitting(lambda: session.emit(serve_output.listening(session, url)))

    def result(connection: Any) -> None:
        watch.emitting(
            lambda: session.emit(serve_output.connection(session, connection, show_secrets))
        )

    try:
        served = asyncio.run(watch.run(run_server(*address, options, listening, result, once=once)))
    except BrokenPipeError:
        raise
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
    from wsaccept_cli.ui.writer import GUARD, ReaderWatch

    GUARD.install()  # Ctrl-C and SIGTERM unwind the runs: the client's process group is killed

    watch = ReaderWatch(session.stdout)

    def listening(url: str) -> None:
        watch.emitting(lambda: session.emit(serve_output.listening(session, url)))

    def scored(run: Any) -> None:
        watch.emitting(lambda: session.emit(serve_output.score_row(session, run.row, run.output)))

    try:
        runs = asyncio.run(
            watch.run(
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
        )
    except BrokenPipeError:
        raise
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

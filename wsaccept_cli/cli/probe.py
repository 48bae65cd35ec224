"""probe: check a live server's opening handshake, one URL (over HTTP/1.1, HTTP/2 or both) or
many at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from wsaccept_cli.cli.base import InputError, command, environment, start
from wsaccept_cli.cli.options import (
    clients_option,
    connection_settings,
    handshake_options,
    options,
    output_options,
    verbose_option,
)
from wsaccept_cli.core.exitcodes import ExitCode
from wsaccept_cli.fastclick import FilePath
from wsaccept_cli.ui.session import Rendering, Session

if TYPE_CHECKING:
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.request import RequestTarget
    from wsaccept_cli.core.rules import HandshakeReport
    from wsaccept_cli.net.endpoint import Checked, Settings
    from wsaccept_cli.net.h2probe import H2Probe
    from wsaccept_cli.net.recording import Recorder


@command()
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
@handshake_options
@options("hold", "ping", "send", "show_secrets")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=1, max=24 * 3600),
    is_flag=False,
    flag_value=300.0,
    default=None,
    metavar="[MAX]",
    help="Hold a silent connection until something ends it (up to MAX s, default 300): report"
    " the idle timeout, who ended it and the likely intermediary, and prove the fix (pings at"
    " a third of it keep a second connection open).",
)
@click.option(
    "--save",
    type=FilePath(),
    metavar="FILE",
    help="Write the exchange (request, response, frames of --hold/--ping/--send) to FILE as"
    " pcapng, with made-up addresses and TCP, for a bug report: 'wsaccept inspect FILE' and"
    " Wireshark read it. One URL, over HTTP/1.1.",
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
@clients_option
@output_options
@click.pass_context
def probe(ctx: click.Context, /, urls: tuple[str, ...], url_file: str | None, parallel: int,
          **values: Any) -> None:  # fmt: skip
    """Check a live server's opening handshake over ws:// or wss://.

    Sends a handshake with a fresh key, reads the response head (at most 64 KiB, within
    --timeout), checks it with the rules of 'wsaccept inspect', prints the request, the response
    and the findings. Interim 1xx responses are read past. After a good 101 it completes the
    closing handshake (a connection dropped without a Close frame fails); after a 101 the rules
    fail, it closes TCP without a Close frame, as RFC 6455 section 4.1 has a client do.
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
    http2, compare = values.pop("http2"), values.pop("compare")
    save = values.pop("save")
    if save is not None and (http2 or compare or len(urls) != 1 or url_file is not None):
        raise click.UsageError("--save records one URL's exchange over HTTP/1.1")
    if (http2 or compare) and (len(urls) != 1 or url_file is not None):
        raise click.UsageError("--http2 and --compare probe one URL")
    if (http2 or compare) and (
        values["follow"] or any(values[name] is not None for name in ("hold", "ping", "send"))
    ):
        raise click.UsageError("-L, --hold, --ping and --send work over HTTP/1.1 only")
    try:
        settings = connection_settings(environment(ctx).environ, values)
    except PinError as error:
        raise click.UsageError(str(error)) from None
    session = start(
        ctx, values["fmt"], values["color"], verbose=values["verbose"], clients=values["clients"]
    )
    idle = values.pop("idle_timeout")
    if idle is not None and (http2 or compare or len(urls) != 1 or url_file is not None or any(
            values[name] is not None for name in ("hold", "ping", "send"))):  # fmt: skip
        raise click.UsageError("--idle-timeout probes one URL over HTTP/1.1, without --hold,"
                               " --ping or --send")  # fmt: skip
    if len(urls) == 1 and url_file is None:
        settings.progress = probe_progress(ctx, values["color"]) or settings.progress
        if settings.hold is not None:
            from wsaccept_cli.ui.writer import GUARD

            GUARD.install()  # Ctrl-C during the hold: a KeyboardInterrupt, the report so far
            settings.hold.on_event = held_events(ctx)
        recorder = settings.recorder = recording(save)
        try:
            probe_one(session, urls[0], settings, http2=http2, compare=compare, idle=idle)
        except (RequestError, ProxyError) as error:
            raise InputError(str(error)) from None
        if recorder is not None and save is not None:
            saved(session, recorder, save)
    else:
        probe_many(ctx, session, urls, url_file, settings, parallel)
    ctx.exit(session.finish("probe"))


def recording(save: str | None) -> Recorder | None:
    from wsaccept_cli.net.recording import Recorder

    return None if save is None else Recorder()


def saved(session: Session, recorder: Recorder, path: str) -> None:
    """Write the recorded exchange as pcapng; an error if the file cannot be written."""
    import time

    from wsaccept_cli.capture.write import exchange_pcapng

    data = exchange_pcapng(recorder.events, recorder.ports, time.time())
    try:
        with open(path, "wb") as file:
            file.write(data)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    if recorder.cut:
        session.diagnostics.summary(
            "warning", f"{path} holds the first 16 MiB of the exchange; the rest was not saved"
        )
    if not recorder.ports:
        session.diagnostics.summary("warning", f"{path} holds no connection: none was made")


def probe_one(
    session: Session,
    url: str,
    settings: Settings,
    *,
    http2: bool = False,
    compare: bool = False,
    idle: float | None = None,
) -> None:
    """One URL: its whole report (over HTTP/2 with --http2; over both, compared, with
    --compare; its idle timeout measured, with --idle-timeout)."""
    from wsaccept_cli.net.endpoint import check
    from wsaccept_cli.ui.views import ProbeView

    if http2 and not compare:  # over HTTP/2 alone (RFC 8441)
        target, request = settings.request(url, settings.headers)
        rendering = session.rendering()
        session.tally.outcome = probe_http2(rendering, target, request, settings).outcome
        session.emit(rendering.take())
        return
    extra: dict[str, Any] = {}
    if idle is not None:
        from wsaccept_cli.net.idle import measure_idle

        checked, record = measure_idle(url, settings, idle)
        if record is not None:
            idle_report(checked, record)
        extra["idle_timeout"] = record
    else:
        checked = check(url, settings)
    session.tally.outcome = checked.outcome
    result = checked.result
    view = ProbeView(
        checked.request, checked.response, checked.report, checked.outcome,
        result.address, result.timings, {**checked.extra(), **extra}, sent=result.sent,
    )  # fmt: skip
    rendering = session.rendering()
    rendering.probe(view)
    if compare:  # the same URL over HTTP/2, and the two verdicts side by side
        target, request = settings.request(url, settings.headers)
        http1 = (checked.outcome, checked.report)
        http2_probe = probe_http2(rendering, target, request, settings)
        session.tally.outcome = compared(rendering, checked.url, http1, http2_probe)
    session.emit(rendering.take())
    held = checked.result.held
    if isinstance(held, dict) and held["ended"] == "interrupted":
        raise KeyboardInterrupt  # the report so far is out: end by the signal


def idle_report(checked: Checked, record: dict[str, Any]) -> None:
    """The measuring connection's end is the finding, not a failure: its session findings
    give way to those of --idle-timeout, and the verdict follows them."""
    from wsaccept_cli.core.idle import idle_findings
    from wsaccept_cli.core.outcomes import ProbeOutcome
    from wsaccept_cli.core.rules import FAIL, verdict

    report = checked.report
    report.findings = [f for f in report.findings if not f.rule.startswith("session.")]
    report.findings += idle_findings(record)
    report.verdict = verdict(report.findings)
    if checked.result.error is None:
        failed = report.verdict == FAIL
        checked.outcome = ProbeOutcome.HANDSHAKE_FAILED if failed else ProbeOutcome.OK


def probe_many(
    ctx: click.Context,
    session: Session,
    urls: tuple[str, ...],
    url_file: str | None,
    settings: Settings,
    parallel: int,
) -> None:
    """Several URLs, probed `parallel` at once, reported in input order: JSON one object
    each, plain one line each, a table on a terminal; the worst outcome is the exit status.
    Plain and JSON spread the probes over the CPUs (stream.spread); each record is rendered
    where its probe ran."""
    from contextlib import nullcontext
    from functools import partial

    from wsaccept_cli.net.many import checked_or_why, worst
    from wsaccept_cli.stream.parallel import usable_cpus
    from wsaccept_cli.stream.spread import spread, threaded
    from wsaccept_cli.ui.inputs import open_input, url_lines
    from wsaccept_cli.ui.many import ManyWriter, ProbeRecord, probe_record

    writer = ManyWriter(session.spec.fmt)
    session.stdout.write(writer.start())

    def work(line: tuple[str, str]) -> ProbeRecord:
        return probe_record(session, writer, line, checked_or_why(line[1], settings))

    outcomes = []
    bad = 0
    opened = open_input(environment(ctx), url_file) if url_file else nullcontext((None, ""))
    with opened as (read, name):
        lines = url_lines(urls, read, name)
        if writer.table:
            records = threaded(lines, work, parallel)
        else:
            warn = partial(session.diagnostics.summary, "warning")
            records = spread(
                lines, work, parallel=parallel, jobs=usable_cpus(), warn=warn,
                pool=partial(_looped, settings),
            )  # fmt: skip
        for where, outcome, record in records:
            if outcome is None:
                bad += 1
                session.diagnostics.say("error", where, record)
                continue
            outcomes.append(outcome)
            if isinstance(record, bytes):
                session.stdout.write(record)
            else:
                session.emit(record)
    session.stdout.write(writer.end(outcomes, bad))
    session.tally.results += len(outcomes)
    session.tally.outcome = worst(outcomes)
    if bad:
        session.diagnostics.summary("error", f"{bad} URL{'s' if bad != 1 else ''} skipped")
        session.tally.outcome = None
        session.tally.bad_lines = bad
        ctx.exit(ExitCode.USAGE)


def _looped(
    settings: Settings, work: Callable[[Any], Any], size: int, done: Any, selector: Any
) -> Any:
    """A process's pool for `probe --file` (stream.spread's PoolMaker, `settings` bound): its
    (where, URL) lines probed on an event loop when net.many.on_loop says so, else on
    threads beside it."""
    from wsaccept_cli.net.cooperative import Pool
    from wsaccept_cli.net.many import on_loop, preload
    from wsaccept_cli.stream.spread import Threads

    preload()  # here, once the workers are forked: each process imports it at the same time

    def takes(line: tuple[str, str]) -> bool:
        return on_loop(line[1], settings)

    return Pool(work, done, selector, takes, Threads(work, size, done, selector))


def held_events(ctx: click.Context) -> Callable[[dict[str, Any]], None] | None:
    """--hold/--ping/--send at a terminal: each event on stderr as it happens (the report
    still comes whole on stdout at the end)."""
    env = environment(ctx)
    stderr = env.stderr
    if stderr is None or not env.stderr_is_terminal():
        return None

    def show(event: dict[str, Any]) -> None:
        from wsaccept_cli.ui.conversation import held_line

        stderr.write(held_line(event) + "\n")
        stderr.flush()

    return show


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
    from wsaccept_cli.core.compare import Comparison, Side, browsers_use_http2

    sides = Side("HTTP/1.1", *http1), Side("HTTP/2", http2.outcome, http2.report)
    counts = browsers_use_http2(url, http2.settings)
    comparison = Comparison(url, *sides, http2_counts=counts)
    rendering.comparison(comparison)
    return comparison.outcome

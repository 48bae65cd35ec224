"""audit: a server handshake conformance and security suite, many deliberate requests to one
server, each case with a stable ID and an outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from wsaccept_cli.cli.base import InputError, command, environment, start
from wsaccept_cli.cli.options import (
    CONNECTION,
    connection_settings,
    finite_seconds,
    options,
    output_options,
    verbose_option,
)
from wsaccept_cli.fastclick import FilePath

if TYPE_CHECKING:
    from wsaccept_cli.core.audit.model import Case

AUDIT_CONNECTION = tuple(name for name in CONNECTION if name not in ("follow", "max_redirs"))


def non_negative_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value != value or not 0 <= value <= 60:
        raise click.BadParameter(f"{value!r} is not a number of seconds between 0 and 60")
    return value


@command()
@click.argument("url", required=False, metavar="URL")
@click.option("--list-cases", is_flag=True, help="Print every case (ID, category, section,"
              " title) without connecting.")  # fmt: skip
@click.option("--case", "case_ids", multiple=True, metavar="ID",
              help="Run this case only (repeatable), e.g. key.3.")  # fmt: skip
@click.option("--category", "categories", multiple=True, metavar="NAME",
              help="Run this category only (repeatable), e.g. host.")  # fmt: skip
@click.option(
    "--timeout", type=float, default=5.0, show_default=True, metavar="SECONDS",
    callback=finite_seconds, help="Give up on a case after SECONDS (that case's outcome says so).",
)  # fmt: skip
@click.option(
    "--parallel", type=click.IntRange(min=1, max=32), default=4, show_default=True, metavar="N",
    help="Run up to N cases at once, each on its own connection.",
)  # fmt: skip
@click.option(
    "--delay", type=float, default=0.0, show_default=True, metavar="SECONDS",
    callback=non_negative_seconds, help="Wait SECONDS between the start of two connections.",
)  # fmt: skip
@click.option(
    "--http2", is_flag=True,
    help="Also run the HTTP/2 cases (RFC 8441): TLS with ALPN h2 for wss://, cleartext with"
    " prior knowledge for ws://.",
)  # fmt: skip
@options("headers", "origin", "protocols", "extensions")
@options(*AUDIT_CONNECTION)
@click.option(
    "--junit", type=FilePath(), metavar="FILE",
    help="Also write a JUnit XML report: one test case per case, FAILED as failures.",
)  # fmt: skip
@click.option(
    "--html", "html_file", type=FilePath(), metavar="FILE",
    help="Also write one self-contained HTML page with every case, filterable.",
)  # fmt: skip
@verbose_option
@output_options
@click.pass_context
def audit(ctx: click.Context, /, url: str | None, **values: Any) -> None:
    """Audit a WebSocket server's handshake: many deliberate requests, one per connection.

    Sends each case of the suite (the request line, Host, Upgrade and Connection, the key, the
    version, body and smuggling shapes, limits, subprotocols, RFC 7692 extensions, Origin, the
    first frames after the 101; with --http2 the RFC 8441 cases too) to the server and judges
    its answer by RFC 6455, 7692, 8441, 9110 and 9112: OK, NON-STRICT (allowed, but not what
    the RFC recommends or a strict peer accepts), FAILED (a MUST broken, or a security
    weakness), INFORMATIONAL (worth knowing, no rule), UNIMPLEMENTED (an optional feature
    absent). Each case has a stable ID. Plain output shows every case that is not OK (all
    with -v), a table per category and the counts; --format json one object with every case.
    Give the session a browser would have (-H 'Cookie: ...' or -H 'Authorization: ...') and a
    foreign Origin that is accepted with it is FAILED (cross-site WebSocket hijacking); without
    one it is INFORMATIONAL.

    \b
    Exit status: 0 no case FAILED; 1 at least one FAILED; 3 no connection
    (DNS, refused, unreachable); 4 TLS failed; 5 no connection, or no
    answer to the valid handshake, within --timeout; 6 the proxy failed;
    2 usage error.

    \b
    Examples:
      wsaccept audit ws://localhost:8080/chat
      wsaccept audit --category host --category key -v ws://localhost:8080/chat
      wsaccept audit --html audit.html -H 'Cookie: s=...' --http2 wss://app.example/ws
    """
    from wsaccept_cli.core.audit import catalogue, h2_catalogue

    every = catalogue() + (h2_catalogue() if values.pop("http2") else ())
    chosen = choose(every, values.pop("case_ids"), values.pop("categories"))
    fmt = values["fmt"]
    if values.pop("list_cases"):
        from wsaccept_cli.ui.audit import case_list

        session = start(ctx, fmt, values["color"])
        session.stdout.write(case_list(chosen, session.spec.fmt))
        ctx.exit(0)
    if url is None:
        raise click.UsageError("give a ws:// or wss:// URL (or --list-cases)")
    ctx.exit(run(ctx, url, chosen, values))


def choose(
    cases: tuple[Case, ...], ids: tuple[str, ...], categories: tuple[str, ...]
) -> list[Case]:
    """The cases --case and --category name (all without either), in catalogue order; a usage
    error naming an ID or category that does not exist."""
    known_ids = {case.id for case in cases}
    known_categories = {case.category for case in cases}
    for case_id in ids:
        if case_id.startswith("h2.") and "h2" not in known_categories:
            raise click.BadParameter(
                f"{case_id!r} is an HTTP/2 case: add --http2", param_hint="--case"
            )
        if case_id not in known_ids:
            raise click.BadParameter(
                f"no case {case_id!r} (wsaccept audit --list-cases lists them)",
                param_hint="--case",
            )
    for name in categories:
        if name == "h2" and "h2" not in known_categories:
            raise click.BadParameter("the h2 cases need --http2", param_hint="--category")
        if name not in known_categories:
            raise click.BadParameter(
                f"no category {name!r}; the categories: {', '.join(sorted(known_categories))}",
                param_hint="--category",
            )
    if not ids and not categories:
        return list(cases)
    return [case for case in cases if case.id in ids or case.category in categories]


def run(ctx: click.Context, url: str, cases: list[Case], values: dict[str, Any]) -> int:
    """Run the cases and report them; the exit code."""
    from wsaccept_cli.core.audit.model import Server, exit_code
    from wsaccept_cli.core.pins import PinError
    from wsaccept_cli.core.proxyenv import ProxyError
    from wsaccept_cli.core.request import RequestError, parse_header_option, probe_request
    from wsaccept_cli.net.audit import UnreachableError, run_audit
    from wsaccept_cli.ui.audit import html, json_report, junit, plain_report

    values.update(follow=False, max_redirs=0, key=None)
    try:
        settings = connection_settings(environment(ctx).environ, values)
    except PinError as error:
        raise click.UsageError(str(error)) from None
    try:
        target, _ = probe_request(
            url,
            values["headers"],
            origin=values["origin"],
            protocols=values["protocols"],
            extensions=values["extensions"],
        )
        route = settings.route(target)
    except (RequestError, ProxyError) as error:
        raise InputError(str(error)) from None
    headers = [parse_header_option(header) for header in values["headers"]]
    if target.authorization is not None and not any(
        n.lower() == "authorization" for n, _ in headers
    ):
        headers.append(("Authorization", target.authorization))
    server = Server(
        host_header=target.host_header,
        path=target.path,
        secure=target.secure,
        headers=headers,
        origin=values["origin"],
        protocols=values["protocols"],
        extensions=values["extensions"],
    )
    session = start(ctx, values["fmt"], values["color"], verbose=values["verbose"])
    try:
        results = run_audit(
            cases, server, target, route,
            timeout=values["timeout"], parallel=values["parallel"], delay=values["delay"],
        )  # fmt: skip
    except UnreachableError as error:
        session.diagnostics.say("error", target.display_url, error.message)
        session.diagnostics.finish()
        return error.outcome.exit_code
    shown_url = target.display_url
    if session.spec.fmt == "json":
        session.stdout.write(json_report(shown_url, results))
    else:
        session.stdout.write(plain_report(shown_url, results, verbose=values["verbose"]))
    for path, make in ((values["junit"], junit), (values["html_file"], html)):
        if path is not None:
            write_file(path, make(shown_url, results))
    if server.baseline is False:
        session.diagnostics.say(
            "warning",
            shown_url,
            "the valid handshake (request.1) was not upgraded: the cases that must be upgraded"
            " tell little (give the path, -H or --origin the server needs)",
        )
    session.diagnostics.finish()
    return exit_code([result.outcome for result in results])


def write_file(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as file:
            file.write(data)
    except OSError as error:
        raise InputError(f"cannot write {path!r}: {error.strerror or error}") from None

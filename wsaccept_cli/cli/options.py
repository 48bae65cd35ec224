"""The options several commands share, each defined once and applied by name.

`OPTIONS` holds every shared option under the name of its parameter; `options(*names)` applies
them to a command, in that order. The groups a command takes whole have a decorator each:
`output_options` (every command), `handshake_options` (what a client sends and how it gets
there: request shaping, proxies, TLS; probe's, and any command that opens a handshake), with
`connection_settings` turning their values into the network code's `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wsaccept_cli.core.wording import quoted
from wsaccept_cli.fastclick import FilePath
from wsaccept_cli.ui.environment import FORMATS

if TYPE_CHECKING:
    from wsaccept_cli.net.endpoint import Settings

F = TypeVar("F", bound=Callable[..., Any])

# --timeout: long enough for any real server, short enough that a typo (1e9) is caught.
MAX_TIMEOUT = 24 * 3600.0


def from_group(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An output option not given to the command: the one given before it, if any
    (`wsaccept --format json compute KEY`)."""
    if value is None and ctx.parent is not None and param.name:
        return ctx.find_root().params.get(param.name)
    return value


def _folded(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


def client_names(value: str | None) -> tuple[str, ...] | None:
    """--clients: the registered client names a comma-separated list means (any case, spaces
    and dashes ignored: `node-ws` is Node ws); a usage error naming the known ones otherwise."""
    if value is None:
        return None
    from wsaccept_cli.core.clientmodels import names

    known = {_folded(name): name for name in names()}
    chosen = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if _folded(item) not in known:
            raise click.BadParameter(
                f"{item!r} is not a client wsaccept models; choose from {', '.join(names())}"
            )
        chosen.append(known[_folded(item)])
    if not chosen:
        raise click.BadParameter("name at least one client")
    return tuple(chosen)


def finite_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A timeout must be a number of seconds a clock can count down: not nan, not infinite."""
    if value != value or not 0 < value <= MAX_TIMEOUT:  # value != value: nan
        raise click.BadParameter(
            f"{value!r} is not a number of seconds between 0 and {MAX_TIMEOUT:g}"
        )
    return value


def optional_seconds(
    ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    """--hold and --ping: as --timeout when given."""
    return None if value is None else finite_seconds(ctx, param, value)


MAX_PEM = 1024 * 1024  # a certificate chain or a key; a larger file is the wrong file


def pem_key_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--cert/--key (and --cacert) must be regular files: a FIFO or a device would be read
    until it ends, or for ever."""
    if value is not None and not os.path.isfile(value):
        raise click.BadParameter(f"{value!r} is not a regular file")
    if value is not None and os.path.getsize(value) > MAX_PEM:
        size = f"{MAX_PEM // 1024 // 1024} MiB"
        raise click.BadParameter(f"{value!r} is over {size}; a PEM certificate or key is a few KiB")
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


Declaration = tuple[tuple[str, ...], dict[str, Any]]  # click.option's names, then its settings

OPTIONS: dict[str, Declaration] = {
    "color": (("--color/--no-color",), {
        "default": None, "callback": from_group,
        "help": "Colour rich output and the labels on stderr (plain and JSON output are never"
        " coloured). Default: on for a terminal, unless NO_COLOR is set; FORCE_COLOR turns it"
        " on in a pipe.",
    }),
    "fmt": (("--format", "fmt"), {
        "type": click.Choice(FORMATS), "default": None, "callback": from_group,
        "help": "plain: one value per line; json: JSON Lines; rich: a table."
        "  [default: rich on a terminal, plain in a pipe]",
    }),
    "verbose": (("-v", "--verbose"), {
        "is_flag": True,
        "help": "Show every rule checked, passes included, in the order checked (by default:"
        " failures, warnings and notes, with a count of every rule).",
    }),
    "clients": (("--clients",), {
        "metavar": "NAME,…", "default": None, "callback": lambda c, p, v: client_names(v),
        "help": "Name only these clients on the clients line (comma-separated, any case:"
        " Chromium, Firefox, node-ws, websockets, aiohttp, curl, …); JSON keeps every client.",
    }),
    "jobs": (("-j", "--jobs"), {
        "type": click.IntRange(min=1), "default": None, "metavar": "N",
        "help": "Processes to spread large stdin input over, this one included (output stays"
        " in input order); 1 keeps all work in one process.  [default: the usable CPUs, up to"
        " 8]",
    }),
    # Request shaping: what the handshake request says.
    "headers": (("-H", "--header", "headers"), {
        "multiple": True, "metavar": "'NAME: VALUE'",
        "help": "Add a request header (repeatable); one named like ours replaces ours.",
    }),
    "origin": (("--origin",), {"metavar": "ORIGIN", "help": "Send this Origin header."}),
    "protocols": (("--protocol", "protocols"), {
        "multiple": True, "metavar": "NAME",
        "help": "Offer this subprotocol in Sec-WebSocket-Protocol (repeatable).",
    }),
    "extensions": (("--extension", "extensions"), {
        "multiple": True, "metavar": "EXT",
        "help": "Offer this extension in Sec-WebSocket-Extensions (repeatable).",
    }),
    "timeout": (("--timeout",), {
        "type": float, "default": 10.0, "show_default": True, "metavar": "SECONDS",
        "callback": finite_seconds,
        "help": "Give up when the whole exchange (resolve, connect, TLS, response head, the"
        " closing handshake) takes longer.",
    }),
    "key": (("--ws-key", "key"), {
        "metavar": "KEY", "help": "Send this Sec-WebSocket-Key instead of a fresh one.",
    }),
    # Connection: how the request gets to the server (proxies, addresses, TLS).
    "proxy": (("-x", "--proxy"), {
        "metavar": "URL",
        "help": "Go through this proxy: http://, https://, socks5://, socks5h:// (socks4, socks4a),"
        " with USER:PASSWORD@ if it asks; '' ignores the *_proxy environment variables.",
    }),
    "noproxy": (("--noproxy",), {
        "metavar": "LIST",
        "help": "Hosts reached directly, comma separated ('*' for all; overrides no_proxy).",
    }),
    "follow": (("-L", "--location", "follow"), {
        "is_flag": True, "help": "Follow redirects (301, 302, 303, 307, 308).",
    }),
    "max_redirs": (("--max-redirs",), {
        "type": click.IntRange(min=0), "default": 10, "show_default": True, "metavar": "N",
        "help": "With -L, fail after N redirects.",
    }),
    "resolve": (("--resolve",), {
        "multiple": True, "metavar": "HOST:PORT:ADDR",
        "help": "Connect to ADDR (comma separated addresses) for HOST:PORT instead of asking DNS.",
    }),
    "connect_to": (("--connect-to", "connect_to"), {
        "multiple": True, "metavar": "HOST1:PORT1:HOST2:PORT2",
        "help": "Connect to HOST2:PORT2 for HOST1:PORT1; Host and TLS name stay the URL's.",
    }),
    "ipv4": (("-4", "--ipv4", "ipv4"), {"is_flag": True, "help": "Use IPv4 addresses only."}),
    "ipv6": (("-6", "--ipv6", "ipv6"), {"is_flag": True, "help": "Use IPv6 addresses only."}),
    "insecure": (("-k", "--insecure"), {
        "is_flag": True, "help": "Skip TLS certificate checks (wss://, https proxy).",
    }),
    "cacert": (("--cacert",), {
        "type": FilePath(exists=True), "callback": pem_file, "metavar": "FILE",
        "help": "Trust the CA certificates in FILE (PEM) for wss://.",
    }),
    "cert": (("--cert",), {
        "type": FilePath(exists=True), "callback": pem_key_file, "metavar": "FILE",
        "help": "Present this TLS client certificate (PEM; with its key unless --key).",
    }),
    "cert_key": (("--key", "cert_key"), {
        "type": FilePath(exists=True), "callback": pem_key_file, "metavar": "FILE",
        "help": "The private key of --cert (PEM).",
    }),
    # After the upgrade, and what is shown.
    "hold": (("--hold",), {
        "type": float, "metavar": "SECONDS", "callback": optional_seconds,
        "help": "Keep the upgraded connection SECONDS, and report how it ended.",
    }),
    "ping": (("--ping",), {
        "type": float, "metavar": "SECONDS", "callback": optional_seconds,
        "help": "Send a ping every SECONDS after the upgrade and time each pong.",
    }),
    "send": (("--send",), {"metavar": "TEXT", "help": "Send TEXT as a message after the upgrade."}),
    "show_secrets": (("--show-secrets",), {
        "is_flag": True,
        "help": "Print credentials (Authorization, Cookie, Proxy-Authorization, a URL's password)"
        " and Set-Cookie values instead of redacting them.",
    }),
}  # fmt: skip

REQUEST = ("headers", "origin", "protocols", "extensions", "timeout")
CONNECTION = ("proxy", "noproxy", "follow", "max_redirs", "resolve", "connect_to", "ipv4",
              "ipv6", "insecure", "cacert", "cert", "cert_key")  # fmt: skip
HANDSHAKE = (*REQUEST, *CONNECTION, "key")
AFTER_UPGRADE = ("hold", "ping", "send")


def options(*names: str) -> Callable[[F], F]:
    """The shared options named (OPTIONS' keys), added to a command in the order given."""

    def apply(command: F) -> F:
        for name in reversed(names):
            declarations, settings = OPTIONS[name]
            command = click.option(*declarations, **settings)(command)
        return command

    return apply


output_options = options("fmt", "color")  # every command (and the group: before the command)
verbose_option = options("verbose")  # the commands that check handshakes rule by rule
clients_option = options("clients")  # the commands that predict clients: inspect, probe
jobs_option = options("jobs")  # the commands that read keys in bulk from stdin
handshake_options = options(*HANDSHAKE)  # the commands that open a handshake themselves


def connection_settings(environ: Any, values: dict[str, Any]) -> Settings:
    """The network code's Settings from the values of `handshake_options` (and --hold, --ping,
    --send and --show-secrets where the command has them); a usage error for values that do
    not go together, a PinError for a bad --resolve/--connect-to."""
    from wsaccept_cli.core.pins import Pins
    from wsaccept_cli.net.endpoint import Settings

    if values["ipv4"] and values["ipv6"]:
        raise click.UsageError("-4 and -6 cannot be combined")
    if values["cert_key"] is not None and values["cert"] is None:
        raise click.UsageError("--key is the private key of --cert; give --cert too")
    if values["cert"] is not None:
        check_client_certificate(values["cert"], values["cert_key"])
    plan = after_upgrade(values)
    return Settings(
        headers=values["headers"],
        origin=values["origin"],
        protocols=values["protocols"],
        extensions=values["extensions"],
        key=values["key"],
        timeout=values["timeout"],
        proxy=values["proxy"],
        noproxy=values["noproxy"],
        environ=environ,
        pins=Pins.parse(values["resolve"], values["connect_to"]),
        family=4 if values["ipv4"] else 6 if values["ipv6"] else 0,
        insecure=values["insecure"],
        cacert=values["cacert"],
        cert=values["cert"],
        cert_key=values["cert_key"],
        follow=values["follow"],
        max_redirs=values["max_redirs"],
        show_secrets=values.get("show_secrets", False),
        hold=plan,
    )


def check_client_certificate(cert: str, key: str | None) -> None:
    """--cert (and --key) must hold a certificate and the private key that matches it."""
    import ssl

    try:
        ssl.create_default_context().load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise click.UsageError(
            f"--cert {cert!r}: no PEM certificate and private key that match ({reason})"
        ) from None


def after_upgrade(values: dict[str, Any]) -> Any:
    """The Plan of --hold, --ping and --send, or None when none is given."""
    hold, ping, send = (values.get(name) for name in AFTER_UPGRADE)
    if send is not None:
        try:
            send.encode("utf-8")
        except UnicodeEncodeError:
            raise click.UsageError("--send: TEXT is not valid UTF-8 (RFC 6455 §5.6)") from None
    if hold is None and ping is None and send is None:
        return None
    from wsaccept_cli.net.hold import Plan

    return Plan(hold, ping, send)


# serve's --fault choices and its --junit check


def fault_names() -> list[str]:
    from wsaccept_cli.core.frame_faults import ALL_FAULTS

    return [fault.name for fault in ALL_FAULTS] + list(STAGES) + [CORRECT]


# --fault handshake and --fault frame: every fault of that stage
STAGES = ("handshake", "frame")
# --fault none: the correct answer, as the scoreboard names it
CORRECT = "none"


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

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        names = fault_names()
        if value not in names:
            self.fail(f"{quoted(str(value))} is not a fault; the faults are:\n{_columns(names)}")
        return value


def _columns(names: list[str], width: int = 100) -> str:
    """Names in columns, down then across, to fit `width` (a list of 60 names stays short)."""
    cell = max(len(name) for name in names) + 2
    count = max(width // cell, 1)
    rows = -(-len(names) // count)
    lines = (
        "".join(f"{names[i]:{cell}}" for i in range(row, len(names), rows)).rstrip()
        for row in range(rows)
    )
    return "\n".join(f"  {line}" for line in lines)


def writable_or_usage_error(path: str) -> None:
    """--junit FILE must be writable before any client runs, not after all of them."""
    import os

    directory = os.path.dirname(path) or "."
    if os.path.isdir(path):
        problem = "is a directory"
    elif not os.path.isdir(directory):
        problem = f"cannot be written: {quoted(directory)} is no directory"
    elif not os.access(path if os.path.exists(path) else directory, os.W_OK):
        problem = "cannot be written (permission denied)"
    else:
        return
    raise click.BadParameter(f"{quoted(path)} {problem}", param_hint="'--junit'")

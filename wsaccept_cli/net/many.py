"""Many endpoints at once: `probe URL URL …` and `--file`, each URL probed by `endpoint.check`
(spread over threads and processes by `stream.spread`, which hands the results back in input
order, at most 2 × `parallel` in flight or waiting), and the exit status of them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from wsaccept_cli.core.outcomes import ProbeOutcome
from wsaccept_cli.core.proxyenv import variables_for
from wsaccept_cli.core.request import RequestTarget
from wsaccept_cli.net.connect import no_progress
from wsaccept_cli.net.endpoint import Checked, Settings, check

# The exit status of several probes is that of the worst outcome, worst first: no connection at
# all, then a proxy that failed, TLS, a timeout, a broken handshake; ok last.
SEVERITY = (
    ProbeOutcome.CONNECT_FAILED,
    ProbeOutcome.PROXY_FAILED,
    ProbeOutcome.TLS_FAILED,
    ProbeOutcome.TIMEOUT,
    ProbeOutcome.HANDSHAKE_FAILED,
    ProbeOutcome.OK,
)


def worst(outcomes: Iterable[ProbeOutcome]) -> ProbeOutcome:
    """The worst of `outcomes` by SEVERITY; OK when there are none."""
    return min(outcomes, key=SEVERITY.index, default=ProbeOutcome.OK)


def checked_or_why(url: str, settings: Settings) -> Checked | str:
    """The URL probed, or why it could not be (a bad URL or proxy for this line)."""
    try:
        return check(url, settings)
    except ValueError as error:  # RequestError, ProxyError
        return str(error)


def on_loop(url: str, settings: Settings) -> bool:
    """Whether `url` can be probed on a process's event loop (net.cooperative): every wait of
    its probe is then a plain TCP socket's, or the lookup of its host. A ws:// URL, with no
    proxy for it, and not for redirects followed (one may lead to TLS), --hold/--ping/--send,
    --save or progress shown. Anything else (wss://, a URL that is no URL) goes to threads."""
    if settings.follow or settings.hold is not None or settings.after_upgrade is not None:
        return False
    if settings.recorder is not None or settings.progress is not no_progress:
        return False
    if url[:5].lower() != "ws://":
        return False
    if not _proxy_set(settings):
        return True  # the usual case, decided without taking the URL apart
    try:
        target = RequestTarget(url)
        route = settings.route(target)
    except ValueError:  # RequestError, ProxyError: reported without any network
        return True
    return route.proxy is None or route.proxy.proxy is None


def _proxy_set(settings: Settings) -> bool:
    """Whether a proxy is set for ws:// at all (--proxy, or the environment), whatever the
    host: the exceptions of no_proxy only ever take it away."""
    if settings.proxy is not None:
        return settings.proxy != ""
    return any(settings.environ.get(name) for name in variables_for(secure=False))


def preload() -> None:
    """Import now what a probe imports when it first needs it, before the probes start rather
    than inside the first one, where it would hold up every probe of the event loop. Each
    process does it once the workers are forked, all at the same time. (wsproto is not among
    them: a closing handshake needs it only for an answer other than a plain Close, see
    net.closing.)"""
    from importlib import import_module

    for name in ("wsaccept_cli.core.rfcgrammar", "wsaccept_cli.net.closing"):
        import_module(name)

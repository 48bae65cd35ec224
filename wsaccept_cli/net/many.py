"""Many endpoints at once: `probe URL URL …` and `--file`, each URL probed by `endpoint.check`
in a pool of threads, the results handed back in input order.

Memory stays bounded whatever the number of URLs: the URLs are read as they are needed, and at
most 2 × `parallel` probes are in flight or finished but not yet handed back (one slow URL at
the head holds back the results behind it, not the reading of more than that window).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from wsaccept_cli.core.outcomes import ProbeOutcome
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


def _check(url: str, settings: Settings) -> Checked | str:
    try:
        return check(url, settings)
    except ValueError as error:  # RequestError, ProxyError: a bad URL or proxy for this line
        return str(error)


def check_all(
    lines: Iterable[tuple[str, str]], settings: Settings, parallel: int
) -> Iterator[tuple[str, str, Checked | str]]:
    """(where, URL, its Checked or why it could not be probed), in the order of `lines`."""
    window: deque[tuple[str, str, Future[Checked | str]]] = deque()
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="probe") as pool:
        try:
            for where, url in lines:
                window.append((where, url, pool.submit(_check, url, settings)))
                if len(window) >= 2 * parallel:
                    where_done, url_done, done = window.popleft()
                    yield where_done, url_done, done.result()
            while window:
                where_done, url_done, done = window.popleft()
                yield where_done, url_done, done.result()
        finally:
            for _, _, pending in window:
                pending.cancel()

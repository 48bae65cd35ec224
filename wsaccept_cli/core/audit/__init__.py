"""`wsaccept audit`: a server handshake conformance and security suite (pure core). The
catalogue is built once, on first use."""

from __future__ import annotations

from functools import cache

from wsaccept_cli.core.audit.model import Case


@cache
def catalogue() -> tuple[Case, ...]:
    """Every case, in catalogue order (categories in the order below, each numbered)."""
    from wsaccept_cli.core.audit import cases_framing, cases_http, cases_ws
    from wsaccept_cli.core.audit.registry import Catalogue

    built = Catalogue()
    cases_http.register(built)
    cases_framing.register(built)
    cases_ws.register(built)
    return tuple(built.cases)


@cache
def h2_catalogue() -> tuple[Case, ...]:
    """The HTTP/2 cases (RFC 8441), run on top of the others with --http2."""
    from wsaccept_cli.core.audit import cases_h2
    from wsaccept_cli.core.audit.registry import Catalogue

    built = Catalogue()
    cases_h2.register(built)
    return tuple(built.cases)


CATEGORIES = (
    "request", "host", "upgrade", "key", "version", "framing", "limits",
    "protocol", "extension", "origin", "after", "h2",
)  # fmt: skip

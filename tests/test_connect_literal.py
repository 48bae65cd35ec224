"""net.connect.resolve takes an address written out as getaddrinfo would give it back, without
a resolver thread (one a probe was most of `probe --file`'s thread starts); anything else, and a
literal of the other family than -4/-6 asks for, still goes to the resolver, so its errors stay
the resolver's."""

from __future__ import annotations

import socket

import pytest

from wsaccept_cli.net.connect import _literal


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.255", "::1", "::", "::FFFF:127.0.0.1", "2001:DB8::A", "fe80::1"]
)
@pytest.mark.parametrize("family", [0, 4, 6])
def test_a_literal_is_what_getaddrinfo_answers(host: str, family: int) -> None:
    written = 6 if ":" in host else 4
    found = _literal(host, family)
    if family and family != written:  # left to the resolver: its answer or error, as before
        assert found is None
        return
    kind = {4: socket.AF_INET, 6: socket.AF_INET6}.get(family, socket.AF_UNSPEC)
    answers = socket.getaddrinfo(host, 80, kind, socket.SOCK_STREAM)
    assert found is not None
    assert [(found[0], (found[1], 80))] == [(fam, addr[:2]) for fam, _, _, _, addr in answers]


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.1", "0x7f.1", "fe80::1%lo", "1.2.3.4\x00", "example.com", "", "[::1]"],
)
def test_anything_else_is_the_resolvers(host: str) -> None:
    assert _literal(host, 0) is None

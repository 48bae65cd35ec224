"""What a TLS connection shows in the clear: the server name (SNI) and the protocols the client
offered (ALPN) in its ClientHello, and the one the server chose in its ServerHello.

dpkt parses the records and hellos (`dpkt.ssl`); this module keeps at most MAX_HELLO bytes of
each side's first records while the hello is incomplete, then stops reading the connection.
"""

from __future__ import annotations

import struct

from wsaccept_cli.core.connection import Connection, TlsInfo

MAX_HELLO = 32 * 1024
_SNI, _ALPN = 0, 16


def read_hello(connection: Connection, role: str, buffer: bytearray, data: bytes) -> bool:
    """Take the next bytes of a TLS side (`buffer` keeps what came before); fill the
    connection's TLS record from its hello. True once the hello was read, or will never be."""
    if connection.tls is None:
        connection.tls = TlsInfo(None, [], decrypted=False)
    buffer += data[: MAX_HELLO + 1 - len(buffer)]
    hello = _hello(bytes(buffer))
    if hello is None:
        return len(buffer) > MAX_HELLO
    names, protocols = _extensions(hello)
    if role == "client":
        connection.tls.sni = names[0] if names else None
        connection.tls.alpn = protocols
    elif protocols:
        connection.tls.alpn = protocols  # the server's choice replaces the offer
    return True


def _hello(buffer: bytes) -> object | None:
    import dpkt
    from dpkt import ssl

    try:
        records, _ = ssl.tls_multi_factory(buffer)
        fragments = b"".join(record.data for record in records if record.type == 22)
        if not fragments:
            return None
        hello: object = ssl.TLSHandshake(fragments).data
        return hello
    except (dpkt.Error, struct.error, ValueError, IndexError, ssl.SSL3Exception):
        return None


def _extensions(hello: object) -> tuple[list[str], list[str]]:
    names: list[str] = []
    protocols: list[str] = []
    for kind, data in getattr(hello, "extensions", []):
        if kind == _SNI:
            names += _sni(data)
        elif kind == _ALPN:
            protocols += _alpn(data)
    return names, protocols


def _sni(data: bytes) -> list[str]:
    """The host names of a server_name extension (RFC 6066 §3)."""
    names, offset = [], 2
    while offset + 3 <= len(data):
        kind, length = data[offset], int.from_bytes(data[offset + 1 : offset + 3], "big")
        if kind == 0:
            names.append(data[offset + 3 : offset + 3 + length].decode("latin-1"))
        offset += 3 + length
    return names


def _alpn(data: bytes) -> list[str]:
    """The protocol names of an ALPN extension (RFC 7301 §3.1)."""
    protocols, offset = [], 2
    while offset < len(data):
        length = data[offset]
        protocols.append(data[offset + 1 : offset + 1 + length].decode("latin-1"))
        offset += 1 + length
    return protocols

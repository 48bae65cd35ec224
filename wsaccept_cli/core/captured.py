"""The report of a handshake found in a packet capture: today's rules, diagnosis and client
predictions over its heads, and findings for what the capture showed of the connection, or
could not show.

What a capture lacked (a lost segment, a head cut by the snap length, a start after the
request, TLS without its keys) is a warning saying what could not be checked and why: a
report never passes or fails what it did not see. What the frames after a 101 did wrong (the
masking, a reserved opcode, compression nobody negotiated) fails, as it fails a real client.
"""

from __future__ import annotations

from collections.abc import Iterator

from wsaccept_cli.core.connection import SIDES, Connection
from wsaccept_cli.core.fragments import report_handshake
from wsaccept_cli.core.handshake import Capture, Handshake
from wsaccept_cli.core.rules import FAIL, WARN, Finding, HandshakeReport

TCP = "RFC 9293"


def report_captured(number: int, handshake: Handshake, capture: Capture) -> HandshakeReport:
    """The report of one captured connection's handshake, with its connection's findings."""
    connection = handshake.connection
    assert connection is not None
    if handshake.request is None and handshake.response is None:
        return HandshakeReport(number, handshake, list(_connection_findings(connection)))
    findings = report_handshake(number, handshake, capture).findings
    if connection.not_http is not None:  # an answer came: not "the capture has no response"
        findings = [finding for finding in findings if finding.rule != "response"]
    return HandshakeReport(number, handshake, [*findings, *_connection_findings(connection)])


def _connection_findings(connection: Connection) -> Iterator[Finding]:
    tls = connection.tls
    if tls is not None and not tls.decrypted:
        offered = ", ".join(tls.alpn) or "none"
        yield Finding(
            "capture.tls",
            WARN,
            "RFC 8446",
            f"TLS to {tls.sni or 'a server without SNI'} (ALPN {offered}) and no --keylog:"
            " the handshake inside was not checked; give the key log the client wrote"
            " (SSLKEYLOGFILE) to decrypt it",
        )
    if connection.not_http is not None:
        yield Finding("response.http", FAIL, "§4.2.2", connection.not_http)
    for why in connection.unchecked:
        yield Finding("capture.incomplete", WARN, TCP, why)
    yield from _frame_findings(connection)


def _frame_findings(connection: Connection) -> Iterator[Finding]:
    frames = connection.frames
    if frames is None:
        return
    for side in SIDES:
        tally = frames[side]
        if tally.lost:
            yield Finding(
                "capture.gap",
                WARN,
                TCP,
                f"{connection.gaps[side]} bytes the {side} sent after the handshake are missing"
                " from the capture: its frames after them were not counted",
            )
        if tally.masking_problem:
            yield Finding(
                "frames.masking", FAIL, "§5.1", f"the {side} sent {tally.masking_problem}"
            )
        if tally.protocol_problem:
            yield Finding(
                "frames.protocol", FAIL, "§5.2", f"the {side} sent {tally.protocol_problem}"
            )
        if tally.compressed and not connection.deflate_negotiated:
            yield Finding(
                "frames.rsv1",
                FAIL,
                "§5.2",
                f"the {side} set RSV1 on {tally.compressed} messages, but no extension that"
                " defines it was negotiated (clients fail the connection)",
            )

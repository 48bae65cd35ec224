"""Two header lines pasted on their own, `Sec-WebSocket-Key: …` then `Sec-WebSocket-Accept: …`:
what a person copies out of a log or developer tools to ask "is this accept right for this key?".
The capture parser splits them into a request and its response; this module checks them as the
key and its accept they are, instead of failing every header the paste left out.
"""

from __future__ import annotations

from wsaccept_cli.core.handshake import Capture, Handshake, Message
from wsaccept_cli.core.rules import INFO, Finding, HandshakeReport
from wsaccept_cli.core.rules_h2 import inspect_handshake

PAIR_RULES = ("request.key", "response.accept")
_ONLY = {"request": "sec-websocket-key", "response": "sec-websocket-accept"}


def is_key_and_accept(handshake: Handshake) -> bool:
    """A request of the one header Sec-WebSocket-Key and a response of the one header
    Sec-WebSocket-Accept, neither with a request or status line."""
    return all(
        _only_header(message, _ONLY[kind])
        for kind, message in (("request", handshake.request), ("response", handshake.response))
    )


def _only_header(message: Message | None, name: str) -> bool:
    return (
        message is not None
        and message.start is None
        and len(message.headers) == 1
        and message.headers[0][0].lower() == name
    )


def report_handshake(number: int, handshake: Handshake, capture: Capture) -> HandshakeReport:
    """The report of `inspect`: every rule, or for a pasted key and accept, those two rules."""
    report = inspect_handshake(number, handshake, capture)
    if not is_key_and_accept(handshake):
        return report
    findings = [finding for finding in report.findings if finding.rule in PAIR_RULES]
    findings.append(
        Finding(
            "capture.key_and_accept",
            INFO,
            "§4.2.2",
            "only Sec-WebSocket-Key and Sec-WebSocket-Accept were given: checked as a key and"
            " its accept, the other rules of the handshake not",
        )
    )
    return HandshakeReport(number, handshake, findings)

"""The judges of the audit's cases: what a server's answer to a deliberate request means, by
the RFCs. Most cases share a few shapes (the server must refuse; must upgrade; may do either),
so the judges are made by a few functions, each case saying why in its own words.

Pure code: an Observed and the Request in, a Verdict out.
"""

from __future__ import annotations

from wsaccept_cli.core.audit.model import Judge, Observed, Outcome, Request, Server, Verdict
from wsaccept_cli.core.extensions import DEFLATE, Extension, deflate_problem, parse_extensions
from wsaccept_cli.core.handshake import split_list
from wsaccept_cli.core.keys import accept_for

OK, NON_STRICT, FAILED = Outcome.OK, Outcome.NON_STRICT, Outcome.FAILED
INFORMATIONAL, UNIMPLEMENTED = Outcome.INFORMATIONAL, Outcome.UNIMPLEMENTED
BODY_SHOWN = 80
CLOSE_NAMES = {1000: "normal", 1002: "protocol error", 1007: "invalid data", 1008: "policy"}


def observed_text(observed: Observed) -> str:
    """What the server did, in a line: its status and the headers that matter, a body excerpt,
    the frames it sent after a 101, or how the connection ended."""
    if observed.h2_skipped is not None:
        return observed.h2_skipped
    if observed.status is None:
        return observed.error or _ending(observed)
    parts = [f"{observed.status} {observed.reason}".strip()]
    for name in ("Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Version"):
        parts += [f"{name}: {value}" for value in observed.values(name)]
    if observed.upgraded and not observed.http2:
        parts += [_frames_text(observed)]
    elif observed.body:
        excerpt = observed.body[:BODY_SHOWN].decode("latin-1")
        more = "…" if len(observed.body) > BODY_SHOWN else ""
        parts.append(f"body {excerpt!r}{more}")
    if observed.ended != "open" and not observed.upgraded:
        parts.append(_ending(observed))
    return "; ".join(part for part in parts if part)


def _ending(observed: Observed) -> str:
    return {
        "closed": "the server closed the connection",
        "reset": "the server reset the connection",
        "open": "the connection stayed open",
        "timeout": "no answer within the timeout",
    }.get(observed.ended, observed.ended)


def _frames_text(observed: Observed) -> str:
    shown = []
    for frame in observed.frames[:4]:
        if frame.close_code is not None:
            shown.append(f"Close {frame.close_code}")
        else:
            name = {1: "text", 2: "binary", 8: "Close", 9: "ping", 10: "pong"}.get(frame.opcode)
            shown.append(name or f"opcode {frame.opcode}")
        if frame.masked:
            shown[-1] += " (masked)"
    text = f"then {', '.join(shown)}" if shown else "then no frame"
    if observed.ended == "closed":
        text += ", and closed the connection"
    elif observed.ended == "reset":
        text += ", and reset the connection"
    return text


def upgrade_problem(observed: Observed, request: Request) -> str | None:
    """Why a 101 is no valid WebSocket upgrade for `request` (RFC 6455 §4.2.2, RFC 7692 §7),
    or None."""
    if "websocket" not in observed.tokens("upgrade"):
        return "the 101 has no Upgrade: websocket (RFC 6455 §4.2.2)"
    if "upgrade" not in observed.tokens("connection"):
        return "the 101 has no Connection: Upgrade (RFC 6455 §4.2.2)"
    accepts = observed.values("sec-websocket-accept")
    if request.key is not None:
        right = accept_for(request.key.encode("latin-1")).decode("ascii")
        if accepts != [right]:
            return (
                f"Sec-WebSocket-Accept is {accepts or 'missing'}, not {right!r} (RFC 6455 §4.2.2)"
            )
    return _protocol_problem(observed, request) or _extension_problem(observed, request)


def _protocol_problem(observed: Observed, request: Request) -> str | None:
    chosen = observed.values("sec-websocket-protocol")
    if not chosen:
        return None
    if len(chosen) > 1 or len(split_list(chosen)) > 1:
        return "more than one subprotocol chosen (RFC 6455 §4.2.2 wants one)"
    if not request.protocols:
        return f"subprotocol {chosen[0]!r} chosen though none was offered (RFC 6455 §4.1)"
    if chosen[0] not in request.protocols:
        return f"subprotocol {chosen[0]!r} was not offered (RFC 6455 §4.1)"
    return None


def _extension_problem(observed: Observed, request: Request) -> str | None:
    values = observed.values("sec-websocket-extensions")
    if not values:
        return None
    answered = parse_extensions(values)
    if answered is None:
        return "Sec-WebSocket-Extensions is not valid syntax (RFC 6455 §9.1)"
    offers = parse_extensions(request.extension_values, empty_parameters=True) or []
    names = [extension.name for extension in answered]
    for name in names:
        if names.count(name) > 1:
            return f"extension {name!r} answered twice (RFC 6455 §9.1)"
        if name not in {offer.name for offer in offers}:
            return f"extension {name!r} was not offered (RFC 6455 §9.1)"
    deflate = [extension for extension in answered if extension.name == DEFLATE]
    return deflate_answer_problem(offers, deflate[0]) if deflate else None


def valid_deflate_offers(offers: list[Extension]) -> list[Extension]:
    return [
        offer
        for offer in offers
        if offer.name == DEFLATE and deflate_problem(offer.parameters, response=False) is None
    ]


def deflate_answer_problem(offers: list[Extension], answer: Extension) -> str | None:
    """Why a permessage-deflate response answers none of the valid offers (RFC 7692 §7.1), or
    None when it answers one of them."""
    problem = deflate_problem(answer.parameters, response=True)
    if problem is not None:
        return problem
    valid = valid_deflate_offers(offers)
    if not valid:
        return f"{DEFLATE} accepted, but every offer of it was invalid (RFC 7692 §7.1)"
    reasons = [_deflate_mismatch(offer, answer) for offer in valid]
    if None in reasons:
        return None
    return next(reason for reason in reasons if reason is not None)


def _deflate_mismatch(offer: Extension, answer: Extension) -> str | None:
    offered = dict(offer.parameters)
    given = dict(answer.parameters)
    if "server_no_context_takeover" in offered and "server_no_context_takeover" not in given:
        return (
            "the offer's server_no_context_takeover is missing from the answer (RFC 7692 §7.1.1.1)"
        )
    if "server_max_window_bits" in offered:
        limit = int(offered["server_max_window_bits"] or 15)
        bits = given.get("server_max_window_bits")
        if int(bits or 15) > limit:  # none answered: the server's window may be 15 bits
            return (
                f"the offer's server_max_window_bits={limit} is answered with"
                f" {bits or 'none'}; it must be the same or smaller (RFC 7692 §7.1.2.1)"
            )
    if "client_max_window_bits" in given and "client_max_window_bits" not in offered:
        return "client_max_window_bits answered though the offer had none (RFC 7692 §7.1.2.2)"
    return None


def clean_upgrade(observed: Observed, outcome: Outcome, why: str) -> Verdict:
    """The verdict on a valid 101: `outcome`, unless its head broke the syntax a strict
    client holds it to (lines ending in a bare LF: RFC 9112 §2.2), which is NON-STRICT."""
    if observed.bare_lf and outcome is OK:
        return Verdict(
            NON_STRICT, f"upgraded, but the 101's lines end in a bare LF (RFC 9112 §2.2): {why}"
        )
    return Verdict(outcome, f"upgraded: {why}")


def _refusal(observed: Observed) -> str:
    if observed.answered:
        return f"refused with {observed.status}"
    return "closed the connection without an answer"


def must_refuse(
    why: str,
    *,
    upgraded: Outcome = FAILED,
    silent: Outcome = NON_STRICT,
    hang: Outcome = NON_STRICT,
) -> Judge:
    """A request a server must not upgrade: a 4xx is OK; `upgraded` if it upgraded, `silent`
    if it closed without an HTTP answer, `hang` if it gave no answer within the timeout."""

    def judge(observed: Observed, request: Request, server: Server) -> Verdict:
        if observed.upgraded:
            other = [t for t in observed.tokens("upgrade") if t != "websocket"]
            if other and "websocket" not in observed.tokens("upgrade"):
                return Verdict(upgraded, f"upgraded to {other[0]!r}, though {why}")
            return Verdict(upgraded, f"upgraded, though {why}")
        if observed.answered:
            return Verdict(OK, f"{_refusal(observed)}: {why}")
        if observed.ended == "timeout":
            return Verdict(hang, f"no answer within the timeout, though {why}")
        return Verdict(silent, f"closed the connection without an HTTP answer: {why}")

    return judge


def must_accept(why: str, *, refused: Outcome = FAILED) -> Judge:
    """A valid request: a valid 101 is OK, an invalid one FAILED, a refusal `refused` (unless
    the server refuses the plain valid handshake too, when the case tells nothing)."""

    def judge(observed: Observed, request: Request, server: Server) -> Verdict:
        if observed.upgraded:
            problem = upgrade_problem(observed, request)
            if problem is not None:
                return Verdict(FAILED, problem)
            return clean_upgrade(observed, OK, why)
        if server.baseline is False:
            return Verdict(INFORMATIONAL, f"{_refusal(observed)}, as it refused request.1")
        return Verdict(refused, f"{_refusal(observed)}, though {why}")

    return judge


def either(why: str, *, accepted: Outcome = INFORMATIONAL, refused: Outcome = OK) -> Judge:
    """A request a server may upgrade or refuse: a valid 101 is `accepted`, a refusal
    `refused`; a 101 that is no valid upgrade is FAILED."""

    def judge(observed: Observed, request: Request, server: Server) -> Verdict:
        if observed.upgraded:
            problem = upgrade_problem(observed, request)
            if problem is not None:
                return Verdict(FAILED, problem)
            return clean_upgrade(observed, accepted, why)
        return Verdict(refused, f"{_refusal(observed)}: {why}")

    return judge

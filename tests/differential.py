"""The differential test: generated response mutations (`tests/mutations.py`) served to every
real client, each outcome compared with the client's model (`core/clientmodels`).

    python -m tests.differential --seed S --count N [--clients A,B] [--only CLASS] [--save]

One server per client (a path per mutation), each driver run once over every URL
(`tests/drivers.py`), each browser launched once with a page that opens them all. A client
accepted a mutation when its text message reached the server. Each outcome is compared with
that client's prediction for the request it really sent (its key, its offers). A disagreement is
minimised (its transforms dropped one at a time while it still disagrees, re-running the
client) and, with --save, written into the corpus (`tests/cases/mutations.json`), which
`tests/test_clients.py` runs against the real clients and the README's table shows. The output
is a table per client, the disagreements, and a last line `N agree, M disagree` (a mutation a
client never decided counts as a disagreement).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from tests.client_corpus import FRAME, Case, CorpusServer, run_browser, run_client
from tests.drivers import BROWSERS, missing
from tests.mutations import Mutation, generate
from wsaccept_cli.core.clientmodels import PROFILES, ClientVerdict, Profile, offer_of
from wsaccept_cli.core.exchange import parse_exchange

CORPUS = Path(__file__).parent / "cases" / "mutations.json"
WAIT = 1.5  # seconds the server waits for a client's message before it calls it a refusal


def case_of(mutation: Mutation) -> Case:
    template, after, protocols, summary = mutation.parts()
    return Case(mutation.name, summary, [], protocols=protocols, template=template, after=after)


class Outcome:
    """What one client did with one mutation, and what its model said."""

    __slots__ = ("accepted", "case", "client", "predicted")

    def __init__(
        self, client: str, case: Case, accepted: bool | None, predicted: ClientVerdict | None
    ) -> None:
        self.client = client
        self.case = case
        self.accepted = accepted  # None: the client never decided
        self.predicted = predicted

    @property
    def agrees(self) -> bool:
        return (
            self.accepted is not None
            and self.predicted is not None
            and self.accepted == self.predicted.accepts
        )

    def line(self) -> str:
        did = {None: "never decided", True: "opened", False: "refused"}[self.accepted]
        said = (
            "no prediction"
            if self.predicted is None
            else ("accepts" if self.predicted.accepts else f"refuses ({self.predicted.reason})")
        )
        return f"{self.case.name} {self.client}: model {said}, client {did} — {self.case.summary}"


def profile_named(name: str) -> Profile:
    return next(profile for profile in PROFILES if profile.name == name)


def run(client: str, cases: list[Case]) -> list[Outcome]:
    """Every case served to one real client, each compared with its prediction."""
    with CorpusServer(tuple(cases), wait=WAIT, silence_refuses=True) as server:
        if client in BROWSERS:
            outcomes = run_browser(client, server, budget=60 + 2.0 * len(cases))
        else:
            outcomes = run_client(client, server, tuple(cases), rounds=2)
        requests = dict(server.requests)
    profile = profile_named(client)
    results = []
    for case in cases:
        outcome = outcomes.get(case.name)
        request = next((r for k, r in requests.items() if k.split("/")[0] == case.name), None)
        predicted = None
        if request is not None:
            handshake, _ = parse_exchange(request + b"\r\n\r\n", b"")
            if handshake.request is not None:
                key = handshake.request.values("sec-websocket-key")
                head = case.head(key[0].encode("latin-1") if key else b"")
                predicted = profile.predict(head, offer_of(handshake.request))
        accepted = None if outcome is None else outcome == FRAME
        results.append(Outcome(client, case, accepted, predicted))
    return results


def minimise(client: str, mutation: Mutation) -> Mutation:
    """The smallest subset of the mutation's transforms that still disagrees."""
    current = mutation
    while True:
        candidates = [m for m in current.subsets() if m.keep]
        if not candidates:
            return current
        found = {o.case.name: o for o in run(client, [case_of(m) for m in candidates])}
        worse = [
            m for m in candidates if not found[m.name].agrees and found[m.name].accepted is not None
        ]
        if not worse:
            return current
        current = worse[0]


def save(outcomes: list[tuple[Mutation, Outcome]]) -> None:
    """Add minimised disagreements to the corpus (tests/cases/mutations.json)."""
    saved = json.loads(CORPUS.read_text()) if CORPUS.exists() else []
    names = {entry["name"] for entry in saved}
    for mutation, outcome in outcomes:
        case = case_of(mutation)
        if case.name in names:
            continue
        assert case.template is not None
        entry = {"name": case.name, "summary": case.summary,
                 "template": case.template.decode("latin-1"),
                 "protocols": list(case.protocols),
                 "found_with": outcome.client}  # fmt: skip
        if case.after:  # what the server writes behind the head, in the same write
            entry["after"] = case.after.decode("latin-1")
        saved.append(entry)
        names.add(case.name)
    CORPUS.write_text(json.dumps(saved, indent=1, ensure_ascii=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--clients", help="comma-separated client names (default: all)")
    parser.add_argument("--save", action="store_true", help="save minimised disagreements")
    parser.add_argument("--no-minimise", action="store_true")
    parser.add_argument("--only", metavar="CLASS", help="keep the mutations with this class")
    args = parser.parse_args(argv)
    wanted = args.clients.split(",") if args.clients else [p.name for p in PROFILES]
    mutations = [m for m in generate(args.seed, args.count) if args.only in (None, *m.classes)]
    cases = [case_of(m) for m in mutations]
    by_name = {m.name: m for m in mutations}
    results: dict[str, list[Outcome]] = {}
    took: dict[str, float] = {}

    def one(client: str) -> None:
        started = time.monotonic()
        results[client] = run(client, cases)
        took[client] = time.monotonic() - started

    runnable = []
    for client in wanted:
        why = missing(client)
        if why is not None:
            print(f"{client}: skipped ({why})", file=sys.stderr)
        else:
            runnable.append(client)
    for group in (
        [c for c in runnable if c not in BROWSERS],
        [c for c in runnable if c in BROWSERS],
    ):
        threads = [threading.Thread(target=one, args=(client,)) for client in group]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(f"seed {args.seed}, {len(mutations)} mutations")
    print(f"{'client':<12} {'agree':>6} {'disagree':>9} {'undecided':>10} {'seconds':>8}")
    agree = disagree = 0
    wrong: list[tuple[Mutation, Outcome]] = []
    for client in runnable:
        outcomes = results[client]
        good = sum(o.agrees for o in outcomes)
        undecided = sum(o.accepted is None or o.predicted is None for o in outcomes)
        agree += good
        disagree += len(outcomes) - good
        print(
            f"{client:<12} {good:>6} {len(outcomes) - good:>9} {undecided:>10} {took[client]:>8.1f}"
        )
        wrong += [(by_name[o.case.name], o) for o in outcomes if not o.agrees]
    for _, outcome in wrong:
        print(f"  {outcome.line()}")
    if wrong and not args.no_minimise:
        minimal = []
        for mutation, outcome in wrong:
            if outcome.accepted is None:
                continue
            small = minimise(outcome.client, mutation)
            print(f"  minimised {mutation.name} -> {small.name}: {case_of(small).summary}")
            minimal.append((small, outcome))
        if args.save:
            save(minimal)
    print(f"{agree} agree, {disagree} disagree")
    return 0 if disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

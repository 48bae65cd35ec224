"""The differential test's CI sample: a fixed-seed set of generated response mutations served
to every real client installed, each outcome equal to the client's model; and the generator and
the models themselves (deterministic, every class used, no crash on any bytes).

The full runs (thousands of mutations, several seeds) are a documented command, not CI:
`python -m tests.differential --seed S --count N` (tests/README.md)."""

from __future__ import annotations

import random

import pytest

from tests.differential import case_of, run
from tests.drivers import missing
from tests.mutations import TRANSFORMS, generate
from wsaccept_cli.core.clientmodels import PROFILES, Offer, predict

SEED, COUNT = 20261205, 150


@pytest.mark.slow
@pytest.mark.parametrize("client", [profile.name for profile in PROFILES])
def test_a_fixed_seed_sample_of_mutations_agrees_with_the_real_client(client: str) -> None:
    if (why := missing(client)) is not None:
        pytest.skip(why)
    outcomes = run(client, [case_of(mutation) for mutation in generate(SEED, COUNT)])
    assert len(outcomes) == COUNT
    assert [outcome.line() for outcome in outcomes if not outcome.agrees] == []


def test_the_generator_is_deterministic_and_uses_every_class() -> None:
    first = [m.template() for m in generate(7, 300)]
    assert first == [m.template() for m in generate(7, 300)]
    assert first != [m.template() for m in generate(8, 300)]
    used = {cls for mutation in generate(7, 300) for cls in mutation.classes}
    assert used == set(TRANSFORMS)


def test_a_minimising_step_drops_one_transform_at_a_time() -> None:
    mutation = next(m for m in generate(3, 50) if len(m.classes) == 3)
    smaller = mutation.subsets()
    assert [len(m.keep or ()) for m in smaller] == [2, 2, 2]
    assert all(m.template()[0] != mutation.template()[0] or m.keep for m in smaller)


def test_the_models_take_any_bytes_without_crashing() -> None:
    """Hostile heads (random bytes, mutated heads cut anywhere) get a verdict from every
    model, never an exception."""
    rng = random.Random(5)
    offer = Offer("dGhlIHNhbXBsZSBub25jZQ==", ("chat",), True)
    heads = [bytes(rng.randrange(256) for _ in range(rng.randrange(200))) for _ in range(200)]
    for mutation in generate(11, 100):
        head = mutation.template()[0]
        heads += [head, head[: rng.randrange(len(head))], head.replace(b"\r\n", b"\r")]
    for head in heads:
        verdicts = predict(head, offer)
        assert [v.client for v in verdicts] == [p.name for p in PROFILES]
        assert all(v.accepts or v.reason for v in verdicts)

"""The near-duplicate search finds exactly what comparing with every known AI image finds."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.history.registry import Registry
from provenance.pipeline.phash import BITS, NEAR_DISTANCE


def _flip(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(BITS), bits):
        value ^= 1 << bit
    return value


def _registry(store, workspace, known: list[int]) -> Registry:
    registry = Registry(store, workspace.config)
    registry._hashes = []  # as loaded from a store holding these AI images
    for n, value in enumerate(known):
        registry.remember(f"{value:032x}", f"cid{n}", "ai-generated", "2026-01-01")
    return registry


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), count=st.integers(1, 80))
def test_nearest_is_the_brute_force_answer(store, workspace, seed, count):
    rng = random.Random(seed)
    base = [rng.getrandbits(BITS) for _ in range(max(1, count // 8))]
    # Known images in clusters, so that queries have several at and around the threshold.
    known = [_flip(rng.choice(base), rng.randint(0, 20), rng) for _ in range(count)]
    registry = _registry(store, workspace, known)
    for _ in range(20):
        query = _flip(rng.choice(known), rng.choice([0, 1, 7, 13, 14, 15, 16, 30]), rng)
        skip = {f"cid{rng.randrange(count)}"}
        expect = min(
            (((query ^ k).bit_count(), n) for n, k in enumerate(known) if f"cid{n}" not in skip),
            default=None,
        )
        found = registry.nearest(f"{query:032x}", exclude=skip)
        if expect is None or expect[0] > NEAR_DISTANCE:
            assert found is None
        else:
            assert found is not None
            assert (found.distance, found.content_id) == (expect[0], f"cid{expect[1]}")

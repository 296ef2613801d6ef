"""Stateless data order (rfn.training.order) and random states for checkpoints (also rfn.training.order)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from rfn.training import StepBatchSampler, get_rng_state, set_rng_state, step_indices


def test_step_indices_distinct_deterministic_uniform():
    a = step_indices(100, 10, seed=3, step=5)
    assert a == step_indices(100, 10, seed=3, step=5)
    assert len(set(a)) == 10 and all(0 <= i < 100 for i in a)
    assert a != step_indices(100, 10, seed=3, step=6) and a != step_indices(100, 10, seed=4, step=5)
    # each of 10 items appears in a batch of 3 with probability 0.3: 3000 steps -> 900 +- 25 each
    counts = np.bincount(np.concatenate([step_indices(10, 3, 0, s) for s in range(3000)]), minlength=10)
    assert np.all(np.abs(counts - 900) < 5 * np.sqrt(3000 * 0.3 * 0.7)), counts
    # first position is uniform too (the permutation after Floyd's subset)
    first = np.bincount([step_indices(10, 3, 0, s)[0] for s in range(3000)], minlength=10)
    assert np.all(np.abs(first - 300) < 5 * np.sqrt(3000 * 0.1 * 0.9)), first
    with pytest.raises(ValueError, match="batch size 5 is larger than the data set"):
        step_indices(4, 5, 0, 0)


def test_batch_sampler_starts_anywhere_and_slices_ranks():
    full = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10))
    assert list(StepBatchSampler(50, 6, seed=1, start=7, stop=10)) == full[7:]
    r0 = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10, rank=0, world=2))
    r1 = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10, rank=1, world=2))
    assert [a + b for a, b in zip(r0, r1)] == full
    with pytest.raises(ValueError, match="does not split evenly over 4 processes"):
        StepBatchSampler(50, 6, 1, 0, 10, rank=0, world=4)


def test_rng_state_round_trip_is_weights_only_safe(tmp_path):
    state = get_rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.save(state, tmp_path / "rng.pt")
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    b = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_data_order_is_unchanged_by_the_refactor():
    """The seeds derive from rfn.runtime.derive_seed, the same blake2b hash as before: runs resume identically."""
    assert step_indices(1000, 5, seed=0, step=0) == [890, 549, 382, 925, 658]

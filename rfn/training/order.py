"""Stateless data order: the indices of every global batch are a pure function of ``(seed, step)``.

A run can therefore restart at any step and see exactly the batches it would have
seen, and under data parallelism rank ``r`` takes slice ``r`` of the same global
batch. Within a batch the indices are distinct; across steps they are drawn
independently (with replacement), not in epochs.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from rfn.runtime import derive_seed

__all__ = ["StepBatchSampler", "step_indices"]


def step_indices(n_items: int, batch_size: int, seed: int, step: int) -> list[int]:
    """The ``batch_size`` distinct data indices of global batch ``step``; a pure function of its arguments.

    Floyd's algorithm draws a uniform subset in ``O(batch_size)`` (whatever
    ``n_items``), then a permutation orders it.

    >>> step_indices(10, 4, seed=0, step=7) == step_indices(10, 4, seed=0, step=7)
    True
    >>> sorted(step_indices(5, 5, seed=1, step=0))
    [0, 1, 2, 3, 4]
    """
    if batch_size > n_items:
        raise ValueError(f"batch size {batch_size} is larger than the data set ({n_items} items)")
    g = torch.Generator().manual_seed(derive_seed("batch", seed, step))
    u = torch.rand(batch_size, generator=g, dtype=torch.float64).tolist()
    chosen: set[int] = set()
    picks = []
    for j, uj in zip(range(n_items - batch_size, n_items), u):
        t = min(int(uj * (j + 1)), j)
        pick = j if t in chosen else t
        chosen.add(pick)
        picks.append(pick)
    order = torch.randperm(batch_size, generator=g).tolist()
    return [picks[o] for o in order]


class StepBatchSampler(Sampler[list[int]]):
    """Batch sampler yielding this rank's slice of the global batches of steps ``start .. stop - 1``.

    Args:
        n_items: length of the data set.
        global_batch: batch size summed over ranks (must divide by ``world``).
        seed: data-order seed.
        start: first step to yield.
        stop: one past the last step.
        rank: this process's rank.
        world: number of processes.
    """

    def __init__(
        self, n_items: int, global_batch: int, seed: int, start: int, stop: int, rank: int = 0, world: int = 1
    ):
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} does not split evenly over {world} processes")
        if global_batch > n_items:
            raise ValueError(f"batch size {global_batch} is larger than the training set ({n_items} items)")
        self.n_items, self.global_batch, self.seed = n_items, global_batch, seed
        self.start, self.stop, self.rank, self.world = start, stop, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        local = self.global_batch // self.world
        for s in range(self.start, self.stop):
            yield step_indices(self.n_items, self.global_batch, self.seed, s)[
                self.rank * local : (self.rank + 1) * local
            ]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

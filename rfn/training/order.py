"""What a training step sees, reproducibly: its data indices, its batch, and the random states a checkpoint keeps.

Stateless data order: the indices of every global batch are a pure function of ``(seed, step)``.

A run can therefore restart at any step and see exactly the batches it would have
seen, and under data parallelism rank ``r`` takes slice ``r`` of the same global
batch. Within a batch the indices are distinct; across steps they are drawn
independently (with replacement), not in epochs.

Batches of any registered model: a data set item is a tensor (a video ``[T, C, H, W]``, an
image, a sequence, a point) or a tuple of tensors (a ``(condition, target)`` pair); a batch
stacks items along a new first dimension, keeping the tuple structure (:func:`collate`). What
a model accepts is checked by :func:`rfn.models.registry.check_batch`.

Every global random state as plain data (:func:`get_rng_state`), for checkpoints that
``torch.load(weights_only=True)`` reads.

Example:
    >>> b = collate([(torch.zeros(2), torch.ones(3)), (torch.zeros(2), torch.ones(3))])
    >>> type(b).__name__, [tuple(t.shape) for t in b], batch_len(b)
    ('tuple', [(2, 2), (2, 3)], 2)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler, default_collate

from rfn.runtime import derive_seed

__all__ = ["StepBatchSampler", "batch_len", "collate", "get_rng_state", "set_rng_state", "step_indices", "to_device"]


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


def collate(items: list[Any]) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Stack items (tensors, or tuples of tensors) into a batch; tuples stay tuples."""
    batch = default_collate(items)
    return tuple(batch) if isinstance(batch, list) else batch


def to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """A tensor or a tuple/list of tensors moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, (tuple, list)):
        return tuple(to_device(b, device, non_blocking) for b in batch)
    raise TypeError(f"a batch must be a tensor or a tuple of tensors, got {type(batch).__name__}")


def batch_len(batch: Any) -> int:
    """Number of items in a batch (the first dimension of its first tensor)."""
    while isinstance(batch, (tuple, list)):
        batch = batch[0]
    return int(batch.shape[0])


def get_rng_state() -> dict[str, Any]:
    """Python's, NumPy's global and torch's (CPU and, when initialised, CUDA) random states."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": [str(name), [int(v) for v in keys], int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)

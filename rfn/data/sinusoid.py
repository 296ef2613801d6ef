"""Noisy sinusoids cut into patches: the toy sequence set of thesis appendix A.3.

A sequence samples ``y = sin(F x + 2 pi u) + eps`` on the grid ``x = 0,
step, 2 step, ...`` with one random phase ``u ~ U(0, 1)`` per sequence and
independent noise ``eps ~ N(0, noise**2)`` per point (``noise`` is the
standard deviation). The ``patches * patch_size`` points are cut into
``patches`` consecutive patches, one per time step of a sequence model. The
thesis gives step 0.05, noise 0.1, 30 patches of 100 points and leaves the
frequency ``F`` to the user; ``F = 1`` (a period of about 126 points, a bit
more than one patch) is the default here.

Sequence ``i`` is a pure function of ``(seed, split, i)``.

Example:
    >>> ds = Sinusoid("test", length=2)
    >>> y = ds[0]
    >>> y.shape, y.dtype
    (torch.Size([30, 100]), torch.float32)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["SPLITS", "Sinusoid"]

SPLITS = ("train", "valid", "test")
_STREAM = {"train": 20, "valid": 21, "test": 22}
DEFAULT_LENGTH = {"train": 10_000, "valid": 1000, "test": 1000}


class Sinusoid(Dataset):
    """Patches of a noisy sine with a random phase.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"`` (disjoint random streams).
        length: number of sequences (default 10,000 train, 1,000 valid/test).
        frequency: ``F`` in ``sin(F x + 2 pi u)``.
        step: spacing of the ``x`` grid.
        noise: standard deviation of the additive Gaussian noise.
        patches: time steps per sequence ``T``.
        patch_size: points per patch ``P``.
        seed: selects the family of sequences.
        dtype: floating dtype of the items.
        return_clean: items are ``(noisy, clean)`` pairs, ``clean`` without noise.

    Items are float tensors ``[T, P]`` (``[30, 100]`` by default): row ``t``
    holds the points ``t * P .. (t + 1) * P - 1`` of the sequence.
    """

    def __init__(
        self,
        split: str = "train",
        length: int | None = None,
        frequency: float = 1.0,
        step: float = 0.05,
        noise: float = 0.1,
        patches: int = 30,
        patch_size: int = 100,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        return_clean: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown sinusoid split {split!r}; choose one of {', '.join(SPLITS)}")
        length = DEFAULT_LENGTH[split] if length is None else length
        for name, value in (("length", length), ("patches", patches), ("patch_size", patch_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if noise < 0 or step <= 0:
            raise ValueError(f"need noise >= 0 and step > 0, got noise={noise}, step={step}")
        self.split, self.length = split, length
        self.frequency, self.step, self.noise = float(frequency), float(step), float(noise)
        self.patches, self.patch_size, self.seed = patches, patch_size, seed
        self.dtype, self.return_clean = dtype, return_clean
        self.x = np.arange(patches * patch_size, dtype=np.float64) * self.step

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a {self.split} split of length {self.length}")
        rng = np.random.default_rng([self.seed, _STREAM[self.split], index])
        u = rng.random()
        clean = np.sin(self.frequency * self.x + 2 * math.pi * u)
        noisy = clean + self.noise * rng.standard_normal(self.x.shape)
        shape = (self.patches, self.patch_size)
        out = torch.from_numpy(noisy.reshape(shape)).to(self.dtype)
        if self.return_clean:
            return out, torch.from_numpy(clean.reshape(shape)).to(self.dtype)
        return out

"""Two interleaved half circles ("two moons"), the 2-D density of the flow theory chapter.

Example:
    >>> x = two_moons(500, noise=0.05, seed=0)
    >>> x.shape, x.dtype
    (torch.Size([500, 2]), torch.float32)
    >>> ds = TwoMoons("test", length=10)
    >>> ds[0].shape, bool((ds[3] == two_moons(10, seed=1)[3]).all())
    (torch.Size([2]), True)
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

__all__ = ["TwoMoons", "two_moons"]

_LENGTH = {"train": 20_000, "test": 5_000}


def two_moons(
    n: int,
    noise: float = 0.05,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    return_labels: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Points of scikit-learn's ``make_moons``.

    Args:
        n: number of points (split evenly between the two moons).
        noise: standard deviation of the Gaussian noise added to each point.
        seed: random state; the same seed gives the same points.
        dtype: floating dtype of the points.
        return_labels: also return which moon each point lies on.

    Returns:
        points ``[n, 2]`` (and labels ``int64 [n]``). The moons span about
        ``x`` in [-1, 2] and ``y`` in [-0.5, 1].
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    from sklearn.datasets import make_moons  # imported here: scikit-learn is slow to import

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    points = torch.from_numpy(x).to(dtype)
    return (points, torch.from_numpy(y).long()) if return_labels else points


class TwoMoons(Dataset):
    """A fixed set of two-moons points as a data set: items are float ``[2]``.

    Args:
        split: ``"train"`` (points of :func:`two_moons` with ``seed``, 20,000 by default) or
            ``"test"`` (with ``seed + 1``, 5,000 by default).
        length: number of points (``None``: the default of the split).
        noise: standard deviation of the Gaussian noise.
        seed: random state of the training points.
    """

    def __init__(self, split: str = "train", length: int | None = None, noise: float = 0.05, seed: int = 0) -> None:
        if split not in _LENGTH:
            raise ValueError(f"unknown two-moons split {split!r}; choose train or test")
        n = _LENGTH[split] if length is None else length
        self.points = two_moons(n, noise=noise, seed=seed + (split == "test"))

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.points[index]

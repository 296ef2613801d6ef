"""Two interleaved half circles ("two moons"), the 2-D density of the flow theory chapter.

Example:
    >>> x = two_moons(500, noise=0.05, seed=0)
    >>> x.shape, x.dtype
    (torch.Size([500, 2]), torch.float32)
"""

from __future__ import annotations

import torch

__all__ = ["two_moons"]


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

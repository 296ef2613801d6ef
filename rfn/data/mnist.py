"""Real MNIST digits from the offline asset (``rfn.assets``, key ``"mnist"``).

The asset is the classic pickled 50k/10k/10k split with pixels stored as
``k / 256``; we return them as ``uint8`` images ``[N, 28, 28]`` exactly
(``k``), with ``int64`` labels. The ``"train"`` split is the 50k images,
``"valid"`` the 10k held out from the official training set and ``"test"``
the official 10k test images; ``"train+valid"`` joins the first two.

Example:
    >>> images, labels = load_mnist("test")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    (torch.Size([10000, 28, 28]), torch.uint8)
"""

from __future__ import annotations

import functools
import gzip
import pickle

import numpy as np
import torch

from rfn import assets

__all__ = ["SPLITS", "load_mnist"]

SPLITS = ("train", "valid", "test", "train+valid")


@functools.lru_cache(maxsize=1)
def _load_all() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    file = assets.path("mnist")  # verifies sha256 before unpickling
    with gzip.open(file, "rb") as f:
        parts = pickle.load(f, encoding="latin1")
    out = []
    for x, y in parts:
        img = np.rint(np.asarray(x, dtype=np.float64) * 256.0).astype(np.uint8).reshape(-1, 28, 28)
        out.append((img, np.asarray(y, dtype=np.int64)))
    return tuple(out)


def load_mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images and labels.

    Args:
        split: one of ``"train"`` (50k), ``"valid"`` (10k), ``"test"`` (10k), ``"train+valid"`` (60k).

    Returns:
        ``images`` ``uint8`` ``[N, 28, 28]`` in 0..255 and ``labels`` ``int64`` ``[N]``.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; choose one of {', '.join(SPLITS)}")
    train, valid, test = _load_all()
    if split == "train+valid":
        x = np.concatenate([train[0], valid[0]])
        y = np.concatenate([train[1], valid[1]])
    else:
        x, y = {"train": train, "valid": valid, "test": test}[split]
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())

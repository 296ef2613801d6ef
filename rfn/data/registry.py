"""Video data sets by name: one factory for training, evaluation and the CLI.

Names: ``"smmnist"`` (Stochastic Moving MNIST), ``"smmnist-sync"`` (its
synchronised variant), ``"bair"``, ``"kth"`` and ``"shapes"`` (bouncing
shapes). BAIR and KTH read files from ``root``; when ``root`` is None they
look in ``$RFN_DATA/<name>``, else ``~/.cache/rfn/data/<name>``.

Example:
    >>> ds = make_dataset("shapes", split="test", seq_len=5, length=3)
    >>> ds[0].shape
    torch.Size([5, 3, 64, 64])
    >>> dataset_info("kth")["channels"]
    1
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import Dataset

__all__ = ["DATASETS", "dataset_info", "default_root", "make_dataset", "make_datasets"]

_INFO: dict[str, dict] = {
    "smmnist": dict(
        channels=1,
        size=64,
        frames=None,
        needs_root=False,
        description="Stochastic Moving MNIST: 2 digits bouncing with random wall events, generated on the fly",
    ),
    "smmnist-sync": dict(
        channels=1,
        size=64,
        frames=None,
        needs_root=False,
        description="Stochastic Moving MNIST with one shared motion; only the digits change (thesis section 10.6)",
    ),
    "bair": dict(
        channels=3,
        size=64,
        frames=30,
        needs_root=True,
        description="BAIR action-free robot pushing, 64x64 RGB, 30 frames per sequence",
    ),
    "kth": dict(
        channels=1,
        size=64,
        frames=None,
        needs_root=True,
        description="KTH human actions, 64x64 grayscale, persons 1-16 train and 17-25 test",
    ),
    "shapes": dict(
        channels=3,
        size=64,
        frames=None,
        needs_root=False,
        description="Bouncing coloured shapes, a procedural RGB stand-in for BAIR",
    ),
    "textured-shapes": dict(
        channels=3,
        size=64,
        frames=None,
        needs_root=False,
        description="Textured bouncing shapes on a textured background with camera noise (correlated pixels, as BAIR)",
    ),
}

DATASETS: tuple[str, ...] = tuple(_INFO)
"""Names accepted by :func:`make_dataset`."""


def _check_name(name: str) -> None:
    if name not in _INFO:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")


def dataset_info(name: str) -> dict:
    """Facts about a data set: ``channels``, ``size`` (frame side), ``frames``
    (frames per stored sequence, None when unbounded or varying), ``needs_root``
    and a one-line ``description``."""
    _check_name(name)
    return dict(_INFO[name], name=name)


def default_root(name: str) -> Path:
    """Where BAIR / KTH are looked for when no root is given."""
    base = os.environ.get("RFN_DATA")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "rfn" / "data") / name


def make_dataset(
    name: str,
    split: str = "train",
    seq_len: int = 10,
    root: str | os.PathLike | None = None,
    **kwargs,
) -> Dataset:
    """Build a video data set whose items are ``uint8 [T, C, H, W]`` tensors.

    Args:
        name: one of :data:`DATASETS`.
        split: ``"train"`` or ``"test"``.
        seq_len: frames per item ``T``.
        root: data folder for ``"bair"`` and ``"kth"`` (see :func:`default_root`); ignored otherwise.
        **kwargs: passed to the data set class (e.g. ``num_digits``, ``seed``, ``length``).

    Raises:
        ValueError: unknown name (lists the valid ones), or any error of the data set itself.
    """
    _check_name(name)
    if name in ("smmnist", "smmnist-sync"):
        from rfn.data.smmnist import StochasticMovingMNIST

        if name == "smmnist-sync":
            kwargs["synchronised"] = True
        return StochasticMovingMNIST(split=split, seq_len=seq_len, **kwargs)
    if name == "shapes":
        from rfn.data.shapes import BouncingShapes

        return BouncingShapes(split=split, seq_len=seq_len, **kwargs)
    if name == "textured-shapes":
        from rfn.data.textured import TexturedShapes

        return TexturedShapes(split=split, seq_len=seq_len, **kwargs)
    root = default_root(name) if root is None else root
    if name == "bair":
        from rfn.data.bair import BAIR

        return BAIR(root, split=split, seq_len=seq_len, **kwargs)
    from rfn.data.kth import KTH

    return KTH(root, split=split, seq_len=seq_len, **kwargs)


def make_datasets(data: dict, splits: tuple[str, ...] = ("train", "val")) -> list[Dataset]:
    """Build the data sets of a run's data config (``asdict(DataConfig)``) for ``splits``.

    ``"val"`` stands for the config's ``val_split``.
    """
    out = []
    for split in splits:
        real = data.get("val_split", "test") if split == "val" else split
        out.append(
            make_dataset(data["name"], split=real, seq_len=data["seq_len"], root=data.get("root"), **data["kwargs"])
        )
    return out

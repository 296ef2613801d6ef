"""Data sets by name: one factory for training, evaluation and the CLI.

Video sets (items ``uint8 [T, C, H, W]``): ``"smmnist"`` (Stochastic Moving
MNIST), ``"smmnist-sync"`` (its synchronised variant), ``"bair"``, ``"kth"`` and
``"shapes"`` (bouncing shapes). BAIR and KTH read files from ``root``; when
``root`` is None they look in ``$RFN_DATA/<name>``, else ``~/.cache/rfn/data/<name>``.

The small sets of the book's early chapters: ``"mnist"`` (digits, ``uint8 [1, 28, 28]``;
``pad=2`` gives 32x32), ``"mnist-inner-square"`` (``(condition, target)`` pairs of
the inner-square task), ``"sinusoid"`` (float ``[T, 100]`` patches; ``seq_len`` is
``T``) and ``"two-moons"`` (float ``[2]`` points). ``dataset_info(name)["item"]``
names the batch kind a set's items make (see :data:`rfn.models.registry.BATCH_KINDS`);
sets of single items take no ``seq_len`` (pass ``None``).

Example:
    >>> ds = make_dataset("shapes", split="test", seq_len=5, length=3)
    >>> ds[0].shape
    torch.Size([5, 3, 64, 64])
    >>> dataset_info("kth")["channels"]
    1
    >>> make_dataset("two-moons", split="test", seq_len=None, length=4)[0].shape
    torch.Size([2])
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import Dataset

__all__ = ["DATASETS", "VIDEO_DATASETS", "dataset_info", "default_root", "make_dataset", "make_datasets"]

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
    "mnist": dict(
        channels=1,
        size=28,
        frames=None,
        needs_root=False,
        item="images",
        description="MNIST digits as uint8 [1, 28, 28] images (splits train 50k, valid 10k, test 10k; pad=2: 32x32)",
    ),
    "mnist-inner-square": dict(
        channels=1,
        size=32,
        frames=None,
        needs_root=False,
        item="pairs",
        description="Inner-square task on 2-bit MNIST padded to 32x32: (border, 16x16 centre) pairs (thesis A.4)",
    ),
    "sinusoid": dict(
        channels=None,
        size=100,
        frames=None,
        needs_root=False,
        item="sequences",
        description="Noisy sinusoids cut into patches of 100 points, float [T, 100] (thesis A.3)",
    ),
    "two-moons": dict(
        channels=None,
        size=2,
        frames=None,
        needs_root=False,
        item="points",
        description="Two interleaved half circles, float [2] points (20k train, 5k test)",
    ),
}
for _info in _INFO.values():
    _info.setdefault("item", "video")

DATASETS: tuple[str, ...] = tuple(_INFO)
"""Names accepted by :func:`make_dataset`."""

VIDEO_DATASETS: tuple[str, ...] = tuple(n for n, i in _INFO.items() if i["item"] == "video")
"""The names whose items are ``uint8 [T, C, H, W]`` videos."""


def _check_name(name: str) -> None:
    if name not in _INFO:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")


def dataset_info(name: str) -> dict:
    """Facts about a data set: ``channels``, ``size`` (frame side), ``frames``
    (frames per stored sequence, None when unbounded or varying), ``needs_root``,
    ``item`` (the batch kind its items make) and a one-line ``description``."""
    _check_name(name)
    return dict(_INFO[name], name=name)


def default_root(name: str) -> Path:
    """Where BAIR / KTH are looked for when no root is given."""
    base = os.environ.get("RFN_DATA")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "rfn" / "data") / name


def _small_dataset(name: str, split: str, seq_len: int | None, kwargs: dict) -> Dataset:
    """The sets of single items (and the sinusoid, whose ``seq_len`` is its number of patches)."""
    if name == "sinusoid":
        from rfn.data.sinusoid import Sinusoid

        lengths = {"train": kwargs.pop("train_length", None), "eval": kwargs.pop("eval_length", None)}
        length = lengths["train" if split == "train" else "eval"]
        return Sinusoid(split, length=length, patches=30 if seq_len is None else seq_len, **kwargs)
    if seq_len is not None:
        raise ValueError(f"data set {name!r} has single items, not sequences; set seq_len=None (data.seq_len=None)")
    if name == "mnist":
        from rfn.data.images import MNISTImages

        return MNISTImages(split, **kwargs)
    if name == "mnist-inner-square":
        from rfn.data.images import conditional_mnist

        return conditional_mnist(split, **kwargs)
    from rfn.data.moons import TwoMoons

    return TwoMoons(split, **kwargs)


def make_dataset(
    name: str,
    split: str = "train",
    seq_len: int | None = 10,
    root: str | os.PathLike | None = None,
    **kwargs,
) -> Dataset:
    """Build a data set by name: video items ``uint8 [T, C, H, W]``, or the small sets' items.

    Args:
        name: one of :data:`DATASETS`.
        split: ``"train"`` or ``"test"`` (MNIST and the sinusoid also have ``"valid"``).
        seq_len: frames per item ``T`` (the sinusoid: patches per sequence; ``None`` for sets of single items).
        root: data folder for ``"bair"`` and ``"kth"`` (see :func:`default_root`); ignored otherwise.
        **kwargs: passed to the data set class (e.g. ``num_digits``, ``seed``, ``length``; the
            sinusoid takes ``train_length`` and ``eval_length`` for its splits).

    Raises:
        ValueError: unknown name (lists the valid ones), or any error of the data set itself.
    """
    _check_name(name)
    if _INFO[name]["item"] != "video":
        return _small_dataset(name, split, seq_len, dict(kwargs))
    if seq_len is None:
        raise ValueError(f"data set {name!r} yields video sequences; give seq_len (frames per item)")
    if name in ("smmnist", "smmnist-sync"):
        from rfn.data.smmnist import StochasticMovingMNIST

        if name == "smmnist-sync":
            kwargs["synchronised"] = True
        return StochasticMovingMNIST(split=split, seq_len=seq_len, **kwargs)
    if name == "shapes":
        from rfn.data.textured import BouncingShapes

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

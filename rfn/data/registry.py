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

Every data set is one row of one table (``_TABLE``): how it is built (its module is imported
only then), its channels, frame side, stored frames, whether it needs a ``root``, the kind of
its items and a description. A new data set is a new row.

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

import importlib
import os
from pathlib import Path

from torch.utils.data import Dataset

__all__ = ["DATASETS", "VIDEO_DATASETS", "dataset_info", "default_root", "make_dataset", "make_datasets"]


def _load(target: str):
    """``"module:attribute"`` -> the attribute, imported when a data set is built (importing the registry is cheap)."""
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


def _video(target: str, **fixed):
    """A video set built as ``cls(split=..., seq_len=..., **fixed, **kwargs)``."""
    return lambda split, seq_len, root, kwargs: _load(target)(split=split, seq_len=seq_len, **fixed, **kwargs)


def _on_disk(target: str, name: str):
    """A video set read from ``root`` (default :func:`default_root`): ``cls(root, split=, seq_len=, **kwargs)``."""
    return lambda split, seq_len, root, kwargs: _load(target)(
        default_root(name) if root is None else root, split=split, seq_len=seq_len, **kwargs
    )


def _items(target: str):
    """A set of single items: ``factory(split, **kwargs)``."""
    return lambda split, seq_len, root, kwargs: _load(target)(split, **kwargs)


def _sinusoid(split, seq_len, root, kwargs):
    """The sinusoid: ``seq_len`` patches per sequence, ``train_length`` / ``eval_length`` per split."""
    lengths = {"train": kwargs.pop("train_length", None), "eval": kwargs.pop("eval_length", None)}
    length = lengths["train" if split == "train" else "eval"]
    return _load("rfn.data.sinusoid:Sinusoid")(
        split, length=length, patches=30 if seq_len is None else seq_len, **kwargs
    )


#: name -> (how it is built, channels, frame side, frames per stored sequence or None, needs a root,
#: the batch kind of its items, description): the one table of the data sets
_TABLE: dict[str, tuple] = {
    "smmnist": (_video("rfn.data.smmnist:StochasticMovingMNIST"), 1, 64, None, False, "video",
                "Stochastic Moving MNIST: 2 digits bouncing with random wall events, generated on the fly"),
    "smmnist-sync": (_video("rfn.data.smmnist:StochasticMovingMNIST", synchronised=True), 1, 64, None, False, "video",
                     "Stochastic Moving MNIST with one shared motion; only the digits change (thesis section 10.6)"),
    "bair": (_on_disk("rfn.data.bair:BAIR", "bair"), 3, 64, 30, True, "video",
             "BAIR action-free robot pushing, 64x64 RGB, 30 frames per sequence"),
    "kth": (_on_disk("rfn.data.kth:KTH", "kth"), 1, 64, None, True, "video",
            "KTH human actions, 64x64 grayscale, persons 1-16 train and 17-25 test"),
    "shapes": (_video("rfn.data.textured:BouncingShapes"), 3, 64, None, False, "video",
               "Bouncing coloured shapes, a procedural RGB stand-in for BAIR"),
    "textured-shapes": (_video("rfn.data.textured:TexturedShapes"), 3, 64, None, False, "video",
                        "Textured bouncing shapes on a textured background with camera noise (correlated pixels, "
                        "as BAIR)"),
    "mnist": (_items("rfn.data.images:MNISTImages"), 1, 28, None, False, "images",
              "MNIST digits as uint8 [1, 28, 28] images (splits train 50k, valid 10k, test 10k; pad=2: 32x32)"),
    "mnist-inner-square": (_items("rfn.data.images:conditional_mnist"), 1, 32, None, False, "pairs",
                           "Inner-square task on 2-bit MNIST padded to 32x32: (border, 16x16 centre) pairs "
                           "(thesis A.4)"),
    "sinusoid": (_sinusoid, None, 100, None, False, "sequences",
                 "Noisy sinusoids cut into patches of 100 points, float [T, 100] (thesis A.3)"),
    "two-moons": (_items("rfn.data.moons:TwoMoons"), None, 2, None, False, "points",
                  "Two interleaved half circles, float [2] points (20k train, 5k test)"),
}  # fmt: skip
_FIELDS = ("channels", "size", "frames", "needs_root", "item", "description")
_INFO: dict[str, dict] = {name: dict(zip(_FIELDS, row[1:])) for name, row in _TABLE.items()}

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
    item = _INFO[name]["item"]
    if item == "video" and seq_len is None:
        raise ValueError(f"data set {name!r} yields video sequences; give seq_len (frames per item)")
    if item not in ("video", "sequences") and seq_len is not None:
        raise ValueError(f"data set {name!r} has single items, not sequences; set seq_len=None (data.seq_len=None)")
    return _TABLE[name][0](split, seq_len, root, dict(kwargs))


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

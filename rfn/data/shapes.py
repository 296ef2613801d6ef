"""Bouncing shapes: a procedural RGB video set that stands in for BAIR offline.

Coloured squares, discs, triangles and diamonds move over a dark canvas with
the same stochastic wall rule as Stochastic Moving MNIST
(:func:`rfn.data.motion.simulate_bounces`): a fresh random velocity whenever
a shape reaches a wall. Later shapes are painted over earlier ones, so
occlusion (not addition) decides overlaps, as in natural video. Each shape's
kind and colour are drawn per sequence; the set needs no download, so every
RGB example runs anywhere.

Sequence ``i`` is a pure function of ``(seed, split, i)``, like SM-MNIST; the
train split is virtual (``10**6`` sequences by default), the test split holds
1,000 sequences.

Example:
    >>> ds = BouncingShapes("test", seq_len=8, length=4)
    >>> x = ds[0]
    >>> x.shape, x.dtype
    (torch.Size([8, 3, 64, 64]), torch.uint8)
    >>> bool((ds[0] == x).all())
    True
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import Dataset

from rfn.data.motion import simulate_bounces

__all__ = ["COLOURS", "KINDS", "SPLITS", "BouncingShapes", "shape_mask"]

SPLITS = ("train", "test")
_STREAM = {"train": 10, "test": 11}
DEFAULT_LENGTH = {"train": 10**6, "test": 1000}
KINDS = ("square", "disc", "triangle", "diamond")
COLOURS = np.array(
    [
        [230, 25, 75],  # red
        [60, 180, 75],  # green
        [255, 225, 25],  # yellow
        [0, 130, 200],  # blue
        [245, 130, 48],  # orange
        [145, 30, 180],  # purple
        [70, 240, 240],  # cyan
        [240, 50, 230],  # magenta
    ],
    dtype=np.uint8,
)
"""Well separated colours (a subset of Sasha Trubetskoy's palette)."""
BACKGROUND = (16, 16, 16)


@functools.lru_cache(maxsize=32)
def shape_mask(kind: str, size: int) -> np.ndarray:
    """Binary mask ``bool [size, size]`` of a shape filling its box (pixel centres inside the shape)."""
    if kind not in KINDS:
        raise ValueError(f"unknown shape kind {kind!r}; choose one of {', '.join(KINDS)}")
    c = (np.arange(size) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
    y, x = np.meshgrid(c, c, indexing="ij")
    if kind == "square":
        m = np.ones((size, size), dtype=bool)
    elif kind == "disc":
        m = x**2 + y**2 <= 1
    elif kind == "triangle":  # apex up, base at the bottom
        m = np.abs(x) <= (y + 1) / 2
    else:
        m = np.abs(x) + np.abs(y) <= 1
    m.setflags(write=False)
    return m


class BouncingShapes(Dataset):
    """Coloured shapes bouncing with stochastic wall events.

    Args:
        split: ``"train"`` or ``"test"``.
        seq_len: frames per sequence ``T``.
        num_shapes: shapes per sequence.
        image_size: side of the square canvas.
        shape_size: side of each shape's box (default ``image_size // 4``).
        seed: selects the family of sequences.
        length: number of sequences (default ``10**6`` train, 1,000 test).
        return_events: items are dicts with ``"frames"``, ``"events"``
            (``bool [T, D, 4]``: top, bottom, left, right), ``"positions"`` and
            ``"velocities"`` (``int64 [T, D, 2]``).
        deterministic: flip the normal velocity at walls instead of redrawing.

    Items are ``uint8 [T, 3, image_size, image_size]`` tensors.
    """

    channels = 3

    def __init__(
        self,
        split: str = "train",
        seq_len: int = 10,
        num_shapes: int = 2,
        image_size: int = 64,
        shape_size: int | None = None,
        seed: int = 0,
        length: int | None = None,
        return_events: bool = False,
        deterministic: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown bouncing-shapes split {split!r}; choose one of {', '.join(SPLITS)}")
        for name, value in (("seq_len", seq_len), ("num_shapes", num_shapes), ("image_size", image_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        shape_size = max(1, image_size // 4) if shape_size is None else shape_size
        if not isinstance(shape_size, int) or not 1 <= shape_size <= image_size:
            raise ValueError(f"shape_size must be an integer in 1..image_size={image_size}, got {shape_size!r}")
        length = DEFAULT_LENGTH[split] if length is None else length
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        self.split = split
        self.seq_len = seq_len
        self.num_shapes = num_shapes
        self.image_size = image_size
        self.shape_size = shape_size
        self.seed = seed
        self.length = length
        self.return_events = return_events
        self.deterministic = deterministic

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor | dict[str, torch.Tensor]:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a {self.split} split of length {self.length}")
        rng = np.random.default_rng([self.seed, _STREAM[self.split], index])
        kinds = rng.integers(0, len(KINDS), size=self.num_shapes).tolist()
        colours = rng.choice(len(COLOURS), size=self.num_shapes, replace=self.num_shapes > len(COLOURS))
        limit = self.image_size - self.shape_size
        path = simulate_bounces(rng, self.num_shapes, self.seq_len, limit, self.deterministic)
        s = self.shape_size
        frames = np.empty((self.seq_len, self.image_size, self.image_size, 3), dtype=np.uint8)
        frames[...] = BACKGROUND
        pos = path.positions.tolist()
        for d in range(self.num_shapes):
            mask = shape_mask(KINDS[kinds[d]], s)
            colour = COLOURS[colours[d]]
            for t in range(self.seq_len):
                y, x = pos[t][d]
                frames[t, y : y + s, x : x + s][mask] = colour
        out = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))  # numpy: faster uint8 copy
        if not self.return_events:
            return out
        return {
            "frames": out,
            "events": torch.from_numpy(path.events),
            "positions": torch.from_numpy(path.positions),
            "velocities": torch.from_numpy(path.velocities),
        }

    def __repr__(self) -> str:
        return (
            f"BouncingShapes(split={self.split!r}, seq_len={self.seq_len}, num_shapes={self.num_shapes}, "
            f"image_size={self.image_size}, seed={self.seed}, length={self.length})"
        )

"""Bouncing shapes, procedural RGB video: flat-coloured (``"shapes"``) and textured (``"textured-shapes"``).

:class:`BouncingShapes` moves coloured squares, discs, triangles and diamonds over a dark
canvas with the stochastic wall rule of Stochastic Moving MNIST; later shapes occlude
earlier ones. :class:`TexturedShapes` is the RGB stand-in for BAIR whose neighbouring pixels
are correlated.

Flat-coloured shapes on a flat background are almost
piecewise constant: a per-pixel factorised output models them well. Natural
video is different: its pixels are strongly correlated with their neighbours,
and that correlation is what a flow output can capture and a factorised one
cannot. This set adds it, while keeping the stochastic motion of SM-MNIST:

* **background**: a static colour texture with the power spectrum of natural
  images (Gaussian noise filtered to ``1/f^alpha`` amplitude, ``alpha`` drawn
  per sequence in ``[1, 1.6]``; two such fields mixed into the three colour
  channels by a random matrix, around a random mid-grey);
* **shapes**: squares, discs, triangles and diamonds (the masks of
  :func:`shape_mask`) in palette colours, modulated by a
  sinusoidal grating (random orientation, 1.5-4 cycles per shape, random phase)
  and a weaker ``1/f`` texture; the texture moves with its shape;
* **occlusion**: later shapes are painted over earlier ones;
* **motion**: :func:`rfn.data.motion.simulate_bounces`, as SM-MNIST (uniform
  start, velocities in ``{-4..4}``, a fresh random velocity at every wall);
* **camera**: per-frame exposure flicker (a global gain ``1 + flicker * N(0, 1)``),
  Gaussian sensor noise of ``noise_std`` grey levels per pixel and channel, and
  optionally camera shake (the whole view shifts by up to ``shake`` pixels per
  axis and frame, a spatially coherent uncertainty of the kind a flow models well).

Sequence ``i`` is a pure function of ``(seed, split, i)`` (the splits use
different random streams, so train and test never share a sequence); the
first ``T`` frames do not depend on ``seq_len``. The train split is virtual
(``10**6`` sequences), the test split holds 1,000.

Example:
    >>> ds = TexturedShapes("test", seq_len=6, image_size=32, length=4)
    >>> x = ds[0]
    >>> x.shape, x.dtype
    (torch.Size([6, 3, 32, 32]), torch.uint8)
    >>> bool((ds[0] == x).all())
    True
    >>> round(adjacent_correlation(x), 1) > 0.5  # neighbours are strongly correlated
    True
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import Dataset

from rfn.data.motion import simulate_bounces

__all__ = [
    "COLOURS",
    "KINDS",
    "SPLITS",
    "BouncingShapes",
    "TexturedShapes",
    "adjacent_correlation",
    "pink_noise",
    "shape_mask",
]

SPLITS = ("train", "test")
_STREAM = {"train": 20, "test": 21}
DEFAULT_LENGTH = {"train": 10**6, "test": 1000}

_FLAT_STREAM = {"train": 10, "test": 11}


def _check_sizes(what: str, split: str, seq_len, num_shapes, image_size, min_image: int) -> None:
    """The arguments both shape sets share; a clear ValueError naming the first bad one."""
    if split not in SPLITS:
        raise ValueError(f"unknown {what} split {split!r}; choose one of {', '.join(SPLITS)}")
    for name, value in (("seq_len", seq_len), ("num_shapes", num_shapes)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(image_size, int) or image_size < min_image:
        least = "a positive integer" if min_image == 1 else f"an integer of at least {min_image}"
        raise ValueError(f"image_size must be {least}, got {image_size!r}")


def _check_shape_size(shape_size, image_size: int) -> None:
    if not isinstance(shape_size, int) or not 1 <= shape_size <= image_size:
        raise ValueError(f"shape_size must be an integer in 1..image_size={image_size}, got {shape_size!r}")


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
        _check_sizes("bouncing-shapes", split, seq_len, num_shapes, image_size, 1)
        shape_size = max(1, image_size // 4) if shape_size is None else shape_size
        _check_shape_size(shape_size, image_size)
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
        rng = np.random.default_rng([self.seed, _FLAT_STREAM[self.split], index])
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


@functools.lru_cache(maxsize=16)
def _radius(size: int) -> np.ndarray:
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    r = np.sqrt(fy**2 + fx**2) * size  # cycles per field
    r[0, 0] = 1.0
    r.setflags(write=False)
    return r


def pink_noise(rng: np.random.Generator, count: int, size: int, alpha: float) -> np.ndarray:
    """``count`` Gaussian fields ``float32 [count, size, size]`` with ``1/f^alpha`` amplitude spectrum.

    Each field has zero mean and unit standard deviation (over its pixels).
    """
    white = rng.standard_normal((count, size, size))
    spectrum = np.fft.rfft2(white) / _radius(size) ** alpha
    spectrum[:, 0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(size, size))
    field /= field.std(axis=(1, 2), keepdims=True) + 1e-12
    return field.astype(np.float32)


def adjacent_correlation(frames: torch.Tensor) -> float:
    """Correlation of horizontally adjacent pixels within images, pooled over frames and channels.

    Each ``[H, W]`` image of ``frames [..., H, W]`` is centred by its own mean, so only spatial structure
    counts (not differences of brightness or colour between frames); pixels drawn independently of their
    neighbours give about 0, natural images about 0.9.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> abs(adjacent_correlation(torch.randint(0, 256, (4, 3, 32, 32), generator=g))) < 0.05
        True
    """
    x = frames.double()
    x = x - x.mean((-2, -1), keepdim=True)
    a, b = x[..., :, :-1], x[..., :, 1:]
    return float((a * b).sum() / ((a * a).sum() * (b * b).sum()).sqrt().clamp_min(1e-12))


class TexturedShapes(Dataset):
    """Textured shapes bouncing over a textured background, with camera noise.

    Args:
        split: ``"train"`` or ``"test"``.
        seq_len: frames per sequence ``T``.
        num_shapes: shapes per sequence (painted in order: later ones occlude earlier ones).
        image_size: side of the square frames (32 and 64 are the usual sizes; at least 8).
        shape_size: side of each shape's box (default ``3 * image_size // 8``).
        seed: selects the family of sequences.
        length: number of sequences (default ``10**6`` train, 1,000 test).
        noise_std: standard deviation of the per-pixel sensor noise in grey levels (0 for none).
        flicker: standard deviation of the per-frame exposure gain around 1 (0 for none).
        shake: largest camera offset in pixels per axis and frame (0, the default, for a still camera).
        return_events: items are dicts with ``"frames"``, ``"events"`` (``bool [T, D, 4]``: top, bottom,
            left, right), ``"positions"`` and ``"velocities"`` (``int64 [T, D, 2]``, ``(y, x)``) and
            ``"offsets"`` (``int64 [T, 2]``, the camera shake).
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
        noise_std: float = 2.0,
        flicker: float = 0.02,
        shake: int = 0,
        return_events: bool = False,
        deterministic: bool = False,
    ) -> None:
        _check_sizes("textured-shapes", split, seq_len, num_shapes, image_size, 8)
        shape_size = 3 * image_size // 8 if shape_size is None else shape_size
        _check_shape_size(shape_size, image_size)
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        length = DEFAULT_LENGTH[split] if length is None else length
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        for name, value in (("noise_std", noise_std), ("flicker", flicker)):
            if not isinstance(value, (int, float)) or not 0 <= value < 1e3:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not isinstance(shake, int) or not 0 <= shake <= image_size // 4:
            raise ValueError(f"shake must be an integer in 0..image_size // 4 = {image_size // 4}, got {shake!r}")
        self.split = split
        self.seq_len = seq_len
        self.num_shapes = num_shapes
        self.image_size = image_size
        self.shape_size = shape_size
        self.seed = seed
        self.length = length
        self.noise_std = float(noise_std)
        self.flicker = float(flicker)
        self.shake = shake
        self.return_events = return_events
        self.deterministic = deterministic

    def __len__(self) -> int:
        return self.length

    def _scene(self, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Background ``float32 [S, S, 3]`` (``S = image_size + 2 shake``), shape textures and masks."""
        size, s = self.image_size + 2 * self.shake, self.shape_size
        # background: two 1/f fields mixed into RGB around a mid-grey
        fields = pink_noise(rng, 2, size, rng.uniform(1.0, 1.6))
        mix = rng.normal(0.0, 22.0, size=(2, 3)).astype(np.float32)
        base = rng.uniform(70.0, 150.0) + rng.uniform(-20.0, 20.0, size=3)
        background = base.astype(np.float32) + np.einsum("kyx,kc->yxc", fields, mix)
        # shapes: palette colour x (1 + grating) + a weaker 1/f texture
        kinds = rng.integers(0, len(KINDS), size=self.num_shapes)
        colours = COLOURS[rng.choice(len(COLOURS), size=self.num_shapes, replace=self.num_shapes > len(COLOURS))]
        c = (np.arange(s, dtype=np.float32) + 0.5) / s
        yy, xx = np.meshgrid(c, c, indexing="ij")
        details = pink_noise(rng, self.num_shapes, s, 1.2)
        textures, masks = [], []
        for d in range(self.num_shapes):
            angle, cycles, phase, depth = (
                rng.uniform(0, np.pi),
                rng.uniform(1.5, 4.0),
                rng.uniform(0, 2 * np.pi),
                rng.uniform(0.2, 0.45),
            )
            grating = np.sin(2 * np.pi * cycles * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
            tex = colours[d].astype(np.float32) * (1.0 + depth * grating)[..., None] + 12.0 * details[d][..., None]
            textures.append(tex)
            masks.append(shape_mask(KINDS[kinds[d]], s))
        return background, textures, masks

    def _camera(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame offsets ``int64 [T, 2]``, gains ``float32 [T]`` and noise ``float32 [T, H, W, 3]``.

        Each comes from its own generator and is drawn frame by frame in order, so the first ``T`` frames of a
        longer sequence get the same values.
        """
        key = [self.seed, _STREAM[self.split], index]
        t, h = self.seq_len, self.image_size
        offsets = np.random.default_rng([*key, 1]).integers(-self.shake, self.shake + 1, size=(t, 2))
        gains = 1.0 + self.flicker * np.random.default_rng([*key, 2]).standard_normal(t, dtype=np.float32)
        noise = np.random.default_rng([*key, 3]).standard_normal((t, h, h, 3), dtype=np.float32)
        return offsets, gains.astype(np.float32), noise * np.float32(self.noise_std)

    def _check_index(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a {self.split} split of length {self.length}")
        return index

    def __getitem__(self, index: int) -> torch.Tensor | dict[str, torch.Tensor]:
        index = self._check_index(index)
        rng = np.random.default_rng([self.seed, _STREAM[self.split], index])
        background, textures, masks = self._scene(rng)  # fixed number of draws, then the motion
        s, h, m = self.shape_size, self.image_size, self.shake
        path = simulate_bounces(rng, self.num_shapes, self.seq_len, h - s, self.deterministic)
        offsets, gains, noise = self._camera(index)
        pos, off = path.positions.tolist(), offsets.tolist()
        frames = np.empty((self.seq_len, h, h, 3), dtype=np.float32)
        for t in range(self.seq_len):
            scene = background.copy()
            for d in range(self.num_shapes):  # in order: later shapes occlude earlier ones
                y, x = pos[t][d]
                scene[m + y : m + y + s, m + x : m + x + s][masks[d]] = textures[d][masks[d]]
            dy, dx = off[t]
            frames[t] = scene[m + dy : m + dy + h, m + dx : m + dx + h]
        frames *= gains[:, None, None, None]
        frames += noise
        np.rint(frames, out=frames)
        np.clip(frames, 0, 255, out=frames)
        out = torch.from_numpy(np.ascontiguousarray(frames.astype(np.uint8).transpose(0, 3, 1, 2)))
        if not self.return_events:
            return out
        return {
            "frames": out,
            "events": torch.from_numpy(path.events),
            "positions": torch.from_numpy(path.positions),
            "velocities": torch.from_numpy(path.velocities),
            "offsets": torch.from_numpy(offsets),
        }

    def __repr__(self) -> str:
        return (
            f"TexturedShapes(split={self.split!r}, seq_len={self.seq_len}, num_shapes={self.num_shapes}, "
            f"image_size={self.image_size}, seed={self.seed}, length={self.length}, noise_std={self.noise_std}, "
            f"flicker={self.flicker}, shake={self.shake})"
        )

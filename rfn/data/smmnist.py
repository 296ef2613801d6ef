"""Stochastic Moving MNIST (Denton & Fergus, 2018): digits bouncing with random wall events.

Each sequence places ``num_digits`` MNIST digits, resized once from 28 to
``digit_size`` pixels with a Lanczos filter, on a black ``image_size`` canvas
and moves them with :func:`rfn.data.motion.simulate_bounces`: uniform start
positions, start velocities uniform in ``{-4..4}`` per axis, and a fresh
random velocity (normal part ``{1..4}`` pointing away, other part ``{-4..4}``)
whenever a digit reaches a wall. Overlapping digits are summed and clipped at
255, as in SVG's generator.

Reproducibility: sequence ``i`` of a split is a pure function of ``(seed,
split, i)``; its random numbers come from ``numpy.random.default_rng([seed,
stream, i])``. Nothing is stored, so training can draw any index in any
worker and resume anywhere, and the test split is the same set of sequences
on every machine. Its digits are drawn first, then its motion (in a fixed
order), so the first ``T`` frames of a sequence do not depend on ``seq_len``.

Splits: ``"train"`` draws digits from the 60,000 official MNIST training
images (the asset's 50k train + 10k valid, as the thesis used all 60k) and
has a virtual length of ``10**6`` by default; ``"test"`` draws digits from
the 10,000 official test images and holds 10,000 sequences by default
(5,000 or 10,000 are the usual sizes; 10,000 keeps FVD estimates stable).

The synchronised variant (thesis section 10.6) shares one motion among all
sequences of a split (drawn from ``motion_seed``) while the digits still
change with the index, so per-frame statistics over many sequences line up
with the same bounce events.

Example:
    >>> ds = StochasticMovingMNIST("test", seq_len=10)  # doctest: +SKIP
    >>> x = ds[0]  # doctest: +SKIP
    >>> x.shape, x.dtype  # doctest: +SKIP
    (torch.Size([10, 1, 64, 64]), torch.uint8)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from rfn.data.mnist import load_mnist
from rfn.data.motion import WALLS, Bounces, simulate_bounces

__all__ = ["SPLITS", "WALLS", "StochasticMovingMNIST", "Trajectory", "digit_pool"]

SPLITS = ("train", "test")
_STREAM = {"train": 0, "test": 1}
_SYNC_STREAM = 1000  # offset of the synchronised variant's motion stream
_MNIST_SPLIT = {"train": "train+valid", "test": "test"}
DEFAULT_LENGTH = {"train": 10**6, "test": 10_000}


@functools.lru_cache(maxsize=4)
def _digit_pool(split: str, digit_size: int) -> np.ndarray:
    from PIL import Image

    images, _ = load_mnist(_MNIST_SPLIT[split])
    images = images.numpy()
    if digit_size == images.shape[-1]:
        out = images.copy()
    else:
        out = np.empty((len(images), digit_size, digit_size), dtype=np.uint8)
        for i, img in enumerate(images):
            out[i] = np.asarray(Image.fromarray(img).resize((digit_size, digit_size), Image.Resampling.LANCZOS))
    out.setflags(write=False)
    return out


def digit_pool(split: str = "train", digit_size: int = 32) -> np.ndarray:
    """MNIST digits of a split resized with Lanczos, cached in memory.

    Args:
        split: ``"train"`` (60,000 official training images) or ``"test"`` (10,000 test images).
        digit_size: side of the resized digits in pixels.

    Returns:
        read-only ``uint8 [N, digit_size, digit_size]``.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown Stochastic Moving MNIST split {split!r}; choose one of {', '.join(SPLITS)}")
    if not isinstance(digit_size, int) or digit_size < 1:
        raise ValueError(f"digit_size must be a positive integer, got {digit_size!r}")
    return _digit_pool(split, digit_size)


@dataclass(frozen=True)
class Trajectory:
    """Everything random about one sequence: which digits and how they move.

    Attributes:
        digits: ``int64 [D]`` indices into :func:`digit_pool` of the split.
        positions: ``int64 [T, D, 2]`` top-left ``(y, x)`` of each digit in each frame.
        velocities: ``int64 [T, D, 2]`` step ``(vy, vx)`` from frame ``t`` to ``t + 1``.
        events: ``bool [T, D, 4]`` digit ``d`` hit wall ``w`` (top, bottom, left, right) at frame ``t``.
    """

    digits: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    events: np.ndarray


class StochasticMovingMNIST(Dataset):
    """Stochastic Moving MNIST videos, generated on the fly.

    Args:
        split: ``"train"`` or ``"test"`` (digits from disjoint MNIST images).
        seq_len: frames per sequence ``T``.
        num_digits: digits per sequence (the thesis uses 1 to 3; 2 by default).
        image_size: side of the square canvas.
        digit_size: side of the resized digits.
        seed: selects the family of sequences; the default 0 defines the
            reference test split.
        length: number of sequences (``__len__``); default ``10**6`` for train
            (virtual: any index is valid) and 10,000 for test.
        synchronised: every sequence moves exactly like sequence 0's motion
            stream (drawn from ``motion_seed``); only the digits differ.
        motion_seed: seed of the shared motion of the synchronised variant
            (defaults to ``seed``).
        return_events: items are dicts with the frames and the bounce events
            (see :meth:`__getitem__`) instead of plain tensors.
        deterministic: classic Moving MNIST bounce (flip the normal velocity)
            instead of the stochastic redraw.

    Items are ``uint8 [T, 1, image_size, image_size]`` tensors.
    """

    channels = 1

    def __init__(
        self,
        split: str = "train",
        seq_len: int = 10,
        num_digits: int = 2,
        image_size: int = 64,
        digit_size: int = 32,
        seed: int = 0,
        length: int | None = None,
        synchronised: bool = False,
        motion_seed: int | None = None,
        return_events: bool = False,
        deterministic: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown Stochastic Moving MNIST split {split!r}; choose one of {', '.join(SPLITS)}")
        for name, value in (("seq_len", seq_len), ("num_digits", num_digits), ("image_size", image_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(digit_size, int) or not 1 <= digit_size <= image_size:
            raise ValueError(f"digit_size must be an integer in 1..image_size={image_size}, got {digit_size!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        length = DEFAULT_LENGTH[split] if length is None else length
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        self.split = split
        self.seq_len = seq_len
        self.num_digits = num_digits
        self.image_size = image_size
        self.digit_size = digit_size
        self.seed = seed
        self.length = length
        self.synchronised = synchronised
        self.motion_seed = seed if motion_seed is None else motion_seed
        self.return_events = return_events
        self.deterministic = deterministic
        # Loaded here, not lazily, so DataLoader workers inherit the pool.
        self.digits = digit_pool(split, digit_size)
        self._shared_motion: Bounces | None = None

    def __len__(self) -> int:
        return self.length

    def _check_index(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a {self.split} split of length {self.length}")
        return index

    def _motion(self, rng: np.random.Generator) -> Bounces:
        limit = self.image_size - self.digit_size
        if not self.synchronised:
            return simulate_bounces(rng, self.num_digits, self.seq_len, limit, self.deterministic)
        if self._shared_motion is None:
            shared = np.random.default_rng([self.motion_seed, _SYNC_STREAM + _STREAM[self.split]])
            self._shared_motion = simulate_bounces(shared, self.num_digits, self.seq_len, limit, self.deterministic)
        return self._shared_motion

    def trajectory(self, index: int) -> Trajectory:
        """The digits and motion of sequence ``index`` (what :meth:`__getitem__` draws)."""
        index = self._check_index(index)
        rng = np.random.default_rng([self.seed, _STREAM[self.split], index])
        digits = rng.integers(0, len(self.digits), size=self.num_digits)
        path = self._motion(rng)
        return Trajectory(digits=digits, positions=path.positions, velocities=path.velocities, events=path.events)

    def render(self, traj: Trajectory) -> np.ndarray:
        """Draw a trajectory: ``uint8 [T, image_size, image_size]``, overlaps summed and clipped at 255."""
        s = self.digit_size
        canvas = np.zeros((self.seq_len, self.image_size, self.image_size), dtype=np.uint16)
        pos = traj.positions.tolist()
        for d, k in enumerate(traj.digits.tolist()):
            digit = self.digits[k]
            for t in range(self.seq_len):
                y, x = pos[t][d]
                canvas[t, y : y + s, x : x + s] += digit
        np.minimum(canvas, 255, out=canvas)
        return canvas.astype(np.uint8)

    def __getitem__(self, index: int) -> torch.Tensor | dict[str, torch.Tensor]:
        """Sequence ``index``.

        Returns:
            ``uint8 [T, 1, H, W]``; with ``return_events=True`` a dict with
            ``"frames"`` (that tensor), ``"events"`` (``bool [T, D, 4]``, walls
            in the order top, bottom, left, right), ``"positions"`` and
            ``"velocities"`` (``int64 [T, D, 2]``, ``(y, x)`` order).
        """
        traj = self.trajectory(index)
        frames = torch.from_numpy(self.render(traj)).unsqueeze(1)
        if not self.return_events:
            return frames
        return {
            "frames": frames,
            "events": torch.from_numpy(traj.events.copy()),
            "positions": torch.from_numpy(traj.positions.copy()),
            "velocities": torch.from_numpy(traj.velocities.copy()),
        }

    def batch(self, indices) -> torch.Tensor:
        """Several sequences stacked: ``uint8 [B, T, 1, H, W]`` (frames only)."""
        # numpy stacks: torch.stack's OpenMP region can stall on a busy machine
        frames = np.stack([self.render(self.trajectory(i)) for i in indices])
        return torch.from_numpy(frames).unsqueeze(2)

    def __repr__(self) -> str:
        sync = ", synchronised" if self.synchronised else ""
        return (
            f"StochasticMovingMNIST(split={self.split!r}, seq_len={self.seq_len}, num_digits={self.num_digits}, "
            f"image_size={self.image_size}, seed={self.seed}, length={self.length}{sync})"
        )

"""Reading one SM-MNIST digit at a given place: a small classifier of cluttered windows.

:mod:`rfn.metrics.digits` asks whether a frame shows the right digits anywhere, so a digit in the wrong
place, or a frame copied from the context, still scores. This module reads a digit *at its place*: the
generator knows where each digit's box is in every frame (:class:`rfn.data.smmnist.Trajectory`), and the
reader looks only at that box, grown by ``tolerance`` pixels on every side (the *window*, ``digit_size +
2 * tolerance`` pixels square, zero-padded outside the canvas).

The reader names one of 11 classes: the digits 0-9, or :data:`NONE` (no digit here). Its labels are a
rule of geometry: a window names digit ``c`` when a digit of class ``c`` has its box within ``tolerance``
pixels of the window's centre box on both axes (the nearest one when two are), and :data:`NONE`
otherwise. It is trained on windows cut from generated two-digit SM-MNIST *training* frames, so the other
digit is often in the window, partly or wholly overlapping: windows at each digit's place moved by up to
``tolerance`` pixels, windows a few pixels beyond the tolerance (the boundary it has to learn), and
windows anywhere. A digit drawn 3 or more pixels from its place, a blank window, or another digit at the
place are read as not there.

The committed reader (``rfn/metrics/weights/digit-reader.pt``, 32x32 frames, 16-pixel digits, tolerance
2, float16 weights, sha256-checked on load) is retrained by ``benchmarks/digit_reader.py``; its accuracy
on held-out frames (SM-MNIST test split, MNIST test digits) and its read rate at growing displacements
are stored beside it (``digit-reader.json``). :mod:`rfn.metrics.placed_digits` builds the per-horizon
tables on it.

Example:
    >>> import torch
    >>> frames = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    >>> frames[0, 0, 4:20, 10:26] = 255
    >>> windows(frames, torch.tensor([[[4, 10]]]), digit_size=16, tolerance=2).shape
    torch.Size([1, 1, 1, 20, 20])
    >>> window_labels(torch.tensor([[4, 10], [9, 0]]), torch.tensor([7, 3]),
    ...               torch.tensor([[5, 12], [9, 4], [20, 20]]), tolerance=2).tolist()
    [7, 10, 10]
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rfn.assets import sha256
from rfn.metrics.frames import check_frames
from rfn.runtime import derive_seed, to_jsonable

__all__ = [
    "CHECKPOINT",
    "CHECKPOINT_SHA256",
    "NONE",
    "DigitReader",
    "ReaderConfig",
    "load_digit_reader",
    "read_at",
    "save_digit_reader",
    "train_digit_reader",
    "training_windows",
    "window_labels",
    "windows",
]

NONE = 10
"""Class index of "no digit at this place" (the digits are 0-9)."""
CHECKPOINT = Path(__file__).resolve().parent / "weights" / "digit-reader.pt"
"""The committed reader for 32x32 frames, 16-pixel digits, tolerance 2 (``.json`` metadata beside it)."""
CHECKPOINT_SHA256 = "960213a3553ddf178077d100f3da032cc2c93c0a1d697e7de734e2e6e13b48ab"
"""sha256 of :data:`CHECKPOINT`; a file with any other hash is refused."""


@dataclass(frozen=True)
class ReaderConfig:
    """Geometry of the windows a reader reads and the width of its network.

    Attributes:
        image_size: side of the square frames.
        digit_size: side of a digit's box (SM-MNIST's ``digit_size``).
        tolerance: pixels by which a digit may miss its place on each axis and still be read.
        width: channels of the first convolution (later stages use 2x).
    """

    image_size: int = 32
    digit_size: int = 16
    tolerance: int = 2
    width: int = 16

    def __post_init__(self) -> None:
        for name in ("image_size", "digit_size", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.tolerance, int) or not 0 <= self.tolerance <= self.digit_size // 4:
            raise ValueError(f"tolerance must be an integer in 0..digit_size/4, got {self.tolerance!r}")
        if self.digit_size > self.image_size or self.window % 4:
            raise ValueError(
                f"need digit_size <= image_size and digit_size + 2 * tolerance divisible by 4, got "
                f"image_size={self.image_size}, digit_size={self.digit_size}, tolerance={self.tolerance}"
            )

    @property
    def window(self) -> int:
        """Side of the window read around a digit's box: ``digit_size + 2 * tolerance``."""
        return self.digit_size + 2 * self.tolerance


class DigitReader(nn.Module):
    """Small CNN: a window ``[B, 1, w, w]`` (floats in [0, 1]) -> log-probabilities ``[B, 11]`` of 0-9 or none.

    Two stages of 3x3 convolutions with batch norm and max-pooling, then a two-layer head on the flattened
    ``w / 4`` square map: the head sees where in the window the strokes are, which the tolerance needs.
    """

    def __init__(self, config: ReaderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ReaderConfig()
        c = config.width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, c), nn.MaxPool2d(2), *block(c, 2 * c), *block(2 * c, 2 * c), nn.MaxPool2d(2), *block(2 * c, 2 * c)
        )
        side = config.window // 4
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * c * side * side, 128), nn.ReLU(inplace=True), nn.Linear(128, NONE + 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.head(self.features(x)), dim=-1)

    @torch.no_grad()
    def classify(self, wins: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Predicted classes ``int64 [...]`` (0-9 or :data:`NONE`) of windows ``[..., 1, w, w]`` in [0, 1]."""
        w = self.config.window
        if wins.dim() < 3 or tuple(wins.shape[-3:]) != (1, w, w):
            raise ValueError(f"this reader reads windows shaped [..., 1, {w}, {w}], got {tuple(wins.shape)}")
        flat = wins.reshape(-1, 1, w, w)
        device = next(self.parameters()).device
        out = [
            self(flat[i : i + batch_size].to(device).float()).argmax(-1).cpu() for i in range(0, len(flat), batch_size)
        ]
        return (torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)).view(wins.shape[:-3])


def _unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or floats [-1, 1] -> float32 [0, 1]."""
    return frames.float() / 255.0 if frames.dtype == torch.uint8 else (frames.float() + 1.0) / 2.0


def windows(frames: torch.Tensor, positions: torch.Tensor, digit_size: int, tolerance: int) -> torch.Tensor:
    """Cut the window of each digit's box out of each frame.

    Args:
        frames: ``[..., 1, H, W]`` (``uint8``, or floats in [-1, 1]).
        positions: ``int [..., D, 2]`` top-left ``(y, x)`` of the boxes, the same leading shape as ``frames``.
        digit_size: side of a box; tolerance: pixels added on each side.

    Returns:
        float32 ``[..., D, 1, w, w]`` in [0, 1] with ``w = digit_size + 2 * tolerance``; row ``i`` of a
        window is frame row ``y - tolerance + i`` (black outside the canvas).
    """
    check_frames(frames, channels=(1,))
    positions = torch.as_tensor(positions)
    lead = frames.shape[:-3]
    if positions.dtype.is_floating_point or tuple(positions.shape[:-2]) != tuple(lead) or positions.shape[-1] != 2:
        raise ValueError(
            f"positions must be integers shaped [..., D, 2] with the frames' leading shape {tuple(lead)}, "
            f"got {positions.dtype} {tuple(positions.shape)}"
        )
    h, w = frames.shape[-2:]
    d, size = positions.shape[-2], digit_size + 2 * tolerance
    pad = size  # any box within the canvas, moved by a few pixels, stays inside the padded frame
    if positions.numel() and (positions.min() < -digit_size or positions.max() > min(h, w)):
        raise ValueError(
            f"positions must lie in [-digit_size, {min(h, w)}] (boxes touching the {h}x{w} canvas), "
            f"got {int(positions.min())}..{int(positions.max())}"
        )
    flat = F.pad(_unit(frames).reshape(-1, h, w), (pad, pad, pad, pad))
    pos = positions.reshape(-1, d, 2).long() + (pad - tolerance)
    ar = torch.arange(size)
    rows = (pos[..., 0, None] + ar)[..., :, None]  # [F, D, size, 1]
    cols = (pos[..., 1, None] + ar)[..., None, :]  # [F, D, 1, size]
    frame = torch.arange(len(flat)).view(-1, 1, 1, 1)
    return flat[frame, rows, cols].view(*lead, d, 1, size, size)


def window_labels(positions: torch.Tensor, classes: torch.Tensor, boxes: torch.Tensor, tolerance: int) -> torch.Tensor:
    """What a window should be read as, by the rule of the module docstring.

    Args:
        positions: ``int [..., D, 2]`` the digits' boxes in a frame; classes: ``int [..., D]`` their classes.
        boxes: ``int [..., M, 2]`` the centre boxes of ``M`` windows in the same frame.

    Returns:
        ``int64 [..., M]``: the class of the nearest digit within ``tolerance`` (Chebyshev distance), else
        :data:`NONE`.
    """
    dist = (boxes[..., :, None, :] - positions[..., None, :, :]).abs().amax(-1)  # [..., M, D]
    nearest = dist.argmin(-1)
    label = classes.long().unsqueeze(-2).expand(*dist.shape).gather(-1, nearest.unsqueeze(-1)).squeeze(-1)
    return torch.where(dist.amin(-1) <= tolerance, label, torch.full_like(label, NONE))


def read_at(
    frames: torch.Tensor, positions: torch.Tensor, reader: DigitReader | None = None, chunk: int = 2048
) -> torch.Tensor:
    """The class read at each box: ``int64 [..., D]`` (0-9 or :data:`NONE`).

    Args:
        frames: ``[..., 1, H, W]``; positions: ``int [..., D, 2]`` with the same leading shape.
        reader: default the committed reader (loaded once).
        chunk: frames cut and read at a time (bounds the memory of the padded frames and windows).
    """
    reader = reader or _default_reader()
    cfg = reader.config
    if tuple(frames.shape[-2:]) != (cfg.image_size, cfg.image_size):
        raise ValueError(
            f"this digit reader reads {cfg.image_size}x{cfg.image_size} frames, got shape {tuple(frames.shape)}; "
            "train one for this size with train_digit_reader(ReaderConfig(image_size=..., digit_size=...))"
        )
    check_frames(frames, channels=(1,))
    positions = torch.as_tensor(positions)
    lead = frames.shape[:-3]
    if tuple(positions.shape[:-2]) != tuple(lead):
        raise ValueError(
            f"positions must be shaped [..., D, 2] with the frames' leading shape {tuple(lead)}, "
            f"got {tuple(positions.shape)}"
        )
    flat, pos = frames.reshape(-1, *frames.shape[-3:]), positions.reshape(-1, *positions.shape[-2:])
    out = [
        reader.classify(windows(flat[i : i + chunk], pos[i : i + chunk], cfg.digit_size, cfg.tolerance))
        for i in range(0, len(flat), chunk)
    ]
    read = torch.cat(out) if out else torch.zeros(0, positions.shape[-2], dtype=torch.int64)
    return read.view(positions.shape[:-1])


def training_windows(
    pool: np.ndarray, pool_labels: np.ndarray, rng: np.random.Generator, n_frames: int, config: ReaderConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows and labels cut from ``n_frames`` fresh two-digit SM-MNIST frames of ``pool``'s digits.

    Each frame places two random digits of ``pool`` as SM-MNIST's bouncing motion does (a random frame of a
    10-frame path, so positions on the walls are as frequent as in the data) and gives five windows: one
    per digit at its place moved by up to ``tolerance``, one per digit moved by up to ``tolerance + 4``
    (either side of the boundary), and one anywhere.

    Returns:
        float32 windows ``[5 n_frames, 1, w, w]`` in [0, 1] and their labels ``int64 [5 n_frames]``.
    """
    from rfn.data.motion import simulate_bounces

    s, tol, size = config.digit_size, config.tolerance, config.image_size
    limit, num = size - s, 2
    which = rng.integers(0, len(pool), size=(n_frames, num))
    pos = np.empty((n_frames, num, 2), dtype=np.int64)
    for i in range(n_frames):
        pos[i] = simulate_bounces(rng, num, 10, limit).positions[rng.integers(10)]
    canvas = np.zeros((n_frames, size, size), dtype=np.uint16)
    for i in range(n_frames):
        for d in range(num):
            y, x = pos[i, d]
            canvas[i, y : y + s, x : x + s] += pool[which[i, d]]
    frames = torch.from_numpy(np.minimum(canvas, 255).astype(np.uint8)).unsqueeze(1)
    pos_t = torch.from_numpy(pos)
    near = pos_t + torch.from_numpy(rng.integers(-tol, tol + 1, size=pos.shape))
    boundary = pos_t + torch.from_numpy(rng.integers(-tol - 4, tol + 5, size=pos.shape))
    anywhere = torch.from_numpy(rng.integers(-tol, limit + tol + 1, size=(n_frames, 1, 2)))
    boxes = torch.cat([near, boundary, anywhere], 1)  # [n, 5, 2]
    labels = window_labels(pos_t, torch.from_numpy(pool_labels[which]), boxes, tol)
    return windows(frames, boxes, s, tol).reshape(-1, 1, config.window, config.window), labels.reshape(-1)


def train_digit_reader(
    config: ReaderConfig | None = None,
    steps: int = 3000,
    frames_per_step: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    threads: int | None = 1,
    log_every: int = 500,
    verbose: bool = False,
    digits: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[DigitReader, dict]:
    """Train a reader on windows of fresh SM-MNIST frames of the *training* digits (:func:`training_windows`).

    Each step draws ``frames_per_step`` frames (five windows each), dims them by a random gain in [0.6, 1]
    and adds Gaussian noise of a random std up to 0.08 to half of them, as the frame classifier of
    :mod:`rfn.metrics.digits` is trained, so that a model's dim or speckled digits are still read. One-cycle
    learning rate. Nothing of the test split is seen.

    Args:
        digits: images ``uint8 [M, s, s]`` and labels ``[M]`` to draw from instead of the SM-MNIST train
            split's (for tests).

    Returns:
        ``(reader, info)``: the reader in eval mode and a dict of the settings, seconds and loss history.
    """
    from rfn.data.mnist import load_mnist
    from rfn.data.smmnist import digit_pool

    config = config or ReaderConfig()
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(derive_seed("digit-reader", seed))
    rng = np.random.default_rng([seed, 25])
    given = digits is not None
    if not given:
        digits = digit_pool("train", config.digit_size), load_mnist("train+valid")[1].numpy()
    pool, labels = digits
    model = DigitReader(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    start, history, running, counted = time.perf_counter(), [], 0.0, 0
    for step in range(1, steps + 1):
        model.train()
        x, y = training_windows(pool, labels, rng, frames_per_step, config)
        n = len(x)
        gain = torch.from_numpy(rng.uniform(0.6, 1.0, size=(n, 1, 1, 1))).float()
        std = torch.from_numpy(rng.uniform(0.0, 0.08, size=(n, 1, 1, 1)) * (rng.random((n, 1, 1, 1)) < 0.5)).float()
        x = (x * gain + std * torch.randn_like(x)).clamp(0.0, 1.0)
        loss = F.nll_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running, counted = running + loss.item(), counted + 1
        if step % log_every == 0 or step == steps:
            history.append({"step": step, "loss": running / counted})
            running, counted = 0.0, 0
            if verbose:
                print(f"step {step}: loss {history[-1]['loss']:.4f}, {time.perf_counter() - start:.0f} s", flush=True)
    model.eval()
    info = {
        "config": asdict(config),
        "train": {
            "steps": steps,
            "frames_per_step": frames_per_step,
            "windows_per_step": 5 * frames_per_step,
            "lr": lr,
            "seed": seed,
            "digits": f"{len(pool)} given digits" if given else "SM-MNIST train split (MNIST train, 60k)",
        },
        "seconds": time.perf_counter() - start,
        "history": history,
    }
    return model, info


def save_digit_reader(model: DigitReader, path: str | Path, info: dict | None = None) -> str:
    """Save weights only (float16 state_dict + config) to ``path`` and ``info`` to ``path.json``; returns the sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    torch.save({"config": asdict(model.config), "state_dict": state}, tmp)
    tmp.replace(path)
    digest = sha256(path)
    meta = dict(info or {}, file=path.name, sha256=digest, bytes=path.stat().st_size)
    path.with_suffix(".json").write_text(json.dumps(to_jsonable(meta), indent=2) + "\n")
    return digest


def load_digit_reader(
    path: str | Path | None = None, expected_sha256: str | None = None, device: str | torch.device = "cpu"
) -> DigitReader:
    """Load a saved reader in eval mode (weights only), refusing a file whose sha256 differs.

    Args:
        path: the ``.pt`` file; default :data:`CHECKPOINT` (the committed 32x32 reader).
        expected_sha256: the hash to require; default :data:`CHECKPOINT_SHA256` for the default path, none
            (no check) for another path.

    Raises:
        FileNotFoundError: the file is missing (says how to make it).
        ValueError: its sha256 differs from the expected one.
    """
    if path is None:
        path, expected_sha256 = CHECKPOINT, expected_sha256 or CHECKPOINT_SHA256
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"digit reader {path} is missing; restore it from git (git checkout -- {path.name} in its folder) "
            "or retrain it with `python benchmarks/digit_reader.py`"
        )
    if expected_sha256 is not None and (got := sha256(path)) != expected_sha256:
        raise ValueError(
            f"digit reader {path} has sha256 {got}, expected {expected_sha256}: the file was changed; restore "
            "it from git or retrain it with `python benchmarks/digit_reader.py --write-hash`"
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = DigitReader(ReaderConfig(**blob["config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    return model.eval().to(device)


@functools.lru_cache(maxsize=1)
def _default_reader() -> DigitReader:
    return load_digit_reader()

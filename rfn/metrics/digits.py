"""Position-blind digit identity: does a generated SM-MNIST frame show the right digits anywhere?

**Position-blind.** This measure asks only whether the right two digits are
somewhere in the frame, not whether they are where the true sequence has them.
Holding the last context frame still scores as high as the true frames at every
horizon, and a best-of-N over this binary score rewards variety alone (the futures
of unrelated test sequences score well). Use :mod:`rfn.metrics.placed_digits`
(digits read at their true place, with the perfect-sampler ceiling and baselines)
for claims about whether a model keeps its digits; this module stays for the
record and for frames whose trajectories are unknown.

Pixel metrics reward blur and dim frames; they cannot tell whether a model
kept *which* digits move. This module scores that with a small CNN
trained on MNIST training digits placed as :mod:`rfn.data.smmnist` places them
(``num_digits`` digits of ``digit_size`` pixels at uniform positions on a black
``image_size`` canvas, summed and clipped at 255).

Multiset rule. The network predicts, for each class ``c`` of 0-9, how many of
the frame's digits show ``c`` (a softmax over ``0..num_digits``). The
predicted digits are the multiset of ``num_digits`` classes with the highest
joint log-probability under those independent counts (all
``C(10 + D - 1, D)`` multisets are scored, 55 for two digits), so a frame
holding two 7s is predicted as ``{7, 7}``, not as 7 plus the runner-up. A
frame's score is 1 when that multiset equals the true one (order ignored,
repeats counted) and 0 otherwise. Chance is about 0.02 for two digits: a
frame without digits, or noise, scores near it.

The committed classifier (``rfn/metrics/weights/digit-classifier.pt``, installed with the package,
weights only, sha256-checked on load) is for 32x32 frames with 16-pixel
digits, the book's SM-MNIST; :func:`train_digit_classifier` trains one for
other sizes (``image_size=64, digit_size=32`` for the thesis's frames) and
``benchmarks/digit_classifier.py`` retrains and commits the reference one.

Example:
    >>> import torch
    >>> counts_of(torch.tensor([[3, 7], [7, 7]]))[:, [3, 7]].tolist()
    [[1, 1], [0, 2]]
    >>> logp = torch.full((1, 10, 3), -9.0)
    >>> logp[..., 0] = 0.0  # every class absent ...
    >>> logp[0, 7] = torch.tensor([-9.0, -2.0, -0.5])  # ... but 7, most likely twice
    >>> counts_of(torch.tensor([[7, 7]])).equal(best_multiset(logp))
    True
    >>> identity_by_horizon(torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))  # [B=1, N=2, T=2]
    {'mean': [0.5, 0.0], 'best': [1.0, 0.0], 'sequences': 1, 'samples': 2}
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rfn.assets import sha256
from rfn.data.mnist import load_mnist
from rfn.data.smmnist import StochasticMovingMNIST, digit_pool
from rfn.metrics.frames import check_frames
from rfn.runtime import derive_seed, to_jsonable

__all__ = [
    "CHECKPOINT",
    "CHECKPOINT_SHA256",
    "NUM_CLASSES",
    "ClassifierConfig",
    "DigitClassifier",
    "best_multiset",
    "counts_of",
    "digit_identity",
    "digit_identity_curves",
    "identity_by_horizon",
    "load_digit_classifier",
    "place_digits",
    "save_digit_classifier",
    "smmnist_labels",
    "train_digit_classifier",
]

NUM_CLASSES = 10
CHECKPOINT = Path(__file__).resolve().parent / "weights" / "digit-classifier.pt"
"""The committed classifier for 32x32 frames with 16-pixel digits (``.json`` metadata beside it)."""
CHECKPOINT_SHA256 = "b1876999aed15a6950eb155f1d5622d308c703e35e3ef25cfa58b422ee8f754f"
"""sha256 of :data:`CHECKPOINT`; a file with any other hash is refused."""

_MNIST_TRAIN = 50_000  # digit_pool("train") holds MNIST train (50k) then valid (10k), as load_mnist("train+valid")
_MNIST_SPLIT = {"train": "train+valid", "test": "test"}  # the MNIST images behind each SM-MNIST split's pool


@dataclass(frozen=True)
class ClassifierConfig:
    """Shape of the frames a classifier reads and the width of its network.

    Attributes:
        image_size: side of the square frames.
        digit_size: side of the digits as placed (SM-MNIST's ``digit_size``).
        num_digits: digits per frame ``D``; counts per class range over ``0..D``.
        width: channels of the first convolution (later stages use 2x).
    """

    image_size: int = 32
    digit_size: int = 16
    num_digits: int = 2
    width: int = 32

    def __post_init__(self) -> None:
        for name in ("image_size", "digit_size", "num_digits", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.digit_size > self.image_size or self.image_size < 8:
            raise ValueError(
                f"need 8 <= image_size and digit_size <= image_size, got {self.image_size} and {self.digit_size}"
            )


class DigitClassifier(nn.Module):
    """Small CNN: frames -> log-probabilities of how often each class appears.

    Three stages of 3x3 convolutions with batch norm (``width``, ``2 width``,
    ``2 width`` channels; max-pooling between them), an adaptive max-pool to
    4x4 (so any ``image_size`` works) and a two-layer head.

    Input: floats ``[B, 1, H, W]`` in ``[0, 1]``. Output: ``[B, 10, D + 1]``
    log-probabilities of each class appearing ``0..D`` times.
    """

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ClassifierConfig()
        c = config.width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, c),
            nn.MaxPool2d(2),
            *block(c, 2 * c),
            *block(2 * c, 2 * c),
            nn.MaxPool2d(2),
            *block(2 * c, 2 * c),
            nn.AdaptiveMaxPool2d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * c, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, NUM_CLASSES * (config.num_digits + 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.features(x)).view(-1, NUM_CLASSES, self.config.num_digits + 1)
        return F.log_softmax(logits, dim=-1)

    @torch.no_grad()
    def predict(self, frames: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Predicted class counts ``int64 [..., 10]`` of frames ``[..., 1, H, W]`` (``uint8``, or floats in [-1, 1])."""
        check_frames(frames, channels=(1,))
        size = self.config.image_size
        if tuple(frames.shape[-2:]) != (size, size):
            raise ValueError(
                f"this digit classifier reads {size}x{size} frames, got shape {tuple(frames.shape)}; "
                f"train one for this size with train_digit_classifier(image_size=...)"
            )
        lead = frames.shape[:-3]
        flat = frames.reshape(-1, 1, size, size)
        device = next(self.parameters()).device
        out = []
        for i in range(0, len(flat), batch_size):
            x = flat[i : i + batch_size].to(device)
            x = x.float() / 255.0 if x.dtype == torch.uint8 else (x.float() + 1.0) / 2.0
            out.append(best_multiset(self(x)).cpu())
        counts = torch.cat(out) if out else torch.zeros(0, NUM_CLASSES, dtype=torch.int64)
        return counts.view(*lead, NUM_CLASSES)


@functools.lru_cache(maxsize=4)
def _multisets(num_digits: int) -> torch.Tensor:
    """Count vectors ``int64 [M, 10]`` of all multisets of ``num_digits`` classes."""
    rows = [
        np.bincount(m, minlength=NUM_CLASSES) for m in itertools.combinations_with_replacement(range(10), num_digits)
    ]
    return torch.from_numpy(np.stack(rows)).long()


def best_multiset(log_probs: torch.Tensor) -> torch.Tensor:
    """Most probable multiset of ``D`` classes under independent per-class counts.

    Args:
        log_probs: ``[B, 10, D + 1]`` log-probabilities of each class appearing ``0..D`` times.

    Returns:
        ``int64 [B, 10]`` counts of the chosen multiset (they sum to ``D``).
    """
    table = _multisets(log_probs.shape[-1] - 1).to(log_probs.device)  # [M, 10]
    # score[b, m] = sum_c log_probs[b, c, table[m, c]]
    gathered = (
        log_probs.unsqueeze(1)
        .expand(-1, len(table), -1, -1)
        .gather(-1, table.view(1, *table.shape, 1).expand(len(log_probs), -1, -1, 1))
    )
    return table[gathered.squeeze(-1).sum(-1).argmax(-1)]


def counts_of(labels: torch.Tensor) -> torch.Tensor:
    """Digit labels ``int [..., D]`` in 0..9 -> counts per class ``int64 [..., 10]``."""
    labels = torch.as_tensor(labels)
    if (
        labels.dtype.is_floating_point
        or labels.dim() < 1
        or (labels.numel() and not 0 <= labels.min() <= labels.max() <= 9)
    ):
        raise ValueError(f"labels must be integers in 0..9 shaped [..., D], got {labels.dtype} {tuple(labels.shape)}")
    return F.one_hot(labels.long(), NUM_CLASSES).sum(-2)


def smmnist_labels(dataset: StochasticMovingMNIST, indices) -> torch.Tensor:
    """True digit labels ``int64 [len(indices), D]`` of SM-MNIST sequences (from their trajectories)."""
    if not isinstance(dataset, StochasticMovingMNIST):
        raise TypeError(f"smmnist_labels needs a StochasticMovingMNIST, got {type(dataset).__name__}")
    labels = load_mnist(_MNIST_SPLIT[dataset.split])[1]
    idx = [torch.from_numpy(dataset.trajectory(i).digits) for i in indices]
    return labels[torch.stack(idx)] if idx else torch.zeros(0, dataset.num_digits, dtype=torch.int64)


def place_digits(
    pool: np.ndarray, pool_labels: np.ndarray, rng: np.random.Generator, n: int, image_size: int, num_digits: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` frames of ``num_digits`` random digits of ``pool`` at uniform positions, summed and clipped.

    Returns:
        frames ``uint8 [n, 1, image_size, image_size]`` and labels ``int64 [n, num_digits]``.
    """
    s = pool.shape[-1]
    which = rng.integers(0, len(pool), size=(n, num_digits))
    pos = rng.integers(0, image_size - s + 1, size=(n, num_digits, 2)).tolist()
    canvas = np.zeros((n, image_size, image_size), dtype=np.uint16)
    for i in range(n):
        for d in range(num_digits):
            y, x = pos[i][d]
            canvas[i, y : y + s, x : x + s] += pool[which[i, d]]
    np.minimum(canvas, 255, out=canvas)
    return torch.from_numpy(canvas.astype(np.uint8)).unsqueeze(1), torch.from_numpy(pool_labels[which])


def _accuracy(model: DigitClassifier, frames: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return float((model.predict(frames) == counts_of(labels)).all(-1).float().mean())


def train_digit_classifier(
    config: ClassifierConfig | None = None,
    steps: int = 4000,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    val_frames: int = 2000,
    log_every: int = 500,
    threads: int | None = 1,
    verbose: bool = False,
) -> tuple[DigitClassifier, dict]:
    """Train a classifier on MNIST *training* digits (the 50k of the asset's train split) placed as SM-MNIST.

    Each step draws fresh frames, then dims them by a random gain in ``[0.6, 1]`` and adds Gaussian noise of a
    random std up to 0.08 (of the pixel range) to half of them, so that the slightly dim or speckled digits of a
    generative model are still read. The learning rate decays with a cosine schedule. Validation uses the
    asset's 10k held-out training digits (``"valid"``), never the test digits.

    Returns:
        ``(model, info)``: the model in eval mode and a dict with the config, settings, validation accuracy,
        seconds and a short loss history.
    """
    config = config or ClassifierConfig()
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(derive_seed("digit-classifier", seed))
    rng = np.random.default_rng([seed, 7])
    pool = digit_pool("train", config.digit_size)
    labels = load_mnist("train+valid")[1].numpy()
    train_pool, train_labels = pool[:_MNIST_TRAIN], labels[:_MNIST_TRAIN]
    val = place_digits(
        pool[_MNIST_TRAIN:],
        labels[_MNIST_TRAIN:],
        np.random.default_rng([seed, 8]),
        val_frames,
        config.image_size,
        config.num_digits,
    )
    model = DigitClassifier(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    start, history, running, counted = time.perf_counter(), [], 0.0, 0
    for step in range(1, steps + 1):
        model.train()
        frames, y = place_digits(train_pool, train_labels, rng, batch_size, config.image_size, config.num_digits)
        x = frames.float() / 255.0
        gain = torch.from_numpy(rng.uniform(0.6, 1.0, size=(batch_size, 1, 1, 1))).float()
        noisy = torch.from_numpy(
            rng.uniform(0.0, 0.08, size=(batch_size, 1, 1, 1)) * (rng.random((batch_size, 1, 1, 1)) < 0.5)
        ).float()
        x = (x * gain + noisy * torch.randn_like(x)).clamp(0.0, 1.0)
        log_probs = model(x)
        loss = F.nll_loss(log_probs.reshape(-1, config.num_digits + 1), counts_of(y).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running, counted = running + loss.item(), counted + 1
        if step % log_every == 0 or step == steps:
            history.append({"step": step, "loss": running / counted})
            running, counted = 0.0, 0
            if verbose:
                acc = _accuracy(model, *val)
                print(
                    f"step {step}: loss {history[-1]['loss']:.4f}, val identity {acc:.3f}, "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
    model.eval()
    info = {
        "config": asdict(config),
        "train": {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "digits": "MNIST train (50k)"},
        "val_identity": _accuracy(model, *val),
        "seconds": time.perf_counter() - start,
        "history": history,
    }
    return model, info


def save_digit_classifier(model: DigitClassifier, path: str | Path, info: dict | None = None) -> str:
    """Save weights only (float16 state_dict + config) to ``path`` and ``info`` to ``path.json``; returns the sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.config), "state_dict": state}, path)
    digest = sha256(path)
    meta = dict(info or {}, file=path.name, sha256=digest, bytes=path.stat().st_size)
    path.with_suffix(".json").write_text(json.dumps(to_jsonable(meta), indent=2) + "\n")
    return digest


def load_digit_classifier(
    path: str | Path | None = None, expected_sha256: str | None = None, device: str | torch.device = "cpu"
) -> DigitClassifier:
    """Load a saved classifier in eval mode (weights only), refusing a file whose sha256 differs.

    Args:
        path: the ``.pt`` file; default :data:`CHECKPOINT` (the committed 32x32 classifier).
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
            f"digit classifier {path} is missing; restore it from git (git checkout -- {path.name} in its folder) "
            f"or retrain it with `python benchmarks/digit_classifier.py`"
        )
    if expected_sha256 is not None and (got := sha256(path)) != expected_sha256:
        raise ValueError(
            f"digit classifier {path} has sha256 {got}, expected {expected_sha256}: the file was changed; restore "
            f"it from git or retrain it with `python benchmarks/digit_classifier.py` (which updates the hash)"
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = DigitClassifier(ClassifierConfig(**blob["config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    return model.eval().to(device)


@functools.lru_cache(maxsize=1)
def _default_classifier() -> DigitClassifier:
    return load_digit_classifier()


def digit_identity(
    frames: torch.Tensor, labels: torch.Tensor, classifier: DigitClassifier | None = None
) -> torch.Tensor:
    """Per-frame digit identity: 1.0 when the predicted digit multiset equals the true one, else 0.0.

    Args:
        frames: ``uint8 [B, ..., 1, H, W]`` (or floats in ``[-1, 1]``), e.g. ``[B, T, 1, H, W]`` or
            ``[B, N, T, 1, H, W]`` (N samples).
        labels: ``int [B, D]`` the true digits of each sequence (see :func:`smmnist_labels`).
        classifier: default the committed 32x32 classifier (loaded once).

    Returns:
        ``float32 [B, ...]`` (the frames' shape without ``[1, H, W]``).
    """
    check_frames(frames, channels=(1,), min_ndim=4)
    labels = torch.as_tensor(labels)
    if labels.dim() != 2 or labels.shape[0] != frames.shape[0]:
        raise ValueError(
            f"labels must be shaped [B, D] with B = frames.shape[0] = {frames.shape[0]}, got {tuple(labels.shape)}"
        )
    classifier = classifier or _default_classifier()
    if labels.shape[1] != classifier.config.num_digits:
        raise ValueError(
            f"labels name {labels.shape[1]} digits per sequence, the classifier reads {classifier.config.num_digits}"
        )
    truth = counts_of(labels).view(labels.shape[0], *([1] * (frames.dim() - 4)), NUM_CLASSES)
    return (classifier.predict(frames) == truth).all(-1).float()


def identity_by_horizon(scores: torch.Tensor) -> dict:
    """Per-horizon summary of identity scores ``[B, N, T]`` (N samples of B sequences).

    Returns:
        dict with ``"mean"`` (list of T: the mean over samples and sequences), ``"best"`` (list of T: the
        fraction of sequences where at least one of the N samples keeps the digits at that frame, i.e. the best
        of N per horizon; with binary scores this is the per-frame maximum, not the best-on-average sample of
        :mod:`rfn.metrics.bestofn`), ``"sequences"`` B and ``"samples"`` N.
    """
    if scores.dim() != 3:
        raise ValueError(f"scores must be shaped [B, N, T], got {tuple(scores.shape)}")
    return {
        "mean": scores.float().mean((0, 1)).tolist(),
        "best": scores.float().amax(1).mean(0).tolist(),
        "sequences": scores.shape[0],
        "samples": scores.shape[1],
    }


def digit_identity_curves(
    samples: torch.Tensor, labels: torch.Tensor, classifier: DigitClassifier | None = None
) -> dict:
    """:func:`identity_by_horizon` of sampled futures ``uint8 [B, N, T, 1, H, W]`` with true labels ``[B, D]``."""
    check_frames(samples, "samples", ndim=6, channels=(1,))
    return identity_by_horizon(digit_identity(samples, labels, classifier))

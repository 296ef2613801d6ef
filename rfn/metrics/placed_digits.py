"""Digits read at their place, per predicted frame, against the true process and predictions without a model.

A predicted SM-MNIST frame keeps a digit when the digit of the right class is drawn where the true
sequence has it (within the reader's tolerance of 2 pixels): :func:`rfn.metrics.digit_reader.read_at`
reads the window of each digit's true box in each frame. The score of a frame is the share of its
digits read as their class there (0, 0.5 or 1 for two digits), averaged over sequences.

:func:`placed_digit_curves` gives one value per horizon ``t+k`` (``k = 1..K`` frames after the last
context frame; the rows of :func:`rfn.pages.placed_digits.placed_digit_table`) for every way to predict
the future of the *same* sequences, read at the *same* places (its columns):

* ``true frames``: the recorded future (the reader's own accuracy, about 0.9);
* ``perfect sampler``: the true process continued from the context's end state (same digit images,
  same positions and velocities in the last context frame, fresh random bounces afterwards, by
  :func:`rfn.data.motion.continue_bounces`). It equals the truth until a digit's first bounce after the
  context, then follows another random path. Its mean over samples is what a model that samples the
  true conditional distribution scores: the ceiling of a calibrated model's mean. (A model that is not a
  sampler of it, e.g. one that never redraws a velocity, can exceed it on a frame; the table shows it.)
* each model's ``mean`` over its ``N`` samples and its ``best-of-N``: per sequence, frame and digit the
  best of the ``N`` samples (the thesis's per-time-step best), then averaged;
* ``last context frame`` held still, ``black frames``, and ``other sequences``: the true futures of
  ``min(N, B - 1)`` other sequences of the set (sequence ``i`` gets those of ``i+1, i+2, ...`` modulo
  ``B``) with their mean and best-of-N, what unrelated but well-drawn digits score.

Ratios: a mean divided by the perfect sampler's mean; a best-of-N divided by the perfect sampler's
best-of-N with the same N (how much of what N draws of the true process reach, the model's N draws reach:
above 1 means its samples spread over more places than the true process does, not that they are better).

Example:
    >>> from rfn.data import StochasticMovingMNIST
    >>> ds = StochasticMovingMNIST("test", seq_len=8, image_size=32, digit_size=16)  # doctest: +SKIP
    >>> trajs = [ds.trajectory(i) for i in range(16)]  # doctest: +SKIP
    >>> curves = placed_digit_curves({"RFN": model}, ds.batch(range(16)), trajs, ds, context=5,
    ...                              n_samples=5)  # doctest: +SKIP
    >>> c = curves["columns"]  # doctest: +SKIP
    >>> c["perfect sampler mean"][0] == c["true frames"][0]  # t+1 is determined by the context  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from rfn.data.mnist import load_mnist
from rfn.data.motion import continue_bounces
from rfn.data.smmnist import StochasticMovingMNIST, Trajectory
from rfn.metrics.digit_reader import DigitReader, _default_reader, read_at
from rfn.metrics.frames import check_frames
from rfn.runtime import derive_seed

__all__ = [
    "PERFECT",
    "perfect_paths",
    "perfect_samples",
    "placed_digit_curves",
    "placed_digit_hits",
    "render_paths",
    "true_places",
]

PERFECT = "perfect sampler"
_MNIST_SPLIT = {"train": "train+valid", "test": "test"}


def render_paths(dataset: StochasticMovingMNIST, digits: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Draw digits of ``dataset``'s pool along paths: ``uint8 [..., T, H, W]``.

    Args:
        digits: ``int [D]`` indices into the pool; positions: ``int [..., T, D, 2]`` top-left ``(y, x)``.
    """
    s, size = dataset.digit_size, dataset.image_size
    lead = positions.shape[:-2]
    pos = positions.reshape(-1, *positions.shape[-2:]).tolist()
    canvas = np.zeros((len(pos), size, size), dtype=np.uint16)
    for d, k in enumerate(np.asarray(digits).tolist()):
        digit = dataset.digits[k]
        for f, frame in enumerate(pos):
            y, x = frame[d]
            canvas[f, y : y + s, x : x + s] += digit
    return np.minimum(canvas, 255).astype(np.uint8).reshape(*lead, size, size)


def perfect_paths(
    traj: Trajectory,
    context: int,
    steps: int,
    n: int,
    rng: np.random.Generator | None = None,
    draws: np.ndarray | None = None,
    limit: int = 16,
    deterministic: bool = False,
) -> np.ndarray:
    """``n`` continuations ``int64 [n, steps, D, 2]`` of a trajectory after its first ``context`` frames.

    Each starts from the positions and velocities of frame ``context - 1`` and redraws at bounces from
    ``rng``, or from ``draws`` (``int [n, steps, D, 2]``, e.g. the true redraw table's rows ``context:``
    to replay the truth).
    """
    if not 1 <= context <= len(traj.positions):
        raise ValueError(f"context must be in 1..{len(traj.positions)} (the trajectory's frames), got {context}")
    p, v = traj.positions[context - 1], traj.velocities[context - 1]
    out = [
        continue_bounces(p, v, steps, limit, rng=rng, draws=None if draws is None else draws[i],
                         deterministic=deterministic).positions
        for i in range(n)
    ]  # fmt: skip
    return np.stack(out)


def perfect_samples(
    dataset: StochasticMovingMNIST, trajectories: Sequence[Trajectory], context: int, steps: int, n: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of the true process per trajectory, from the end state of its first ``context`` frames.

    Sequence ``i`` of the list draws its bounces from ``numpy.random.default_rng([seed, 25, i])``.

    Returns:
        frames ``uint8 [B, n, steps, 1, H, W]`` and their paths ``int64 [B, n, steps, D, 2]``.
    """
    limit = dataset.image_size - dataset.digit_size
    paths = np.stack(
        [
            perfect_paths(t, context, steps, n, np.random.default_rng([seed, 25, i]), limit=limit,
                          deterministic=dataset.deterministic)
            for i, t in enumerate(trajectories)
        ]
    )  # fmt: skip
    frames = np.stack([render_paths(dataset, t.digits, p) for t, p in zip(trajectories, paths)])
    return torch.from_numpy(frames).unsqueeze(-3), torch.from_numpy(paths)


def placed_digit_hits(
    frames: torch.Tensor, positions: torch.Tensor, labels: torch.Tensor, reader: DigitReader | None = None
) -> torch.Tensor:
    """Whether each digit is read as its class at its true place: ``float32 [B, S, K, D]`` of 0 and 1.

    Args:
        frames: ``[B, S, K, 1, H, W]``: ``S`` candidate futures of ``K`` frames per sequence.
        positions: ``int [B, K, D, 2]`` the true boxes; labels: ``int [B, D]`` the true classes.
    """
    check_frames(frames, "frames", ndim=6, channels=(1,))
    b, s, k = frames.shape[:3]
    positions, labels = torch.as_tensor(positions), torch.as_tensor(labels)
    if positions.dim() != 4 or tuple(positions.shape[:2]) != (b, k) or positions.shape[-1] != 2:
        raise ValueError(f"positions must be shaped [B={b}, K={k}, D, 2], got {tuple(positions.shape)}")
    if tuple(labels.shape) != (b, positions.shape[2]):
        raise ValueError(f"labels must be shaped [B={b}, D={positions.shape[2]}], got {tuple(labels.shape)}")
    read = read_at(frames, positions[:, None].expand(b, s, *positions.shape[1:]), reader)
    return (read == labels.long()[:, None, None, :]).float()


def true_places(
    dataset: StochasticMovingMNIST, trajectories: Sequence[Trajectory], context: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where and which the digits of ``trajectories`` are in the ``k`` frames after ``context``.

    Returns ``positions int64 [B, k, D, 2]`` (top-left of each digit's box) and ``labels int64 [B, D]`` (its
    class), the arguments :func:`placed_digit_hits` reads predicted frames against.
    """
    pool_labels = load_mnist(_MNIST_SPLIT[dataset.split])[1]
    labels = pool_labels[torch.from_numpy(np.stack([t.digits for t in trajectories]))]
    positions = torch.from_numpy(np.stack([t.positions[context : context + k] for t in trajectories]))
    return positions, labels


def _check_inputs(clips, trajectories, dataset, context) -> int:
    if not isinstance(dataset, StochasticMovingMNIST):
        raise TypeError(
            f"dataset must be the StochasticMovingMNIST the trajectories come from, got {type(dataset).__name__}"
        )
    check_frames(clips, "clips", ndim=5, channels=(1,), allow_float=False)
    b, t = clips.shape[:2]
    if b < 2:
        raise ValueError(f"need at least 2 sequences (the other-sequence baseline), got {b}")
    if not isinstance(context, int) or not 1 <= context < t:
        raise ValueError(f"context must be an integer in 1..{t - 1} (clips have {t} frames), got {context!r}")
    if len(trajectories) != b or not all(isinstance(tr, Trajectory) for tr in trajectories):
        raise ValueError(f"trajectories must be {b} Trajectory objects (one per clip), got {len(trajectories)} items")
    short = [i for i, tr in enumerate(trajectories) if len(tr.positions) < t]
    if short:
        raise ValueError(f"trajectory {short[0]} has {len(trajectories[short[0]].positions)} frames, clips have {t}")
    for i, tr in enumerate(trajectories):
        if not np.array_equal(render_paths(dataset, tr.digits, tr.positions[:t]), clips[i, :, 0].numpy()):
            raise ValueError(
                f"clip {i} is not the rendering of trajectory {i}: pass the clips and trajectories of the same "
                "test indices (dataset.batch(idx), [dataset.trajectory(i) for i in idx])"
            )
    return t - context


def _per_sequence(hits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence, per-horizon mean over samples and best over samples of hits ``[B, S, K, D]``: ``[B, K]`` each."""
    return hits.mean((1, 3)).double().numpy(), hits.amax(1).mean(2).double().numpy()


def placed_digit_curves(
    model_or_samples,
    clips: torch.Tensor,
    trajectories: Sequence[Trajectory],
    dataset: StochasticMovingMNIST,
    context: int,
    n_samples: int | None = None,
    seed: int = 0,
    reader: DigitReader | None = None,
    batch_size: int = 32,
) -> dict:
    """Per-horizon share of digits read at their true place, for models and every reference prediction.

    Args:
        model_or_samples: a model (with ``predict(context, n_future, n_samples)``), its samples ``uint8 [B,
            N, K, 1, H, W]``, or a dict ``{name: model or samples}``; one table column pair per entry.
        clips: ``uint8 [B, T, 1, H, W]`` the true sequences (``context`` frames, then ``K = T - context``).
        trajectories: the ``B`` trajectories the clips are drawn from (checked: each clip must be its
            trajectory's rendering).
        dataset: the :class:`~rfn.data.smmnist.StochasticMovingMNIST` they come from (digit pool, labels).
        context: frames the models read before predicting.
        n_samples: ``N`` samples per sequence (models, perfect sampler, other sequences); default the
            samples' ``N``; required when only models are given.
        seed: seeds the models' sampling (``torch.manual_seed`` before each model's call on each batch of
            sequences, from the seed, the model's name and the batch) and the perfect sampler.
        reader: default the committed digit reader.
        batch_size: sequences per model call and per read.

    Returns:
        dict with ``"horizons"`` (``"t+1" .. "t+K"``), ``"columns"`` (column name -> list of K values: the
        columns of the module docstring, then the ratios ``"... / perfect"``), ``"stderr"`` (per column
        and horizon, the standard error of the mean over sequences), ``"perfect_sampler_off_truth"`` (the
        share of the perfect sampler's digits off the true path by each horizon), and ``"sequences"``,
        ``"samples"``, ``"other_sequences"``, ``"context"``, ``"tolerance"``, ``"seed"``, ``"models"``.
        :func:`rfn.pages.placed_digits.placed_digit_table` makes it a DataFrame.
    """
    k = _check_inputs(clips, trajectories, dataset, context)
    entries = dict(model_or_samples) if isinstance(model_or_samples, Mapping) else {"model": model_or_samples}
    if not entries:
        raise ValueError("give at least one model or one tensor of samples")
    b = len(clips)
    for name, value in entries.items():
        if isinstance(value, torch.Tensor):
            check_frames(value, f"samples of {name!r}", ndim=6, channels=(1,))
            if value.shape[0] != b or value.shape[2] != k or value.shape[-2:] != clips.shape[-2:]:
                raise ValueError(
                    f"samples of {name!r} must be shaped [B={b}, N, K={k}, 1, H, W] (the clips' sequences and "
                    f"predicted frames), got {tuple(value.shape)}"
                )
            n_samples = n_samples or value.shape[1]
            if value.shape[1] != n_samples:
                raise ValueError(f"samples of {name!r} hold {value.shape[1]} per sequence, expected N={n_samples}")
        elif not callable(getattr(value, "predict", None)):
            raise TypeError(
                f"{name!r} must be a model with predict() or a uint8 tensor of samples, got {type(value).__name__}"
            )
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(
            f"n_samples must be a positive integer (required when only models are given), got {n_samples!r}"
        )
    reader = reader or _default_reader()
    truth_pos, labels = true_places(dataset, trajectories, context, k)  # [B, K, D, 2], [B, D]
    perfect, paths = perfect_samples(dataset, trajectories, context, k, n_samples, seed)
    n_other = min(n_samples, b - 1)
    other_idx = (torch.arange(b)[:, None] + torch.arange(1, n_other + 1)) % b  # [B, n_other]

    hits: dict[str, list[torch.Tensor]] = {}
    for lo in range(0, b, batch_size):
        sl = slice(lo, min(lo + batch_size, b))
        c, pos, lab = clips[sl], truth_pos[sl], labels[sl]
        cands = {
            "true frames": c[:, None, context:],
            PERFECT: perfect[sl],
            "last context frame": c[:, None, context - 1 : context].expand(-1, 1, k, -1, -1, -1),
            "black frames": torch.zeros_like(c[:, None, context:]),
            "other sequences": clips[other_idx[sl]][:, :, context:],
        }
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                cands[name] = value[sl]
            else:
                device = next(value.parameters()).device
                torch.manual_seed(derive_seed("placed-digits", seed, name, lo))  # the same draws in any company
                with torch.no_grad():
                    cands[name] = value.predict(c[:, :context].to(device), n_future=k, n_samples=n_samples).cpu()
        for name, frames in cands.items():
            hits.setdefault(name, []).append(placed_digit_hits(frames, pos, lab, reader))
    hits = {name: torch.cat(h) for name, h in hits.items()}

    per_seq: dict[str, np.ndarray] = {}  # column -> [B, K]
    per_seq["true frames"] = _per_sequence(hits["true frames"])[0]
    per_seq[f"{PERFECT} mean"], per_seq[f"{PERFECT} best-of-{n_samples}"] = _per_sequence(hits[PERFECT])
    for name in entries:
        per_seq[f"{name} mean"], per_seq[f"{name} best-of-{n_samples}"] = _per_sequence(hits[name])
    per_seq["last context frame"] = _per_sequence(hits["last context frame"])[0]
    per_seq["black frames"] = _per_sequence(hits["black frames"])[0]
    per_seq["other sequences mean"], per_seq[f"other sequences best-of-{n_other}"] = _per_sequence(
        hits["other sequences"]
    )
    cols = {name: v.mean(0) for name, v in per_seq.items()}
    stderr = {name: (v.std(0, ddof=1) / np.sqrt(b)).tolist() for name, v in per_seq.items()}
    p_mean, p_best = cols[f"{PERFECT} mean"], cols[f"{PERFECT} best-of-{n_samples}"]
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in entries:
            cols[f"{name} mean / perfect"] = cols[f"{name} mean"] / p_mean
            cols[f"{name} best-of-{n_samples} / perfect"] = cols[f"{name} best-of-{n_samples}"] / p_best
        for name in ("last context frame", "black frames", "other sequences mean"):
            cols[f"{name} / perfect"] = cols[name] / p_mean
    left = (paths != truth_pos[:, None]).any(-1).cummax(2).values  # [B, N, K, D]: the sample has left the truth
    return {
        "horizons": [f"t+{i}" for i in range(1, k + 1)],
        "columns": {name: v.tolist() for name, v in cols.items()},
        "stderr": stderr,
        "sequences": b,
        "samples": n_samples,
        "other_sequences": n_other,
        "context": context,
        "tolerance": reader.config.tolerance,
        "seed": seed,
        "perfect_sampler_off_truth": left.float().mean((0, 1, 3)).tolist(),
        "models": list(entries),
    }

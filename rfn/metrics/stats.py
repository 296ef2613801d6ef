"""Tests behind the book's comparisons: paired over test sequences, Welch over training seeds, nested bootstrap.

Every comparison in the book pairs numbers computed on the same test sequences by the same call, so
the natural test is paired: :func:`paired` takes one difference per sequence (model minus baseline)
and returns the mean, a t-interval and a two-sided p-value; :func:`paired_per_frame` does it frame by
frame. :func:`welch` compares two sets of training seeds (one number per run), and
:func:`nested_bootstrap` gives an interval that covers both the seeds and the sequences.

Example:
    >>> r = paired([0.1, 0.2, 0.3, 0.2], [0.0, 0.1, 0.1, 0.1])
    >>> round(r["difference"], 3), r["n"], r["p"] < 0.05
    (0.125, 4, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["nested_bootstrap", "paired", "paired_per_frame", "spans", "welch"]


def paired(a, b, level: float = 0.95) -> dict[str, Any]:
    """Paired t-test of ``mean(a - b)`` for two scores of the same items (e.g. one per test sequence).

    Returns the mean difference, its standard error, t, the degrees of freedom, the two-sided p-value,
    the ``level`` t-interval and ``n``.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need two 1-D arrays of the same items, got shapes {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"a paired test needs at least two items, got {a.size}")
    d = a - b
    diff, se, df = float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), d.size - 1
    if se == 0.0:
        return {"difference": diff, "se": 0.0, "t": math.copysign(math.inf, diff) if diff else 0.0, "df": df,
                "p": 0.0 if diff else 1.0, "interval": (diff, diff), "n": int(d.size)}  # fmt: skip
    t = diff / se
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    p = float(2.0 * stats.t.sf(abs(t), df))
    return {
        "difference": diff,
        "se": se,
        "t": t,
        "df": df,
        "p": p,
        "interval": (diff - half, diff + half),
        "n": int(d.size),
    }


def paired_per_frame(a, b, level: float = 0.95) -> list[dict[str, Any]]:
    """:func:`paired` at every frame of two ``[sequences, frames]`` score arrays of the same sequences."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two [sequences, frames] arrays of the same shape, got {a.shape} and {b.shape}")
    return [paired(a[:, t], b[:, t], level) for t in range(a.shape[1])]


def welch(a, b) -> dict[str, float]:
    """Welch's t-test of ``mean(a) - mean(b)`` (unequal variances), e.g. one value per training seed.

    Returns the difference, its standard error, t, the Welch-Satterthwaite degrees of freedom, the
    two-sided p-value and a 95% interval.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"Welch's test needs at least two values per side, got {a.size} and {b.size}")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff, se = float(a.mean() - b.mean()), math.sqrt(va + vb)
    if se == 0.0:
        return {
            "difference": diff,
            "se": 0.0,
            "t": math.copysign(math.inf, diff) if diff else 0.0,
            "df": float(a.size + b.size - 2),
            "p": 0.0 if diff else 1.0,
            "interval": (diff, diff),
        }
    df = float((va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)))
    t = diff / se
    p = 2.0 * stats.t.sf(abs(t), df)
    half = stats.t.ppf(0.975, df) * se
    return {"difference": diff, "se": se, "t": t, "df": df, "p": float(p), "interval": (diff - half, diff + half)}


def nested_bootstrap(a, b, n_boot: int = 10_000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Bootstrap interval of ``mean(a) - mean(b)`` for per-sequence scores ``[seeds, sequences]`` of two models.

    Both models are scored on the same test sequences, so sequences are resampled once per replicate for
    both sides (paired); the training seeds of each side are resampled independently (nested: seeds, then
    sequences). The interval covers both sources of variation: which runs were trained and which clips
    were drawn.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected [seeds, sequences] arrays over the same sequences, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    n_seq = a.shape[1]
    seq = rng.integers(0, n_seq, size=(n_boot, n_seq))
    sa = rng.integers(0, a.shape[0], size=(n_boot, a.shape[0]))
    sb = rng.integers(0, b.shape[0], size=(n_boot, b.shape[0]))
    # mean over resampled seeds and sequences = mean over sequences of the per-sequence mean of the resampled seeds
    ma = np.take_along_axis(a[sa].mean(1), seq, axis=1).mean(1)
    mb = np.take_along_axis(b[sb].mean(1), seq, axis=1).mean(1)
    diffs = ma - mb
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(diffs, [tail, 1.0 - tail])
    return {
        "difference": float(a.mean() - b.mean()),
        "interval": (float(lo), float(hi)),
        "level": level,
        "replicates": n_boot,
    }


def spans(labels, flags) -> str:
    """Where ``flags`` hold, as runs of ``labels``: ``["t+1", "t+2", "t+3", "t+4"], [1, 1, 0, 1]`` ->
    ``"t+1..t+2, t+4"``; ``"none"`` when no flag is set (how the pages name the frames a test resolves).

    Example:
        >>> spans(["t+1", "t+2", "t+3", "t+4"], [True, True, False, True])
        't+1..t+2, t+4'
    """
    labels, out, start = list(labels), [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append(labels[start] if i - start == 1 else f"{labels[start]}..{labels[i - 1]}")
            start = None
    return ", ".join(out) or "none"

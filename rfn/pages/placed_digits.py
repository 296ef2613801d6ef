"""Digits read at their place as a table for the book's pages (SM-MNIST, notebooks 05 and 06).

:func:`placed_digit_table` is :func:`rfn.metrics.placed_digits.placed_digit_curves` as a DataFrame: one
row per horizon ``t+1 .. t+K``, one column per prediction (true frames, the perfect sampler's mean and
best-of-N, each model's mean and best-of-N, the last context frame held, black frames, other sequences'
true futures), then the ratios to the perfect sampler. A page passes the clips and trajectories of its own
test indices, so every column is read on the same sequences and frames:

    >>> from rfn.data import StochasticMovingMNIST
    >>> test = StochasticMovingMNIST("test", seq_len=25, image_size=32, digit_size=16)  # doctest: +SKIP
    >>> idx = range(24)  # doctest: +SKIP
    >>> table = placed_digit_table({"RFN": samples}, test.batch(idx), [test.trajectory(i) for i in idx],
    ...                            test, context=5)  # doctest: +SKIP

Notebook 05 reads it through :func:`cached_table` (computed once per set of checkpoints, cached beside
the RFN's), shows :func:`headline_table` and states :func:`findings` under it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfn.metrics.placed_digits import PERFECT, placed_digit_curves
from rfn.metrics.stats import spans

__all__ = [
    "cache_key",
    "cached_table",
    "compare_columns",
    "findings",
    "headline_table",
    "placed_digit_record",
    "placed_digit_table",
    "placed_digits_figure",
    "table_from_record",
]


def placed_digit_table(model_or_samples, clips, trajectories, dataset, context: int, **kwargs) -> pd.DataFrame:
    """:func:`~rfn.metrics.placed_digits.placed_digit_curves` as a DataFrame indexed by horizon.

    The arguments are those of ``placed_digit_curves``. ``attrs`` holds everything else it returns
    (``stderr`` per column and horizon, ``perfect_sampler_off_truth``, sequences, samples, context, ...).
    """
    curves = placed_digit_curves(model_or_samples, clips, trajectories, dataset, context, **kwargs)
    table = pd.DataFrame(curves["columns"], index=pd.Index(curves["horizons"], name="horizon"))
    table.attrs.update({k: v for k, v in curves.items() if k not in ("columns", "horizons")})
    return table


def cache_key(protocol, indices, samples: int, runs) -> dict:
    """What notebook 05's cached table depends on: protocol, test sequences, samples, the runs' checkpoints."""
    return {
        "protocol": protocol.cache_key(),
        "indices": [int(i) for i in indices],
        "samples": samples,
        "seed": protocol.seed,
        "checkpoints": {run.kind: run.checkpoint_id() for run in runs},
    }


def placed_digit_record(*args, **kwargs) -> dict:
    """:func:`placed_digit_table` as JSON (for a page's cache): ``{"index", "columns", "attrs"}``."""
    table = placed_digit_table(*args, **kwargs)
    return {"index": list(table.index), "columns": {c: table[c].tolist() for c in table}, "attrs": table.attrs}


def table_from_record(record: dict) -> pd.DataFrame:
    """The DataFrame of :func:`placed_digit_record`, its ``attrs`` restored."""
    table = pd.DataFrame(record["columns"], index=pd.Index(record["index"], name="horizon"))
    table.attrs.update(record["attrs"])
    return table


def cached_table(runs: dict, models: dict, test, indices, protocol, samples: int) -> pd.DataFrame:
    """Notebook 05's table of digits at their place, read from the first run's cache or computed and cached.

    Args:
        runs: label -> :class:`rfn.runs.Run` of each model; the table is cached beside the first run's
            checkpoint as ``book_placed_digits_<protocol>.json``, keyed by :func:`cache_key` (the shipped
            copy at ``reference`` is found under the same key).
        models: label -> video model, in the same order: each draws ``samples`` futures per sequence.
        test: the SM-MNIST test set (its clips and the digits' trajectories).
        indices: the test sequences to read, those the page's evaluations scored.
        protocol: the evaluation protocol (its context, and the seed of the samples).

    Returns:
        :func:`placed_digit_table` of the models on those sequences.
    """
    if list(runs) != list(models):
        raise ValueError(f"runs {list(runs)} and models {list(models)} must name the same models in the same order")
    indices = [int(i) for i in indices]
    first = next(iter(runs.values()))
    record = first.cached(
        f"book_placed_digits_{protocol.name}.json",
        lambda: placed_digit_record(
            models,
            test.batch(indices),
            [test.trajectory(i) for i in indices],
            test,
            protocol.context_frames,
            n_samples=samples,
            seed=protocol.seed,
        ),
        cache_key(protocol, indices, samples, list(runs.values())),
    )
    return table_from_record(record)


def headline_table(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """The columns and horizons notebook 05 shows of :func:`placed_digit_table` (t+1, 2, 3, 5, 10), transposed."""
    n = table.attrs["samples"]
    shown = [h for h in ("t+1", "t+2", "t+3", "t+5", "t+10") if h in table.index]
    cols = ["true frames", f"{PERFECT} mean", f"{PERFECT} best-of-{n}"]
    cols += [c for name in models for c in (f"{name} mean", f"{name} best-of-{n}", f"{name} mean / perfect")]
    cols += ["last context frame", "black frames", "other sequences mean"]
    return table.loc[shown, cols].T.round(3)


def findings(table: pd.DataFrame, models: list[str]) -> str:
    """The paragraph under notebook 05's table of digits at their place (Markdown): each model's typical sample
    at t+1 against the perfect sampler, where it is above or below the held last context frame
    (:func:`compare_columns`), and what black frames, other sequences and the perfect sampler score."""
    vs_last = {name: compare_columns(table, f"{name} mean", "last context frame") for name in models}
    return (
        "**What the numbers show.** "
        + "; ".join(
            f"the {name}'s typical sample keeps {table.loc['t+1', f'{name} mean']:.2f} of the digits in place at "
            f"t+1 ({table.loc['t+1', f'{name} mean / perfect']:.2f} of the perfect sampler's "
            f"{table.loc['t+1', f'{PERFECT} mean']:.2f}); against the held last warm-up frame it is above "
            f"at {c['above']} and below at {c['below']} (by more than two standard errors)"
            for name, c in vs_last.items()
        )
        + f". Black frames score {table['black frames'].max():.2f} at every horizon and other sequences' true "
        f"futures {table['other sequences mean'].mean():.2f} on average: a digit counts only where it is. "
        "Past the first bounces even the perfect sampler loses digits (its mean falls to "
        f"{table[f'{PERFECT} mean'].iloc[-1]:.2f} by {table.index[-1]}), so a falling curve alone is no "
        "failure; the ratio to it is the model's share of what a sampler of the true process keeps."
    )


def compare_columns(table: pd.DataFrame, a: str, b: str, z: float = 2.0) -> dict[str, str]:
    """Where column ``a`` is above or below column ``b`` by more than ``z`` combined standard errors.

    Uses the per-horizon standard errors over sequences in ``table.attrs["stderr"]`` (combined as if
    independent, which overstates the error of two columns read on the same sequences: a conservative
    call). Returns ``{"above": "t+1..t+4", "below": "t+7, t+9", "level": ...}`` (``"none"`` where empty).
    """
    se = table.attrs["stderr"]
    diff = table[a].to_numpy() - table[b].to_numpy()
    err = z * np.sqrt(np.square(se[a]) + np.square(se[b]))
    flags = {"above": diff > err, "below": diff < -err}
    flags["level"] = ~(flags["above"] | flags["below"])
    return {name: spans(table.index, f) for name, f in flags.items()}


def placed_digits_figure(table: pd.DataFrame, models: list[str], title: str):
    """The table's means over horizons: each model's mean (dashed) and best-of-N (solid), the perfect sampler
    (black), and the predictions without a model and the other sequences (gray)."""
    import matplotlib.pyplot as plt

    n = table.attrs["samples"]
    k = range(1, len(table) + 1)
    fig, ax = plt.subplots(figsize=(8.4, 3.8))
    ax.plot(k, table["true frames"], "-", color="0.2", lw=2.5, alpha=0.35, label="true frames (reader accuracy)")
    ax.plot(k, table[f"{PERFECT} best-of-{n}"], "-", color="k", label=f"{PERFECT}: best of {n}")
    ax.plot(k, table[f"{PERFECT} mean"], "--", color="k", lw=1.2, label=f"{PERFECT}: mean of samples")
    for name, colour in zip(models, plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        ax.plot(k, table[f"{name} best-of-{n}"], "-", color=colour, label=f"{name}: best of {n}")
        ax.plot(k, table[f"{name} mean"], "--", color=colour, lw=1.2, label=f"{name}: mean of samples")
    for name, style in (("last context frame", ":"), ("other sequences mean", "-."), ("black frames", (0, (1, 3)))):
        ax.plot(k, table[name], linestyle=style, color="0.45", lw=1.4, label=name)
    ax.set(title=title, xlabel="frames after the last context frame", ylabel="share of digits at their place")
    ax.set_ylim(-0.02, 1.02)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig

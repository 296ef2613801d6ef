"""Notebook 10, does a flow emission win on RGB video? The RFN against SRNN/VRNN on the textured stand-in.

Five models share the latent bottleneck and differ in the emission (presets ``reference-textured*``):
the RFN (conditional Glow, skips of ``x_{t-1}`` into its conditioner), the SRNN and VRNN with a
per-pixel discretised logistic mixture, and two controls that isolate the emission: the RFN without
skips (``noskip``) and an SRNN whose decoder receives the RFN's skips, widened to the RFN's size
(``srnn-skip``). Every run is scored by :func:`score_run` (two calls of :func:`rfn.evaluation.evaluate`:
bits and FVD on 256 test clips, best-of-100 on 64), and the page reads those numbers; this module
holds what turns them into a conclusion (:func:`gap_stability`, :func:`conclusions`, with the tests of
:mod:`rfn.metrics.stats`) and the figures.

Example:
    >>> import numpy as np
    >>> a, b = np.array([[1.0, 1.2], [1.1, 1.3], [1.05, 1.2]]), np.array([[2.0, 2.1], [2.2, 2.0], [2.1, 2.3]])
    >>> round(welch(a.mean(1), b.mean(1))["difference"], 3)
    -0.975
    >>> lo, hi = nested_bootstrap(a, b, n_boot=200, seed=0)["interval"]
    >>> bool(lo < -0.975 < hi < 0)
    True
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rfn.metrics.protocol import Protocol
from rfn.metrics.stats import nested_bootstrap, welch
from rfn.viz import frames_figure

__all__ = [
    "BEST_SEEDS",
    "FLOOR_KEY",
    "MODELS",
    "PROTOCOL_BEST",
    "PROTOCOL_BITS",
    "SEEDS",
    "THESIS_BAIR",
    "Study",
    "StudyError",
    "best_of_n_figure",
    "best_of_n_table",
    "bits_by_region",
    "bits_map_figure",
    "bits_maps",
    "bits_table",
    "compact_json",
    "conclusions",
    "floor_sentence",
    "frames_figure",
    "fvd_floor",
    "fvd_table",
    "gap_stability",
    "headline_figure",
    "headline_summary",
    "learning_curves",
    "learning_curves_figure",
    "load_study",
    "nested_bootstrap",
    "noise_floor",
    "per_seed_fvd",
    "region_sentence",
    "rollouts",
    "rounded_noise_entropy",
    "run_stem",
    "score_key",
    "score_run",
    "seconds_per_step",
    "seed_means",
    "skipped_steps",
    "stand_in_figure",
    "status_summary",
    "study_folder",
    "tests_table",
    "thesis_table",
    "training_hours",
    "welch",
]

#: model key -> (preset, label), in the page's order
MODELS = {
    "rfn": ("reference-textured", "RFN"),
    "srnn": ("reference-textured-srnn", "SRNN"),
    "vrnn": ("reference-textured-vrnn", "VRNN"),
    "noskip": ("reference-textured-noskip", "RFN, no skips (control a)"),
    "srnn-skip": ("reference-textured-srnn-skip", "SRNN + skips, RFN size (control b)"),
}

#: the thesis's BAIR numbers: Table 9.7 (bits per dimension; the RFN's negative ELBO, the baselines' IW bound,
#: S = 20) and Table 9.6 (FVD, warm-up 3, 13 frames in all, the protocol the stand-in's FVD follows)
THESIS_BAIR = {
    "rfn": {"bits": 2.16, "fvd": 153.0},
    "srnn": {"bits": 3.701, "fvd": 721.0},
    "vrnn": {"bits": 3.576, "fvd": 738.0},
}

#: bits per dimension (with the IW bound, S = 20) and FVD: 256 test clips, one sample each for FVD, 3 context frames
PROTOCOL_BITS = Protocol(
    name="textured-rgb-bits",
    dataset="textured-shapes",
    context_frames=3,
    total_frames=13,
    n_samples=1,
    n_test_sequences=256,
    source="the thesis's BAIR protocol (3 context frames, 10 predicted, FVD on the predicted frames, one sample "
    "per clip) on the RGB stand-in; bits on 10-frame clips given their first frame",
)
#: best-of-100 PSNR/SSIM/LPIPS per predicted frame on 64 test clips, with the black-frame and last-frame baselines
PROTOCOL_BEST = Protocol(
    name="textured-rgb-best100",
    dataset="textured-shapes",
    context_frames=3,
    total_frames=13,
    n_samples=100,
    n_test_sequences=64,
    source="best of 100 samples per frame, as the thesis's figures, on 64 test clips of the RGB stand-in",
)
#: training seeds of every model in the study
SEEDS = (0, 1, 2)
#: the seeds whose runs are scored best-of-N too: the curves and strips are drawn for one run of each model,
#: and the per-clip scores of every seed would not fit the checkpoints' 64 MB beside the 15 runs' weights
BEST_SEEDS = (0,)


def score_run(
    path: str | Path,
    *,
    best: Protocol | None = PROTOCOL_BEST,
    bits: Protocol = PROTOCOL_BITS,
    iw_k: int = 20,
    batch_size: int = 32,
    fvd: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Every number the page shows for one trained run (a checkpoint file), JSON-ready.

    ``bits``: negative ELBO and the importance-weighted bound with ``iw_k`` samples, per test sequence,
    and FVD; ``best``: best-of-N curves with the no-model baselines scored on the same clips (None: skip).
    """
    from rfn.evaluation import EvaluationOptions, evaluate

    opts = EvaluationOptions(iw_k=iw_k, fvd=fvd, batch_size=batch_size, progress=progress, device="cpu")
    first = evaluate(path, bits, opts)
    second = None
    if best is not None:
        second = evaluate(
            path, best, EvaluationOptions(iw_k=0, fvd=False, batch_size=batch_size, progress=progress, device="cpu")
        )
    return {
        "bits": first["bpp"],
        "fvd": first["fvd"],
        "best_of_n": second["best_of_n"] if second else None,
        "model": first["model"],
        "checkpoint": first["checkpoint"],
        "protocols": {"bits": first["protocol_description"], "best": second and second["protocol_description"]},
        "timings": {"bits_s": first["timings"]["total_s"], "best_s": second and second["timings"]["total_s"]},
    }


def fvd_floor(protocol: Protocol = PROTOCOL_BITS, data_kwargs: dict | None = None) -> dict[str, Any]:
    """FVD of the protocol's real clips against as many other real test clips: the floor no model beats.

    The first set is exactly the clips the models' FVD compares against (the protocol's selection);
    the second is drawn from the remaining test sequences. Same clip frames as the models' FVD.
    """
    from rfn.data import make_dataset
    from rfn.evaluation.inputs import select_sequences
    from rfn.metrics import fvd_features, fvd_from_features

    test = make_dataset(protocol.dataset, split="test", seq_len=protocol.total_frames, **(data_kwargs or {}))
    chosen = select_sequences(len(test), protocol.n_test_sequences, protocol.seed, "FVD floor")
    rest = [i for i in range(len(test)) if i not in set(chosen)]
    g = torch.Generator().manual_seed(protocol.seed + 1)
    other = sorted(rest[i] for i in torch.randperm(len(rest), generator=g)[: len(chosen)].tolist())
    start = 0 if protocol.fvd_include_context else protocol.context_frames

    def feats(indices):
        clips = torch.stack([test[i] for i in indices])[:, start:]
        return fvd_features(clips, device="cpu", resize=protocol.fvd_resize)

    return {
        "fvd": fvd_from_features(feats(chosen), feats(other)),
        "clips": len(chosen),
        "protocol": protocol.describe(),
    }


def learning_curves(metrics_csv: str | Path, column: str = "val_bpp") -> pd.DataFrame:
    """``step`` and ``column`` of every row of a run's ``metrics.csv`` where the column is filled."""
    rows = []
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            if row.get(column):
                rows.append({"step": int(float(row["step"])), column: float(row[column])})
    return pd.DataFrame(rows, columns=["step", column])


def training_hours(metrics_csv: str | Path, batch_size: int = 16) -> float:
    """Hours the logged training steps took: each log row's steps times ``batch_size`` over its ``seq_per_s``.

    Wall-clock time of the steps (not of validation or start-up), summed over every resumed segment.
    """
    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["seq_per_s"].notna() & (frame["seq_per_s"] > 0)]
    steps = frame["step"].diff().fillna(frame["step"].iloc[0]) if len(frame) else frame["step"]
    return float((steps * batch_size / frame["seq_per_s"]).sum() / 3600)


def seconds_per_step(metrics_csv: str | Path, last: int | None = None, batch_size: int = 16) -> float | None:
    """Median wall-clock seconds per training step in a run log (over its last ``last`` steps; None: all).

    None when the log has no timed row.
    """
    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["seq_per_s"].notna() & (frame["seq_per_s"] > 0)]
    if last is not None and len(frame):
        frame = frame[frame["step"] > frame["step"].max() - last]
    return float((batch_size / frame["seq_per_s"]).median()) if len(frame) else None


def skipped_steps(metrics_csv: str | Path) -> int:
    """Optimiser steps the run skipped because its loss or gradient was not finite (the log's last count)."""
    column = pd.read_csv(metrics_csv).get("nonfinite")
    return 0 if column is None or column.dropna().empty else int(column.dropna().iloc[-1])


def gap_stability(
    rfn_curves: list[pd.DataFrame],
    baseline_curves: list[pd.DataFrame],
    last: int = 1_000,
    column: str = "val_bpp",
    tolerance: float = 0.05,
) -> dict[str, Any]:
    """Is the baseline-minus-RFN validation gap (mean over seeds) stable over the last ``last`` steps?

    Stable when the gap moved by less than ``tolerance`` of its final value between the first validation
    in that window and the last one.
    """

    def mean_curve(curves):
        joined = pd.concat([c.set_index("step")[column] for c in curves], axis=1)
        return joined.dropna().mean(axis=1)

    gap = (mean_curve(baseline_curves) - mean_curve(rfn_curves)).dropna()
    if gap.empty:
        raise ValueError("the runs share no validation step")
    end = int(gap.index.max())
    window = gap[gap.index >= end - last]
    change = float(window.iloc[-1] - window.iloc[0])
    final = float(window.iloc[-1])
    return {
        "steps": (int(window.index[0]), end),
        "gap_start": float(window.iloc[0]),
        "gap_end": final,
        "change": change,
        "stable": abs(change) < tolerance * abs(final),
    }


def conclusions(table: dict[str, dict[str, Any]], tests: dict[str, dict[str, Any]], units: str) -> list[str]:
    """Sentences of the page's conclusion, written from the numbers.

    ``table``: model key -> ``{"mean": ...}``; ``tests``: ``"srnn"``, ``"vrnn"``, ``"noskip"``, ``"srnn-skip"``
    -> :func:`welch` result of that model against the RFN (model minus RFN, positive when the RFN is better).
    """
    out = []
    rfn = table["rfn"]["mean"]

    def verdict(key: str) -> str:
        t = tests[key]
        lo, hi = t["interval"]
        if t["p"] < 0.05:
            side = "above" if t["difference"] > 0 else "below"
            return (
                f"{MODELS[key][1]} is {abs(t['difference']):.3f} {units} {side} the RFN "
                f"(95% interval {lo:+.3f} to {hi:+.3f}, Welch p = {t['p']:.2g})"
            )
        return (
            f"{MODELS[key][1]} and the RFN differ by {t['difference']:+.3f} {units}, not resolved by "
            f"the seeds (95% interval {lo:+.3f} to {hi:+.3f}, Welch p = {t['p']:.2g})"
        )

    for key in ("srnn", "vrnn"):
        if key in tests:
            out.append(verdict(key) + ".")
    gap = table[_better_baseline({k: v["mean"] for k, v in table.items()})]["mean"] - rfn
    if gap > 0:
        lead = f"the RFN's lead over the better thesis baseline ({gap:.3f} {units})"
        if "noskip" in tests and "noskip" in table:
            share = (table["noskip"]["mean"] - rfn) / gap
            out.append(f"{verdict('noskip')}: without its skips of the previous frame the RFN loses "
                       f"{100 * share:.0f}% of {lead}.")  # fmt: skip
        if "srnn-skip" in tests and "srnn-skip" in table:
            share = 1.0 - (table["srnn-skip"]["mean"] - rfn) / gap
            out.append(f"{verdict('srnn-skip')}: giving the per-pixel model the RFN's skips and size closes "
                       f"{100 * share:.0f}% of {lead}.")  # fmt: skip
    return out


# ----------------------------------------------------------------------------- figures


def learning_curves_figure(curves: dict[str, list[pd.DataFrame]], title: str, column: str = "val_bpp"):
    """Validation curves of every run, one colour per model, one line per seed."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, 4.0))
    for i, (key, runs) in enumerate(curves.items()):
        for j, c in enumerate(runs):
            style = "--" if key in ("noskip", "srnn-skip") else "-"  # the controls dashed
            ax.plot(c["step"], c[column], style, color=f"C{i}", alpha=0.8, label=_label(key) if j == 0 else None)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation bits per dimension")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def bits_map_figure(frame: torch.Tensor, maps: dict[str, torch.Tensor], title: str):
    """A frame ``uint8 [C, H, W]``, each model's bits-per-dimension map ``[H, W]``, the first two maps' difference."""
    import matplotlib.pyplot as plt

    names = list(maps)
    panels = 2 + len(names)
    fig, axes = plt.subplots(1, panels, figsize=(2.6 * panels, 2.9))
    image = frame.permute(1, 2, 0).numpy()
    axes[0].imshow(image if frame.shape[0] == 3 else image[..., 0], cmap=None if frame.shape[0] == 3 else "gray")
    axes[0].set_title("frame", fontsize=9)
    vmax = max(float(m.max()) for m in maps.values())
    for ax, name in zip(axes[1:], names):
        im = ax.imshow(maps[name].numpy(), cmap="magma", vmin=0.0, vmax=vmax)
        ax.set_title(f"{_wrap(name)}\n{float(maps[name].mean()):.2f} bits/dim", fontsize=9)
    fig.colorbar(im, ax=axes[1 : 1 + len(names)], shrink=0.8, label="bits per dimension")
    diff = (maps[names[1]] - maps[names[0]]).numpy()
    lim = float(np.abs(diff).max()) or 1.0
    im = axes[-1].imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[-1].set_title(f"{_wrap(names[1])}\nminus {_wrap(names[0])}", fontsize=9)
    fig.colorbar(im, ax=axes[-1], shrink=0.8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return fig


# ----------------------------------------------------------------------------- the study's numbers as tables


def _label(key: str) -> str:
    return MODELS[key][1]


def _wrap(text: str, width: int = 22) -> str:
    """A figure panel's title on lines of at most ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def per_seed(scores: dict[tuple[str, int], dict], what: str = "iw") -> dict[str, dict[int, float]]:
    """``{model: {seed: bits per dimension}}`` from :func:`score_run` results keyed ``(model, seed)``.

    ``what``: ``"iw"`` (the importance-weighted bound) or ``"nelbo"`` (the negative ELBO).
    """
    out: dict[str, dict[int, float]] = {}
    for (key, s), r in sorted(scores.items()):
        value = r["bits"]["iw"]["bound"] if what == "iw" else r["bits"]["nelbo"]
        out.setdefault(key, {})[s] = float(value)
    return out


def per_sequence(scores: dict[tuple[str, int], dict], key: str, what: str = "iw") -> np.ndarray:
    """``[seeds, sequences]`` bits per dimension of one model, every seed on the same test clips."""
    rows = [(s, r["bits"]) for (k, s), r in sorted(scores.items()) if k == key]
    indices = {tuple(b["per_sequence"]["indices"]) for _, b in rows}
    if len(indices) != 1:
        raise ValueError(f"the {key} runs were scored on different test clips; score them with one protocol")
    return np.array([b["per_sequence"]["iw" if what == "iw" else "nelbo"] for _, b in rows], dtype=float)


def seed_means(scores: dict[tuple[str, int], dict], what: str = "iw") -> dict[str, dict[str, float]]:
    """``{model key: {"mean": bits per dimension averaged over seeds}}``, as :func:`conclusions` reads it."""
    return {k: {"mean": float(np.mean(list(v.values())))} for k, v in per_seed(scores, what).items()}


def bits_table(scores: dict[tuple[str, int], dict]) -> pd.DataFrame:
    """One row per model: the IW bound per seed, its mean and spread, per RGB pixel, the negative ELBO, FVD."""
    iw, nelbo = per_seed(scores, "iw"), per_seed(scores, "nelbo")
    rows = []
    for key in MODELS:
        if key not in iw:
            continue
        v = np.array(list(iw[key].values()))
        fvd = [scores[(key, s)]["fvd"]["mean"] for s in iw[key] if scores[(key, s)].get("fvd")]
        rows.append({
            "model": _label(key),
            "seeds": len(v),
            "IW bound, bits/dim (per seed)": ", ".join(f"{x:.3f}" for x in v),
            "mean": v.mean(),
            "seed sd": v.std(ddof=1) if len(v) > 1 else float("nan"),
            "bits per RGB pixel (x3)": 3 * v.mean(),
            "negative ELBO, bits/dim": np.mean(list(nelbo[key].values())),
            "FVD (mean over seeds)": np.mean(fvd) if fvd else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def tests_table(scores: dict[tuple[str, int], dict], n_boot: int = 10_000) -> tuple[pd.DataFrame, dict]:
    """Each other model against the RFN (model minus RFN, bits per dimension): Welch over seeds, nested bootstrap.

    Returns the table and ``{model key: welch result}`` for :func:`conclusions`.
    """
    iw = per_seed(scores, "iw")
    rfn_seq = per_sequence(scores, "rfn")
    rows, tests = [], {}
    for key in MODELS:
        if key == "rfn" or key not in iw:
            continue
        w = welch(list(iw[key].values()), list(iw["rfn"].values()))
        b = nested_bootstrap(per_sequence(scores, key), rfn_seq, n_boot=n_boot)
        tests[key] = w
        rows.append({
            "comparison": f"{_label(key)} minus RFN",
            "difference, bits/dim": w["difference"],
            "Welch t": w["t"],
            "df": w["df"],
            "p": w["p"],
            "95% interval (Welch)": f"{w['interval'][0]:+.3f} to {w['interval'][1]:+.3f}",
            "95% interval (bootstrap: seeds, clips)": f"{b['interval'][0]:+.3f} to {b['interval'][1]:+.3f}",
        })  # fmt: skip
    return pd.DataFrame(rows), tests


def per_seed_fvd(scores: dict[tuple[str, int], dict]) -> dict[str, dict[int, float]]:
    """``{model: {seed: FVD}}`` of the runs scored with FVD."""
    out: dict[str, dict[int, float]] = {}
    for (key, s), r in sorted(scores.items()):
        if r.get("fvd"):
            out.setdefault(key, {})[s] = float(r["fvd"]["mean"])
    return out


def fvd_table(scores: dict[tuple[str, int], dict], floor: dict | None) -> pd.DataFrame:
    """FVD per model and seed, each model against the RFN (Welch over seeds), and the real-against-real floor.

    ``minus RFN`` and its Welch p-value and 95% interval are filled when both models have at least two
    seeds; the floor is the FVD between two sets of real clips at the same number of clips.
    """
    fvd = per_seed_fvd(scores)
    rows = []
    for key in MODELS:
        if key not in fvd:
            continue
        v = np.array(list(fvd[key].values()))
        row = {"model": _label(key), "FVD per seed": ", ".join(f"{x:.0f}" for x in v), "mean": v.mean(),
               "seed sd": v.std(ddof=1) if len(v) > 1 else float("nan"), "minus RFN": float("nan"),
               "Welch p": float("nan"), "95% interval": ""}  # fmt: skip
        if key != "rfn" and len(v) > 1 and len(fvd.get("rfn", {})) > 1:
            w = welch(v, list(fvd["rfn"].values()))
            lo, hi = w["interval"]
            row.update({"minus RFN": w["difference"], "Welch p": w["p"], "95% interval": f"{lo:+.0f} to {hi:+.0f}"})
        rows.append(row)
    if floor is not None:
        rows.append({"model": "real clips against real clips (floor)", "FVD per seed": "-", "mean": floor["fvd"],
                     "seed sd": float("nan"), "minus RFN": float("nan"), "Welch p": float("nan"),
                     "95% interval": ""})  # fmt: skip
    return pd.DataFrame(rows)


def status_summary(scores: dict[tuple[str, int], dict], floor: dict | None, seed: int = 0) -> dict[str, str]:
    """The stand-in's numbers as the book's status page cites them, keyed by the thesis's table or figure.

    ``"Table 9.7"``: bits per dimension (IW bound) per model, mean over seeds, and per RGB pixel;
    ``"Table 9.6"``: FVD per model, mean over seeds, with the floor; ``"Fig 9.11"``: best-of-N SSIM and
    PSNR of the seed-``seed`` runs against the held last context frame. A test holds the status page
    to these strings, so the page and the status cannot drift apart.
    """
    iw = per_seed(scores)
    means = {k: float(np.mean(list(v.values()))) for k, v in iw.items()}
    keys = [k for k in MODELS if k in means]
    short = {"rfn": "RFN", "srnn": "SRNN", "vrnn": "VRNN", "noskip": "RFN no skips", "srnn-skip": "SRNN + skips"}
    out = {
        "Table 9.7": "bits/dim (IW bound, mean of "
        + ("/".join(sorted({str(len(iw[k])) for k in keys})))
        + " seeds): "
        + ", ".join(f"{short[k]} {means[k]:.3f}" for k in keys)
        + "; per RGB pixel "
        + ", ".join(f"{short[k]} {3 * means[k]:.2f}" for k in keys),
    }
    if {"rfn", "srnn", "vrnn"} <= set(means):
        base = _better_baseline(means)
        gap = means[base] - means["rfn"]
        out["Table 9.7"] += (
            f"; the RFN's lead over the better baseline ({short[base]}) {gap:.3f} bits/dim, "
            f"{100 * gap / means[base]:.0f}% of the baseline's level"
        )
        if gap > 0 and {"noskip", "srnn-skip"} <= set(means):
            lost, closed = (means["noskip"] - means["rfn"]) / gap, 1 - (means["srnn-skip"] - means["rfn"]) / gap
            out["Table 9.7"] += (
                f"; without skips the RFN loses {100 * lost:.0f}% of the lead, "
                f"the SRNN with the RFN's skips and size closes {100 * closed:.0f}%"
            )
    fvd = per_seed_fvd(scores)
    if fvd:
        out["Table 9.6"] = "FVD (mean of seeds): " + ", ".join(
            f"{short[k]} {np.mean(list(fvd[k].values())):.0f}" for k in MODELS if k in fvd
        ) + (f"; real against real {floor['fvd']:.0f}" if floor else "")  # fmt: skip
    try:
        best = best_of_n_table(scores, seed=seed)
    except ValueError:
        return out
    col = next(c for c in best.columns if c.startswith("best of "))
    label = {_label(k): short[k] for k in MODELS}
    parts = []
    for metric in ("SSIM", "PSNR"):
        rows = best[best["metric"] == metric]
        held = rows[rows["prediction"] == "no model: last context frame"]["mean sample"]
        models = rows[rows[col].notna()]
        d = 3 if metric == "SSIM" else 2
        parts.append(
            f"{metric} " + ", ".join(f"{label[p]} {v:.{d}f}" for p, v in zip(models["prediction"], models[col]))
            + (f" (held last frame {float(held.iloc[0]):.{d}f})" if len(held) else "")
        )  # fmt: skip
    out["Fig 9.11"] = f"{col} per frame (seed-{seed} runs): " + "; ".join(parts)
    return out


def noise_floor(indices, frames: int = 10, noise_std: float = 2.0, **data_kwargs) -> float:
    """Bits per dimension that no model of the stand-in can go below on average: the camera noise's entropy.

    Every frame of ``rfn.data.textured`` is ``clip(round(mu + noise))`` with fresh Gaussian noise of
    ``noise_std`` grey levels per pixel and channel, independent of everything before it, so any
    model's expected code length for a frame given the past is at least ``H(x_t | mu_t)``: the
    entropy of the rounded, clipped noise around the noise-free value ``mu``. It is averaged over
    frames ``2..frames`` of the test clips ``indices``: pass the clips and frames a bits score used
    (``score["bits"]["per_sequence"]["indices"]`` and ``score["bits"]["frames"]``) to compare like with
    like. ``mu`` is read from the same clips drawn without noise (rounded to whole grey levels, which
    changes the entropy by far less than 1e-3 bits away from 0 and 255). About 3.0 bits at
    ``noise_std = 2``; ``0.5 log2(2 pi e noise_std^2)`` without clipping.
    """
    from rfn.data import make_dataset

    clean = make_dataset("textured-shapes", "test", seq_len=frames, image_size=32, noise_std=0.0, **data_kwargs)
    mu = torch.stack([clean[int(i)] for i in indices])[:, 1:].numpy()
    return float(rounded_noise_entropy(noise_std)[mu].mean())


def _better_baseline(means: dict[str, float]) -> str:
    """The thesis baseline (SRNN or VRNN) with the lower value in ``means`` (model key -> number)."""
    return min((k for k in ("srnn", "vrnn") if k in means), key=means.get)


def thesis_table(scores: dict[tuple[str, int], dict]) -> tuple[pd.DataFrame, str]:
    """The thesis's BAIR numbers beside the stand-in's (means over seeds), and a sentence comparing the gaps.

    Levels differ (other data, other scale); what can be compared is the RFN relative to the better
    thesis baseline, in bits per dimension and in FVD.
    """
    bits = {k: v["mean"] for k, v in seed_means(scores).items()}
    fvd = {k: float(np.mean(list(v.values()))) for k, v in per_seed_fvd(scores).items()}
    rows = [
        {"model": _label(k), "thesis, BAIR: bits/dim": THESIS_BAIR[k]["bits"],
         "stand-in: bits/dim": bits.get(k, np.nan), "thesis, BAIR: FVD": THESIS_BAIR[k]["fvd"],
         "stand-in: FVD": fvd.get(k, np.nan)}
        for k in THESIS_BAIR
    ]  # fmt: skip

    def lead(values: dict) -> tuple[float, str]:
        base = _better_baseline(values)
        return values["rfn"] / values[base], _label(base)

    tb, tb_name = lead({k: v["bits"] for k, v in THESIS_BAIR.items()})
    ob, ob_name = lead(bits)
    text = (
        f"In bits per dimension the thesis's RFN is {100 * (1 - tb):.0f}% below its better baseline on BAIR "
        f"({tb_name}), ours {100 * (1 - ob):.0f}% below its better baseline ({ob_name})"
    )
    if all(k in fvd for k in THESIS_BAIR):
        tf, tf_name = lead({k: v["fvd"] for k, v in THESIS_BAIR.items()})
        of, of_name = lead(fvd)
        text += (
            f"; in FVD the thesis's RFN is at {100 * tf:.0f}% of its better baseline's ({tf_name}), ours at "
            f"{100 * of:.0f}% ({of_name})"
        )
    return pd.DataFrame(rows), text + "."


def floor_sentence(scores: dict[tuple[str, int], dict], floor: float) -> str:
    """The models' bits above the camera-noise floor (:func:`noise_floor`), in one sentence."""
    means = {k: v["mean"] for k, v in seed_means(scores).items()}
    base = _better_baseline(means)
    above = {k: means[k] - floor for k in ("rfn", base)}
    return (
        f"The camera noise alone costs {floor:.3f} bits/dim, a floor no model can go below on average. Above it, "
        f"the RFN needs {above['rfn']:.3f} bits/dim and the {_label(base)} {above[base]:.3f}: the RFN's lead is "
        f"{100 * (1 - above['rfn'] / above[base]):.0f}% of what the better thesis baseline spends above the floor."
    )


def rounded_noise_entropy(noise_std: float) -> np.ndarray:
    """``[256]``: entropy in bits of ``clip(round(mu + noise_std * Z), 0, 255)`` for each grey level ``mu``."""
    from scipy.stats import norm

    k = np.arange(256, dtype=float)
    upper = np.where(k == 255, np.inf, k + 0.5)[None, :]
    lower = np.where(k == 0, -np.inf, k - 0.5)[None, :]
    p = norm.cdf((upper - k[:, None]) / noise_std) - norm.cdf((lower - k[:, None]) / noise_std)  # [mu, value]
    return -(p * np.log2(np.where(p > 0, p, 1.0))).sum(1)


def headline_summary(scores: dict[tuple[str, int], dict]) -> str:
    """The study's result in one sentence, as the intro and the CPU-training page cite it.

    Bits per dimension (IW bound, mean over seeds) of every model and, with three or more seeds, each
    comparison with the RFN as :func:`conclusions` states it (Welch over seeds). A test holds
    ``book/intro.md`` and ``book/cpu_training.md`` to this sentence once the whole study is committed.
    """
    means = seed_means(scores)
    iw = per_seed(scores)
    keys = [k for k in MODELS if k in means]
    n = "/".join(sorted({str(len(iw[k])) for k in keys}))
    text = (
        f"IW bound (mean of {n} seeds): "
        + "; ".join(f"{_label(k)} {means[k]['mean']:.3f}" for k in keys)
        + " bits per dimension"
    )
    if "rfn" in iw and len(iw["rfn"]) >= 3:
        tests = {
            k: welch(list(iw[k].values()), list(iw["rfn"].values())) for k in keys if k != "rfn" and len(iw[k]) >= 2
        }
        text += ". " + " ".join(conclusions(means, tests, "bits/dim"))
    return text


def best_of_n_table(
    scores: dict[tuple[str, int], dict], seed: int = 0, baseline: str = "last context frame"
) -> pd.DataFrame:
    """Best of N per frame and the mean sample, averaged over predicted frames, against a no-model baseline.

    One row per metric and prediction: each model's seed-``seed`` run, then the no-model baselines.
    ``best - <baseline>``: the model's best minus the baseline, averaged over frames per test clip,
    with a paired 95% t-interval over the clips (:func:`rfn.metrics.stats.paired`): every model and
    baseline was scored on the same clips. ``best - RFN`` pairs every other model's best with the
    RFN's on the same clips in the same way (one seed: the interval is over clips, not training runs).
    """
    from rfn.metrics.stats import paired

    runs = {k: scores[(k, seed)]["best_of_n"] for k in MODELS if scores.get((k, seed), {}).get("best_of_n")}
    if not runs:
        raise ValueError(f"no best-of-N scores for the seed-{seed} runs")
    if len({tuple(r["indices"]) for r in runs.values()}) != 1:
        raise ValueError("the runs were scored best-of-N on different test clips; score them with one protocol")
    first = next(iter(runs.values()))
    rows = []
    for m in (m for m in ("ssim", "psnr", "lpips") if m in first):
        best = {key: np.asarray(r[m]["best_per_frame"], dtype=float).mean(axis=1) for key, r in runs.items()}
        for key, r in runs.items():
            held = np.asarray(r["baselines_per_frame"][baseline][m], dtype=float).mean(axis=1)
            test = paired(best[key], held)
            lo, hi = test["interval"]
            row = {
                "metric": m.upper(),
                "prediction": _label(key),
                f"best of {r['samples']}": float(best[key].mean()),
                "mean sample": float(np.mean(r[m]["mean_curve"])),
                f"best - {baseline}": test["difference"],
                "95% interval": f"{lo:+.3f} to {hi:+.3f}",
            }
            if key != "rfn" and "rfn" in best:
                vs = paired(best[key], best["rfn"])
                row.update(
                    {
                        "best - RFN": vs["difference"],
                        "95% interval vs RFN": f"{vs['interval'][0]:+.3f} to {vs['interval'][1]:+.3f}",
                    }
                )
            rows.append(row)
        for name, curves in first["baselines"].items():
            rows.append(
                {"metric": m.upper(), "prediction": f"no model: {name}", "mean sample": float(np.mean(curves[m]))}
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- figures of models and data


def best_of_n_figure(scores: dict[tuple[str, int], dict], seed: int = 0, title: str = ""):
    """Best-of-N PSNR, SSIM and LPIPS per predicted frame for every model (one seed), with the no-model baselines."""
    import matplotlib.pyplot as plt

    first = next((r["best_of_n"] for (k, s), r in scores.items() if s == seed and r.get("best_of_n")), None)
    if first is None:
        raise ValueError(f"no best-of-N scores for the seed-{seed} runs; they are scored for seeds {BEST_SEEDS}")
    metrics = [m for m in ("psnr", "ssim", "lpips") if m in first]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    frames = first["frames"]
    for ax, m in zip(axes[0], metrics):
        for i, key in enumerate(MODELS):
            if (key, seed) in scores:
                ax.plot(
                    frames, scores[(key, seed)]["best_of_n"][m]["best_curve"], "-", color=f"C{i}", label=_label(key)
                )
        for style, (name, curves) in zip((":", "--"), first.get("baselines", {}).items()):
            ax.plot(frames, curves[m], style, color="0.4", label=name)
        ax.set_xlabel("frame t")
        ax.set_ylabel(f"best {m.upper()}" + (" (dB)" if m == "psnr" else ""))
        ax.set_title(f"{m.upper()} ({'higher' if first[m]['higher_is_better'] else 'lower'} is better)", fontsize=9)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title or f"best of {first['samples']} per frame, {first['sequences']} test clips (seed {seed} runs)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


@torch.no_grad()
def rollouts(models: dict[str, torch.nn.Module], clip: torch.Tensor, context: int, n: int = 1, seed: int = 0):
    """Each model's ``n`` futures of one clip ``uint8 [T, C, H, W]`` after ``context`` frames, the truth first.

    Returns ``(videos uint8 [1 + n * models, T, C, H, W], labels)``; every model draws with the same seed.
    """
    x = clip[None]
    videos, labels = [clip], ["truth"]
    for key, model in models.items():
        torch.manual_seed(seed)
        pred = model.predict(x[:, :context], n_future=clip.shape[0] - context, n_samples=n)[0]
        for i in range(n):
            videos.append(torch.cat([clip[:context], pred[i]]))
            labels.append(_label(key) if n == 1 else f"{_label(key)}, sample {i + 1}")
    return torch.stack(videos), labels


@torch.no_grad()
def bits_maps(
    models: dict[str, torch.nn.Module], clip: torch.Tensor, frame: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Bits per dimension of every pixel of frame ``frame`` (1-based, > 1) of ``clip`` under each model's emission."""
    out = {}
    for key, model in models.items():
        torch.manual_seed(seed)
        out[_label(key)] = model.pixel_bits(clip[None, :frame].to(next(model.parameters()).device))[0, -1].cpu()
    return out


def bits_by_region(
    models: dict[str, torch.nn.Module], clips: torch.Tensor, threshold: int = 40, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Where each emission spends its bits: pixels that stayed still against pixels that changed.

    ``clips``: uint8 ``[N, T, C, H, W]``; every model scores frames ``2..T`` of every clip
    (``pixel_bits``: the emission term, ``z`` from the posterior, one draw). A pixel of frame ``t``
    *changed* when one of its channels moved by more than ``threshold`` grey levels since frame
    ``t - 1`` (the moving shapes' old and new places; camera noise and flicker stay far below 40).

    Returns a table, one row per model (``models``' first key is the reference, normally the RFN):
    bits per dimension on the still and on the changed pixels, the excess over the reference on
    each (per pixel), a paired 95% interval over the clips of still-minus-changed excess, and the
    share of the model's whole excess that lies on still pixels; and ``{"still": fraction of
    pixels that stayed still, "share": {key: that share}, "split": {key: (excess from still pixels,
    excess from changed pixels)} (in bits per dimension of the whole frame: they add up to the
    model's excess), "tests": {key: paired result}}``.
    """
    from rfn.metrics.stats import paired

    if clips.dtype != torch.uint8 or clips.dim() != 5:
        raise ValueError(f"clips must be uint8 [N, T, C, H, W], got {clips.dtype} {tuple(clips.shape)}")
    x = clips.float()
    changed = (x[:, 1:] - x[:, :-1]).abs().amax(dim=2) > threshold  # [N, T-1, H, W]
    still = (~changed).float()
    n_pix = float(still[0].numel())
    per = {}  # key -> (mean on still [N], mean on changed [N], contribution of still pixels to the mean [N], mean [N])
    for key, model in models.items():
        torch.manual_seed(seed)
        with torch.no_grad():
            bits = model.pixel_bits(clips.to(next(model.parameters()).device)).double().cpu()  # [N, T-1, H, W]
        on_still = (bits * still).flatten(1).sum(1)
        on_changed = (bits * (1 - still)).flatten(1).sum(1)
        n_still, n_changed = still.flatten(1).sum(1), (1 - still).flatten(1).sum(1)
        per[key] = (
            (on_still / n_still.clamp(min=1)).numpy(),
            (on_changed / n_changed.clamp(min=1)).numpy(),
            (on_still / n_pix).numpy(),
            bits.flatten(1).mean(1).numpy(),
        )
    ref = next(iter(models))
    rows, shares, tests, split = [], {}, {}, {}
    for key in models:
        s_mean, c_mean, s_contrib, total = per[key]
        row = {"model": _label(key), "bits/dim, still pixels": s_mean.mean(), "bits/dim, changed pixels": c_mean.mean(),
               "bits/dim, all": total.mean(), "excess on still pixels": float("nan"),
               "excess on changed pixels": float("nan"), "still minus changed excess, 95% interval": "",
               "share of the excess on still pixels": float("nan")}  # fmt: skip
        if key != ref:
            excess_still, excess_changed = s_mean - per[ref][0], c_mean - per[ref][1]
            t = paired(excess_still, excess_changed)
            from_still, whole = float((s_contrib - per[ref][2]).mean()), float((total - per[ref][3]).mean())
            share = from_still / whole
            shares[key], tests[key], split[key] = share, t, (from_still, whole - from_still)
            row.update({
                "excess on still pixels": excess_still.mean(),
                "excess on changed pixels": excess_changed.mean(),
                "still minus changed excess, 95% interval": f"{t['interval'][0]:+.3f} to {t['interval'][1]:+.3f}",
                "share of the excess on still pixels": share,
            })  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows), {"still": float(still.mean()), "share": shares, "split": split, "tests": tests}


def region_sentence(regions: dict[str, Any], key: str, reference: str = "rfn") -> str:
    """One sentence on where ``key``'s excess over ``reference`` lies, from :func:`bits_by_region`'s numbers."""
    t = regions["tests"][key]
    lo, hi = t["interval"]
    still, changed = regions["split"][key]
    resolved = lo > 0 or hi < 0
    where = "larger on the still pixels" if t["difference"] > 0 else "larger on the changed pixels"
    return (
        f"{_label(key)} needs {still + changed:+.3f} bits/dim more than the {_label(reference)}: {still:+.3f} "
        f"from the pixels that stayed still ({100 * regions['still']:.0f}% of all pixels) and {changed:+.3f} from "
        f"those that changed; per pixel its excess is {where if resolved else 'not resolved between them'} (still "
        f"minus changed {t['difference']:+.3f} bits/dim, 95% interval {lo:+.3f} to {hi:+.3f} over {t['n']} clips)"
    )


# ----------------------------------------------------------------------------- the committed study


class StudyError(RuntimeError):
    """A committed run of the RGB study is missing, unfinished, or its shipped numbers are stale."""


def study_folder(root: str | Path | None = None) -> Path:
    """``checkpoints/reference/textured`` of the checkout the package was imported from, or under ``root``.

    Anchored at the repository rather than the working directory, so a page, an exercise or a test
    finds the committed study from any folder.
    """
    from rfn.assets import REFERENCE_DIR, REPOSITORY
    from rfn.runs import reference_file

    return reference_file("reference-textured", 0, REPOSITORY / REFERENCE_DIR if root is None else root).parent


def run_stem(key: str, seed: int) -> str:
    """File stem of a run: the preset, with ``-seedS`` for seeds other than 0."""
    preset = MODELS[key][0]
    return preset if seed == 0 else f"{preset}-seed{seed}"


def compact_json(obj: Any, digits: int = 6) -> str:
    """``obj`` as JSON without spaces, every float rounded to ``digits`` significant digits (shipped scores)."""
    import json

    def rounded(o):
        if isinstance(o, float):
            return float(f"{o:.{digits}g}")
        if isinstance(o, dict):
            return {k: rounded(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [rounded(v) for v in o]
        return o

    return json.dumps(rounded(obj), separators=(",", ":"))


def score_key(path: str | Path, best: bool = True) -> dict[str, Any]:
    """What a shipped score depends on: the checkpoint's bytes and the protocols it was scored with."""
    from rfn.assets import sha256

    key = {"checkpoint_sha256": sha256(path), "bits": PROTOCOL_BITS.cache_key()}
    return {**key, "best": PROTOCOL_BEST.cache_key()} if best else key


#: what the real-against-real FVD floor depends on
FLOOR_KEY = {"bits": PROTOCOL_BITS.cache_key(), "data_kwargs": {"image_size": 32}}


class Study:
    """The committed runs of the RGB study and their shipped numbers, read without computing anything.

    Attributes:
        folder: ``checkpoints/reference/textured``.
        files: ``{(model key, seed): checkpoint}`` of every finished run.
        scores: ``{(model key, seed): score_run result}`` read from ``folder/cache``.
        floor: the real-against-real FVD (:func:`fvd_floor`), or None when not shipped.
    """

    def __init__(self, folder: Path, files: dict, scores: dict, floor: dict | None):
        self.folder, self.files, self.scores, self.floor = folder, files, scores, floor
        self._models: dict = {}

    @property
    def seeds(self) -> list[int]:
        return sorted({s for _, s in self.files})

    def keys(self) -> list[str]:
        """The model keys present, in :data:`MODELS` order."""
        return [k for k in MODELS if any(k == key for key, _ in self.files)]

    def model(self, key: str, seed: int = 0, device: str | torch.device = "cpu") -> torch.nn.Module:
        """The trained model of one run (loaded once, eval mode, fp32)."""
        from rfn.models.registry import load_model

        if (key, seed, str(device)) not in self._models:
            self._models[(key, seed, str(device))] = load_model(self.files[(key, seed)], device=device).float()
        return self._models[(key, seed, str(device))]

    def curves(self, column: str = "val_bpp") -> dict[str, list[pd.DataFrame]]:
        """``{model key: [validation curve per seed]}`` from the committed ``metrics.csv`` files."""
        return {
            k: [learning_curves(self.files[(k, s)].with_suffix(".metrics.csv"), column) for s in self.seeds]
            for k in self.keys()
        }

    def runs_table(self) -> pd.DataFrame:
        """One row per run: steps, parameters, the hours its steps took, steps skipped as non-finite, the fp16 check.

        Hours come from the run log (:func:`training_hours`), which covers every resumed segment of a
        run; ``train_time.json`` misses a segment whose process was stopped before it finished.
        """
        import json

        rows = []
        for (key, seed), path in sorted(self.files.items(), key=lambda kv: (list(MODELS).index(kv[0][0]), kv[0][1])):
            export = json.loads(path.with_suffix(".export.json").read_text())
            rows.append({
                "model": _label(key),
                "seed": seed,
                "steps": export["step"],
                "parameters": sum(p.numel() for p in self.model(key, seed).parameters()),
                "wall hours of its steps": training_hours(path.with_suffix(".metrics.csv")),
                "median s per step": seconds_per_step(path.with_suffix(".metrics.csv")),
                "skipped steps": skipped_steps(path.with_suffix(".metrics.csv")),
                "fp16 - fp32 test bits": export["fp16_bits"] - export["fp32_bits"],
            })  # fmt: skip
        return pd.DataFrame(rows)

    def stability(self, last: int = 1_000) -> pd.DataFrame:
        """:func:`gap_stability` of every other model against the RFN over the last ``last`` steps."""
        curves = self.curves()
        rows = []
        for key in self.keys():
            if key == "rfn":
                continue
            s = gap_stability(curves["rfn"], curves[key], last=last)
            rows.append({
                "model minus RFN": _label(key),
                "steps": f"{s['steps'][0]}-{s['steps'][1]}",
                "gap at start": s["gap_start"],
                "gap at end": s["gap_end"],
                "change": s["change"],
                "stable (change < 5% of the gap)": s["stable"],
            })  # fmt: skip
        return pd.DataFrame(rows)


def load_study(root: str | Path | None = None, seeds: tuple[int, ...] = SEEDS, scores: bool = True) -> Study:
    """Read the committed study: every model at every seed, finished, at equal steps, with fresh scores.

    Raises:
        StudyError: a run is missing or unfinished, the runs stopped at different steps, or a run's shipped
            score is missing or belongs to other weights or protocols (the message says which command fixes it).
    """
    import json

    from rfn.presets import get_preset

    folder = study_folder(root)
    files, missing = {}, []
    for key, (preset, _) in MODELS.items():
        for seed in seeds:
            path = folder / f"{run_stem(key, seed)}.pt"
            if path.is_file():
                files[(key, seed)] = path
            else:
                missing.append(f"{preset} seed {seed}")
    if missing:
        raise StudyError(
            f"{len(missing)} of {len(MODELS) * len(seeds)} runs of the RGB study are not committed under {folder}: "
            f"{', '.join(missing)}. Train them with `python benchmarks/rgb_headline.py train` (see its `plan`), then "
            "`export` and `score`."
        )
    steps = {}
    for (key, seed), path in files.items():
        steps[(key, seed)] = json.loads(path.with_suffix(".export.json").read_text())["step"]
        wanted = get_preset(MODELS[key][0]).train["steps"]
        if steps[(key, seed)] < wanted:
            raise StudyError(f"{path} stopped at step {steps[(key, seed)]} of {wanted}: train it on and export again")
    if len(set(steps.values())) != 1:
        raise StudyError(f"the runs stopped at different steps ({sorted(set(steps.values()))}): compare like with like")
    found, floor = {}, None
    if scores:
        stale = []
        for (key, seed), path in files.items():
            cached = folder / "cache" / f"{path.stem}.score.json"
            stored = json.loads(cached.read_text()) if cached.is_file() else None
            if stored is None or stored.get("key") != score_key(path, best=seed in BEST_SEEDS):
                stale.append(path.stem)
            else:
                found[(key, seed)] = stored["result"]
        if stale:
            raise StudyError(
                f"no current shipped score for {', '.join(stale)} in {folder / 'cache'}: "
                "run `python benchmarks/rgb_headline.py score` (about 8 CPU minutes per run) and commit the cache"
            )
        floor_file = folder / "cache" / "fvd_floor.json"
        if floor_file.is_file():
            stored = json.loads(floor_file.read_text())
            floor = stored["result"] if stored.get("key") == FLOOR_KEY else None
    return Study(folder, files, found, floor)


def headline_figure(scores: dict[tuple[str, int], dict], title: str = "", floor: float | None = None):
    """Bits per dimension (IW bound) of every run, one dot per seed, the mean as a bar, per model.

    ``floor``: a lower bound every model's expected bits lie above (:func:`noise_floor`), drawn as a line.
    """
    import matplotlib.pyplot as plt

    iw = per_seed(scores, "iw")
    keys = [k for k in MODELS if k in iw]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, key in enumerate(keys):
        values = np.array(list(iw[key].values()))
        ax.barh(i, values.mean(), color=f"C{i}", alpha=0.35, height=0.6)
        ax.plot(values, np.full(len(values), i), "o", color=f"C{i}", markersize=6)
        ax.annotate(f"{values.mean():.3f}", (values.max(), i), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=8)  # fmt: skip
    ax.set_yticks(range(len(keys)), [_label(k) for k in keys], fontsize=8)
    ax.set_ylabel("model")
    lo = min(min(v.values()) for v in iw.values())
    ax.set_ylim(len(keys) - 0.5, -0.5)  # first model on top
    if floor is not None:
        ax.set_ylim(len(keys) - 0.5, -1.1)  # room above the bars for the floor's label
        ax.axvline(floor, color="0.3", linestyle="--", linewidth=1)
        ax.annotate("camera-noise floor", (floor, -0.8), xytext=(4, 0), textcoords="offset points", fontsize=8,
                    color="0.3", va="center")  # fmt: skip
        lo = min(lo, floor)
    ax.set_xlim(lo - 0.5, max(max(v.values()) for v in iw.values()) + 0.3)
    ax.set_xlabel("test bits per dimension, IW bound (lower is better; dots: seeds, bars: mean)")
    ax.set_title(title or "RFN against per-pixel emissions on the RGB stand-in", fontsize=10)
    fig.tight_layout()
    return fig


def stand_in_figure(clips: torch.Tensor, title: str = ""):
    """A grid of test clips ``uint8 [N, T, 3, H, W]`` of the stand-in, one clip per row, frames from 1."""
    labels = [f"clip {i + 1}" for i in range(len(clips))]
    return frames_figure(clips, labels, title or "the RGB stand-in: test clips, one per row, frames from 1")

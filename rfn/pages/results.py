"""Notebook 05, results on SM-MNIST: the runs it compares, frame strips, best-of-N, bits per pixel, FVD, pitfalls.

The runs come from :func:`rfn.runs.get_run` (the model, its cached numbers, a description) and
futures are drawn with :func:`rfn.runs.seeded_predict`; this module adds labelled frame strips
(:func:`frames_figure`).

The numbers come from the package: :func:`rfn.evaluation.evaluate` (bits per pixel and
best-of-N), :mod:`rfn.metrics.fvd`, :mod:`rfn.metrics.bestofn` and :mod:`rfn.metrics.placed_digits`;
this module only arranges them into the page's figures and tables, and adds the yardsticks
that teach how to read them: predictions without a model, paired with the models over the same
sequences (:func:`baseline_tests`, :func:`model_tests`), the FVD
of real against real clips (:func:`fvd_study`), and how fast a best-of-N score grows with N
when the best is chosen per frame rather than per sequence (:func:`best_of_n_growth`).

The page's bookkeeping lives here too, so that its cells show what they compute: the runs it
compares (:func:`comparison_runs`), the rows of truth and prediction behind its strips
(:func:`truth_and_prediction`, :func:`futures_rows`, :func:`show_animation`), its tables
(:func:`summary_table`, :func:`save_table`) and the paragraphs that state what the numbers show
(:func:`baseline_findings`, :func:`fvd_findings`, :func:`growth_findings`).

Example:
    >>> import torch
    >>> s = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])  # [B=1, N=2, T=2]: each sample wins one frame
    >>> g = best_of_n_growth(s, higher_is_better=True)
    >>> g["per frame"], g["per sequence"]
    ([0.5, 1.0], [0.5, 0.5])
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rfn import viz
from rfn.evaluation import EvaluationOptions
from rfn.evaluation.run import baseline_predictions
from rfn.metrics import HIGHER_IS_BETTER, frame_scores, fvd_features, fvd_from_features, fvd_videos
from rfn.metrics.digits import ClassifierConfig
from rfn.metrics.stats import paired, paired_per_frame, spans
from rfn.runs import LABELS, Run, get_run, seeded_predict
from rfn.viz import frames_figure

__all__ = [
    "KINDS",
    "LABELS",
    "THESIS_DATA",
    "baseline_curves",
    "baseline_findings",
    "baseline_tests",
    "best_of_n_figure",
    "best_of_n_growth",
    "bpp_ordering",
    "bpp_table",
    "comparison_runs",
    "curves_figure",
    "digits_readable",
    "evaluation_options",
    "evaluation_report",
    "frames_figure",
    "futures_rows",
    "fvd_findings",
    "fvd_floor_figure",
    "fvd_floor_key",
    "fvd_key",
    "fvd_study",
    "fvd_table",
    "growth_figure",
    "growth_findings",
    "model_tests",
    "ranked",
    "same_sequences",
    "save_table",
    "scored_metrics",
    "show_animation",
    "styled",
    "summary_table",
    "thesis_data_report",
    "truth_and_prediction",
]

#: the video models notebook 05 compares, in the order of its tables (the first is the one tested against the others)
KINDS = ("rfn", "srnn", "vrnn")
#: the thesis's BAIR and KTH protocols, per data set (notebook 05's last section)
THESIS_DATA = {
    "bair": ("bair-thesis-13", "bair-thesis-30", "bair-thesis-16", "bair-thesis-16-w1"),
    "kth": ("kth-thesis",),
}


def baseline_curves(videos: torch.Tensor, context: int, metrics, device=None) -> dict[str, dict[str, list[float]]]:
    """Per-frame scores of :data:`rfn.evaluation.run.BASELINES` on ``videos`` (for benchmarks that score their own
    clips; the book's pages read the baselines :func:`rfn.evaluation.evaluate` scores in the models' own call).

    Args:
        videos: ``uint8 [B, T, C, H, W]`` test sequences; frames ``context..T-1`` are predicted.
        metrics: names known to :func:`rfn.metrics.frame_scores` (``"psnr"``, ``"ssim"``, ``"lpips"``).

    Returns:
        ``{"black frames": {metric: [T - context]}, "last context frame": {...}}`` (means over sequences).
    """
    future = videos[:, context:]
    return {
        name: {m: frame_scores(future, g[:, None], m, device=device).mean((0, 1)).tolist() for m in metrics}
        for name, g in baseline_predictions(videos, context).items()
    }


def same_sequences(results: dict[str, dict]) -> list[int]:
    """The test sequences every evaluation in ``results`` (label -> :func:`rfn.evaluation.evaluate` result) scored.

    Raises ``ValueError`` when two evaluations scored different sequences or one lacks the baselines scored
    in its own call: their curves cannot be compared.
    """
    indices = {k: r["best_of_n"].get("indices") for k, r in results.items()}
    first_label, first = next(iter(indices.items()))
    for label, idx in indices.items():
        if idx is None or idx != first:
            raise ValueError(
                f"{label} and {first_label} were scored on different test sequences; evaluate both under one protocol"
            )
        if "baselines_per_frame" not in results[label]["best_of_n"]:
            raise ValueError(f"the evaluation of {label} has no baselines of its own call; re-evaluate it")
    return list(first)


def baseline_tests(results: dict[str, dict], metric: str, level: float = 0.95) -> pd.DataFrame:
    """Each model against each prediction without a model, paired over the same test sequences.

    For the best of N (per frame) and the mean over samples: the difference averaged over the predicted
    frames (model minus baseline, sign turned so that positive favours the model), its ``level`` interval
    and p-value over sequences, and the frames (1 = first predicted) where the interval lies above zero
    ("model ahead") or below ("baseline ahead"). Uses :func:`same_sequences`.
    """
    same_sequences(results)
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    rows = []
    for label, r in results.items():
        b = r["best_of_n"]
        for name, base in b["baselines_per_frame"].items():
            base = np.asarray(base[metric])
            for which, key in (("best of N", "best_per_frame"), ("mean of samples", "mean_per_frame")):
                model = np.asarray(b[metric][key])
                overall = paired(sign * model.mean(1), sign * base.mean(1), level)
                frames = paired_per_frame(sign * model, sign * base, level)
                horizons = [f"t+{t + 1}" for t in range(len(frames))]
                rows.append(
                    {
                        "model": label,
                        "score": which,
                        "against": name,
                        "difference": overall["difference"],
                        "interval": "[{:.3f}, {:.3f}]".format(*overall["interval"]),
                        "p": overall["p"],
                        "model ahead at": spans(horizons, [f["interval"][0] > 0 for f in frames]),
                        "baseline ahead at": spans(horizons, [f["interval"][1] < 0 for f in frames]),
                        "sequences": overall["n"],
                    }
                )
    return pd.DataFrame(rows)


def model_tests(results: dict[str, dict], metric: str, level: float = 0.95) -> pd.DataFrame:
    """The first model of ``results`` against each other one, paired over the same test sequences.

    For the best of N (per frame) and the mean over samples: the difference averaged over the predicted
    frames (first model minus the other, sign turned so that positive favours the first), its ``level``
    interval and p-value over sequences. Uses :func:`same_sequences`.
    """
    same_sequences(results)
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    (first, r0), *others = results.items()
    rows = []
    for label, r in others:
        for which, key in (("best of N", "best_per_frame"), ("mean of samples", "mean_per_frame")):
            a = np.asarray(r0["best_of_n"][metric][key]).mean(1)
            b = np.asarray(r["best_of_n"][metric][key]).mean(1)
            t = paired(sign * a, sign * b, level)
            rows.append({"model": first, "against": label, "score": which, "metric": metric,
                         "difference": t["difference"], "interval": "[{:.3f}, {:.3f}]".format(*t["interval"]),
                         "p": t["p"], "sequences": t["n"]})  # fmt: skip
    return pd.DataFrame(rows)


def _frame_axis(ax, frames, train_frames: int | None, ylabel: str, title: str) -> None:
    import matplotlib.pyplot as plt

    if train_frames is not None and min(frames) <= train_frames < max(frames):
        ax.axvline(train_frames + 0.5, color="k", ls=":", lw=1, label=f"training length ({train_frames} frames)")
    ax.set(title=title, xlabel="frame t", ylabel=ylabel)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))


def best_of_n_figure(results: dict[str, dict], baselines: dict, train_frames: int, title: str):
    """Fig 9.7: best-of-N (solid) and mean (dashed) per-frame curves of each model, with the baselines in gray.

    ``results``: model label -> the ``best_of_n`` part of an evaluation; ``baselines``: :func:`baseline_curves`.
    """
    import matplotlib.pyplot as plt

    first = next(iter(results.values()))
    metrics = [m for m in ("psnr", "ssim", "lpips") if m in first]
    frames = first["frames"]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics) + 2.2, 3.8), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for (label, b), c in zip(results.items(), colours):
            ax.plot(frames, b[m]["best_curve"], "-", color=c, label=f"{label}: best of {b['samples']}")
            ax.plot(frames, b[m]["mean_curve"], "--", color=c, lw=1, alpha=0.8, label=f"{label}: mean of samples")
        for (name, ref), style in zip(baselines.items(), (":", "-.")):
            if m in ref:
                ax.plot(frames, ref[m], style, color="0.45", lw=1.4, label=name)
        better = "higher" if HIGHER_IS_BETTER[m] else "lower"
        unit = " (dB)" if m == "psnr" else ""
        _frame_axis(ax, frames, train_frames, f"{m.upper()}{unit}", f"{m.upper()} ({better} is better)")
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def bpp_table(results: dict[str, dict], thesis: dict[str, str], compute: dict[str, str]) -> pd.DataFrame:
    """Table 9.5: negative ELBO, its KL part and the importance-weighted bound per model, beside the thesis's."""
    rows = []
    for label, res in results.items():
        bpp = res["bpp"]
        iw = bpp.get("iw") or {}
        bound = f"{iw['bound']:.4f} ± {iw['sem']:.4f}" if iw.get("sem") is not None else iw.get("bound", "-")
        rows.append(
            {
                "model": label,
                "negative ELBO (bpp)": round(bpp["nelbo"], 4),
                "KL part (bpp)": round(bpp["kl"], 4),
                f"IW bound K={iw.get('k', '-')} (bpp)": bound,
                "our protocol": f"{bpp['frames']} frames, 1 conditioning, {bpp['sequences']} test sequences",
                "our compute": compute[label],
                "thesis (Table 9.5)": thesis.get(label, "-"),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def fvd_study(
    models: dict[str, Any],
    videos: torch.Tensor,
    protocol,
    seed: int = 0,
    device=None,
    runs: dict[str, Run] | None = None,
    data: dict | None = None,
) -> dict:
    """FVD of each model's samples against real clips, and of real against real clips for several set sizes.

    Args:
        models: label -> video model; each draws one future per sequence of the first half of ``videos``.
        videos: ``uint8 [2n, total_frames, C, H, W]``: two disjoint halves of ``n`` test sequences.
        protocol: the FVD protocol (context, clip frames, resize).
        runs: label -> :class:`Run` of each model: each model's FVD is then cached beside its
            checkpoint (:meth:`Run.cached`, keyed by the checkpoint's hash), and the floor beside
            the first run's (keyed by ``data``, the data set's settings), so a retrained model
            recomputes only its own number; the real clips' I3D features are computed only if
            something is missing.

    Returns:
        ``{"clips": n, "models": {label: fvd}, "floor": {clips: fvd of real half A vs real half B}, "wall_s"}``;
        the floor uses the first ``k`` clips of each half for ``k`` in 4, 8, ... up to ``n``.
    """
    n = videos.shape[0] // 2
    kw = dict(device=device, resize=protocol.fvd_resize, batch_size=4)
    ctx = protocol.context_frames
    t0 = time.perf_counter()
    feats: dict[int, torch.Tensor] = {}

    def real(half: int) -> torch.Tensor:
        if half not in feats:
            v = videos[:n] if half == 0 else videos[n:]
            feats[half] = fvd_features(fvd_videos(v, v[:, None, ctx:], protocol)[0], **kw)
        return feats[half]

    def floor() -> dict[str, float]:
        sizes = sorted({k for k in (4, 8, 16, 32, 64, 128, 256) if k < n} | {n})
        return {str(k): fvd_from_features(real(0)[:k], real(1)[:k]) for k in sizes}

    def model_fvd(model) -> float:
        temp = protocol.emission_temperature
        fake = seeded_predict(model, videos[:n, :ctx], protocol.predicted_frames, seed=seed, emission_temperature=temp)
        _, fake_clips = fvd_videos(videos[:n], fake, protocol)
        return fvd_from_features(real(0), fvd_features(fake_clips, **kw))

    if runs is None:
        out: dict[str, Any] = {"clips": n, "floor": floor(), "models": {k: model_fvd(m) for k, m in models.items()}}
    else:
        first = next(iter(runs.values()))
        out = {
            "clips": n,
            "floor": first.cached(f"book_fvd_floor_{protocol.name}.json", floor, fvd_floor_key(protocol, n, data)),
            "models": {
                label: float(
                    runs[label].cached(
                        f"book_fvd_{protocol.name}.json",
                        lambda m=m: model_fvd(m),
                        fvd_key(protocol, n, runs[label], seed),
                    )
                )
                for label, m in models.items()
            },
        }
    out["wall_s"] = time.perf_counter() - t0
    return out


def fvd_key(protocol, clips: int, run: Run, seed: int) -> dict:
    """What a model's cached FVD in :func:`fvd_study` depends on."""
    return {"protocol": protocol.cache_key(), "clips": clips, "checkpoint": run.checkpoint_id(), "seed": seed}


def fvd_floor_key(protocol, clips: int, data: dict | None) -> dict:
    """What the cached real-against-real FVD floor of :func:`fvd_study` depends on."""
    return {"protocol": protocol.cache_key(), "clips": clips, "data": data}


def evaluation_options(settings: dict, device) -> EvaluationOptions:
    """Notebook 05's evaluation options at its profile's ``settings`` (best-of-N and bits; FVD apart)."""
    return EvaluationOptions(
        iw_k=settings["iw_k"],
        bpp_frames=settings["bpp_frames"],
        device=device,
        batch_size=settings["batch_size"],
        fvd=False,
        progress=False,
    )


def fvd_table(study: dict, thesis: dict[str, str], protocol_text: str) -> pd.DataFrame:
    """Table 9.4: the models' FVDs after the real-vs-real floor of the same number of clips."""
    n = study["clips"]
    rows = [{"model": f"real vs real ({n} clips each)", "FVD": round(study["floor"][str(n)], 1), "thesis": "-"}]
    rows += [{"model": k, "FVD": round(v, 1), "thesis": thesis.get(k, "-")} for k, v in study["models"].items()]
    table = pd.DataFrame(rows).set_index("model")
    table["our protocol"] = protocol_text
    return table.rename(columns={"thesis": "thesis (Table 9.4)"})


def fvd_floor_figure(study: dict, title: str):
    """FVD between two disjoint sets of real clips against the clips per set, with the models' FVDs as lines."""
    import matplotlib.pyplot as plt

    sizes = [int(k) for k in study["floor"]]
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    ax.plot(sizes, [study["floor"][str(k)] for k in sizes], "o-", color="0.3", label="real vs real")
    for (label, value), c in zip(study["models"].items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        ax.axhline(value, color=c, ls="--", lw=1.2, label=f"{label} ({study['clips']} clips)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.set(title=title, xlabel="clips per set", ylabel="FVD")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def best_of_n_growth(scores: torch.Tensor, higher_is_better: bool) -> dict[str, list[float]]:
    """How a best-of-N score grows with N when the best is picked per frame or per sequence.

    Args:
        scores: ``[B, N, T]`` per-frame scores of N samples of B sequences (:func:`rfn.metrics.frame_scores`).

    Returns:
        ``{"n": [1..N], "per frame": [...], "per sequence": [...]}``: the mean over sequences and frames of
        the best of the first ``n`` samples, chosen independently at every frame (an oracle that may pick a
        different sample per frame) or as the one sample with the best mean over the frames (the protocol's).
    """
    s = scores.double() if higher_is_better else -scores.double()
    per_frame, per_seq = [], []
    for n in range(1, s.shape[1] + 1):
        head = s[:, :n]
        per_frame.append(head.amax(1).mean().item())
        per_seq.append(head.gather(1, head.mean(2).argmax(1)[:, None, None].expand(-1, 1, s.shape[2])).mean().item())
    sign = 1.0 if higher_is_better else -1.0
    return {"n": list(range(1, s.shape[1] + 1)), "per frame": [sign * v for v in per_frame],
            "per sequence": [sign * v for v in per_seq]}  # fmt: skip


def growth_figure(growth: dict[str, dict], title: str):
    """One panel per metric: :func:`best_of_n_growth` per frame against per sequence."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(growth), figsize=(4.6 * len(growth) + 2.2, 3.6), squeeze=False)
    for ax, (m, g) in zip(axes[0], growth.items()):
        ax.plot(g["n"], g["per frame"], "o-", ms=3, label="best per frame (a different sample may win each frame)")
        ax.plot(g["n"], g["per sequence"], "s-", ms=3, label="best per sequence (one sample for all frames)")
        ax.set(title=m.upper(), xlabel="samples N", ylabel=f"mean {m.upper()}" + (" (dB)" if m == "psnr" else ""))
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def digits_readable(data_kwargs: dict) -> bool:
    """Whether the committed digit classifier reads this run's frames (32x32, two 16-pixel digits)."""
    c = ClassifierConfig()
    return (
        data_kwargs.get("image_size", 64) == c.image_size
        and data_kwargs.get("digit_size", 32) == c.digit_size
        and data_kwargs.get("num_digits", 2) == c.num_digits
    )


def curves_figure(curves: dict[str, dict], frames: list[int], train_frames: int | None, title: str, ylabel: str):
    """Per-frame curves, one colour per label: ``{"label": {"mean": [...], "best": [...], "samples": N}}``.

    Solid: best of N per frame; dashed: mean over samples (the layout of
    :func:`rfn.metrics.digits.identity_by_horizon`).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    for (label, c), colour in zip(curves.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        ax.plot(frames, c["best"], "-", color=colour, label=f"{label}: best of {c['samples']}")
        ax.plot(frames, c["mean"], "--", color=colour, lw=1, label=f"{label}: mean of samples")
    _frame_axis(ax, frames, train_frames, ylabel, title)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def ranked(scores: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """Sequences ranked by their best-of-N mean score ``[B, N, T]`` (higher is better): order and best sample."""
    mean = scores.double().mean(2)
    best = mean.argmax(1)
    return np.argsort(-mean.amax(1).numpy()), best


def comparison_runs(
    profile: str, seed: int = 0, root: str | Path = "artifacts", dataset: str = "smmnist"
) -> dict[str, Run]:
    """The runs notebook 05 compares, by label: ``{"RFN": Run, "SRNN": Run, "VRNN": Run}`` (:data:`KINDS`' order).

    Each is :func:`rfn.runs.get_run` of the profile and seed (trained first if missing; the committed
    weights at ``reference``); ``root`` is the page's ``artifacts_dir``.
    """
    return {LABELS[k]: get_run(k, profile, seed, root=root, dataset=dataset) for k in KINDS}


def evaluation_report(protocol, runs: dict[str, Run], results: dict[str, dict]) -> str:
    """What notebook 05's evaluations ran under: the protocol, each run and its checkpoint, the test sequences
    all of them scored (:func:`same_sequences`, which raises when they differ) and each evaluation's wall time.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> res = {"RFN": {"best_of_n": {"indices": [3, 9], "baselines_per_frame": {}}, "wall_s": 12.0}}
        >>> run = NS(describe=lambda: "RFN: 10 steps", checkpoint="rfn.pt")
        >>> print(evaluation_report(NS(describe=lambda: "smoke"), {"RFN": run}, res))
        protocol: smoke
           RFN: 10 steps (rfn.pt)
        2 test sequences, the same for every model and both baselines: [3, 9] ...
        RFN: evaluated in 12 s
    """
    indices = same_sequences(results)
    lines = [f"protocol: {protocol.describe()}"]
    lines += [f"   {run.describe()} ({run.checkpoint})" for run in runs.values()]
    lines.append(f"{len(indices)} test sequences, the same for every model and both baselines: {indices[:8]} ...")
    for label, res in results.items():
        skipped = "; ".join(f"{k}: {v}" for k, v in res.get("skipped", {}).items())
        lines.append(f"{label}: evaluated in {res['wall_s']:.0f} s" + (f" (skipped {skipped})" if skipped else ""))
    return "\n".join(lines)


def scored_metrics(results: dict[str, dict]) -> list[str]:
    """The pixel metrics the first evaluation of ``results`` scored, of PSNR, SSIM and LPIPS (in that order)."""
    first = next(iter(results.values()))["best_of_n"]
    return [m for m in ("psnr", "ssim", "lpips") if m in first]


def summary_table(results: dict[str, dict]) -> pd.DataFrame:
    """Fig 9.7 in numbers: per model, each metric's best of N per frame, best sample and mean over samples,
    averaged over the predicted frames; then the predictions without a model of the first evaluation
    (one prediction, so its three columns agree). Rounded to 3 decimals."""
    metrics = scored_metrics(results)
    baselines = next(iter(results.values()))["best_of_n"]["baselines"]
    return pd.DataFrame(
        {
            k: {f"{m} best": r["best_of_n"][m]["best"] for m in metrics}
            | {f"{m} best sample": r["best_of_n"][m]["best_sample"] for m in metrics}
            | {f"{m} mean": r["best_of_n"][m]["mean"] for m in metrics}
            for k, r in results.items()
        }
        | {
            name: {f"{m} {w}": sum(c[m]) / len(c[m]) for m in metrics for w in ("best", "best sample", "mean")}
            for name, c in baselines.items()
        }
    ).T.round(3)


def styled(table: pd.DataFrame, uuid: str):
    """A test table as the page shows it: 3 decimals, no index, and a fixed ``uuid`` (a re-render is identical)."""
    return table.style.set_uuid(uuid).format(precision=3).hide(axis="index")


def baseline_findings(
    results: dict[str, dict], summary: pd.DataFrame, ssim_tests: pd.DataFrame, versus: pd.DataFrame
) -> str:
    """The paragraph under notebook 05's paired tests (Markdown).

    Args:
        results: label -> evaluation (:func:`rfn.evaluation.evaluate`).
        summary: :func:`summary_table` of ``results``.
        ssim_tests: :func:`baseline_tests` of ``results`` in SSIM.
        versus: :func:`model_tests` of ``results``, one metric after the other.
    """
    by_pair = ssim_tests.set_index(["model", "score", "against"])
    black = summary.loc["black frames"]
    predicted = len(next(iter(results.values()))["best_of_n"]["frames"])
    lines = []
    for k in results:
        best_black = by_pair.loc[(k, "best of N", "black frames")]
        mean_black = by_pair.loc[(k, "mean of samples", "black frames")]
        best_last = by_pair.loc[(k, "best of N", "last context frame")]
        lines.append(
            f"- **{k}**: a typical sample (mean of samples) is "
            f"{'above' if mean_black['difference'] > 0 else 'below'} black frames by {mean_black['difference']:+.3f} "
            f"SSIM over the predicted frames (95% interval {mean_black['interval']}, p = {mean_black['p']:.2g}); the "
            f"best of {results[k]['best_of_n']['samples']} is ahead of black frames at {best_black['model ahead at']} "
            f"and of the held warm-up frame at {best_last['model ahead at']}"
            + (
                f", behind black frames at {best_black['baseline ahead at']}"
                if best_black["baseline ahead at"] != "none"
                else ""
            )
            + "."
        )
    return (
        f"**What the numbers show.** All-black frames score {black['psnr mean']:.1f} dB PSNR and SSIM "
        f"{black['ssim mean']:.3f} on average over the {predicted} predicted frames of these "
        f"{len(same_sequences(results))} sequences (the held warm-up frame "
        f"{summary.loc['last context frame', 'ssim mean']:.3f}). Paired over the same sequences, in SSIM:\n\n"
        + "\n".join(lines)
        + "\n\nThe RFN against the other two, best of N per frame (positive favours the RFN): "
        + "; ".join(
            f"{r['metric'].upper()} vs {r['against']} {r['difference']:+.3f} {r['interval']}"
            for _, r in versus[versus["score"] == "best of N"].iterrows()
        )
        + "."
    )


def save_table(rec, table: pd.DataFrame, name: str, reproduces: str) -> Path:
    """Write ``table`` as the CSV ``name`` beside the page's figures and record it (a :class:`FigureRecorder`)."""
    if not name.endswith(".csv"):
        raise ValueError(f"{name!r}: a page's table is saved as a .csv file")
    path = rec.path(name)
    table.to_csv(path)
    return rec.record(path, reproduces=reproduces)


def bpp_ordering(results: dict[str, dict], thesis: str = "SRNN 0.542 < VRNN 0.546 < RFN 0.841") -> str:
    """The models ordered by their negative ELBO in bits per pixel, best (lowest) first, beside the thesis's.

    Example:
        >>> bpp_ordering({"A": {"bpp": {"nelbo": 1.2}}, "B": {"bpp": {"nelbo": 1.1}}}, thesis="B < A")
        'ordering by bits per pixel, best first: B 1.100 < A 1.200 (thesis: B < A)'
    """
    by_bpp = sorted(results, key=lambda k: results[k]["bpp"]["nelbo"])
    ordering = " < ".join(f"{k} {results[k]['bpp']['nelbo']:.3f}" for k in by_bpp)
    return f"ordering by bits per pixel, best first: {ordering} (thesis: {thesis})"


def fvd_findings(study: dict) -> str:
    """The paragraph under notebook 05's FVD table (Markdown): the floor at the smallest and largest set,
    the models' FVDs in order, and which of them the real-against-real floor cannot tell from real data."""
    floor, n = study["floor"], study["clips"]
    sizes = list(floor)
    below = [k for k, v in study["models"].items() if v <= floor[str(n)]]
    return (
        f"**What the numbers show.** Two sets of real clips score FVD {floor[sizes[0]]:.0f} with {sizes[0]} clips "
        f"each and {floor[sizes[-1]]:.0f} with {sizes[-1]}; the thesis's protocol uses 256 clips per set and five "
        f"estimates. Models in this run: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(study["models"].items(), key=lambda kv: kv[1]))
        + f" with {n} clips ("
        + (
            f"{', '.join(below)} at or below the real-vs-real floor: the number does not tell it from real data"
            if below
            else "every model above the real-vs-real floor"
        )
        + "). The thesis's ordering is SRNN 245 < VRNN 274 < RFN 633."
    )


def growth_findings(growth: dict[str, dict]) -> str:
    """The paragraph under the growth figure (Markdown): how much PSNR and SSIM gain from 1 to N samples,
    one sample kept per sequence against the best picked per frame (:func:`best_of_n_growth` per metric)."""
    g, s = growth["psnr"], growth["ssim"]
    return (
        f"**What the numbers show.** From 1 to {g['n'][-1]} samples the RFN's PSNR grows by "
        f"{g['per sequence'][-1] - g['per sequence'][0]:.2f} dB when one sample is kept per sequence and by "
        f"{g['per frame'][-1] - g['per frame'][0]:.2f} dB when the best is picked per frame; for SSIM by "
        f"{s['per sequence'][-1] - s['per sequence'][0]:.3f} and "
        f"{s['per frame'][-1] - s['per frame'][0]:.3f}. A paper that does not say which "
        "choice it made cannot be compared with one that did."
    )


def truth_and_prediction(
    truth: torch.Tensor,
    predicted: torch.Tensor,
    model: str,
    indices=None,
    labels: list[str] | None = None,
    frames: list[int] | None = None,
) -> tuple[torch.Tensor, list[str]]:
    """Rows for :func:`frames_figure`: each sequence's true video above the model's.

    Args:
        truth: ``uint8 [B, T, C, H, W]`` test sequences.
        predicted: ``uint8 [B, P, C, H, W]``, one prediction per sequence of its last ``P`` frames; the model's
            row is the first ``T - P`` true frames (its context) followed by them.
        model: the model's name in the default row labels ``"seq i: <model>"``.
        indices: the sequences to show, in this order (default: all).
        labels: the model rows' labels, one per shown sequence, instead of the default.
        frames: the frames (0-based) to keep in every row (default: all).

    Returns:
        ``(rows [2k, T', C, H, W], labels)``, the truth rows labelled ``"seq i: truth"``.

    Example:
        >>> x = torch.zeros(3, 4, 1, 2, 2, dtype=torch.uint8)
        >>> rows, names = truth_and_prediction(x, x[:, 1:] + 1, "RFN", indices=[2, 0])
        >>> rows.shape, names, rows[1, :, 0, 0, 0].tolist()
        (torch.Size([4, 4, 1, 2, 2]), ['seq 2: truth', 'seq 2: RFN', 'seq 0: truth', 'seq 0: RFN'], [0, 1, 1, 1])
    """
    context = truth.shape[1] - predicted.shape[1]
    if predicted.shape[0] != truth.shape[0] or context < 0 or predicted.shape[2:] != truth.shape[2:]:
        raise ValueError(
            f"predicted {tuple(predicted.shape)} does not continue truth {tuple(truth.shape)}: give one prediction "
            "[P, C, H, W] per sequence, at most as many frames as the truth"
        )
    indices = list(range(truth.shape[0])) if indices is None else [int(i) for i in indices]
    if labels is not None and len(labels) != len(indices):
        raise ValueError(f"{len(labels)} labels for {len(indices)} sequences; give one per shown sequence")
    keep = slice(None) if frames is None else list(frames)
    rows = torch.stack([v[keep] for i in indices for v in (truth[i], torch.cat([truth[i, :context], predicted[i]]))])
    names = labels if labels is not None else [f"seq {i}: {model}" for i in indices]
    return rows, [s for i, name in zip(indices, names) for s in (f"seq {i}: truth", name)]


def futures_rows(truth: torch.Tensor, futures: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """Rows for :func:`frames_figure`: per context, its true video, then each sampled future after the context.

    ``truth``: ``uint8 [B, T, C, H, W]``; ``futures``: ``uint8 [B, S, P, C, H, W]`` (:func:`rfn.runs.seeded_predict`
    with ``n=S``), continuing the first ``T - P`` frames. Labels ``"context i: truth"``, ``"context i: sample s"``.
    """
    if futures.dim() != truth.dim() + 1 or futures.shape[0] != truth.shape[0]:
        raise ValueError(f"futures {tuple(futures.shape)} are not [B, S, P, C, H, W] for truth {tuple(truth.shape)}")
    context = truth.shape[1] - futures.shape[2]
    videos, labels = [], []
    for i in range(truth.shape[0]):
        videos += [truth[i]] + [torch.cat([truth[i, :context], futures[i, s]]) for s in range(futures.shape[1])]
        labels += [f"context {i}: truth"] + [f"context {i}: sample {s + 1}" for s in range(futures.shape[1])]
    return torch.stack(videos), labels


def show_animation(rec, name: str, videos: torch.Tensor, reproduces: str, **kwargs) -> None:
    """Write ``videos`` as the animation ``name`` beside the page's figures (:func:`rfn.viz.save_gif` with
    ``kwargs``: ``fps``, ``ncols``, ``context``, ``scale``), record it and show it in the notebook.

    Returns nothing, so a notebook cell that ends with it shows the animation only (its file is ``rec.path(name)``).
    """
    from IPython.display import Image, display

    path = rec.record(viz.save_gif(rec.path(name), videos, **kwargs), reproduces=reproduces)
    display(Image(filename=str(path)))


def thesis_data_report(datasets: dict[str, tuple[str, ...]] = THESIS_DATA) -> str:
    """Whether each of the thesis's other data sets is prepared here, and the protocols it would be scored under."""
    from rfn.book.page import without_home
    from rfn.data import make_dataset
    from rfn.metrics import get_protocol

    lines = []
    for name, protocols in datasets.items():
        try:
            make_dataset(name, "test", seq_len=10)
            state = "present"
        except (FileNotFoundError, ValueError) as err:
            state = f"not available ({without_home(str(err).splitlines()[0])[:90]}...)"
        lines.append(f"{name.upper()}: {state}")
        lines += [f"    {get_protocol(p).describe()}" for p in protocols]
    return "\n".join(lines)

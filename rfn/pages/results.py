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

Example:
    >>> import torch
    >>> s = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])  # [B=1, N=2, T=2]: each sample wins one frame
    >>> g = best_of_n_growth(s, higher_is_better=True)
    >>> g["per frame"], g["per sequence"]
    ([0.5, 1.0], [0.5, 0.5])
"""

from __future__ import annotations

import time
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
from rfn.runs import LABELS, Run, seeded_predict

__all__ = [
    "LABELS",
    "baseline_curves",
    "baseline_tests",
    "best_of_n_figure",
    "best_of_n_growth",
    "bpp_table",
    "curves_figure",
    "digits_readable",
    "evaluation_options",
    "frames_figure",
    "fvd_floor_figure",
    "fvd_floor_key",
    "fvd_key",
    "fvd_study",
    "fvd_table",
    "growth_figure",
    "model_tests",
    "ranked",
    "same_sequences",
]


def frames_figure(
    videos: torch.Tensor,
    row_labels: list[str],
    title: str,
    context: int | None = None,
    frame_numbers: list[int] | None = None,
    scale: int = 2,
):
    """One labelled row per video ``uint8 [N, T, C, H, W]``; x ticks are frame numbers (1-based by default).

    ``context``: the first frames get a green border, the others red (:func:`rfn.viz.video_grid`).
    ``frame_numbers``: the number under each column when the columns skip frames.
    """
    import matplotlib.pyplot as plt

    n, t, _, h, w = videos.shape
    fig, ax = plt.subplots(figsize=(min(16.0, 0.02 * t * (w * scale + 4) + 2.0), 0.02 * n * (h * scale + 4) + 1.0))
    viz.show_video_grid(ax, videos, row_labels, context=context, first_frame=1, scale=scale)
    if frame_numbers is not None:
        if len(frame_numbers) != t:
            raise ValueError(f"frame_numbers has {len(frame_numbers)} entries for {t} columns; give one per column")
        ax.set_xticks(ax.get_xticks(), [str(k) for k in frame_numbers])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


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

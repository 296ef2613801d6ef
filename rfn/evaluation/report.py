"""The outputs of an evaluation: ``results.json``, tidy ``results.csv``, per-frame curve PNGs, a text table.

``results.json`` holds every number, the protocol's fields and its one-line
description, the checkpoint, model, data config, device, date and commit;
``results.csv`` holds tidy rows ``metric, frame, value, statistic, protocol`` (``frame``
is "all" for averages over frames); one PNG per metric shows its per-frame curves with a
marker at the training length (as thesis Figs 9.1 and 9.7). Frames are numbered from 1
within each clip: the BPP of frame 2 is the first scored frame, and the predicted frames
of a protocol with ``c`` warm-up frames are ``c + 1 .. total_frames``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from rfn.metrics.bestofn import CURVE_METRICS

__all__ = ["format_table", "result_rows", "write_outputs"]

_UNITS = {"psnr": "dB", "ssim": "", "lpips": ""}


def result_rows(results: dict) -> list[dict[str, Any]]:
    """Tidy rows ``metric, frame, value, statistic, protocol`` (``frame`` "all" for averages over frames)."""
    name = results["protocol"]["name"]
    rows: list[dict[str, Any]] = []

    def add(metric, frame, value, statistic):
        if value is not None:
            rows.append({"metric": metric, "frame": frame, "value": value, "statistic": statistic, "protocol": name})

    bpp = results.get("bpp")
    if bpp:
        for key in ("nelbo", "nll", "kl"):
            add(f"bpp_{key}", "all", bpp.get(key), "mean")
        per = bpp.get("per_frame")
        if per:
            for j, f in enumerate(per["frame"]):
                for key in ("nelbo", "nll", "kl"):
                    add(f"bpp_{key}", f, per[key][j], "mean")
        if bpp.get("iw"):
            add(f"bpp_iw_k{bpp['iw']['k']}", "all", bpp["iw"]["bound"], "mean")
    best = results.get("best_of_n") or {}
    for m in CURVE_METRICS:
        if m not in best:
            continue
        for stat in ("best", "mean"):
            add(m, "all", best[m][stat], stat)
            for f, v in zip(best["frames"], best[m][f"{stat}_curve"]):
                add(m, f, v, stat)
    fvd = results.get("fvd")
    if fvd:
        add("fvd", "all", fvd["mean"], "mean")
        add("fvd", "all", fvd["std"], "std")
        for r, v in enumerate(fvd["repeats"], 1):
            add("fvd", "all", v, f"repeat{r}")
    return rows


def _plot(path: Path, frames, curves: dict[str, list[float]], ylabel: str, title: str, train_frames) -> None:
    # Figure without pyplot: no global backend state, works headless
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.0, 3.4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    for label, values in curves.items():
        ax.plot(frames, values, marker="o", markersize=3, label=label, linestyle="--" if "mean" in label else "-")
    if train_frames is not None:
        ax.axvline(train_frames, color="grey", linestyle=":", linewidth=1.2, label=f"training length ({train_frames})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def write_outputs(results: dict, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``results.json``, ``results.csv`` and the per-frame curve PNGs into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    proto = results["protocol"]["name"]
    train_frames = results.get("train_frames")
    best = results.get("best_of_n") or {}
    n = best.get("samples")
    for m in CURVE_METRICS:
        if m not in best:
            continue
        unit = f" [{_UNITS[m]}]" if _UNITS[m] else ""
        path = out / f"{m}.png"
        curves = {f"best of {n}": best[m]["best_curve"], f"mean of {n}": best[m]["mean_curve"]}
        _plot(
            path,
            best["frames"],
            curves,
            f"{m.upper()}{unit}",
            f"{proto}: {m.upper()} per predicted frame",
            train_frames,
        )
        written.append(path)
    per = (results.get("bpp") or {}).get("per_frame")
    if per:
        path = out / "bpp.png"
        curves = {"negative ELBO": per["nelbo"], "reconstruction": per["nll"], "KL": per["kl"]}
        _plot(path, per["frame"], curves, "bits per pixel", f"{proto}: bits per pixel per frame", train_frames)
        written.append(path)
    rows = result_rows(results)
    path = out / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["metric", "frame", "value", "statistic", "protocol"])
        writer.writeheader()
        writer.writerows(rows)
    written.append(path)
    path = out / "results.json"
    files = [str(p) for p in written] + [str(path)]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**results, "files": files}, indent=2) + "\n")
    os.replace(tmp, path)
    written.append(path)
    return written


def format_table(results: dict) -> str:
    """A compact plain-text table of the results, headed by the protocol line."""
    lines = [results["protocol_description"]]
    ck = results["checkpoint"]
    where = f"{ck['path']} (step {ck['step']})" if ck["path"] else "model object"
    lines.append(f"model {results['model']['name']} from {where}; device {results['device']}")
    rows: list[tuple[str, str]] = []
    bpp = results.get("bpp")
    if bpp:
        cond = f"{bpp['frames']} frames, 1 conditioning, {bpp['sequences']} sequences"
        if "nll" in bpp:
            rows.append(
                ("BPP, negative ELBO", f"{bpp['nelbo']:.4f}  (recon {bpp['nll']:.4f} + KL {bpp['kl']:.4f}; {cond})")
            )
        else:
            rows.append(("BPP, likelihood bound", f"{bpp['nelbo']:.4f}  ({cond})"))
        if bpp.get("iw"):
            iw = bpp["iw"]
            sem = f"  (standard error over sequences {iw['sem']:.4f})" if iw.get("sem") is not None else ""
            rows.append((f"BPP, IW bound K={iw['k']}", f"{iw['bound']:.4f}{sem}"))
    best = results.get("best_of_n") or {}
    for m in CURVE_METRICS:
        if m in best:
            arrow = "higher is better" if best[m]["higher_is_better"] else "lower is better"
            rows.append(
                (
                    f"{m.upper()} best / mean of {best['samples']}",
                    f"{best[m]['best']:.4f} / {best[m]['mean']:.4f}  ({arrow})",
                )
            )
    fvd = results.get("fvd")
    if fvd:
        spread = f" ± {fvd['std']:.1f} (std of {len(fvd['repeats'])})" if fvd.get("std") is not None else ""
        rows.append(
            (
                "FVD",
                f"{fvd['mean']:.1f}{spread}  ({fvd['real_videos']} real vs {fvd['fake_videos']} generated clips "
                f"of {fvd['clip_frames']} frames)",
            )
        )
    for key, reason in (results.get("skipped") or {}).items():
        rows.append((f"{key} skipped", reason))
    width = max((len(r[0]) for r in rows), default=0)
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)

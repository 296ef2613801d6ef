"""Notebook 09, ablations: train-evaluate-cache each variant, then curves, tables and pooled tests.

Every variant is a preset ``<profile>-ablation-<variant>`` (:mod:`rfn.presets.ablations`)
trained or loaded by :func:`rfn.runs.trained_model`. :func:`run_variant` measures a run once
(test bits per pixel from ``model.bpp_per_frame``, best-of-N curves from
:func:`rfn.metrics.best_of_n`) and caches the numbers beside its checkpoint
(:func:`rfn.runs.cached_json`). ``settings`` is the page's profile entry: ``seeds``,
``bpp_sequences``, ``eval`` (``sequences``, ``samples``, ``context``, ``future``) and ``metrics``.

Example:
    >>> sorted(experiments((1, 2, 3)))
    ['Fig 9.1', 'Fig 9.2', 'Table 9.1', 'Table 9.2']
    >>> experiments((1, 2, 3))["Table 9.2"]
    {'L = 1': 'rfn-L1', 'L = 2': 'rfn-skip-cond', 'L = 3': 'rfn-L3'}
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import torch

from rfn.assets import sha256
from rfn.data import make_dataset
from rfn.evaluation.run import baseline_predictions
from rfn.metrics import best_of_n
from rfn.metrics.stats import nested_bootstrap, paired
from rfn.presets import get_preset
from rfn.runs import cached_json, preset_for, reference_checkpoint, run_dir, run_file, source_profile, trained_model

__all__ = [
    "METRIC_LABEL",
    "THESIS_91",
    "ablation_tests",
    "conclusions",
    "curves_figure",
    "experiments",
    "reference_curves",
    "run_variant",
    "runs_table",
    "spread_table",
    "thesis_92",
]

METRIC_LABEL = {
    "ssim": "max SSIM (higher is better)",
    "psnr": "max PSNR, dB (higher is better)",
    "lpips": "min LPIPS (lower is better)",
}
#: Table 9.1 of the thesis: SM-MNIST, L = 5, K = 10, validation bpp ± one std
THESIS_91 = {
    "none": {"parameters (thesis)": "≈33 M", "validation bpp (thesis)": "0.940 ± 0.024"},
    "conditioning net": {"parameters (thesis)": "≈35 M", "validation bpp (thesis)": "0.946 ± 0.019"},
    "flow": {"parameters (thesis)": "≈58 M", "validation bpp (thesis)": "0.991 ± 0.021"},
    "both": {"parameters (thesis)": "≈60 M", "validation bpp (thesis)": "1.017 ± 0.030"},
}
#: PSNR of identical 8-bit frames is infinite; curves cap it at 8-bit's ceiling
PSNR_CAP = 48.13


def experiments(levels) -> dict[str, dict[str, str]]:
    """Figure or table -> {label: variant}; ``levels`` are the scale's three flow depths (the middle one shared)."""
    mid = levels[1]
    return {
        "Fig 9.1": {
            "neither": "srnn-neither",
            "smoothing": "srnn-smoothing",
            "RES_q": "srnn-resq",
            "both": "srnn-both",
        },
        "Fig 9.2": {"O = 1": "srnn-smoothing", "O = 2": "srnn-D2", "O = 3": "srnn-D3"},
        "Table 9.1": {
            "none": "rfn-skip-none",
            "conditioning net": "rfn-skip-cond",
            "flow": "rfn-skip-flow",
            "both": "rfn-skip-both",
        },
        "Table 9.2": {f"L = {L}": ("rfn-skip-cond" if L == mid else f"rfn-L{L}") for L in levels},
    }


def thesis_92(levels) -> dict[str, dict[str, str]]:
    """Table 9.2 of the thesis (BAIR, K = 5), its rows paired with our ``levels`` by bottleneck size."""
    rows = [
        ("L = 3", "≈22 M", "2.654 ± 0.0211"),
        ("L = 4", "≈36 M", "2.636 ± 0.0212"),
        ("L = 5", "≈61 M", "2.665 ± 0.0216"),
    ]
    return {
        f"L = {L}": {"thesis row (BAIR, K = 5)": name, "parameters (thesis)": p, "validation bpp (thesis)": b}
        for L, (name, p, b) in zip(levels, rows)
    }


@torch.no_grad()
def _evaluate(model, data: dict, settings: dict, eval_seed: int, device) -> dict:
    ev = settings["eval"]
    ds = make_dataset(data["name"], split="test", seq_len=data["seq_len"], **data["kwargs"])
    torch.manual_seed(eval_seed)
    x = ds.batch(range(settings["bpp_sequences"])).to(device)
    per_seq = torch.cat([model.bpp_per_frame(x[i : i + 64])["total"].mean(1) for i in range(0, len(x), 64)]).cpu()
    ds_eval = make_dataset(data["name"], split="test", seq_len=ev["context"] + ev["future"], **data["kwargs"])
    xe = ds_eval.batch(range(ev["sequences"])).to(device)
    torch.manual_seed(eval_seed)
    samples = model.predict(xe[:, : ev["context"]], ev["future"], n_samples=ev["samples"])
    scores = best_of_n(xe[:, ev["context"] :].cpu(), samples.cpu(), settings["metrics"], device=device)
    return {
        "bpp_mean": per_seq.mean().item(),
        "bpp_std": per_seq.std().item(),
        "curves": {m: r.best_curve.tolist() for m, r in scores.items()},
        "summary": {m: r.best_per_sequence.mean().item() for m, r in scores.items()},
        # per test sequence (the same sequences for every variant and seed): for the tests of ablation_tests
        "bpp_per_sequence": per_seq.tolist(),
        "best_per_sequence": {m: r.best_per_sequence.tolist() for m, r in scores.items()},
    }


def run_variant(name: str, run_seed: int, profile: str, root: str | os.PathLike, settings: dict, device) -> dict:
    """Train (or load) variant ``name`` with ``run_seed``, measure it, cache the numbers in ``result.json``.

    Returns:
        dict with ``bpp_mean``/``bpp_std`` (negative ELBO per test sequence, one conditioning frame),
        best-of-N ``curves`` and ``summary`` per metric, ``parameters``, ``steps``, training seconds,
        ``train_frames`` and the run's ``data`` config. The cache key is the preset and the protocol.
    """
    kind = f"ablation-{name}"
    out = run_dir(kind, profile, run_seed, root=root)
    key = {
        "preset": get_preset(preset_for(kind, profile)),
        "eval": settings["eval"],
        "bpp": settings["bpp_sequences"],
        "metrics": settings["metrics"],
        "version": 5,  # 4: best-of-N per frame (rfn.metrics.bestofn); 5: per-sequence numbers for the tests
    }
    if source_profile(kind, profile) == "reference":  # committed weights: recompute when they change
        key["checkpoint"] = sha256(reference_checkpoint(kind, seed=run_seed))[:16]

    def compute() -> dict:
        model = trained_model(kind, profile, run_seed, root=root, device=device)  # trains it if missing
        timing = run_file(kind, profile, "train_time.json", run_seed, root)  # the committed files at reference
        took = json.loads(timing.read_text()) if timing.exists() else {"wall_s": float("nan"), "cpu_s": float("nan")}
        data = json.loads(run_file(kind, profile, "run.json", run_seed, root).read_text())["data_config"]
        history = pd.read_csv(run_file(kind, profile, "metrics.csv", run_seed, root))
        result = _evaluate(model, data, settings, eval_seed=1000 + run_seed, device=device)
        result.update(
            variant=name,
            seed=run_seed,
            steps=int(history["step"].iloc[-1]),
            parameters=model.num_parameters(),
            train_wall_s=took["wall_s"],
            train_cpu_s=took["cpu_s"],
            final_train_bpp=float(history["bpp"].iloc[-1]),
            train_frames=data["seq_len"],
            data=data,
        )
        return result

    return cached_json(out / "result.json", compute, key)


def runs_table(results: dict[tuple[str, int], dict]) -> pd.DataFrame:
    """Every run: variant, seed, parameters, steps, test bpp, best-of-N summaries, training time."""
    return pd.DataFrame(
        [
            {
                "variant": n,
                "seed": s,
                "parameters": r["parameters"],
                "steps": r["steps"],
                "test bpp": r["bpp_mean"],
                "bpp std over sequences": r["bpp_std"],
                **{f"best {m}": v for m, v in r["summary"].items()},
                "train wall s": r["train_wall_s"],
                "train CPU s": r["train_cpu_s"],
            }
            for (n, s), r in results.items()
        ]
    )


@torch.no_grad()
def reference_curves(data: dict, settings: dict, device) -> dict[str, dict[str, np.ndarray]]:
    """Per-frame scores of two trivial predictions on the evaluation sequences: black frames, the last context frame."""
    ev = settings["eval"]
    xe = make_dataset(data["name"], split="test", seq_len=ev["context"] + ev["future"], **data["kwargs"]).batch(
        range(ev["sequences"])
    )
    truth = xe[:, ev["context"] :]
    out = {}
    for name, guess in baseline_predictions(xe, ev["context"]).items():
        scores = best_of_n(truth, guess[:, None], settings["metrics"], device=device)  # one "sample"
        out[name] = {m: r.scores[:, 0].clamp(max=PSNR_CAP).mean(0).numpy() for m, r in scores.items()}
    return out


def curves_figure(results, variants: dict[str, str], seeds, reference, settings: dict, train_frames: int, title: str):
    """Best-of-N curves per metric, mean over seeds with the seeds' range shaded, the two references in gray.

    Frames are counted from 1; the dashed vertical line marks the last frame of the training sequences.
    One legend outside.
    """
    import matplotlib.pyplot as plt

    ev, metrics = settings["eval"], settings["metrics"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.8 * len(metrics), 3.8), squeeze=False)
    t_axis = np.arange(ev["context"] + 1, ev["context"] + ev["future"] + 1)  # predicted frames, counted from 1
    for ax, m in zip(axes[0], metrics):
        for label, variant in variants.items():
            curves = np.array([results[(variant, s)]["curves"][m] for s in seeds])
            line = ax.plot(t_axis, curves.mean(0), "-o", ms=3, label=label)[0]
            if len(seeds) > 1:
                ax.fill_between(t_axis, curves.min(0), curves.max(0), color=line.get_color(), alpha=0.15)
        for (name, ref), style in zip(reference.items(), (":", "-.")):
            ax.plot(t_axis, ref[m], style, color="0.45", lw=1.2, label=name)
        ax.axvline(train_frames, color="gray", ls="--", lw=1, label="last training frame")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set(title=m.upper(), xlabel="frame t", ylabel=METRIC_LABEL[m])
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.9))
    return fig


def spread_table(results, variants: dict[str, str], seeds, settings: dict, thesis: dict | None = None) -> pd.DataFrame:
    """Per variant: parameters, test bpp (mean, per seed, spread between seeds), best-of-N summaries, thesis columns."""
    rows = []
    for label, variant in variants.items():
        bpps = [results[(variant, s)]["bpp_mean"] for s in seeds]
        row = {
            "variant": label,
            "parameters (ours)": results[(variant, seeds[0])]["parameters"],
            "test bpp (ours, mean over seeds)": float(np.mean(bpps)),
            "seed spread (max - min)": float(np.ptp(bpps)) if len(bpps) > 1 else float("nan"),
            **{f"bpp seed {s}": b for s, b in zip(seeds, bpps)},
            "bpp std over sequences": float(np.mean([results[(variant, s)]["bpp_std"] for s in seeds])),
        }
        for m in settings["metrics"]:
            row[f"best-of-{settings['eval']['samples']} {m}"] = float(
                np.mean([results[(variant, s)]["summary"][m] for s in seeds])
            )
        rows.append({**row, **(thesis or {}).get(label, {})})
    return pd.DataFrame(rows).set_index("variant")


def _per_sequence(results, variant: str, seeds, measure: str) -> np.ndarray:
    """``[seeds, sequences]``: test bpp (``measure="bpp"``) or a metric's best-of-N per test sequence."""
    return np.array(
        [
            results[(variant, s)]["bpp_per_sequence"]
            if measure == "bpp"
            else np.minimum(
                results[(variant, s)]["best_per_sequence"][measure], PSNR_CAP if measure == "psnr" else np.inf
            )
            for s in seeds
        ]
    )


def ablation_tests(results, experiments: dict[str, dict[str, str]], seeds, metrics, n_boot: int = 10_000):
    """Each variant of an experiment against the experiment's first variant, pooled over seeds and sequences.

    For the test bits per pixel and each metric's best-of-N: the difference of the means (variant minus
    first), a 95% nested-bootstrap interval (:func:`rfn.metrics.stats.nested_bootstrap`: training seeds,
    then the shared test sequences, so it covers both) and the p-value of a paired t-test over sequences of
    the seed-averaged numbers (:func:`rfn.metrics.stats.paired`; it ignores the seeds' spread, the interval
    does not). ``resolved``: the interval excludes zero and p < 0.05. Returns a DataFrame, one row per comparison.
    """
    rows = []
    for exp, variants in experiments.items():
        (base_label, base), *others = variants.items()
        for label, variant in others:
            for measure in ("bpp", *metrics):
                a, b = _per_sequence(results, variant, seeds, measure), _per_sequence(results, base, seeds, measure)
                boot = nested_bootstrap(a, b, n_boot=n_boot, seed=0)
                lo, hi = boot["interval"]
                p = paired(a.mean(0), b.mean(0))["p"]
                rows.append(
                    {
                        "experiment": exp,
                        "variant": label,
                        "against": base_label,
                        "measure": "test bpp" if measure == "bpp" else f"best-of-N {measure}",
                        "difference": boot["difference"],
                        "95% interval (seeds and sequences)": f"[{lo:.3f}, {hi:.3f}]",
                        "p (paired over sequences)": p,
                        "resolved": bool((lo > 0 or hi < 0) and p < 0.05),
                        "seeds": len(seeds),
                        "sequences": a.shape[1],
                    }
                )
    return pd.DataFrame(rows)


def conclusions(tests: pd.DataFrame) -> str:
    """Markdown: per experiment, which differences the pooled interval resolves, with their numbers."""
    seeds = int(tests["seeds"].iloc[0])
    lines = (
        ["*One seed per variant: the intervals cover test sequences only, not training seeds; no claim below says "
         "more than that this run differs.*"]
        if seeds == 1
        else []
    )  # fmt: skip
    for exp, t in tests.groupby("experiment", sort=False):
        found = t[t["resolved"]]
        if found.empty:
            lines.append(f"- **{exp}**: no variant differs from *{t['against'].iloc[0]}* beyond the interval.")
            continue
        parts = [
            f"{r['variant']} vs {r['against']}, {r['measure']} {r['difference']:+.3f} "
            f"({r['95% interval (seeds and sequences)']}, p = {r['p (paired over sequences)']:.2g})"
            for _, r in found.iterrows()
        ]
        lines.append(f"- **{exp}**: " + "; ".join(parts) + ".")
    return "\n".join(lines)

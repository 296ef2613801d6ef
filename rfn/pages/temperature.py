"""Notebook 06, temperature: which of the RFN's two sources of randomness moves the digits, which changes their look.

The RFN draws random numbers in two places when it predicts a frame: the latent
``z_t ~ p(z_t | z_{t-1}, h_t)`` (scaled by the *prior temperature*) and the flow's base and
split priors (the *flow temperature*). :func:`sweep_samples` turns one of them up while the
other is off (temperature 0) and the warm-up follows the posterior means, so every
difference between samples comes from the swept source. :func:`sequence_measures` measures,
per test sequence, the **motion spread** (how far apart the samples' centre-of-mass
trajectories are) and the **fine detail** (speckle: ``|frame - 3x3 blur|``, which does not
depend on where the digits are, so it measures appearance given the motion), plus
brightness and, where the committed reader reads the frames, the share of digits found at their true place.
Sequences are the independent units: :func:`ci95` gives t-intervals over them and
:func:`effect` the paired change from the lowest to the highest temperature.
:func:`verdict` writes what the numbers say about the thesis's reading (the prior
temperature changes the motion, the flow temperature the appearance).

Example:
    >>> import numpy as np
    >>> mean, low, high = ci95(np.array([1.0, 2.0, 3.0]))
    >>> round(mean, 3), round(low, 3), round(high, 3)
    (2.0, -0.484, 4.484)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from rfn.metrics.frames import centre_of_mass, speckle
from rfn.metrics.placed_digits import placed_digit_hits
from rfn.runs import seeded_predict

__all__ = [
    "MEASURES",
    "THESIS_TABLE_9_3",
    "ci95",
    "effect",
    "emission_temperature_sweep",
    "fvd_table",
    "fvd_verdict",
    "measure_sweeps",
    "measures_figure",
    "measures_key",
    "measures_table",
    "per_sequence",
    "sequence_measures",
    "sweep_curves_figure",
    "sweep_figure",
    "sweep_key",
    "sweep_protocol",
    "sweep_samples",
    "verdict",
]

#: the measures of :func:`sequence_measures`, with their units
MEASURES = {
    "motion spread": "pixels",
    "fine detail": "gray levels",
    "brightness": "sample ink ÷ true ink",
    "digits in place": "share of digits",
}
#: the thesis's Table 9.3: FVD on BAIR (mean ± std) per flow temperature, the prior at temperature 1
THESIS_TABLE_9_3 = {0.1: "217.3 ± 5.6", 0.3: "212.9 ± 4.2", 0.5: "204.5 ± 4.5", 0.7: "200.9 ± 3.7",
                    0.9: "212.6 ± 4.2", 1.0: "233.2 ± 4.8"}  # fmt: skip
#: a frame counts for the motion spread when every sample keeps at least this share of the true ink
INK_FLOOR = 0.2


def sweep_samples(model, context: torch.Tensor, n_future: int, temperature: float, n: int, seed: int, sweep: str):
    """``n`` futures per context with one source of randomness at ``temperature`` and the other off.

    Args:
        context: ``uint8 [B, Tc, 1, H, W]``; the warm-up follows the posterior means (``context_temperature=0``).
        sweep: ``"flow"`` (flow temperature swept, prior temperature 0) or ``"prior"`` (the reverse).

    Returns:
        ``uint8 [B, n, n_future, 1, H, W]``; the same seed for every temperature, so rows differ by scale only.
    """
    if sweep not in ("flow", "prior"):
        raise ValueError(f"sweep must be 'flow' or 'prior', got {sweep!r}")
    flow, prior = (temperature, 0.0) if sweep == "flow" else (0.0, temperature)
    return seeded_predict(model, context, n_future, n=n, seed=seed, emission_temperature=flow, prior_temperature=prior,
                          context_temperature=0.0)  # fmt: skip


def sequence_measures(samples: torch.Tensor, truth: torch.Tensor, places: tuple | None = None) -> dict:
    """Per-sequence measures of sampled futures.

    Args:
        samples: ``uint8 [B, N, T, 1, H, W]``, ``N >= 2`` futures of each of B sequences.
        truth: ``uint8 [B, T, 1, H, W]``, the true futures.
        places: ``(positions int [B, T, D, 2], labels int [B, D])``, where and which the true digits are
            (:func:`rfn.metrics.placed_digits.true_places`), or None.

    Returns:
        ``{measure: float64 [B]}``: ``motion spread`` (the norm of the across-sample standard deviation of the
        centre of mass, in pixels, averaged over the frames where every sample keeps :data:`INK_FLOOR` of the
        true ink; NaN when no frame does), ``fine detail`` (:func:`rfn.metrics.frames.speckle` of the
        sequence's samples), ``brightness`` (sample ink over true ink) and, with places, ``digits in place`` (the
        share of the true digits the committed reader finds at their true place, over samples and frames).

    Example:
        >>> s = torch.zeros(1, 2, 1, 1, 4, 4, dtype=torch.uint8)
        >>> s[0, 0, 0, 0, 0, 0] = s[0, 1, 0, 0, 0, 3] = 255  # the same dot, 3 pixels apart
        >>> m = sequence_measures(s, s[:, 0])
        >>> round(float(m["motion spread"][0]), 3), float(m["brightness"][0])
        (2.121, 1.0)
    """
    if samples.dim() != 6 or samples.shape[1] < 2:
        raise ValueError(f"samples must be [B, N >= 2, T, 1, H, W], got {tuple(samples.shape)}")
    mass = samples.double().sum((-3, -2, -1))  # [B, N, T]
    true_mass = truth.double().sum((-3, -2, -1))  # [B, T]
    alive = (mass > INK_FLOOR * true_mass[:, None]).all(1)  # [B, T]
    spread = centre_of_mass(samples).std(1).norm(dim=-1)  # [B, T]
    motion = torch.where(alive, spread, torch.nan).nanmean(1)
    out = {
        "motion spread": motion.numpy(),
        "fine detail": np.array([speckle(s) for s in samples]),
        "brightness": (mass.mean((1, 2)) / true_mass.mean(1).clamp(min=1.0)).numpy(),
    }
    if places is not None:
        out["digits in place"] = placed_digit_hits(samples, *places).double().mean((1, 2, 3)).numpy()
    return out


def measure_sweeps(model, videos, context: int, temps, n: int, seed: int, places=None) -> list[dict]:
    """:func:`sequence_measures` of :func:`sweep_samples` for both sources at each temperature (JSON-able rows).

    Args:
        videos: ``uint8 [B, T, 1, H, W]``: ``context`` warm-up frames, then the true future.
        places: where and which the true digits are in the predicted frames, for ``digits in place``
            (:func:`sequence_measures`), or None.

    Returns:
        one row per source and temperature: ``{"sweep", "T", measure: [B values]}``; turn them back into
        ``{(sweep, T): {measure: array}}`` with :func:`per_sequence`.
    """
    future = videos.shape[1] - context
    rows = []
    for sweep in ("flow", "prior"):
        for t in temps:
            s = sweep_samples(model, videos[:, :context], future, t, n, seed, sweep)
            measures = sequence_measures(s, videos[:, context:], places)
            rows.append({"sweep": sweep, "T": float(t), **{k: v.tolist() for k, v in measures.items()}})
    return rows


def per_sequence(rows: list[dict]) -> dict[tuple[str, float], dict[str, np.ndarray]]:
    """The rows of :func:`measure_sweeps` as ``{(sweep, T): {measure: float64 [B]}}`` (None read as NaN)."""
    out = {}
    for row in rows:
        values = {k: np.array([math.nan if x is None else x for x in v], dtype=float) for k, v in row.items()
                  if k not in ("sweep", "T")}  # fmt: skip
        out[(row["sweep"], float(row["T"]))] = values
    return out


def emission_temperature_sweep(model, videos, protocol, temps, seed: int, device=None, fvd: bool = True) -> dict:
    """Best-of-N curves and FVD of samples at each emission temperature (prior temperature 1): Fig 9.5, Table 9.3.

    Args:
        videos: ``uint8 [2n, protocol.total_frames, 1, H, W]``: the first n are predicted, the other n are
            the second set of real clips for the real-vs-real FVD.
        protocol: context, predicted frames, samples and FVD settings.

    Returns:
        ``{str(T): {"curves": {metric: best curve}, "fvd": float | None}, "real vs real": float | None,
        "metrics": [...]}``.
    """
    from rfn.metrics import best_of_n, fvd_features, fvd_from_features, fvd_videos

    n, ctx = videos.shape[0] // 2, protocol.context_frames
    metrics = ["psnr", "ssim", "lpips"] if videos.shape[-1] >= 32 else ["psnr", "ssim"]
    kw = dict(device=device, resize=protocol.fvd_resize, batch_size=4)
    real = (
        [fvd_features(fvd_videos(x, x[:, None, ctx:], protocol)[0], **kw) for x in (videos[:n], videos[n:])]
        if fvd
        else []
    )
    out: dict = {"metrics": metrics, "real vs real": fvd_from_features(*real) if fvd else None}
    for t in temps:
        s = seeded_predict(model, videos[:n, :ctx], protocol.predicted_frames, n=protocol.n_samples, seed=seed,
                           emission_temperature=t)  # fmt: skip
        res = best_of_n(videos[:n, ctx:], s, metrics=metrics, device=device)
        fake = fvd_features(fvd_videos(videos[:n], s[:, :1], protocol)[1], **kw) if fvd else None
        out[str(t)] = {
            "curves": {m: res[m].best_curve.tolist() for m in metrics},
            "fvd": fvd_from_features(real[0], fake) if fvd else None,
        }
    return out


def sweep_figure(video: torch.Tensor, futures: dict[float, torch.Tensor], sweep: str, fig_no: str, context: int):
    """Figs 10.1 and 10.2: the true sequence above one sampled future per temperature of one source.

    Args:
        video: ``uint8 [T, 1, H, W]``, the true sequence; its first ``context`` frames start every row.
        futures: ``{temperature: uint8 [T - context, 1, H, W]}`` (:func:`sweep_samples` of that source).
        sweep: the swept source, ``"flow"`` or ``"prior"`` (the other at temperature 0).
    """
    from rfn.viz import frames_figure

    if sweep not in ("flow", "prior"):
        raise ValueError(f"sweep must be 'flow' or 'prior', got {sweep!r}")
    rows = [video] + [torch.cat([video[:context], f]) for f in futures.values()]
    labels = ["truth"] + [f"{sweep} τ = {t:g}" for t in futures]
    other = "prior" if sweep == "flow" else "flow"
    title = f"{fig_no}: {sweep} temperature τ, {other} temperature 0"
    return frames_figure(torch.stack(rows), labels, title, context=context, scale=3)


def fvd_table(sweep: dict, temps, protocol_text: str) -> pd.DataFrame:
    """Table 9.3 on this page's data: FVD per flow temperature beside the thesis's, and the real-vs-real floor.

    Args:
        sweep: :func:`emission_temperature_sweep` with FVD; protocol_text: the ``our protocol`` column.
    """
    if sweep.get("real vs real") is None:
        raise ValueError("the sweep holds no FVD (computed with fvd=False): there is no Table 9.3 to make")
    tab = pd.DataFrame(
        [{"flow temperature": "real vs real (floor)", "FVD": round(sweep["real vs real"], 1)}]
        + [{"flow temperature": t, "FVD": round(sweep[str(t)]["fvd"], 1), "thesis (Table 9.3, BAIR)":
            THESIS_TABLE_9_3.get(t, "-")} for t in temps]
    ).set_index("flow temperature")  # fmt: skip
    tab["our protocol"] = protocol_text
    return tab


def fvd_verdict(sweep: dict, temps, clips: int) -> str:
    """Markdown: the flow temperature of the lowest FVD against the real-vs-real floor and the thesis's 0.7."""
    best_t = min(temps, key=lambda t: sweep[str(t)]["fvd"])
    return (
        f"**What the numbers show.** The lowest FVD is at flow temperature {best_t:g} "
        f"({sweep[str(best_t)]['fvd']:.1f}); two sets of {clips} real clips score "
        f"{sweep['real vs real']:.1f}. The thesis found its lowest FVD at 0.7 on BAIR."
    )


def sweep_curves_figure(sweep: dict, temps, frames: list[int], train_frames: int, samples: int, title: str):
    """Fig 9.5: best-of-N curves per flow temperature, one panel per metric; the training length dotted."""
    import matplotlib.pyplot as plt

    metrics = sweep["metrics"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics) + 2.2, 3.6), squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(temps)))
    for ax, m in zip(axes[0], metrics):
        for t, colour in zip(temps, colours):
            ax.plot(frames, sweep[str(t)]["curves"][m], color=colour, label=f"flow τ = {t:g}")
        if min(frames) <= train_frames < max(frames):
            ax.axvline(train_frames + 0.5, color="k", ls=":", lw=1, label=f"training length ({train_frames})")
        ax.set(
            title=f"best-of-{samples} {m.upper()}",
            xlabel="frame t",
            ylabel=m.upper() + (" (dB)" if m == "psnr" else ""),
        )
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ci95(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite ``values`` (NaN where fewer than two)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return (float(v.mean()) if len(v) else math.nan, math.nan, math.nan)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def measures_table(per_sequence: dict[tuple[str, float], dict]) -> pd.DataFrame:
    """Long table: sweep, temperature (column ``τ``), measure, mean, 95% CI and the number of sequences that count.

    ``per_sequence``: ``{(sweep, T): sequence_measures(...)}``.
    """
    rows = []
    for (sweep, t), measures in per_sequence.items():
        for name, values in measures.items():
            mean, low, high = ci95(values)
            n = int(np.isfinite(values).sum())
            rows.append({"sweep": sweep, "τ": t, "measure": name, "mean": mean, "ci low": low, "ci high": high,
                         "sequences": n})  # fmt: skip
    return pd.DataFrame(rows)


def effect(per_sequence: dict, sweep: str, measure: str) -> np.ndarray:
    """Per-sequence change of ``measure`` from the lowest to the highest temperature of ``sweep`` ``[B]``."""
    temps = sorted(t for s, t in per_sequence if s == sweep)
    return per_sequence[(sweep, temps[-1])][measure] - per_sequence[(sweep, temps[0])][measure]


def measures_figure(table: pd.DataFrame, truth: dict[str, float], title: str):
    """One panel per measure: mean and 95% CI against the temperature, flow and prior sweeps; truth dashed."""
    import matplotlib.pyplot as plt

    names = [m for m in MEASURES if m in set(table["measure"])]
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names) + 2.4, 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for sweep, marker in (("flow", "o"), ("prior", "s")):
            d = table[(table["measure"] == name) & (table["sweep"] == sweep)].sort_values("τ")
            err = np.stack([d["mean"] - d["ci low"], d["ci high"] - d["mean"]])
            ax.errorbar(d["τ"], d["mean"], yerr=np.nan_to_num(err), marker=marker, capsize=3,
                        label=f"{sweep} temperature swept (the other 0)")  # fmt: skip
        if name in truth:
            ax.axhline(truth[name], color="k", ls="--", lw=1, label="true frames")
        ax.set(title=name, xlabel="temperature τ", ylabel=MEASURES[name])
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    axes[0, -1].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _interval(values: np.ndarray, unit: str, digits: int) -> str:
    mean, low, high = ci95(values)
    return f"{mean:+.{digits}f} {unit} (95% CI {low:+.{digits}f} to {high:+.{digits}f})"


def _compare(d: np.ndarray) -> str:
    """Sign of a paired difference by its 95% interval."""
    _, low, high = ci95(d)
    if not math.isfinite(low):
        return "cannot be told apart (too few sequences)"
    return "larger" if low > 0 else "smaller" if high < 0 else "not distinguishable"


def verdict(per_sequence: dict, temps: list[float]) -> str:
    """Markdown: the effect of each temperature on motion and fine detail, and how it compares with the thesis."""
    lo, hi = min(temps), max(temps)
    m_flow, m_prior = effect(per_sequence, "flow", "motion spread"), effect(per_sequence, "prior", "motion spread")
    n_flow, n_prior = effect(per_sequence, "flow", "fine detail"), effect(per_sequence, "prior", "fine detail")
    motion_cmp, noise_cmp = _compare(m_prior - m_flow), _compare(n_flow - n_prior)
    text = (
        f"**What the numbers show.** From $\\tau = {lo:g}$ to $\\tau = {hi:g}$, the prior temperature changes the "
        f"motion spread by {_interval(m_prior, 'px', 2)} and the flow temperature by {_interval(m_flow, 'px', 2)}; the "
        f"flow temperature changes the fine detail by {_interval(n_flow, 'gray levels', 2)} and the prior "
        f"temperature by {_interval(n_prior, 'gray levels', 2)}. "
        f"The prior's effect on the motion is {motion_cmp} than the flow's, and the flow's effect on the fine detail "
        f"is {noise_cmp} than the prior's (paired over sequences, 95% intervals). "
    )
    agree = motion_cmp == "larger" and noise_cmp == "larger"
    if agree and _compare(m_flow) == "not distinguishable":
        return text + "This is the thesis's reading: the prior moves the digits, the flow changes their appearance."
    if agree:
        return text + (
            "This agrees with the thesis on which temperature matters more for each, but the flow "
            "temperature also spreads the motion, which the thesis's reading (the flow changes only the appearance) "
            "does not allow."
        )
    return text + (
        "This disagrees with the thesis's reading that the prior temperature changes the motion and the flow "
        "temperature the appearance."
    )


def temperature_grid(model, context: torch.Tensor, n_future: int, flow_temps, prior_temps, seed: int) -> dict:
    """Futures of one sequence for every pair of emission and prior temperature, for the page's explorer.

    Args:
        context: ``uint8 [1, Tc, C, H, W]``, one sequence's context frames (warm-up on the posterior means).

    Returns:
        ``{(flow, prior): uint8 [n_future, C, H, W]}``: every cell drawn with the same seed, so two cells
        differ only by the temperatures that scale the same standard normal draws.
    """
    if context.dim() != 5 or context.shape[0] != 1:
        raise ValueError(f"context must be one sequence, uint8 [1, Tc, C, H, W]; got shape {tuple(context.shape)}")
    out = {}
    for f in flow_temps:
        for p in prior_temps:
            s = seeded_predict(model, context, n_future, n=1, seed=seed, emission_temperature=float(f),
                               prior_temperature=float(p), context_temperature=0.0)  # fmt: skip
            out[(float(f), float(p))] = s[0, 0]
    return out


def measures_key(run, settings: dict, seed: int, read_digits: bool) -> dict:
    """What notebook 06's cached measures (:func:`measure_sweeps`) depend on."""
    return {
        "checkpoint": run.checkpoint_id(),
        "settings": settings,
        "seed": seed,
        "digits": read_digits and "in place",
        "measures": sorted(MEASURES),  # numbers cached before a measure was added or renamed are recomputed
    }


def sweep_key(run, protocol, temps, settings: dict, seed: int) -> dict:
    """What notebook 06's cached flow-temperature sweep (:func:`emission_temperature_sweep`) depends on."""
    return {"checkpoint": run.checkpoint_id(), "protocol": protocol.cache_key(), "temperatures": temps,
            "fvd": settings["fvd"], "seed": seed, "best_of_n": "per frame"}  # fmt: skip


def sweep_protocol(profile: str, settings: dict):
    """Notebook 06's flow-temperature protocol: the thesis's Table 9.3 setting (5 warm-up frames, 13 predicted)
    on held-out SM-MNIST, with the profile's number of sequences and samples."""
    from rfn.metrics import get_protocol

    return get_protocol("smmnist-quick").replace(
        name=f"smmnist-temperature-{profile}", context_frames=5, total_frames=18, n_samples=settings["fvd_samples"],
        n_test_sequences=settings["fvd_sequences"],
        source="thesis Table 9.3 / Fig 9.5 protocol on SM-MNIST held-out sequences (test digits, data seed 1)",
    )  # fmt: skip

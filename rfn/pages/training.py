"""Notebook 04, training the RFN and its baselines: hyperparameter tables, learning curves, reconstructions.

The four video runs (``rfn``, ``srnn``, ``vrnn``, ``deterministic``) are trained or loaded by
:func:`rfn.runs.trained_model`; this module reads their presets into the thesis's tables
A.2/A.3, draws their ``metrics.csv`` curves, and shows posterior reconstructions next to
one-step prior predictions with the share of digits each shows at their true place
(:mod:`rfn.metrics.placed_digits`).

Example:
    >>> row = settings_of(get_preset("quick-smmnist"))
    >>> row["frame size"], row["levels L"]
    ('32x32', 3)
"""

from __future__ import annotations

import pandas as pd
import torch

from rfn import viz
from rfn.metrics.digits import load_digit_classifier
from rfn.metrics.placed_digits import placed_digit_hits, true_places
from rfn.models.registry import MODELS, config_from_dict
from rfn.presets import get_preset
from rfn.runs import preset_for

__all__ = [
    "LABELS",
    "THESIS_A2",
    "THESIS_A3",
    "curves_figure",
    "digits_in_place_sentence",
    "first_predictions_figure",
    "hyper_table",
    "identity_readable",
    "last_bounds_sentence",
    "reconstructions_figure",
    "runs_table",
    "settings_of",
]

LABELS = {"rfn": "RFN", "srnn": "SRNN", "vrnn": "VRNN", "deterministic": "ConvLSTM (deterministic)"}

THESIS_A2 = {  # thesis Table A.2 (RFN), SM-MNIST column
    "frame size": "64x64",
    "frames per sequence": 10,
    "levels L": 4,
    "flow steps per level K": 10,
    "coupling channels": 256,
    "base network channels": 512,
    "z channels": 3,
    "h channels": 256,
    "a channels (smoothing)": 256,
    "batch size": 35,
    "learning rate": 3e-4,
    "steps": "300k",
    "lr decay": "linear to 0 over the last 150k",
    "beta": "1e-6 -> 1 (warm-up length not given)",
    "smoothing / RES_q / overshooting": "on / off / O=1",
}
THESIS_A3 = {  # thesis Table A.3 (SRNN/VRNN), SM-MNIST column
    "frame size": "64x64",
    "frames per sequence": 10,
    "levels L": 4,
    "z channels": 15,
    "h channels": 256,
    "a channels (smoothing)": "256 (SRNN only)",
    "output distribution": "discretised mixture of logistics",
    "batch size": 100,
    "learning rate": 3e-4,
    "steps": "300k (or until no improvement for 20 epochs)",
    "lr decay": "linear to 0 over the last 150k",
    "beta": "1e-6 -> 1",
    "smoothing / RES_q / overshooting": "SRNN on, VRNN off / off / O=1",
}


def settings_of(preset) -> dict:
    """The Table A.2/A.3 rows of a preset, read from its full model and training configs."""
    cfg = config_from_dict(MODELS[preset.model][0], preset.model_config)
    tc = preset.train_config()
    h, w = cfg.image_size
    decay = tc.decay_start if tc.decay_start is not None else tc.steps // 2
    return {
        "frame size": f"{h}x{w}",
        "frames per sequence": preset.data.seq_len,
        "levels L": cfg.levels,
        "flow steps per level K": getattr(cfg, "flow_steps", "-"),
        "coupling channels": getattr(cfg, "flow_hidden", "-"),
        "base network channels": getattr(cfg, "base_hidden", "-"),
        "z channels": cfg.z_channels,
        "h channels": cfg.h_channels,
        "a channels (smoothing)": cfg.a_channels if cfg.smoothing else "-",
        "output distribution": getattr(cfg, "likelihood", "conditional Glow"),
        "batch size": tc.batch_size,
        "learning rate": tc.lr,
        "steps": tc.steps,
        "lr decay": f"linear to 0 from step {decay}",
        "beta": f"{tc.beta_start:g} -> {tc.beta_end:g} over {tc.beta_warmup_steps} steps",
        "smoothing / RES_q / overshooting": f"{'on' if cfg.smoothing else 'off'} / {'on' if cfg.res_q else 'off'} "
        f"/ O={cfg.overshooting}",
    }


def hyper_table(thesis: dict, kinds: list[str], profile: str) -> pd.DataFrame:
    """The thesis's column beside our thesis preset and (unless ``profile`` is thesis) this profile's preset."""
    cols = {"thesis": pd.Series(thesis)}
    for kind in kinds:
        cols[f"{LABELS[kind]} thesis"] = pd.Series(settings_of(get_preset(preset_for(kind, "thesis"))))
        if profile != "thesis":
            cols[f"{LABELS[kind]} {profile}"] = pd.Series(settings_of(get_preset(preset_for(kind, profile))))
    table = pd.DataFrame(cols).loc[list(thesis)].fillna("-").astype(str)
    table.index.name = "setting"
    return table


def curves_figure(curves: dict[str, pd.DataFrame], title: str):
    """Four panels from each run's ``metrics.csv``: bound (train and validation), KL, beta, learning rate.

    ``curves``: kind -> DataFrame with ``step``, ``bpp``, ``val_bpp``, ``kl_bpp``, ``beta``, ``lr``.
    One legend outside the panels.
    """
    import matplotlib.pyplot as plt

    colours = dict(zip(curves, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    colours["deterministic"] = "0.45"  # gray: the baseline without a latent variable
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    for kind, df in curves.items():
        c, label = colours[kind], LABELS.get(kind, kind)
        axes[0, 0].plot(df["step"], df["bpp"], color=c, label=f"{label} (train)")
        val = df.dropna(subset=["val_bpp"])
        axes[0, 0].plot(val["step"], val["val_bpp"], "o--", color=c, ms=4, lw=1, label=f"{label} (validation)")
        if kind != "deterministic":
            axes[0, 1].plot(df["step"], df["kl_bpp"], color=c)
        axes[1, 0].plot(df["step"], df["beta"], color=c)
        axes[1, 1].plot(df["step"], df["lr"], color=c)
    axes[0, 0].set(title="negative ELBO (bits per pixel)", xlabel="training step", ylabel="bpp", yscale="log")
    axes[0, 1].set(title="KL term (bits per pixel)", xlabel="training step", ylabel="bpp")
    axes[1, 0].set(title=r"KL weight $\beta$ (warm-up from $10^{-6}$)", xlabel="training step", ylabel=r"$\beta$")
    axes[1, 1].set(title="learning rate", xlabel="training step", ylabel="lr")
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.93))
    return fig


def last_bounds_sentence(curves: dict[str, pd.DataFrame]) -> str:
    """The sentence under the learning curves: each run's last validation bound, lowest first.

    ``curves``: run kind -> its ``metrics.csv`` (with a ``val_bpp`` column).

    Raises:
        ValueError: a run logged no validation bound.

    Example:
        >>> df = lambda v: pd.DataFrame({"val_bpp": [float("nan"), v]})
        >>> last_bounds_sentence({"rfn": df(1.2), "srnn": df(1.1)}).split(" bits")[0]
        'Last validation bound, lowest first: SRNN 1.100, RFN 1.200'
    """
    last = {}
    for kind, df in curves.items():
        val = df.dropna(subset=["val_bpp"])["val_bpp"] if "val_bpp" in df else pd.Series(dtype=float)
        if val.empty:
            raise ValueError(f"the {kind} run logged no validation bound (val_bpp)")
        last[LABELS.get(kind, kind)] = val.iloc[-1]
    order = sorted(last, key=last.get)
    return (
        "Last validation bound, lowest first: "
        + ", ".join(f"{name} {last[name]:.3f}" for name in order)
        + " bits per pixel. A lower bound is a better likelihood, not necessarily better-looking samples."
    )


def identity_readable(frames: torch.Tensor, num_digits: int) -> bool:
    """Whether the committed digit reader reads these SM-MNIST frames (its frame size and digit count)."""
    cfg = load_digit_classifier().config
    return frames.shape[-1] == frames.shape[-2] == cfg.image_size and num_digits == cfg.num_digits


@torch.no_grad()
def reconstructions_figure(models: dict[str, torch.nn.Module], x: torch.Tensor, dataset=None, title: str = ""):
    """Per test sequence: the true frames 2..T, then each model's posterior reconstruction and prior prediction.

    Args:
        models: kind -> a latent-variable video model (``reconstruct_and_predict``).
        x: ``uint8 [B, T, 1, H, W]`` test sequences (items ``0..B-1`` of ``dataset``).
        dataset: the SM-MNIST test set; when given and the committed digit reader reads its frames,
            every row label carries the share of the true digits read at their true place
            (:func:`rfn.metrics.placed_digits.placed_digit_hits`).

    Returns:
        ``(figure, stats)``: stats is a DataFrame of the KL, NLL and bound per model and, with
        ``dataset``, the share of digits in place of the truth, the reconstructions and the predictions.
    """
    import matplotlib.pyplot as plt

    outs = {kind: model.reconstruct_and_predict(x) for kind, model in models.items()}
    rows = {"truth": x[:, 1:].cpu()}
    for kind, out in outs.items():
        rows[f"{LABELS[kind]} posterior"] = out["reconstruction"].cpu()
        rows[f"{LABELS[kind]} prior"] = out["prediction"].cpu()
    identity = {}
    if dataset is not None:  # frames 2..T read at the digits' true places in those frames
        places = true_places(dataset, [dataset.trajectory(i) for i in range(len(x))], 1, x.shape[1] - 1)
        identity = {name: placed_digit_hits(v[:, None], *places).mean((1, 3)) for name, v in rows.items()}
    B = len(x)
    # each panel is a grid of len(rows) x (T-1) square frames about 3.8 inches wide (after the row labels)
    height = 3.8 * len(rows) / max(x.shape[1] - 1, 1)
    fig, axes = plt.subplots(1, B, figsize=(4.4 * B + 1, height + 1.0), squeeze=False)
    for j in range(B):
        names = [f"{n} ({identity[n][j].mean():.0%} digits in place)" if identity else n for n in rows]
        viz.show_video_grid(
            axes[0, j],
            torch.stack([v[j] for v in rows.values()]),
            names if j == 0 else [""] * len(rows),
            first_frame=1,
            scale=1,
            pad=1,
        )
        axes[0, j].set_title(f"test sequence {j}", fontsize=9)
        if j and identity:
            axes[0, j].set_yticks(axes[0, j].get_yticks(), [f"{identity[n][j].mean():.0%}" for n in rows])
    fig.suptitle(title)
    fig.tight_layout()
    stats = []
    for kind, out in outs.items():
        row = {
            "model": LABELS[kind],
            "KL (bpp) per frame": out["kl"].mean().item(),
            "NLL (bpp) per frame": out["nll"].mean().item(),
            "bound (bpp)": (out["kl"] + out["nll"]).mean().item(),
        }
        if identity:
            row["digits in place: truth"] = identity["truth"].mean().item()
            row["digits in place: posterior"] = identity[f"{LABELS[kind]} posterior"].mean().item()
            row["digits in place: prior"] = identity[f"{LABELS[kind]} prior"].mean().item()
        stats.append(row)
    return fig, pd.DataFrame(stats).set_index("model")


def digits_in_place_sentence(stats: pd.DataFrame | None, frames: torch.Tensor, num_digits: int) -> str:
    """The sentence under the reconstruction table: the share of digits the committed reader finds in place.

    Args:
        stats: the table of :func:`reconstructions_figure` (with its ``digits in place: ...`` columns), or
            ``None`` where the reader does not read these frames (:func:`identity_readable`).
        frames: the shown test sequences ``uint8 [N, T, C, H, W]``.
        num_digits: digits per SM-MNIST frame.
    """
    size = frames.shape[-1]
    if stats is None:
        return (
            f"Digits in place are skipped at this profile: its frames are {size}×{size} with "
            f"{num_digits} digit(s), and the committed reader reads 32×32 frames with two digits."
        )
    kept = stats["digits in place: truth"].iloc[0]
    post, prior = stats["digits in place: posterior"], stats["digits in place: prior"]
    return (
        f"The reader finds {kept:.0%} of the true digits at their place in the true frames. Reconstructions keep "
        f"{post.min():.0%}-{post.max():.0%} of them in place and one-step predictions {prior.min():.0%}-"
        f"{prior.max():.0%} (over {len(frames)} sequences and {frames.shape[1] - 1} frames each, a small sample: "
        "notebook 05 reads 64 sequences). Where both are far below the truth, the model has learnt roughly "
        "where the digits are, not yet what they are."
    )


def first_predictions_figure(both: torch.Tensor, context: int, train_len: int):
    """The true sequences above the RFN's predictions of them: ``both`` is ``uint8 [2N, T, C, H, W]``.

    The first ``N`` rows are the truth, the last ``N`` the RFN's frames (``context`` true warm-up
    frames, then its own); ``train_len`` (the training sequence length) goes into the title.

    Raises:
        ValueError: ``both`` has an odd number of rows.
    """
    import matplotlib.pyplot as plt

    if len(both) % 2:
        raise ValueError(f"expected truth rows then as many RFN rows, got {len(both)} rows")
    n, frames = len(both) // 2, both.shape[1]
    fig, ax = plt.subplots(figsize=(min(16, 0.8 * frames + 2.5), 0.75 * 2 * n + 1.2))
    names = [f"seq {i}: truth" for i in range(n)] + [f"seq {i}: RFN" for i in range(n)]
    viz.show_video_grid(ax, both, names, context=context)
    ax.set_title(f"RFN predictions after {context} warm-up frames (trained on {train_len}-frame sequences)")
    return fig


def runs_table(
    curves: dict[str, pd.DataFrame], models: dict, profile: str, wall: dict[str, float], device
) -> pd.DataFrame:
    """One row per run: preset, parameters, steps, batch, last train and validation bound, speed, wall time."""
    rows = []
    for kind, df in curves.items():
        tc = get_preset(preset_for(kind, profile)).train_config()
        last_val = df.dropna(subset=["val_bpp"]).iloc[-1]
        rows.append(
            {
                "model": LABELS[kind],
                "preset": preset_for(kind, profile),
                "parameters (M)": round(sum(p.numel() for p in models[kind].parameters()) / 1e6, 3),
                "steps": int(df["step"].iloc[-1]),
                "batch": tc.batch_size,
                "train bpp (last log)": round(float(df["bpp"].iloc[-1]), 4),
                "validation bpp": round(float(last_val["val_bpp"]), 4),
                "s/step (median)": round(tc.batch_size / df["seq_per_s"].median(), 3),
                "this page's wall time (s)": round(wall[kind], 1),
                "device": str(device),
            }
        )
    return pd.DataFrame(rows).set_index("model")

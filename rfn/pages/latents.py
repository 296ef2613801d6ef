"""Notebook 03, why stochastic latents: the blur of a deterministic predictor, the sinusoid ablation.

SM-MNIST part: the futures that share a test sequence's past (the generator's own bounce
rule, :mod:`rfn.data.motion`), their mean (the best a deterministic predictor can do under
squared error), a sharpness measure and the figures. Sinusoid part: the book's runs
``sinusoid-<variant>`` (:data:`rfn.presets.small.SINUSOID_VARIANTS`), their validation
bound, the thesis's Table A.1 beside ours, and the predictive bands of Fig A.2.

Example:
    >>> import torch
    >>> frames = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    >>> frames[0, 0, 0, 0] = 255; frames[1, 0, 0, :2] = 100; frames[1, 0, 1, 0] = 255
    >>> [round(v, 3) for v in sharpness(frames).tolist()]  # share of brightness above half intensity
    [1.0, 0.56]
    >>> first_bounces(torch.tensor([[0, 0, 1, 0], [1, 0, 0, 0]], dtype=torch.bool), n_context=1)
    [1, 3]
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from rfn import viz
from rfn.checkpoint import load_checkpoint
from rfn.data import Trajectory
from rfn.models.registry import load_model
from rfn.presets import get_preset
from rfn.runs import preset_for, run_dir, run_file, source_profile, trained_model

__all__ = [
    "THESIS_A1",
    "blur_figure",
    "blur_strip_figure",
    "bouncing_examples",
    "finished_model",
    "first_bounces",
    "ideal_predictions",
    "predictors_strip_figure",
    "save_blur_gif",
    "sharpness",
    "sharpness_table",
    "sharpness_verdict",
    "sinusoid_fits_figure",
    "sinusoid_protocol",
    "sinusoid_run",
    "sinusoid_sequence_figure",
    "sinusoid_table",
    "sinusoid_training_figure",
    "styled_sinusoid_table",
]

#: thesis Table A.1: (model, smoothing, RES_q, learned init) -> validation loss
THESIS_A1 = {
    ("VRNN", False, False, False): -1902.61, ("VRNN", False, False, True): -1857.31,
    ("VRNN", True, False, False): -1947.30, ("VRNN", True, False, True): -1953.76,
    ("VRNN", False, True, False): -1880.57, ("VRNN", False, True, True): -1875.43,
    ("VRNN", True, True, False): -1945.33, ("VRNN", True, True, True): -1913.03,
    ("SRNN", False, False, False): -1866.13, ("SRNN", False, False, True): -1827.88,
    ("SRNN", True, False, False): -1902.55, ("SRNN", True, False, True): -1960.56,
    ("SRNN", False, True, False): -1883.76, ("SRNN", False, True, True): -1880.80,
    ("SRNN", True, True, False): -1940.47, ("SRNN", True, True, True): -1943.24,
}  # fmt: skip
SWITCHES = ("smoothing", "RES_q", "learned init")


def finished_model(kind: str, profile: str, seed: int, root: str | os.PathLike, device=None):
    """The model of the book's finished run of ``kind`` (notebook 04 trains the video runs), else None; never trains."""
    path = run_file(kind, profile, "last.pt", seed, root)
    steps = get_preset(preset_for(kind, profile)).train["steps"]
    committed = source_profile(kind, profile) == "reference"  # the committed model, at whatever step it is
    if path.is_file() and (committed or int(load_checkpoint(path)["step"]) >= steps):
        return load_model(path, device=device)
    return None


def _possible_futures(dataset, traj: Trajectory, n_context: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` futures sharing the first ``n_context`` frames of ``traj``: uint8 ``[n, T, H, W]``.

    After the context, every step adds the velocity; a digit crossing a wall is put back on it
    and draws a new velocity (normal component 1..4 pointing inside, the other uniform in -4..4).
    """
    limit = dataset.image_size - dataset.digit_size
    T = len(traj.positions)
    pos = np.repeat(traj.positions[n_context - 1][None], n, 0)  # [n, D, 2], (y, x)
    vel = np.repeat(traj.velocities[n_context - 1][None], n, 0)
    paths = np.repeat(traj.positions[None], n, 0).copy()  # [n, T, D, 2]; frames >= n_context are replaced
    for t in range(n_context, T):
        pos = pos + vel
        low, high = pos < 0, pos > limit
        pos = np.clip(pos, 0, limit)
        hit = low | high
        normal = rng.integers(1, 5, size=pos.shape) * np.where(low, 1, -1)
        other = rng.integers(-4, 5, size=pos.shape)
        vel = np.where(hit.any(-1, keepdims=True), np.where(hit, normal, other), vel)
        paths[:, t] = pos
    return np.stack([dataset.render(replace(traj, positions=p)) for p in paths])


def ideal_predictions(dataset, trajectories, n_context: int, n_futures: int, seed: int = 0) -> torch.Tensor:
    """The mean of ``n_futures`` possible futures of each trajectory, rounded: ``uint8 [N, T, 1, H, W]``.

    ``dataset`` is an SM-MNIST data set made with ``return_events=True`` (it renders the paths).
    """
    rng = np.random.default_rng(seed)
    means = [
        _possible_futures(dataset, tr, n_context, n_futures, rng).astype(np.float32).mean(0) for tr in trajectories
    ]
    return torch.from_numpy(np.stack(means)).round().to(torch.uint8)[:, :, None]


def first_bounces(events: torch.Tensor, n_context: int) -> list[int]:
    """Per sequence, the predicted-frame index of the first wall hit after the context (``n_future`` if none).

    ``events``: bool ``[N, T]``, a digit hit a wall at that frame.
    """
    n_future = events.shape[1] - n_context
    return [int(np.flatnonzero(e[n_context:].numpy())[0]) if e[n_context:].any() else n_future for e in events]


def sharpness(frames: torch.Tensor) -> torch.Tensor:
    """Share of a frame's brightness in pixels above half intensity: uint8 ``[..., C, H, W]`` -> ``[...]``."""
    f = frames.float().flatten(-3)
    return (f * (f > 127)).sum(-1) / f.sum(-1).clamp(min=1)


def blur_strip_figure(rows: torch.Tensor, names: list[str], events: torch.Tensor, n_context: int, title: str):
    """Rows of videos ``uint8 [R, T, 1, H, W]`` (green context, red predicted), a ▼ above each wall hit.

    ``events``: bool ``[R, T]``, the wall hits of each row's true sequence (drawn for rows whose name
    ends in ``truth``).
    """
    import matplotlib.pyplot as plt

    T = rows.shape[1]
    fig, ax = plt.subplots(figsize=(min(16, 0.75 * T + 2.5), 0.75 * len(rows) + 1.0))
    viz.show_video_grid(
        ax,
        rows,
        names,
        context=n_context,
        xlabel="frame (green: context given to the predictor, red: predicted); ▼ a digit hits a wall",
    )
    pad, scale, border = 2, 2, 1
    cell = rows.shape[-1] * scale + 2 * border + pad
    for r, name in enumerate(names):
        if name.endswith("truth"):
            for t in np.flatnonzero(events[r].numpy()):
                ax.plot(
                    pad + t * cell + cell / 2 - pad / 2,
                    pad + r * cell - 0.5,
                    marker="v",
                    color="red",
                    ms=6,
                    clip_on=False,
                )
    ax.set_title(title)
    return fig


def bouncing_examples(first_bounce: list[int], n: int = 3, earliest: int = 2, latest: int = 5) -> list[int]:
    """The sequences to show: the first ``n`` whose first bounce comes ``earliest..latest`` frames into the prediction.

    Sequences without such a bounce fill up the list, in order, when there are fewer than ``n``.

    Example:
        >>> bouncing_examples([0, 3, 9, 2, 4], n=3)
        [1, 3, 4]
        >>> bouncing_examples([0, 9, 3], n=2)
        [2, 0]
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return sorted(range(len(first_bounce)), key=lambda i: (not earliest <= first_bounce[i] <= latest, i))[:n]


def predictors_strip_figure(
    predictors: dict[str, torch.Tensor], events: torch.Tensor, show: list[int], n_context: int, title: str
):
    """Fig 2.2: for each sequence in ``show``, one row per predictor (:func:`blur_strip_figure`).

    Args:
        predictors: name -> videos ``uint8 [N, T, 1, H, W]``, the truth first (its name ``truth``).
        events: bool ``[N, T]``, the wall hits of the true sequences.
        show: indices of the sequences to draw (:func:`bouncing_examples`).
    """
    rows = torch.stack([v[i] for i in show for v in predictors.values()])
    names = [f"seq {i}: {name}" for i in show for name in predictors]
    return blur_strip_figure(rows, names, events[[i for i in show for _ in predictors]], n_context, title)


def save_blur_gif(rec, videos: list[torch.Tensor], show: list[int], n_context: int, name: str):
    """Animate the sequences ``show`` of each of ``videos`` (``uint8 [N, T, 1, H, W]``), grouped by sequence.

    One group of ``len(videos)`` side by side per sequence, written as ``name`` through the page's
    :class:`rfn.book.figures.FigureRecorder` and recorded. Returns the file's path.

    Raises:
        ValueError: ``videos`` is empty or its tensors differ in shape.
    """
    if not videos or any(v.shape != videos[0].shape for v in videos):
        raise ValueError("expected one or more video tensors of one shape")
    rows = torch.stack([torch.stack([v[i] for v in videos]) for i in show])
    path = viz.save_gif(rec.path(name), rows.flatten(0, 1), fps=3, context=n_context, scale=2, ncols=len(videos))
    return rec.record(path)


def blur_figure(predictors: dict[str, torch.Tensor], n_context: int, first_bounce: list[int], title: str):
    """Left: mean sharpness aligned on the first bounce; right: squared error against the truth per predicted frame.

    ``predictors``: name -> ``uint8 [N, T, 1, H, W]``, the first one the truth.
    """
    import matplotlib.pyplot as plt

    truth = next(iter(predictors.values()))
    n_seq, T = truth.shape[:2]
    n_fut = T - n_context
    offsets = np.arange(-n_fut + 1, n_fut)
    fig, axes = plt.subplots(1, 2, figsize=(14, 3.9))
    for j, (name, vids) in enumerate(predictors.items()):
        sharp = sharpness(vids[:, n_context:]).numpy()  # [N, n_fut]
        sums, counts = np.zeros(len(offsets)), np.zeros(len(offsets))
        for i in range(n_seq):
            if first_bounce[i] < n_fut:
                idx = np.arange(n_fut) - first_bounce[i] + n_fut - 1
                sums[idx] += sharp[i]
                counts[idx] += 1
        keep = counts >= max(3, n_seq // 10)  # offsets seen in enough sequences
        axes[0].plot(
            offsets[keep], sums[keep] / np.maximum(counts[keep], 1), marker="o", ms=3, color=f"C{j}", label=name
        )
        if j:
            mse = ((vids[:, n_context:].float() - truth[:, n_context:].float()) / 255).pow(2).flatten(2).mean(-1)
            axes[1].plot(np.arange(n_context + 1, T + 1), mse.mean(0), marker="o", ms=3, color=f"C{j}", label=name)
    axes[0].axvline(0, color="red", lw=1, ls="--")
    axes[0].set(
        title="sharpness around the first bounce",
        xlabel="frames after the first bounce",
        ylabel="sharpness",
        ylim=(0, 1),
    )
    axes[1].set(title="error against the truth", xlabel="frame t", ylabel="mean squared error (pixels in [0, 1])")
    for ax in axes:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.9))
    return fig


def sharpness_table(predictors: dict[str, torch.Tensor], n_context: int, first_bounce: list[int]) -> pd.DataFrame:
    """Mean sharpness of each predictor's frames before and from the first bounce on."""
    after = (
        torch.arange(next(iter(predictors.values())).shape[1] - n_context)[None] >= torch.tensor(first_bounce)[:, None]
    )
    rows = []
    for name, vids in predictors.items():
        sharp = sharpness(vids[:, n_context:])
        rows.append(
            {
                "frames": name,
                "sharpness before the first bounce": sharp[~after].mean().item(),
                "sharpness from the first bounce on": sharp[after].mean().item(),
            }
        )
    return pd.DataFrame(rows).set_index("frames")


def sharpness_verdict(sharp: pd.DataFrame, stochastic: list[str]) -> str:
    """The paragraph under the sharpness table: how much sharpness the mean of the futures loses at the bounce.

    Args:
        sharp: :func:`sharpness_table` (the truth first, the mean of the futures second).
        stochastic: names of the stochastic models whose samples are shown (may be empty).
    """
    if len(sharp) < 2:
        raise ValueError(f"expected the truth and the mean of the futures in the table, got {len(sharp)} rows")
    ideal_drop = sharp.iloc[1, 0] - sharp.iloc[1, 1]
    text = (
        f"Measured here: the mean of the futures loses {ideal_drop:.2f} of its sharpness from the first bounce on "
        f"({sharp.iloc[1, 0]:.2f} → {sharp.iloc[1, 1]:.2f}), the truth {sharp.iloc[0, 0] - sharp.iloc[0, 1]:+.2f}."
    )
    if stochastic:
        return text + (
            f" Notebook 04 had already trained {' and '.join(stochastic)} at this profile, so one sample of each is "
            "shown too: a sample commits to one future, and when it picks another velocity than the truth its "
            "squared error is larger than the blur's. Squared error rewards hedging, which is why the thesis "
            "scores stochastic models by the best of many samples (notebook 05)."
        )
    return text + (
        " Samples of the SRNN and the RFN appear here once notebook 04 has trained them at this profile "
        "(this page runs before it in the book and does not train them)."
    )


def sinusoid_sequence_figure(noisy: torch.Tensor, clean: torch.Tensor, step: float, title: str):
    """One sinusoid sequence ``[T, P]``: the noisy points, the clean sine, grey lines between patches."""
    import matplotlib.pyplot as plt

    P = noisy.shape[1]
    x = np.arange(noisy.numel()) * step
    fig, ax = plt.subplots(figsize=(13, 2.9))
    ax.plot(x, noisy.flatten(), ".", ms=1.5, color="0.45", label="data: sine + noise")
    ax.plot(x, clean.flatten(), color="C0", lw=1, label="sine without noise")
    for t in range(1, noisy.shape[0]):
        ax.axvline(t * P * step, color="0.85", lw=0.6, zorder=0)
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return fig


@torch.no_grad()
def _validation_loss(model, sequences: torch.Tensor, noise_seed: int = 4321) -> dict[str, float]:
    model.eval()
    dev = sequences.device
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(noise_seed)
        out = model.loss(sequences)
    return {"neg_elbo": -out["elbo"].item(), "nll": out["nll"].item(), "kl": out["kl"].item()}


def sinusoid_run(kind: str, profile: str, seed: int, root: str | os.PathLike, sequences: torch.Tensor):
    """The book's run of a sinusoid variant (trained if missing), its training log and validation bound.

    Returns:
        ``(model, {"step", "train_neg_elbo", "seconds", "val": {"neg_elbo", "nll", "kl"}})``; the
        validation numbers are the mean per sequence of ``sequences [N, T, P]``, one posterior draw.
    """
    model = trained_model(kind, profile, seed, root=root, device=sequences.device)
    folder = run_dir(kind, profile, seed, root=root)
    rows = pd.read_csv(folder / "metrics.csv")
    timing = folder / "train_time.json"
    seconds = json.loads(timing.read_text())["wall_s"] if timing.is_file() else float("nan")
    log = {"step": rows["step"].tolist(), "train_neg_elbo": (-rows["elbo"]).tolist(), "seconds": seconds}
    return model, {**log, "val": _validation_loss(model, sequences)}


def _flags(key: tuple) -> str:
    return " + ".join(n for n, on in zip(SWITCHES, key[1:]) if on) or "no switches"


def sinusoid_table(logs: dict[tuple, dict]) -> pd.DataFrame:
    """Table A.1: the thesis's loss beside our validation -ELBO, NLL and KL, with ranks within each model.

    ``logs``: ``(model, smoothing, RES_q, learned init)`` -> the log of :func:`sinusoid_run`.
    """
    rows = []
    for key, thesis in THESIS_A1.items():
        val = logs[key]["val"] if key in logs else None
        rows.append(
            {
                "model": key[0],
                **{n: "✓" if on else "" for n, on in zip(SWITCHES, key[1:])},
                "thesis loss": thesis,
                "ours: -ELBO (nats/seq)": val["neg_elbo"] if val else np.nan,
                "ours: NLL": val["nll"] if val else np.nan,
                "ours: KL": val["kl"] if val else np.nan,
                "note": "" if val else "not run: a VRNN has no smoothing here",
            }
        )
    table = pd.DataFrame(rows)
    table["ours: rank within model"] = table.groupby("model")["ours: -ELBO (nats/seq)"].rank().astype("Int64")
    table["thesis: rank within model"] = table.groupby("model")["thesis loss"].rank().astype("Int64")
    return table


def styled_sinusoid_table(table: pd.DataFrame):
    """:func:`sinusoid_table` for display: losses to one decimal, ranks as integers, ``-`` where missing."""
    return (
        table.style.format({c: "{:.1f}" for c in table.columns if c.startswith(("ours:", "thesis loss"))}, na_rep="-")
        .format({"ours: rank within model": "{}", "thesis: rank within model": "{}"}, na_rep="-")
        .hide(axis="index")
    )


def sinusoid_protocol(profile: str, n_sequences: int, points: int, oracle: float, device_type: str) -> str:
    """The line under Table A.1 saying what our numbers measure and the compute behind them.

    Args:
        profile: the page's profile (its sinusoid presets give steps, batch size, ``h_dim``, ``z_dim``).
        n_sequences: validation sequences behind every number.
        points: points per patch.
        oracle: the oracle floor in nats per sequence.
        device_type: ``"cuda"`` or ``"cpu"``.
    """
    from rfn.presets.small import SINUSOID_VARIANTS

    preset = get_preset(preset_for(f"sinusoid-{next(iter(SINUSOID_VARIANTS))}", profile))
    train, base = preset.train, preset.model_config
    return (
        f"protocol (ours): {n_sequences} validation sequences of 30 patches × {points} points, 29 modelled; one "
        f"posterior draw; lower is better; oracle floor {oracle:.0f}. Compute: {profile} profile, {train['steps']} "
        f"steps × batch {train['batch_size']} on {'GPU' if device_type == 'cuda' else 'CPU'}, h {base['h_dim']}, "
        f"z {base['z_dim']}. Thesis: validation loss of its setting (h 100, z 15, trained until the loss plateaued)."
    )


def sinusoid_training_figure(logs: dict[tuple, dict], oracle: float):
    """Training -ELBO of every variant, one panel per model, the oracle floor dashed; legends outside."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 3.9), sharey=True)
    for ax, m in zip(axes, ("SRNN", "VRNN")):
        for j, key in enumerate(k for k in logs if k[0] == m):
            ax.plot(logs[key]["step"], logs[key]["train_neg_elbo"], lw=0.9, color=f"C{j}", label=_flags(key))
        ax.axhline(oracle, color="k", ls=":", lw=1, label="oracle floor")
        ax.set(title=m, xlabel="training step", ylabel="-ELBO of a training batch (nats/seq)")
        ax.set_ylim(oracle - 100, max(0.0, oracle + 3000))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("Training curves of the sinusoid variants")
    fig.tight_layout()
    return fig


@torch.no_grad()
def sinusoid_fits_figure(
    models: dict[tuple, torch.nn.Module],
    noisy,
    clean,
    step: float,
    n_context: int,
    n_future: int,
    n_samples: int,
    sequences=(0, 1),
    title: str = "",
):
    """Predictive bands (central 90% of sampled futures) and their mean after ``n_context`` patches.

    ``models``: one per row, keyed by ``(model, smoothing, RES_q, learned init)``; ``noisy`` ``[N, T, P]``
    on the models' device, ``clean`` ``[N, T, P]``.
    """
    import matplotlib.pyplot as plt

    seqs = list(sequences)
    P = noisy.shape[-1]
    fig, axes = plt.subplots(len(models), len(seqs), figsize=(15, 2.9 * len(models)), squeeze=False)
    first = max(0, n_context - 2)  # the last two context patches, then the predicted ones
    xs = np.arange(first * P, (n_context + n_future) * P) * step
    for r, (key, model) in enumerate(models.items()):
        pred = model.predict(noisy[seqs, :n_context], n_future=n_future, n_samples=n_samples).cpu()  # [n, S, F, P]
        for c, i in enumerate(seqs):
            ax = axes[r, c]
            ax.plot(xs, noisy[i, first : n_context + n_future].cpu().flatten(), ".", ms=1.5, color="0.55", label="data")
            ax.plot(
                xs,
                clean[i, first : n_context + n_future].flatten(),
                color="k",
                lw=0.8,
                ls="--",
                label="sine without noise",
            )
            samples = pred[c].flatten(1).numpy()
            lo, hi = np.percentile(samples, [5, 95], axis=0)
            fx = xs[(n_context - first) * P :]
            ax.fill_between(fx, lo, hi, color=f"C{r}", alpha=0.3, lw=0, label="90% of sampled futures")
            ax.plot(fx, samples.mean(0), color=f"C{r}", lw=1, label="mean of the samples")
            ax.axvline(n_context * P * step, color="green", lw=1)
            ax.set(title=f"{key[0]} ({_flags(key)}), validation sequence {i}", xlabel="x", ylabel="y", ylim=(-2, 2))
        axes[r, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig

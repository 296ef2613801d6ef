"""Notebook 02, Glow's latent space: test bits per pixel, t-SNE maps, latent paths, the inpainting task.

The models are the book's runs ``glow-mnist`` (:class:`rfn.models.ImageGlow`) and
``cond-glow-mnist`` (:class:`rfn.models.ConditionalImageGlow`), trained or loaded by
:func:`rfn.runs.trained_model`; this module measures and draws them.

Example:
    >>> import torch
    >>> a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    >>> [round(v, 4) for v in slerp(a, b, 0.5).tolist()]  # on the unit circle, halfway
    [0.7071, 0.7071]
    >>> first_index(torch.tensor([3, 1, 3, 2]), 3, skip=1)
    2
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd
import torch

from rfn import viz
from rfn.data import join_inner_square
from rfn.presets import get_preset
from rfn.runs import preset_for, run_dir

__all__ = [
    "bpp_table",
    "completions_figure",
    "first_index",
    "glow_bpp_verdict",
    "inpainting_task_figure",
    "interpolation_rows",
    "mean_test_bpp",
    "neighbour_agreement",
    "neighbour_verdict",
    "quantised_digits_figure",
    "run_log",
    "slerp",
    "strip_figure",
    "training_figure",
    "tsne_figure",
    "tsne_maps",
]

#: 2-bit pixels take the levels 0, 64, 128, 192
TWO_BIT_MAX = 192


@torch.no_grad()
def mean_test_bpp(model, batches, noise_seed: int = 1234) -> float:
    """Mean bits per pixel of ``model.loss`` over ``batches`` (weighted by size), one fixed dequantisation draw.

    ``batches``: image tensors ``uint8 [B, C, H, W]`` or ``(condition, target)`` pairs. The random
    state outside is left as it was.
    """
    model.eval()
    dev = next(model.parameters()).device
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(noise_seed)  # the same noise at every evaluation, so numbers are comparable
        values = [model.loss(b)["bpp"].item() for b in batches]
    counts = [len(b[0]) if isinstance(b, tuple) else len(b) for b in batches]
    return float(np.average(values, weights=counts))


def run_log(kind: str, profile: str, seed: int, root: str | os.PathLike, test_bpp: float) -> dict:
    """The training curve (``metrics.csv``), training seconds, steps and ``test_bpp`` of the book's run of ``kind``."""
    folder = run_dir(kind, profile, seed, root=root)
    rows = pd.read_csv(folder / "metrics.csv") if (folder / "metrics.csv").is_file() else pd.DataFrame()
    timing = folder / "train_time.json"
    return {
        "step": rows.get("step", pd.Series(dtype=float)).tolist(),
        "train_bpp": rows.get("bpp", pd.Series(dtype=float)).tolist(),
        "steps": get_preset(preset_for(kind, profile)).train["steps"],
        "test_bpp": test_bpp,
        "seconds": json.loads(timing.read_text())["wall_s"] if timing.is_file() else float("nan"),
    }


@torch.no_grad()
def tsne_maps(glow, digits: torch.Tensor, seed: int = 0) -> dict[str, np.ndarray]:
    """2-D t-SNE maps ``[N, 2]`` of three views of ``digits uint8 [N, 1, 28, 28]``.

    Both levels of Glow latents, the top level alone, and the raw pixels (the reference: a
    flow is an invertible function of the pixels).
    """
    from sklearn.manifold import TSNE

    latents = glow.encode(digits)
    views = {
        f"Glow latents, both levels ({sum(z[0].numel() for z in latents)})": torch.cat(
            [z.flatten(1) for z in latents], 1
        ),
        f"Glow latents, top level ({latents[-1][0].numel()})": latents[-1].flatten(1),
        f"raw pixels ({digits[0].numel()}), for reference": digits.flatten(1).float() / 255,
    }
    n = len(digits)
    return {
        title: TSNE(n_components=2, perplexity=min(30, n // 4), init="pca", random_state=seed).fit_transform(
            feats.cpu().double().numpy()
        )
        for title, feats in views.items()
    }


def tsne_figure(maps: dict[str, np.ndarray], labels: np.ndarray, title: str):
    """One scatter panel per map, coloured by digit, each class's median labelled; the legend outside."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(5.6 * len(maps), 5.4), squeeze=False)
    palette = plt.get_cmap("tab10")
    for ax, (name, xy) in zip(axes[0], maps.items()):
        for d in range(10):
            sel = labels == d
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=palette(d), label=str(d), alpha=0.8)
            if sel.any():
                cx, cy = np.median(xy[sel], axis=0)
                ax.text(cx, cy, str(d), fontsize=15, weight="bold", ha="center", va="center", alpha=0.75)
        ax.set(title=name, xticks=[], yticks=[], xlabel="t-SNE 1", ylabel="t-SNE 2")
    axes[0, -1].legend(title="digit", markerscale=3, ncol=2, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def neighbour_agreement(maps: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    """Share of points whose nearest neighbour in each 2-D map has the same label (chance about 10%)."""
    from sklearn.neighbors import NearestNeighbors

    rows = []
    for name, xy in maps.items():
        neighbour = NearestNeighbors(n_neighbors=2).fit(xy).kneighbors(xy, return_distance=False)[:, 1]
        rows.append(
            {"features": name, "nearest neighbour has the same digit": float((labels[neighbour] == labels).mean())}
        )
    return pd.DataFrame(rows).set_index("features")


def neighbour_verdict(scores: pd.DataFrame) -> str:
    """The sentence under the nearest-neighbour table: do the latents' map separate digits better than the pixels'?

    Args:
        scores: :func:`neighbour_agreement` of the three maps of :func:`tsne_maps` (both levels of
            latents first, raw pixels third).

    Raises:
        ValueError: ``scores`` has fewer than three rows.
    """
    if len(scores) < 3:
        raise ValueError(f"expected the three maps of tsne_maps, got {len(scores)} rows")
    latent_score, pixel_score = scores.iloc[0, 0], scores.iloc[2, 0]
    verdict = "better than" if latent_score > pixel_score + 0.02 else "no better than"
    return (
        f"Here the map of the latents separates the digits {verdict} the map of the raw pixels "
        f"({latent_score:.0%} against {pixel_score:.0%}). A flow trained by maximum likelihood is not "
        "asked to group classes; whatever grouping its latent space shows, it inherits from the pixels and "
        "reshapes, and a short training run reshapes little. The thesis's Fig 2.1a shows clear clusters; "
        "it does not say how its map was made or how long its Glow trained."
    )


def first_index(labels: torch.Tensor, digit: int, skip: int = 0) -> int:
    """Index of the ``skip``-th item of ``labels`` equal to ``digit``."""
    return int(np.flatnonzero(np.asarray(labels) == digit)[skip])


def slerp(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """Spherical interpolation of two flat vectors (linear when they are parallel)."""
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - alpha) * a + alpha * b
    return (torch.sin((1 - alpha) * omega) * a + torch.sin(alpha * omega) * b) / torch.sin(omega)


@torch.no_grad()
def interpolation_rows(glow, images: torch.Tensor, labels: torch.Tensor, pairs, alphas) -> tuple[torch.Tensor, list]:
    """Decoded linear and spherical paths between the latents (all levels) of each pair of images.

    Args:
        images: ``uint8 [N, 1, H, W]``; ``labels`` their digits; ``pairs`` index pairs into them.
        alphas: the path positions in ``[0, 1]``.

    Returns:
        ``uint8 [2 * len(pairs), len(alphas), 1, H, W]`` (a linear and a spherical row per pair) and row names.
    """
    dev = next(glow.parameters()).device
    rows, names = [], []
    for i, j in pairs:
        latents = glow.encode(images[[i, j]].to(dev))
        shapes = [z.shape[1:] for z in latents]
        z = torch.cat([t.flatten(1) for t in latents], 1)
        for kind in ("linear", "spherical"):
            path = torch.stack(
                [(1 - a) * z[0] + a * z[1] if kind == "linear" else slerp(z[0], z[1], float(a)) for a in alphas]
            )
            parts = path.split([math.prod(s) for s in shapes], dim=1)
            rows.append(glow.decode([p.reshape(-1, *s) for p, s in zip(parts, shapes)]).cpu())
            names.append(f"{int(labels[i])} → {int(labels[j])}, {kind}")
    return torch.stack(rows), names


def strip_figure(images: torch.Tensor, row_labels: list[str], title: str, xlabel: str, xticklabels=None):
    """A grid of images ``uint8 [rows, columns, C, H, W]`` with row labels and column tick labels."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(min(16, 1.1 * images.shape[1] + 2), 0.8 * images.shape[0] + 0.9))
    viz.show_video_grid(ax, images, row_labels, xlabel=xlabel)
    if xticklabels is not None:
        ax.set_xticklabels(xticklabels)
    ax.set_title(title)
    return fig


def quantised_digits_figure(images: torch.Tensor, title: str, ncols: int = 12):
    """2-bit images ``uint8 [N, 1, H, W]`` (levels 0..192) tiled, shown with 192 as white."""
    import matplotlib.pyplot as plt

    tiles = (images.permute(0, 2, 3, 1).int() * 255 // TWO_BIT_MAX).byte().numpy()
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.imshow(viz.image_grid(np.repeat(tiles, 3, -1), ncols=ncols, scale=2))
    ax.set(title=title, xticks=[], yticks=[])
    ax.grid(False)
    return fig


def _red_square(ax, size: int = 16, offset: float = 7.5) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((offset, offset), size, size, fill=False, edgecolor="red", lw=1.2))


def inpainting_task_figure(condition: torch.Tensor, target: torch.Tensor, title: str):
    """The inner-square task of one item: condition (border), target (centre), the joined image."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.9))
    panels = (condition, target, join_inner_square(condition, target))
    for ax, img, name in zip(axes, panels, ("condition (border)", "target (centre)", "image")):
        ax.imshow(np.asarray(img[0]), cmap="gray", vmin=0, vmax=TWO_BIT_MAX)
        ax.set(title=name, xticks=[], yticks=[])
        ax.grid(False)
    _red_square(axes[0])
    fig.suptitle(title, y=1.04)
    return fig


@torch.no_grad()
def completions_figure(cglow, condition: torch.Tensor, truth: torch.Tensor, temperatures, per_temperature: int, title):
    """Rows: test items; columns: condition, truth, then ``per_temperature`` completions at each temperature.

    Each completion is a sampled centre put back into the true border (red square: generated).
    """
    import matplotlib.pyplot as plt

    columns, names = [condition.cpu(), truth.cpu()], ["condition", "truth"]
    for temp in temperatures:
        for _ in range(per_temperature):
            columns.append(join_inner_square(condition, cglow.sample(condition, temperature=temp)).cpu())
            names.append(f"sample, τ = {temp}")
    n = len(condition)
    fig, axes = plt.subplots(n, len(columns), figsize=(1.3 * len(columns), 1.3 * n + 0.6), squeeze=False)
    for r in range(n):
        for c, imgs in enumerate(columns):
            ax = axes[r, c]
            ax.imshow(imgs[r, 0].numpy(), cmap="gray", vmin=0, vmax=TWO_BIT_MAX)
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
            if c != 1:
                _red_square(ax)
            if r == 0:
                ax.set_title(names[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(f"item {r}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_figure(logs: dict[str, dict]):
    """Per run: training-batch bits per pixel over steps and the final test value; legend outside."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(logs), figsize=(6 * len(logs), 3.6), squeeze=False)
    for ax, (name, log) in zip(axes[0], logs.items()):
        ax.plot(log["step"], log["train_bpp"], lw=1, label="training batch")
        ax.plot([log["steps"]], [log["test_bpp"]], "o", color="C3", label="test")
        ax.set(title=name, xlabel="training step", ylabel="bits per pixel")
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("Training curves of the two flows")
    fig.tight_layout()
    return fig


#: per preset kind of this page: the table's row name, the published reference and the test protocol
#: (``{n}``: the number of test images)
_BPP_ROWS = {
    "glow-mnist": (
        "Glow on MNIST (Fig 2.1), test bpp",
        "1.05 (Kingma & Dhariwal 2018, Glow paper, converged); thesis: no number",
        "first {n} MNIST test digits, 8 bits, 28×28, one dequantisation draw",
    ),
    "cond-glow-mnist": (
        "conditional Glow, centre | border (A.4), test bpp",
        "thesis: no number (2-bit CelebA, L=4, K=15, lr 1e-4, 40 epochs)",
        "first {n} test digits padded to 32×32, 2 bits, 16×16 centre",
    ),
}


def bpp_table(runs: dict[str, tuple[dict, object]], profile: str, n_test: int, device_type: str) -> pd.DataFrame:
    """The page's bits-per-pixel table: our test bpp beside the reference, with protocol and compute.

    Args:
        runs: run kind (``glow-mnist``, ``cond-glow-mnist``) -> ``(run log, model)``, the log from
            :func:`run_log`, the model with ``config.levels`` and ``config.steps``.
        profile: the page's profile (its preset of each kind gives steps and batch size).
        n_test: test images behind every number.
        device_type: ``"cuda"`` or ``"cpu"``.

    Returns:
        One row per run, index ``experiment``; columns ``ours``, ``reference``, ``protocol``, ``compute``.

    Raises:
        ValueError: a kind is not one of this page's two.
    """
    rows = []
    for kind, (log, model) in runs.items():
        if kind not in _BPP_ROWS:
            raise ValueError(f"{kind!r} is not one of this page's runs {sorted(_BPP_ROWS)}")
        name, reference, protocol = _BPP_ROWS[kind]
        tc = get_preset(preset_for(kind, profile)).train
        compute = "GPU" if device_type == "cuda" else "CPU"
        rows.append(
            {
                "experiment": name,
                "ours": log["test_bpp"],
                "reference": reference,
                "protocol": protocol.format(n=n_test),
                "compute": f"{profile}: {tc['steps']} steps × batch {tc['batch_size']} on {compute} "
                f"({log['seconds']:.0f} s); L={model.config.levels}, K={model.config.steps}",
            }
        )
    return pd.DataFrame(rows).set_index("experiment")


def glow_bpp_verdict(glow_log: dict) -> str:
    """The sentence under the table: our Glow's test bpp against the published 1.05 of a converged Glow.

    Example:
        >>> glow_bpp_verdict({"test_bpp": 1.5, "steps": 100}).split(";")[0]
        'Our Glow reaches 1.50 bits per pixel on MNIST after 100 steps, above the published 1.05 of a converged Glow'
    """
    return (
        f"Our Glow reaches {glow_log['test_bpp']:.2f} bits per pixel on MNIST after {glow_log['steps']} steps, "
        f"{'above' if glow_log['test_bpp'] > 1.05 else 'at or below'} the published 1.05 of a converged Glow; "
        "the curves show whether the run was still improving when it stopped."
    )


def tsne_explorer(maps: dict[str, np.ndarray], labels: np.ndarray, images: torch.Tensor, title: str) -> str:
    """The first map of :func:`tsne_maps` (both levels of Glow latents) as a hover explorer: a point shows its digit.

    ``images``: ``uint8 [N, 1, H, W]`` (or ``[N, H, W]``) test digits in the order of ``maps`` and ``labels``.
    """
    from rfn.book.explorers import scatter_explorer

    return scatter_explorer(next(iter(maps.values())), labels, images, title=title)

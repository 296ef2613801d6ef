"""Notebook 08, where the RFN is surprised: per-frame KL and bits per pixel, a frozen condition, the latent parameters.

Everything goes through the model's public emission protocol (``infer``,
``emission_inputs``, ``emission_log_prob``, ``trajectory``): :func:`step_terms` gives the
per-frame KL, the flow's exact NLL given the posterior latent and given a prior draw;
:func:`frozen_condition_nll` the NLL of later frames under one fixed conditional
distribution (thesis Fig 10.5); :func:`parameter_curves` the prior, posterior and base
parameters over time on synchronised SM-MNIST (Figs 10.7, 10.8). The figure functions
draw the page's figures with titles and labelled axes.

Example:
    >>> import numpy as np
    >>> a = np.array([1.0, 2.0, 3.0, 4.0]); c = np.array([0.0, 1.0, 0.0, 1.0])
    >>> round(partial_spearman(a, a, c), 6)  # a variable with itself, c held fixed
    1.0
"""

from __future__ import annotations

import numpy as np
import torch

from rfn import pixels, viz
from rfn.data import Trajectory, make_dataset
from rfn.metrics.frames import ink_overlap
from rfn.nets import kl_diag_gaussians, sample_diag_gaussian

__all__ = [
    "flow_nll_bpp",
    "frozen_condition_nll",
    "mean_overlap",
    "parameter_curves",
    "parameters_figure",
    "partial_spearman",
    "prior_posterior_figure",
    "ratio",
    "step_terms",
]


def flow_nll_bpp(model, target: torch.Tensor, h: torch.Tensor, z: torch.Tensor, skips) -> torch.Tensor:
    """Exact ``-log p(x | h, z, skips)`` of ``uint8 [N, C, H, W]`` frames in bits per pixel, ``[N]``."""
    return -pixels.bits_per_pixel(model.emission_log_prob(target, h, z, skips), model.config.frame_shape)


@torch.no_grad()
def step_terms(model, x: torch.Tensor, draw_seed: int) -> dict[str, torch.Tensor]:
    """Per-frame KL, posterior NLL and prior NLL in bpp (``[B, T-1]`` each) and the posterior pass (``"post"``).

    The random draws come in the order of ``model.reconstruct_and_predict`` (posterior, dequantisation
    noise, prior), so seeding both alike gives the same posterior NLL.
    """
    torch.manual_seed(draw_seed)
    post = model.infer(x)
    B, T1 = post["z"].shape[:2]
    target, h, z_post, skips = model.emission_inputs(post, x)
    nll_post = flow_nll_bpp(model, target, h, z_post, skips).view(B, T1)
    z_prior = sample_diag_gaussian(post["mu_p"], post["std_p"]).flatten(0, 1)
    kl = kl_diag_gaussians(post["mu_q"], post["std_q"], post["mu_p"], post["std_p"]).flatten(2).sum(2)
    return {
        "kl": pixels.bits_per_pixel(kl, model.config.frame_shape),
        "nll_post": nll_post,
        "nll_prior": flow_nll_bpp(model, target, h, z_prior, skips).view(B, T1),
        "post": post,
    }


@torch.no_grad()
def frozen_condition_nll(model, x: torch.Tensor, t0: int, draws: int, seed: int) -> dict[str, torch.Tensor]:
    """NLL (bpp) of frames ``t0..T-1`` under the flow's condition formed once for frame ``t0``.

    The condition uses ``h_{t0}``, a latent (``draws`` prior draws, or the posterior's) and the skip
    features of frame ``t0 - 1``. Returns ``{"prior": [B, T - t0], "posterior": [B, T - t0]}`` (means over draws).
    """
    B, T = x.shape[:2]
    torch.manual_seed(seed)
    post = model.infer(x[:, : t0 + 1])  # index t0-1 holds frame t0's states
    h0 = post["h"][:, t0 - 1].repeat_interleave(draws, 0)
    mu_p0, std_p0 = (post[k][:, t0 - 1].repeat_interleave(draws, 0) for k in ("mu_p", "std_p"))
    latents = {
        "prior": sample_diag_gaussian(mu_p0, std_p0),
        "posterior": post["z"][:, t0 - 1].repeat_interleave(draws, 0),
    }
    skips0 = [f[:, t0 - 1].repeat_interleave(draws, 0) for f in post["feats"]]
    out = {}
    for name, z in latents.items():
        nll = [flow_nll_bpp(model, x[:, t].repeat_interleave(draws, 0), h0, z, skips0).view(B, draws).mean(1)
               for t in range(t0, T)]  # fmt: skip
        out[name] = torch.stack(nll, 1).cpu()
    return out


def partial_spearman(a, b, c) -> float:
    """Rank correlation of ``a`` and ``b`` with ``c`` partialled out."""
    from scipy import stats

    r_ab, r_ac, r_bc = (stats.spearmanr(u, v)[0] for u, v in ((a, b), (a, c), (b, c)))
    return float((r_ab - r_ac * r_bc) / np.sqrt((1 - r_ac**2) * (1 - r_bc**2)))


def mean_overlap(ds, sequences: int) -> np.ndarray:
    """``[T]``: share of the smaller digit's ink that the other digit covers, averaged over the sequences."""
    shares = []
    for i in range(sequences):
        tr = ds.trajectory(i)
        ink = [  # each digit drawn alone along its own path; "ink" = brighter than a quarter
            torch.from_numpy(
                ds.render(Trajectory(tr.digits[[d]], tr.positions[:, [d]], tr.velocities[:, [d]], tr.events[:, [d]]))
                > 64
            )
            for d in range(2)
        ]
        shares.append(ink_overlap(ink[0], ink[1]).numpy())
    return np.mean(shares, 0)


def parameter_curves(model, data_kwargs: dict, num_digits: int, sequences: int, frames: int, seed: int):
    """Normalised parameter magnitudes per modelled frame on synchronised SM-MNIST (each curve ÷ its mean).

    Returns:
        ``(curves, events, overlap, videos)``: ``{name: [T-1]}``, wall touches ``bool [T, D]``, the mean digit
        overlap ``[T]`` (zeros for one digit) and the ``uint8 [B, T, 1, H, W]`` sequences.
    """
    device = next(model.parameters()).device
    kw = {**data_kwargs, "num_digits": num_digits}
    ds = make_dataset("smmnist-sync", split="test", seq_len=frames, return_events=True, **kw)
    items = [ds[i] for i in range(sequences)]
    xs = torch.stack([it["frames"] for it in items]).to(device)
    events = items[0]["events"].any(-1).numpy()  # [T, D], the same for every sequence
    overlap = mean_overlap(ds, sequences) if num_digits == 2 else np.zeros(ds.seq_len)
    torch.manual_seed(seed)
    tr = model.trajectory(xs)
    kl_t = kl_diag_gaussians(tr["mu_q"], tr["std_q"], tr["mu_p"], tr["std_p"]).flatten(2).sum(2)
    raw = {
        "|mean| prior": tr["mu_p"].abs(),
        "std prior": tr["std_p"],
        "|mean| posterior": tr["mu_q"].abs(),
        "std posterior": tr["std_q"],
        "|mean| base": tr["base_mu"].abs(),
        "std base": tr["base_std"],
    }
    curves = {k: v.flatten(2).mean((0, 2)).cpu().numpy() for k, v in raw.items()}
    curves = {k: v / v.mean() for k, v in curves.items()}
    curves["KL"] = kl_t.mean(0).cpu().numpy() / kl_t.mean().item()
    return curves, events, overlap, xs.cpu()


def parameters_figure(curves, events, overlap, overlap_floor: float, title: str):
    """Figs 10.7/10.8: four panels over time (prior, posterior, base, KL), wall touches as lines, overlaps shaded."""
    import matplotlib.pyplot as plt

    t_axis = np.arange(2, len(curves["KL"]) + 2)  # the modelled frames 2..T, counted from 1
    fig, axes = plt.subplots(4, 1, figsize=(10, 8), sharex=True)
    groups = (
        ("prior", ["|mean| prior", "std prior"]),
        ("posterior", ["|mean| posterior", "std posterior"]),
        ("flow base distribution", ["|mean| base", "std base"]),
        ("KL(q || p)", ["KL"]),
    )
    for ax, (name, keys) in zip(axes, groups):
        for k in keys:
            ax.plot(t_axis, curves[k], "-o", ms=3, label=k)
        for d, colour in zip(range(events.shape[1]), ("tab:red", "tab:blue")):
            for t in np.nonzero(events[:, d])[0]:
                ax.axvline(t + 1, color=colour, lw=1, alpha=0.6)
        for t in np.nonzero(overlap > overlap_floor)[0]:
            ax.axvspan(t + 0.5, t + 1.5, color="0.88", zorder=0, lw=0)
        ax.set_ylabel(f"{name}\n(÷ mean)")
        ax.set_xlabel("frame t")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[-1].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ratio(curves, mask) -> dict[str, float]:
    """Each curve's mean on the modelled frames in ``mask`` divided by its mean on the others."""
    if not mask.any() or mask.all():
        return {k: float("nan") for k in curves}
    return {k: float(v[mask].mean() / v[~mask].mean()) for k, v in curves.items()}


def prior_posterior_figure(truth, prediction, reconstruction, kl, nll_prior, nll_post, events, title: str):
    """Fig 10.4: truth, one-step prior predictions and posterior reconstructions of one sequence, its KL and NLLs.

    Args:
        truth: ``uint8 [T, 1, H, W]``; prediction, reconstruction: ``uint8 [T-1, 1, H, W]`` (frames 2..T, counted
            from 1 as in every figure: frame 1 is only conditioned on).
        kl, nll_prior, nll_post: ``[T-1]`` in bpp; events: ``bool [T]`` a digit touches a wall.
    """
    import matplotlib.pyplot as plt

    T = truth.shape[0]
    frames_t = np.arange(2, T + 1)  # the modelled frames, counted from 1
    fig = plt.figure(figsize=(0.95 * T + 2.5, 7.6))
    gs = fig.add_gridspec(3, 1, height_ratios=[2.4, 0.9, 1.3], hspace=0.9)
    ax = fig.add_subplot(gs[0])
    videos = torch.stack([truth, torch.cat([truth[:1], prediction]), torch.cat([truth[:1], reconstruction])])
    viz.show_video_grid(ax, videos, ["ground truth", "prior, one step", "posterior"], scale=2, first_frame=1)
    ax.set_xlabel("frame t (red triangle: a digit touches a wall)")
    cell = ax.get_xticks()
    ax.plot(cell[np.nonzero(events)[0]], [-1.0] * int(events.sum()), "v", color="tab:red", ms=6, clip_on=False)
    ax.set_title(title)
    ax = fig.add_subplot(gs[1])
    ax.bar(frames_t, kl, color="tab:purple", width=0.6)
    ax.set(xlim=(0.5, T + 0.5), xlabel="frame t", ylabel="KL (bpp)", title="KL(q || p) per frame")
    ax = fig.add_subplot(gs[2])
    ax.plot(frames_t, nll_prior, "-o", label="flow NLL, prior z (one-step prediction)")
    ax.plot(frames_t, nll_post, "-s", label="flow NLL, posterior z (reconstruction)")
    ax.set(xlim=(0.5, T + 0.5), xlabel="frame t", ylabel="bpp", title="the flow's NLL of the true frame")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    for a in fig.axes[1:]:
        a.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    return fig

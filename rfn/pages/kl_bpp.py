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
    "bpp_examples_figure",
    "bpp_quality_figure",
    "event_classes",
    "flow_nll_bpp",
    "frozen_condition_nll",
    "frozen_figure",
    "kl_by_event",
    "kl_by_event_figure",
    "mean_overlap",
    "parameter_curves",
    "parameters_figure",
    "parameters_title",
    "partial_spearman",
    "prior_posterior_figure",
    "ratio",
    "sequence_strip_figure",
    "spike_ratios",
    "step_terms",
    "summary",
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


def event_classes(touches: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four classes of modelled frames of section 2: the first, at a wall touch, right after one, the rest.

    Args:
        touches: ``bool [B, T]``, a digit touches a wall in frame ``t`` (frames counted from 0).

    Returns:
        ``{class name: bool [B, T-1]}`` over the modelled frames ``t = 1..T-1``; every frame is in exactly one
        class, and a touch in the first modelled frame counts as the first modelled frame.

    Example:
        >>> c = event_classes(torch.tensor([[False, False, True, False, False]]))
        >>> [m[0].int().tolist() for m in c.values()]
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    """
    if touches.dim() != 2 or touches.dtype != torch.bool or touches.shape[1] < 2:
        raise ValueError(f"touches must be bool [B, T] with T >= 2, got {touches.dtype} {tuple(touches.shape)}")
    hit = touches[:, 1:]  # [B, T-1]: a digit touches a wall in frame t (t = 1..T-1)
    after = touches[:, :-1]  # [B, T-1]: a digit touched a wall in frame t-1
    first = torch.zeros_like(hit)
    first[:, 0] = True
    return {
        "frame 2, the first modelled (velocity unknown)": first,
        "digit touches a wall": hit & ~first,
        "frame after a touch": after & ~hit & ~first,
        "no wall event": ~hit & ~after & ~first,
    }


def kl_by_event(kl: torch.Tensor, gap: torch.Tensor, classes: dict[str, torch.Tensor]):
    """Per class of frames (:func:`event_classes`): the count, the mean KL and the mean prior-posterior NLL gap.

    Args:
        kl, gap: ``[B, T-1]`` in bpp (the gap: prior NLL minus posterior NLL).

    Returns:
        a DataFrame indexed by ``frames`` (the class names) with columns ``count``, ``KL (bpp)`` and
        ``prior NLL - posterior NLL (bpp)`` (NaN for an empty class).
    """
    import pandas as pd

    rows = []
    for name, mask in classes.items():
        if mask.shape != kl.shape:
            raise ValueError(f"class {name!r} has shape {tuple(mask.shape)}, the KL {tuple(kl.shape)}")
        rows.append(
            {
                "frames": name,
                "count": int(mask.sum()),
                "KL (bpp)": kl[mask].mean().item(),
                "prior NLL - posterior NLL (bpp)": gap[mask].mean().item(),
            }
        )
    return pd.DataFrame(rows).set_index("frames")


def kl_by_event_figure(kl: torch.Tensor, gap: torch.Tensor, classes: dict[str, torch.Tensor], r: float, title: str):
    """Fig 10.4 over all sequences: mean KL per class of frames (± s.e.) and the KL of every frame against its gap.

    Args:
        kl, gap: ``[B, T-1]`` in bpp; classes: :func:`event_classes`; r: the rank correlation of the two, shown.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    means = [kl[m].mean().item() for m in classes.values()]
    errs = [kl[m].std().item() / max(1, int(m.sum())) ** 0.5 for m in classes.values()]
    axes[0].barh(list(classes), means, xerr=errs, color="tab:purple")
    axes[0].invert_yaxis()
    axes[0].set(xlabel="mean KL per frame (bpp), ± s.e.", ylabel="frames", title="KL by wall event")
    axes[1].scatter(kl.flatten(), gap.flatten(), s=6, alpha=0.4)
    axes[1].set_xlabel("KL (bpp)")
    axes[1].set_ylabel("prior NLL - posterior NLL (bpp)")
    axes[1].set_title(f"every frame of {kl.shape[0]} sequences (Spearman {r:.2f})")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def frozen_figure(frozen_prior: torch.Tensor, frozen_post: torch.Tensor, updated: torch.Tensor, t0: int,
                  draws: int, title: str):  # fmt: skip
    """Fig 10.5: the NLL of frames ``t0..T-1`` under the frozen condition, and its paired difference to the updated one.

    Args:
        frozen_prior, frozen_post: ``[B, T - t0]`` (:func:`frozen_condition_nll`, latent from the prior's
            ``draws`` draws or from the posterior); updated: ``[B, T - t0]``, the one-step prior NLL of the same
            frames. Left: means over sequences; right: each frozen curve minus the updated one, ± s.e. over sequences.
    """
    import matplotlib.pyplot as plt

    if not frozen_prior.shape == frozen_post.shape == updated.shape:
        raise ValueError(
            f"the three curves must share one shape [B, T - t0], got {tuple(frozen_prior.shape)}, "
            f"{tuple(frozen_post.shape)} and {tuple(updated.shape)}"
        )
    B, n = updated.shape
    steps = np.arange(t0, t0 + n)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.9))
    for curve, label, style in (
        (frozen_prior, f"frozen at t0={t0}, z from the prior ({draws} draws)", "-o"),
        (frozen_post, f"frozen at t0={t0}, z from the posterior", "-s"),
        (updated, "updated every step (one-step prediction)", "--"),
    ):
        axes[0].plot(steps, curve.mean(0).numpy(), style, ms=4, label=label)
        # paired per sequence: how much the frozen condition costs against updating it
        if curve is not updated:
            d = curve - updated
            m, se = d.mean(0).numpy(), (d.std(0) / B**0.5).numpy()
            axes[1].plot(steps, m, style, ms=4, label=label.split(",")[1].strip() + " minus updated")
            axes[1].fill_between(steps, m - se, m + se, alpha=0.2)
    axes[0].set_ylabel("NLL of the true frame (bpp)")
    axes[0].set_title(f"mean over {B} test sequences")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[1].axhline(0, color="gray", lw=1)
    axes[1].set_ylabel("frozen - updated (bpp), ± s.e.")
    axes[1].set_title("the same, relative to the updated condition")
    for ax in axes:
        ax.set_xlabel("frame t")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def bpp_quality_figure(seq_bpp, quality: dict, title: str):
    """Fig 10.6: one scatter per quality measure against the sequences' bpp, titled with the rank correlation.

    Args:
        seq_bpp: ``[B]`` negative ELBO per sequence; quality: ``{axis name: [B] values}`` (SSIM, PSNR, ...).
    """
    import matplotlib.pyplot as plt
    from scipy import stats

    fig, axes = plt.subplots(1, len(quality), figsize=(5 * len(quality), 3.8), squeeze=False)
    for ax, (name, val) in zip(axes[0], quality.items()):
        r, p = stats.spearmanr(seq_bpp, val)
        ax.scatter(seq_bpp, val, s=12, alpha=0.7)
        ax.set_xlabel("sequence bpp (negative ELBO)")
        ax.set_ylabel(f"{name} of one-step predictions")
        ax.set_title(f"Spearman {r:.2f} (p = {p:.1e})")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def bpp_examples_figure(truth: torch.Tensor, prediction: torch.Tensor, seq_bpp: torch.Tensor):
    """Fig 10.6's examples: the sequences of lowest, median and highest bpp, each above its one-step predictions.

    Args:
        truth: ``uint8 [B, T, 1, H, W]``; prediction: ``uint8 [B, T-1, 1, H, W]`` (frames 2..T); seq_bpp: ``[B]``.
    """
    import matplotlib.pyplot as plt

    order = torch.argsort(seq_bpp)
    picks = [int(order[0]), int(order[len(order) // 2]), int(order[-1])]
    videos = []
    for i in picks:
        videos += [truth[i], torch.cat([truth[i, :1], prediction[i]])]
    labels = [s for i in picks for s in (f"truth (seq {i})", f"prior, {seq_bpp[i]:.3f} bpp")]
    T = truth.shape[1]
    fig, ax = plt.subplots(figsize=(1.0 * T + 2.0, 0.75 * len(videos) + 0.8))
    viz.show_video_grid(ax, torch.stack(videos), labels, scale=2, first_frame=1)
    ax.set_title("lowest, median and highest bpp: truth above its one-step predictions")
    return fig


def parameters_title(fig_id: str, num_digits: int, videos: torch.Tensor, overlap_floor: float) -> str:
    """The title of Fig 10.7 or 10.8: what was averaged, and (two digits) what the lines and the shading mean."""
    b, t = videos.shape[:2]
    title = f"{fig_id}: {num_digits} digit(s), {b} synchronised test sequences of {t} frames"
    if num_digits == 2:
        title += f"\n(lines: digit 1 red, digit 2 blue touch a wall; grey: over {overlap_floor:.0%} of a digit's ink "
        title += "overlaps)"
    return title


def spike_ratios(curves: dict, events: np.ndarray, overlap: np.ndarray, overlap_floor: float) -> dict[str, dict]:
    """The rows of the page's ratio table for one data set of :func:`parameter_curves`.

    Args:
        curves: ``{name: [T-1]}``; events: ``bool [T, D]`` wall touches of the D digits; overlap: ``[T]``.

    Returns:
        ``{row name: ratio(...)}``: each curve's mean at or right after a wall touch over its mean elsewhere and,
        with two digits, on frames where more than ``overlap_floor`` of the ink overlaps.
    """
    nd = events.shape[1]
    touch = events.any(1)
    near = touch[1:] | touch[:-1]  # modelled frames t = 1..T-1 with a touch at t or at t-1
    rows = {f"{nd} digit{'s' if nd > 1 else ''}: at or right after a wall touch": ratio(curves, near)}
    if nd == 2:
        rows[f"2 digits: while > {overlap_floor:.0%} of the ink overlaps"] = ratio(curves, overlap[1:] > overlap_floor)
    return rows


def sequence_strip_figure(truth: torch.Tensor, prediction: torch.Tensor, title: str):
    """Fig A.10: one sequence ``uint8 [T, 1, H, W]`` above its one-step predictions ``[T-1, 1, H, W]``."""
    import matplotlib.pyplot as plt

    strip = torch.stack([truth, torch.cat([truth[:1], prediction])])
    fig, ax = plt.subplots(figsize=(min(0.6 * strip.shape[1], 18), 2.0))
    viz.show_video_grid(ax, strip, ["truth", "prior, one step"], scale=1, pad=1, first_frame=1)
    ax.set_title(title)
    return fig


def summary(kl_table, spike_table, r_kl: float, frozen_prior: torch.Tensor, t0: int, rho: float,
            quality: dict[str, tuple[float, float]]) -> str:  # fmt: skip
    """Markdown: what this run's numbers say about each of the thesis's four claims.

    Args:
        kl_table: :func:`kl_by_event`; spike_table: the rows of :func:`spike_ratios` (one and two digits);
        r_kl: rank correlation of the KL and the prior-posterior NLL gap; frozen_prior: ``[B, T - t0]``
        (:func:`frozen_condition_nll`) and rho its rank correlation with ``t``; quality: ``{"SSIM": (r, partial
        r), "PSNR": (r, partial r)}``, bpp against the measure, raw and with the ink fraction held fixed.
    """
    kl_by = kl_table["KL (bpp)"]
    two = spike_table.filter(like="2 digits:", axis=0)  # the wall-touch row, then the overlap row
    one = spike_table.filter(like="1 digit:", axis=0)
    if len(two) != 2 or len(one) != 1:
        raise ValueError(f"spike_table needs the two-digit rows and the one-digit row, got {list(spike_table.index)}")
    (r_ssim, p_ssim), (r_psnr, p_psnr) = quality["SSIM"], quality["PSNR"]
    curve = frozen_prior.mean(0)
    return (
        "**What the numbers show** (this run): (1) the mean KL per frame is highest for "
        f"'{kl_by.idxmax()}' ({kl_by.max():.4f} bpp) and lowest for '{kl_by.idxmin()}' ({kl_by.min():.4f} bpp); "
        f"its rank correlation with the prior-posterior NLL gap is {r_kl:.2f}. (2) Under the frozen condition the "
        f"NLL goes from {curve[0]:.3f} bpp at t0 to {curve[-1]:.3f} at t = {t0 + len(curve) - 1} "
        f"(rank correlation with t {rho:.2f}). (3) Sequence bpp against one-step SSIM: Spearman {r_ssim:.2f} "
        f"({p_ssim:.2f} with the ink fraction held fixed); against PSNR {r_psnr:.2f} ({p_psnr:.2f}). "
        f"(4) At or right after a wall touch the KL is {one['KL'].iloc[0]:.2f} times its mean elsewhere with one "
        f"digit and {two['KL'].iloc[0]:.2f} times with two; while the two digits overlap it is "
        f"{two['KL'].iloc[-1]:.2f} times (the thesis expects values above 1 in each case)."
    )

"""Notebook 01, normalising flows from scratch: the change of variables, log-determinant checks, two moons.

The page's small computations (the log-normal density by the change of variables, a
hand-made 2-D coupling, every layer's log-determinant against autograd) and its
figures. The two-moons flow is the preset ``<profile>-moons-flow``; :func:`train_in_stages`
trains it through :func:`rfn.runs.train_preset` with stops so its density can be drawn.

Example:
    >>> import torch
    >>> round(float(lognormal_log_density(torch.tensor(1.0))), 6)  # log N(0; 0, 1) - log 1
    -0.918939
    >>> example_coupling(torch.tensor([[0.0, 2.0]])).tolist()  # s(0) = 0, t(0) = -1
    [[0.0, 1.0]]
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import shutil
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from rfn.flows import ActNorm, AffineCoupling, FlowStep, InvConv1x1, Squeeze
from rfn.presets import get_preset
from rfn.runs import preset_for, run_dir, train_preset

__all__ = [
    "DensityGrid",
    "change_of_variables_figure",
    "channel_moments",
    "density_frames",
    "example_coupling",
    "layer_logdet_table",
    "lognormal_log_density",
    "save_density_gif",
    "source_of",
    "train_in_stages",
    "trained_logdet_table",
    "two_moons_figure",
    "two_moons_verdict",
]


def lognormal_log_density(x: torch.Tensor) -> torch.Tensor:
    """``log p(x)`` of ``x = exp(u)``, ``u ~ N(0, 1)``, by the change of variables: ``log N(log x) - log x``."""
    u = torch.log(x)
    return torch.distributions.Normal(0.0, 1.0).log_prob(u) - torch.log(x)  # g'(u) = exp(u) = x


def example_coupling(u: torch.Tensor) -> torch.Tensor:
    """The page's hand-made coupling ``[N, 2] -> [N, 2]``: ``x1 = u1``, ``x2 = u2 exp(s(u1)) + t(u1)``.

    ``s(u1) = 0.6 sin(2 u1)`` and ``t(u1) = u1^2 - 1``; ``log|det J| = s(u1)``.
    """
    s, t = 0.6 * torch.sin(2 * u[..., 0]), u[..., 0] ** 2 - 1
    return torch.stack([u[..., 0], u[..., 1] * torch.exp(s) + t], dim=-1)


def change_of_variables_figure(n_samples: int = 100_000):
    """Three panels: the log-normal density against samples of ``exp(u)``; a base cloud and its coupling image.

    The small square drawn in the base panel and its image show the area growing by ``|det J|``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    xs = torch.linspace(0.01, 6, 400, dtype=torch.float64)
    axes[0].hist(
        torch.randn(n_samples, dtype=torch.float64).exp().numpy(),
        bins=np.linspace(0, 6, 80),
        density=True,
        alpha=0.4,
        label="samples of exp(u)",
    )
    axes[0].plot(xs, lognormal_log_density(xs).exp(), lw=2, label=r"$\mathcal{N}(\log x)\,/\,x$")
    axes[0].plot(
        xs, torch.distributions.Normal(0.0, 1.0).log_prob(xs).exp(), lw=1.5, ls="--", label=r"base $\mathcal{N}(0, 1)$"
    )
    axes[0].set(title="1-D: x = exp(u)", xlabel="x", ylabel="density")
    axes[0].legend(loc="upper right")
    u = torch.randn(4000, 2, dtype=torch.float64)
    x = example_coupling(u)
    axes[1].scatter(*u.T, s=3, c=u[:, 0], cmap="viridis")
    axes[1].set(title=r"base samples $\mathbf{u}$", xlabel="$u_1$", ylabel="$u_2$", aspect="equal")
    sc = axes[2].scatter(*x.T, s=3, c=0.6 * torch.sin(2 * u[:, 0]), cmap="coolwarm", vmin=-0.6, vmax=0.6)
    axes[2].set(title=r"pushed forward: $\mathbf{x} = g(\mathbf{u})$", xlabel="$x_1$", ylabel="$x_2$")
    fig.colorbar(sc, ax=axes[2], label=r"$\log|\det J_g|$ (red: stretched, density thinned)")
    sq = torch.tensor([[0.7, -0.4], [0.9, -0.4], [0.9, -0.2], [0.7, -0.2], [0.7, -0.4]], dtype=torch.float64)
    axes[1].plot(*sq.T, "k-", lw=1.5)
    axes[2].plot(*example_coupling(sq).T, "k-", lw=1.5)
    fig.suptitle("The change of variables in one and two dimensions")
    fig.tight_layout()
    return fig


def source_of(cls: type, *methods: str) -> str:
    """The source code of ``cls``'s ``methods``, one after the other, as the page prints it.

    Raises:
        AttributeError: ``cls`` has no method of one of the names.

    Example:
        >>> source_of(DensityGrid, "image").splitlines()[1].strip()
        'def image(self, log_prob) -> np.ndarray:'
    """
    missing = [m for m in methods if not hasattr(cls, m)]
    if missing:
        raise AttributeError(f"{cls.__name__} has no {', '.join(missing)}")
    return "\n".join(inspect.getsource(getattr(cls, m)) for m in methods)


def channel_moments(before: torch.Tensor, after: torch.Tensor) -> pd.DataFrame:
    """Per-channel mean and standard deviation of two ``[B, C, H, W]`` batches, e.g. an ActNorm's input and output.

    Returns:
        One row per channel; columns ``mean before``, ``mean after``, ``std before``, ``std after``
        (rounded to 3 decimals; the statistics pool the batch and pixel dimensions).

    Raises:
        ValueError: the batches are not 4-D or differ in shape.

    Example:
        >>> x = torch.zeros(2, 1, 2, 2)
        >>> channel_moments(x, x + 1)["mean after"].tolist()
        [1.0]
    """
    if before.dim() != 4 or before.shape != after.shape:
        raise ValueError(
            f"expected two [B, C, H, W] batches of one shape, got {tuple(before.shape)}, {tuple(after.shape)}"
        )
    dims = (0, 2, 3)
    stats = {
        "mean before": before.mean(dim=dims),
        "mean after": after.mean(dim=dims),
        "std before": before.std(dim=dims),
        "std after": after.std(dim=dims),
    }
    table = pd.DataFrame({k: v.detach().cpu().numpy().round(3) for k, v in stats.items()})
    table.index.name = "channel"
    return table


def _randomised(layer: nn.Module, cond_channels: int = 0) -> nn.Module:
    """A float64 layer, ActNorm-initialised on a batch, then every parameter moved off its initial value."""
    layer = layer.double()
    c = torch.randn(64, cond_channels, 2, 2, dtype=torch.float64) if cond_channels else None
    layer(torch.randn(64, 4, 2, 2, dtype=torch.float64), c)  # data-dependent ActNorm initialisation
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return layer


def layer_logdet_table(seed: int = 0) -> pd.DataFrame:
    """Each ``rfn.flows`` layer's reported log-determinant against autograd's on one ``[1, 4, 2, 2]`` input.

    Float64, randomised parameters. Columns: the layer's logdet, ``slogdet`` of the autograd
    Jacobian, their difference, the inverse's reconstruction error and ``|logdet + inverse logdet|``.
    """
    torch.manual_seed(seed)
    x = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    cond = torch.randn(1, 3, 2, 2, dtype=torch.float64)
    with torch.enable_grad():
        layers = {
            "ActNorm": (_randomised(ActNorm(4)), None),
            "InvConv1x1": (_randomised(InvConv1x1(4)), None),
            "AffineCoupling (sigmoid clamp)": (_randomised(AffineCoupling(4, hidden=8, clamp="sigmoid")), None),
            "AffineCoupling (tanh clamp)": (_randomised(AffineCoupling(4, hidden=8, clamp="tanh")), None),
            "AffineCoupling with a condition": (_randomised(AffineCoupling(4, hidden=8, cond_channels=3), 3), cond),
            "Squeeze": (Squeeze(), None),
            "FlowStep (ActNorm, 1x1, coupling)": (_randomised(FlowStep(4, hidden=8)), None),
        }
        rows = []
        for name, (layer, c) in layers.items():
            jac = torch.autograd.functional.jacobian(
                lambda v, m=layer, c=c: m(v.view(1, 4, 2, 2), c)[0].flatten(), x.flatten()
            )
            y, ld = layer(x, c)
            back, ld_inv = layer.inverse(y, c)
            auto = torch.linalg.slogdet(jac).logabsdet.item()
            rows.append(
                {
                    "layer": name,
                    "layer logdet": ld.item(),
                    "autograd logdet": auto,
                    "|difference|": abs(ld.item() - auto),
                    "inverse error": (back - x).abs().max().item(),
                    "|fwd + inv logdet|": (ld + ld_inv).abs().item(),
                }
            )
    return pd.DataFrame(rows).set_index("layer")


@dataclass
class DensityGrid:
    """A regular grid of 2-D points over ``[lo, hi]`` on which a density is drawn as an image.

    Example:
        >>> g = DensityGrid((-1.0, -1.0), (1.0, 1.0), 4, 3)
        >>> tuple(g.points.shape), g.extent
        ((12, 2), [-1.0, 1.0, -1.0, 1.0])
    """

    lo: tuple[float, float] = (-1.5, -1.0)
    hi: tuple[float, float] = (2.5, 1.5)
    nx: int = 96
    ny: int = 60

    def __post_init__(self) -> None:
        gx, gy = torch.meshgrid(
            torch.linspace(self.lo[0], self.hi[0], self.nx),
            torch.linspace(self.lo[1], self.hi[1], self.ny),
            indexing="xy",
        )
        self.points = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # [ny * nx, 2]

    @property
    def extent(self) -> list[float]:
        """``[x_lo, x_hi, y_lo, y_hi]`` for ``imshow``."""
        return [float(self.lo[0]), float(self.hi[0]), float(self.lo[1]), float(self.hi[1])]

    @torch.no_grad()
    def image(self, log_prob) -> np.ndarray:
        """``exp(log_prob(points))`` as ``[ny, nx]``, top row the highest y (for ``imshow``)."""
        return log_prob(self.points).exp().view(self.ny, self.nx).flip(0).cpu().numpy()


def train_in_stages(
    profile: str, seed: int, root: str | os.PathLike, device: torch.device | str, grid: DensityGrid, snapshots: int
):
    """Train the page's moons flow (preset ``<profile>-moons-flow``) from scratch, drawing its density between stages.

    The run goes through the training engine in ``snapshots`` stages (the same as
    ``rfn train --preset <profile>-moons-flow``, stopped and resumed), into a fresh folder.

    Returns:
        ``(flow in eval mode, [(step, density image)], metrics.csv as a DataFrame, training seconds)``.
    """
    kind = "moons-flow"
    steps = get_preset(preset_for(kind, profile)).train["steps"]
    out = run_dir(kind, profile, seed, root=root)
    shutil.rmtree(out, ignore_errors=True)
    stops = np.unique(np.linspace(0, steps, snapshots + 1).astype(int))[1:]
    run = [f"train.seed={seed}", f"train.device={device}"]  # the run's identity, not a setting
    frames, t0 = [], time.perf_counter()
    for stop in stops:
        trainer, _ = train_preset(preset_for(kind, profile), out, run, resume=stop != stops[0], until=int(stop))
        model = trainer.model.eval()
        frames.append((int(stop), grid.image(lambda p, m=model: m.log_prob(p.to(next(m.parameters()).device)))))
        model.train()
    return trainer.model.eval(), frames, pd.read_csv(out / "metrics.csv"), time.perf_counter() - t0


def two_moons_figure(flow, test: torch.Tensor, gauss, density: np.ndarray, grid: DensityGrid, history: pd.DataFrame):
    """Six panels: test points, the best Gaussian, the learned density, samples, base space, the NLL curve.

    Args:
        flow: the trained flow (``log_prob``, ``sample``, ``encode``, ``config.depth``).
        test: test points ``[N, 2]``.
        gauss: the full-covariance Gaussian fitted to the training points.
        density: the learned density on ``grid`` (:meth:`DensityGrid.image`).
        history: the run's ``metrics.csv`` (``step``, ``loss`` in nats).
    """
    import matplotlib.pyplot as plt

    dev = next(flow.parameters()).device
    with torch.no_grad():
        drawn = flow.sample(3000).cpu()
        z_test = flow.encode(test.to(dev))[0].cpu()
        test_nll = -flow.log_prob(test.to(dev)).mean().item()
    gauss_nll = -gauss.log_prob(test.cpu()).mean().item()
    ext = grid.extent
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.4))
    axes = axes.flatten()
    axes[0].scatter(*test.cpu().T, s=2, alpha=0.5)
    axes[0].set(title="test points", xlim=ext[:2], ylim=ext[2:], xlabel="$x_1$", ylabel="$x_2$")
    for ax, img, title in (
        (axes[1], grid.image(gauss.log_prob), "best Gaussian (a linear flow)"),
        (axes[2], density, f"learned density $p(\\mathbf{{x}})$, {flow.config.depth} Glow steps"),
    ):
        ax.imshow(img, extent=ext, cmap="magma", aspect="auto", interpolation="bilinear")
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
        ax.grid(False)
    axes[3].scatter(*drawn.T, s=2, alpha=0.5, color="C1")
    axes[3].set(
        title=r"samples $g(\mathbf{u})$, $\mathbf{u} \sim \mathcal{N}(0, I)$",
        xlim=ext[:2],
        ylim=ext[2:],
        xlabel="$x_1$",
        ylabel="$x_2$",
    )
    axes[4].scatter(*z_test.T, s=2, alpha=0.4, color="C2")
    circle = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2, 3):
        axes[4].plot(r * np.cos(circle), r * np.sin(circle), "k-", lw=0.6)
    axes[4].set(
        title=r"test points in base space $f(\mathbf{x})$",
        xlim=(-4, 4),
        ylim=(-4, 4),
        aspect="equal",
        xlabel="$u_1$",
        ylabel="$u_2$",
    )
    axes[5].plot(history["step"], history["loss"] / math.log(2), lw=0.8, label="flow (training batches)")
    axes[5].axhline(gauss_nll / math.log(2), color="k", ls="--", lw=1, label="Gaussian (test)")
    axes[5].axhline(test_nll / math.log(2), color="C3", ls=":", lw=1.5, label="flow (test)")
    axes[5].set(title="negative log-likelihood", xlabel="training step", ylabel="bits per point")
    axes[5].legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("A Glow-step flow on two moons")
    fig.tight_layout()
    return fig


def two_moons_verdict(test_nll: float, gauss_nll: float) -> str:
    """The sentence under the two-moons figure: the flow's and the Gaussian's test NLL (nats in, bits out).

    Example:
        >>> two_moons_verdict(math.log(2), 2 * math.log(2)).split(":")[0]
        'On the test points the flow scores 1.00 bits per point against 2.00 for the Gaussian'
    """
    verdict = "the flow bends its density along the moons" if test_nll < gauss_nll else "this run is too short"
    return (
        f"On the test points the flow scores {test_nll / math.log(2):.2f} bits per point against "
        f"{gauss_nll / math.log(2):.2f} for the Gaussian: {verdict}. Where the learned density is still a "
        "smeared band, or the base-space points are not a round cloud, the run is short; the samples show the same."
    )


def density_frames(snapshots: list[tuple[int, np.ndarray]]) -> torch.Tensor:
    """Density snapshots as animation frames ``uint8 [T, 3, H, W]`` (magma colours, each on its own scale)."""
    from matplotlib import cm

    frames = np.stack([img / img.max() for _, img in snapshots])
    rgb = (cm.magma(frames)[..., :3] * 255).astype(np.uint8)  # [T, H, W, 3]
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).contiguous()


def save_density_gif(rec, snapshots: list[tuple[int, np.ndarray]], name: str, fps: int = 6, scale: int = 3):
    """Write the density snapshots as an animated GIF ``name`` through the page's recorder and record it.

    Args:
        rec: the page's :class:`rfn.book.figures.FigureRecorder`.
        snapshots: ``[(step, density image)]`` from :func:`train_in_stages`.
        name: the GIF's file name (``*.gif``).

    Returns:
        The GIF's path.

    Raises:
        ValueError: ``snapshots`` is empty or ``name`` is not a ``.gif``.
    """
    from rfn import viz

    if not snapshots:
        raise ValueError("no density snapshots to animate")
    if not name.lower().endswith(".gif"):
        raise ValueError(f"expected a .gif file name, got {name!r}")
    return rec.record(viz.save_gif(rec.path(name), density_frames(snapshots), fps=fps, scale=scale))


def trained_logdet_table(flow, points: torch.Tensor, seed: int = 0) -> tuple[pd.DataFrame, float, float]:
    """The trained flow in float64: summed layer log-determinants against autograd at ``points [N, 2]``.

    Returns:
        ``(table, max |difference|, max |encode(decode(u)) - u|)`` with ``u`` standard normal draws.
    """
    flow64 = copy.deepcopy(flow).double().cpu().eval()
    probe = points.double().cpu()
    with torch.enable_grad():
        _, reported = flow64.encode(probe)
        auto = torch.stack(
            [
                torch.linalg.slogdet(
                    torch.autograd.functional.jacobian(lambda p: flow64.encode(p[None])[0][0], pt)
                ).logabsdet
                for pt in probe
            ]
        )
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(len(probe), 2, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        u_back = flow64.encode(flow64.decode(u))[0]
    table = pd.DataFrame(
        {
            "x1": probe[:, 0].numpy(),
            "x2": probe[:, 1].numpy(),
            "sum of layer logdets": reported.detach().numpy(),
            "slogdet of autograd Jacobian": auto.numpy(),
        }
    )
    return table, (reported - auto).abs().max().item(), (u_back - u).abs().max().item()

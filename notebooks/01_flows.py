# %% [markdown]
# # Normalising flows from scratch
#
# **Reproduces:** no thesis figure. This page works through the flow machinery of the
# thesis's chapter 4 (whose figures are diagrams) on numbers: the change of variables in
# one and two dimensions, the three layers of a Glow step as they are written in
# `rfn.flows` (affine coupling, ActNorm, invertible 1×1 convolution), a small flow trained
# on two moons, and a check of every log-determinant against a Jacobian computed by
# autograd. Every later page builds on these layers.
#
# **Run time** (measured on a shared 2-core CPU): `smoke` 10-25 s, `quick` about 2 min
# (45 s of CPU time), `full` about three times `quick`. The model is tiny, so a GPU brings no
# speed-up here.
#
# **Checkpoint:** none kept between runs; the flow (preset `<profile>-moons-flow`) is trained
# from scratch on this page through the training engine, in stages so its density can be drawn.
#
# **Writes:** `figures/<profile>/fig_flows_change_of_variables.png`,
# `fig_flows_two_moons.png`, `fig_flows_two_moons_training.gif`, `tab_flows_logdet_check.csv`.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | reference | thesis
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "figures"  # figures go to figures_dir/<profile>/
artifacts_dir = "artifacts"  # the run: artifacts_dir/<profile>/moons-flow-seed<seed>/

# %%
import copy
import inspect
import math
import random
import shutil
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, Markdown, display
from matplotlib import cm
from scipy import stats
from torch import nn

from rfn import viz
from rfn.book import FigureRecorder
from rfn.data import make_dataset
from rfn.flows import ActNorm, AffineCoupling, FlowStep, InvConv1x1, Squeeze
from rfn.presets import get_preset
from rfn.runs import preset_for, run_dir, train_preset
from rfn.runtime import resolve_device

SETTINGS = {  # what the page draws at each profile (the training settings are the preset's)
    "smoke": {"snapshots": 4, "grid": 48},
    "quick": {"snapshots": 24, "grid": 96},
    "reference": {"snapshots": 24, "grid": 96},
    "thesis": {"snapshots": 40, "grid": 128},
}[profile]

random.seed(seed)
np.random.seed(seed)  # noqa: NPY002 (seeds any library code that draws from NumPy's global generator)
torch.manual_seed(seed)
dev = torch.device(resolve_device(device))
if dev.type == "cpu":
    # A 2-D flow is far too small to gain from several threads; on a shared CPU the
    # threads mostly wait on each other, so one thread is several times faster.
    torch.set_num_threads(1)
viz.set_book_style()
rec = FigureRecorder("01_flows", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
start = time.perf_counter()
print(f"profile={profile} seed={seed} device={dev} torch={torch.__version__} settings={SETTINGS}")

# %% [markdown]
# ## 1. The change of variables in one dimension
#
# Take $u \sim \mathcal{N}(0, 1)$ and the invertible map $x = T(u) = e^u$. The density of
# $x$ is the base density at $u = T^{-1}(x) = \log x$, divided by how much $T$ stretches
# the line there, $T'(u) = e^u = x$:
#
# $$
# \log p_x(x) = \log \mathcal{N}(\log x; 0, 1) - \log x .
# $$
#
# That is the log-normal density. The cell compares the formula with SciPy's log-normal,
# with a histogram of pushed-forward samples, and checks that the new density still
# integrates to one.

# %%
base = torch.distributions.Normal(0.0, 1.0)


def log_p_x(x: torch.Tensor) -> torch.Tensor:
    """Density of x = exp(u) by the change of variables: log N(log x) - log|dT/du|."""
    u = torch.log(x)
    return base.log_prob(u) - torch.log(x)  # T'(u) = exp(u) = x


x0 = torch.tensor(2.0, dtype=torch.float64)
print(f"log p_x(2) by the change of variables: {log_p_x(x0).item():.6f}")
print(f"log p_x(2) from scipy's log-normal:    {stats.lognorm(s=1.0).logpdf(2.0):.6f}")
grid_1d = torch.linspace(1e-4, 60.0, 600_001, dtype=torch.float64)
mass = torch.trapezoid(log_p_x(grid_1d).exp(), grid_1d).item()
print(f"integral of p_x over (0, 60]: {mass:.5f} (the rest of the mass lies beyond 60)")

# %% [markdown]
# ## 2. Two dimensions: volume, not length
#
# In $D$ dimensions the stretch factor is $|\det J_T|$, the factor by which $T$ scales a
# small volume. For a linear map $\mathbf{x} = \mathbf{A}\mathbf{u} + \mathbf{b}$ it is the
# constant $|\det \mathbf{A}|$, and the result must be the Gaussian
# $\mathcal{N}(\mathbf{b}, \mathbf{A}\mathbf{A}^\top)$. A nonlinear map stretches by a
# different amount at every point. We use a hand-made *coupling*: keep $u_1$, and scale and
# shift $u_2$ by amounts that depend on $u_1$,
#
# $$
# x_1 = u_1, \qquad x_2 = u_2\, e^{s(u_1)} + t(u_1), \qquad s(u_1) = 0.6 \sin(2 u_1),\; t(u_1) = u_1^2 - 1,
# $$
#
# whose Jacobian is triangular with determinant $e^{s(u_1)}$. Autograd confirms it.

# %%
A = torch.tensor([[1.5, 0.8], [0.0, 1.0]], dtype=torch.float64)
b = torch.tensor([0.5, -1.0], dtype=torch.float64)
std_normal_2d = torch.distributions.MultivariateNormal(
    torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
)
x_pt = torch.tensor([1.0, 0.3], dtype=torch.float64)
u_pt = torch.linalg.solve(A, x_pt - b)
by_formula = std_normal_2d.log_prob(u_pt) - torch.log(torch.abs(torch.linalg.det(A)))
exact = torch.distributions.MultivariateNormal(b, A @ A.T).log_prob(x_pt)
print(f"linear map, |det A| = {torch.linalg.det(A).abs().item():.2f}")
print(f"  log p(x) by the change of variables: {by_formula.item():.6f}")
print(f"  log N(x; b, A A^T):                  {exact.item():.6f}")


def coupling_2d(u: torch.Tensor) -> torch.Tensor:
    """The hand-made coupling above, u [N, 2] -> x [N, 2]."""
    s, t = 0.6 * torch.sin(2 * u[..., 0]), u[..., 0] ** 2 - 1
    return torch.stack([u[..., 0], u[..., 1] * torch.exp(s) + t], dim=-1)


u_probe = torch.tensor([0.7, -0.4], dtype=torch.float64)
jac = torch.autograd.functional.jacobian(coupling_2d, u_probe)
print("nonlinear coupling at u = (0.7, -0.4):")
print(f"  Jacobian from autograd:\n{jac.numpy().round(4)}")
print(
    f"  log|det J| autograd: {torch.linalg.slogdet(jac).logabsdet.item():.6f}, formula s(u1): {0.6 * math.sin(1.4):.6f}"
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
xs = torch.linspace(0.01, 6, 400, dtype=torch.float64)
samples_1d = torch.randn(100_000, dtype=torch.float64).exp()
axes[0].hist(samples_1d.numpy(), bins=np.linspace(0, 6, 80), density=True, alpha=0.4, label="samples of exp(u)")
axes[0].plot(xs, log_p_x(xs).exp(), lw=2, label=r"$\mathcal{N}(\log x)\,/\,x$")
axes[0].plot(xs, base.log_prob(xs).exp(), lw=1.5, ls="--", label=r"base $\mathcal{N}(0, 1)$")
axes[0].set(title="1-D: x = exp(u)", xlabel="x", ylabel="density")
axes[0].legend()

u_cloud = torch.randn(4000, 2, dtype=torch.float64)
x_cloud = coupling_2d(u_cloud)
log_stretch = 0.6 * torch.sin(2 * u_cloud[:, 0])  # log|det J| at each point
axes[1].scatter(*u_cloud.T, s=3, c=u_cloud[:, 0], cmap="viridis")
axes[1].set(title=r"base samples $\mathbf{u}$", xlabel="$u_1$", ylabel="$u_2$", aspect="equal")
sc = axes[2].scatter(*x_cloud.T, s=3, c=log_stretch, cmap="coolwarm", vmin=-0.6, vmax=0.6)
axes[2].set(title=r"pushed forward: $\mathbf{x} = T(\mathbf{u})$", xlabel="$x_1$", ylabel="$x_2$")
fig.colorbar(sc, ax=axes[2], label=r"$\log|\det J_T|$ (red: stretched, density thinned)")
# Draw one small square and its image: its area grows by |det J|.
sq = torch.tensor([[0.7, -0.4], [0.9, -0.4], [0.9, -0.2], [0.7, -0.2], [0.7, -0.4]], dtype=torch.float64)
axes[1].plot(*sq.T, "k-", lw=1.5)
axes[2].plot(*coupling_2d(sq).T, "k-", lw=1.5)
fig.tight_layout()
rec.savefig(fig, "fig_flows_change_of_variables.png")
plt.show()

# %% [markdown]
# ## 3. The affine coupling layer in `rfn.flows`
#
# Images are tensors `[B, C, H, W]`, so every layer in `rfn.flows` works on channels. The
# coupling layer splits the channels in two halves, feeds the first half (and, in the RFN,
# a condition map) through a small convolutional network, and uses its output as a shift
# and a log-scale for the second half. This is the code that every Glow in this repository
# runs:

# %%
print(inspect.getsource(AffineCoupling._params))
print(inspect.getsource(AffineCoupling.forward))
print(inspect.getsource(AffineCoupling.inverse))

# %% [markdown]
# A 2-D point is a tensor `[B, 2, 1, 1]`: two channels, one pixel. The network's last
# convolution starts at zero, so at initialisation the shift is 0 and the raw log-scale is 0;
# with Glow's clamp $\log\sigma(r + 2)$ every point's second coordinate is multiplied by
# $\sigma(2) \approx 0.881$, and the log-determinant is $\log\sigma(2) \approx -0.127$.
# After giving the last layer random weights, the map is no longer trivial, and the inverse
# still recovers the input exactly.

# %%
torch.set_grad_enabled(False)  # sections 3 and 4 only evaluate layers
coupling = AffineCoupling(channels=2, hidden=16, clamp="sigmoid").double()
pts = torch.randn(4, 2, 1, 1, dtype=torch.float64)
y, logdet = coupling(pts)
print("input  :", pts.flatten(1).numpy().round(4).tolist())
print("output :", y.flatten(1).numpy().round(4).tolist())
print("logdet :", logdet.numpy().round(4).tolist(), f" log sigmoid(2) = {math.log(1 / (1 + math.exp(-2))):.4f}")
with torch.no_grad():
    nn.init.normal_(coupling.net.out.weight, std=0.5)
    nn.init.normal_(coupling.net.out.bias, std=0.5)
y, logdet = coupling(pts)
back, logdet_inv = coupling.inverse(y)
print("after randomising the last layer:")
print("  logdet forward       :", logdet.detach().numpy().round(4).tolist())
print(f"  max |inverse(forward(x)) - x| = {(back - pts).abs().max().item():.2e}")
print(f"  max |logdet + logdet_inverse| = {(logdet + logdet_inv).abs().max().item():.2e}")

# %% [markdown]
# ## 4. ActNorm and the invertible 1×1 convolution
#
# **ActNorm** is a per-channel scale and shift initialised from the first batch it sees,
# so that its output starts with zero mean and unit variance per channel. Its
# log-determinant is $H W \sum_c \log|s_c|$. The initialisation flag is a buffer, so it is
# saved with the weights: a reloaded layer does not re-initialise on new data.

# %%
actnorm = ActNorm(3)
scale, shift = torch.tensor([5.0, 0.5, 2.0]).view(1, 3, 1, 1), torch.tensor([3.0, -1.0, 0.0]).view(1, 3, 1, 1)
batch = torch.randn(512, 3, 4, 4) * scale + shift
out, ld = actnorm(batch)
print(
    "per-channel mean before:",
    batch.mean(dim=(0, 2, 3)).numpy().round(3),
    " after:",
    out.mean(dim=(0, 2, 3)).numpy().round(3),
)
print(
    "per-channel std  before:",
    batch.std(dim=(0, 2, 3)).numpy().round(3),
    " after:",
    out.std(dim=(0, 2, 3)).numpy().round(3),
)
print(f"logdet {ld[0].item():.4f} = H*W*sum(log_scale) = {16 * actnorm.log_scale.sum().item():.4f}")
reloaded = ActNorm(3)
reloaded.load_state_dict(actnorm.state_dict())
other = torch.randn(8, 3, 4, 4)
print("reloaded layer gives identical output on new data:", torch.equal(reloaded(other)[0], actnorm(other)[0]))

# %% [markdown]
# **The invertible 1×1 convolution** multiplies the channel vector of every pixel by one
# learned matrix $\mathbf{W}$, a learned generalisation of shuffling the channels between
# couplings. `rfn.flows` stores $\mathbf{W}$ through its LU factors, so $\log|\det\mathbf{W}|$
# is a sum of diagonal entries instead of a determinant, and starts it as a random rotation.

# %%
torch.manual_seed(seed)
invconv = InvConv1x1(4).double()
W = invconv.weight()
print("W W^T = I at initialisation (a rotation):", torch.allclose(W @ W.T, torch.eye(4).double(), atol=1e-6))
with torch.no_grad():
    invconv.log_s.add_(torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64))  # move away from a rotation
    invconv.upper.add_(0.2 * torch.randn(4, 4, dtype=torch.float64))
W = invconv.weight()
img = torch.randn(2, 4, 3, 5, dtype=torch.float64)
_, ld = invconv(img)
print(f"log|det W| from slogdet:     {torch.linalg.slogdet(W).logabsdet.item():.6f}")
print(f"log|det W| from LU diagonal: {invconv.log_s.sum().item():.6f}")
print(f"layer logdet {ld[0].item():.6f} = H*W*log|det W| = {15 * torch.linalg.slogdet(W).logabsdet.item():.6f}")

# %% [markdown]
# ## 5. Every log-determinant against autograd
#
# A flow is only as good as its log-determinants: a wrong one silently gives a wrong
# likelihood. For each layer, in float64, we build the full Jacobian of the map on one
# input `[1, 4, 2, 2]` (16 numbers) with `torch.autograd.functional.jacobian`, take its
# log-determinant with `slogdet`, and compare it with what the layer reports; we also check
# that the inverse recovers the input. The layers' weights are randomised first so that
# nothing is trivially the identity. (The test suite runs the same checks on fresh random
# inputs for whole multi-scale Glows.)


# %%
torch.set_grad_enabled(True)


def prepared(layer: nn.Module, cond_channels: int = 0) -> nn.Module:
    """A float64 copy of a layer, initialised on a batch (ActNorm) and then given random parameters."""
    layer = layer.double()
    c = torch.randn(64, cond_channels, 2, 2, dtype=torch.float64) if cond_channels else None
    layer(torch.randn(64, 4, 2, 2, dtype=torch.float64), c)  # data-dependent ActNorm initialisation
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))  # nothing stays at its (near-identity) initial value
    return layer


torch.manual_seed(seed)
x_check = torch.randn(1, 4, 2, 2, dtype=torch.float64)
cond = torch.randn(1, 3, 2, 2, dtype=torch.float64)
layers = {
    "ActNorm": (prepared(ActNorm(4)), None),
    "InvConv1x1": (prepared(InvConv1x1(4)), None),
    "AffineCoupling (sigmoid clamp)": (prepared(AffineCoupling(4, hidden=8, clamp="sigmoid")), None),
    "AffineCoupling (tanh clamp)": (prepared(AffineCoupling(4, hidden=8, clamp="tanh")), None),
    "AffineCoupling with a condition": (prepared(AffineCoupling(4, hidden=8, cond_channels=3), 3), cond),
    "Squeeze": (Squeeze(), None),
    "FlowStep (ActNorm, 1x1, coupling)": (prepared(FlowStep(4, hidden=8)), None),
}
rows = []
for name, (layer, c) in layers.items():

    def flat(v, layer=layer, c=c):
        return layer(v.view(1, 4, 2, 2), c)[0].flatten()

    jac = torch.autograd.functional.jacobian(flat, x_check.flatten())
    y, ld = layer(x_check, c)
    x_back, ld_inv = layer.inverse(y, c)
    autograd_logdet = torch.linalg.slogdet(jac).logabsdet.item()
    rows.append(
        {
            "layer": name,
            "layer logdet": ld.item(),
            "autograd logdet": autograd_logdet,
            "|difference|": abs(ld.item() - autograd_logdet),
            "inverse error": (x_back - x_check).abs().max().item(),
            "|fwd + inv logdet|": (ld + ld_inv).abs().item(),
        }
    )
check = pd.DataFrame(rows).set_index("layer")
check.to_csv(rec.path("tab_flows_logdet_check.csv"))
rec.record(rec.path("tab_flows_logdet_check.csv"))
assert (check["|difference|"] < 1e-8).all() and (check["inverse error"] < 1e-10).all()
display(check.style.set_uuid("logdet_check").format("{:.3g}"))

# %% [markdown]
# ## 6. A flow on two moons
#
# Now a whole flow: a stack of Glow steps (ActNorm, 1×1 convolution, affine coupling)
# from `rfn.flows` acting on points shaped `[B, 2, 1, 1]`, with a standard normal base.
# Training maximises the exact log-likelihood
#
# $$
# \log p(\mathbf{x}) = \log \mathcal{N}(T^{-1}(\mathbf{x}); \mathbf{0}, \mathbf{I}) + \sum_k \log|\det J_{T_k^{-1}}| ,
# $$
#
# on points from scikit-learn's two moons (`rfn.data.moons.two_moons`). A full-covariance
# Gaussian fitted to the same points is the baseline: it is the best any single linear
# flow can do.

# %%
PRESET = preset_for("moons-flow", profile)  # every setting of this run: rfn.presets.small
train_cfg = get_preset(PRESET).train
train = make_dataset("two-moons", split="train", seq_len=None).points.to(dev)
test = make_dataset("two-moons", split="test", seq_len=None).points.to(dev)
gauss = torch.distributions.MultivariateNormal(train.mean(0), torch.cov(train.T))
print(f"preset {PRESET}: {train_cfg['steps']} steps, batch {train_cfg['batch_size']}")
print(f"Gaussian baseline, test NLL: {-gauss.log_prob(test).mean().item():.3f} nats per point")

# %%
lo, hi = torch.tensor([-1.5, -1.0]), torch.tensor([2.5, 1.5])
n_grid = SETTINGS["grid"]
gx, gy = torch.meshgrid(
    torch.linspace(lo[0], hi[0], n_grid), torch.linspace(lo[1], hi[1], int(n_grid * 0.625)), indexing="xy"
)
grid_pts = torch.stack([gx.flatten(), gy.flatten()], dim=1).to(dev)


@torch.no_grad()
def density_image(model) -> np.ndarray:
    was = model.training
    model.eval()
    img = model.log_prob(grid_pts).exp().view(gx.shape).flip(0).cpu().numpy()  # rows from top (high y) down
    model.train(was)
    return img


# The run goes through the training engine (the same as `rfn train --preset PRESET`) in
# stages, so that the density can be drawn between them; a fresh folder each time.
out = run_dir("moons-flow", profile, seed, root=artifacts_dir)
shutil.rmtree(out, ignore_errors=True)
stops = np.unique(np.linspace(0, train_cfg["steps"], SETTINGS["snapshots"] + 1).astype(int))[1:]
overrides = [f"train.seed={seed}", f"train.device={dev}"]
snapshots = []
t0 = time.perf_counter()
for stop in stops:
    trainer, _ = train_preset(PRESET, out, overrides, resume=stop != stops[0], until=int(stop))
    if not snapshots:
        snapshots.append((0, None))
    snapshots.append((int(stop), density_image(trainer.model)))
train_s = time.perf_counter() - t0
flow = trainer.model.eval()
history = pd.read_csv(out / "metrics.csv")
snapshots = snapshots[1:]
with torch.no_grad():
    test_nll = -flow.log_prob(test).mean().item()
print(f"{train_cfg['steps']} steps in {train_s:.1f} s; {sum(p.numel() for p in flow.parameters()):,} parameters")
print(f"flow test NLL: {test_nll:.3f} nats per point; Gaussian: {-gauss.log_prob(test).mean().item():.3f}")

# %% [markdown]
# The figure shows the data, the best Gaussian next to the learned density, samples drawn
# by running the flow backwards from the base, and the test points mapped forwards into base
# space, where they should look like a standard normal: that is the "normalising" in the name.

# %%
with torch.no_grad():
    drawn = flow.sample(3000).cpu()
    z_test, _ = flow.encode(test)
    z_test = z_test.cpu()
fig, axes = plt.subplots(2, 3, figsize=(15, 8))
axes = axes.flatten()
extent = [lo[0].item(), hi[0].item(), lo[1].item(), hi[1].item()]
with torch.no_grad():
    gauss_img = gauss.log_prob(grid_pts).exp().view(gx.shape).flip(0).cpu().numpy()
axes[0].scatter(*test.cpu().T, s=2, alpha=0.5)
axes[0].set(title="test points", xlim=extent[:2], ylim=extent[2:])
axes[1].imshow(gauss_img, extent=extent, cmap="magma", aspect="auto", interpolation="bilinear")
axes[1].set(title="best Gaussian (a linear flow)")
axes[1].grid(False)
axes[2].imshow(snapshots[-1][1], extent=extent, cmap="magma", aspect="auto", interpolation="bilinear")
axes[2].set(title=f"learned density $p(\\mathbf{{x}})$, {flow.config.depth} Glow steps")
axes[2].grid(False)
axes[3].scatter(*drawn.T, s=2, alpha=0.5, color="C1")
axes[3].set(title="samples $T(\\mathbf{u})$, $\\mathbf{u} \\sim \\mathcal{N}(0, I)$", xlim=extent[:2], ylim=extent[2:])
axes[4].scatter(*z_test.T, s=2, alpha=0.4, color="C2")
circle = np.linspace(0, 2 * np.pi, 200)
for r in (1, 2, 3):
    axes[4].plot(r * np.cos(circle), r * np.sin(circle), "k-", lw=0.6)
axes[4].set(title="test points in base space $T^{-1}(\\mathbf{x})$", xlim=(-4, 4), ylim=(-4, 4), aspect="equal")
axes[5].plot(history["step"], history["loss"] / math.log(2), lw=0.8, label="flow (training batches)")
axes[5].axhline(-gauss.log_prob(test).mean().item() / math.log(2), color="k", ls="--", lw=1, label="Gaussian (test)")
axes[5].axhline(test_nll / math.log(2), color="C3", ls=":", lw=1.5, label="flow (test)")
axes[5].set(title="negative log-likelihood", xlabel="step", ylabel="bits per point")
axes[5].legend()
fig.tight_layout()
rec.savefig(fig, "fig_flows_two_moons.png")
plt.show()

# %% [markdown]
# How the density forms during training (each frame is one snapshot of $p(\mathbf{x})$ on
# the grid above):

# %%
frames = np.stack([img / img.max() for _, img in snapshots])  # each frame on its own colour scale
rgb = (cm.magma(frames)[..., :3] * 255).astype(np.uint8)  # [T, H, W, 3]
gif_path = viz.save_gif(
    rec.path("fig_flows_two_moons_training.gif"), torch.from_numpy(rgb).permute(0, 3, 1, 2).contiguous(), fps=6, scale=3
)
rec.record(gif_path)
display(Image(filename=str(gif_path)))

# %% [markdown]
# ## 7. The trained flow's log-determinant, point by point
#
# Finally the whole trained flow, copied to float64: at a few test points the summed
# log-determinants the layers report must equal the log-determinant of the 2×2 Jacobian of
# the complete map $\mathbf{x} \mapsto T^{-1}(\mathbf{x})$, and sampling followed by
# encoding must give back the base values.

# %%
flow64 = copy.deepcopy(flow).double().cpu()
to_base64 = flow64.encode


probe = test[:5].double().cpu()
_, reported = to_base64(probe)
autograd_ld = torch.stack(
    [
        torch.linalg.slogdet(torch.autograd.functional.jacobian(lambda p: to_base64(p[None])[0][0], pt)).logabsdet
        for pt in probe
    ]
)
u = torch.randn(5, 2, dtype=torch.float64)
u_back, _ = to_base64(flow64.decode(u))
table = pd.DataFrame(
    {
        "x1": probe[:, 0].numpy(),
        "x2": probe[:, 1].numpy(),
        "sum of layer logdets": reported.detach().numpy(),
        "slogdet of autograd Jacobian": autograd_ld.numpy(),
    }
)
display(table.style.set_uuid("trained_logdet").format("{:.6f}"))
print(f"max |difference| = {(reported - autograd_ld).abs().max().item():.2e}")
print(f"max |encode(sample(u)) - u| = {(u_back - u).abs().max().item():.2e}")
assert torch.allclose(reported, autograd_ld, atol=1e-8)

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

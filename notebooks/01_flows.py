# %% [markdown]
# # Normalising flows from scratch
#
# **The question.** How can a network turn simple noise into data and still say exactly how
# likely every data point is?
#
# **The idea.** A normalising flow is a chain of invertible maps. Pushing a data point
# backwards through the chain lands it on a simple base distribution, and the change of
# variables adds up how much each map stretches space (its log-determinant) to turn the base
# density into the data's density. This page builds the three layers of a Glow step as
# `rfn.flows` writes them, checks every log-determinant against autograd, and trains a small
# flow on two moons while drawing its density. Every later page builds on these layers.
#
# ```{glue:figure} opening
# :figwidth: 70%
# :figclass: rfn-opening
#
# A small flow of Glow steps trained on two moons: its density bends along the moons where the best
# Gaussian cannot, and it maps the test points onto a round cloud in base space (section 6 below).
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # the run: artifacts_dir/<profile>/moons-flow-seed<seed>/
# page parameters: None takes the profile's value (rfn/profiles.py)
snapshots = None  # pictures of the density during training
grid = None  # resolution of the density picture (points across)

# %% tags=["hide-input"]
import math
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Image, Markdown, display
from scipy import stats
from torch import nn

from rfn.book.page import book_profile, setup_page
from rfn.data import make_dataset
from rfn.flows import ActNorm, AffineCoupling, InvConv1x1
from rfn.pages import flows as page
from rfn.presets import get_preset
from rfn.runs import preset_for

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page("01_flows", profile, seed, device, figures_dir, snapshots=snapshots, grid=grid)

start = time.perf_counter()

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
x0 = torch.tensor(2.0, dtype=torch.float64)
grid_1d = torch.linspace(1e-4, 60.0, 600_001, dtype=torch.float64)
mass = torch.trapezoid(page.lognormal_log_density(grid_1d).exp(), grid_1d).item()
print(f"log p_x(2) by the change of variables: {page.lognormal_log_density(x0).item():.6f}")
print(f"log p_x(2) from scipy's log-normal:    {stats.lognorm(s=1.0).logpdf(2.0):.6f}")
print(f"integral of p_x over (0, 60]: {mass:.5f} (the rest of the mass lies beyond 60)")

# %% [markdown]
# The two numbers agree to the last digit printed, and the density integrates to one up to
# the small tail beyond 60: dividing by the stretch is all the change of variables does.

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
x_pt = torch.tensor([1.0, 0.3], dtype=torch.float64)
std_normal_2d = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.eye(2).double())
by_formula = std_normal_2d.log_prob(torch.linalg.solve(A, x_pt - b)) - torch.linalg.det(A).abs().log()
exact = torch.distributions.MultivariateNormal(b, A @ A.T).log_prob(x_pt)
print(f"linear map, |det A| = {torch.linalg.det(A).abs().item():.2f}")
print(f"  log p(x) by the change of variables: {by_formula.item():.6f}")
print(f"  log N(x; b, A A^T):                  {exact.item():.6f}")
u_probe = torch.tensor([0.7, -0.4], dtype=torch.float64)
jac = torch.autograd.functional.jacobian(page.example_coupling, u_probe)
print(f"nonlinear coupling at u = (0.7, -0.4): Jacobian from autograd\n{jac.numpy().round(4)}")
print(f"  log|det J|: autograd {torch.linalg.slogdet(jac).logabsdet.item():.6f}, s(u1) {0.6 * math.sin(1.4):.6f}")

# %% [markdown]
# Both routes give the same log-density for the linear map. For the coupling, autograd's
# Jacobian has a zero above the diagonal and $e^{s(u_1)}$ in the corner, so its
# log-determinant is $s(u_1)$ without computing any determinant.
#
# The figure shows the three cases: on the left, samples of $e^u$ against the log-normal
# density derived above (the dashed curve is the base density it came from); in the middle and
# on the right, 4,000 base points and their images under the coupling, coloured by
# $\log|\det J_T|$. The black square and its image show one small area being stretched
# or squeezed.

# %%
fig = page.change_of_variables_figure()
rec.savefig(fig, "fig_flows_change_of_variables.png")
plt.show()

# %% [markdown]
# Where the map stretches (red), the same number of points covers more area, so the
# density there is thinner; the colour bar runs from $-0.6$ to $0.6$ because $s(u_1)$ does.

# %% [markdown]
# ## 3. The affine coupling layer in `rfn.flows`
#
# Images are tensors `[B, C, H, W]`, so every layer in `rfn.flows` works on channels. The
# coupling layer splits the channels in two halves, feeds the first half (and, in the RFN,
# a condition map) through a small convolutional network, and uses its output as a shift
# and a log-scale for the second half. This is the code that every Glow in this repository
# runs:

# %%
print(page.source_of(AffineCoupling, "_params", "forward", "inverse"))

# %% [markdown]
# A 2-D point is a tensor `[B, 2, 1, 1]`: two channels, one pixel. The network's last
# convolution starts at zero, so at initialisation the shift is 0 and the raw log-scale is 0;
# with Glow's clamp $\log\operatorname{sigmoid}(r + 2)$ every point's second coordinate is multiplied by
# $\operatorname{sigmoid}(2) \approx 0.881$, and the log-determinant is $\log\operatorname{sigmoid}(2) \approx -0.127$.
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
print("after randomising the last layer, logdet forward:", logdet.detach().numpy().round(4).tolist())
print(f"  max |inverse(forward(x)) - x| = {(back - pts).abs().max().item():.2e}")
print(f"  max |logdet + logdet_inverse| = {(logdet + logdet_inv).abs().max().item():.2e}")

# %% [markdown]
# At initialisation all four points get the same log-determinant, $\log\operatorname{sigmoid}(2)$,
# and only the second coordinate shrinks; with random weights each point gets its own, since
# the log-scale now depends on its first coordinate, and the inverse still undoes the map to
# float64 rounding.

# %% [markdown]
# ## 4. ActNorm and the invertible 1×1 convolution
#
# **ActNorm** is a per-channel scale and shift initialised from the first batch it sees,
# so that its output starts with zero mean and unit variance per channel. Its
# log-determinant is $H W \sum_c \log|s_c|$. The initialisation flag is a buffer, so it is
# saved with the weights: a reloaded layer does not re-initialise on new data.
#
# The cell feeds one batch whose three channels have means 3, -1, 0 and standard deviations
# 5, 0.5, 2 through a fresh layer; the table compares each channel's mean and standard
# deviation before and after it.

# %%
actnorm = ActNorm(3)
scale, shift = torch.tensor([5.0, 0.5, 2.0]).view(1, 3, 1, 1), torch.tensor([3.0, -1.0, 0.0]).view(1, 3, 1, 1)
batch = torch.randn(512, 3, 4, 4) * scale + shift
out, ld = actnorm(batch)
display(page.channel_moments(batch, out))
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
# nothing is trivially the identity (`rfn.pages.flows.layer_logdet_table`; the test suite runs the
# same checks on fresh random inputs for whole multi-scale Glows).

# %%
torch.set_grad_enabled(True)
check = page.layer_logdet_table(seed)
check.to_csv(rec.path("tab_flows_logdet_check.csv"))
rec.record(rec.path("tab_flows_logdet_check.csv"))
assert (check["|difference|"] < 1e-8).all() and (check["inverse error"] < 1e-10).all()
display(check.style.set_uuid("logdet_check").format("{:.3g}"))

# %% [markdown]
# Every difference sits at float64 rounding (around $10^{-15}$), and so does every inverse
# error: each layer's formula is its exact log-determinant, and the inverse undoes it.
# `Squeeze` only moves numbers around, so its log-determinant is 0 both ways.

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
train = make_dataset("two-moons", split="train", seq_len=None).points
test = make_dataset("two-moons", split="test", seq_len=None).points
gauss = torch.distributions.MultivariateNormal(train.mean(0), torch.cov(train.T))
grid = page.DensityGrid(nx=SETTINGS["grid"], ny=int(SETTINGS["grid"] * 0.625))
flow, snapshots, history, train_s = page.train_in_stages(profile, seed, artifacts_dir, dev, grid, SETTINGS["snapshots"])
with torch.no_grad():
    test_nll = -flow.log_prob(test.to(dev)).mean().item()
    gauss_nll = -gauss.log_prob(test).mean().item()
print(f"preset {PRESET}: {train_cfg['steps']} steps, batch {train_cfg['batch_size']}, trained in {train_s:.1f} s")
print(f"{sum(p.numel() for p in flow.parameters()):,} parameters")
print(f"test NLL: flow {test_nll:.3f}, Gaussian {gauss_nll:.3f} nats per point")

# %% [markdown]
# The figure shows the data, the best Gaussian next to the learned density, samples drawn
# by running the flow backwards from the base, and the test points mapped forwards into base
# space, where they should look like a standard normal: that is the "normalising" in the name.

# %%
fig = page.two_moons_figure(flow, test, gauss, snapshots[-1][1], grid, history)
rec.savefig(fig, "fig_flows_two_moons.png", opening=True)
plt.show()
display(Markdown(page.two_moons_verdict(test_nll, gauss_nll)))

# %% [markdown]
# How the density forms during training (each frame is one snapshot of $p(\mathbf{x})$ on
# the grid above, each on its own colour scale):

# %%
display(Image(filename=str(page.save_density_gif(rec, snapshots, "fig_flows_two_moons_training.gif"))))

# %% [markdown]
# ## 7. The trained flow's log-determinant, point by point
#
# Finally the whole trained flow, copied to float64: at a few test points the summed
# log-determinants the layers report must equal the log-determinant of the 2×2 Jacobian of
# the complete map $\mathbf{x} \mapsto T^{-1}(\mathbf{x})$, and sampling followed by
# encoding must give back the base values.

# %%
table, logdet_err, roundtrip_err = page.trained_logdet_table(flow, test[:5], seed)
display(table.style.set_uuid("trained_logdet").format("{:.6f}"))
print(f"max |difference| = {logdet_err:.2e}; max |encode(sample(u)) - u| = {roundtrip_err:.2e}")
assert logdet_err < 1e-8

# %% [markdown]
# Training changes the weights, not the bookkeeping: the log-determinants still agree to
# float64 rounding and the inverse is still exact.

# %% [markdown]
# ## 8. The RFN's emission for one frame, written out
#
# Everything so far acted on points. The RFN uses the same layers on images, conditioned on
# its recurrent state: its emission $\log p(\tilde{\mathbf{x}}_t \mid \mathbf{z}_t, \mathbf{h}_t)$
# ({eq}`eq-rfn-emission`) is a conditional multi-scale Glow. Here is that log-likelihood in
# plain torch operations on the weights of a package model, piece by piece:
#
# - **the conditioning network** (cond-net in {eq}`eq-rfn-emission`): starting from
#   $[\mathbf{h}_t, \mathbf{z}_t]$ at the coarsest resolution, each level (coarse to fine)
#   doubles the resolution of what came from below (nearest neighbour), appends the
#   extractor's features of the previous frame at that resolution (the U-Net skips) and
#   applies two convolution, BatchNorm and leaky-ReLU blocks; the output of level $l$ is the
#   condition map $\mathbf{c}_{t,l}$;
# - **squeeze**: every 2×2 block of pixels becomes four channels (a permutation, log-determinant 0);
# - **ActNorm**: $(\mathbf{x} - \mathbf{b}) \odot e^{\mathbf{s}}$, log-determinant $HW\sum_c s_c$;
# - **invertible 1×1 convolution** ({eq}`eq-invconv`): the matrix is rebuilt from its LU
#   factors, $\mathbf{W} = \mathbf{P}\mathbf{L}(\mathbf{U} + \operatorname{diag}(\mathbf{d} \odot e^{\mathbf{s}}))$
#   with fixed signs $\mathbf{d}$, so its log-determinant is $HW \sum \mathbf{s}$;
# - **affine coupling** ({eq}`eq-coupling`, {eq}`eq-coupling-logdet`): a small network reads
#   the first half of the channels and the condition map and gives a shift and a log-scale
#   $\log\operatorname{sigmoid}(r + 2)$ for the second half;
# - **split** ({eq}`eq-multiscale`, {eq}`eq-conditional-flow`): half of the channels leave the
#   flow and are scored under a Gaussian whose mean and standard deviation a network computes
#   from the kept half and the condition map (a learned conditional prior); the top level's
#   output is scored under the base Gaussian computed from $\mathbf{c}_{t,L}$.
#
# The sum of the log-densities and log-determinants, plus the dequantisation constant
# $-D \log 2^n$ of {eq}`eq-dequant`, must equal `RFN.emission_log_prob`. The model is the
# `smoke` preset's RFN (two levels, one step per level) with every weight moved off its
# initial value (`rfn.pages.scratch.scratch_model`), so this runs in a second at every profile.

# %% tags=["from-scratch"]
import math

import torch
import torch.nn.functional as F

from rfn import pixels
from rfn.pages.scratch import scratch_model

rfn_model, clip = scratch_model("rfn", seed=0)  # eval mode; clip: uint8 [2, 4, 1, 16, 16]
W = {k: v.detach() for k, v in [*rfn_model.named_parameters(), *rfn_model.named_buffers()]}
assert rfn_model.config.skip == "cond" and rfn_model.config.clamp == "sigmoid" and rfn_model.config.style == "vgg"


def conv_bn_act(x, name):
    """conv 3x3 (no bias) -> BatchNorm with its running statistics -> leaky ReLU 0.2."""
    y = F.conv2d(x, W[f"{name}.0.weight"], padding=1)
    y = (y - W[f"{name}.1.running_mean"][:, None, None]) / torch.sqrt(W[f"{name}.1.running_var"][:, None, None] + 1e-5)
    return F.leaky_relu(y * W[f"{name}.1.weight"][:, None, None] + W[f"{name}.1.bias"][:, None, None], 0.2)


def coupling_net(x, name):
    """Glow's coupling / prior network: conv 3x3 -> ActNorm -> ReLU -> conv 1x1 -> ActNorm -> ReLU -> conv 3x3."""
    x = F.conv2d(x, W[f"{name}.conv1.weight"], padding=1)
    x = torch.relu((x - W[f"{name}.norm1.loc"]) * W[f"{name}.norm1.log_scale"].exp())
    x = F.conv2d(x, W[f"{name}.conv2.weight"])
    x = torch.relu((x - W[f"{name}.norm2.loc"]) * W[f"{name}.norm2.log_scale"].exp())
    out = F.conv2d(x, W[f"{name}.out.weight"], W[f"{name}.out.bias"], padding=1)
    return out[:, 0::2], out[:, 1::2]  # (shift or mean, raw log-scale or raw std), interleaved channels


def log_normal(x, mean, raw):
    """Per-sample log N(x; mean, std^2) with std = softplus(raw + softplus^-1(1)) + 1e-4."""
    std = F.softplus(raw + math.log(math.e - 1)) + 1e-4
    return (-0.5 * ((x - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


def emission_log_prob(x, h, z, skips):
    """log p(x_t | h_t, z_t) in nats for dequantised frames x [N, C, H, W] in [-0.5, 0.5)."""
    L = rfn_model.config.levels
    cond, y = [None] * L, torch.cat([h, z], 1)
    for l in reversed(range(L)):  # the conditioning network, coarse to fine
        y = y if l == L - 1 else F.interpolate(y, scale_factor=2, mode="nearest")
        y = conv_bn_act(torch.cat([y, skips[l]], 1), f"conditioner.blocks.{l}.0")
        cond[l] = y = conv_bn_act(y, f"conditioner.blocks.{l}.1")
    total = x.new_zeros(x.shape[0])
    for l in range(L):
        b, c, hh, ww = x.shape  # squeeze: [b, c, hh, ww] -> [b, 4c, hh/2, ww/2]
        x = x.reshape(b, c, hh // 2, 2, ww // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, hh // 2, ww // 2)
        for k in range(rfn_model.config.flow_steps):
            p = f"flow.levels.{l}.{k}"
            x = (x - W[f"{p}.actnorm.loc"]) * W[f"{p}.actnorm.log_scale"].exp()  # ActNorm
            upper = W[f"{p}.invconv.upper"] * W[f"{p}.invconv.lower_mask"].T
            upper = upper + torch.diag(W[f"{p}.invconv.sign_s"] * W[f"{p}.invconv.log_s"].exp())
            lower = W[f"{p}.invconv.lower"] * W[f"{p}.invconv.lower_mask"] + W[f"{p}.invconv.eye"]
            x = F.conv2d(x, (W[f"{p}.invconv.perm"] @ lower @ upper)[:, :, None, None])  # 1x1 convolution
            x_a, x_b = x.chunk(2, 1)  # affine coupling
            shift, raw = coupling_net(torch.cat([x_a, cond[l]], 1), f"{p}.coupling.net")
            log_s = F.logsigmoid(raw + 2.0)
            x = torch.cat([x_a, x_b * log_s.exp() + shift], 1)
            hw = x.shape[2] * x.shape[3]  # ActNorm and 1x1 convolution: the same log-determinant at every pixel
            total = total + hw * (W[f"{p}.actnorm.log_scale"].sum() + W[f"{p}.invconv.log_s"].sum())
            total = total + log_s.flatten(1).sum(1)
        if l < L - 1:  # split: the second half leaves under its conditional prior
            x, u = x.chunk(2, 1)
            total = total + log_normal(u, *coupling_net(torch.cat([x, cond[l]], 1), f"flow.splits.{l}.prior_net"))
    return total + log_normal(x, *coupling_net(cond[-1], "flow.base_net"))  # the base Gaussian reads c_{t,L}


with torch.no_grad():
    post = rfn_model.infer(clip)
    target, h, z, skips = rfn_model.emission_inputs(post, clip)  # frames 1..T-1 of both clips: N = 6
    torch.manual_seed(2)
    package = rfn_model.emission_log_prob(target, h, z, skips)
torch.manual_seed(2)  # the same dequantisation noise: x~ = x / 256 - 0.5 + U(0, 1/256)
x_tilde = pixels.to_float(target) + torch.rand(target.shape) / 256
D = target[0].numel()
ours = emission_log_prob(x_tilde, h, z, [s.detach() for s in skips]) - D * math.log(256)
torch.testing.assert_close(ours, package)
print(f"emission from scratch = rfn.models.RFN.emission_log_prob on {len(ours)} frames: "
      f"{(-ours / (D * math.log(2))).mean():.3f} bits per pixel (an untrained flow)")  # fmt: skip

# %% tags=["remove-input"]
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying.

# %% [markdown]
# **Exercise 1** (derive). An affine coupling maps $\mathbf{x} = [\mathbf{x}_a, \mathbf{x}_b]$
# to $\mathbf{y}_a = \mathbf{x}_a$ and
# $\mathbf{y}_b = \mathbf{x}_b \odot e^{\mathbf{s}} + \mathbf{t}$, where
# $\mathbf{s} = \mathbf{s}(\mathbf{x}_a, \mathbf{c})$ and $\mathbf{t} = \mathbf{t}(\mathbf{x}_a, \mathbf{c})$
# are computed by a network and $\mathbf{c}$ is a condition map. Write its Jacobian
# $\partial\mathbf{y}/\partial\mathbf{x}$ in blocks and show that $\log|\det J| = \sum_i s_i$.
# Why do the derivatives of the network $\mathbf{s}, \mathbf{t}$ never have to be computed,
# and why does the condition map not enter the determinant?
#
# ```{admonition} Solution
# :class: dropdown
# Order the variables as $(\mathbf{x}_a, \mathbf{x}_b)$. Then
#
# $$
# J = \begin{pmatrix} \mathbf{I} & \mathbf{0} \\
#     \partial \mathbf{y}_b / \partial \mathbf{x}_a & \operatorname{diag}(e^{\mathbf{s}}) \end{pmatrix},
# $$
#
# since $\mathbf{y}_a$ does not depend on $\mathbf{x}_b$ and $\mathbf{y}_b$ depends on each
# $x_{b,i}$ only through its own entry. The matrix is block lower-triangular, so its
# determinant is the product of the diagonal blocks' determinants, $1 \cdot \prod_i e^{s_i}$,
# and $\log|\det J| = \sum_i s_i$. The block $\partial\mathbf{y}_b/\partial\mathbf{x}_a$, the
# only place where the network's derivatives appear, sits below the diagonal and drops out:
# the network can be as complicated as we like. The condition $\mathbf{c}$ is not one of the
# variables being transformed (it is fixed input, like a weight), so it has no row or column
# in $J$; it only changes the value of $\mathbf{s}$. In `rfn.flows` the clamp makes
# $s_i = \log\operatorname{sigmoid}(r_i + 2)$, which is what `AffineCoupling.forward` sums.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). A freshly built `AffineCoupling(channels=4, hidden=8)`
# with Glow's clamp acts on a batch `[3, 4, 5, 5]`. Its network's last convolution starts at
# zero. Predict the log-determinant it reports for each of the three inputs (a number), then
# run the hidden cell.
#
# ```{admonition} Solution
# :class: dropdown
# With a zero last layer, $r = 0$ everywhere, so every one of the $2 \times 5 \times 5 = 50$
# transformed entries (half of the 4 channels, at 25 positions) has $s = \log\operatorname{sigmoid}(2) \approx -0.1269$:
# the log-determinant is $50 \log\operatorname{sigmoid}(2) \approx -6.345$ for every input, whatever its
# values. The cell prints it and the prediction.
# ```

# %% tags=["hide-cell", "exercise-solution"]
import math

import torch

from rfn.flows import AffineCoupling

fresh = AffineCoupling(channels=4, hidden=8)
_, logdet_fresh = fresh(torch.randn(3, 4, 5, 5))
print("reported:", logdet_fresh.tolist(), " predicted:", round(2 * 25 * math.log(1 / (1 + math.exp(-2))), 4))
torch.testing.assert_close(logdet_fresh, torch.full((3,), 50 * math.log(1 / (1 + math.exp(-2)))))

# %% [markdown]
# **Exercise 3** (modify). The check of section 8 scores each frame under one draw of the
# dequantisation noise. Modify it to score the same six frames under four draws (seeds 10 to
# 13), checking the from-scratch emission against the package at each draw, and print how far
# the bits per pixel of one frame move from draw to draw. Is the spread large next to the
# differences between models that later pages compare?
#
# ```{admonition} Solution
# :class: dropdown
# The hidden cell loops over the seeds; the from-scratch code agrees with the package at every
# draw. The noise moves each pixel by less than one grey level, and the bits per pixel of a
# frame change only in the second or third decimal, far below the differences between
# models on the later pages. Averaging over draws (or over many frames, as the evaluation
# does) removes even that.
# ```

# %% tags=["hide-cell", "exercise-solution"]
bits = []
for draw in range(10, 14):
    torch.manual_seed(draw)
    x_draw = pixels.to_float(target) + torch.rand(target.shape) / 256
    with torch.no_grad():
        torch.manual_seed(draw)
        by_package = rfn_model.emission_log_prob(target, h, z, skips)
    by_hand = emission_log_prob(x_draw, h, z, [s.detach() for s in skips]) - D * math.log(256)
    torch.testing.assert_close(by_hand, by_package)
    bits.append(-by_hand / (D * math.log(2)))
bits = torch.stack(bits)  # [draws, frames]
print("bits per pixel of frame 0 under four draws:", [round(b, 4) for b in bits[:, 0].tolist()])
print(f"largest spread over the draws, any frame: {(bits.max(0).values - bits.min(0).values).max():.4f} bits")

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** no thesis figure. This page works through the flow machinery of the
# thesis's chapter 4 (whose figures are diagrams) on numbers: the change of variables in
# one and two dimensions, the three layers of a Glow step as they are written in
# `rfn.flows` (affine coupling, ActNorm, invertible 1×1 convolution), a small flow trained
# on two moons, and a check of every log-determinant against a Jacobian computed by
# autograd. Every later page builds on these layers.
#
# **Run time** (measured on a shared 2-core CPU): `smoke` 10-25 s; `quick` and `reference`
# about 2 minutes (45 s of CPU time); `thesis` about three times `quick`. The model is tiny,
# so a GPU brings no speed-up here.
#
# **Checkpoint:** none loaded. The flow (preset `<profile>-moons-flow`; `reference` uses the
# quick preset) is trained from scratch on this page by the training engine, in stages so
# that its density can be drawn, into `artifacts/<profile>/moons-flow-seed<seed>/`.
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig_flows_change_of_variables.png`,
# `fig_flows_two_moons.png`, `fig_flows_two_moons_training.gif`, `tab_flows_logdet_check.csv`.
# :::

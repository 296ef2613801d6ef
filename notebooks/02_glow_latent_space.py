# %% [markdown]
# # Glow's latent space
#
# **Reproduces:** thesis Fig 2.1a (a t-SNE map of Glow latents of MNIST digits, coloured
# by class), Fig 2.1b (decoding a path between the latents of two digits), and appendix
# A.4 with Figs A.3-A.5 (a conditional Glow that fills in the inner 16×16 square of a
# 2-bit 32×32 image from its border). The thesis ran the A.4 task on 2-bit CelebA faces,
# which cannot be downloaded here; this page runs the same task on 2-bit MNIST digits
# zero-padded to 32×32 (`rfn.data.conditional_mnist`), so Figs A.3-A.5 show digits, not
# faces. The page also draws samples at several temperatures, a knob the later pages
# (notebook 06) turn on the RFN.
#
# **Run time** (measured with `python -m rfn.book run --only 02`): `smoke` about 20 s;
# `quick` 3 minutes of CPU time on one core, training both flows included (6.5 minutes of
# wall time on a 2-core machine shared with other jobs); `full` not yet measured (an
# estimate: 20-30 minutes on one GPU). With the checkpoints in place a rerun takes about
# a minute.
#
# **Checkpoints:** trained on this page (presets `<profile>-glow-mnist` and
# `<profile>-cond-glow-mnist`) and cached: `artifacts/<profile>/glow-mnist-seed<seed>/last.pt`
# (unconditional `ImageGlow`) and `artifacts/<profile>/cond-glow-mnist-seed<seed>/last.pt`
# (`ConditionalImageGlow`).
#
# **Writes:** `figures/<profile>/fig2_1a_glow_latent_tsne.png`,
# `fig2_1b_glow_latent_interpolation.png`, `fig_glow_mnist_temperature_samples.png`,
# `fig_glow_mnist_training.png`, `figA_3_quantised_digits.png`, `figA_4_inpainting_task.png`,
# `figA_5_conditional_glow_inpainting.png`, `tab_glow_mnist_bpp.csv`.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | reference | thesis
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "figures"  # figures go to figures_dir/<profile>/
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/{glow,cond-glow}-mnist-seed<seed>/

# %%
import json
import math
import random
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from matplotlib.patches import Rectangle
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from rfn import viz
from rfn.book import FigureRecorder
from rfn.data import conditional_mnist, join_inner_square, load_mnist
from rfn.data.images import quantize
from rfn.presets import get_preset
from rfn.runs import preset_for, run_dir, trained_model
from rfn.runtime import resolve_device

SETTINGS = {  # what the page measures at each profile (the models' settings are their presets')
    # n_test: test images behind every bits-per-pixel number; tsne: test digits on the t-SNE map
    "smoke": {"n_test": 200, "tsne": 200},
    "quick": {"n_test": 2000, "tsne": 1000},
    "reference": {"n_test": 2000, "tsne": 1000},
    "thesis": {"n_test": 10_000, "tsne": 3000},
}[profile]
GLOW, COND = preset_for("glow-mnist", profile), preset_for("cond-glow-mnist", profile)  # see rfn.presets.small

random.seed(seed)
np.random.seed(seed)  # noqa: NPY002 (seeds any library code that draws from NumPy's global generator)
torch.manual_seed(seed)
dev = torch.device(resolve_device(device))
if dev.type == "cpu":
    # Small convolutions on a 2-core machine: one thread avoids threads waiting on each other.
    torch.set_num_threads(1)
viz.set_book_style()
rec = FigureRecorder("02_glow_latent_space", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
start = time.perf_counter()
print(f"profile={profile} seed={seed} device={dev} torch={torch.__version__}")
print(SETTINGS, "presets:", GLOW, COND)

# %% [markdown]
# ## 1. An unconditional Glow on MNIST
#
# `rfn.models.ImageGlow` is the multi-scale Glow of `rfn.flows` wrapped for `uint8`
# images: pixels are scaled to $[-0.5, 0.5]$, uniform noise of one quantisation bin is added
# (dequantisation), and the loss is the negative log-likelihood in bits per pixel. MNIST's
# 28×28 digits fit two levels (28 → 14 → 7) without padding.
#
# The model is the preset `<profile>-glow-mnist` (`rfn.presets.small`: Adam, a linear
# learning-rate warm-up, gradient clipping), trained by the project's training engine, the
# same as `rfn train --preset quick-glow-mnist`; the next run of this page loads its
# checkpoint instead of training.

# %%
train_x, train_y = load_mnist("train")
test_x, test_y = load_mnist("test")
train_x, test_x = train_x[:, None].to(dev), test_x[:, None]  # uint8 [N, 1, 28, 28]
print(f"MNIST: {len(train_x):,} training and {len(test_x):,} test digits, {tuple(train_x.shape[1:])}, uint8")


@torch.no_grad()
def test_bpp(model, batches) -> float:
    """Mean test bits per pixel over ``batches`` with one fixed draw of dequantisation noise."""
    model.eval()
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(1234)  # the same noise at every evaluation, so numbers are comparable
        values, counts = [], []
        for b in batches:
            values.append(model.loss(b)["bpp"].item())
            counts.append(len(b[0]) if isinstance(b, tuple) else len(b))
    return float(np.average(values, weights=counts))


def run_log(kind: str, model, batches) -> dict:
    """Training curve (metrics.csv), training time and final test bpp of the book's run of ``kind``."""
    folder = run_dir(kind, profile, seed, root=artifacts_dir)
    rows = pd.read_csv(folder / "metrics.csv") if (folder / "metrics.csv").is_file() else pd.DataFrame()
    timing = folder / "train_time.json"
    seconds = json.loads(timing.read_text())["wall_s"] if timing.is_file() else float("nan")
    steps = get_preset(preset_for(kind, profile)).train["steps"]
    return {
        "step": rows.get("step", pd.Series(dtype=float)).tolist(),
        "train_bpp": rows.get("bpp", pd.Series(dtype=float)).tolist(),
        "test_step": [steps],
        "test_bpp": [test_bpp(model, batches)],
        "seconds": seconds,
    }


test_batches = [test_x[i : min(i + 500, SETTINGS["n_test"])].to(dev) for i in range(0, SETTINGS["n_test"], 500)]
glow = trained_model("glow-mnist", profile, seed, root=artifacts_dir, device=dev)  # trains it if missing
glow_log = run_log("glow-mnist", glow, test_batches)
print(f"{sum(p.numel() for p in glow.parameters()):,} parameters; config {glow.config}")
print(f"test bpp after {glow_log['test_step'][-1]} steps: {glow_log['test_bpp'][-1]:.3f}")

# %% [markdown]
# ## 2. The latent space: a t-SNE map (Fig 2.1a)
#
# `ImageGlow.encode` is the bijection itself (no dequantisation noise; each pixel is placed
# at the centre of its bin): for a 28×28 digit it returns the half of the channels that the
# first level factors out, `[2, 14, 14]`, and the output of the last level, `[8, 7, 7]`.
# Together they have exactly 784 numbers, as many as the image: a flow keeps every detail,
# it only moves it. We concatenate **both levels** (784 numbers per digit) for the main map,
# and also map the **top level alone** (392 numbers), where the coarse structure of the
# digit ends up. As a reference, the third panel maps the raw pixels: since the flow is an
# invertible function of the pixels, any clustering in latent space should be compared with
# what the pixels already show.

# %%
n_tsne = SETTINGS["tsne"]
digits, labels = test_x[:n_tsne].to(dev), test_y[:n_tsne].numpy()
with torch.no_grad():
    latents = glow.encode(digits)
print("latent shapes per level:", [tuple(z.shape[1:]) for z in latents])
views = {
    "Glow latents, both levels (784)": torch.cat([z.flatten(1) for z in latents], 1),
    "Glow latents, top level (392)": latents[-1].flatten(1),
    "raw pixels (784), for reference": digits.flatten(1).float() / 255,
}
t0 = time.perf_counter()
maps = {}
for title, feats in views.items():
    tsne = TSNE(n_components=2, perplexity=min(30, n_tsne // 4), init="pca", random_state=seed)
    maps[title] = tsne.fit_transform(feats.cpu().double().numpy())
print(f"t-SNE of {n_tsne} test digits, three times: {time.perf_counter() - t0:.1f} s")

fig, axes = plt.subplots(1, 3, figsize=(17, 5.4))
palette = plt.get_cmap("tab10")
for ax, (title, xy) in zip(axes, maps.items()):
    for d in range(10):
        sel = labels == d
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=palette(d), label=str(d), alpha=0.8)
        if sel.any():
            cx, cy = np.median(xy[sel], axis=0)
            ax.text(cx, cy, str(d), fontsize=15, weight="bold", ha="center", va="center", color="black", alpha=0.75)
    ax.set(title=title, xticks=[], yticks=[])
axes[0].legend(title="digit", markerscale=3, ncol=2, fontsize=8, loc="best")
fig.suptitle(f"Fig 2.1a: t-SNE of {n_tsne} MNIST test digits ({profile} profile Glow)", y=1.02)
fig.tight_layout()
rec.savefig(fig, "fig2_1a_glow_latent_tsne.png")
plt.show()

# %% [markdown]
# How well do the classes separate? A simple number: the share of digits whose nearest
# neighbour *in the 2-D map* has the same label (chance is about 10%). It is a rough
# summary of the picture, not a property of the flow.

# %%
rows = []
for title, xy in maps.items():
    neighbour = NearestNeighbors(n_neighbors=2).fit(xy).kneighbors(xy, return_distance=False)[:, 1]
    rows.append({"features": title, "nearest neighbour has the same digit": (labels[neighbour] == labels).mean()})
scores = pd.DataFrame(rows).set_index("features")
display(scores.style.format("{:.1%}"))
latent_score, pixel_score = scores.iloc[0, 0], scores.iloc[2, 0]
verdict = "better than" if latent_score > pixel_score + 0.02 else "no better than"
display(
    Markdown(
        f"Here the map of the latents separates the digits {verdict} the map of the raw pixels "
        f"({latent_score:.0%} against {pixel_score:.0%}). A flow trained by maximum likelihood is not "
        "asked to group classes; whatever grouping its latent space shows, it inherits from the pixels and "
        "reshapes, and a short training run reshapes little."
    )
)

# %% [markdown]
# ## 3. Walking between two digits (Fig 2.1b)
#
# The thesis's figure decodes points on a path between the latents of a **2** and a **6**.
# We encode two test digits, walk from one latent to the other, and decode every point
# with the exact inverse (`ImageGlow.decode`). Two paths:
#
# - **linear**: $\mathbf{z}(\alpha) = (1-\alpha)\,\mathbf{z}_\text{start} + \alpha\,\mathbf{z}_\text{end}$;
# - **spherical** (slerp): along the great circle between the two, which keeps the norm
#   of the latent roughly constant. A straight line through a high-dimensional Gaussian
#   passes closer to the origin than typical samples lie, which acts like a lower
#   temperature (section 4 below); slerp avoids that.
#
# Both are done on all levels at once (the 784 concatenated numbers).


# %%
def first_of(digit: int, skip: int = 0) -> int:
    return int(np.flatnonzero(test_y.numpy() == digit)[skip])


def slerp(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """Spherical interpolation of two flat vectors (falls back to linear when they are parallel)."""
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - alpha) * a + alpha * b
    return (torch.sin((1 - alpha) * omega) * a + torch.sin(alpha * omega) * b) / torch.sin(omega)


pairs = [(first_of(2), first_of(6)), (first_of(1), first_of(7)), (first_of(4), first_of(9))]
alphas = np.linspace(0, 1, 10)
shapes = [z.shape[1:] for z in latents]
sizes = [math.prod(s) for s in shapes]


def unflatten(flat: torch.Tensor) -> list[torch.Tensor]:
    return [p.reshape(-1, *s) for p, s in zip(flat.split(sizes, dim=1), shapes)]


rows, names = [], []
with torch.no_grad():
    for i, j in pairs:
        z = torch.cat([t.flatten(1) for t in glow.encode(test_x[[i, j]].to(dev))], 1)
        for kind in ("linear", "spherical"):
            path = [(1 - a) * z[0] + a * z[1] if kind == "linear" else slerp(z[0], z[1], float(a)) for a in alphas]
            rows.append(glow.decode(unflatten(torch.stack(path))).cpu())
            names.append(f"{test_y[i].item()} → {test_y[j].item()}, {kind}")
    # the end points decode back to the inputs exactly (up to float error): a flow has no reconstruction loss
    z = glow.encode(test_x[pairs[0][0] : pairs[0][0] + 1].to(dev))
    err = (glow.decode(z).cpu().int() - test_x[pairs[0][0] : pairs[0][0] + 1].int()).abs().max().item()
print(f"max |decode(encode(x)) - x| over one digit: {err} grey levels")
strip = viz.video_grid(torch.stack(rows), pad=2, scale=2)
fig, ax = plt.subplots(figsize=(12, 0.75 * len(rows) + 0.6))
ax.imshow(strip)
row_h = strip.shape[0] / len(rows)
ax.set_yticks([row_h * (k + 0.5) for k in range(len(rows))], names)
ax.set_xticks([])
ax.set_title(r"Fig 2.1b: decoded latents from $\mathbf{z}_\mathrm{start}$ (left) to $\mathbf{z}_\mathrm{end}$ (right)")
ax.grid(False)
rec.savefig(fig, "fig2_1b_glow_latent_interpolation.png")
plt.show()

# %% [markdown]
# ## 4. Samples and temperature
#
# Sampling runs the flow backwards from draws of its priors. Scaling every prior's standard
# deviation by a temperature $T < 1$ keeps the samples nearer the modes: cleaner strokes,
# less variety. $T = 0$ decodes the prior means alone. The RFN pages (notebook 06) use the
# same knob on the RFN's flow.
#
# Good samples are what a short run lacks most. Encoding and decoding are exact from the
# first step, which is why the t-SNE map and the interpolations above already work; but
# the density must be learned well everywhere before draws from it look like digits. In
# the `quick` profile (a few hundred steps on a CPU) they are strokes and blobs; the
# published Glow on MNIST trained for far longer on GPUs.

# %%
temperatures = [0.0, 0.5, 0.7, 0.85, 1.0]
n_per_row = 10
torch.manual_seed(seed)
samples = torch.stack([glow.sample(n_per_row, temperature=t).cpu() for t in temperatures])  # [rows, n, 1, 28, 28]
strip = viz.video_grid(samples, pad=2, scale=2)
fig, ax = plt.subplots(figsize=(11, 0.8 * len(temperatures) + 0.6))
ax.imshow(strip)
row_h = strip.shape[0] / len(temperatures)
ax.set_yticks([row_h * (k + 0.5) for k in range(len(temperatures))], [f"T = {t}" for t in temperatures])
ax.set_xticks([])
ax.grid(False)
ax.set_title(f"Glow samples on MNIST at several temperatures ({profile} profile)")
rec.savefig(fig, "fig_glow_mnist_temperature_samples.png")
plt.show()

# %% [markdown]
# ## 5. The conditional task of appendix A.4: fill in the centre (Figs A.3, A.4)
#
# The thesis checked its conditional Glow on a small task before putting it inside the RFN:
# given the border of a 2-bit 32×32 image, generate the inner 16×16 square. With 2 bits a
# pixel takes one of four values. `rfn.data.conditional_mnist` builds the task from MNIST
# (digits zero-padded to 32×32): items are `(condition, target)`, the condition being the
# full image with the centre blanked, the target the 16×16 centre.

# %%
cond_train, cond_test = conditional_mnist("train", n_bits=2), conditional_mnist("test", n_bits=2)
pad_train = torch.nn.functional.pad(train_x.cpu(), (2, 2, 2, 2))
pad_test = torch.nn.functional.pad(test_x, (2, 2, 2, 2))
show = quantize(pad_test[:24], 2)[:, None]  # [24, 1, 1, 32, 32]
fig, ax = plt.subplots(figsize=(10, 3))
tiles = (show[:, 0].permute(0, 2, 3, 1).int() * 255 // 192).byte().numpy()  # levels 0..192 shown as 0..255
ax.imshow(viz.image_grid(np.repeat(tiles, 3, -1), ncols=12, scale=2))
ax.set(title="Fig A.3 (on MNIST): 2-bit 32×32 test digits, four grey levels", xticks=[], yticks=[])
ax.grid(False)
rec.savefig(fig, "figA_3_quantised_digits.png")
plt.show()

c, t = cond_test[0]
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8))
for ax, img, title in zip(axes, (c, t, join_inner_square(c, t)), ("condition (border)", "target (centre)", "image")):
    ax.imshow(img[0], cmap="gray", vmin=0, vmax=192)  # 2 bits: levels 0, 64, 128, 192
    ax.set(title=title, xticks=[], yticks=[])
    ax.grid(False)
axes[0].add_patch(Rectangle((7.5, 7.5), 16, 16, fill=False, edgecolor="red", lw=1.5))
fig.suptitle("Fig A.4 (on MNIST): the inner-square task", y=1.04)
rec.savefig(fig, "figA_4_inpainting_task.png")
plt.show()

# %% [markdown]
# `rfn.models.ConditionalImageGlow` adds a small convolutional encoder that turns the
# condition into one feature map per flow level; every coupling layer, every split prior
# and the base distribution read the map of their level. The loss is the negative
# log-likelihood of the centre given the border, in bits per pixel of the 256 centre pixels.

# %%


cond_test_batches = []
for i in range(0, SETTINGS["n_test"], 500):
    items = [cond_test[k] for k in range(i, min(i + 500, SETTINGS["n_test"]))]
    cond_test_batches.append((torch.stack([a for a, _ in items]).to(dev), torch.stack([b for _, b in items]).to(dev)))
cglow = trained_model("cond-glow-mnist", profile, seed, root=artifacts_dir, device=dev)  # trains it if missing
cglow_log = run_log("cond-glow-mnist", cglow, cond_test_batches)
print(f"{sum(p.numel() for p in cglow.parameters()):,} parameters; config {cglow.config}")
print(f"test bpp of the centre given the border: {cglow_log['test_bpp'][-1]:.3f}")

# %% [markdown]
# ## 6. Completions (Fig A.5)
#
# For test digits the flow never saw: the condition, the true image, and samples, each
# sample being a generated centre put back into the true border. The red square marks the
# generated region. At $T = 1$ the samples show the spread of the learned distribution; at
# $T = 0.7$ they stay closer to its modes.

# %%
n_show, n_samples = 8, 4
pick = [first_of(d) for d in range(n_show)]
cond = torch.stack([cond_test[i][0] for i in pick]).to(dev)
truth = torch.stack([join_inner_square(*cond_test[i]) for i in pick])
columns = [cond.cpu(), truth]
titles = ["condition", "truth"]
torch.manual_seed(seed)
for temp in (1.0, 0.7):
    for _ in range(n_samples // 2):
        columns.append(join_inner_square(cond, cglow.sample(cond, temperature=temp)).cpu())
        titles.append(f"sample, T={temp}")
fig, axes = plt.subplots(n_show, len(columns), figsize=(1.3 * len(columns), 1.3 * n_show))
for r in range(n_show):
    for col, (imgs, title) in enumerate(zip(columns, titles)):
        ax = axes[r, col]
        ax.imshow(imgs[r, 0], cmap="gray", vmin=0, vmax=192)
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
        if col != 1:
            ax.add_patch(Rectangle((7.5, 7.5), 16, 16, fill=False, edgecolor="red", lw=1))
        if r == 0:
            ax.set_title(title, fontsize=8)
fig.suptitle(f"Fig A.5 (on MNIST): conditional Glow completing the centre ({profile} profile)", y=1.0)
fig.tight_layout()
rec.savefig(fig, "figA_5_conditional_glow_inpainting.png")
plt.show()

# %% [markdown]
# ## 7. Numbers and training curves
#
# The thesis gives no likelihood for either experiment: Fig 2.1 and Figs A.3-A.5 are
# pictures. For orientation the table puts the published Glow result on MNIST beside our
# unconditional number. Both are test bits per pixel of 8-bit 28×28 digits (uniform
# dequantisation, lower is better); ours is from a short run on this page's profile, so it
# is far from converged.

# %%
glow_train, cond_train_cfg = get_preset(GLOW).train, get_preset(COND).train
compute = "GPU" if dev.type == "cuda" else "CPU"
table = pd.DataFrame(
    [
        {
            "experiment": "Glow on MNIST (Fig 2.1), test bpp",
            "ours": glow_log["test_bpp"][-1],
            "reference": "1.05 (Kingma & Dhariwal 2018, Glow paper, converged); thesis: no number",
            "protocol": f"first {SETTINGS['n_test']} MNIST test digits, 8 bits, 28×28, one dequantisation draw",
            "compute": f"{profile}: {glow_train['steps']} steps × batch {glow_train['batch_size']} on {compute} "
            f"({glow_log['seconds']:.0f} s); L={glow.config.levels}, K={glow.config.steps}",
        },
        {
            "experiment": "conditional Glow, centre | border (A.4), test bpp",
            "ours": cglow_log["test_bpp"][-1],
            "reference": "thesis: no number (2-bit CelebA, L=4, K=15, lr 1e-4, 40 epochs)",
            "protocol": f"first {SETTINGS['n_test']} test digits padded to 32×32, 2 bits, 16×16 centre",
            "compute": f"{profile}: {cond_train_cfg['steps']} steps × batch {cond_train_cfg['batch_size']} "
            f"on {compute} ({cglow_log['seconds']:.0f} s); L={cglow.config.levels}, K={cglow.config.steps}",
        },
    ]
).set_index("experiment")
table.to_csv(rec.path("tab_glow_mnist_bpp.csv"))
rec.record(rec.path("tab_glow_mnist_bpp.csv"))
display(table.style.format({"ours": "{:.3f}"}))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for ax, log, title in ((axes[0], glow_log, "Glow on MNIST (8 bits)"), (axes[1], cglow_log, "centre | border (2 bits)")):
    ax.plot(log["step"], log["train_bpp"], lw=1, label="training batch")
    ax.plot(log["test_step"], log["test_bpp"], "o", color="C3", label="test")
    ax.set(title=title, xlabel="step", ylabel="bits per pixel")
    ax.legend()
fig.tight_layout()
rec.savefig(fig, "fig_glow_mnist_training.png")
plt.show()

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

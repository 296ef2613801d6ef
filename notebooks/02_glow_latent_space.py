# %% [markdown]
# # Glow's latent space
#
# **The question.** What does a flow's latent space look like: do digits of a class land
# close together, and can one walk from one digit to another through it?
#
# **The idea.** Glow maps each image to a latent of the same size with an invertible network,
# so every latent decodes back to an image. If the map is smooth, digits of a class cluster, a
# straight path between two latents decodes to a gradual change, and shrinking the latent's
# spread (the temperature) gives cleaner but less varied samples. A conditional Glow then fills
# in a missing square of an image from its border: the building block the RFN uses for every
# frame.
#
# ```{glue:figure} opening
# :figwidth: 80%
# :figclass: rfn-opening
#
# t-SNE maps of the Glow latents of MNIST test digits, coloured by class, beside the map of the raw
# pixels; section 2 below explains how they are made and how far the classes separate.
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/{glow,cond-glow}-mnist-seed<seed>/
# page parameters: None takes the profile's value (rfn/profiles.py)
n_test = None  # test images behind every bits-per-pixel number
tsne = None  # digits on the t-SNE map

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from rfn.book.page import book_profile, setup_page
from rfn.data import conditional_mnist, join_inner_square, load_mnist
from rfn.data.images import quantize
from rfn.pages import latent_space as page
from rfn.runs import preset_for, trained_model

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page("02_glow_latent_space", profile, seed, device, figures_dir, n_test=n_test, tsne=tsne)
GLOW, COND = preset_for("glow-mnist", profile), preset_for("cond-glow-mnist", profile)  # see rfn.presets.small

start = time.perf_counter()
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
test_x = test_x[:, None]  # uint8 [N, 1, 28, 28]
test_batches = [test_x[i : min(i + 500, SETTINGS["n_test"])].to(dev) for i in range(0, SETTINGS["n_test"], 500)]
glow = trained_model("glow-mnist", profile, seed, root=artifacts_dir, device=dev)  # trains it if missing
glow_log = page.run_log("glow-mnist", profile, seed, artifacts_dir, page.mean_test_bpp(glow, test_batches))
print(f"MNIST: {len(train_x):,} training and {len(test_x):,} test digits, {tuple(test_x.shape[1:])}, uint8")
print(f"{sum(p.numel() for p in glow.parameters()):,} parameters; config {glow.config}")
print(f"test bpp after {glow_log['steps']} steps: {glow_log['test_bpp']:.3f}")

# %% [markdown]
# ## 2. The latent space: a t-SNE map (Fig 2.1a)
#
# `ImageGlow.encode` is the bijection itself (no dequantisation noise; each pixel is placed
# at the centre of its bin): for a 28×28 digit it returns the half of the channels that the
# first level factors out, `[2, 14, 14]`, and the output of the last level, `[8, 7, 7]`.
# Together they have exactly 784 numbers, as many as the image: a flow keeps every detail,
# it only moves it. We map **both levels** (784 numbers per digit) and the **top level
# alone** (392 numbers), where the coarse structure of the digit ends up. As a reference,
# the third panel maps the raw pixels: since the flow is an invertible function of the
# pixels, any clustering in latent space should be compared with what the pixels already show.

# %%
n_tsne = SETTINGS["tsne"]
labels = test_y[:n_tsne].numpy()
maps = page.tsne_maps(glow, test_x[:n_tsne].to(dev), seed)
fig = page.tsne_figure(maps, labels, f"Fig 2.1a: t-SNE of {n_tsne} MNIST test digits ({profile} profile Glow)")
rec.savefig(fig, "fig2_1a_glow_latent_tsne.png", opening=True)
plt.show()

# %% [markdown]
# The same map of the latents as an explorer: hover a point (or tap it) to see the digit it
# was computed from. Points of one colour that sit among another class's points are worth a
# look; often the digit itself is ambiguous, or written in a style the other class shares.
# The images are embedded in the page, so this works offline and without a running kernel.

# %%
from IPython.display import HTML

k = min(n_tsne, 1000)  # at most 1,000 points in the page (each carries its image)
title = f"Glow latents of {k} MNIST test digits (both levels), coloured by class"
display(HTML(page.tsne_explorer({name: m[:k] for name, m in maps.items()}, labels[:k], test_x[:k], title)))

# %% [markdown]
# How well do the classes separate? A simple number: the share of digits whose nearest
# neighbour *in the 2-D map* has the same label (chance is about 10%). It is a rough
# summary of the picture, not a property of the flow.

# %%
scores = page.neighbour_agreement(maps, labels)
display(scores.style.format("{:.1%}"))
display(Markdown(page.neighbour_verdict(scores)))

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
pairs = [(page.first_index(test_y, a), page.first_index(test_y, b)) for a, b in ((2, 6), (1, 7), (4, 9))]
alphas = np.linspace(0, 1, 10)
rows, names = page.interpolation_rows(glow, test_x, test_y, pairs, alphas)
with torch.no_grad():  # the end points decode back to the inputs: a flow has no reconstruction loss
    one = test_x[pairs[0][0] : pairs[0][0] + 1]
    err = (glow.decode(glow.encode(one.to(dev))).cpu().int() - one.int()).abs().max().item()
print(f"max |decode(encode(x)) - x| over one digit: {err} grey levels")
fig = page.strip_figure(
    rows, names, "Fig 2.1b: decoded latents on a path from one test digit to another", "path position α",
    [f"{a:.2f}" for a in alphas],
)  # fmt: skip
rec.savefig(fig, "fig2_1b_glow_latent_interpolation.png")
plt.show()

# %% [markdown]
# Both ends decode to the input digits exactly (the printed error is in grey levels). In
# between lie the images the flow decodes at those latents. Where they look like a
# cross-fade of the two digits' strokes, rather than a sequence of other clean digits as in
# the thesis's figure, the flow has not organised its latent space beyond what the pixels
# already give (compare the nearest-neighbour scores above).
#
# ## 4. Samples and temperature
#
# Sampling runs the flow backwards from draws of its priors. Scaling every prior's standard
# deviation by a temperature $\tau < 1$ keeps the samples nearer the modes: cleaner strokes,
# less variety. $\tau = 0$ decodes the prior means alone. The RFN pages (notebook 06) use the
# same knob on the RFN's flow.

# %%
temperatures = [0.0, 0.5, 0.7, 0.85, 1.0]
torch.manual_seed(seed)
samples = torch.stack([glow.sample(10, temperature=t).cpu() for t in temperatures])  # [rows, 10, 1, 28, 28]
fig = page.strip_figure(
    samples, [f"τ = {t}" for t in temperatures], f"Glow samples on MNIST at five temperatures ({profile} profile)",
    "sample",
)  # fmt: skip
rec.savefig(fig, "fig_glow_mnist_temperature_samples.png")
plt.show()

# %% [markdown]
# Good samples are what a short run lacks most. Encoding and decoding are exact from the
# first step, which is why the t-SNE map and the paths above already work; but the density
# must be learned well everywhere before draws from it look like digits. In the `quick`
# profile they are strokes and blobs; the published Glow on MNIST trained far longer on GPUs.
#
# ## 5. The conditional task of appendix A.4: fill in the centre (Figs A.3, A.4)
#
# The thesis checked its conditional Glow on a small task before putting it inside the RFN:
# given the border of a 2-bit 32×32 image, generate the inner 16×16 square. With 2 bits a
# pixel takes one of four values. `rfn.data.conditional_mnist` builds the task from MNIST
# (digits zero-padded to 32×32): items are `(condition, target)`, the condition being the
# full image with the centre blanked, the target the 16×16 centre.

# %%
cond_test = conditional_mnist("test", n_bits=2)
fig = page.quantised_digits_figure(
    quantize(torch.nn.functional.pad(test_x[:24], (2, 2, 2, 2)), 2),
    "Fig A.3 (on MNIST): 2-bit 32×32 test digits, four grey levels",
)
rec.savefig(fig, "figA_3_quantised_digits.png")
plt.show()
fig = page.inpainting_task_figure(*cond_test[0], "Fig A.4 (on MNIST): the inner-square task")
rec.savefig(fig, "figA_4_inpainting_task.png")
plt.show()

# %% [markdown]
# `rfn.models.ConditionalImageGlow` adds a small convolutional encoder that turns the
# condition into one feature map per flow level; every coupling layer, every split prior
# and the base distribution read the map of their level. The loss is the negative
# log-likelihood of the centre given the border, in bits per pixel of the 256 centre pixels.

# %%
items = [cond_test[k] for k in range(SETTINGS["n_test"])]
cond_batches = [
    (torch.stack([a for a, _ in items[i : i + 500]]).to(dev), torch.stack([b for _, b in items[i : i + 500]]).to(dev))
    for i in range(0, len(items), 500)
]
cglow = trained_model("cond-glow-mnist", profile, seed, root=artifacts_dir, device=dev)  # trains it if missing
cglow_log = page.run_log("cond-glow-mnist", profile, seed, artifacts_dir, page.mean_test_bpp(cglow, cond_batches))
print(f"{sum(p.numel() for p in cglow.parameters()):,} parameters; config {cglow.config}")
print(f"test bpp of the centre given the border: {cglow_log['test_bpp']:.3f}")

# %% [markdown]
# ## 6. Completions (Fig A.5)
#
# For test digits the flow never saw: the condition, the true image, and samples, each
# sample being a generated centre put back into the true border. The red square marks the
# generated region. At $\tau = 1$ the samples show the spread of the learned distribution; at
# $\tau = 0.7$ they stay closer to its modes.

# %%
pick = [page.first_index(test_y, d) for d in range(8)]
torch.manual_seed(seed)
fig = page.completions_figure(
    cglow,
    torch.stack([cond_test[i][0] for i in pick]).to(dev),
    torch.stack([join_inner_square(*cond_test[i]) for i in pick]),
    temperatures=(1.0, 0.7),
    per_temperature=2,
    title=f"Fig A.5 (on MNIST): conditional Glow completing the centre ({profile} profile)",
)
rec.savefig(fig, "figA_5_conditional_glow_inpainting.png")
plt.show()

# %% [markdown]
# A trained conditional flow continues the strokes that enter the square from the border;
# completions that are noise inside the square (as in the `smoke` profile, a few steps of
# training) show a model that has learned the pixel levels but not yet the digits.
#
# ## 7. Numbers and training curves
#
# The thesis gives no likelihood for either experiment: Fig 2.1 and Figs A.3-A.5 are
# pictures. For orientation the table puts the published Glow result on MNIST beside our
# unconditional number. Both are test bits per pixel of 8-bit 28×28 digits (uniform
# dequantisation, lower is better); ours is from a short run on this page's profile, so it
# is far from converged.

# %% [markdown]
# The table's rows carry, besides our number and the reference, the test protocol and the
# compute behind each run (steps, batch size, device, seconds, levels $L$ and steps per level
# $K$); the figure below it draws both runs' training curves.

# %%
runs = {"glow-mnist": (glow_log, glow), "cond-glow-mnist": (cglow_log, cglow)}
table = page.bpp_table(runs, profile, SETTINGS["n_test"], dev.type)
table.to_csv(rec.path("tab_glow_mnist_bpp.csv"))
rec.record(rec.path("tab_glow_mnist_bpp.csv"))
display(table.style.format({"ours": "{:.3f}"}))
fig = page.training_figure({"Glow on MNIST (8 bits)": glow_log, "centre | border (2 bits)": cglow_log})
rec.savefig(fig, "fig_glow_mnist_training.png")
plt.show()
display(Markdown(page.glow_bpp_verdict(glow_log)))

# %% tags=["remove-input"]
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this page's Glow
# (`<profile>-glow-mnist`, loaded from its run folder).

# %% tags=["hide-cell", "exercise-setup"]
import matplotlib.pyplot as plt
import torch

from rfn.data import load_mnist
from rfn.pages import latent_space
from rfn.runs import trained_model

ex_glow = trained_model("glow-mnist", profile, seed, root=artifacts_dir, device="cpu")  # this page's Glow
ex_x, ex_y = load_mnist("test")
ex_x = ex_x[:, None]  # uint8 [N, 1, 28, 28]

# %% [markdown]
# **Exercise 1** (derive). A multi-scale Glow with $L$ levels squeezes (space to depth by 2)
# at the start of every level and hands half of the channels to the latent space at the end
# of every level but the last. For a $C \times H \times W$ image, give the shape of each
# level's latent and show that together they hold exactly $CHW$ numbers. Check your formula
# on the page's MNIST Glow ($1 \times 28 \times 28$, $L = 2$).
#
# ```{admonition} Solution
# :class: dropdown
# Level $l$ (1-based) works on $2^{l+1} C$ channels at $H/2^l \times W/2^l$: the first
# squeeze turns $C$ channels into $4C$, and every later level receives half of the previous
# level's channels ($2^l C$) and squeezes them into $2^{l+1} C$. A level $l < L$ emits half of
# its channels, $2^l C \times H/2^l \times W/2^l$, that is $CHW/2^l$ numbers; the last level
# keeps all of its $2^{L+1}C \times H/2^L \times W/2^L = CHW/2^{L-1}$ numbers. The sum is
# $CHW(\tfrac12 + \tfrac14 + \dots + \tfrac1{2^{L-1}}) + CHW/2^{L-1} = CHW$, as it must be for
# a bijection. For MNIST: $[2, 14, 14]$ (392 numbers) and $[8, 7, 7]$ (392 numbers), 784 in
# all, the shapes printed in section 2.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Encode a **2** and a **6** and concatenate each digit's
# latents into one vector of $d = 784$ numbers. Predict the norm of the point halfway along the
# straight line between them, relative to the norms of the two ends; then the same for the
# spherical path (slerp). Use what you know about two independent draws of a
# $d$-dimensional standard normal (norm about $\sqrt{d}$, nearly orthogonal). Then run the
# hidden cell, which uses the page's trained Glow.
#
# ```{admonition} Solution
# :class: dropdown
# For two independent standard normal vectors of dimension $d$ both norms are close to
# $\sqrt{d} = 28$ and the vectors are nearly orthogonal, so the linear midpoint
# $(\mathbf{a} + \mathbf{b})/2$ has norm close to $\sqrt{d/2}$, about 0.71 of the ends: the
# path dips towards the origin, where the prior's density is higher than anywhere a typical
# sample lies (the same effect as a temperature of about 0.71). The slerp midpoint keeps a norm
# between the two ends. The latents of real digits under a briefly trained flow are not exactly
# standard normal (their norms and the angle between them are printed), so the measured ratio
# can differ from 0.71; the direction of the effect is the same whenever the two latents point
# in different directions.
# ```

# %% tags=["hide-cell", "exercise-solution"]
pair = [latent_space.first_index(ex_y, 2), latent_space.first_index(ex_y, 6)]
with torch.no_grad():
    lat = ex_glow.encode(ex_x[pair])
vec = torch.cat([t.flatten(1) for t in lat], 1)  # [2, 784]
a, b = vec[0], vec[1]
cos = torch.dot(a, b) / (a.norm() * b.norm())
print(f"d = {vec.shape[1]}; |a| = {a.norm():.1f}, |b| = {b.norm():.1f}, cos(angle) = {cos:.2f}")
print(f"linear midpoint: |(a + b) / 2| = {((a + b) / 2).norm():.1f}")
print(f"slerp midpoint:  {latent_space.slerp(a, b, 0.5).norm():.1f}")

# %% [markdown]
# **Exercise 3** (modify). Section 4 samples at temperatures up to 1. Add $\tau = 1.2$ and
# $\tau = 1.5$ to the list and draw the samples again. What do temperatures above 1 do to the
# samples, and why would nobody use them to show a model at its best?
#
# ```{admonition} Solution
# :class: dropdown
# A temperature above 1 widens every prior beyond what the model learned, so the draws land
# where the model puts little density: the decoded images get grainier and strokes break up
# into speckle, more so at 1.5. Lowering the temperature trades variety for samples near the
# modes; raising it does the opposite and mostly adds noise. (How clean even $\tau = 1$ looks
# depends on how long the Glow trained: at `smoke` every row is noise.)
# ```

# %% tags=["hide-cell", "exercise-solution"]
hot = [0.7, 1.0, 1.2, 1.5]
torch.manual_seed(seed)
with torch.no_grad():
    rows = torch.stack([ex_glow.sample(8, temperature=t).cpu() for t in hot])
fig = latent_space.strip_figure(rows, [f"τ = {t}" for t in hot], "Glow samples above temperature 1", "sample")
plt.show()

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
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
# wall time on a 2-core machine shared with other jobs); `reference` uses the quick runs
# (trained here when missing, as at `quick`: the committed reference weights are the video
# models'); `thesis` not yet measured (an estimate: 20-30 minutes on one GPU). With the
# checkpoints in place a rerun takes about a minute.
#
# **Checkpoints:** trained on this page (presets `<profile>-glow-mnist` and
# `<profile>-cond-glow-mnist`) and cached: `artifacts/<profile>/glow-mnist-seed<seed>/last.pt`
# (unconditional `ImageGlow`) and `artifacts/<profile>/cond-glow-mnist-seed<seed>/last.pt`
# (`ConditionalImageGlow`).
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig2_1a_glow_latent_tsne.png`,
# `fig2_1b_glow_latent_interpolation.png`, `fig_glow_mnist_temperature_samples.png`,
# `fig_glow_mnist_training.png`, `figA_3_quantised_digits.png`, `figA_4_inpainting_task.png`,
# `figA_5_conditional_glow_inpainting.png`, `tab_glow_mnist_bpp.csv`.
# :::

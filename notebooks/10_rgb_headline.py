# %% [markdown]
# # Does a flow emission win on RGB video?
#
# **The question.** The thesis's strongest result is on colour video: on BAIR robot pushing its
# RFN needs 2.16 bits per dimension where the SRNN and the VRNN need 3.70 and 3.58 (thesis
# Table 9.7), and its FVD is a fifth of theirs (Table 9.6). Is that gap the flow's doing?
#
# **The idea.** The RFN and the SRNN share their latent dynamics (the VRNN is a close variant)
# and differ in two ways: the emission (a conditional Glow against a mixture of logistics per
# pixel), and what the emission sees of the previous frame (the RFN's conditioner gets
# full-resolution features of $\mathbf{x}_{t-1}$, the baselines' decoders do not). Train all
# three on an RGB stand-in for BAIR, three seeds each, with two controls that remove the second
# difference, and let a test over seeds and test clips decide.
#
# ```{glue:figure} opening
# :figwidth: 80%
# :figclass: rfn-opening
#
# Test bits per dimension of every run (dots: training seeds; bars: their mean; dashed: the
# camera noise's entropy, which no model can go below). Section 4 gives the numbers and the
# tests, section 9 the conclusion they support.
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
# page parameters: None takes the profile's value (rfn/profiles.py)
seeds = None  # training seeds read from the committed study
clips = None  # test clips in the stand-in figure
region_clips = None  # test clips whose bits are split into still and changed pixels (section 8)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import torch
from IPython.display import Image, Markdown, display

from rfn import viz
from rfn.book.page import book_profile, setup_page
from rfn.data import make_dataset
from rfn.pages import rgb as page

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "10_rgb_headline", profile, seed, device, figures_dir, seeds=seeds, clips=clips, region_clips=region_clips
)
study = page.load_study(seeds=tuple(SETTINGS["seeds"]))  # the committed runs and their shipped numbers
test = make_dataset("textured-shapes", "test", seq_len=page.PROTOCOL_BEST.total_frames, image_size=32)

# %% [markdown]
# Every profile reads the same committed study: fifteen runs trained on this project's CPU
# (`checkpoints/reference/textured/`) and the numbers `benchmarks/rgb_headline.py score` computed
# from them. Nothing is trained here; only the predictions and the bits maps are drawn live.
#
# ## 1. The stand-in
#
# BAIR cannot be downloaded here, so `rfn.data.textured` draws a substitute with the
# properties the question needs: shapes with a grating texture move and bounce (the same
# random motion as SM-MNIST) over a static background whose colours have the power spectrum of
# natural images; later shapes hide earlier ones; every frame gets camera noise and a slight
# exposure flicker. Neighbouring pixels are strongly correlated, colours cover a continuous
# range, and several objects move at once.
#
# It differs from BAIR in ways to keep in mind: 32×32 frames instead of 64×64; a background
# that never changes; random bouncing instead of an arm that pushes objects; no lighting or
# shading.

# %%
clips = torch.stack([test[i] for i in range(SETTINGS["clips"])])  # uint8 [clips, 13 frames, 3, 32, 32]
fig = page.stand_in_figure(clips)
rec.savefig(fig, "fig_rgb_stand_in.png")
plt.show()
gif = viz.save_gif(rec.path("fig_rgb_stand_in.gif"), clips, fps=4, ncols=2, scale=4)
rec.record(gif)
display(Image(filename=str(gif)))

# %% [markdown]
# ## 2. Five models, three seeds each
#
# | model | emission | sees $\mathbf{x}_{t-1}$ at full resolution | role |
# |---|---|---|---|
# | RFN | conditional Glow | yes (skips into the conditioner) | the thesis's model |
# | SRNN, VRNN | mixture of logistics per pixel | no | the thesis's baselines |
# | RFN, no skips (control a) | conditional Glow | no | how much of the RFN's lead is the skips |
# | SRNN + skips (control b) | mixture of logistics per pixel | yes, the RFN's skips | the emission alone, RFN-sized |
#
# Control b decides the question: it sees the previous frame as the RFN does and has as many
# parameters (within 10%), so if the RFN still wins against it, the lead belongs to the flow
# emission. Every run trained for the same number of steps at batch 16 on one CPU thread; the
# table says what each cost, as the wall-clock time of its steps from the run log. The runs
# shared a 2-core machine with other jobs over several days and its speed varied, so the
# hours are what the runs took, not what they need: compare a model's median seconds per step
# across its seeds to see how much. *Skipped steps* counts the optimiser steps the trainer
# skipped because the loss or the gradient was not finite. One run needed that: in control b's
# seed 2 an unused mixture component drifted to an enormous scale around step 2,500, and a
# float32 underflow in the mixture's gradient turned every gradient to NaN. The bug was fixed in
# `rfn.nets.dmol` (its log-probabilities are unchanged up to float rounding), and the run resumed from its
# step-2,500 checkpoint.

# %%
runs = study.runs_table()
shown = runs.style.hide(axis="index").format(precision=3, thousands=",")
display(shown.format("{:+.1e}", subset=["fp16 - fp32 test bits"]))
print(f"{len(runs)} runs, {runs['wall hours of its steps'].sum():.1f} wall hours of training steps in all")

# %% [markdown]
# ## 3. Are the runs long enough to compare?
#
# A comparison at a fixed number of steps means something only when the gap between the
# models has stopped moving. The curves show every run's validation bits; the table measures
# how much each model's gap to the RFN (mean over seeds) changed over the last 1,000 steps.

# %%
fig = page.learning_curves_figure(study.curves(), "validation bits per dimension of every run")
rec.savefig(fig, "fig_rgb_learning_curves.png")
plt.show()
display(study.stability().style.hide(axis="index").format(precision=3))

# %% [markdown]
# ## 4. Bits per dimension
#
# The thesis reports its RFN's negative ELBO and, for the baselines, the tighter
# importance-weighted (IW) bound with $S = 20$ samples. Here every model gets the IW bound
# with $S = 20$, on the same 256 test clips of 10 frames, each given its first frame. Bits
# per dimension count each colour channel of a pixel separately; three times the number is
# bits per RGB pixel. For scale, the dashed line is a floor: every frame gets fresh camera noise
# (2 grey levels per pixel and channel, then rounded), which no model can predict, so no model's
# expected bits can go below the noise's entropy (`rfn.pages.rgb.noise_floor`).
#
# Two tests for each model against the RFN: Welch's $t$ over the three seeds' means (it asks
# whether another training run would change the order), and a bootstrap interval that
# resamples seeds and, within them, test clips.

# %%
scored = study.scores[("rfn", study.seeds[0])]["bits"]  # the clips and frames every run's bits were scored on
floor = page.noise_floor(scored["per_sequence"]["indices"], scored["frames"])  # camera noise's entropy, bits/dim
fig = page.headline_figure(study.scores, floor=floor)
rec.savefig(fig, "fig9_7_rgb_bits.png", reproduces="Table 9.7 on the RGB stand-in", opening=True)
plt.show()
display(
    page.bits_table(study.scores)
    .style.hide(axis="index")
    .format(precision=3)
    .format("{:.0f}", subset=["FVD (mean over seeds)"])
)
display(Markdown(page.floor_sentence(study.scores, floor)))
tests, welch = page.tests_table(study.scores) if len(study.seeds) >= 3 else (None, {})
if tests is not None:
    display(tests.style.hide(axis="index").format(precision=3).format("{:.2g}", subset=["p"]))

# %% [markdown]
# ## 5. What the models predict
#
# Three context frames (green border), then ten predicted frames (red), from the same context
# and the same random seed for every model (the seed-0 runs). Then three futures each of the
# RFN, the two thesis baselines and control b from one context: a model that has learnt the
# motion's randomness shows different, plausible futures.

# %%
models = {k: study.model(k, 0, dev) for k in study.keys()}
ctx = page.PROTOCOL_BEST.context_frames
videos, labels = page.rollouts(models, clips[0], ctx, seed=seed)
fig = page.frames_figure(videos, labels, "one test clip, every model's prediction (seed-0 runs)", context=ctx)
rec.savefig(fig, "fig9_8_rgb_rollouts.png", reproduces="Fig 9.8 on the RGB stand-in")
plt.show()
futures = {k: models[k] for k in ("rfn", "srnn", "vrnn", "srnn-skip")}
videos, labels = page.rollouts(futures, clips[1], ctx, n=3, seed=seed)
fig = page.frames_figure(videos, labels, "three futures from one context", context=ctx)
rec.savefig(fig, "fig9_9_rgb_three_futures.png", reproduces="Fig 9.9 on the RGB stand-in")
plt.show()

# %% [markdown]
# What to look for. The per-pixel models (SRNN, VRNN and control b) draw every pixel's colour
# on its own once the latent state (and, for control b, the previous frame) is given, so
# nothing ties a pixel to its neighbours: the textured background turns to coloured grain from
# the first predicted frame. The flow draws a frame's pixels jointly and keeps the background
# smooth, while its moving shapes blur into blobs. Control a has no full-resolution view of
# the previous frame, and its background has to come back through the 4×4 latent state. These
# are samples of two clips; sections 6 to 8 measure the same over many.

# %% [markdown]
# ## 6. Best of 100 samples, against predictions without a model
#
# For each predicted frame, the best PSNR, SSIM (higher is better) and LPIPS (lower) of 100
# samples, averaged over 64 test clips, for the seed-0 run of each model. The grey lines are
# black frames and the last context frame held still, scored in the same call on the same
# clips: a model's curve means something only where it is better than them. On this stand-in
# the held frame is a strong prediction, because the background never changes. The table
# pairs each model's best with the held frame, and every other model's best with the RFN's,
# clip by clip over the 64 clips (95% t-intervals; one seed, so they say nothing about another
# training run), and gives the mean sample beside it.

# %%
fig = page.best_of_n_figure(study.scores)
rec.savefig(fig, "fig9_11_rgb_best_of_100.png", reproduces="Fig 9.11 on the RGB stand-in")
plt.show()
display(page.best_of_n_table(study.scores).style.hide(axis="index").format(precision=3, na_rep=""))

# %% [markdown]
# ## 7. FVD
#
# The Fréchet video distance between 256 predicted clips (one sample each, ten predicted
# frames) and the same 256 real clips, with the I3D network. Two sets of real clips give the
# floor no model can go below at this number of clips. Each model's FVD is compared with the
# RFN's by Welch's test over the three seeds (FVD is one number per run, so there is no
# bootstrap over clips here).

# %%
fvd = page.fvd_table(study.scores, study.floor)
display(fvd.style.hide(axis="index").format(precision=0, na_rep="").format("{:.2g}", subset=["Welch p"], na_rep=""))

# %% [markdown]
# Beside the thesis. The levels cannot be compared (other data, other frame size, far less
# training), but the RFN's standing against the better of the thesis's baselines can: the
# thesis's BAIR numbers (Tables 9.6 and 9.7; its RFN's bits are a negative ELBO, the baselines'
# an IW bound) next to the stand-in's means over seeds.

# %%
beside, beside_text = page.thesis_table(study.scores)
display(
    beside.style.hide(axis="index").format(precision=3).format("{:.0f}", subset=["thesis, BAIR: FVD", "stand-in: FVD"])
)
display(Markdown(beside_text))

# %% [markdown]
# ## 8. Where the bits go
#
# The bits per dimension of every pixel of one test frame under the RFN and under the better of
# the thesis's baselines (lower mean bits in section 4), and their difference (red: the
# baseline pays more). For the baseline the map is exact, because its emission factorises over
# pixels. The flow's density does not; its map spreads each term of
# the change of variables over the block of pixels it belongs to
# (`rfn.flows.Glow.log_prob_map`), an exact split of the total but blocky at coarse levels.

# %%
means = page.seed_means(study.scores)  # {model: {"mean": bits/dim over seeds}}
best = min(("srnn", "vrnn"), key=lambda k: means[k]["mean"])
maps = page.bits_maps({k: models[k] for k in ("rfn", best)}, clips[0], frame=ctx + 1, seed=seed)
fig = page.bits_map_figure(clips[0, ctx], maps, f"bits per dimension of frame {ctx + 1} of one test clip")
rec.savefig(fig, "fig_rgb_bits_maps.png")
plt.show()

# %% [markdown]
# One frame shows where to look; the table counts over many. Every model scores frames 2-10 of
# the same test clips (its emission term, as in the maps), and each pixel is counted as
# *changed* when one of its colours moved by more than 40 grey levels since the previous frame
# (the old and new places of the moving shapes; camera noise and flicker stay far below that),
# else as *still*. A model's excess over the RFN splits into the part paid on still pixels and
# the part paid on changed ones; the interval pairs, clip by clip, the excess per still pixel
# with the excess per changed pixel. One caution: the flow's map spreads its coarse terms over
# blocks of pixels, which moves a little of the RFN's cost from changed pixels to their still
# neighbours. That shrinks a per-pixel model's measured excess on still pixels and enlarges it
# on changed ones.

# %%
bits_test = make_dataset("textured-shapes", "test", seq_len=scored["frames"], image_size=32)  # as section 4
region_batch = torch.stack([bits_test[i] for i in range(SETTINGS["region_clips"])])  # uint8 [N, 10, 3, 32, 32]
regions_table, regions = page.bits_by_region(models, region_batch, seed=seed)
display(regions_table.style.hide(axis="index").format(precision=3, na_rep=""))
for key in regions["tests"]:
    display(Markdown("- " + page.region_sentence(regions, key) + "."))

# %% [markdown]
# ## 9. What the controls say
#
# The sentences below are written by the page from the numbers of sections 4, 7 and 8
# (`rfn.pages.rgb.conclusions` and the functions named there); nothing in them is typed by hand.

# %%
summary = page.conclusions(means, welch, "bits/dim") if welch else ["(the tests need three seeds)"]
summary += [beside_text.rstrip("."), page.region_sentence(regions, best), page.region_sentence(regions, "srnn-skip")]
for sentence in summary:
    display(Markdown("- " + sentence.rstrip(".") + "."))

# %% [markdown]
# Which explanation does this test? The thesis attributes its BAIR gap to BAIR's continuous
# colours and its single moving object. This stand-in has the first property and not the
# second, and the controls separate two mechanisms the thesis does not: seeing the previous
# frame at full resolution (control a removes it from the RFN; control b gives it to the
# per-pixel model) and modelling the dependence between neighbouring pixels (only the flow can).
# Section 8 says where each model's excess lies: compare the SRNN's excess on still pixels with
# control b's to see how much of it the skips buy back, and what is left on pixels where only
# camera noise and flicker are new.
#
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell), **modify** (change the code and compare). The solutions are folded.

# %% tags=["hide-cell", "exercise-setup"]
import matplotlib.pyplot as plt
import numpy as np

from rfn.data import make_dataset
from rfn.pages import rgb as rgb_page

ex_study = rgb_page.load_study(seeds=(0,), scores=False)
ex_test = make_dataset("textured-shapes", "test", seq_len=5, image_size=32)
ex_clip = ex_test[0]  # uint8 [5 frames, 3, 32, 32]

# %% [markdown]
# **Exercise 1** (derive). The mixture of logistics gives each 8-bit value an exact
# probability, while the flow's number comes from uniform dequantisation: it models
# $\mathbf{x} + \mathbf{u}$ with $\mathbf{u} \sim \mathcal{U}[0, 1)^D$. Show that
# $\log P(\mathbf{x}) \ge \mathbb{E}_{\mathbf{u}}[\log p(\mathbf{x} + \mathbf{u})]$ and say what
# it means for comparing the two emissions in bits per dimension.
#
# ```{admonition} Solution
# :class: dropdown
# The probability of the bin is $P(\mathbf{x}) = \int_{[0,1)^D} p(\mathbf{x} + \mathbf{u})\,d\mathbf{u}$;
# Jensen's inequality for the concave logarithm gives
# $\log P(\mathbf{x}) \ge \int \log p(\mathbf{x} + \mathbf{u})\,d\mathbf{u}$. The flow's bits are an
# upper bound on the bits of the discrete model it defines, the mixture's are exact (up to the
# latent bound both share): the comparison is tilted against the flow, not in its favour.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Control a (the RFN without skips) cannot copy the static
# background from the previous frame. Before running the cell, predict where its bits map is
# higher than the RFN's: on the background, on the moving shapes, or on their edges?
#
# ```{admonition} Solution
# :class: dropdown
# The cell draws both maps and their difference for frame 3 of a test clip. Without skips,
# the background must pass through the 4×4 latent state or be modelled afresh by the flow,
# so control a pays more on the textured background; around the moving shapes both models
# pay for the new positions and the difference is smaller. Section 8's table counts the same
# over 64 clips (control a's row: its excess on still and on changed pixels).
# ```

# %% tags=["hide-cell", "exercise-solution"]
ex_models = {k: ex_study.model(k, 0) for k in ("rfn", "noskip")}
ex_maps = rgb_page.bits_maps(ex_models, ex_clip, frame=3)
fig = rgb_page.bits_map_figure(ex_clip[2], ex_maps, "RFN against control a (no skips), frame 3")
plt.show()
print({name: round(float(m.mean()), 3) for name, m in ex_maps.items()})

# %% [markdown]
# **Exercise 3** (modify). How much does the number of seeds matter? Recompute Welch's test of
# the SRNN against the RFN from two of the three seeds only, and compare the interval with
# the page's.
#
# ```{admonition} Solution
# :class: dropdown
# Welch's degrees of freedom lie between $n - 1$ and $2(n - 1)$ for $n$ seeds per side: at
# most four with three seeds, at most two with two. The $t$ quantile of a 95% interval is
# 2.78 at four degrees and 4.30 at two (12.7 at one), and the standard error grows by
# $\sqrt{3/2}$ with fewer seeds. When both sides spread alike (four and two degrees), the
# two-seed interval is $4.30 / 2.78 \times \sqrt{3/2} \approx 1.9$ times as wide, with seeds that
# agree exactly as well as before. This is why the study trained three seeds, and why no
# claim here rests on two.
# ```

# %% tags=["hide-cell", "exercise-solution"]
from rfn.metrics.stats import welch as welch_test

ex_full = rgb_page.load_study(seeds=rgb_page.SEEDS)  # all three seeds, with their shipped numbers
ex_seeds = rgb_page.per_seed(ex_full.scores)  # {model: {seed: bits/dim}}
for ex_n in (3, 2):
    ex_t = welch_test(*([v for s, v in sorted(ex_seeds[k].items()) if s < ex_n] for k in ("srnn", "rfn")))
    ex_lo, ex_hi = ex_t["interval"]
    print(f"{ex_n} seeds: SRNN - RFN {ex_t['difference']:+.3f}, 95% interval {ex_lo:+.3f} to {ex_hi:+.3f} "
          f"(width {ex_hi - ex_lo:.3f}, df {ex_t['df']:.1f}, p = {ex_t['p']:.2g})")  # fmt: skip

# %% [markdown]
# **Exercise 4** (derive). Section 4 draws a floor under every model's bits: the
# entropy of the camera noise. (a) Why can no model's expected bits per dimension go below the
# entropy of $\mathbf{x}_t$ given the noise-free frame $\boldsymbol{\mu}_t$? (b) For noise of
# $\sigma = 2$ grey levels rounded to whole levels, show that the entropy is close to
# $\tfrac12 \log_2(2\pi e \sigma^2)$ bits, and predict whether the page's floor (averaged over
# real frames) lies above or below that number.
#
# ```{admonition} Solution
# :class: dropdown
# (a) A model's expected code length for $\mathbf{x}_t$ given the past is a cross-entropy, at
# least the entropy $H(\mathbf{x}_t \mid \mathbf{x}_{<t})$; conditioning on more can only lower
# entropy, so that is at least $H(\mathbf{x}_t \mid \mathbf{x}_{<t}, \boldsymbol{\mu}_t)$, and because
# the noise is fresh in every frame this equals $H(\mathbf{x}_t \mid \boldsymbol{\mu}_t)$: the
# rounded noise's entropy, summed over dimensions. (b) Rounding to bins of width 1 turns a
# density $p$ into probabilities $\approx p(k)$, so the entropy is
# $-\sum_k p(k) \log_2 p(k) \approx -\int p \log_2 p = \tfrac12 \log_2(2\pi e \sigma^2) \approx 3.05$
# bits when $\sigma$ spans several bins. The floor lies below it: values near 0 or 255 are
# clipped, which piles the noise onto one value and lowers its entropy (1.74 bits at 0), and a few
# percent of the stand-in's values sit there. The cell below checks both numbers.
# ```

# %% tags=["hide-cell", "exercise-solution"]
ex_h = rgb_page.rounded_noise_entropy(2.0)  # bits, for every noise-free grey level 0..255
print(f"0.5 log2(2 pi e sigma^2) = {0.5 * np.log2(2 * np.pi * np.e * 4.0):.3f} bits; rounded noise at 128: "
      f"{ex_h[128]:.3f}, at 0: {ex_h[0]:.3f}, at 255: {ex_h[255]:.3f}; "
      f"the floor: {rgb_page.noise_floor(range(64)):.3f} (first 64 test clips)")  # fmt: skip

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** thesis Tables 9.6 and 9.7 and Figs 9.8, 9.9 and 9.11, on an RGB stand-in
# for BAIR, with two controls the thesis did not run.
#
# **Run time:** every profile renders from the committed study in about a minute (it loads the
# seed-0 models to draw predictions and bits maps; the tables read shipped numbers).
#
# **Checkpoint:** `checkpoints/reference/textured/` (fp16 weights of the 15 runs, their run
# logs and training times), trained with `benchmarks/rgb_headline.py train` (`plan` shows the
# CPU hours; `make reference` trains them too) and scored with `benchmarks/rgb_headline.py score`.
#
# **Writes:** `fig_rgb_stand_in.png` and `.gif`, `fig_rgb_learning_curves.png`, `fig9_7_rgb_bits.png`,
# `fig9_8_rgb_rollouts.png`, `fig9_9_rgb_three_futures.png`, `fig9_11_rgb_best_of_100.png`,
# `fig_rgb_bits_maps.png`.
# :::

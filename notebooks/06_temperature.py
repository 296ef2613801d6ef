# %% [markdown]
# # Temperature: which randomness moves the digits, and which changes their look
#
# **The question.** The RFN draws random numbers in two places, its latent state and its
# flow: which of them decides where the digits go, and which only how the pixels look?
#
# **The idea.** Scale the spread of one source at a time (its temperature: 0 draws no noise,
# 1 is the trained model) while the other stays at zero, and watch what changes. The thesis
# read its figures as: the prior temperature changes the *motion*, the flow temperature the
# *appearance*. This page measures both effects separately, with confidence intervals, within
# the model's training horizon, and says where the numbers disagree.
#
# ```{glue:figure} opening
# :figwidth: 100%
# :figclass: rfn-opening
#
# How far apart the samples move the digits (motion spread), how much fine detail they draw,
# how bright they are and how many digits stay in place, as one temperature rises with the
# other at 0 (section 3 below explains each measure and its error bars).
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints (from notebook 04) and cached results
dataset = "smmnist"  # the book's presets are SM-MNIST; BAIR is not available offline
# page parameters: None takes the profile's value (rfn/profiles.py)
temperatures = None  # the temperature grid of every sweep, e.g. [0, 0.3, 0.6]
context = None  # context frames
sequences = None  # test sequences measured
samples = None  # samples per sequence and temperature
fvd_sequences = None  # test sequences behind each FVD
fvd_samples = None  # samples per sequence for the FVD curves
checkpoint = None  # an RFN checkpoint to study instead of the profile's, e.g. "runs/rfn-quick/last.pt"

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from rfn.book.page import book_profile, page_run, setup_page
from rfn.data import make_dataset
from rfn.metrics.frames import speckle
from rfn.metrics.placed_digits import true_places
from rfn.pages import results
from rfn.pages import temperature as page

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "06_temperature", profile, seed, device, figures_dir,
    temperatures=temperatures, context=context, sequences=sequences, samples=samples,
    fvd_sequences=fvd_sequences, fvd_samples=fvd_samples, checkpoint=checkpoint
)
TEMPS = SETTINGS["temperatures"]

page_start = time.perf_counter()
run = page_run("rfn", profile, seed, artifacts_dir, checkpoint, dataset=dataset)  # notebook 04's RFN, or yours
model = run.model(dev)
ctx = SETTINGS["context"]
future = run.train_frames - ctx  # within the training horizon: no frame later than the model was trained on
test = make_dataset("smmnist", "test", seq_len=run.train_frames, **run.data_kwargs)
read_digits = results.digits_readable(run.data_kwargs)
print(run.describe(), f"({run.checkpoint}); warm-up {ctx} frames, {future} predicted")

# %% [markdown]
# ## 1. Two temperatures, one at a time (Figs 10.1 and 10.2)
#
# The RFN draws random numbers in two places when it predicts a frame: the latent
# $\mathbf{z}_t \sim p(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{h}_t)$, a small map with a
# few channels, and the flow's base distribution and split priors, with one entry per pixel.
# Each row below turns one of them up to temperature $T$ (a factor on its standard deviation)
# while the other is off ($T = 0$) and the warm-up follows the posterior means, so the only
# randomness is the swept one. Every row uses the same random numbers and the same true
# warm-up frames; the rows end at the training length of the model.

# %%
x0 = test.batch([0])
for sweep, name, fig_no in (("flow", "fig10_1_flow_temperature.png", "Fig 10.1"),
                            ("prior", "fig10_2_prior_temperature.png", "Fig 10.2")):  # fmt: skip
    futures = {t: page.sweep_samples(model, x0[:, :ctx], future, t, 1, seed, sweep)[0, 0] for t in TEMPS}
    fig = page.sweep_figure(x0[0], futures, sweep, fig_no, ctx)  # the truth, then one row per temperature
    rec.savefig(fig, name, reproduces=fig_no)
    plt.show()

# %% [markdown]
# ## 2. Both temperatures at once: an explorer
#
# The two rows above move one knob with the other at zero. The explorer below holds a 5×5
# grid: every pair of a flow temperature $\tau_\text{flow}$ and a prior temperature
# $\tau_\text{prior}$ in $\{0, 0.25, 0.5, 0.75, 1\}$, for the same test sequence, the same
# warm-up and the same random numbers (each cell only scales the same standard normal
# draws). Move one slider and keep the other still. If the thesis's reading holds, then with
# the prior slider at 0 the digit follows one path whatever the flow temperature and only its
# strokes change, and with the flow slider at 0 the prior temperature changes *where* the
# digit goes; section 3 measures both on many sequences. The first frames of each strip are
# the true warm-up frames. The samples were computed when the page was built; the
# sliders only switch between them, so nothing runs in the browser.

# %%
from IPython.display import HTML

from rfn.book.explorers import temperature_explorer

GRID = [0.0, 0.25, 0.5, 0.75, 1.0]  # the explorer's temperatures, on both axes, at every profile
cells = page.temperature_grid(model, x0[:, :ctx], future, GRID, GRID, seed)  # {(flow, prior): uint8 frames}
strips = {pair: torch.cat([x0[0, :ctx], frames]) for pair, frames in cells.items()}
display(HTML(temperature_explorer(
    strips, names=("flow τ", "prior τ"), scale=4,
    title=f"Test sequence 0: {ctx} true frames, then {future} sampled ({profile} profile RFN)",
    caption="Each strip: the warm-up frames, then the prediction drawn at the chosen pair of temperatures.",
)))  # fmt: skip

# %% [markdown]
# ## 3. Measuring motion and appearance separately
#
# One sample per row can mislead, so for each temperature and each source we draw
# 20 or more futures of each of several test sequences and measure, per sequence:
#
# * **motion spread**: at each predicted frame, the spread (standard deviation) across
#   samples of the digits' centre of mass, in pixels, averaged over the frames where every
#   sample still shows a fifth of the true ink. It grows when samples move the digits
#   differently;
# * **fine detail** (speckle): the mean absolute difference, in gray levels, between a frame
#   and its 3×3 blur. It does not depend on where the digits are, so it measures appearance
#   given the motion; it rises with noise *and* with sharp strokes (the true frames score above
#   every sample), so it is not a noise measure alone;
# * **brightness**: the samples' ink relative to the true frames' (do the digits survive?);
# * **digits in place** (`quick` and `reference`): the share of the true digits that the
#   committed reader (`rfn.metrics.placed_digits`) finds at their true place in the predicted
#   frames, over samples and frames. Past a digit's first bounce a sample may rightly draw it
#   elsewhere, so this falls for any sampler of the true process too (notebook 05 gives that
#   ceiling).
#
# Sequences are the independent units: the error bars are 95% t-intervals over sequences.
# The cell below draws the samples and measures them (`page.measure_sweeps`: `sweep_samples`
# for each source and temperature, then `sequence_measures`) and caches the numbers beside
# the model; at `reference` it reads the ones shipped with the committed RFN when they match.

# %% tags=["hide-input"]
n_seq, n_samp = SETTINGS["sequences"], SETTINGS["samples"]
x_meas = test.batch(range(1, 1 + n_seq))
places = true_places(test, [test.trajectory(i) for i in range(1, 1 + n_seq)], ctx, future) if read_digits else None
rows = run.cached(
    f"book_temperature_measures_{profile}.json",
    lambda: page.measure_sweeps(model, x_meas, ctx, TEMPS, n_samp, seed, places),
    page.measures_key(run, SETTINGS, seed, read_digits),
)
per_sequence = page.per_sequence(rows)
table = page.measures_table(per_sequence)
truth = {"fine detail": speckle(x_meas[:, ctx:]), "brightness": 1.0}

# %%
fig = page.measures_figure(table, truth, f"RFN on {n_seq} SM-MNIST test sequences, {n_samp} samples each, "
                           f"{future} predicted frames after {ctx} (mean and 95% CI over sequences)")  # fmt: skip
rec.savefig(fig, "fig10_temperature_measures.png", reproduces="Figs 10.1 and 10.2, measured", opening=True)
plt.show()
table.round(4).to_csv(rec.path("tab10_temperature_measures.csv"), index=False)
rec.record(rec.path("tab10_temperature_measures.csv"), reproduces="Figs 10.1 and 10.2, measured")
display(table.pivot_table(index=["sweep", "τ"], columns="measure", values="mean").round(3))

# %% tags=["remove-input"]
display(Markdown(page.verdict(per_sequence, TEMPS)))

# %% [markdown]
# ## 4. Best-of-N and FVD against the flow temperature (Fig 9.5, Table 9.3)
#
# The thesis lowered only the flow's temperature (the prior kept $T = 1$) and found the best
# FVD on BAIR between 0.5 and 0.7, while the best-of-100 PSNR, SSIM and LPIPS barely moved.
# FVD needs clips of at least 9 frames (I3D), longer than the `quick` model's 8-frame training
# sequences, so this section uses the thesis's protocol (5 warm-up frames, 13 predicted) and
# runs past the training length (dotted line). With few clips an FVD carries a large
# small-sample bias: the real-versus-real row gives its size (notebook 05 shows how it shrinks).

# %% tags=["hide-input"]
proto = page.sweep_protocol(profile, SETTINGS)  # the thesis's Table 9.3 protocol on held-out SM-MNIST
heldout = make_dataset("smmnist", "test", seq_len=proto.total_frames, seed=1, **run.data_kwargs)
n = SETTINGS["fvd_sequences"]
sweep = run.cached(
    f"book_temperature_{proto.name}.json",
    lambda: page.emission_temperature_sweep(model, heldout.batch(range(2 * n)), proto, TEMPS, seed, dev,
                                            SETTINGS["fvd"]),
    page.sweep_key(run, proto, TEMPS, SETTINGS, seed),
)  # fmt: skip
print("protocol:", proto.describe())

# %%
frames = list(range(proto.context_frames + 1, proto.total_frames + 1))
fig = page.sweep_curves_figure(sweep, TEMPS, frames, run.train_frames, proto.n_samples,
                               f"Fig 9.5 on SM-MNIST: {n} held-out sequences, prior temperature 1")  # fmt: skip
rec.savefig(fig, "fig9_5_temperature_similarity.png", reproduces="Fig 9.5 (SM-MNIST stand-in for BAIR)")
plt.show()

# %%
if SETTINGS["fvd"]:
    tab93 = page.fvd_table(sweep, TEMPS, f"{n} clips of {proto.predicted_frames} predicted frames, 1 sample each, "
                           "prior τ = 1")  # fmt: skip
    tab93.to_csv(rec.path("tab9_3_fvd_temperature.csv"))
    rec.record(rec.path("tab9_3_fvd_temperature.csv"), reproduces="Table 9.3 (SM-MNIST stand-in for BAIR)")
    display(tab93)
    display(Markdown(page.fvd_verdict(sweep, TEMPS, n)))
else:
    print(f"{profile} profile: FVD skipped (I3D at 224x224 is slow on a CPU); run quick, reference or thesis")
print(f"wall time of this page: {time.perf_counter() - page_start:.0f} s")

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this profile's RFN (notebook 04's run).

# %% tags=["hide-cell", "exercise-setup"]
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML, display

from rfn.book.explorers import temperature_explorer
from rfn.data import make_dataset
from rfn.pages import temperature as temperature_page
from rfn.runs import get_run

ex_run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (trained first if missing)
ex_model = ex_run.model("cpu")
ex_test = make_dataset("smmnist", "test", seq_len=ex_run.train_frames, **ex_run.data_kwargs)

# %% [markdown]
# **Exercise 1** (derive). Drawing $u = \mu + \tau\sigma\epsilon$ with $\epsilon \sim \mathcal{N}(0, 1)$
# is sampling at temperature $\tau$. (a) Show that for a Gaussian this is the same as sampling
# from the density proportional to $p(u)^{1/\tau^2}$. (b) The flow decodes $x = g(u)$. Is the
# density of $x$ at temperature $\tau$ proportional to $p(x)^{1/\tau^2}$? If not, for which
# flows is it?
#
# ```{admonition} Solution
# :class: dropdown
# (a) $p(u)^{1/\tau^2} \propto \exp\big(-(u - \mu)^2 / (2\tau^2\sigma^2)\big)$, the kernel of
# $\mathcal{N}(\mu, \tau^2\sigma^2)$, which is the law of $\mu + \tau\sigma\epsilon$.
#
# (b) By the change of variables, the tempered flow has
# $p_\tau(x) = \mathcal{N}(u; \mu, \tau^2\sigma^2)\,|\det J_{g^{-1}}(x)|$ with $u = g^{-1}(x)$,
# while $p(x)^{1/\tau^2} = \mathcal{N}(u; \mu, \sigma^2)^{1/\tau^2}\,|\det J_{g^{-1}}(x)|^{1/\tau^2}$.
# The Gaussian factors agree up to a constant by (a), but the Jacobian factor is raised to the
# power 1 in one and $1/\tau^2$ in the other. They are proportional only when
# $|\det J_{g^{-1}}|$ is the same everywhere, a volume-preserving flow (additive couplings,
# no learned scales). Glow's temperature is therefore a convenient knob on the base
# distribution, not an exact sharpening of the model's density. The same holds for the
# RFN's prior temperature, which scales the draws of $\mathbf{z}_t$ that later steps read.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Keep the flow temperature at 0 and turn the prior
# temperature up from 0 to 0.5 to 1. Sketch the motion spread (section 3's measure, in
# pixels) against the prior temperature: what is its value at $\tau_\text{prior} = 0$, and is
# the curve straight, bending up or bending down? Then run the hidden cell (three sequences,
# six samples each, so expect noise).
#
# ```{admonition} Solution
# :class: dropdown
# At $\tau_\text{prior} = 0$ (and flow temperature 0) nothing is random: every sample is the
# same future, and the spread is exactly 0. For small temperatures each latent draw is a small
# displacement of the prior mean, and a smooth model turns it into a proportionally small
# change of the digit's path, so the curve starts roughly as a straight line through the
# origin. Larger draws can be bent back by the walls (a digit that bounces cannot leave the
# frame), so the curve tends to bend down at higher temperatures. A briefly trained model may
# barely use its latent at all: then the curve stays near 0 (and can be undefined, NaN,
# where the samples lose their digits).
# ```

# %% tags=["hide-cell", "exercise-solution"]
ex_ctx = 2
ex_clips = ex_test.batch(range(1, 4))
prior_taus = [0.0, 0.5, 1.0]
spread = []
for tau in prior_taus:
    n_future = ex_run.train_frames - ex_ctx
    s = temperature_page.sweep_samples(ex_model, ex_clips[:, :ex_ctx], n_future, tau, 6, seed, "prior")
    spread.append(np.nanmean(temperature_page.sequence_measures(s, ex_clips[:, ex_ctx:])["motion spread"]))
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot(prior_taus, spread, "o-")
ax.set(xlabel="prior temperature τ", ylabel="motion spread (pixels)", title="flow temperature 0")
plt.show()
print("motion spread per prior temperature:", [round(float(v), 3) for v in spread])

# %% [markdown]
# **Exercise 3** (modify). The explorer of section 2 warms the model up on two true frames.
# Change the number of context frames to 1 and rebuild a 3×3 grid of the same sequence. With a
# single frame the model has seen a position but no velocity: what should change in the
# prior-temperature direction of the grid?
#
# ```{admonition} Solution
# :class: dropdown
# From one frame the velocity is unknown, so the prior of the first latent must cover every
# direction the digit could take; with two frames the direction is (up to a bounce) fixed.
# With one context frame the prior slider should therefore move the digit more, and at
# $\tau_\text{prior} = 0$ the model follows its mean guess, which need not match the true
# direction. How clearly this shows depends on how well the profile's model was trained.
# ```

# %% tags=["hide-cell", "exercise-solution"]
one = ex_test.batch([0])
grid3 = [0.0, 0.5, 1.0]
cells1 = temperature_page.temperature_grid(ex_model, one[:, :1], ex_run.train_frames - 1, grid3, grid3, seed)
display(HTML(temperature_explorer({k: torch.cat([one[0, :1], v]) for k, v in cells1.items()}, scale=3,
                                  title="Test sequence 0 after one context frame")))  # fmt: skip

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** the temperature analysis of the thesis's section 10.1 (Figs 10.1 and 10.2:
# samples with the flow's temperature varied while the latent prior is switched off, and the
# reverse) and the temperature experiments of section 9.2 (Table 9.3, FVD against the flow
# temperature, and Fig 9.5, best-of-N curves per flow temperature), on SM-MNIST instead of
# BAIR.
#
# **Run time** (2-core CPU): `smoke` about 15 s (no FVD, no digit identity); `quick` about 3
# minutes (20 samples of 12 sequences per temperature and source; FVD on 12 clips per flow
# temperature); `reference` about 10 s with the numbers shipped beside the reference RFN
# (FVD on 256 clips per flow temperature; recomputing them takes about 15 minutes of one
# core); `thesis` about 30 minutes on a GPU. Numbers are cached.
#
# **Checkpoint:** the `checkpoint` parameter when given, else the profile's RFN,
# `artifacts/<profile>/rfn-smmnist-seed<seed>/last.pt` from
# notebook 04 (trained first if missing), or at `reference` the weights-only file
# `checkpoints/reference/reference-smmnist.pt`. Cached numbers: `book_temperature_*.json` beside it
# (`artifacts/reference/rfn/` at `reference`, read from `checkpoints/reference/cache/` when they match).
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig10_1_flow_temperature.png`, `fig10_2_prior_temperature.png`,
# `fig10_temperature_measures.png`, `tab10_temperature_measures.csv`, `fig9_5_temperature_similarity.png`,
# `tab9_3_fvd_temperature.csv`.
# :::

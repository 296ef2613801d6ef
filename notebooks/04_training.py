# %% [markdown]
# # Training the RFN and its baselines
#
# **The question.** How do the RFN and its baselines (SRNN, VRNN and a deterministic
# ConvLSTM) learn, and what can they do once trained?
#
# **The idea.** The latent-variable models maximise a bound on the log-likelihood of video: a
# reconstruction term (bits per pixel) minus a KL term that keeps the posterior close to the
# prior. Following both terms, the KL weight and the validation bits per pixel while training
# shows whether a model uses its latents; putting posterior reconstructions beside one-step
# prior predictions shows what it has learned to foresee.
#
# ```{glue:figure} opening
# :figwidth: 75%
# :figclass: rfn-opening
#
# The learning curves of the four models: the bound in bits per pixel, the KL term, the KL weight
# $\beta$ and the learning rate over training (section 3 below reads them).
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints go to artifacts_dir/<profile>/<kind>-smmnist-seed<seed>/
dataset = "smmnist"  # the book's presets are SM-MNIST; BAIR/KTH are not available offline
# page parameters: None takes the profile's value (rfn/profiles.py)
show = None  # sequences in the reconstruction figure
context = None  # context frames of the first predictions
future = None  # predicted frames of the first predictions
gif_sequences = None  # sequences in the animation

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Image, Markdown, display

from rfn import viz
from rfn.book.page import book_profile, setup_page
from rfn.checkpoint import load_checkpoint
from rfn.data import make_dataset
from rfn.pages import training as page
from rfn.presets import get_preset
from rfn.runs import preset_for, run_file, trained_model

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "04_training", profile, seed, device, figures_dir,
    show=show, context=context, future=future, gif_sequences=gif_sequences
)
KINDS = ["rfn", "srnn", "vrnn", "deterministic"]

page_start = time.perf_counter()
if dataset != "smmnist":
    raise ValueError(
        f"dataset={dataset!r}: BAIR and KTH are not available offline here and the book's presets are SM-MNIST; "
        "train thesis-bair / thesis-kth with `rfn train` on prepared data instead"
    )

# %% [markdown]
# ## 1. What is trained: the thesis's settings beside ours
#
# The thesis trains every model on 64×64 frames, 10 frames per sequence, each frame
# predicted from the one before it, for 300k steps; that takes days on a GPU. The
# `thesis` profile uses exactly those settings (the presets `thesis-smmnist*`). The `quick`
# profile keeps the architecture and the objective and shrinks everything else so that a
# 2-core CPU can train all four models in about ten minutes: 32×32 frames with 16-pixel
# digits, 8 frames per sequence, three levels instead of four, narrow networks, a higher
# learning rate and a short $\beta$ warm-up. The tables list the settings side by side.

# %%
tab_a2 = page.hyper_table(page.THESIS_A2, ["rfn"], profile)
tab_a2.to_csv(rec.path("tabA_2_rfn_hyperparameters.csv"))
rec.record(rec.path("tabA_2_rfn_hyperparameters.csv"), reproduces="Table A.2")
tab_a3 = page.hyper_table(page.THESIS_A3, ["srnn", "vrnn"], profile)
tab_a3.to_csv(rec.path("tabA_3_srnn_hyperparameters.csv"))
rec.record(rec.path("tabA_3_srnn_hyperparameters.csv"), reproduces="Table A.3")
print("Table A.2, RFN:")
display(tab_a2)
print("Table A.3, SRNN and VRNN:")
display(tab_a3)

# %% [markdown]
# ## 2. Training (or loading) the four models
#
# `trained_model` (from `rfn.runs`) calls `rfn.runs.ensure_trained`: if
# `artifacts/<profile>/<kind>-smmnist-seed<seed>/last.pt` holds a finished run it is loaded,
# otherwise the normal training engine (`rfn.training.Trainer`, the same as `rfn train`) runs
# and writes the checkpoint, `metrics.csv` and TensorBoard logs there. Every model
# optimises the same kind of objective: the negative evidence lower bound of frames
# $2..T$ given frame 1, in bits per pixel, with the KL term weighted by $\beta$ during the
# warm-up. The deterministic baseline has no latent variable, so its KL is zero and its
# bound is a Gaussian likelihood of the frames.

# %%
models, wall = {}, {}
for kind in KINDS:
    ckpt = run_file(kind, profile, "last.pt", seed, artifacts_dir)
    before = load_checkpoint(ckpt)["step"] if ckpt.exists() else 0
    t0 = time.perf_counter()
    models[kind] = trained_model(kind, profile, seed, root=artifacts_dir, device=dev)
    wall[kind] = time.perf_counter() - t0
    steps = get_preset(preset_for(kind, profile)).train_config().steps
    done = "loaded" if profile == "reference" or before >= steps else "trained"
    n_params = sum(p.numel() for p in models[kind].parameters())
    print(f"{page.LABELS[kind]:>26}: {n_params / 1e6:.3f} M parameters, {done} in {wall[kind]:.0f} s")

# %% [markdown]
# ## 3. Learning curves
#
# Each run logs its running averages every few steps to `metrics.csv`. The bound in
# bits per pixel (lower is better) falls steeply at first: the models learn the black
# background, then the digits' shapes, and only then how they move. The KL term is
# where the latent variable pays for information about the future that the past does
# not determine (a bounce, a digit's new velocity); $\beta$ grows from almost 0 to 1 over
# the warm-up, and the learning rate decays linearly to 0 over the second half of the run.
# Validation points use held-out SM-MNIST sequences, $\beta = 1$ and eval mode.

# %%
curves = {kind: pd.read_csv(run_file(kind, profile, "metrics.csv", seed, artifacts_dir)) for kind in KINDS}
fig = page.curves_figure(curves, f"Learning curves on SM-MNIST ({profile} profile, seed {seed}, {dev})")
rec.savefig(fig, "fig_training_curves.png", opening=True)
plt.show()
display(Markdown(page.last_bounds_sentence(curves)))

# %% [markdown]
# ## 4. Reconstructions from the posterior and one-step predictions from the prior
#
# With the true previous frames fed in (teacher forcing), the three latent-variable
# models can decode frame $t$ in two ways from the same deterministic state
# $\mathbf{h}_t$: with $\mathbf{z}_t$ from the **posterior**, which has seen frame $t$ (and,
# with smoothing, the frames after it), giving a *reconstruction*; or with $\mathbf{z}_t$
# drawn from the **prior** $p(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{h}_t)$, which has
# not, giving a *one-step prediction*. Where the two differ, the latent carries
# information that the past alone does not give; this is what the KL term measures
# (chapter 10 of the thesis analyses it in detail, Fig 10.4 on the KL and bpp page).
#
# What to expect from the `quick` profile: after a few minutes of CPU training the models
# have learned where the digits are and roughly how bright and large they are, but not yet
# their strokes; frames come out as speckled blobs in the right places (the RFN's flow and
# the baselines' per-pixel output distributions both sample pixel noise at temperature 1).
# The KL is small, so the posterior and the prior rows look alike. The `reference` profile
# loads models trained for hours on the same CPU (the page on training on a CPU gives their
# steps and numbers): strokes appear, but samples at temperature 1 are still noisy, and the
# RFN's KL is even smaller than the quick model's. The thesis's models trained for days;
# the `thesis` profile trains them.
#
# Pixels alone do not say whether a model kept *which* digits, and *where*. Each row label
# therefore carries the share of the true digits that a small committed reader
# (`rfn.metrics.placed_digits`) finds at their true place in the row's frames (about 0.93 on
# true test frames, 0 on black frames). The `smoke` profile's frames are 16×16, which the
# reader does not read, so it is skipped there.

# %%
data_kw = dict(get_preset(preset_for("rfn", profile)).data.kwargs)
train_len = get_preset(preset_for("rfn", profile)).data.seq_len
test = make_dataset("smmnist", "test", seq_len=train_len, **data_kw)
x_show = torch.stack([test[i] for i in range(SETTINGS["show"])]).to(dev)
readable = page.identity_readable(x_show, test.num_digits)
torch.manual_seed(seed)
fig, stats = page.reconstructions_figure(
    {kind: models[kind] for kind in ("rfn", "srnn", "vrnn")},
    x_show,
    dataset=test if readable else None,
    title="Posterior reconstructions vs one-step prior predictions (true previous frames fed in)",
)
rec.savefig(fig, "fig_training_reconstructions.png")
plt.show()
stats.to_csv(rec.path("tab_training_reconstructions.csv"))
rec.record(rec.path("tab_training_reconstructions.csv"))
display(stats.style.format("{:.3f}"))
display(Markdown(page.digits_in_place_sentence(stats if readable else None, x_show, test.num_digits)))

# %% [markdown]
# ## 5. A first look at predictions
#
# Now the RFN runs on its own: it reads a few true frames (the warm-up, green border), then
# draws every further frame from its prior and its flow and feeds it back (red border).
# The top row keeps showing the true sequence for comparison. The animation runs past the
# training length, so its last frames show how far the model's dynamics carry. Notebook 05
# evaluates predictions properly.

# %%
ctx, fut = SETTINGS["context"], SETTINGS["future"]
long_test = make_dataset("smmnist", "test", seq_len=ctx + fut, **data_kw)
x_gif = torch.stack([long_test[i] for i in range(SETTINGS["gif_sequences"])]).to(dev)
torch.manual_seed(seed)
pred = models["rfn"].predict(x_gif[:, :ctx], n_future=fut, n_samples=1)[:, 0]
both = torch.cat([x_gif.cpu(), torch.cat([x_gif[:, :ctx], pred], dim=1).cpu()], dim=0)  # truth rows, then RFN rows
gif = viz.save_gif(rec.path("fig_training_first_predictions.gif"), both, fps=4, ncols=len(x_gif), context=ctx, scale=3)
rec.record(gif)
display(Image(filename=str(gif)))
fig = page.first_predictions_figure(both, ctx, train_len)
rec.savefig(fig, "fig_training_first_predictions.png")
plt.show()

# %% [markdown]
# ## 6. The runs
#
# The table lists each run with its final training and validation bound and its speed
# as measured by the training loop (sequences per second, the median over the logged
# intervals), on this machine. The `quick` numbers are far from the thesis's: a few
# hundred steps on 32×32 frames instead of 300k steps on 64×64 frames; notebook 05 puts
# them beside the thesis's tables with their protocols.

# %%
runs_df = page.runs_table(curves, models, profile, wall, dev)
runs_df.to_csv(rec.path("tab_training_runs.csv"))
rec.record(rec.path("tab_training_runs.csv"))
display(runs_df)

# %% tags=["remove-input"]
elapsed = time.perf_counter() - page_start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this profile's RFN.

# %% tags=["hide-cell", "exercise-setup"]
import math

import torch

from rfn.data import make_dataset
from rfn.models import build
from rfn.runs import get_run

ex_run = get_run("rfn", profile, seed, root=artifacts_dir)  # this page's RFN (trained first if missing)
ex_model = ex_run.model("cpu")
ex_test = make_dataset("smmnist", "test", seq_len=ex_run.train_frames, **ex_run.data_kwargs)
ex_clips = ex_test.batch(range(4))

# %% [markdown]
# **Exercise 1** (derive). The tables report the negative ELBO in bits per dimension. (a) Turn
# a loss of $\mathcal{L}$ nats per clip into bits per dimension for clips of $T$ frames of
# $C \times H \times W$ pixels, of which the first is only conditioned on. (b) Show that a
# model that spreads its probability evenly over all 256 values of every pixel scores exactly
# 8 bits per dimension, and explain why the dequantisation constant $-D \log 2^n$ of
# {eq}`eq-dequant` makes a continuous flow comparable with it.
#
# ```{admonition} Solution
# :class: dropdown
# (a) The modelled frames hold $D = (T - 1)\,CHW$ dimensions, and $1 \text{ nat} = 1/\ln 2$
# bits, so $\text{bpd} = \mathcal{L} / \big((T - 1)\,CHW \ln 2\big)$; `rfn.pixels.bits_per_pixel`
# does this division.
#
# (b) Each pixel value has probability $1/256$, so $-\log_2 P = 8$ bits per dimension. A flow
# gives a *density* $p(\tilde{\mathbf{x}})$ on the dequantised values, and a density is not a
# probability: it can exceed 1. Integrating it over the bin of width $2^{-n}$ per dimension
# around a pixel value gives the probability of that value; for a density that is flat on
# the bin that is $p \cdot 2^{-nD}$, and in general the uniform dequantisation gives a lower
# bound of that form. In logs: $\log P \ge \log p - D \log 2^n$. A flow whose density is
# uniform on the cube $[-\tfrac12, \tfrac12]^D$ (volume 1) has $p = 1$ there, and the
# constant turns that into $P = 2^{-nD}$: 8 bits per dimension for $n = 8$, the same as the
# discrete uniform model.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Build the same architecture with fresh weights
# (`build("rfn", config)` with this run's config) and score the same four test clips with it and with the
# trained run. Predict: is the fresh model above or below 8 bits per dimension, and by how much
# does training lower the number at this profile? Then run.
#
# ```{admonition} Solution
# :class: dropdown
# A fresh flow is close to the identity with a standard normal base, but its ActNorm layers
# initialise on the first batch they see so that every channel has zero mean and unit
# variance: the untrained model already fits the overall brightness statistics, which on
# mostly black frames is worth a lot. Its score is therefore *below* 8 bits.
# Training then lowers it further; by how much depends on the profile (at `smoke`, a few
# steps, very little; at `quick` and `reference`, much more).
# ```

# %% tags=["hide-cell", "exercise-solution"]
torch.manual_seed(seed)
fresh = build("rfn", ex_model.config).eval()  # the run's architecture, fresh weights
with torch.no_grad():
    torch.manual_seed(seed)
    fresh_bpp = fresh.loss(ex_clips)["bpp"].item()
    torch.manual_seed(seed)
    trained_bpp = ex_model.loss(ex_clips)["bpp"].item()
print(f"fresh weights: {fresh_bpp:.3f} bits per dimension; trained ({ex_run.describe()}): {trained_bpp:.3f}")

# %% [markdown]
# **Exercise 3** (modify). Training weights the KL term by $\beta$, warmed up from 0 to 1
# ({eq}`eq-rfn-elbo`). Evaluate the trained model's `loss(x, beta=...)` at $\beta = 0$, 0.5 and
# 1 on the same clips. Which of the returned numbers change with $\beta$ and which do not?
# Why is the reported `bpp` always the $\beta = 1$ bound?
#
# ```{admonition} Solution
# :class: dropdown
# Only `loss` changes: it is $(\text{NLL} + \beta\,\text{KL}) / \text{dims}$, so it falls by
# the KL share as $\beta$ goes to 0. `bpp`, `nll_bpp` and `kl_bpp` do not depend on $\beta$.
# The reported number must be a bound on the data's log-likelihood, and only $\beta = 1$ gives
# one; with $\beta < 1$ the objective leaves out part of the cost of the latents, which is
# why the warm-up helps early training but is never used to compare models.
# ```

# %% tags=["hide-cell", "exercise-solution"]
for beta in (0.0, 0.5, 1.0):
    with torch.no_grad():
        torch.manual_seed(seed)
        out = ex_model.loss(ex_clips, beta=beta)
    loss_bits, bpp, nll, kl = out["loss"].item() / math.log(2), out["bpp"].item(), out["nll_bpp"], out["kl_bpp"]
    print(f"beta {beta:.1f}: loss {loss_bits:.4f} bits per dimension; bpp {bpp:.4f} (emission {nll:.4f} + KL {kl:.4f})")

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** the hyperparameter tables of the thesis's appendix (Tables A.2 and A.3),
# shown beside the settings this page actually trains with, and the training behaviour
# behind chapter 9: learning curves (bits per pixel, KL, the KL weight $\beta$, the
# learning rate, validation bits per pixel) for the RFN, the SRNN, the VRNN and the
# deterministic ConvLSTM baseline, posterior reconstructions next to one-step prior
# predictions with the share of frames whose digits a classifier still recognises, and a
# first animation of RFN predictions.
#
# **Run time** (2-core CPU, measured): `smoke` about 15 s; `quick` about 12.5 minutes
# while other jobs shared the machine (about 10 on an idle one), nearly all of it training:
# RFN 1000 steps, SRNN and VRNN 800, batch 12, 32×32 frames, one CPU thread (the table at
# the end gives each run's speed). The deterministic baseline (600 steps, 1 minute) is
# usually trained already by notebook 03 and only loaded here. A second run loads the
# checkpoints and takes about 20 s;
# `reference` loads the committed reference weights and trains nothing (seconds);
# `thesis` trains the thesis's models (300k steps each), days on a GPU, and is meant to be
# done beforehand with `rfn train --preset thesis-smmnist --out artifacts/thesis/rfn-smmnist-seed0`
# (and likewise `thesis-smmnist-srnn`, `thesis-smmnist-vrnn`).
#
# **Checkpoint:** this page *writes* the checkpoints the later pages read:
# `artifacts/<profile>/{rfn,srnn,vrnn,deterministic}-smmnist-seed<seed>/last.pt`. A run that
# has finished is loaded instead of retrained, and a partial one resumes. The training
# settings of every profile live in one place, the presets (`rfn.presets`).
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `tabA_2_rfn_hyperparameters.csv`, `tabA_3_srnn_hyperparameters.csv`,
# `fig_training_curves.png`, `fig_training_reconstructions.png`, `fig_training_first_predictions.png`,
# `fig_training_first_predictions.gif`, `tab_training_reconstructions.csv`, `tab_training_runs.csv`.
# :::

# %% [markdown]
# # Results: predictions, best-of-N curves, bits per pixel and FVD
#
# **The question.** Does the RFN predict Stochastic Moving MNIST better than the SRNN and
# the VRNN, and by which measure?
#
# **The idea.** A stochastic model's futures cannot be judged by one sample against the one
# true future, so video prediction is scored three ways: the best of N sampled futures against
# the truth (PSNR, SSIM, LPIPS), the distance between real and predicted clips as
# distributions (FVD), and the likelihood of the test set (bits per pixel). Each measure has a
# pitfall; this page shows them with numbers beside the results.
#
# ```{glue:figure} opening
# :figwidth: 100%
# :figclass: rfn-opening
#
# The RFN, the SRNN and the VRNN scored on the same test sequences: the best of $N$ samples at each
# predicted frame (solid), the mean over samples (dashed) and two predictions without a model (gray).
# Section 2 explains the scores and tests which differences are real.
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints (from notebook 04) and cached results
dataset = "smmnist"  # the book's presets are SM-MNIST; BAIR/KTH are not available offline
# page parameters: None takes the profile's value (rfn/profiles.py)
strip_sequences = None  # sequences in the prediction strips
pool = None  # test sequences behind the best/worst figures
pool_samples = None  # samples per sequence for the best/worst figures
long_frames = None  # frames of the long rollouts
show = None  # sequences per best/worst figure
iw_k = None  # importance samples of the bits-per-pixel bound
fvd_clips = None  # clips per set behind each FVD
digit_samples = None  # samples per sequence behind the digits-at-their-place table

# %% tags=["hide-input"]
import time
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from rfn.book.page import book_profile, setup_page
from rfn.data import make_dataset
from rfn.evaluation import EvaluationWarning
from rfn.metrics import frame_scores
from rfn.pages import placed_digits as placed_digits_page
from rfn.pages import results as page
from rfn.runs import seeded_predict

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "05_results", profile, seed, device, figures_dir,
    strip_sequences=strip_sequences, pool=pool, pool_samples=pool_samples, long_frames=long_frames, show=show,
    iw_k=iw_k, fvd_clips=fvd_clips, digit_samples=digit_samples
)
warnings.filterwarnings("ignore", category=EvaluationWarning)  # skipped metrics are listed with their reasons
page_start = time.perf_counter()
proto = SETTINGS["protocol"]
ctx, total = proto.context_frames, proto.total_frames
runs = page.comparison_runs(profile, seed, artifacts_dir, dataset)  # "RFN", "SRNN", "VRNN" -> rfn.runs.Run
models = {label: run.model(dev) for label, run in runs.items()}
train_frames, data_kw = runs["RFN"].train_frames, runs["RFN"].data_kwargs
test = make_dataset("smmnist", proto.split, seq_len=total, **data_kw)

# %% [markdown]
# ## 1. Predictions (Fig 9.6)
#
# The model reads the first frames of a test sequence (the warm-up, **green** border), one at
# a time as in training; from then on it draws $\mathbf{z}_t$ from its prior and the frame
# from its conditional flow, and reads its own output as the next input (**red** border).
# (The thesis used the opposite colours.) Each pair of rows is one test sequence: the truth
# above, one RFN sample below. Frames after the training length are extrapolation.

# %%
n_strip = SETTINGS["strip_sequences"]
x_strip = test.batch(range(n_strip))
rfn_pred = seeded_predict(models["RFN"], x_strip[:, :ctx], total - ctx, seed=seed)[:, 0]  # one sample each
rows, labels = page.truth_and_prediction(x_strip, rfn_pred, "RFN")
title = f"RFN on SM-MNIST test sequences: {ctx} warm-up frames (green), {total - ctx} predicted (red); "
fig = page.frames_figure(rows, labels, title + f"trained on {train_frames}-frame sequences", context=ctx)
rec.savefig(fig, "fig9_6_smmnist_predictions.png", reproduces="Fig 9.6")
plt.show()
page.show_animation(rec, "fig9_6_smmnist_predictions.gif", rows, "Fig 9.6", fps=4, ncols=2, context=ctx, scale=3)

# %% [markdown]
# ## 2. Best-of-N similarity (Fig 9.7) and what a prediction without a model scores
#
# A sampled future need not match the one future the test set recorded, so pixel metrics are
# taken over $N$ samples per test sequence. As in the thesis's text, the best is picked at every
# predicted frame (solid): the curve is an upper envelope of the samples, and each frame may be
# won by a different sample. The stricter variant keeps one sample per sequence, the one with the
# best mean over its frames (the table's "best sample" columns; section 4 shows how the two grow
# with $N$). The mean over samples (dashed) shows a typical sample. `rfn.evaluation.evaluate`
# computes all three, the same code as `rfn evaluate --protocol ...`.
#
# The gray lines are two predictions that need no model: all-black frames, and the last
# warm-up frame held still. They are scored **in the same call, on the same test sequences and
# frames** as the samples (the page checks that every model scored the same sequences). SM-MNIST
# frames are mostly black, so an empty prediction already scores a fair PSNR and SSIM; a model's
# curve means something only where it is above them, which the paired tests below decide.
#
# The evaluation protocol fixes the test sequences, the warm-up and predicted frames and $N$; each
# model's evaluation is cached beside its checkpoint, keyed by the checkpoint's hash.

# %%
options = page.evaluation_options(SETTINGS, dev)
results = {label: run.evaluation(proto, options) for label, run in runs.items()}
eval_indices = page.same_sequences(results)  # raises if two models or their baselines scored other sequences
print(page.evaluation_report(proto, runs, results))

# %%
baselines = results["RFN"]["best_of_n"]["baselines"]
title = f"Best-of-N on SM-MNIST: {proto.n_test_sequences or 'all'} test sequences, {ctx} warm-up frames, "
title += f"{total - ctx} predicted, best of {proto.n_samples} samples"
fig = page.best_of_n_figure({k: r["best_of_n"] for k, r in results.items()}, baselines, train_frames, title)
rec.savefig(fig, "fig9_7_smmnist_best_of_n.png", reproduces="Fig 9.7", opening=True)
plt.show()
summary = page.summary_table(results)
display(summary)

# %% [markdown]
# Each model against each baseline, paired over the same test sequences: the difference averaged
# over the predicted frames (positive favours the model), its 95% interval and p-value over
# sequences, and the frames where the interval lies wholly above or below zero. Below it, the
# RFN against the SRNN and the VRNN in every measure, paired the same way.

# %%
ssim_tests = page.baseline_tests(results, "ssim")
versus = pd.concat([page.model_tests(results, m) for m in page.scored_metrics(results)], ignore_index=True)
display(page.styled(ssim_tests, "baseline_tests"), page.styled(versus, "model_tests"))

# %% tags=["remove-input"]
display(Markdown(page.baseline_findings(results, summary, ssim_tests, versus)))

# %% [markdown]
# ### Table 9.5: bits per pixel
#
# Lower is better; each number is an upper bound on the code length: the negative ELBO of
# test sequences given their first frame, and the importance-weighted bound with $K$ samples,
# which is tighter (the thesis reports it with $K = 20$ for the baselines). Our models see
# 32×32 frames (16 pixels at `smoke`), the thesis's 64×64, so only the *ordering* of the three
# models can be compared with the thesis.

# %%
THESIS_BPP = {"RFN": "≤ 0.841 ± 0.019", "SRNN": "≤ 0.542 ± 0.007", "VRNN": "≤ 0.546 ± 0.005"}
tab95 = page.bpp_table(results, THESIS_BPP, {k: run.describe() for k, run in runs.items()})
page.save_table(rec, tab95, "tab9_5_bpp_smmnist.csv", reproduces="Table 9.5")
display(tab95)
print(page.bpp_ordering(results))

# %% [markdown]
# ## 3. FVD (Table 9.4) and its floor
#
# The Fréchet Video Distance compares the distribution of I3D features of real and of
# generated clips (lower is better); here the clips are the predicted frames after the
# warm-up, one sample per test sequence. Fitted to few clips, the two Gaussians differ even
# when both sets are real, so an FVD has a floor that depends on the number of clips. The
# figure measures it: the FVD between two disjoint sets of *real* test clips, against the
# number of clips per set. A model's FVD can only be read against the floor at the same count.
#
# The first $n$ test sequences give the models' clips and the first real set, the next $n$ the
# second real set. Each model's FVD is cached beside its checkpoint and the floor beside the RFN's,
# so a retrained model recomputes only its own number.

# %%
THESIS_FVD = {"RFN": "633.44 ± 4.20", "SRNN": "245.22 ± 3.27", "VRNN": "274.20 ± 4.17"}
n_fvd = SETTINGS["fvd_clips"]
if n_fvd:
    study = page.fvd_study(models, test.batch(range(2 * n_fvd)), proto, seed, dev, runs=runs, data=data_kw)
    fvd_text = f"{total - ctx} predicted frames after {ctx} warm-up, 1 sample per sequence, {proto.fvd_resize} resize"
    tab94 = page.fvd_table(study, THESIS_FVD, fvd_text)
    page.save_table(rec, tab94, "tab9_4_fvd_smmnist.csv", reproduces="Table 9.4")
    display(tab94)
    fig = page.fvd_floor_figure(study, f"FVD of real against real SM-MNIST clips ({fvd_text})")
    rec.savefig(fig, "fig9_4_fvd_floor.png", reproduces="Table 9.4 (the small-sample floor)")
    plt.show()
else:
    print(f"{profile} profile: FVD skipped (I3D at 224x224 is slow on a CPU); run quick, reference or thesis")

# %% tags=["remove-input"]
if n_fvd:
    display(Markdown(page.fvd_findings(study)))

# %% [markdown]
# ## 4. Best per frame or best per sequence
#
# A best-of-N score rewards a model for spreading its samples: with more samples one of them
# is more likely to land near the recorded future. How much depends on how the best is chosen.
# The curves above pick the best sample *at every frame*, as the thesis's text defines its
# best-of-N: a different sample may win each frame, a future no single sample drew. The
# stricter variant keeps, per sequence, the *one* sample with the best mean over its frames
# (the thesis's public evaluation code does this). The figure draws both for the RFN's samples
# on a pool of test sequences as $N$ grows.

# %%
pool, n_pool = SETTINGS["pool"], SETTINGS["pool_samples"]
x_pool = test.batch(range(pool))
pool_samples = seeded_predict(models["RFN"], x_pool[:, :ctx], total - ctx, n=n_pool, seed=seed)
pool_scores = {m: frame_scores(x_pool[:, ctx:], pool_samples, m, device=dev) for m in ("psnr", "ssim")}

# %%
growth = {m: page.best_of_n_growth(s, higher_is_better=True) for m, s in pool_scores.items()}
title = f"RFN, {pool} test sequences, {total - ctx} predicted frames: best of the first N samples"
fig = page.growth_figure(growth, title)
rec.savefig(fig, "fig9_7_best_of_n_growth.png", reproduces="Fig 9.7 (how the best is chosen)")
plt.show()

# %% tags=["remove-input"]
display(Markdown(page.growth_findings(growth)))

# %% [markdown]
# ## 5. Are the right digits in the right place?
#
# Pixel scores cannot tell a blurred digit from a different one, and a frame can show the right
# two digits in the wrong places. `rfn.metrics.placed_digits` reads each digit **at its true
# place** in every predicted frame (the generator knows every digit's path; a small committed
# reader, `rfn.metrics.digit_reader`, classifies the window at the digit's box with 2 pixels of
# tolerance). A frame scores the share of its digits read as their class there.
#
# Everything is read on the same test sequences as section 2: the true frames (the reader's own
# accuracy), each model's mean over its samples and its best of $N$ (per frame and digit), the
# last warm-up frame held still, black frames, the true futures of *other* sequences, and a
# **perfect sampler**: the true process continued from the context's end state (same digits,
# positions and velocities, fresh random bounces). Its mean is the ceiling of any calibrated
# model's mean, so the ratios below divide by it.

# %% tags=["hide-input"]
read_digits = page.digits_readable(data_kw)  # the committed reader knows 32x32 frames with two 16-pixel digits
if read_digits:
    n_digit = SETTINGS["digit_samples"]
    digits = placed_digits_page.cached_table(runs, models, test, eval_indices, proto, n_digit)
    title = f"Digits at their place, {len(eval_indices)} test sequences, {n_digit} samples each"
    fig = placed_digits_page.placed_digits_figure(digits, list(runs), title)
    rec.savefig(fig, "fig9_7_digits_in_place.png", reproduces="Fig 9.7 (digits at their place)")
    plt.show()
    display(placed_digits_page.headline_table(digits, list(runs)))
    page.save_table(rec, digits.round(4), "tab9_7_digits_in_place.csv", reproduces="Fig 9.7 (digits at their place)")
else:
    print(f"{profile} profile: the digit reader reads 32x32 frames with two 16-pixel digits; this run has {data_kw}")

# %% tags=["remove-input"]
if read_digits:
    display(Markdown(placed_digits_page.findings(digits, list(runs))))

# %% [markdown]
# ## 6. Three futures from one context (Fig A.9)
#
# The same warm-up frames, three independent RFN samples at flow temperature 0.6, the
# thesis's setting for this figure (notebook 06 measures what the temperature does). The two
# contexts are the test sequences after those of section 1; each row after the truth is one of the
# three futures drawn in a single call, after the same true warm-up frames.

# %%
T_DIV = 0.6
x_div = test.batch(range(n_strip, n_strip + 2))
div = seeded_predict(models["RFN"], x_div[:, :ctx], total - ctx, n=3, seed=seed, emission_temperature=T_DIV)
videos, labels = page.futures_rows(x_div, div)
fig = page.frames_figure(videos, labels, f"Three RFN futures per context (flow temperature {T_DIV})", context=ctx)
rec.savefig(fig, "figA_9_smmnist_diversity.png", reproduces="Fig A.9")
plt.show()
page.show_animation(rec, "figA_9_smmnist_diversity.gif", videos, "Fig A.9", fps=4, ncols=4, context=ctx, scale=3)

# %% [markdown]
# ## 7. Long rollouts (SM-MNIST stand-in for Figs 9.10 and A.16)
#
# The thesis shows BAIR and KTH rollouts to 70 and more frames; here the RFN runs on SM-MNIST
# for many times its training length. Each predicted frame is the input of the next, so small
# errors compound. The strip shows the last two warm-up frames and then every few frames.

# %%
n_long = SETTINGS["long_frames"]
x_long = make_dataset("smmnist", proto.split, seq_len=n_long, **data_kw).batch(range(3))
long_pred = seeded_predict(models["RFN"], x_long[:, :ctx], n_long - ctx, seed=seed)[:, 0]
keep = [ctx - 2, ctx - 1, *range(ctx, n_long, max(1, n_long // 16))]  # the last two warm-up frames, then every few
rows, labels = page.truth_and_prediction(x_long, long_pred, "RFN", frames=keep)
title = f"Long RFN rollouts ({n_long} frames, trained on {train_frames})"
fig = page.frames_figure(rows, labels, title, context=2, frame_numbers=[k + 1 for k in keep])
what = "Figs 9.10, A.16 (SM-MNIST stand-in)"
rec.savefig(fig, "fig9_10_smmnist_long_rollout.png", reproduces=what)
plt.show()
long_video = torch.cat([x_long, torch.cat([x_long[:, :ctx], long_pred], 1)])  # the truths, then the rollouts
page.show_animation(rec, "fig9_10_smmnist_long_rollout.gif", long_video, what, fps=6, ncols=3, context=ctx, scale=2)

# %% [markdown]
# ## 8. The best and the worst predictions by SSIM (Figs A.11 and A.12)
#
# For each sequence of the pool, the RFN sample with the best mean SSIM over the predicted
# frames (the per-sequence best); the sequences are ranked by that SSIM. The samples and their
# scores are those of section 4's pool, so nothing new is drawn: the cell only picks, for each
# sequence, the sample that `page.ranked` found best, and shows the two ends of the ranking.

# %%
order, best_index = page.ranked(pool_scores["ssim"])  # sequences by their best sample's mean SSIM, best first
best = pool_samples[torch.arange(pool), best_index]  # each sequence's best of its n_pool samples
per_seq = pool_scores["ssim"].double().mean(2).amax(1)
k_show = SETTINGS["show"]
for name, picked, what, fig_no in (
    ("figA_11_smmnist_best_ssim.png", order[:k_show], "highest", "Fig A.11"),
    ("figA_12_smmnist_worst_ssim.png", order[::-1][:k_show], "lowest", "Fig A.12"),
):
    names = [f"RFN, SSIM {per_seq[i]:.3f}" for i in picked]
    rows, labels = page.truth_and_prediction(x_pool, best, "RFN", picked, names)
    title = f"The {k_show} test sequences of {pool} with the {what} best-of-{n_pool} SSIM"
    rec.savefig(page.frames_figure(rows, labels, title, context=ctx), name, reproduces=fig_no)
    plt.show()
print(f"best-of-{n_pool} SSIM per sequence: highest {per_seq.max():.3f}, median {per_seq.median():.3f}, "
      f"lowest {per_seq.min():.3f}")  # fmt: skip

# %% [markdown]
# ## 9. Random SRNN predictions (Fig A.18)
#
# The SRNN with a discretised-mixture-of-logistics output, three warm-up frames, one random
# sample per sequence. Its output distribution treats each pixel's value independently given
# the latent state. The sequences are those of section 1, so its strip shows the RFN on the
# same truths.

# %%
srnn_pred = seeded_predict(models["SRNN"], x_strip[:, :3], total - 3, seed=seed)[:, 0]
rows, labels = page.truth_and_prediction(x_strip, srnn_pred, "SRNN")
fig = page.frames_figure(rows, labels, "SRNN samples on SM-MNIST, 3 warm-up frames", context=3)
rec.savefig(fig, "figA_18_srnn_smmnist_samples.png", reproduces="Fig A.18")
plt.show()

# %% [markdown]
# ## 10. BAIR and KTH
#
# The thesis's BAIR (robot pushing, 64×64 RGB) and KTH (human actions, 64×64 gray) results,
# Figs 9.8-9.15, A.13-A.17, A.19 and Tables 9.6-9.9, need those data sets, which cannot be
# downloaded here. With the data prepared (`rfn data prepare bair|kth`) and models trained with
# `rfn train --preset thesis-bair` (and `thesis-bair-srnn`, `thesis-bair-vrnn`, likewise for
# KTH), `rfn evaluate` gives the numbers under the protocols printed below.

# %% tags=["hide-input"]
print(page.thesis_data_report())  # page.THESIS_DATA: the protocols of each data set
print(f"\nwall time of this page: {time.perf_counter() - page_start:.0f} s")

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this profile's RFN.

# %% tags=["hide-cell", "exercise-setup"]
import matplotlib.pyplot as plt
import torch

from rfn.data import make_dataset
from rfn.metrics.image import psnr
from rfn.runs import get_run, seeded_predict

ex_run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (trained first if missing)
ex_model = ex_run.model("cpu")
ex_test = make_dataset("smmnist", "test", seq_len=ex_run.train_frames, **ex_run.data_kwargs)
ex_clips = ex_test.batch(range(4))

# %% [markdown]
# **Exercise 1** (derive). Let $S_1, \dots, S_N$ be the scores (say PSNR) of $N$ independent
# samples of a model on one frame. Show that the expected best score
# $\mathbb{E}[\max_i S_i]$ can only grow with $N$. What is the best-of-$N$ score of a
# deterministic predictor, such as copying the last context frame? What does this imply when
# a stochastic model's best-of-100 beats a deterministic baseline?
#
# ```{admonition} Solution
# :class: dropdown
# $\max(S_1, \dots, S_{N+1}) \ge \max(S_1, \dots, S_N)$ for every outcome, so the expectation
# cannot decrease; it grows strictly whenever $S_{N+1}$ has a chance of beating the others.
# A deterministic predictor makes the same frame every time, so its best of $N$ equals its
# single score for every $N$. A stochastic model is compared with it at a handicap in its
# favour: even a model that draws wildly varied futures gains from $N$. That is why the page
# sets the curves beside baselines (copying the last frame, and samples of the true process),
# and why a best-of-$N$ number alone does not show that a model is good.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). For the same four test clips, compute the best-of-$N$
# PSNR of each predicted frame for $N = 1$, 4 and 16 samples. Sketch the curves (PSNR against
# the predicted frame, one per $N$) before running: where are they furthest apart?
#
# ```{admonition} Solution
# :class: dropdown
# The curves are ordered, $N = 16$ on top (exercise 1), and all of them fall with the
# frame's distance from the context, as the futures spread out. They are closest on the first
# predicted frame, where the samples barely differ, and furthest apart on later frames, where
# the samples differ most and picking the best one helps most. With four clips the curves
# are noisy; at `smoke` the model is barely trained.
# ```

# %% tags=["hide-cell", "exercise-solution"]
ctx = 2
fig, ax = plt.subplots(figsize=(4.5, 3))
samples = seeded_predict(ex_model, ex_clips[:, :ctx], ex_run.train_frames - ctx, n=16, seed=seed)
scores = psnr(samples, ex_clips[:, None, ctx:].expand_as(samples))  # [clips, samples, frames]
for n in (1, 4, 16):
    curve = scores[:, :n].amax(1).mean(0).tolist()  # best of the first n samples, per frame
    ax.plot(range(ctx + 1, ctx + 1 + len(curve)), curve, "o-", label=f"best of {n}")
ax.set(xlabel="frame (counted from 1)", ylabel="PSNR (dB)", title="best-of-N PSNR, 4 test clips")
ax.legend()
plt.show()

# %% [markdown]
# **Exercise 3** (modify). Change the number of context frames: predict the same clips
# after 1, 2 and 3 true frames (up to one fewer than the clip's length) and compare the
# best-of-8 PSNR of the frames that all three predict. What does one context frame lack?
#
# ```{admonition} Solution
# :class: dropdown
# One frame shows where the digits are but not how they move; two fix the velocities until
# the next bounce. The longest context is best on the first common frame, which is its own
# first prediction. Further on the settings converge: once a digit has bounced, the past no
# longer says where it goes, however long the context was. One context frame need not score
# clearly below two: the model can guess a plausible velocity from the digit's place, and the
# best of 8 keeps the sample that guessed well. With four clips, differences of a few tenths
# of a dB are noise; at `smoke` the model is barely trained.
# ```

# %% tags=["hide-cell", "exercise-solution"]
contexts = [c for c in (1, 2, 3) if c < ex_run.train_frames]
common = ex_run.train_frames - max(contexts)  # the last frames, predicted by every setting
for c in contexts:
    samples = seeded_predict(ex_model, ex_clips[:, :c], ex_run.train_frames - c, n=8, seed=seed)
    best = psnr(samples, ex_clips[:, None, c:].expand_as(samples)).amax(1).mean(0)  # best of 8, per frame
    print(f"{c} context frame(s): best of 8, last {common} frame(s):", best[-common:].round(decimals=2).tolist(), "dB")

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** the SM-MNIST results of the thesis's section 9.3 and appendix A.8: RFN
# predictions with the warm-up and predicted frames marked (Fig 9.6), best-of-N PSNR, SSIM
# and LPIPS of the RFN against the SRNN and the VRNN (Fig 9.7), the FVD table (Table 9.4),
# the bits-per-pixel table (Table 9.5), three futures from one context (Fig A.9), the best
# and the worst predictions by SSIM (Figs A.11, A.12) and random SRNN predictions (Fig A.18);
# and, as an SM-MNIST stand-in for the BAIR/KTH figures 9.10 and A.16, rollouts far beyond
# the training length. Three pitfalls of these measures are shown with numbers: predictions
# without a model on the PSNR/SSIM curves, the FVD of real against real clips as the number of
# clips grows, and how a best-of-N score grows with N when the best is picked per frame. A
# committed digit reader (`rfn.metrics.placed_digits`) says whether the predicted frames still
# show the right digits at their true places, against a perfect sampler of the true process.
# The BAIR and KTH figures and tables need data sets that are not available offline here; the
# last section says what running them takes.
#
# **Run time** (2-core CPU): `smoke` about 20 s (no FVD, LPIPS or digits at their place on
# its 16-pixel frames); `quick` about 5 minutes (best-of-10 on 64 test sequences, FVD on 16 clips
# per set); `reference` under a minute with the numbers shipped beside the reference models
# (the thesis's best-of-100 on 64 test sequences, FVD on 256 clips per set; recomputing them
# after retraining takes about 35 minutes of one core); `thesis` about an hour on a GPU.
# Numbers are cached beside the checkpoints, so a second run is faster.
#
# **Checkpoint:** the RFN, SRNN and VRNN of the profile,
# `artifacts/<profile>/{rfn,srnn,vrnn}-smmnist-seed<seed>/last.pt` from notebook 04
# (trained here first if missing), or at `reference` the weights-only files
# `checkpoints/reference/reference-smmnist*.pt`. Cached numbers: `book_eval_<protocol>.json`,
# `book_fvd_<protocol>.json` and `book_placed_digits_<protocol>.json` beside them
# (`artifacts/reference/<kind>/` at `reference`, read from the copies shipped in
# `checkpoints/reference/cache/` when they match).
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig9_6_smmnist_predictions.png` and `.gif`,
# `fig9_7_smmnist_best_of_n.png`, `tab9_4_fvd_smmnist.csv`, `fig9_4_fvd_floor.png`,
# `tab9_5_bpp_smmnist.csv`, `fig9_7_best_of_n_growth.png`, `fig9_7_digits_in_place.png`,
# `tab9_7_digits_in_place.csv`,
# `figA_9_smmnist_diversity.png` and `.gif`, `fig9_10_smmnist_long_rollout.png` and `.gif`,
# `figA_11_smmnist_best_ssim.png`, `figA_12_smmnist_worst_ssim.png`, `figA_18_srnn_smmnist_samples.png`.
# :::

# %% [markdown]
# # Ablations: smoothing, $\text{RES}_q$, latent overshooting, skip connections and flow depth
#
# **The question.** Which design choices of the SRNN and the RFN matter: smoothing, the
# residual posterior $\text{RES}_q$, latent overshooting, skip connections, the depth of the
# flow?
#
# **The idea.** Change one choice at a time, train each variant with everything else fixed,
# and compare their validation bits per pixel and best-of-N scores.
#
# ```{glue:figure} opening
# :figwidth: 75%
# :figclass: rfn-opening
#
# The clearest effect on this page: a deeper flow (more levels $L$) predicts better at equal
# training steps. Section 7 shows the curves with their tables, section 8 the tests.
# ```
#
# **Read the numbers as what they are.** The thesis trained every variant to convergence on
# a GPU (days per RFN). Here, in the `quick` and `reference` profiles, every variant is
# trained for the same small number of steps on a CPU (a few hundred, or 3000), at a small
# scale (16×16 one-digit SM-MNIST), twice with different seeds. Whether two variants differ
# is decided by tests pooled over both seeds and the shared test sequences (section 8), not by
# eye; and at this length a run mostly measures how fast a variant starts to learn, not where
# it ends up.

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # ablation runs go to artifacts_dir/<profile>/ablations/
# page parameters: None takes the profile's value (rfn/profiles.py)
seeds = None  # seeds per variant
bpp_sequences = None  # validation sequences behind each bits per pixel
evaluation = None  # best-of-N scoring, e.g. {"samples": 20}: any of sequences, samples, context, future

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from rfn.book.page import book_profile, setup_page
from rfn.pages import ablations as page
from rfn.presets.ablations import ABLATION_LEVELS, ablation_variants

# Each profile's seeds and evaluation settings are in rfn/profiles.py; the runs' settings are the presets
# `<profile>-ablation-<variant>` (rfn.presets.ablations).
profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "09_ablations", profile, seed, device, figures_dir,
    seeds=seeds, bpp_sequences=bpp_sequences, eval=evaluation
)
SCALE = profile  # the ablation presets' scale
SEEDS = [seed + k for k in range(SETTINGS["seeds"])]
EV = SETTINGS["eval"]

start = time.perf_counter()
print(f"seeds {SEEDS}; scale: {SETTINGS['scale']}")

# %% [markdown]
# ## 1. The variants
#
# Every variant is one preset, `<profile>-ablation-<variant>` (`rfn.presets.ablations`: the
# scale's base preset changed by the `key=value` settings listed there). Variants that two
# experiments share are trained once: the SRNN with smoothing and without $\text{RES}_q$ is
# the $O = 1$ row of the overshooting experiment, and the RFN with
# skip connections to the conditioning network at the middle depth is a row of both RFN
# tables.
#
# * **SRNN, Fig 9.1**: smoothing (the posterior reads a backward summary of the future) on
#   or off, $\text{RES}_q$ (the posterior's mean is the prior's mean plus a learned residual)
#   on or off.
# * **SRNN, Fig 9.2**: latent overshooting distance $O$; $O = 1$ is the usual one-step KL,
#   $O > 1$ adds KL terms between the posterior and the prior rolled forward $d \le O$ steps.
# * **RFN, Table 9.1**: where the extractor's features of the previous frame go: nowhere,
#   into the conditioning network (U-Net style), straight into the flow's condition maps, or
#   both.
# * **RFN, Table 9.2**: the number of flow levels $L$ (also the extractor's depth, so the
#   latent state shrinks by $2^L$ per side). The thesis compared $L = 3, 4, 5$ at 64×64; on
#   our smaller frames the same bottleneck sizes come from smaller $L$.

# %%
LEVELS = ABLATION_LEVELS[SCALE]
VARIANTS = ablation_variants(SCALE)  # name -> (model kind, the settings that make the variant)
EXPERIMENTS = page.experiments(LEVELS)  # figure -> {label: variant}
print(f"{len(VARIANTS)} variants x {len(SEEDS)} seed(s) = {len(VARIANTS) * len(SEEDS)} training runs")

# %% [markdown]
# ## 2. Train, evaluate, cache
#
# For each variant and seed, `rfn.pages.ablations.run_variant` trains the run (or resumes or skips a finished
# one), then measures on held-out sequences (the SM-MNIST test split, digits from MNIST's
# test images):
#
# * **bits per pixel**: the negative ELBO per sequence (`model.bpp_per_frame`, sequences as
#   long as the training ones, one conditioning frame), averaged over the sequence's frames,
#   then the mean and standard deviation over sequences, as the thesis reports its
#   validation bpp;
# * **best-of-N similarity**: after a warm-up on the first `context` true frames, `N` futures
#   per test sequence (`model.predict`), scored frame by frame against the truth; at every
#   frame the best sample's score is kept (`rfn.metrics.best_of_n`), as the thesis's text
#   defines its best-of-N (it used $N = 100$).
#
# Everything goes to `result.json` beside the checkpoint through `cached_json`, keyed by the
# overrides and the protocol, so changing either recomputes.

# %%
results = {}
for name in VARIANTS:
    for s in SEEDS:
        t0 = time.perf_counter()
        r = results[(name, s)] = page.run_variant(name, s, profile, artifacts_dir, SETTINGS, dev)
        print(
            f"{name:16s} seed {s}: {r['parameters']:>8,d} parameters, test bpp {r['bpp_mean']:.3f} "
            f"± {r['bpp_std']:.3f}, trained in {r['train_wall_s']:.0f} s; now {time.perf_counter() - t0:.1f} s"
        )
runs = page.runs_table(results)
runs.to_csv(rec.path("tab9_ablation_runs.csv"), index=False)
rec.record(rec.path("tab9_ablation_runs.csv"), reproduces="Figs 9.1-9.4, Tables 9.1-9.2 (every run)")
display(runs.style.set_uuid("ablation_runs").format(precision=3).hide(axis="index"))

# %% [markdown]
# ## 3. How to read the figures and tables
#
# Curves are averaged over seeds; the shaded band spans the seeds' own curves. Whether two
# variants differ is decided by the pooled tests of section 8, not by eye from the bands. The dashed
# vertical line marks the last frame index of the training sequences, as in the thesis's
# figures: to its right the models predict further than they were trained to. Two gray lines
# anchor the scale: the score of predicting black frames and of repeating the last context
# frame. A model whose best-of-N curve does not clear them has not yet learnt to predict
# motion at this budget, and its curves say little about the variant.

# %%
first = results[("srnn-smoothing", SEEDS[0])]
train_frames = first["train_frames"]
REFERENCE = page.reference_curves(first["data"], SETTINGS, dev)
protocol = (
    f"ours: {SETTINGS['scale']}; seeds {SEEDS}; bpp = negative ELBO on {SETTINGS['bpp_sequences']} test sequences "
    f"(1 conditioning frame); best-of-{EV['samples']} on {EV['sequences']} test sequences, warm-up {EV['context']}, "
    f"{EV['future']} predicted"
)
print(protocol)

# %% [markdown]
# ## 4. SRNN: smoothing and $\text{RES}_q$ (Fig 9.1)
#
# The thesis found only small differences, with smoothing or $\text{RES}_q$ perhaps helping
# SSIM a little and both together no better than one.

# %%
fig = page.curves_figure(results, EXPERIMENTS["Fig 9.1"], SEEDS, REFERENCE, SETTINGS, train_frames,
                         f"Fig 9.1: SRNN with and without smoothing and RES_q ({profile} profile)")  # fmt: skip
rec.savefig(fig, "fig9_1_srnn_smoothing_resq.png", reproduces="Fig 9.1")
plt.show()
t91 = page.spread_table(results, EXPERIMENTS["Fig 9.1"], SEEDS, SETTINGS)
display(t91.style.set_uuid("srnn_smoothing").format(precision=3))
print(protocol + "; thesis: curves only (best-of-100, converged SRNNs on 64x64 SM-MNIST)")

# %% [markdown]
# ## 5. SRNN: latent overshooting (Fig 9.2)
#
# The thesis saw no significant difference between $O = 1, 2, 3$, in line with Hafner et
# al. (2019), and argued that the SRNN's separate deterministic path leaves little for
# overshooting to fix.

# %%
fig = page.curves_figure(results, EXPERIMENTS["Fig 9.2"], SEEDS, REFERENCE, SETTINGS, train_frames,
                         f"Fig 9.2: SRNN with latent overshooting O = 1, 2, 3 ({profile} profile)")  # fmt: skip
rec.savefig(fig, "fig9_2_srnn_overshooting.png", reproduces="Fig 9.2")
plt.show()
t92 = page.spread_table(results, EXPERIMENTS["Fig 9.2"], SEEDS, SETTINGS)
display(t92.style.set_uuid("srnn_overshooting").format(precision=3))
print(protocol + "; thesis: curves only (best-of-100), no significant difference")

# %% [markdown]
# ## 6. RFN: skip connections (Table 9.1, Fig 9.3)
#
# The thesis's numbers are beside ours. Its finding: the validation bpp barely changes (no
# skips was even best), skips into the flow add many parameters because every coupling
# network of every step gets the extra channels, skips into the conditioning network add
# few, and the similarity curves improve with skips. Compare the *relative* growth in
# parameters: our networks are about a thousand times smaller.

# %%
t_skip = page.spread_table(results, EXPERIMENTS["Table 9.1"], SEEDS, SETTINGS, page.THESIS_91)
t_skip.insert(1, "parameters vs none (ours)", t_skip["parameters (ours)"] / t_skip.loc["none", "parameters (ours)"])
t_skip["parameters vs none (thesis)"] = [1.0, 35 / 33, 58 / 33, 60 / 33]
t_skip.to_csv(rec.path("tab9_1_skip_connections.csv"))
rec.record(rec.path("tab9_1_skip_connections.csv"), reproduces="Table 9.1")
display(t_skip.style.set_uuid("skip_table").format(precision=3))
print(protocol + f"; RFN L = {LEVELS[1]}")
print("thesis: SM-MNIST 64x64, L = 5, K = 10, trained for days on a GPU; validation bpp ± one std over sequences")
fig = page.curves_figure(results, EXPERIMENTS["Table 9.1"], SEEDS, REFERENCE, SETTINGS, train_frames,
                         f"Fig 9.3: RFN skip connections ({profile} profile, L = {LEVELS[1]})")  # fmt: skip
rec.savefig(fig, "fig9_3_skip_connections.png", reproduces="Fig 9.3")
plt.show()

# %% [markdown]
# ## 7. RFN: flow depth (Table 9.2, Fig 9.4)
#
# The thesis trained three depths on BAIR with $K = 5$ and skips to the conditioning
# network only: $L = 4$ was slightly best, and the parameter count grew quickly with $L$.
# BAIR is not available offline, so we vary $L$ on the same SM-MNIST setting as above; only
# the trend in parameters and the size of the bpp differences can be compared.

# %%
t_depth = page.spread_table(results, EXPERIMENTS["Table 9.2"], SEEDS, SETTINGS, page.thesis_92(LEVELS))
t_depth.to_csv(rec.path("tab9_2_flow_depth.csv"))
rec.record(rec.path("tab9_2_flow_depth.csv"), reproduces="Table 9.2 (SM-MNIST instead of BAIR)")
display(t_depth.style.set_uuid("depth_table").format(precision=3))
print(protocol + "; skips to the conditioning network")
print("thesis: BAIR 64x64, K = 5, skips to the conditioning network; rows paired by bottleneck size "
      "(thesis L = 3, 4, 5 at 64x64 ~ ours at our frame size)")  # fmt: skip
fig = page.curves_figure(results, EXPERIMENTS["Table 9.2"], SEEDS, REFERENCE, SETTINGS, train_frames,
                         f"Fig 9.4: RFN flow depth on SM-MNIST ({profile} profile)")  # fmt: skip
rec.savefig(fig, "fig9_4_flow_depth.png", reproduces="Fig 9.4 (SM-MNIST instead of BAIR)", opening=True)
plt.show()

# %% [markdown]
# ## 8. What the numbers say
#
# Two seeds per variant cannot carry a claim on their own: two seeds' ranges fail to overlap
# one time in three when nothing differs. Every variant was scored on the *same* test
# sequences, so the comparisons below pool seeds and sequences: for each variant against the
# first one of its experiment, the difference of the means with a 95% nested-bootstrap interval
# (training seeds resampled, then the shared sequences) and the p-value of a paired t-test over
# sequences (of the seed averages; it ignores the seeds' spread, the interval does not). A
# difference is called resolved only where the interval excludes zero.

# %%
tests = page.ablation_tests(results, EXPERIMENTS, SEEDS, SETTINGS["metrics"])
tests.to_csv(rec.path("tab9_ablation_tests.csv"), index=False)
rec.record(rec.path("tab9_ablation_tests.csv"), reproduces="Figs 9.1-9.4, Tables 9.1-9.2 (tests)")
display(tests.style.set_uuid("ablation_tests").format(precision=3).hide(axis="index"))
black_ssim = float(np.mean(REFERENCE["black frames"]["ssim"]))
ssim_col = f"best-of-{EV['samples']} ssim"
above = {exp: int((t[ssim_col] > black_ssim).sum()) for exp, t in
         {"Fig 9.1": t91, "Fig 9.2": t92, "Table 9.1": t_skip, "Table 9.2": t_depth}.items()}  # fmt: skip
print(f"black frames: SSIM {black_ssim:.3f}; variants above it: {above}")
print(f"train time per run: {runs['train wall s'].mean():.1f} s wall, {runs['train CPU s'].mean():.1f} s CPU (mean)")

# %% tags=["remove-input"]
display(
    Markdown(
        f"**What the tests resolve** ({len(SEEDS)} seed(s), {tests['sequences'].iloc[0]} test sequences for the "
        "best-of-N, the first variant of each experiment as the reference):\n\n" + page.conclusions(tests)
    )
)

# %% tags=["remove-input"]
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells build small models from presets;
# nothing is trained.

# %% tags=["hide-cell", "exercise-setup"]
import time

import torch

from rfn.models import build
from rfn.pages.scratch import scratch_model, smoke_clip
from rfn.presets import get_preset

# %% [markdown]
# **Exercise 1** (derive). Latent overshooting with distance $O = 2$ ({eq}`eq-overshooting`)
# adds, for every frame, a KL term between the posterior $q(\mathbf{z}_t \mid \cdot)$ and a
# two-step prior: start from the posterior sample $\mathbf{z}_{t-2}$, draw
# $\mathbf{z}_{t-1}$ from the one-step prior, then evaluate the prior of $\mathbf{z}_t$ given
# that draw. (a) Write the two-step prior as an integral over $\mathbf{z}_{t-1}$ and say what
# the implementation computes instead. (b) The posterior's parameters enter this term with
# their gradients stopped. What would the term do to the posterior without the stop?
#
# ```{admonition} Solution
# :class: dropdown
# (a) $p_2(\mathbf{z}_t \mid \mathbf{z}_{t-2}) = \int p(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{h}_t)\,
# p(\mathbf{z}_{t-1} \mid \mathbf{z}_{t-2}, \mathbf{h}_{t-1})\, d\mathbf{z}_{t-1}$, a mixture of
# Gaussians with no closed-form KL. The implementation replaces the integral by one sample of
# $\mathbf{z}_{t-1}$ from the one-step prior; the KL to the resulting Gaussian is then in
# closed form, and its expectation over that sample is the quantity optimised
# (`RecurrentLatentModel._overshooting_kl`).
#
# (b) The term is meant to teach the *prior* to predict two steps ahead. If gradients reached
# the posterior, the cheapest way to lower it would be to pull the posterior towards what the
# weak multi-step prior predicts, making the posterior less faithful to the frames. With the
# stop, the posterior is the target and only the prior moves towards it.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Turn off the skips of the textured RFN: build the RGB
# study's RFN (`reference-textured`) with `skip="cond"` (its default) and with `skip="none"`.
# Predict which networks lose weights, and whether the total changes by a large or a small
# share. Then run.
#
# ```{admonition} Solution
# :class: dropdown
# With `skip="cond"` every level of the conditioning network concatenates the extractor's
# features of $\mathbf{x}_{t-1}$ to its input, so only the first convolution of each level
# loses its input channels for those features when the skips go; the flow, the extractor,
# the recurrence and the latent heads keep their weights (the flow's condition maps keep their
# widths). The total therefore changes by a small share: the control isolates the
# information path (what the emission can see of the previous frame), not the model's size.
# The preset `reference-textured-noskip` is exactly this change.
# ```

# %% tags=["hide-cell", "exercise-solution"]
textured = get_preset("reference-textured")
counts = {}
for skip in ("cond", "none"):
    m = build(textured.model, {**textured.model_config, "skip": skip})
    counts[skip] = {name: sum(p.numel() for p in child.parameters()) for name, child in m.named_children()}
for name in counts["cond"]:
    if counts["cond"][name] != counts["none"][name]:
        print(f"{name}: {counts['cond'][name]:,} weights with skips, {counts['none'][name]:,} without")
total = {k: sum(v.values()) for k, v in counts.items()}
print(f"total: {total['cond']:,} -> {total['none']:,} ({1 - total['none'] / total['cond']:.1%} fewer)")
assert get_preset("reference-textured-noskip").model_config.get("skip") == "none"

# %% [markdown]
# **Exercise 3** (modify). Change the flow depth $K$ (steps per level) of the smoke preset's
# RFN to 1, 2 and 4 and measure, for each, the number of weights and the time of one
# evaluation of the loss on two clips. Which grows faster with $K$? What does that say about
# the cost of the depth ablation (Table 9.2) at the thesis's scale?
#
# ```{admonition} Solution
# :class: dropdown
# Every flow step adds its own ActNorm, 1×1 convolution and coupling network, so the flow's
# weights grow linearly in $K$ while the rest of the model stays fixed: the total grows by a
# constant amount per step. The time of a forward pass also grows about linearly with $K$ once
# the flow dominates (on these tiny models fixed overheads blur it). At the thesis's scale
# ($K = 10$ to 15 with 256 hidden channels) the flow is most of the cost of a training step,
# so each added step costs a few percent more time per step, and memory for its activations.
# ```

# %% tags=["hide-cell", "exercise-solution"]
clips = smoke_clip()
for k in (1, 2, 4):
    m, _ = scratch_model("rfn", seed=0, flow_steps=k)  # untrained: its loss value means nothing, its cost does
    flow = sum(p.numel() for p in m.flow.parameters())
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(5):
            m.loss(clips)
        seconds = (time.perf_counter() - t0) / 5
    print(f"K = {k}: {m.num_parameters():,} weights ({flow:,} in the flow), one loss in {1000 * seconds:.1f} ms")

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** thesis Fig 9.1 (SRNN with and without smoothing and $\text{RES}_q$),
# Fig 9.2 (SRNN with latent overshooting $O = 1, 2, 3$), Table 9.1 and Fig 9.3 (RFN skip
# connections: none, to the conditioning network, to the flow, to both, with parameter
# counts and validation bits per pixel) and Table 9.2 and Fig 9.4 (RFN flow depth $L$). The
# thesis ran Table 9.2 on BAIR, which is not available offline here; we vary $L$ on
# SM-MNIST and say so next to every number.
#
# **Run time** (measured with `python -m rfn.book run --only 09`): `smoke` about 10 s;
# `quick` about 5 minutes on 2 CPU cores (24 training runs of 9 s of CPU time each on
# average, then their evaluation; 7 minutes when other jobs shared the cores), and 15 s when
# the runs are already cached; `reference` about 2 minutes (it trains nothing: the same 24
# runs trained for 3000 steps each are committed, about 45 minutes of one core with
# `make reference`; it scores each with the thesis's best of 100); `thesis` (36 runs of
# 5000 steps; an estimate, not measured) one to two hours on a GPU.
#
# **Checkpoints:** at the `reference` profile the committed weights
# `checkpoints/reference/ablations/reference-ablation-<variant>[-seed1].pt`; at the other
# profiles the page trains its own short runs with `rfn.runs.trained_model` (presets
# `<profile>-ablation-<variant>`) into `artifacts/<profile>/ablation-<variant>-seed<s>/`.
# Either way each run's numbers are cached in that folder (`result.json`), so a second run of
# the page only reads them.
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig9_1_srnn_smoothing_resq.png`, `fig9_2_srnn_overshooting.png`,
# `tab9_1_skip_connections.csv`, `fig9_3_skip_connections.png`, `tab9_2_flow_depth.csv`,
# `fig9_4_flow_depth.png`, `tab9_ablation_runs.csv`.
# :::

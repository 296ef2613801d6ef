# %% [markdown]
# # Where the RFN is surprised: KL, bits per pixel and the latent parameters
#
# **The question.** When does the RFN find a frame surprising, and where in the model does
# the surprise show?
#
# **The idea.** The KL between the posterior and the prior of a step measures what a frame
# told the model that it could not foresee (a digit bouncing off a wall should be such a
# moment), and the bits per pixel measure the flow's surprise at the pixels. Following both,
# and the parameters of the prior, the posterior and the flow's base distribution, along
# sequences with their bounces marked shows which part of the model carries the uncertainty.
#
# ```{glue:figure} opening
# :figwidth: 100%
# :figclass: rfn-opening
#
# The mean KL of four classes of frames over all test sequences (left) and the KL of every
# frame against how much worse the prior's prediction explains it than the posterior
# (right); section 2 below explains both panels.
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/<model>-smmnist-seed<seed>/
# page parameters: None takes the profile's value (rfn/profiles.py)
sequences = None  # test sequences for Figs 10.4 and 10.6
frames = None  # their length
temperature = None  # emission temperature of the predictions
frozen_context = None  # Fig 10.5: conditioning frames
frozen_frames = None  # Fig 10.5: frames in all
frozen_draws = None  # Fig 10.5: prior draws
sync_sequences = None  # Figs 10.7/10.8: sequences
sync_frames = None  # Figs 10.7/10.8: their length

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from scipy import stats

from rfn.book.page import book_profile, setup_page
from rfn.data import make_dataset
from rfn.metrics import psnr, ssim
from rfn.pages import kl_bpp as page
from rfn.runs import get_run

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "08_kl_bpp_analysis", profile, seed, device, figures_dir,
    sequences=sequences, frames=frames, temperature=temperature, frozen_context=frozen_context,
    frozen_frames=frozen_frames, frozen_draws=frozen_draws, sync_sequences=sync_sequences,
    sync_frames=sync_frames
)

start = time.perf_counter()

# %% [markdown]
# ## 1. The model and the quantities on this page
#
# For a sequence $\mathbf{x}_{0:T-1}$ the RFN's posterior pass (`model.infer`) gives, for
# every modelled frame $t \ge 1$, the deterministic state $\mathbf{h}_t$, the posterior
# $q(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{a}_t)$ with a draw $\mathbf{z}_t^{q}$, and
# the prior $p(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{h}_t)$, chained on the posterior's
# draw of $\mathbf{z}_{t-1}$. Three numbers per frame, all in bits per pixel:
#
# * the **KL** $\mathrm{KL}(q \,\|\, p)$: how much the posterior, which has seen
#   $\mathbf{x}_t$, had to move away from what the prior expected;
# * the **posterior NLL** $-\log p(\mathbf{x}_t \mid \mathbf{h}_t, \mathbf{z}_t^{q})$: how well
#   the flow explains the frame given the posterior's latent (the reconstruction term of the
#   ELBO, the `nll` of `model.reconstruct_and_predict`);
# * the **prior NLL** $-\log p(\mathbf{x}_t \mid \mathbf{h}_t, \mathbf{z}_t^{p})$ with
#   $\mathbf{z}_t^{p}$ drawn from the prior: how likely the true frame is under a one-step
#   *prediction*. The flow's likelihood of the frame given that one latent is exact, but one
#   draw of $\mathbf{z}_t^{p}$ makes it a noisy estimate of
#   $\mathbb{E}_{p}[-\log p(\mathbf{x}_t \mid \mathbf{h}_t, \mathbf{z}_t)]$, which by Jensen's
#   inequality is an *upper bound* on the one-step predictive NLL
#   $-\log \mathbb{E}_{p}[p(\mathbf{x}_t \mid \mathbf{h}_t, \mathbf{z}_t)]$, not that NLL itself.
#
# `rfn.pages.kl_bpp.step_terms` computes the three through the model's public emission
# protocol: `model.emission_inputs` lines up every frame with its $(\mathbf{h}_t, \mathbf{z}_t)$
# and the skip features of the previous frame, and `model.emission_log_prob` is the
# conditional Glow's discrete log-likelihood of the frame.

# %% tags=["hide-input"]
run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (or the committed reference file)
model = run.model(str(dev))
data_kwargs = run.data_kwargs
print(f"{run.describe()}; {model.num_parameters() / 1e6:.2f} M parameters")


# %% [markdown]
# ## 2. Prior predictions against posterior reconstructions (Fig 10.4)
#
# `model.reconstruct_and_predict` decodes both latents with the *true* previous frame fed in:
# the reconstruction uses the posterior's $\mathbf{z}_t$, the one-step prediction a draw from
# the prior. We run it on test sequences of the model's own data set (two digits), with the
# bounce events of every sequence (`return_events=True`). Seeding the random generator the
# same way before `reconstruct_and_predict` and before our helper makes both draw the same
# posterior latents and the same dequantisation noise, which the check below confirms: the
# two posterior NLLs agree to rounding. The pictures are drawn from the flow at temperature
# 0.5 (its base and split priors' standard deviations halved), which removes most of the pixel
# noise a small model's samples carry at temperature 1; the KL and bpp numbers do not depend
# on it.

# %%
test = make_dataset("smmnist", split="test", seq_len=SETTINGS["frames"], return_events=True, **data_kwargs)
items = [test[i] for i in range(SETTINGS["sequences"])]
x = torch.stack([it["frames"] for it in items]).to(dev)  # uint8 [B, T, 1, H, W]
events = torch.stack([it["events"] for it in items]).any(-1)  # bool [B, T, D]: digit d hit a wall at frame t

torch.manual_seed(seed)
rp = model.reconstruct_and_predict(x, emission_temperature=SETTINGS["temperature"])
terms = page.step_terms(model, x, seed)
kl, nll_post, nll_prior = terms["kl"].cpu(), terms["nll_post"].cpu(), terms["nll_prior"].cpu()
gap = (rp["nll"].cpu() - nll_post).abs().max().item()
print(f"posterior NLL of reconstruct_and_predict vs our helper: max difference {gap:.2e} bpp")
assert gap < 1e-4, "the helper and reconstruct_and_predict disagree: they should share the posterior draws"
print(f"mean per frame over {x.shape[0]} sequences: KL {kl.mean():.4f} bpp, posterior NLL {nll_post.mean():.4f}, "
      f"prior NLL {nll_prior.mean():.4f}, negative ELBO {(kl + nll_post).mean():.4f} bpp")  # fmt: skip

# %%
show = int((kl.sum(1)).argmax())  # the sequence with the most KL: the most eventful one
T = x.shape[1]
fig = page.prior_posterior_figure(
    x[show].cpu(), rp["prediction"][show].cpu(), rp["reconstruction"][show].cpu(), kl[show].numpy(),
    nll_prior[show].numpy(), nll_post[show].numpy(), events[show].any(-1).numpy(),
    f"Fig 10.4 on SM-MNIST (test sequence {show}); frame 1 is the conditioning frame",
)  # fmt: skip
rec.savefig(fig, "fig10_4_prior_vs_posterior_smmnist.png", reproduces="Fig 10.4 (SM-MNIST)")
plt.show()

# %% [markdown]
# ### Is the KL high where the thesis says?
#
# The thesis reads its figure as: the KL is large at the first generated frame and where a
# digit meets the border, the only places where SM-MNIST is random, and a KL spike goes with
# a gap between the prior and posterior NLL. Over all test sequences we can check both with
# numbers. Each modelled frame falls in one class: the first modelled frame (frame 2: one frame
# of context says nothing about velocity), a frame where a digit touches a wall, the frame right
# after (the new velocity becomes visible), and all other frames. The velocity is redrawn at
# the touch, so the frame after it is where a perfect model would be surprised.

# %%
classes = page.event_classes(events.any(-1))  # {class: bool [B, T-1]}, the four classes above
gap = nll_prior - nll_post  # how much worse the prior's draw explains the frame than the posterior's
table = page.kl_by_event(kl, gap, classes)  # per class: count, mean KL, mean gap
table.to_csv(rec.path("tab10_4_kl_by_event.csv"))
rec.record(rec.path("tab10_4_kl_by_event.csv"), reproduces="Fig 10.4 (aggregate)")
display(table.style.set_uuid("kl_by_event").format("{:.4f}", subset=table.columns[1:]))
r_kl, p_kl = stats.spearmanr(kl.flatten().numpy(), gap.flatten().numpy())
print(f"Spearman correlation of KL and the prior-posterior NLL gap over {kl.numel()} frames: {r_kl:.2f} "
      f"(p = {p_kl:.1e}); protocol: {x.shape[0]} test sequences of {T} frames, 1 conditioning frame, "
      f"profile {profile}")  # fmt: skip

fig = page.kl_by_event_figure(kl, gap, classes, r_kl, f"Fig 10.4 over {x.shape[0]} test sequences of {T} frames")
rec.savefig(fig, "fig10_4_kl_at_bounces.png", reproduces="Fig 10.4 (aggregate)", opening=True)
plt.show()

# %% [markdown]
# ## 3. A frozen conditional distribution (Fig 10.5)
#
# Normally the flow's condition is updated every step. Here we stop it: after
# `frozen_context` observed frames we form the condition of the next frame $t_0$ once, from
# $\mathbf{h}_{t_0}$ and a draw of $\mathbf{z}_{t_0}$ from the prior (the skip features are
# those of frame $t_0 - 1$), and keep it fixed. Then we ask how likely each *later* true frame
# $\mathbf{x}_{t_0}, \mathbf{x}_{t_0+1}, \dots$ is under that one distribution. If the flow's
# distribution describes where things are at $t_0$, frames further in the future, whose
# digits have moved on, should get steadily less likely: the NLL should rise with the
# distance from $t_0$. For reference, the dashed line is the ordinary one-step prior NLL of
# the same frames (condition updated every step).
#
# The thesis made this figure on BAIR and KTH (not available here); on BAIR the NLL rose
# steadily, on KTH it fell again late in the sequence, which the thesis put down to clips
# that end as they began. We use SM-MNIST, where digits move fast and bounce, so we expect a
# quick rise and then a plateau once the digits are nowhere near where they were.

# %%
seq_f = make_dataset("smmnist", split="test", seq_len=SETTINGS["frozen_frames"], **data_kwargs)
xf = seq_f.batch(range(SETTINGS["sequences"])).to(dev)  # uint8 [B, T, 1, H, W]
t0, S = SETTINGS["frozen_context"], SETTINGS["frozen_draws"]
Tf = xf.shape[1]
frozen = page.frozen_condition_nll(model, xf, t0, S, seed)
frozen_prior, frozen_post = frozen["prior"], frozen["posterior"]  # [B, Tf - t0] each
updated = page.step_terms(model, xf, seed)["nll_prior"][:, t0 - 1 :].cpu()  # one-step prior NLL of frames t0..Tf-1

fig = page.frozen_figure(frozen_prior, frozen_post, updated, t0, S,
                         f"Fig 10.5 on SM-MNIST: the flow's condition frozen after frames 0..{t0 - 1}")  # fmt: skip
rec.savefig(fig, "fig10_5_frozen_future_nll.png", reproduces="Fig 10.5 (SM-MNIST instead of BAIR/KTH)")
plt.show()
rho, _ = stats.spearmanr(np.arange(t0, Tf), frozen_prior.mean(0).numpy())
print(f"frozen (prior z): {frozen_prior.mean(0)[0]:.3f} bpp at t0, {frozen_prior.mean(0).max():.3f} at most, "
      f"{frozen_prior.mean(0)[-1]:.3f} at t={Tf - 1}; Spearman rank correlation with t: {rho:.2f}")  # fmt: skip

# %% [markdown]
# ## 4. Bits per pixel against what the predictions look like (Fig 10.6)
#
# Is a lower bits-per-pixel sequence also a better-looking prediction? For each test sequence
# of section 2 we take its negative ELBO in bpp (KL plus posterior NLL, averaged over its
# modelled frames) and compare it with the SSIM and PSNR of the prior's one-step predictions
# (the ones of section 2, flow temperature 0.5) against the true frames. Both numbers also
# depend on how much of the frame the digits cover, so the cell also reports the rank
# correlations with that ink fraction held fixed.

# %%
seq_bpp = (kl + nll_post).mean(1)
pred_all, truth_all = rp["prediction"].cpu(), x[:, 1:].cpu()
seq_ssim = ssim(pred_all, truth_all).mean(1)
seq_psnr = psnr(pred_all, truth_all).clamp(max=60.0).mean(1)  # an exact copy would give +inf
r_ssim, p_ssim = stats.spearmanr(seq_bpp, seq_ssim)
r_psnr, p_psnr = stats.spearmanr(seq_bpp, seq_psnr)

fig = page.bpp_quality_figure(seq_bpp, {"SSIM": seq_ssim, "PSNR (dB)": seq_psnr},
                              f"Fig 10.6 on SM-MNIST: {len(seq_bpp)} test sequences of {T} frames")  # fmt: skip
rec.savefig(fig, "fig10_6_bpp_vs_quality.png", reproduces="Fig 10.6")
plt.show()

# A confounder: a sequence with little ink (thin digits such as 1s) is cheap to code and,
# being mostly black, easy to match. Partial rank correlations with the ink fraction held fixed:
ink = (truth_all > 64).double().mean((1, 2, 3, 4))

r_ink = stats.spearmanr(seq_bpp, ink)[0]
p_ssim_ink, p_psnr_ink = page.partial_spearman(seq_bpp, seq_ssim, ink), page.partial_spearman(seq_bpp, seq_psnr, ink)
print(f"Spearman: bpp vs SSIM {r_ssim:.2f}, bpp vs PSNR {r_psnr:.2f}, bpp vs ink fraction {r_ink:.2f}; "
      f"with the ink fraction held fixed: bpp vs SSIM {p_ssim_ink:.2f}, bpp vs PSNR {p_psnr_ink:.2f}")  # fmt: skip

fig = page.bpp_examples_figure(x.cpu(), rp["prediction"].cpu(), seq_bpp)
rec.savefig(fig, "fig10_6_bpp_examples.png", reproduces="Fig 10.6")
plt.show()

# %% [markdown]
# ## 5. The parameters over time on synchronised SM-MNIST (Figs 10.7, 10.8, A.10)
#
# In the synchronised variant (`make_dataset("smmnist-sync", return_events=True)`) every
# sequence moves in exactly the same way and only the digits differ, so averaging a
# quantity over many sequences at each step keeps the steps aligned with the same bounces.
# `model.trajectory` returns per step the prior's and posterior's means and standard
# deviations and those of the flow's base distribution. We average the magnitudes over
# sequences, channels and positions, and divide each curve by its own mean over time, so
# that the curves share one axis (1 = that parameter's average). Vertical lines mark the
# frames where a digit touches a wall (red: digit 1, blue: digit 2).
#
# With two digits the thesis also saw the spread stay high while the digits overlap, which
# is deterministic but hard for the flow; with one digit only the bounces remain. The
# synchronised data give the digits' paths, so we draw each digit alone, measure how much of
# the smaller digit's ink the other one covers (averaged over the sequences), and shade the
# frames where that share exceeds 20%. The table after the figures condenses each
# curve to two ratios: its mean on frames at or right after a wall touch, and on frames with
# overlapping digits, each divided by its mean on the other frames.


# %%
OVERLAP = 0.2  # frames where the digits cover more than this share of each other's ink count as overlapping
spikes = {}
for nd, name, fig_id in (
    (2, "fig10_7_parameters_two_digits.png", "Fig 10.7"),
    (1, "fig10_8_parameters_one_digit.png", "Fig 10.8"),
):
    curves, ev, overlap, xs = page.parameter_curves(model, data_kwargs, nd, SETTINGS["sync_sequences"],
                                                    SETTINGS["sync_frames"], seed)  # fmt: skip
    fig = page.parameters_figure(curves, ev, overlap, OVERLAP, page.parameters_title(fig_id, nd, xs, OVERLAP))
    rec.savefig(fig, name, reproduces=fig_id)
    plt.show()
    spikes.update(page.spike_ratios(curves, ev, overlap, OVERLAP))  # wall-touch (and overlap) frames vs the rest
    if nd == 2:
        sync_two = xs[:1]  # one of the two-digit sequences, for Fig A.10
spike_table = pd.DataFrame(spikes).T
spike_table.to_csv(rec.path("tab10_7_parameter_spikes.csv"))
rec.record(rec.path("tab10_7_parameter_spikes.csv"), reproduces="Figs 10.7-10.8 (summary)")
display(spike_table.style.set_uuid("parameter_spikes").format("{:.2f}"))
print("each entry: the quantity's mean on those frames divided by its mean on all other frames (> 1: larger there)")

# %%
torch.manual_seed(seed)
rp_sync = model.reconstruct_and_predict(sync_two.to(dev), emission_temperature=SETTINGS["temperature"])
fig = page.sequence_strip_figure(sync_two[0].cpu(), rp_sync["prediction"][0].cpu(),
                                "Fig A.10: one synchronised sequence and the prior's one-step predictions")  # fmt: skip
rec.savefig(fig, "figA_10_synchronised_sequence.png", reproduces="Fig A.10")
plt.show()

# %% [markdown]
# **Reading the page.** The thesis's claims, and where to check them above: (1) the prior's
# one-step predictions look worse than the posterior's reconstructions, and the KL is highest
# at the first frame and at the walls (Fig 10.4 and the table under it); (2) frames further
# from a frozen condition are less likely (Fig 10.5); (3) lower bits per pixel goes with
# better predictions (Fig 10.6: a negative correlation with SSIM and PSNR); (4) the latent
# parameters react at the bounces, and with two digits also while digits overlap (Figs 10.7
# and 10.8, and the ratio table). Numbers from the `quick` profile come from a small model
# trained for 1,000 CPU steps, not the thesis's 300k GPU steps: its KL is small, so
# the prior and posterior rows may look alike, and the effects are weaker than in a fully
# trained model. The `reference` profile's RFN trained for hours on a CPU (the page on
# training on a CPU gives its step): sharper frames, but an even smaller KL (about 0.01 bits
# per pixel), so the same caution holds. The `thesis` profile runs the same code on the
# thesis-scale checkpoint.

# %% tags=["remove-input"]
display(Markdown(page.summary(table, spike_table, r_kl, frozen_prior, t0, rho,
                             {"SSIM": (r_ssim, p_ssim_ink), "PSNR": (r_psnr, p_psnr_ink)})))  # fmt: skip

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this profile's RFN and SRNN
# (notebook 04's runs).

# %% tags=["hide-cell", "exercise-setup"]
import torch

from rfn.data import make_dataset
from rfn.runs import get_run

ex_run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (trained first if missing)
ex_model = ex_run.model("cpu")
ex_test = make_dataset("smmnist", "test", seq_len=ex_run.train_frames, **ex_run.data_kwargs)
ex_clips = ex_test.batch(range(8))

# %% [markdown]
# **Exercise 1** (derive). The page splits the bound into a flow term and a KL term, each in
# bits per dimension. Show that the KL term of a frame can never be negative, so that the
# total is at least the flow term, and say what a frame whose KL is exactly 0 tells you about
# the posterior. Then convert: a frame of $D = C H W$ dimensions with a KL of $k$ nats adds
# how many bits per dimension?
#
# ```{admonition} Solution
# :class: dropdown
# $D_{\mathrm{KL}}(q \,\|\, p) = \mathbb{E}_q[-\log(p/q)] \ge -\log \mathbb{E}_q[p/q] = -\log 1 = 0$
# by Jensen's inequality ($-\log$ is convex), with equality only when $p/q$ is constant, that
# is $q = p$. A frame with zero KL is one where the posterior, which saw the frame (and, with
# smoothing, the future), ended up exactly at the prior, which had not: the frame carried no
# information about $\mathbf{z}_t$ beyond what the past already gave. Converting units:
# $k$ nats are $k / \ln 2$ bits, spread over $D$ dimensions: $k / (D \ln 2)$ bits per dimension.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Score eight test clips with `bpp_per_frame` and average
# the KL over the clips for each modelled frame. Which frame do you expect to carry the most KL:
# the first modelled frame (frame 2), or a later one? Predict, then run.
#
# ```{admonition} Solution
# :class: dropdown
# The first modelled frame is predicted from one frame of context: its prior knows where the
# digit is but not where it is going, so the posterior has to move furthest from it, and its
# KL is usually the largest. Later frames add KL mostly where something new happens (a bounce
# with a fresh random velocity). A briefly trained model (the `smoke` profile) has not learned
# this structure, and its KL need not follow the pattern: the printout shows what this
# profile's model does.
# ```

# %% tags=["hide-cell", "exercise-solution"]
with torch.no_grad():
    torch.manual_seed(seed)
    per_frame = ex_model.bpp_per_frame(ex_clips)
kl = per_frame["kl"].mean(0)
print(f"mean KL of frames 2..{kl.numel() + 1} (bits per dimension):", [round(v, 4) for v in kl.tolist()])
print(f"largest at frame {int(kl.argmax()) + 2} (frame 1 is the conditioning frame)")

# %% [markdown]
# **Exercise 3** (modify). Score the same clips with the SRNN of notebook 04 instead of the
# RFN (`get_run("srnn", ...)`). How do the emission and KL terms compare between the two
# models? The two share the latent machinery; why can their KL terms still differ?
#
# ```{admonition} Solution
# :class: dropdown
# The emission terms differ because the emissions differ: a conditional Glow against a
# per-pixel discretised logistic mixture. The KL terms can differ as much, although the
# prior, posterior and smoother are built alike: the KL is the information the posterior puts
# into $\mathbf{z}_t$, and that depends on what the emission can do without it. The RFN's
# flow sees the previous frame through its skips, so much of a frame is explained without the
# latent; the SRNN's decoder sees only $[\mathbf{h}_t, \mathbf{z}_t]$ and needs more from
# $\mathbf{z}_t$. A model can therefore trade KL for emission bits, and only the totals
# compare the two models. At the `smoke` profile both are barely trained.
# ```

# %% tags=["hide-cell", "exercise-solution"]
ex_srnn = get_run("srnn", profile, seed, root=artifacts_dir).model("cpu")
for name, m in (("RFN", ex_model), ("SRNN", ex_srnn)):
    with torch.no_grad():
        torch.manual_seed(seed)
        terms = m.bpp_per_frame(ex_clips)
    print(f"{name:5s} emission {terms['nll'].mean():.3f} + KL {terms['kl'].mean():.3f} "
          f"= {terms['total'].mean():.3f} bits per dimension")  # fmt: skip

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** thesis Fig 10.4 (prior one-step predictions against posterior
# reconstructions, with the KL and the bits per pixel of every step), Fig 10.5 (bits per
# pixel of future frames under a frozen conditional distribution), Fig 10.6 (bits per pixel
# against the visual quality of one-step predictions), Figs 10.7 and 10.8 (prior, posterior
# and base-distribution parameters over time on synchronised SM-MNIST with two digits and
# with one, bounces marked) and Fig A.10 (one of the sequences behind Fig 10.7). Figs A.7
# and A.8 repeat Fig 10.4 on BAIR and KTH, and the thesis's Fig 10.5 is on BAIR and KTH;
# those data sets are not available offline here, so every figure on this page is made on
# SM-MNIST and says so.
#
# **Run time** (measured with `python -m rfn.book run --only 08`): `smoke` about 10 s,
# `quick` about 1 minute on 2 CPU cores, `reference` about 1 minute (the committed RFN, nothing
# trained), `thesis` (not measured here) a few minutes on a GPU. At `quick` and `thesis` this
# excludes training, which notebook 04 does before this page.
#
# **Checkpoint:** at `reference` the committed RFN, `checkpoints/reference/reference-smmnist.pt`
# (32×32 two-digit SM-MNIST, 40,000 steps on a CPU); at the other profiles the RFN of notebook 04,
# `artifacts/<profile>/rfn-smmnist-seed<seed>/last.pt` (`quick`: 1000 steps on a CPU, as the presets
# set; `thesis`: the thesis's scale), trained first if it is missing.
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig10_4_prior_vs_posterior_smmnist.png`,
# `fig10_4_kl_at_bounces.png`, `fig10_5_frozen_future_nll.png`, `fig10_6_bpp_vs_quality.png`,
# `fig10_6_bpp_examples.png`, `fig10_7_parameters_two_digits.png`,
# `fig10_8_parameters_one_digit.png`, `figA_10_synchronised_sequence.png`,
# `tab10_4_kl_by_event.csv`, `tab10_7_parameter_spikes.csv`.
# :::

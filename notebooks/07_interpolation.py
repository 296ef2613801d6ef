# %% [markdown]
# # Interpolating the RFN's latent states
#
# **The question.** Has the RFN organised its latent states by where a digit is and how it
# moves, or does it only remember frames?
#
# **The idea.** Take two sequences that begin with the same frame, walk a straight line
# between their latent states and decode each point. If the states encode position and
# motion, the decoded digit travels along an in-between path; if not, the two digits fade
# into each other like a cross-fade of the pixels, which the page draws for comparison.
#
# ```{glue:figure} opening
# :figwidth: 70%
# :figclass: rfn-opening
#
# The walk between two sequences' latent states, decoded frame by frame (section 3 below
# explains how it is made and how to read it).
# ```

# %% tags=["parameters"]
# profile: smoke | quick | reference | thesis, or auto: what `make book` renders on this machine
profile = "auto"
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "_build/figures"  # figures go to figures_dir/<profile>/ (relative to the repository)
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/<model>-smmnist-seed<seed>/
# page parameters: None takes the profile's value (rfn/profiles.py)
frames = None  # frames of the two sequences
weights = None  # points on the line between them
speed = None  # pixels the digit moves per frame
temperature = None  # temperature of the decoded frames

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image, Markdown, display

from rfn import viz
from rfn.book.page import book_profile, setup_page
from rfn.data import StochasticMovingMNIST
from rfn.metrics.frames import centre_of_mass
from rfn.pages import interpolation as page
from rfn.runs import get_run

profile = book_profile(profile)  # "auto" -> this machine's default (rfn.book.page)
dev, rec, SETTINGS = setup_page(
    "07_interpolation", profile, seed, device, figures_dir,
    frames=frames, weights=weights, speed=speed, temperature=temperature
)

start = time.perf_counter()

# %% [markdown]
# ## 1. The model
#
# `rfn.runs.get_run` finds the RFN that notebook 04 trained for this profile and seed (the
# committed file at the reference profile), or trains it first if this page runs alone. The data
# settings (canvas and digit size) are read from the run's checkpoint, so the sequences below
# match what the model saw.

# %% tags=["hide-input"]
run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (or the committed reference file)
model = run.model(str(dev))
image_size, digit_size = run.image_size, run.data_kwargs.get("digit_size", 32)
print(f"{run.describe()}; {model.num_parameters() / 1e6:.2f} M parameters")

# %% [markdown]
# ## 2. Two sequences that share their first frame
#
# A Stochastic Moving MNIST sequence is a digit image plus a path: a start position and a
# velocity that changes only when the digit hits a wall (`StochasticMovingMNIST.trajectory`
# returns both). We take one test sequence's digit, put it in the middle of the canvas, and
# give it two different velocities, one per sequence, roughly at right angles. Both paths
# start at the same position, so frame 0 is the same image in both sequences; after that
# they part. `StochasticMovingMNIST.render` draws the digit along each path. A digit that
# reaches a wall is reflected (the classic Moving MNIST bounce), so both sequences are valid
# inputs of the same kind the model was trained on.

# %%
ds = StochasticMovingMNIST(
    "test", seq_len=SETTINGS["frames"], num_digits=1, image_size=image_size, digit_size=digit_size, seed=seed
)
x, info = page.two_paths(ds, SETTINGS["speed"])  # uint8 [2, T, 1, H, W], frame 0 shared
for name, d in info.items():
    print(f"sequence {name}: " + ", ".join(f"{k} {v}" for k, v in d.items()))

# %% [markdown]
# ## 3. Interpolating $(\mathbf{h}_t, \mathbf{z}_t)$
#
# `model.infer` runs the posterior over each sequence. We take the posterior means
# (`temperature=0`), so that the two endpoints are the model's best explanation of each
# sequence rather than one random draw. For every step $t$ this gives the deterministic
# state $\mathbf{h}_t^{A}$ and latent $\mathbf{z}_t^{A}$ of sequence A, and the same for
# B. For a weight $w \in [0, 1]$ we decode
#
# $$
# \mathbf{h}_t^{w} = (1 - w)\,\mathbf{h}_t^{A} + w\,\mathbf{h}_t^{B}, \qquad
# \mathbf{z}_t^{w} = (1 - w)\,\mathbf{z}_t^{A} + w\,\mathbf{z}_t^{B},
# $$
#
# frame by frame with `model.emit(h, z, prev_frames, temperature)`. The emission also reads
# skip features of the previous frame, so each row feeds its *own* previously decoded
# frame back in (frame 0, the shared one, starts every row). Rows $w = 0$ and $w = 1$ are
# therefore reconstructions of A and B, and the rows between show what the model puts
# between them. The flow is sampled at temperature 0.5, which removes most pixel noise but
# also lets the drawn digit wander a little: notebook 06 measures a motion spread across samples
# of about 0.7 pixels at this flow temperature, against 0 at temperature 0.

# %%
weights = torch.linspace(0, 1, SETTINGS["weights"])
interp = page.interpolate(model, x, weights, SETTINGS["temperature"], seed)  # uint8 [W, T, 1, H, W]
print(f"decoded {tuple(interp.shape)} (weights x frames x C x H x W)")

# %% [markdown]
# The grid: ground truth A on top, then one row per interpolation weight from $w = 0$ (A's
# latents) to $w = 1$ (B's), then ground truth B. Time runs to the right.

# %%
fig = page.interpolation_figure(x, interp, weights.tolist(), "Fig 10.3: decoding a straight line between the "
                                "latent states of A and B")  # fmt: skip
rec.savefig(fig, "fig10_3_latent_interpolation.png", reproduces="Fig 10.3", opening=True)
plt.show()
rows = torch.cat([x[:1], interp, x[1:]], 0)
gif = viz.save_gif(rec.path("fig10_3_latent_interpolation.gif"), rows, fps=3, scale=3, ncols=len(rows))
rec.record(gif, reproduces="Fig 10.3")
display(Image(filename=str(gif)))

# %% [markdown]
# ## 4. Does the digit move along a path between the two?
#
# The thesis drew each interpolated sequence as one image in which earlier frames are
# fainter. We do the same (left), and to check smoothness with a number rather than by eye
# we track the digit's centre of mass in every decoded frame (right). If the latent space is
# smooth, the paths fan out between A's and B's and each weight's direction lies between
# its neighbours'.


# %%
fig = page.paths_figure(x, interp, weights.tolist(), "Fig 10.3 (thesis style): each sequence in one image, "
                        "later frames brighter")  # fmt: skip
rec.savefig(fig, "fig10_3_latent_interpolation_paths.png", reproduces="Fig 10.3")
plt.show()

com_interp, com_truth = centre_of_mass(interp).numpy(), centre_of_mass(x).numpy()  # [N, T, 2] (row, column)
# direction of travel from frame 0 to the last frame, per weight
disp = com_interp[:, -1] - com_interp[:, 0]
angles = np.degrees(np.arctan2(disp[:, 0], disp[:, 1]))
for w, a, d in zip(weights.tolist(), angles, np.linalg.norm(disp, axis=1)):
    print(f"w = {w:.2f}: net displacement {d:5.1f} px at {a:6.1f} degrees")
truth_disp = com_truth[:, -1] - com_truth[:, 0]
print("truth A / B directions:", np.degrees(np.arctan2(truth_disp[:, 0], truth_disp[:, 1])).round(1))

# %% [markdown]
# ## 5. Against a blend of pixels
#
# The obvious alternative, mixing the two *videos* pixel by pixel, gives two half-bright
# digits at $w = 0.5$, one on each path. A smooth latent space should instead give one
# digit on a path between the two. The last figure puts the middle rows side by side.

# %%
mid = len(weights) // 2
pixel_blend = ((1 - weights[mid].item()) * x[0].double() + weights[mid].item() * x[1].double()).round().to(torch.uint8)
fig = page.blend_figure(interp[mid], pixel_blend, weights[mid].item())
rec.savefig(fig, "fig10_3_pixel_blend.png", reproduces="Fig 10.3 (comparison)")
plt.show()

# %% [markdown]
# **What to look for.** In a smooth latent space the decoded digit travels on a path between
# A's and B's, turning gradually as $w$ grows; this is what the thesis read into its figure.
# The numbers below say whether this run's rows do.

# %% tags=["remove-input"]
steps = np.diff(angles)
monotone = bool((steps >= -5).all() or (steps <= 5).all())  # within 5 degrees of monotone
truth_angles = np.degrees(np.arctan2(truth_disp[:, 0], truth_disp[:, 1]))
ink = interp.double().sum((2, 3, 4))[:, 1:].mean(1)  # mean ink of the decoded frames per row
display(Markdown(
    f"**What the numbers show.** The direction of travel goes from {angles[0]:.0f}° at w = 0 to {angles[-1]:.0f}° "
    f"at w = 1 (truth: {truth_angles[0]:.0f}° and {truth_angles[1]:.0f}°) and "
    + ("turns monotonically (within 5°) with w" if monotone else "does not turn monotonically with w")
    + f". The middle row (w = {weights[mid].item():.2f}) carries {ink[mid] / ink[[0, -1]].mean():.2f} times "
    "the ink of the end rows"
    + (", so halfway between the two states the model draws a fainter digit." if ink[mid] < 0.8 * ink[[0, -1]].mean()
       else ".")
))  # fmt: skip

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# ## Exercises
#
# Three kinds: **derive** (on paper), **predict, then run** (write your guess down, then open
# the hidden cell: it runs with the page) and **modify** (change the code and compare). The
# solutions are folded; open them after trying. The cells use this profile's RFN and the two
# sequences of section 2, rebuilt here.

# %% tags=["hide-cell", "exercise-setup"]
import matplotlib.pyplot as plt
import torch

from rfn.data import StochasticMovingMNIST
from rfn.metrics.frames import centre_of_mass
from rfn.pages import interpolation as interpolation_page
from rfn.runs import get_run

ex_run = get_run("rfn", profile, seed, root=artifacts_dir)  # notebook 04's RFN (trained first if missing)
ex_model = ex_run.model("cpu")
ex_ds = StochasticMovingMNIST("test", seq_len=ex_run.train_frames, num_digits=1, image_size=ex_run.image_size,
                              digit_size=ex_run.data_kwargs.get("digit_size", 32), seed=seed)  # fmt: skip
ex_x, _ = interpolation_page.two_paths(ex_ds, 1)  # uint8 [2, T, 1, H, W], frame 0 shared

# %% [markdown]
# **Exercise 1** (derive). Suppose $\mathbf{z}^A$ and $\mathbf{z}^B$ were independent draws of
# $\mathcal{N}(\mathbf{0}, \mathbf{I})$. What is the distribution of
# $(1 - w)\,\mathbf{z}^A + w\,\mathbf{z}^B$? For which $w$ is it narrowest, and which
# temperature does that correspond to? What does this suggest about decoding the middle of an
# interpolation?
#
# ```{admonition} Solution
# :class: dropdown
# A sum of independent Gaussians is Gaussian with the summed variances:
# $\mathcal{N}\big(\mathbf{0}, ((1 - w)^2 + w^2)\,\mathbf{I}\big)$. The factor
# $(1-w)^2 + w^2$ has its minimum $\tfrac12$ at $w = \tfrac12$, a standard deviation of
# $1/\sqrt2 \approx 0.71$: the midpoint behaves like a draw at temperature 0.71. Decoded
# midpoints can therefore look tidier (closer to the modes) than either end, not because the
# model understood the mixture but because a straight line cuts through the high-density
# middle of the Gaussian. The page interpolates posterior means of real sequences, which are
# not independent standard normals, so this is a tendency, not an exact law.
# ```

# %% [markdown]
# **Exercise 2** (predict, then run). Blend the last frames of sequences A and B pixel by
# pixel, half and half. Predict where the blend's centre of mass lies and what the image
# shows there. Then run the hidden cell.
#
# ```{admonition} Solution
# :class: dropdown
# The centre of mass is linear in the image, so the blend's centre lies exactly halfway
# between the two digits' centres. But the image shows two half-bright copies of the digit, one
# at each end, and nothing at the centre: a pixel blend moves the *average position* without
# moving any digit. A latent interpolation that works places one full digit on a path between
# the two (section 4 measures that).
# ```

# %% tags=["hide-cell", "exercise-solution"]
last_a, last_b = ex_x[0, -1], ex_x[1, -1]
blend = ((last_a.float() + last_b.float()) / 2).round().to(torch.uint8)
for name, frame in (("A", last_a), ("B", last_b), ("blend", blend)):
    print(f"{name:6s} centre of mass (row, column): {[round(v, 1) for v in centre_of_mass(frame).tolist()]}")
fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
for ax, frame, name in zip(axes, (last_a, blend, last_b), ("A", "half and half", "B")):
    ax.imshow(frame[0], cmap="gray", vmin=0, vmax=255)
    ax.set(title=name, xticks=[], yticks=[])
plt.show()

# %% [markdown]
# **Exercise 3** (modify). The interpolation of section 3 decodes each frame at one flow
# temperature. Decode the weights $w \in \{0, 0.5, 1\}$ at flow temperature 0 and at 1 and
# compare. Which parts of the frames change between the two, and which stay?
#
# ```{admonition} Solution
# :class: dropdown
# The states $(\mathbf{h}_t, \mathbf{z}_t)$ are the same in both runs, so *where* the digit is
# (decided mainly by the states) should change little; the flow temperature changes the
# appearance: at 0 the flow decodes the means of its priors (smooth strokes, little noise), at
# 1 it adds pixel noise. Because each decoded frame is fed back as the previous frame of the
# next step, small differences can grow over the sequence.
# ```

# %% tags=["hide-cell", "exercise-solution"]
weights = torch.tensor([0.0, 0.5, 1.0])
for tau in (0.0, 1.0):
    with torch.no_grad():
        frames = interpolation_page.interpolate(ex_model, ex_x, weights, temperature=tau, seed=seed)
    fig = interpolation_page.interpolation_figure(ex_x, frames, weights.tolist(), f"flow temperature {tau:g}")
    plt.show()

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
#
# **Reproduces:** thesis Fig 10.3, a straight line in the RFN's latent states
# $(\mathbf{h}_t, \mathbf{z}_t)$ between two sequences that begin with the same frame.
#
# **Run time** (measured with `python -m rfn.book run --only 07`): `smoke` about 10 s,
# `quick` about 15 s on 2 CPU cores, `reference` about 10 s (the committed RFN, nothing
# trained), `thesis` (not measured here) should take well under a minute on a GPU. At
# `quick` and `thesis` this excludes training, which notebook 04 does before this page.
#
# **Checkpoint:** at `reference` the committed RFN, `checkpoints/reference/reference-smmnist.pt`
# (32×32 two-digit SM-MNIST, 40,000 steps on a CPU); at the other profiles the RFN of notebook 04,
# `artifacts/<profile>/rfn-smmnist-seed<seed>/last.pt` (`quick`: 1000 steps on a CPU, as the presets
# set; `thesis`: the thesis's scale), trained first if it is missing.
#
# **Writes** (into `<figures_dir>/<profile>/`, by default `_build/figures/<profile>/`;
# the committed `figures/<profile>/` only through `python -m rfn.book run --commit-figures`):
# `fig10_3_latent_interpolation.png`, `.gif`,
# `fig10_3_latent_interpolation_paths.png`, `fig10_3_pixel_blend.png`.
#
# The thesis trained a separate RFN on one-digit SM-MNIST for this figure. We reuse the
# book's two-digit model and feed it one-digit sequences. These lie *outside* its training
# data: every training sequence has exactly two digits, so a frame with one digit is a
# situation the model never saw, and what it draws between the ends partly reflects that.
# :::

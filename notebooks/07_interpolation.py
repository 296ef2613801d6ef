# %% [markdown]
# # Interpolating the RFN's latent states
#
# **Reproduces:** thesis Fig 10.3, a straight line in the RFN's latent states
# $(\mathbf{h}_t, \mathbf{z}_t)$ between two sequences that begin with the same frame.
#
# **Run time** (measured with `python -m rfn.book run --only 07`): `smoke` about 10 s,
# `quick` about 15 s on 2 CPU cores, `thesis` (not measured here) should take well under a
# minute on a GPU. This excludes training, which notebook 04 does before this page.
#
# **Checkpoint:** the RFN of notebook 04, `artifacts/<profile>/rfn-smmnist-seed<seed>/last.pt`
# (`quick`: 32×32 two-digit SM-MNIST, 1000 steps on a CPU, as the presets set;
# `thesis`: the thesis's scale). It is trained first if it is missing.
#
# **Writes:** `figures/<profile>/fig10_3_latent_interpolation.png`, `.gif`,
# `fig10_3_latent_interpolation_paths.png`, `fig10_3_pixel_blend.png`.
#
# The thesis trained a separate RFN on one-digit SM-MNIST for this figure. We reuse the
# book's two-digit model and feed it one-digit sequences, which are a special case of what
# it was trained on (a second digit that happens to be absent).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | reference | thesis
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "figures"  # figures go to figures_dir/<profile>/
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/<model>-smmnist-seed<seed>/

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image, Markdown, display

from rfn import viz
from rfn.book import FigureRecorder
from rfn.checkpoint import load_checkpoint
from rfn.data import StochasticMovingMNIST, Trajectory
from rfn.metrics.frames import centre_of_mass
from rfn.runs import ensure_trained, trained_model
from rfn.runtime import resolve_device, set_cpu_threads

SETTINGS = {  # everything that depends on the profile
    "smoke": {"frames": 6, "weights": 3, "speed": 1, "temperature": 0.5},
    "quick": {"frames": 8, "weights": 7, "speed": 2, "temperature": 0.5},
    "reference": {"frames": 8, "weights": 7, "speed": 2, "temperature": 0.5},
    "thesis": {"frames": 10, "weights": 7, "speed": 4, "temperature": 0.5},
}[profile]

torch.manual_seed(seed)
np.random.seed(seed)  # noqa: NPY002 (seeds any library code that draws from NumPy's global generator)
dev = torch.device(resolve_device(device))
set_cpu_threads(dev)  # one thread for the book's small models on a CPU (rfn.runtime.CPU_THREADS)
viz.set_book_style()
rec = FigureRecorder("07_interpolation", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
start = time.perf_counter()
print(f"profile={profile} seed={seed} device={dev} torch={torch.__version__} settings={SETTINGS}")

# %% [markdown]
# ## 1. The model
#
# `rfn.runs.trained_model` loads the RFN that notebook 04 trained for this profile
# and seed (through `rfn.runs.ensure_trained` with the profile's preset),
# or trains it first if this page runs alone. The data settings (canvas and digit size) are read
# from the run's checkpoint, so the sequences below match what the model saw.

# %%
model = trained_model("rfn", profile, seed, root=artifacts_dir, device=str(dev))  # notebook 04's RFN
model.eval()
run_info = load_checkpoint(ensure_trained("rfn", profile, seed, root=artifacts_dir))  # the run loaded above
data_kwargs = run_info["data_config"]["kwargs"]
image_size, digit_size = data_kwargs.get("image_size", 64), data_kwargs.get("digit_size", 32)
print(f"RFN: {model.num_parameters() / 1e6:.2f} M parameters, trained on {run_info['data_config']}")

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
base = ds.trajectory(0)
limit = image_size - digit_size


def reflected_path(start: np.ndarray, velocity: tuple[int, int], frames: int) -> Trajectory:
    """One digit from ``start`` with constant ``velocity``, reflected at the walls (``int64 [T, 1, 2]``)."""
    pos = np.array(start, dtype=np.int64)
    vel = np.array(velocity, dtype=np.int64)
    positions, velocities = [], []
    events = np.zeros((frames, 1, 4), dtype=bool)
    for t in range(frames):
        if t > 0:
            pos = pos + vel
        for axis in range(2):
            if pos[axis] < 0 or pos[axis] > limit:
                events[t, 0, 2 * axis + int(pos[axis] > limit)] = True
                pos[axis] = min(max(pos[axis], 0), limit)
                vel[axis] = -vel[axis]
        positions.append(pos.copy())
        velocities.append(vel.copy())
    return Trajectory(
        digits=base.digits,
        positions=np.stack(positions)[:, None],
        velocities=np.stack(velocities)[:, None],
        events=events,
    )


s = SETTINGS["speed"]
centre = np.array([limit // 2, limit // 2])
paths = {"A": reflected_path(centre, (-s, s), ds.seq_len), "B": reflected_path(centre, (s, s // 2 + 1), ds.seq_len)}
x = torch.from_numpy(np.stack([ds.render(p) for p in paths.values()])).unsqueeze(2)  # uint8 [2, T, 1, H, W]
assert torch.equal(x[0, 0], x[1, 0]), "the two sequences must share their first frame"
for name, p in paths.items():
    print(
        f"sequence {name}: velocity (vy, vx) = {tuple(p.velocities[0, 0].tolist())}, wall hits at frames "
        f"{sorted(set(np.nonzero(p.events.any(axis=(1, 2)))[0].tolist()))}"
    )
fig, ax = plt.subplots(figsize=(1.0 * ds.seq_len, 2.4))
ax.imshow(viz.video_grid(x, scale=2))
ax.set_axis_off()
ax.set_title("the two ground-truth sequences (A above, B below); frame 0 is the same")
plt.show()

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
# between them. The flow is sampled at temperature 0.5, which removes most pixel noise
# without changing where the digit is (notebook 06 shows what the temperature does).

# %%
with torch.no_grad():
    post = model.infer(x.to(dev), temperature=0.0)
h, z = post["h"], post["z"]  # [2, T-1, C, h, w] each: frames 1..T-1
weights = torch.linspace(0, 1, SETTINGS["weights"], device=dev)
torch.manual_seed(seed)  # the flow's sampling noise: the same for every run of this page
frames = [x[0, 0].expand(len(weights), -1, -1, -1).to(dev)]  # shared frame 0 for every row
with torch.no_grad():
    for t in range(h.shape[1]):
        w = weights.view(-1, 1, 1, 1)
        h_w = (1 - w) * h[0, t] + w * h[1, t]
        z_w = (1 - w) * z[0, t] + w * z[1, t]
        frames.append(model.emit(h_w, z_w, frames[-1], temperature=SETTINGS["temperature"]))
interp = torch.stack(frames, 1).cpu()  # uint8 [W, T, 1, H, W]
print(f"decoded {tuple(interp.shape)} (weights x frames x C x H x W)")

# %% [markdown]
# The grid: ground truth A on top, then one row per interpolation weight from $w = 0$ (A's
# latents) to $w = 1$ (B's), then ground truth B. Time runs to the right.

# %%
rows = torch.cat([x[:1], interp, x[1:]], 0)
grid = viz.video_grid(rows, scale=3, pad=2)
fig, ax = plt.subplots(figsize=(1.25 * ds.seq_len + 1, 1.25 * len(rows)))
ax.imshow(grid)
cell = (grid.shape[0] - 2) / len(rows)
labels = ["truth A"] + [f"w = {w:.2f}" for w in weights.tolist()] + ["truth B"]
ax.set_yticks([2 + cell * (i + 0.5) for i in range(len(rows))], labels)
cell_w = (grid.shape[1] - 2) / ds.seq_len
ax.set_xticks([2 + cell_w * (j + 0.5) for j in range(ds.seq_len)], [f"t={j}" for j in range(ds.seq_len)])
ax.tick_params(length=0)
ax.grid(False)
for side in ax.spines.values():
    side.set_visible(False)
ax.set_title("Fig 10.3: decoding a straight line between the latent states of A and B")
rec.savefig(fig, "fig10_3_latent_interpolation.png", reproduces="Fig 10.3")
plt.show()

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
fade = np.linspace(0.25, 1.0, ds.seq_len)
overlay = (interp.squeeze(2).double().numpy() / 255.0 * fade[None, :, None, None]).max(1)  # [W, H, W]
com_interp, com_truth = centre_of_mass(interp).numpy(), centre_of_mass(x).numpy()  # [N, T, 2] (row, column)
colours = plt.cm.viridis(np.linspace(0, 1, len(weights)))

fig = plt.figure(figsize=(2.0 * len(weights) + 3.5, 3.6))
gs = fig.add_gridspec(1, len(weights) + 2, width_ratios=[1] * len(weights) + [0.15, 2.2])
for i, w in enumerate(weights.tolist()):
    ax = fig.add_subplot(gs[0, i])
    ax.imshow(overlay[i], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"w = {w:.2f}", fontsize=9)
    ax.set_axis_off()
ax = fig.add_subplot(gs[0, -1])
for i, w in enumerate(weights.tolist()):
    ax.plot(com_interp[i, :, 1], com_interp[i, :, 0], "-o", ms=3, color=colours[i], label=f"w={w:.2f}")
for k, style in ((0, "k--"), (1, "k:")):
    ax.plot(com_truth[k, :, 1], com_truth[k, :, 0], style, lw=1.5, label=f"truth {'AB'[k]}")
ax.set_xlim(0, image_size)
ax.set_ylim(image_size, 0)
ax.set_aspect("equal")
ax.set_xlabel("column")
ax.set_ylabel("row")
ax.set_title("centre of mass over time")
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
fig.suptitle("Fig 10.3 (thesis style): each sequence in one image, later frames brighter", y=1.02)
rec.savefig(fig, "fig10_3_latent_interpolation_paths.png", reproduces="Fig 10.3")
plt.show()

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
fig, ax = plt.subplots(figsize=(1.0 * ds.seq_len, 2.4))
ax.imshow(viz.video_grid(torch.stack([interp[mid], pixel_blend]), scale=2))
ax.set_axis_off()
ax.set_title(f"w = {weights[mid].item():.2f}: latent interpolation (top) vs pixel blend (bottom)")
rec.savefig(fig, "fig10_3_pixel_blend.png", reproduces="Fig 10.3 (comparison)")
plt.show()

# %% [markdown]
# **What to look for.** In a smooth latent space the decoded digit travels on a path
# between A's and B's, turning gradually as $w$ grows; this is what the thesis read into its
# figure. How clean the rows look depends on training. With the `quick` profile's RFN (1000
# CPU steps on two-digit data) the reconstructions are blobs rather than readable digits,
# and the middle rows fade: halfway between two states the model draws a faint, thin shape.
# The direction of travel still turns, nearly monotonically, from A's to B's (the printed angles go
# from about -49° at $w = 0$ to about +38° at $w = 1$, against -45° and +45° for the truth),
# so the motion is interpolated smoothly even where the appearance is not.

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

# %% [markdown]
# # Why stochastic latents
#
# **Reproduces:** thesis Fig 2.2 (a deterministic ConvLSTM autoencoder predicting
# Stochastic Moving MNIST: its digits blur once they bounce), Fig A.1 (a sequence of the
# noisy sinusoid), Table A.1 (SRNN and VRNN on the sinusoid with and without smoothing,
# $\text{RES}_q$ and learned initial states) and Fig A.2 (predictions of the best SRNN and
# VRNN with their uncertainty).
#
# **Run time** (measured with `python -m rfn.book run --only 03`): `smoke` about 15 s;
# `quick` 3.5 minutes of CPU time on one core, training the deterministic model and the
# twelve sinusoid models included (7 minutes of wall time on a 2-core machine shared with
# other jobs); `full` not yet measured (an estimate: 30-60 minutes on one GPU, most of it
# the twelve sinusoid runs, whose small LSTMs gain little from a GPU). With the
# checkpoints in place a rerun takes under half a minute.
#
# **Checkpoints:** the deterministic ConvLSTM autoencoder,
# `artifacts/<profile>/deterministic-smmnist-seed<seed>/last.pt`, trained here through
# `rfn.runs.trained_model` if it is missing (notebook 04 reuses the same run); the
# SRNN and RFN of notebook 04 (`artifacts/<profile>/{srnn,rfn}-smmnist-seed<seed>/`) are
# shown beside it only if they have already been trained (this page never trains them);
# the twelve sinusoid models, `artifacts/<profile>/sinusoid-<variant>-seed<seed>/last.pt`,
# trained here.
#
# **Writes:** `figures/<profile>/fig2_2_convlstm_blur.png`, `fig2_2_convlstm_blur.gif`,
# `fig2_2_blur_after_bounces.png`, `figA_1_sinusoid.png`, `tabA_1_sinusoid_ablation.csv`,
# `figA_2_sinusoid_fits.png`, `fig_sinusoid_training.png`.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | reference | thesis
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "figures"  # figures go to figures_dir/<profile>/
artifacts_dir = "artifacts"  # checkpoints: artifacts_dir/<profile>/...

# %%
import json
import random
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, Markdown, display

from rfn import viz
from rfn.book import FigureRecorder
from rfn.checkpoint import load_checkpoint
from rfn.data import Sinusoid, Trajectory, make_dataset
from rfn.models.registry import load_model
from rfn.presets import get_preset
from rfn.presets.small import SINUSOID_VARIANTS
from rfn.runs import ensure_trained, preset_for, run_dir, trained_model
from rfn.runtime import resolve_device

SETTINGS = {  # what the page measures at each profile (the models' settings are their presets)
    # blur_*: Fig 2.2 (context frames, predicted frames, test sequences, possible futures drawn per sequence)
    # sin_*: sinusoid validation sequences, context and future patches, sampled futures (Fig A.2)
    "smoke": {
        "blur_context": 2, "blur_future": 6, "blur_sequences": 8, "blur_futures": 8,
        "sin_val_len": 32, "sin_context": 5, "sin_future": 5, "sin_samples": 8,
    },
    "quick": {
        "blur_context": 3, "blur_future": 13, "blur_sequences": 100, "blur_futures": 100,
        "sin_val_len": 256, "sin_context": 10, "sin_future": 8, "sin_samples": 50,
    },
    "thesis": {
        "blur_context": 3, "blur_future": 22, "blur_sequences": 1000, "blur_futures": 500,
        "sin_val_len": 1000, "sin_context": 10, "sin_future": 8, "sin_samples": 200,
    },
}
SETTINGS["reference"] = SETTINGS["quick"]
SETTINGS = SETTINGS[profile]  # fmt: skip

random.seed(seed)
np.random.seed(seed)  # noqa: NPY002 (seeds any library code that draws from NumPy's global generator)
torch.manual_seed(seed)
dev = torch.device(resolve_device(device))
if dev.type == "cpu":
    # Small networks on a 2-core machine: one thread avoids threads waiting on each other.
    torch.set_num_threads(1)
viz.set_book_style()
rec = FigureRecorder("03_stochastic_latents", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
start = time.perf_counter()
print(f"profile={profile} seed={seed} device={dev} torch={torch.__version__}")
print(SETTINGS)

# %% [markdown]
# ## 1. A deterministic model of a random world (Fig 2.2)
#
# In Stochastic Moving MNIST a digit moves in a straight line until it reaches a wall; there
# it gets a *random* new velocity. Nothing in the past frames says which one. A model with
# no random variables, such as the ConvLSTM autoencoder `rfn.models.ConvLSTMAutoencoder`
# (the same extractor, ConvLSTM and decoder as the SRNN, but $\mathbf{x}_t$ predicted from
# $\mathbf{h}_t$ alone under a Gaussian), can output only one frame per step. Under a
# squared-error-like loss the best single frame is the *average* of the possible futures:
# after a bounce, a smear over every direction the digit might have taken.
#
# Two deterministic predictors are compared with the truth:
#
# - **the ideal one**: the SM-MNIST generator is known, so for a test sequence we can draw
#   many futures that share its past (same digits, same positions and velocities up to the
#   last context frame, fresh random velocities at every later bounce) and average them.
#   No deterministic model can beat this average under squared error; it needs no training;
# - **the trained one**: the book's ConvLSTM autoencoder run (trained here if missing;
#   notebook 04 trains and reuses the same folder), given a few context frames and rolled
#   forward on its own predictions.

# %%
t0 = time.perf_counter()
det = trained_model("deterministic", profile, seed, root=artifacts_dir, device=dev)  # trains it if missing
det_preset = get_preset(preset_for("deterministic", profile))
det_ckpt = load_checkpoint(ensure_trained("deterministic", profile, seed, root=artifacts_dir))
print(
    f"deterministic ConvLSTM autoencoder: {sum(p.numel() for p in det.parameters()):,} parameters, "
    f"{det_ckpt['step']} steps of preset {det_preset.name!r} ({time.perf_counter() - t0:.0f} s to train or load)"
)


def finished_run(kind: str):
    """The model of notebook 04's run of ``kind`` if that run has finished; else None (never trains)."""
    steps = get_preset(preset_for(kind, profile)).train["steps"]
    path = run_dir(kind, profile, seed, root=artifacts_dir) / "last.pt"
    if path.is_file() and int(load_checkpoint(path)["step"]) >= steps:
        return load_model(path, device=dev)
    return None


stochastic = {kind.upper(): m for kind in ("srnn", "rfn") if (m := finished_run(kind)) is not None}
print("stochastic models already trained by notebook 04:", list(stochastic) or "none (this page shows truth only)")

# %% [markdown]
# The continuation below applies the generator's rule (`rfn.data.motion`): a step adds the
# velocity; a digit that crosses a wall is put back on it and draws a new velocity whose
# component normal to the wall points inside with speed 1-4 and whose other component is
# uniform in $-4..4$. The frames are drawn by the data set's own `render`.

# %%
data_cfg = det_preset.data
n_ctx, n_fut = SETTINGS["blur_context"], SETTINGS["blur_future"]
T = n_ctx + n_fut
test_set = make_dataset(data_cfg.name, "test", T, **{**data_cfg.kwargs, "return_events": True})
limit = test_set.image_size - test_set.digit_size


def possible_futures(traj: Trajectory, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` futures sharing the first ``n_ctx`` frames of ``traj``: uint8 ``[n, T, H, W]``."""
    pos = np.repeat(traj.positions[n_ctx - 1][None], n, 0)  # [n, D, 2], (y, x)
    vel = np.repeat(traj.velocities[n_ctx - 1][None], n, 0)
    paths = np.repeat(traj.positions[None], n, 0).copy()  # [n, T, D, 2]; frames >= n_ctx are replaced
    for t in range(n_ctx, T):
        pos = pos + vel
        low, high = pos < 0, pos > limit
        pos = np.clip(pos, 0, limit)
        hit = low | high
        normal = rng.integers(1, 5, size=pos.shape) * np.where(low, 1, -1)
        other = rng.integers(-4, 5, size=pos.shape)
        vel = np.where(hit.any(-1, keepdims=True), np.where(hit, normal, other), vel)
        paths[:, t] = pos
    return np.stack([test_set.render(replace(traj, positions=p)) for p in paths])


n_seq, n_futures = SETTINGS["blur_sequences"], SETTINGS["blur_futures"]
trajs = [test_set.trajectory(i) for i in range(n_seq)]
videos = torch.stack([torch.from_numpy(test_set.render(tr)) for tr in trajs])[:, :, None]  # uint8 [N, T, 1, H, W]
events = torch.from_numpy(np.stack([tr.events.any(axis=(1, 2)) for tr in trajs]))  # bool [N, T]: a wall was hit
rng = np.random.default_rng(seed)
t0 = time.perf_counter()
ideal = torch.stack([torch.from_numpy(possible_futures(tr, n_futures, rng).astype(np.float32).mean(0)) for tr in trajs])
ideal = ideal.round().to(torch.uint8)[:, :, None]  # the mean of the futures, as a frame
assert torch.equal(ideal[:, :n_ctx], videos[:, :n_ctx])  # the futures share the past exactly
print(f"{n_futures} possible futures for each of {n_seq} test sequences in {time.perf_counter() - t0:.1f} s")

torch.manual_seed(seed)
det_pred = det.predict(videos[:, :n_ctx].to(dev), n_fut)[:, 0].cpu()  # [N, n_fut, 1, H, W]
det_video = torch.cat([videos[:, :n_ctx], det_pred], 1)
extra = {}
for name, model in stochastic.items():
    torch.manual_seed(seed)
    extra[name] = torch.cat([videos[:, :n_ctx], model.predict(videos[:, :n_ctx].to(dev), n_fut)[:, 0].cpu()], 1)

# %%
# show sequences whose first bounce after the context comes a few frames into the prediction
first_bounce = [int(np.flatnonzero(e[n_ctx:].numpy())[0]) if e[n_ctx:].any() else n_fut for e in events]
show = sorted(range(n_seq), key=lambda i: (not 2 <= first_bounce[i] <= 5, i))[:3]
rows, names = [], []
for i in show:
    rows += [videos[i], ideal[i], det_video[i]] + [v[i] for v in extra.values()]
    names += [f"seq {i}: truth", f"mean of {n_futures} futures", "trained ConvLSTM"] + [f"{k} sample" for k in extra]
scale, pad, border = 2, 2, 1
strip = viz.video_grid(torch.stack(rows), context=n_ctx, pad=pad, border=border, scale=scale)
H = videos.shape[-1] * scale + 2 * border
fig, ax = plt.subplots(figsize=(min(16, 0.75 * T + 1.5), 0.75 * len(rows) + 0.8))
ax.imshow(strip)
per_row = len(rows) // len(show)
for k, i in enumerate(show):
    y_top = pad + k * per_row * (H + pad)
    for t in np.flatnonzero(events[i].numpy()):
        ax.plot(pad + t * (H + pad) + H / 2, y_top - 0.5, marker="v", color="red", ms=6, clip_on=False)
ax.set_yticks([pad + (r + 0.5) * (H + pad) for r in range(len(rows))], names)
ax.set_xticks([pad + (t + 0.5) * (H + pad) for t in range(T)], [str(t) for t in range(T)])
ax.set_xlabel("frame (green: context given to the predictor, red: predicted); ▼ a digit hits a wall")
ax.grid(False)
ax.set_title(f"Fig 2.2: deterministic predictions of SM-MNIST ({profile} profile)")
rec.savefig(fig, "fig2_2_convlstm_blur.png")
plt.show()

gif_rows = torch.stack([torch.stack([videos[i], ideal[i], det_video[i]]) for i in show]).flatten(0, 1)
gif = viz.save_gif(rec.path("fig2_2_convlstm_blur.gif"), gif_rows, fps=3, context=n_ctx, scale=2, ncols=3)
rec.record(gif)
print("in each row: truth, mean of the possible futures, trained ConvLSTM autoencoder")
display(Image(filename=str(gif)))

# %% [markdown]
# The blur can be measured. The *sharpness* of a frame is the share of its total brightness
# that sits in bright pixels (above half intensity): a crisp digit keeps most of its
# brightness there, a smeared one spreads it thinly. The left panel lines up every test
# sequence on its first bounce after the context (frame 0 of the horizontal axis) and
# averages the sharpness at each offset; the right panel shows the squared error against
# the true frame over the predicted frames.


# %%
def sharpness(frames: torch.Tensor) -> torch.Tensor:
    """Share of brightness in pixels above half intensity, per frame: uint8 [..., C, H, W] -> [...]."""
    f = frames.float().flatten(-3)
    return (f * (f > 127)).sum(-1) / f.sum(-1).clamp(min=1)


predictors = {"truth": videos, f"mean of {n_futures} futures": ideal, "trained ConvLSTM": det_video}
predictors.update({f"{k} sample": v for k, v in extra.items()})
offsets = np.arange(-n_fut + 1, n_fut)
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
for j, (name, vids) in enumerate(predictors.items()):
    sharp = sharpness(vids[:, n_ctx:]).numpy()  # [N, n_fut]
    sums, counts = np.zeros(len(offsets)), np.zeros(len(offsets))
    for i in range(n_seq):
        if first_bounce[i] < n_fut:
            idx = np.arange(n_fut) - first_bounce[i] + n_fut - 1  # position of each frame's offset
            sums[idx] += sharp[i]
            counts[idx] += 1
    keep = counts >= max(3, n_seq // 10)  # offsets seen in enough sequences
    axes[0].plot(offsets[keep], sums[keep] / counts[keep], marker="o", ms=3, color=f"C{j}", label=name)
    if name != "truth":
        mse = ((vids[:, n_ctx:].float() - videos[:, n_ctx:].float()) / 255).pow(2).flatten(2).mean(-1)
        axes[1].plot(np.arange(1, n_fut + 1), mse.mean(0), marker="o", ms=3, color=f"C{j}", label=name)
axes[0].axvline(0, color="red", lw=1, ls="--")
axes[0].set(xlabel="frames after the first bounce in the predicted part", ylabel="sharpness", ylim=(0, 1))
axes[0].set_title("sharpness around the first bounce")
axes[1].set(xlabel="predicted frame", ylabel="mean squared error (pixels in [0, 1])", title="error against the truth")
for ax in axes:
    ax.legend(fontsize=8)
fig.suptitle(f"{n_seq} SM-MNIST test sequences, {n_ctx} context frames", y=1.02)
fig.tight_layout()
rec.savefig(fig, "fig2_2_blur_after_bounces.png")
plt.show()
fb = torch.tensor(first_bounce)[:, None]
after_bounce = torch.arange(n_fut)[None] >= fb  # [N, n_fut]: frame at or after the first bounce
rows = []
for name, vids in predictors.items():
    sharp = sharpness(vids[:, n_ctx:])
    rows.append(
        {
            "frames": name,
            "sharpness before the first bounce": sharp[~after_bounce].mean().item(),
            "sharpness from the first bounce on": sharp[after_bounce].mean().item(),
        }
    )
display(pd.DataFrame(rows).set_index("frames").style.format("{:.2f}"))
if extra:
    display(
        Markdown(
            f"Notebook 04 had already trained {' and '.join(extra)} at this profile, so one sample of each is "
            "shown too. A sample commits to one future: it stays about as sharp after the bounce as before, "
            "but when it picks another velocity than the truth its squared error is larger than the blur's. "
            "Squared error rewards hedging, which is why the thesis scores stochastic models by the best of "
            "many samples (notebook 05)."
        )
    )
else:
    display(
        Markdown(
            "Samples of the SRNN and the RFN appear here once notebook 04 has trained them at this profile "
            "(this page runs before it in the book and does not train them)."
        )
    )

# %% [markdown]
# Until the first bounce the mean of the futures is the true frame: the motion is
# deterministic, so every future agrees. The bounce frame itself is still sharp (the
# generator puts the digit on the wall; the new velocity acts from the next frame). From
# then on the bounced digit dissolves into a fan of faint copies, and the ideal
# deterministic prediction is a blur; the error against the truth grows with it. That
# part is not a matter of training: the information is not in the past frames. The
# trained ConvLSTM at the `quick` profile is in addition far from that ideal: after a few
# hundred steps on a CPU its one-step predictions are already soft and, fed back, fade
# within a few frames. A latent variable $\mathbf{z}_t$
# lets a model draw *one* of the possible velocities instead of their average, which is
# the point of the SRNN, the VRNN and the RFN; notebook 05 shows their samples.
#
# ## 2. A toy sequence: the noisy sinusoid (Fig A.1)
#
# Appendix A.3 of the thesis tests the SRNN and VRNN on a much simpler sequence:
# $y = \sin(F x + 2\pi u) + \epsilon$ with a random phase $u \sim U(0, 1)$ per sequence and
# noise $\epsilon \sim \mathcal{N}(0, 0.1^2)$ per point, sampled every 0.05 in $x$ and cut
# into 30 patches of 100 points. Each patch is one time step of a sequence model, a vector
# $\mathbf{x}_t \in \mathbb{R}^{100}$ (`rfn.data.Sinusoid`, $F = 1$).

# %%
val_set = Sinusoid("valid", length=SETTINGS["sin_val_len"], return_clean=True, seed=seed)
noisy0, clean0 = val_set[0]
P = noisy0.shape[1]
x_axis = np.arange(noisy0.numel()) * val_set.step
fig, ax = plt.subplots(figsize=(13, 2.8))
ax.plot(x_axis, noisy0.flatten(), ".", ms=1.5, color="0.45", label="data: sine + noise")
ax.plot(x_axis, clean0.flatten(), color="C0", lw=1, label="sine without noise")
for t in range(1, noisy0.shape[0]):
    ax.axvline(t * P * val_set.step, color="0.85", lw=0.6, zorder=0)
ax.set(xlabel="x", ylabel="y", title=f"Fig A.1: one sequence, {noisy0.shape[0]} patches of {P} points (grey lines)")
ax.legend(loc="upper right", fontsize=8)
rec.savefig(fig, "figA_1_sinusoid.png")
plt.show()

# %% [markdown]
# ## 3. SRNN and VRNN on the sinusoid (Table A.1)
#
# `rfn.models.DenseSRNN` and `DenseVRNN` are the SRNN and VRNN of the theory chapter with
# small multilayer perceptrons in place of convolutions: an LSTM gives $\mathbf{h}_t$ from
# $\mathbf{x}_{t-1}$ (the VRNN also feeds it $\mathbf{z}_{t-1}$), a Gaussian prior
# $p(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{h}_t)$, a Gaussian posterior
# $q(\mathbf{z}_t \mid \mathbf{z}_{t-1}, \mathbf{a}_t)$ and a Gaussian output. Three switches:
#
# - **smoothing** (SRNN only): $\mathbf{a}_t$ comes from a backward LSTM over the rest of the
#   sequence, so the posterior sees the future, as the true posterior of the SRNN does. A
#   VRNN's $\mathbf{h}_t$ depends on $\mathbf{z}_{t-1}$, so it cannot be computed before the
#   latent loop; our VRNN has no smoothing (the thesis's table lists VRNN rows with it);
# - **$\text{RES}_q$**: the posterior learns a correction to the prior mean rather than
#   a mean of its own;
# - **learned initial states**: $\mathbf{h}_0$, $\mathbf{c}_0$ and $\mathbf{z}_0$ are
#   trained vectors rather than zeros.
#
# The networks are weight-normalised three-layer perceptrons with leaky ReLUs, as in the
# appendix. One deviation: the output standard deviation is predicted by the decoder
# (`output_std="predicted"`) rather than held in one parameter per dimension; in short
# runs a single learned parameter needs thousands of steps to shrink from its initial
# value to the noise level (0.1), and every configuration would be ranked by how far it
# got. Each configuration is a preset (`<profile>-sinusoid-<model>[-smooth][-resq][-init]`,
# `rfn.presets.small`) trained by the project's training engine: Adam, a KL warm-up and a
# linear learning-rate decay over the second half.
#
# The loss is the negative ELBO of a validation sequence in nats: the output's negative
# log-density summed over the 29 modelled patches (the first patch is the conditioning
# step, as everywhere in this project) and their 100 points, plus the KL terms.

# %%
val_noisy = torch.stack([val_set[i][0] for i in range(len(val_set))]).to(dev)
val_clean = torch.stack([val_set[i][1] for i in range(len(val_set))])
D = val_noisy.shape[-1]
configs = [(m.upper(), *flags) for m, *flags in SINUSOID_VARIANTS.values()]  # (model, smoothing, RES_q, init)
kind_of = {(m.upper(), *flags): f"sinusoid-{name}" for name, (m, *flags) in SINUSOID_VARIANTS.items()}


@torch.no_grad()
def validation_loss(model) -> dict[str, float]:
    """Mean negative ELBO (and its parts) per validation sequence, one posterior draw, fixed noise."""
    model.eval()
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(4321)
        out = model.loss(val_noisy)
    return {"neg_elbo": -out["elbo"].item(), "nll": out["nll"].item(), "kl": out["kl"].item()}


def train_or_load(key: tuple) -> tuple[torch.nn.Module, dict]:
    """The book's run of one configuration (preset ``<profile>-sinusoid-...``), trained if missing, and its log."""
    model = trained_model(kind_of[key], profile, seed, root=artifacts_dir, device=dev)
    folder = run_dir(kind_of[key], profile, seed, root=artifacts_dir)
    rows = pd.read_csv(folder / "metrics.csv")
    timing = folder / "train_time.json"
    seconds = json.loads(timing.read_text())["wall_s"] if timing.is_file() else float("nan")
    log = {"step": rows["step"].tolist(), "train_neg_elbo": (-rows["elbo"]).tolist(), "seconds": seconds}
    return model, {**log, "val": validation_loss(model)}


t0 = time.perf_counter()
trained = {}
for key in configs:
    trained[key] = train_or_load(key)
    log = trained[key][1]
    print(f"{key[0]} smoothing={key[1]!s:5} RES_q={key[2]!s:5} learned init={key[3]!s:5}: "
          f"validation -ELBO {log['val']['neg_elbo']:9.1f} nats/sequence ({log['seconds']:.0f} s)")  # fmt: skip
print(f"twelve configurations in {time.perf_counter() - t0:.0f} s")

# %% [markdown]
# The table sets our numbers beside the thesis's. They are **not** the same quantity
# measured on the same setting: the thesis's loss is its validation objective for its own
# data (frequency, scaling and whether the first patch is modelled are not stated) and
# networks (h 100, z 15, trained to a plateau); ours is the negative ELBO in nats per
# sequence of 29 modelled patches under this page's profile. For scale: an oracle that
# knows the noise-free sine and only pays for the noise,
# $2900 \cdot \tfrac12 \log(2 \pi e\, 0.1^2) \approx -2563$ nats, is the floor for ours.
# Compare the *ordering* of rows, not the values.

# %%
THESIS = {  # Table A.1 of the thesis: (model, smoothing, RES_q, learned init) -> validation loss
    ("VRNN", False, False, False): -1902.61, ("VRNN", False, False, True): -1857.31,
    ("VRNN", True, False, False): -1947.30, ("VRNN", True, False, True): -1953.76,
    ("VRNN", False, True, False): -1880.57, ("VRNN", False, True, True): -1875.43,
    ("VRNN", True, True, False): -1945.33, ("VRNN", True, True, True): -1913.03,
    ("SRNN", False, False, False): -1866.13, ("SRNN", False, False, True): -1827.88,
    ("SRNN", True, False, False): -1902.55, ("SRNN", True, False, True): -1960.56,
    ("SRNN", False, True, False): -1883.76, ("SRNN", False, True, True): -1880.80,
    ("SRNN", True, True, False): -1940.47, ("SRNN", True, True, True): -1943.24,
}  # fmt: skip
oracle = val_clean.shape[1] - 1
oracle = (oracle * D) * 0.5 * np.log(2 * np.pi * np.e * val_set.noise**2)
train_cfg = get_preset(preset_for(kind_of[configs[0]], profile)).train
base = get_preset(preset_for(kind_of[configs[0]], profile)).model_config
compute = "GPU" if dev.type == "cuda" else "CPU"
table_rows = []
for key, thesis_value in THESIS.items():
    ours = trained.get(key)
    row = {
        "model": key[0],
        "smoothing": "✓" if key[1] else "",
        "RES_q": "✓" if key[2] else "",
        "learned init": "✓" if key[3] else "",
        "thesis loss": thesis_value,
        "ours: -ELBO (nats/seq)": ours[1]["val"]["neg_elbo"] if ours else np.nan,
        "ours: NLL": ours[1]["val"]["nll"] if ours else np.nan,
        "ours: KL": ours[1]["val"]["kl"] if ours else np.nan,
        "note": "" if ours else "not run: a VRNN has no smoothing here",
    }
    table_rows.append(row)
table = pd.DataFrame(table_rows)
table["ours: rank within model"] = table.groupby("model")["ours: -ELBO (nats/seq)"].rank().astype("Int64")
table["thesis: rank within model"] = table.groupby("model")["thesis loss"].rank().astype("Int64")
table.to_csv(rec.path("tabA_1_sinusoid_ablation.csv"), index=False)
rec.record(rec.path("tabA_1_sinusoid_ablation.csv"))
print(
    f"protocol (ours): {len(val_set)} validation sequences of 30 patches × {D} points, 29 modelled; one posterior "
    f"draw; lower is better; oracle floor {oracle:.0f}. Compute: {profile} profile, {train_cfg['steps']} steps × "
    f"batch {train_cfg['batch_size']} on {compute}, h {base['h_dim']}, z {base['z_dim']}. "
    "Thesis: validation loss of its setting (h 100, z 15, trained until the loss plateaued)."
)
display(
    table.style.format({c: "{:.1f}" for c in table.columns if c.startswith(("ours:", "thesis loss"))}, na_rep="-")
    .format({"ours: rank within model": "{}", "thesis: rank within model": "{}"}, na_rep="-")
    .hide(axis="index")
)
best = {
    m: min((k for k in trained if k[0] == m), key=lambda k: trained[k][1]["val"]["neg_elbo"]) for m in ("SRNN", "VRNN")
}
for m, k in best.items():
    print(f"best {m} here: smoothing={k[1]}, RES_q={k[2]}, learned init={k[3]} "
          f"({trained[k][1]['val']['neg_elbo']:.1f}); thesis's best {m}: learned init + smoothing")  # fmt: skip

# %% [markdown]
# Training curves of all configurations (the negative ELBO of each training batch):

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
for ax, m in zip(axes, ("SRNN", "VRNN")):
    for j, key in enumerate(k for k in configs if k[0] == m):
        log = trained[key][1]
        flags = [n for n, on in zip(("smoothing", "RES_q", "learned init"), key[1:]) if on] or ["none"]
        ax.plot(log["step"], log["train_neg_elbo"], lw=0.9, color=f"C{j}", label=" + ".join(flags))
    ax.axhline(oracle, color="k", ls=":", lw=1, label="oracle floor")
    ax.set(title=m, xlabel="step", ylabel="-ELBO of a training batch (nats/seq)")
    ax.set_ylim(oracle - 100, max(0.0, oracle + 3000))
    ax.legend(fontsize=7)
fig.tight_layout()
rec.savefig(fig, "fig_sinusoid_training.png")
plt.show()

# %% [markdown]
# ## 4. Predictions with uncertainty (Fig A.2)
#
# The best SRNN and the best VRNN of the table read the first patches of validation
# sequences with their posterior, then run forward on their own: each future patch draws
# $\mathbf{z}_t$ from the prior and $\mathbf{x}_t$ from the output Gaussian, and the draw
# is fed back. Many independent futures give a predictive distribution; the band holds
# the central 90% of the sampled points, the line is their mean.

# %%
n_c, n_f, n_s = SETTINGS["sin_context"], SETTINGS["sin_future"], SETTINGS["sin_samples"]
seqs = [0, 1]
fig, axes = plt.subplots(len(best), len(seqs), figsize=(14, 2.8 * len(best)), squeeze=False)
torch.manual_seed(seed)
for r, (m, key) in enumerate(best.items()):
    model = trained[key][0]
    pred = model.predict(val_noisy[seqs, :n_c], n_future=n_f, n_samples=n_s).cpu()  # [2, S, n_f, D]
    for c, i in enumerate(seqs):
        ax = axes[r, c]
        first = max(0, n_c - 2)  # show the last two context patches, then the predicted ones
        xs = np.arange(first * D, (n_c + n_f) * D) * val_set.step
        ax.plot(xs, val_noisy[i, first : n_c + n_f].cpu().flatten(), ".", ms=1.5, color="0.55", label="data")
        ax.plot(xs, val_clean[i, first : n_c + n_f].flatten(), color="k", lw=0.8, ls="--", label="sine without noise")
        fx = xs[(n_c - first) * D :]
        samples = pred[c].flatten(1).numpy()  # [S, n_f * D]
        lo, hi = np.percentile(samples, [5, 95], axis=0)
        ax.fill_between(fx, lo, hi, color=f"C{r}", alpha=0.3, lw=0, label="90% of sampled futures")
        ax.plot(fx, samples.mean(0), color=f"C{r}", lw=1, label="mean of the samples")
        ax.axvline(n_c * D * val_set.step, color="green", lw=1)
        flags = [n for n, on in zip(("smoothing", "RES_q", "learned init"), key[1:]) if on] or ["no switches"]
        ax.set(title=f"{m} ({' + '.join(flags)}), validation sequence {i}", xlabel="x", ylim=(-2, 2))
        if c == 0:
            ax.legend(fontsize=7, loc="lower left", ncol=2)
fig.suptitle(f"Fig A.2: context of {n_c} patches (left of the green line), {n_s} sampled futures", y=1.01)
fig.tight_layout()
rec.savefig(fig, "figA_2_sinusoid_fits.png", dpi=100)
plt.show()

# %% [markdown]
# On this data set the latent variable has little to do: once a patch or two has fixed the
# phase, the future is a known sine plus independent noise, which the LSTM and the output
# Gaussian can carry alone; the KL column of the table shows how little information the
# posterior puts into $\mathbf{z}_t$. The switches therefore move the loss by small amounts.
# Each row is one training run with one seed, and differences of a few nats are within
# what the seed alone changes: in the `quick` setting, three more seeds of three SRNN rows
# (no switch, smoothing, $\text{RES}_q$) spread by 3 to 5 nats, and once by 43. The one
# effect larger than that is the learned initial state (about 12 nats in every model): it
# prepares the LSTM for the first modelled patch, which must be predicted after a single
# patch of context. The thesis's best rows also have learned initial states. The
# SM-MNIST figure above is the case where the stochastic latent is needed.

# %%
elapsed = time.perf_counter() - start
summary = f"**This page ran in {elapsed:.0f} s** (profile `{profile}`, device `{dev}`, seed {seed})"
display(Markdown(f"{summary}; figures in `{rec.folder}`."))

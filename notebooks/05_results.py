# %% [markdown]
# # Results: predictions, best-of-N curves, bits per pixel and FVD
#
# **Reproduces:** the SM-MNIST results of the thesis's section 9.3 and appendix A.8: RFN
# predictions with the warm-up and predicted frames marked (Fig 9.6), best-of-N PSNR, SSIM
# and LPIPS of the RFN against the SRNN and the VRNN (Fig 9.7), the FVD table (Table 9.4)
# and the bits-per-pixel table (Table 9.5), three futures from one context (Fig A.9), the
# best and the worst predictions by SSIM (Figs A.11, A.12) and random SRNN predictions
# (Fig A.18); and, as an SM-MNIST stand-in for the BAIR/KTH figures 9.10 and A.16, rollouts
# far beyond the training length. The BAIR and KTH figures and tables (9.8, 9.9, 9.11-9.15,
# Tables 9.6-9.9, A.13-A.17, A.19) need data sets that are not available offline here; the
# last section says what running them takes.
#
# **Run time** (2-core CPU, measured): `smoke` about 15 s (no FVD, and no LPIPS on its
# 16-pixel frames); `quick` about 3.5 minutes (best-of-10 on 64 test sequences, the named
# protocol `smmnist-quick`; FVD on 16 clips per set, 1.7 minutes of it); `thesis` with the
# thesis's protocol on a GPU (best-of-100 on 256 sequences, FVD on 256 clips), about an
# hour. Numbers are cached beside the checkpoints, so a second run takes about 30 s.
#
# **Checkpoint:** `artifacts/<profile>/{rfn,srnn,vrnn}-smmnist-seed<seed>/last.pt`, written by
# notebook 04 (trained here first if missing). Cached results:
# `book_eval_<protocol>.json` and `book_fvd_<protocol>.json` in the same folders.
#
# **Writes:** `figures/<profile>/fig9_6_smmnist_predictions.png` and `.gif`,
# `fig9_7_smmnist_best_of_n.png`, `tab9_4_fvd_smmnist.csv`, `tab9_5_bpp_smmnist.csv`,
# `figA_9_smmnist_diversity.png` and `.gif`, `fig9_10_smmnist_long_rollout.png` and `.gif`,
# `figA_11_smmnist_best_ssim.png`, `figA_12_smmnist_worst_ssim.png`, `figA_18_srnn_smmnist_samples.png`.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | reference | thesis
device = "auto"  # auto | cpu | cuda
seed = 0
figures_dir = "figures"  # figures go to figures_dir/<profile>/
artifacts_dir = "artifacts"  # checkpoints (from notebook 04) and cached results
dataset = "smmnist"  # the book's presets are SM-MNIST; BAIR/KTH are not available offline

# %%
import hashlib
import time
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, display

from rfn import viz
from rfn.book import FigureRecorder
from rfn.checkpoint import load_checkpoint
from rfn.data import make_dataset
from rfn.evaluation import EvaluationOptions, EvaluationWarning, evaluate
from rfn.metrics import frame_scores, get_protocol, select_best
from rfn.metrics.fvd import fvd_features, fvd_from_features, fvd_videos
from rfn.runs import cached_json, ensure_trained, trained_model
from rfn.runtime import resolve_device, set_cpu_threads

SETTINGS = {  # everything that depends on the profile
    "smoke": {
        "protocol": get_protocol("smmnist-smoke"),
        "iw_k": 2,
        "bpp_frames": 4,
        "fvd_clips": 0,  # I3D at 224x224 is too slow for a seconds-long check
        "strip_sequences": 2,
        "long_frames": 20,
        "ssim_pool": 4,
        "ssim_samples": 3,
        "ssim_show": 1,
        "batch_size": 16,
    },
    "quick": {
        "protocol": get_protocol("smmnist-quick"),
        "iw_k": 20,
        "bpp_frames": 10,
        "fvd_clips": 16,
        "strip_sequences": 4,
        "long_frames": 50,
        "ssim_pool": 16,
        "ssim_samples": 10,
        "ssim_show": 3,
        "batch_size": 64,
    },
    "reference": {
        "protocol": get_protocol("smmnist-quick"),
        "iw_k": 20,
        "bpp_frames": 10,
        "fvd_clips": 16,
        "strip_sequences": 4,
        "long_frames": 50,
        "ssim_pool": 16,
        "ssim_samples": 10,
        "ssim_show": 3,
        "batch_size": 64,
    },
    "thesis": {
        "protocol": get_protocol("smmnist-thesis").replace(n_test_sequences=256, fvd_repeats=1),
        "iw_k": 20,
        "bpp_frames": 10,
        "fvd_clips": 256,
        "strip_sequences": 4,
        "long_frames": 70,
        "ssim_pool": 64,
        "ssim_samples": 100,
        "ssim_show": 3,
        "batch_size": 200,
    },
}[profile]
# The skipped metrics are listed after the evaluation with their reasons; no need to warn twice.
warnings.filterwarnings("ignore", category=EvaluationWarning)
KINDS = ["rfn", "srnn", "vrnn"]
LABELS = {"rfn": "RFN", "srnn": "SRNN", "vrnn": "VRNN"}
proto = SETTINGS["protocol"]
ctx, total = proto.context_frames, proto.total_frames

dev = resolve_device(device)
threads = set_cpu_threads(dev)
viz.set_book_style()
rec = FigureRecorder("05_results", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
page_start = time.perf_counter()
models = {kind: trained_model(kind, profile, seed, root=artifacts_dir, device=dev, dataset=dataset) for kind in KINDS}
ckpts = {kind: ensure_trained(kind, profile, seed, root=artifacts_dir) for kind in KINDS}  # trained above
steps = {kind: int(load_checkpoint(ckpts[kind])["step"]) for kind in KINDS}
run_data = load_checkpoint(ckpts["rfn"])["data_config"]
train_frames = run_data["seq_len"]
data_kw = dict(run_data["kwargs"])
size = data_kw.get("image_size", 64)
batch = load_checkpoint(ckpts["rfn"])["train_config"]["batch_size"]
COMPUTE = (
    f"{profile} profile: RFN {steps['rfn']} steps, SRNN {steps['srnn']}, VRNN {steps['vrnn']} at batch {batch} "
    f"on {dev} ({size}x{size} frames, {train_frames}-frame sequences)"
)
THESIS_COMPUTE = "thesis: models trained to convergence on a GPU for days (64x64 frames, 10-frame sequences)"
print(f"profile={profile} seed={seed} device={dev} torch threads={threads}")
print("protocol:", proto.describe())
print("compute:", COMPUTE)


def ckpt_id(kind: str) -> str:
    """A short hash of a checkpoint file: cached numbers are recomputed when the model changes."""
    return hashlib.sha256(ckpts[kind].read_bytes()).hexdigest()[:16]


def show_rows(panels, title: str, scale: int = 2, figwidth: float | None = None, note: str = ""):
    """A figure of labelled frame strips: ``panels`` is a list of ``(label, uint8 [T, C, H, W], context)``.

    ``note`` (the compute behind the model, by default) is printed under the title.
    """
    images = [viz.video_grid(v.cpu()[None], context=c, pad=1, scale=scale) for _, v, c in panels]
    width = figwidth or min(16.0, 0.012 * max(im.shape[1] for im in images) + 1.5)
    heights = [im.shape[0] for im in images]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(width, 0.012 * sum(heights) + 0.6), gridspec_kw={"height_ratios": heights}
    )
    axes = np.atleast_1d(axes)
    for ax, im, (label, _, _) in zip(axes, images, panels):
        ax.imshow(im, aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"{title}\n{note or COMPUTE}", fontsize=9)
    fig.tight_layout()
    return fig


def sample(kind: str, context: torch.Tensor, n_future: int, n: int = 1, **temps) -> torch.Tensor:
    """Seeded sampling, so a re-run draws the same futures: ``uint8 [B, n, n_future, C, H, W]``."""
    torch.manual_seed(seed)
    return models[kind].predict(context.to(dev), n_future=n_future, n_samples=n, **temps).cpu()


test = make_dataset("smmnist", proto.split, seq_len=total, **data_kw)

# %% [markdown]
# ## 1. Predictions (Fig 9.6)
#
# The model reads the first frames of a test sequence (the warm-up, **green** border), one at
# a time as in training; from then on it draws $\mathbf{z}_t$ from its prior and the frame
# from its conditional flow, and reads its own output as the next input (**red** border).
# (The thesis used the opposite colours: red for warm-up, green for predictions.) Each pair
# of rows is one test sequence: the truth above, one RFN sample below. The models were
# trained on short sequences (8 frames in `quick`, 10 in the thesis); every frame beyond
# that length is extrapolation.

# %%
n_strip = SETTINGS["strip_sequences"]
x_strip = torch.stack([test[i] for i in range(n_strip)])
rfn_pred = sample("rfn", x_strip[:, :ctx], total - ctx, flow_temperature=proto.flow_temperature)[:, 0]
rfn_video = torch.cat([x_strip[:, :ctx], rfn_pred], 1)
panels = []
for i in range(n_strip):
    panels += [(f"seq {i} truth", x_strip[i], ctx), (f"seq {i} RFN", rfn_video[i], ctx)]
fig = show_rows(panels, f"RFN on SM-MNIST test sequences: {ctx} warm-up frames, {total - ctx} predicted")
rec.savefig(fig, "fig9_6_smmnist_predictions.png", reproduces="Fig 9.6")
plt.show()
gif = viz.save_gif(
    rec.path("fig9_6_smmnist_predictions.gif"),
    torch.cat([x_strip, rfn_video]),
    fps=4,
    ncols=n_strip,
    context=ctx,
    scale=3,
)
rec.record(gif, reproduces="Fig 9.6")
print("top row: truth; bottom row: RFN sample (border green = warm-up, red = predicted)")
display(Image(filename=str(gif)))

# %% [markdown]
# ## 2. Best-of-N similarity and bits per pixel (`rfn evaluate`)
#
# A sampled future need not match the one future the test set recorded, so pixel metrics
# are taken over $N$ samples per test sequence: per sequence, the sample with the best
# average over its predicted frames is kept (highest PSNR and SSIM, lowest LPIPS), and its
# per-frame curve is averaged over sequences. The mean over samples is drawn dashed: it
# shows a typical sample rather than the luckiest. The bits per pixel are the negative
# ELBO of 10-frame test sequences given their first frame (the thesis's protocol), and the
# importance-weighted bound with $K$ samples, which is tighter (the thesis reports the
# bound with $K = 20$ for the baselines). Both are computed by `rfn.evaluation.evaluate`, the
# same code as `rfn evaluate --protocol ...` on the command line.


# %%
def evaluation(kind: str) -> dict:
    key = {
        "checkpoint": ckpt_id(kind),
        "protocol": proto.to_dict(),
        "iw_k": SETTINGS["iw_k"],
        "bpp_frames": SETTINGS["bpp_frames"],
        "batch_size": SETTINGS["batch_size"],
        "device": dev,
    }

    def compute() -> dict:
        t0 = time.perf_counter()
        options = EvaluationOptions(
            iw_k=SETTINGS["iw_k"],
            bpp_frames=SETTINGS["bpp_frames"],
            device=dev,
            batch_size=SETTINGS["batch_size"],
            fvd=False,  # FVD below, with one set of real clips shared by the three models
            progress=False,
        )
        out = evaluate(ckpts[kind], proto, options)
        out["wall_s"] = time.perf_counter() - t0
        return out

    return cached_json(ckpts[kind].parent / f"book_eval_{proto.name}.json", compute, key)


results = {kind: evaluation(kind) for kind in KINDS}
for kind in KINDS:
    print(f"{LABELS[kind]}: evaluated in {results[kind]['wall_s']:.0f} s (cached beside {ckpts[kind]})")
    for what, why in results[kind].get("skipped", {}).items():
        print(f"   skipped {what}: {why}")

# %% [markdown]
# ### Fig 9.7: best-of-N curves
#
# The dotted vertical line marks the training length: frames to its right are further
# from the start than any frame the models saw while training. The gray lines are two
# predictions that need no model: all-black frames, and the last warm-up frame held
# still. SM-MNIST frames are mostly black, so a dim or empty prediction already scores a
# fair PSNR and SSIM; a model is only doing something useful where it beats these lines,
# and LPIPS, which compares features rather than pixels, punishes empty frames more.

# %%
metrics = [m for m in ("psnr", "ssim", "lpips") if m in results["rfn"]["best_of_n"]]


def reference_curves() -> dict:
    """Two predictors without a model, as yardsticks: all-black frames, and the last warm-up frame held still."""
    n = proto.n_test_sequences or 64
    x = torch.stack([test[i] for i in range(n)])
    future = x[:, ctx:]
    guesses = {"black frames": torch.zeros_like(future), "last warm-up frame": x[:, ctx - 1 : ctx].expand_as(future)}
    return {
        name: {m: frame_scores(future, g[:, None].contiguous(), m, device=dev).mean((0, 1)).tolist() for m in metrics}
        for name, g in guesses.items()
    }


references = cached_json(
    ckpts["rfn"].parent.parent / f"book_reference_curves_{proto.name}.json",
    reference_curves,
    {"protocol": proto.to_dict(), "metrics": metrics, "data": data_kw},
)
palette = dict(zip(KINDS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
for ax, m in zip(axes[0], metrics):
    for kind in KINDS:
        b = results[kind]["best_of_n"]
        frames = b["frames"]
        ax.plot(frames, b[m]["best_curve"], "-", color=palette[kind], label=f"{LABELS[kind]} best of {b['samples']}")
        ax.plot(frames, b[m]["mean_curve"], "--", color=palette[kind], lw=1, alpha=0.7, label=f"{LABELS[kind]} mean")
    for (name, ref), style in zip(references.items(), [":", "-."]):
        ax.plot(results["rfn"]["best_of_n"]["frames"], ref[m], style, color="0.5", lw=1.2, label=name)
    ax.axvline(train_frames, color="k", ls=":", lw=1)
    better = "higher" if results["rfn"]["best_of_n"][m]["higher_is_better"] else "lower"
    ax.set(title=f"{m.upper()} ({better} is better)", xlabel="frame $t$")
fig.suptitle(f"Best-of-N on SM-MNIST: {proto.describe()}\n{COMPUTE}", fontsize=8)
fig.tight_layout()
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8)
rec.savefig(fig, "fig9_7_smmnist_best_of_n.png", reproduces="Fig 9.7")
plt.show()
summary = pd.DataFrame(
    {
        LABELS[k]: {f"{m} best": results[k]["best_of_n"][m]["best"] for m in metrics}
        | {f"{m} mean": results[k]["best_of_n"][m]["mean"] for m in metrics}
        for k in KINDS
    }
).T.round(4)
display(summary)

# %% [markdown]
# ### Table 9.5: bits per pixel
#
# Lower is better; each of ours is an upper bound on the true code length (a negative
# lower bound on the log-likelihood), shown with the standard error over test sequences.
# The models trained here saw `quick`-sized data (32×32 frames, 16-pixel digits), so the
# absolute numbers cannot be compared with the thesis's 64×64 ones; the *ordering* of the
# three models is what can be compared.

# %%
THESIS_BPP = {"rfn": "≤ 0.841 ± 0.019", "srnn": "≤ 0.542 ± 0.007", "vrnn": "≤ 0.546 ± 0.005"}
rows = []
for kind in KINDS:
    bpp = results[kind]["bpp"]
    iw = bpp.get("iw") or {}
    rows.append(
        {
            "model": LABELS[kind],
            "ours: negative ELBO (bpp)": round(bpp["nelbo"], 4),
            "ours: KL part (bpp)": round(bpp["kl"], 4),
            f"ours: IW bound K={iw.get('k', '-')} (bpp)": (
                f"{iw['bound']:.4f} ± {iw['sem']:.4f}" if iw.get("sem") is not None else iw.get("bound", "-")
            ),
            "our protocol": f"{bpp['frames']} frames, 1 conditioning, {bpp['sequences']} test sequences",
            "our compute": COMPUTE,
            "thesis (Table 9.5)": THESIS_BPP[kind],
            "thesis protocol": "10 frames, 1 conditioning; SRNN/VRNN: IW bound K=20, DMOL output; 5 estimates",
            "thesis compute": THESIS_COMPUTE,
        }
    )
tab95 = pd.DataFrame(rows).set_index("model")
tab95.to_csv(rec.path("tab9_5_bpp_smmnist.csv"))
rec.record(rec.path("tab9_5_bpp_smmnist.csv"), reproduces="Table 9.5")
display(tab95)
by_bpp = sorted(KINDS, key=lambda k: results[k]["bpp"]["nelbo"])
print(
    "ordering by bits per pixel, best first: "
    + " < ".join(f"{LABELS[k]} {results[k]['bpp']['nelbo']:.3f}" for k in by_bpp)
    + " (thesis: SRNN 0.542 < VRNN 0.546 < RFN 0.841)"
)

# %% [markdown]
# ## 3. FVD (Table 9.4)
#
# The Fréchet Video Distance compares the distribution of I3D features of real and of
# generated clips (lower is better). Under the thesis's protocol the clips are the 20
# predicted frames after a warm-up of 5, one sample per test sequence. It needs hundreds
# of clips to be stable, and I3D runs at 224×224 pixels, which on a CPU takes about a
# second per clip; the `quick` profile therefore uses a handful of clips, and its numbers
# carry a large small-sample bias. To show how large, the first row is the FVD between two
# disjoint sets of *real* test clips of the same size: a perfect model would score about
# that, not 0.

# %%
n_fvd = SETTINGS["fvd_clips"]
THESIS_FVD = {"rfn": "633.44 ± 4.20", "srnn": "245.22 ± 3.27", "vrnn": "274.20 ± 4.17"}


def fvd_table() -> dict:
    x = torch.stack([test[i] for i in range(2 * n_fvd)])
    kw = dict(device=dev, resize=proto.fvd_resize, batch_size=4)
    t0 = time.perf_counter()
    real_a, _ = fvd_videos(x[:n_fvd], x[:n_fvd, None, ctx:], proto)
    real_b, _ = fvd_videos(x[n_fvd:], x[n_fvd:, None, ctx:], proto)
    feats_a, feats_b = fvd_features(real_a, **kw), fvd_features(real_b, **kw)
    out = {"real vs real": fvd_from_features(feats_a, feats_b)}
    for kind in KINDS:
        fake = sample(kind, x[:n_fvd, :ctx], total - ctx, emission_temperature=proto.flow_temperature)
        _, fake_clips = fvd_videos(x[:n_fvd], fake, proto)
        out[kind] = fvd_from_features(feats_a, fvd_features(fake_clips, **kw))
    out["clips"] = n_fvd
    out["wall_s"] = time.perf_counter() - t0
    return out


if n_fvd:
    key = {"checkpoints": [ckpt_id(k) for k in KINDS], "protocol": proto.to_dict(), "clips": n_fvd, "seed": seed}
    fvd_res = cached_json(ckpts["rfn"].parent / f"book_fvd_{proto.name}.json", fvd_table, key)
    fvd_protocol = (
        f"warm-up {ctx} -> {total} frames, FVD on the {total - ctx} predicted frames, 1 sample per sequence, "
        f"{n_fvd} real and {n_fvd} generated clips, {proto.fvd_resize} resize, one estimate"
    )
    rows = [
        {
            "model": "real vs real (small-sample floor)",
            "ours: FVD": round(fvd_res["real vs real"], 1),
            "our protocol": fvd_protocol.replace("generated", "other real"),
            "our compute": "-",
            "thesis (Table 9.4)": "-",
        }
    ]
    for kind in KINDS:
        rows.append(
            {
                "model": LABELS[kind],
                "ours: FVD": round(fvd_res[kind], 1),
                "our protocol": fvd_protocol,
                "our compute": COMPUTE,
                "thesis (Table 9.4)": THESIS_FVD[kind],
            }
        )
    for r in rows:
        r["thesis protocol"] = "warm-up 5 -> 25 frames, predicted frames only, mean ± std of 5 estimates"
    tab94 = pd.DataFrame(rows).set_index("model")
    tab94.to_csv(rec.path("tab9_4_fvd_smmnist.csv"))
    rec.record(rec.path("tab9_4_fvd_smmnist.csv"), reproduces="Table 9.4")
    print(f"FVD computed in {fvd_res['wall_s']:.0f} s ({n_fvd} clips per set, cached)")
    display(tab94)
    by_fvd = sorted(KINDS, key=lambda k: fvd_res[k])
    print(
        "ordering by FVD, best first: "
        + " < ".join(f"{LABELS[k]} {fvd_res[k]:.0f}" for k in by_fvd)
        + " (thesis: SRNN 245 < VRNN 274 < RFN 633)"
    )
else:
    print(f"{profile} profile: FVD skipped (I3D at 224x224 is slow on a CPU); run quick, reference or thesis")

# %% [markdown]
# ### Reading the `quick` numbers
#
# The `quick` models give a different picture from the thesis's, and it says more about
# ten minutes of CPU training than about the models. As in the thesis, the RFN has the
# worst likelihood bound of the three. Unlike in the thesis, it has the best FVD and
# best-of-N curves: its undertrained flow draws dim, sparse frames, which sit close, in
# pixels and in I3D features, to the mostly black SM-MNIST frames (compare the
# black-frame line in Fig 9.7), whereas the baselines' per-pixel output distributions
# draw bright speckle wherever they are unsure. With models trained for days, which
# draw digits, the thesis found the SRNN and the VRNN ahead on every SM-MNIST measure; the
# `thesis` profile is the run that can confirm or refute that.

# %% [markdown]
# ## 4. Three futures from one context (Fig A.9)
#
# The same warm-up frames, three independent samples. Where the digits keep moving in a
# straight line the futures agree; at a bounce each sample picks its own new direction and
# speed, as the data's generator does. The thesis used a flow temperature of 0.6 for this
# figure (the effect of the temperature is the subject of notebook 06).

# %%
T_DIV = 0.6
x_div = torch.stack([test[i] for i in range(n_strip, n_strip + 2)])
div = sample("rfn", x_div[:, :ctx], total - ctx, n=3, flow_temperature=T_DIV)
panels, videos = [], []
for i in range(2):
    panels.append((f"context {i}: truth", x_div[i], ctx))
    videos.append(x_div[i])
    for s in range(3):
        v = torch.cat([x_div[i, :ctx], div[i, s]])
        panels.append((f"context {i}: sample {s + 1}", v, ctx))
        videos.append(v)
fig = show_rows(panels, f"Three RFN futures per context (flow temperature {T_DIV})")
rec.savefig(fig, "figA_9_smmnist_diversity.png", reproduces="Fig A.9")
plt.show()
gif = viz.save_gif(rec.path("figA_9_smmnist_diversity.gif"), torch.stack(videos), fps=4, ncols=4, context=ctx, scale=3)
rec.record(gif, reproduces="Fig A.9")
print("each row of the animation: truth, then three samples")
display(Image(filename=str(gif)))

# %% [markdown]
# ## 5. Long rollouts (SM-MNIST stand-in for Figs 9.10 and A.16)
#
# The thesis shows BAIR and KTH rollouts to 70 and more frames; here the RFN runs on
# SM-MNIST for many times its training length. Errors compound: each predicted frame is
# the input of the next, so small artefacts either wash out or grow, and digits may fade,
# merge at an overlap, or lose their shape. The strip shows every few frames; the
# animation shows them all.

# %%
n_long = SETTINGS["long_frames"]
long_test = make_dataset("smmnist", proto.split, seq_len=n_long, **data_kw)
x_long = torch.stack([long_test[i] for i in range(3)])
long_pred = sample("rfn", x_long[:, :ctx], n_long - ctx, flow_temperature=proto.flow_temperature)[:, 0]
long_video = torch.cat([x_long[:, :ctx], long_pred], 1)
every = max(1, n_long // 16)
keep = [ctx - 2, ctx - 1, *range(ctx, n_long, every)]  # the last two warm-up frames, then every few
panels = []
for i in range(3):
    panels += [(f"seq {i} truth", x_long[i, keep], 2), (f"seq {i} RFN", long_video[i, keep], 2)]
fig = show_rows(panels, f"Long RFN rollouts: frames {', '.join(str(k + 1) for k in keep)}")
rec.savefig(fig, "fig9_10_smmnist_long_rollout.png", reproduces="Figs 9.10, A.16 (SM-MNIST stand-in)")
plt.show()
gif = viz.save_gif(
    rec.path("fig9_10_smmnist_long_rollout.gif"), torch.cat([x_long, long_video]), fps=6, ncols=3, context=ctx, scale=2
)
rec.record(gif, reproduces="Figs 9.10, A.16 (SM-MNIST stand-in)")
print(f"top: truth, bottom: RFN, {n_long} frames ({ctx} warm-up); trained on {train_frames}-frame sequences")
display(Image(filename=str(gif)))

# %% [markdown]
# ## 6. The best and the worst predictions by SSIM (Figs A.11 and A.12)
#
# For each of a pool of test sequences we draw $N$ RFN futures, keep the one with the best
# mean SSIM over the predicted frames (as for the best-of-N curves), and rank the sequences
# by that SSIM. The best are usually sequences whose digits stay apart and bounce late;
# the worst have digits that overlap, or a bounce soon after the warm-up.

# %%
pool, n_ssim = SETTINGS["ssim_pool"], SETTINGS["ssim_samples"]
x_pool = torch.stack([test[i] for i in range(pool)])
pool_pred = sample("rfn", x_pool[:, :ctx], total - ctx, n=n_ssim, flow_temperature=proto.flow_temperature)
ssim_scores = frame_scores(x_pool[:, ctx:], pool_pred, "ssim", device=dev)  # [pool, N, T]
best_curve, best_index = select_best(ssim_scores, higher_is_better=True)
per_seq = best_curve.mean(1)
order = torch.argsort(per_seq, descending=True).tolist()
k_show = SETTINGS["ssim_show"]
print(
    f"best-of-{n_ssim} SSIM per sequence over {pool} test sequences: highest "
    + ", ".join(f"{per_seq[i]:.3f}" for i in order[:k_show])
    + "; lowest "
    + ", ".join(f"{per_seq[i]:.3f}" for i in order[::-1][:k_show])
)
for name, picked, what, fig_no in (
    ("figA_11_smmnist_best_ssim.png", order[:k_show], "best", "Fig A.11"),
    ("figA_12_smmnist_worst_ssim.png", order[::-1][:k_show], "worst", "Fig A.12"),
):
    panels = []
    for i in picked:
        pred_i = torch.cat([x_pool[i, :ctx], pool_pred[i, best_index[i]]])
        panels += [(f"test seq {i} truth", x_pool[i], ctx), (f"RFN, SSIM {per_seq[i]:.3f}", pred_i, ctx)]
    fig = show_rows(panels, f"The {what} {k_show} of {pool} test sequences by SSIM (best of {n_ssim} samples each)")
    rec.savefig(fig, name, reproduces=fig_no)
    plt.show()

# %% [markdown]
# ## 7. Random SRNN predictions (Fig A.18)
#
# The SRNN with a discretised-mixture-of-logistics output, three warm-up frames, one random
# sample per sequence. Its output distribution is over each pixel's 256 values
# independently given the latent state, so uncertain regions come out speckled rather than
# blurred.

# %%
srnn_pred = sample("srnn", x_strip[:, :3], total - 3)[:, 0]
panels = []
for i in range(n_strip):
    panels += [(f"seq {i} truth", x_strip[i], 3), (f"seq {i} SRNN", torch.cat([x_strip[i, :3], srnn_pred[i]]), 3)]
fig = show_rows(panels, "SRNN samples on SM-MNIST, 3 warm-up frames")
rec.savefig(fig, "figA_18_srnn_smmnist_samples.png", reproduces="Fig A.18")
plt.show()

# %% [markdown]
# ## 8. BAIR and KTH
#
# The thesis's BAIR (robot pushing, 64×64 RGB) and KTH (human actions, 64×64 gray)
# results, Figs 9.8-9.15, A.13-A.17, A.19 and Tables 9.6-9.9, need those data sets, which
# cannot be downloaded here. With the data prepared (`rfn data prepare bair|kth`, see
# `rfn.data`) and models trained with `rfn train --preset thesis-bair` (and
# `thesis-bair-srnn`, `thesis-bair-vrnn`, likewise for KTH), `rfn evaluate` gives the numbers
# under the named protocols printed below, and this page's cells make the figures.

# %%
for ds_name, protos in (("bair", ["bair-thesis-13", "bair-thesis-30", "bair-thesis-16", "bair-thesis-16-w1"]),
                        ("kth", ["kth-thesis"])):  # fmt: skip
    try:
        make_dataset(ds_name, "test", seq_len=10)
        state = "present"
    except (FileNotFoundError, ValueError) as err:
        state = f"not available ({str(err).splitlines()[0][:90]}...)"
    print(f"{ds_name.upper()}: {state}")
    for p in protos:
        print("   ", get_protocol(p).describe())
print(f"\nwall time of this page: {time.perf_counter() - page_start:.0f} s")

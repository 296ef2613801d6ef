"""The book's diagrams, drawn by code so that they stay true to the package.

``python -m rfn.diagrams`` (re)writes every SVG under ``book/figures/``; the theory pages
include them. The tensor shapes printed on the RFN and Glow diagrams are not typed in:
:func:`trace_rfn` builds the model of a named preset (``quick-smmnist`` by default), runs
a dummy clip through :meth:`rfn.models.recurrent.RecurrentLatentModel.loss` with forward
hooks on its parts, and records the shape of one frame's tensors (batch dimension
dropped) at every stage. The evaluation diagram reads its frame counts from a named
protocol and picks its best samples with :func:`rfn.metrics.bestofn.select_best`.
``tests/test_diagrams.py`` checks that the shapes drawn are the ones the code produces
and that the committed SVGs match a fresh rendering.

Example:
    >>> t = trace_rfn("smoke")
    >>> t["frame"], t["features"]
    ((1, 16, 16), [(4, 8, 8), (8, 4, 4)])
    >>> [lv["squeezed"] for lv in t["glow"]]
    [(4, 8, 8), (8, 4, 4)]
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

__all__ = ["DIAGRAMS", "FIGURES_DIR", "fmt_shape", "main", "render_all", "svg_texts", "trace_rfn"]

FIGURES_DIR = Path("book/figures")
PRESET = "quick-smmnist"
PROTOCOL = "smmnist-thesis"

_OBS, _LAT, _DET, _EDGE = "#c9d7e8", "white", "#f3e3c3", "#333333"
_RFN = "#b2182b"
_VRNN_CHAIN = "#7b3294"


def fmt_shape(shape) -> str:
    """``(1, 32, 32) -> '1×32×32'``: how shapes are written on the diagrams."""
    return "×".join(str(int(s)) for s in shape)


# ------------------------------------------------------------------ shapes from the code
def trace_rfn(preset: str = PRESET) -> dict:
    """Per-frame tensor shapes ``(C, H, W)`` at every stage of the RFN of a preset.

    Returns a dict with ``frame``, ``features`` (extractor pyramid, finest first), ``h``,
    ``a`` (smoothing state, or None), ``z``, ``cond`` (condition maps, finest first),
    ``glow`` (per level: ``squeezed``, the shape the level's steps work on, and ``z``, the
    factored-out half, and ``kept``, or None at the top level), ``base`` (the top latent
    under the conditional base distribution), plus ``preset``, ``levels``, ``steps`` and
    ``parameters``.
    """
    from rfn.models.registry import build
    from rfn.presets import get_preset

    p = get_preset(preset)
    if p.model != "rfn":
        raise ValueError(f"preset {preset!r} trains a {p.model!r}; trace_rfn needs an RFN preset")
    torch.manual_seed(0)
    model = build(p.model, p.model_config)
    cfg = model.config
    seen: dict[str, object] = {}

    def hook(name):
        def fn(module, inputs, output):
            seen.setdefault(name, (inputs, output))

        return fn

    handles = [model.extractor.register_forward_hook(hook("extractor"))]
    handles.append(model.rnn.register_forward_hook(hook("rnn")))
    handles.append(model.posterior_net.register_forward_hook(hook("posterior")))
    handles.append(model.conditioner.register_forward_hook(hook("conditioner")))
    if getattr(model, "smoother", None) is not None:
        handles.append(model.smoother.register_forward_hook(hook("smoother")))
    for l, steps in enumerate(model.flow.levels):
        handles.append(steps[0].register_forward_hook(hook(f"level{l}")))
    for l, split in enumerate(model.flow.splits):
        handles.append(split.register_forward_hook(hook(f"split{l}")))
    x = torch.randint(0, 256, (1, 2, *cfg.frame_shape), dtype=torch.uint8)
    model.eval()
    with torch.no_grad():
        model.loss(x)
    for h in handles:
        h.remove()

    def one(t):  # drop the batch (and, for [B, T, ...] tensors, the time) dimension
        return tuple(int(s) for s in t.shape[-3:])

    glow = []
    for l in range(cfg.levels):
        level = {"squeezed": one(seen[f"level{l}"][0][0]), "kept": None, "z": None}
        if f"split{l}" in seen:
            kept, z, _ = seen[f"split{l}"][1]
            level.update(kept=one(kept), z=one(z))
        glow.append(level)
    top = seen[f"level{cfg.levels - 1}"][1][0]
    return {
        "preset": preset,
        "levels": cfg.levels,
        "steps": cfg.flow_steps,
        "parameters": sum(q.numel() for q in model.parameters()),
        "frame": tuple(cfg.frame_shape),
        "features": [one(f) for f in seen["extractor"][1]],
        "h": one(seen["rnn"][1][0]),
        "a": one(seen["smoother"][1][0]) if "smoother" in seen else None,
        "z": one(seen["posterior"][1][0]),
        "cond": [one(c) for c in seen["conditioner"][1]],
        "glow": glow,
        "base": one(top),
    }


# ------------------------------------------------------------------ drawing helpers
def _setup():
    plt.rcParams.update(
        {"svg.fonttype": "none", "svg.hashsalt": "rfn-diagrams", "font.size": 10, "font.family": "DejaVu Sans"}
    )


def _node(ax, xy, label, kind="latent", r=0.32):
    color = {"observed": _OBS, "latent": _LAT, "det": _DET}[kind]
    if kind == "det":
        patch = Rectangle((xy[0] - r, xy[1] - r), 2 * r, 2 * r, fc=color, ec=_EDGE, lw=1.2)
    else:
        patch = Circle(xy, r, fc=color, ec=_EDGE, lw=1.2)
    ax.add_patch(patch)
    ax.text(*xy, label, ha="center", va="center", fontsize=11)


def _arrow(ax, a, b, color=_EDGE, rad=0.0, dashed=False, r=0.36):
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=11,
            color=color,
            lw=1.1,
            shrinkA=r * 40,
            shrinkB=r * 40,
            connectionstyle=f"arc3,rad={rad}",
            linestyle="--" if dashed else "-",
        )
    )


def _box(ax, x, y, w, h, text, fc="white", ec=_EDGE, fontsize=8.5):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08", fc=fc, ec=ec, lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return path


# ------------------------------------------------------------------ the diagrams
def draw_latent_variable_model(path: Path) -> Path:
    """A latent variable model: generation ``z -> x`` and amortised inference ``x -> z``, in a plate."""
    fig, ax = plt.subplots(figsize=(4.6, 3.0))
    _node(ax, (1, 2), "$\\mathbf{z}$")
    _node(ax, (1, 0.6), "$\\mathbf{x}$", "observed")
    _arrow(ax, (1, 2), (1, 0.6), rad=0.35)
    _arrow(ax, (1, 0.6), (1, 2), rad=0.35, dashed=True, color="#2166ac")
    ax.add_patch(Rectangle((-0.75, 0.05), 3.5, 2.85, fill=False, lw=0.8))
    ax.text(2.7, 0.1, "$n = 1, \\dots, M$", ha="right", va="bottom", fontsize=8)
    ax.text(0.55, 1.3, "$p_\\theta(\\mathbf{x}\\mid\\mathbf{z})$", ha="right", va="center")
    ax.text(1.45, 1.3, "$q_\\phi(\\mathbf{z}\\mid\\mathbf{x})$", ha="left", va="center", color="#2166ac")
    ax.text(1, 2.5, "prior $p_\\theta(\\mathbf{z})$", ha="center", va="bottom", fontsize=8.5)
    ax.set_title("Latent variable model: generation (solid), inference (dashed)", fontsize=9)
    ax.set_xlim(-0.8, 2.8), ax.set_ylim(0, 2.95), ax.set_aspect("equal"), ax.axis("off")
    return _save(fig, path)


def _graph(ax, model: str, inference: bool):
    """One panel of the VRNN/SRNN/RFN graphs over steps t-1, t, t+1."""
    cols = {-1: 0.0, 0: 1.6, 1: 3.2}
    names = {-1: "t-1", 0: "t", 1: "t+1"}
    yz, ya, yh, yx = (3.6, 2.4, 1.2, 0.0) if inference else (2.4, None, 1.2, 0.0)
    grey = "#9a9a9a"
    for d, cx in cols.items():
        s = names[d]
        _node(ax, (cx, yz), f"$\\mathbf{{z}}_{{{s}}}$")
        _node(ax, (cx, yh), f"$\\mathbf{{h}}_{{{s}}}$", "det")
        _node(ax, (cx, yx), f"$\\mathbf{{x}}_{{{s}}}$", "observed")
        if inference and model != "vrnn":
            _node(ax, (cx, ya), f"$\\mathbf{{a}}_{{{s}}}$", "det")
    for d in (0, 1):  # deterministic recurrence (both directions of the graph share it)
        a, b = cols[d - 1], cols[d]
        c = grey if inference else _EDGE
        _arrow(ax, (a, yh), (b, yh), color=c)
        _arrow(ax, (a, yx), (b, yh), color=c)
        if model == "vrnn":
            _arrow(ax, (a, yz), (b, yh), color=c)
    for cx in cols.values():
        if not inference:
            _arrow(ax, (cx, yh), (cx, yz))
            _arrow(ax, (cx, yh), (cx, yx))
            _arrow(ax, (cx, yz), (cx, yx), rad=0.45)
        elif model == "vrnn":
            _arrow(ax, (cx, yh), (cx, yz), color="#2166ac")
            _arrow(ax, (cx, yx), (cx, yz), rad=-0.45, color="#2166ac")
        else:
            _arrow(ax, (cx, ya), (cx, yz), color="#2166ac")
            _arrow(ax, (cx, yh), (cx, ya), color="#2166ac")
            _arrow(ax, (cx, yx), (cx, ya), rad=-0.45, color="#2166ac")
    for d in (0, 1):
        c = "#2166ac" if inference else _EDGE
        if model == "vrnn":  # not in Chung et al.'s VRNN; this package's VRNN keeps the SRNN's chain
            _arrow(ax, (cols[d - 1], yz), (cols[d], yz), color=_VRNN_CHAIN, dashed=True)
        else:
            _arrow(ax, (cols[d - 1], yz), (cols[d], yz), color=c)
            if inference:
                _arrow(ax, (cols[d], ya), (cols[d - 1], ya), color="#2166ac")
    if model == "rfn" and not inference:
        for d in (0, 1):
            _arrow(ax, (cols[d - 1], yx), (cols[d], yx), color=_RFN, dashed=True)
    top = yz + 0.5
    ax.set_xlim(-0.95, 3.75), ax.set_ylim(-0.5, top + 0.1), ax.set_aspect("equal"), ax.axis("off")


def draw_sequence_graphs(path: Path) -> Path:
    """Generative (top) and inference (bottom) graphs of the VRNN, the SRNN and the RFN."""
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 7.4), gridspec_kw={"height_ratios": [3.0, 4.2]})
    titles = {
        "vrnn": "VRNN",
        "srnn": "SRNN",
        "rfn": "RFN",
    }
    notes = {
        ("vrnn", False): "$\\mathbf{z}_{t-1}$ enters $\\mathbf{h}_t$;\ndashed purple: kept by rfn's VRNN",
        ("srnn", False): "latents form their own chain",
        ("rfn", False): "SRNN + skips $\\mathbf{x}_{t-1}\\to\\mathbf{x}_t$ (red);\n"
        "$p(\\mathbf{x}_t\\mid\\cdot)$ is a flow",
        ("vrnn", True): "filtering: $q(\\mathbf{z}_t\\mid\\mathbf{x}_t,\\mathbf{h}_t)$;\n"
        "dashed purple: kept by rfn's VRNN",
        ("srnn", True): "smoothing: $\\mathbf{a}_t$ runs backwards",
        ("rfn", True): "same as the SRNN",
    }
    for row, inference in enumerate((False, True)):
        for col, model in enumerate(("vrnn", "srnn", "rfn")):
            ax = axes[row, col]
            _graph(ax, model, inference)
            kind = "inference $q_\\phi$" if inference else "generation $p_\\theta$"
            ax.set_title(f"{titles[model]}: {kind}\n{notes[(model, inference)]}", fontsize=9)
    fig.text(
        0.5,
        0.005,
        "circle: random variable (shaded: observed frame); square: deterministic state; "
        "grey: the deterministic path the inference network reuses",
        ha="center",
        fontsize=8,
    )
    return _save(fig, path)


def draw_rfn_data_path(path: Path, trace: dict) -> Path:
    """The RFN's data path for one frame, with the shapes :func:`trace_rfn` recorded."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    L = trace["levels"]
    w, hgt = 1.55, 0.62
    yrow = [4.2 - 1.05 * l for l in range(L)]
    _box(ax, 0.0, yrow[0] + 0.9, w, hgt, f"frame $\\mathbf{{x}}_{{t-1}}$\n{fmt_shape(trace['frame'])}", _OBS)
    for l in range(L):
        _box(ax, 0.0, yrow[l], w, hgt, f"extractor level {l + 1}\n{fmt_shape(trace['features'][l])}")
        src = (w / 2, yrow[l - 1]) if l else (w / 2, yrow[0] + 0.9)
        _arrow(ax, src, (w / 2, yrow[l] + hgt), r=0.02)
    yb = yrow[-1] - 1.25
    _box(ax, 0.0, yb, w, hgt, f"ConvLSTM $\\mathbf{{h}}_t$\n{fmt_shape(trace['h'])}", _DET)
    _arrow(ax, (w / 2, yrow[-1]), (w / 2, yb + hgt), r=0.02)
    x2 = 2.2
    if trace["a"] is not None:
        _box(ax, x2, yb + 0.9, w, hgt, f"smoother $\\mathbf{{a}}_t$\n{fmt_shape(trace['a'])}", _DET)
        _arrow(ax, (w, yb + hgt / 2), (x2, yb + 0.9 + hgt / 2), r=0.02)
        _arrow(ax, (x2 + w / 2, yb + 0.9), (x2 + w / 2, yb + hgt), r=0.02)
    _box(ax, x2, yb, w, hgt, f"prior / posterior\n$\\mathbf{{z}}_t$: {fmt_shape(trace['z'])}")
    _arrow(ax, (w, yb + hgt / 2), (x2, yb + hgt / 2), r=0.02)
    x3 = 4.4
    for l in range(L):
        _box(ax, x3, yrow[l], w, hgt, f"condition map {l + 1}\n{fmt_shape(trace['cond'][l])}", "#e5f0e0")
        if l < L - 1:
            _arrow(ax, (x3 + w / 2, yrow[l + 1] + hgt), (x3 + w / 2, yrow[l]), r=0.02)
        _arrow(ax, (w, yrow[l] + hgt / 2), (x3, yrow[l] + hgt / 2), color="#7a7a7a", r=0.02, dashed=True)
    _arrow(ax, (x2 + w, yb + hgt / 2), (x3 + w / 2, yrow[-1]), r=0.02)
    ax.text(x3 + w / 2, yb + 0.2, "cond. network\n(extractor reversed;\ndashed: U-Net skips)", ha="center", fontsize=8)
    x4 = 6.6
    for l, lv in enumerate(trace["glow"]):
        txt = f"Glow level {l + 1}: squeeze, {trace['steps']} steps\non {fmt_shape(lv['squeezed'])}"
        if lv["z"]:
            txt += f"\nsplit off $\\mathbf{{u}}_{l + 1}$: {fmt_shape(lv['z'])}"
        else:
            txt += f"\nbase: {fmt_shape(trace['base'])}"
        _box(ax, x4, yrow[l] - 0.1, 2.3, hgt + 0.2, txt, "#efe6f5", fontsize=8)
        _arrow(ax, (x3 + w, yrow[l] + hgt / 2), (x4, yrow[l] + hgt / 2), r=0.02)
        if l < L - 1:
            _arrow(ax, (x4 + 1.15, yrow[l] - 0.1), (x4 + 1.15, yrow[l + 1] + hgt + 0.1), r=0.02)
    frame = f"frame $\\mathbf{{x}}_t$ {fmt_shape(trace['frame'])}\n(data ↓ encode, samples ↑ decode)"
    _box(ax, x4, yrow[0] + 0.9, 2.3, hgt, frame, _OBS)
    _arrow(ax, (x4 + 1.15, yrow[0] + 0.9), (x4 + 1.15, yrow[0] + hgt + 0.1), r=0.02)
    ax.set_title(
        f"RFN data path for one frame, preset {trace['preset']} ({trace['parameters']:,} parameters); "
        "shapes are channels×height×width per frame, read from the running model",
        fontsize=9,
    )
    ax.set_xlim(-0.2, 9.1), ax.set_ylim(yb - 0.2, yrow[0] + 1.7), ax.set_aspect("equal"), ax.axis("off")
    return _save(fig, path)


def draw_glow_multiscale(path: Path, trace: dict) -> Path:
    """The multi-scale Glow: squeeze, K steps, split at every level, with the traced shapes."""
    fig, ax = plt.subplots(figsize=(14, 3.6))
    y, h, gap = 1.4, 0.9, 0.32
    x = 0.0
    _box(ax, x, y, 1.3, h, f"input x\n{fmt_shape(trace['frame'])}", _OBS)
    x += 1.3
    for l, lv in enumerate(trace["glow"]):
        _arrow(ax, (x, y + h / 2), (x + gap, y + h / 2), r=0.02)
        x += gap
        _box(ax, x, y, 1.35, h, f"squeeze\n{fmt_shape(lv['squeezed'])}", fontsize=8)
        _arrow(ax, (x + 1.35, y + h / 2), (x + 1.35 + gap, y + h / 2), r=0.02)
        x += 1.35 + gap
        _box(ax, x, y, 2.05, h, f"{trace['steps']} × flow step\nActNorm, 1×1 conv,\ncoupling", "#efe6f5", fontsize=8)
        x += 2.05
        if lv["z"] is not None:
            _arrow(ax, (x, y + h / 2), (x + gap, y + h / 2), r=0.02)
            x += gap
            _box(ax, x, y, 1.5, h, f"split\nkeep {fmt_shape(lv['kept'])}", fontsize=8)
            zt = f"$\\mathbf{{u}}_{l + 1}$: {fmt_shape(lv['z'])}\nprior $p(\\mathbf{{u}}_{l + 1}\\mid\\cdot)$"
            _box(ax, x, 0.0, 1.5, 0.85, zt, _LAT, fontsize=8)
            _arrow(ax, (x + 0.75, y), (x + 0.75, 0.85), r=0.02)
            x += 1.5
    _arrow(ax, (x, y + h / 2), (x + gap, y + h / 2), r=0.02)
    x += gap
    top = f"top $\\mathbf{{u}}_{{{trace['levels']}}}$: {fmt_shape(trace['base'])}\n"
    top += "base $\\mathcal{N}(\\mu(\\mathbf{c}), \\sigma(\\mathbf{c})^2)$"
    _box(ax, x, y, 2.0, h, top, _LAT, fontsize=8)
    total = sum(math.prod(lv["z"]) for lv in trace["glow"] if lv["z"]) + math.prod(trace["base"])
    ax.set_title(
        f"Multi-scale Glow of preset {trace['preset']}, normalising direction f: x → z (left to right). "
        f"Latent sizes add up to {total}, the {math.prod(trace['frame'])} values of the input.",
        fontsize=9,
    )
    ax.set_xlim(-0.1, x + 2.1), ax.set_ylim(-0.1, 2.45), ax.set_aspect("equal"), ax.axis("off")
    return _save(fig, path)


def draw_evaluation_protocol(path: Path, protocol: str = PROTOCOL, n: int = 6) -> Path:
    """Which frames a protocol conditions on, scores and feeds to FVD; best sequence vs best per frame."""
    from rfn.metrics.bestofn import select_best
    from rfn.metrics.protocol import get_protocol

    p = get_protocol(protocol)
    c, T = p.context_frames, p.total_frames
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 5.2), gridspec_kw={"height_ratios": [1.3, 2.2]})
    for t in range(T):
        ctx = t < c
        ax.add_patch(Rectangle((t, 0.3), 0.9, 0.9, fc=_OBS if ctx else "#fde0c5", ec=_EDGE, lw=0.6))
    ax.text(c / 2, 1.45, f"{c} context (warm-up) frames", ha="center", fontsize=8.5)
    scored = f"{T - c} predicted frames: PSNR, SSIM, LPIPS, best-of-{p.n_samples}"
    ax.text(c + (T - c) / 2, 1.45, scored, ha="center", fontsize=8.5)
    if p.train_frames:
        ax.plot([p.train_frames - 0.05] * 2, [0.1, 1.35], color=_RFN, lw=1.2)
        ax.text(p.train_frames, 0.0, f"training length ({p.train_frames} frames)", color=_RFN, fontsize=8, va="top")
    fvd = "context + predicted" if p.fvd_include_context else "predicted frames only"
    ax.text(T, 0.75, f"FVD clip: {fvd}", fontsize=8.5, va="center")
    ax.set_title(f"Protocol {p.name}: {T} frames per test clip", fontsize=9)
    ax.set_xlim(-0.2, T + 7), ax.set_ylim(-0.4, 1.8), ax.axis("off")

    g = torch.Generator().manual_seed(3)
    steps = 8
    scores = (0.55 + 0.35 * torch.rand(1, n, steps, generator=g)).round(decimals=2)
    _, index = select_best(scores, higher_is_better=True)
    best_row = int(index[0])
    per_frame = scores[0].argmax(0)
    for i in range(n):
        for t in range(steps):
            v = float(scores[0, i, t])
            edge = _RFN if per_frame[t] == i else _EDGE
            ax2.add_patch(
                Rectangle(
                    (t, n - 1 - i),
                    0.92,
                    0.86,
                    fc=plt.cm.Greys(0.15 + 0.6 * (v - 0.5)),
                    ec=edge,
                    lw=2.0 if edge == _RFN else 0.4,
                )
            )
            ax2.text(t + 0.46, n - 1 - i + 0.43, f"{v:.2f}", ha="center", va="center", fontsize=7.5)
        mean = float(scores[0, i].mean())
        ax2.text(
            steps + 0.2,
            n - 1 - i + 0.43,
            f"mean {mean:.3f}" + ("  ← best sequence" if i == best_row else ""),
            va="center",
            fontsize=8,
            fontweight="bold" if i == best_row else "normal",
        )
        ax2.text(-0.2, n - 1 - i + 0.43, f"sample {i + 1}", ha="right", va="center", fontsize=8)
    bps = float(scores[0].max(0).values.mean())
    ax2.set_title(
        f"Best-of-{n} on an illustrative SSIM table: best sequence (bold row) mean "
        f"{float(scores[0, best_row].mean()):.3f}; best per frame (red cells) mean {bps:.3f}, never lower",
        fontsize=9,
    )
    ax2.set_xlim(-1.6, steps + 3.4), ax2.set_ylim(-0.2, n + 0.1), ax2.axis("off")
    for t in range(steps):
        ax2.text(t + 0.46, n + 0.05, f"frame {t + 1}", ha="center", fontsize=7)
    return _save(fig, path)


#: file name -> what it shows (the pages include these files from ``book/figures/``)
DIAGRAMS = {
    "latent_variable_model.svg": "generation and inference in a latent variable model",
    "sequence_graphs.svg": "VRNN, SRNN and RFN graphical models, generation and inference",
    "rfn_data_path.svg": "the RFN's data path with tensor shapes of a named preset",
    "glow_multiscale.svg": "the multi-scale Glow with squeeze and split shapes",
    "evaluation_protocol.svg": "a protocol's frames, and best sequence vs best per frame",
}


def render_all(out_dir: Path | str = FIGURES_DIR, preset: str = PRESET) -> list[Path]:
    """Write every diagram of :data:`DIAGRAMS` to ``out_dir``; returns the paths."""
    _setup()
    out = Path(out_dir)
    trace = trace_rfn(preset)
    return [
        draw_latent_variable_model(out / "latent_variable_model.svg"),
        draw_sequence_graphs(out / "sequence_graphs.svg"),
        draw_rfn_data_path(out / "rfn_data_path.svg", trace),
        draw_glow_multiscale(out / "glow_multiscale.svg", trace),
        draw_evaluation_protocol(out / "evaluation_protocol.svg"),
    ]


def svg_texts(path: Path | str) -> list[str]:
    """The text labels of an SVG written by this module (``svg.fonttype = none`` keeps them as text)."""
    import html

    raw = Path(path).read_text(encoding="utf-8")
    texts = re.findall(r"<text\b[^>]*>(.*?)</text>", raw, re.S)  # mathtext: one <tspan> per glyph
    return [html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><", t))).strip() for t in texts]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rfn.diagrams", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(FIGURES_DIR), help="folder for the SVGs (default: %(default)s)")
    parser.add_argument("--preset", default=PRESET, help="RFN preset whose shapes are drawn (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for p in render_all(args.out, args.preset):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

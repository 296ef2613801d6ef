"""One notation in the figures the book's pages draw (book/notation.md).

Retired symbols: T for a temperature (tau; T is the number of frames), D for the overshooting
distance (O; D is the number of dimensions), sigma for the sigmoid, T for a flow map (f and g).
Frames are counted from 1. Two checks: every string in the code of the plotting modules and of the
notebooks' code cells (what a label, title or legend can be built from), and the text of small
figures built by the page functions (titles, axis labels, tick labels, legends), with the frame
numbers they show.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rfn import viz
from rfn.pages import ablations, interpolation, kl_bpp, latents, temperature

ROOT = Path(__file__).resolve().parents[1]
PLOTTING = [*sorted((ROOT / "rfn" / "pages").glob("*.py")), *sorted((ROOT / "rfn").glob("viz*.py"))]
#: the notebooks' code cells build titles and labels too (their markdown cells are comments, not scanned here)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
RETIRED = {
    "T for a temperature (write τ)": re.compile(r"(?:temperature|flow|prior)\s+T\b|\bT\s*=\s*[-\d.{]"),
    "D for the overshooting distance (write O)": re.compile(r"overshooting\s+D\b|\bD\s*=\s*[\d{]"),
    "σ for the sigmoid (write sigmoid)": re.compile(r"\\sigma\s*\(|σ\s*\("),
    "T for a flow map (write f or g)": re.compile(r"\bT\s*\(|J_T\b|T\^\{-1\}"),
}


def retired(text: str) -> list[str]:
    return [name for name, pattern in RETIRED.items() if pattern.search(text)]


def code_strings(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string of a module except docstrings; an f-string reads ``{}`` for its fields."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts with "{}" for every field
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            out.append((node.lineno, "".join(map(str, parts))))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            out.append((node.lineno, node.value))
    return out


def figure_texts(fig) -> list[str]:
    """Every text a reader sees on ``fig``: suptitle, titles, axis and tick labels, legends, free text."""
    out = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out += [ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        out += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in out if t]


def first_tick(ax) -> str:
    return ax.get_xticklabels()[0].get_text()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def frames(n: int, t: int = 4, size: int = 8) -> torch.Tensor:
    return torch.randint(0, 256, (n, t, 1, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


# ----------------------------------------------------------------------------- the scanner itself


@pytest.mark.parametrize(
    "text",
    ["flow T=0.5", "temperature T", "T = {t}", "overshooting D = 1, 2, 3", "D = 2", r"$\log\sigma(r + 2)$", "σ(x)",
     r"$\mathbf{x} = T(\mathbf{u})$", r"$\log|\det J_T|$"],
)  # fmt: skip
def test_the_scanner_finds_every_retired_form(text):
    assert retired(text), text


@pytest.mark.parametrize(
    "text",
    ["flow τ = 0.5", "temperature τ", "O = 2", "test sequences of {T} frames", "[B, T, C, H, W]", "D = C H W",
     r"$\sigma_p$", "sigmoid(r + 2)", r"$\mathbf{x} = g(\mathbf{u})$", "frame t"],
)  # fmt: skip
def test_the_scanner_leaves_the_current_notation_alone(text):
    assert not retired(text), text


# ----------------------------------------------------------------------------- the plotting code


@pytest.mark.parametrize("path", PLOTTING + NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_retired_symbol_in_the_plotting_code(path):
    bad = [f"line {line}: {text!r} ({', '.join(retired(text))})" for line, text in code_strings(path) if retired(text)]
    assert not bad, f"{path.relative_to(ROOT)} uses retired notation (book/notation.md):\n" + "\n".join(bad)


# ----------------------------------------------------------------------------- figures built from tiny inputs


def test_video_grids_count_frames_from_1():
    _fig, ax = plt.subplots()
    viz.show_video_grid(ax, frames(2), ["a", "b"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]


def test_fig_2_2_strip_counts_frames_from_1():
    events = torch.zeros(2, 4, dtype=torch.bool)
    fig = latents.blur_strip_figure(frames(2), ["seq 0: truth", "seq 0: ConvLSTM"], events, 2, "Fig 2.2")
    assert first_tick(fig.axes[0]) == "1"
    assert not [t for t in figure_texts(fig) if retired(t)]


def test_fig_2_2_error_curve_starts_at_the_first_predicted_frame():
    truth = frames(3, t=6)
    fig = latents.blur_figure({"truth": truth, "guess": frames(3, t=6).flip(0)}, 2, [1, 2, 9], "Fig 2.2 curves")
    (line,) = [ln for ln in fig.axes[1].get_lines() if ln.get_label() == "guess"]
    assert list(line.get_xdata()) == [3, 4, 5, 6]  # frames 1-2 are context


def test_fig_10_3_interpolation_counts_frames_from_1():
    x, interp = frames(2), frames(3)
    fig = interpolation.interpolation_figure(x, interp, [0.25, 0.5, 0.75], "Fig 10.3")
    assert first_tick(fig.axes[0]) == "1"
    fig = interpolation.blend_figure(interp[0], interp[1], 0.5)
    assert first_tick(fig.axes[0]) == "1"


def test_fig_10_4_counts_frames_from_1_and_models_frames_2_to_T():
    T = 5
    x = frames(1, t=T)[0]
    kl, nll = np.linspace(0.1, 0.5, T - 1), np.linspace(1.0, 2.0, T - 1)
    events = np.zeros(T, dtype=bool)
    fig = kl_bpp.prior_posterior_figure(x, x[1:], x[1:], kl, nll + 0.1, nll, events, "Fig 10.4")
    strip, bars, lines = fig.axes[:3]
    assert first_tick(strip) == "1"
    assert sorted(p.get_x() + p.get_width() / 2 for p in bars.patches) == pytest.approx([2, 3, 4, 5])
    assert list(lines.get_lines()[0].get_xdata()) == [2, 3, 4, 5]
    assert not [t for t in figure_texts(fig) if retired(t)]


def test_figs_10_7_and_10_8_put_the_modelled_frames_at_2_to_T():
    T = 5
    names = ["|mean| prior", "std prior", "|mean| posterior", "std posterior", "|mean| base", "std base", "KL"]
    curves = {k: np.ones(T - 1) for k in names}
    events = np.zeros((T, 2), dtype=bool)
    events[2, 0] = True  # digit 1 touches a wall in frame 3 (index 2)
    fig = kl_bpp.parameters_figure(curves, events, np.zeros(T), 0.2, "Fig 10.7")
    ax = fig.axes[0]
    xs = [list(line.get_xdata()) for line in ax.get_lines()]
    assert [2, 3, 4, 5] in xs and [3, 3] in xs  # the curves, and the wall touch drawn at frame 3


def test_ablation_curves_use_o_and_count_frames_from_1():
    settings = {"eval": {"context": 2, "future": 3}, "metrics": ["ssim"]}
    labels = ablations.experiments((1, 2, 3))["Fig 9.2"]
    assert list(labels) == ["O = 1", "O = 2", "O = 3"]
    results = {(v, 0): {"curves": {"ssim": np.array([0.5, 0.4, 0.3])}} for v in labels.values()}
    reference = {"black frames": {"ssim": np.full(3, 0.2)}}
    fig = ablations.curves_figure(results, labels, [0], reference, settings, train_frames=3, title="Fig 9.2")
    ax = fig.axes[0]
    (o1,) = [ln for ln in ax.get_lines() if ln.get_label() == "O = 1"]
    assert list(o1.get_xdata()) == [3, 4, 5]
    (last,) = [ln for ln in ax.get_lines() if ln.get_label() == "last training frame"]
    assert list(last.get_xdata()) == [3, 3]
    assert not [t for t in figure_texts(fig) if retired(t)]


def test_temperature_figures_and_table_write_tau():
    sweep = {"metrics": ["ssim"], **{str(t): {"curves": {"ssim": [0.5, 0.4]}} for t in (0.5, 1.0)}}
    fig = temperature.sweep_curves_figure(sweep, [0.5, 1.0], [2, 3], 2, 10, "Fig 9.5")
    texts = figure_texts(fig)
    assert "flow τ = 0.5" in texts and not [t for t in texts if retired(t)]
    rng = np.random.default_rng(0)
    per_sequence = {(s, t): {"motion spread": rng.random(3)} for s in ("flow", "prior") for t in (0.0, 1.0)}
    table = temperature.measures_table(per_sequence)
    assert "τ" in table.columns and "T" not in table.columns
    fig = temperature.measures_figure(table, {"motion spread": 0.0}, "measures")
    texts = figure_texts(fig)
    assert "temperature τ" in texts and not [t for t in texts if retired(t)]
    assert isinstance(table, pd.DataFrame)

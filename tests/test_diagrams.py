"""The book's diagrams (``rfn.diagrams``): shapes drawn = shapes the code produces; committed SVGs up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from rfn import diagrams
from rfn.diagrams import DIAGRAMS, fmt_shape, svg_texts, trace_rfn

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / diagrams.FIGURES_DIR
#: an image path in a page: ``![..](path)``, a ``{figure}`` directive (backticks or colons) or ``src="path"``
FIGURE_REF = re.compile(r"(?:\]\(|[`:]{3}\{figure\}\s*|src=\")([^\s)\"]+\.(?:svg|png))")


@pytest.fixture(scope="module")
def trace():
    return trace_rfn(diagrams.PRESET)


@pytest.fixture(scope="module")
def model():
    from rfn.models.registry import build
    from rfn.presets import get_preset

    p = get_preset(diagrams.PRESET)
    return build(p.model, p.model_config).eval()


def test_traced_shapes_match_the_modules(trace, model):
    cfg = model.config
    bottleneck = cfg.bottleneck_size
    assert trace["frame"] == tuple(cfg.frame_shape)
    H, W = cfg.image_size
    assert trace["features"] == [(c, H >> (l + 1), W >> (l + 1)) for l, c in enumerate(model.extractor.out_channels)]
    assert trace["h"] == (cfg.h_channels, *bottleneck)
    assert trace["z"] == (cfg.z_channels, *bottleneck)
    assert trace["a"] == ((cfg.a_channels, *bottleneck) if cfg.smoothing else None)
    assert trace["cond"] == [
        (c, h, w) for c, (_, h, w) in zip(model.flow.config.cond_channels, trace["features"], strict=True)
    ]
    assert [lv["squeezed"] for lv in trace["glow"]] == model.flow.config.level_shapes(*cfg.image_size)
    assert trace["parameters"] == sum(p.numel() for p in model.parameters())


def test_glow_latents_match_encode(trace, model):
    """The split and top shapes drawn are those of ``Glow.encode``'s latents, and they add up to the frame."""
    cfg = model.config
    x = torch.rand(2, *cfg.frame_shape) - 0.5
    cond = [torch.zeros(2, *c) for c in trace["cond"]]
    with torch.no_grad():
        latents, _ = model.flow.encode(x, cond)
    drawn = [lv["z"] for lv in trace["glow"][:-1]] + [trace["base"]]
    assert [tuple(z.shape[1:]) for z in latents] == drawn
    assert sum(z[0].numel() for z in latents) == x[0].numel()


def test_committed_svgs_match_a_fresh_rendering(tmp_path, trace):
    """Every diagram is committed and its labels (shapes included) equal those of a fresh rendering.

    If this fails after a change to a model or preset, run ``python -m rfn.diagrams`` and commit book/figures/.
    """
    fresh = {p.name: p for p in diagrams.render_all(tmp_path)}
    assert set(fresh) == set(DIAGRAMS)
    for name, path in fresh.items():
        committed = FIGURES / name
        assert committed.is_file(), f"{committed} is missing: run python -m rfn.diagrams"
        assert svg_texts(committed) == svg_texts(path), f"{name} is stale: run python -m rfn.diagrams"
    labels = " ".join(svg_texts(FIGURES / "rfn_data_path.svg") + svg_texts(FIGURES / "glow_multiscale.svg"))
    shapes = [trace["frame"], trace["h"], trace["z"], trace["base"], *trace["features"], *trace["cond"]]
    shapes += [s for lv in trace["glow"] for s in lv.values() if s is not None]
    for s in shapes:
        assert fmt_shape(s) in labels


def test_every_figure_a_page_references_exists():
    pages = sorted((ROOT / "book").glob("*.md"))
    found = []
    for page in pages:
        for ref in FIGURE_REF.findall(page.read_text()):
            target = (page.parent / ref).resolve()
            assert target.is_file(), f"{page.name} references {ref}, which does not exist"
            found.append(target.name)
    assert set(DIAGRAMS) <= set(found), f"diagrams no page shows: {sorted(set(DIAGRAMS) - set(found))}"


def test_fmt_shape():
    assert fmt_shape((1, 32, 32)) == "1×32×32"

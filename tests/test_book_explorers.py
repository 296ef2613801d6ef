"""rfn.book.explorers: self-contained HTML widgets; rfn.book.browser: their self-test in headless Chromium."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rfn.book import browser, explorers


def _grid(values_a=(0.0, 0.5, 1.0), values_b=(0.0, 1.0)):
    return {
        (a, b): torch.full((3, 1, 6, 6), int(80 * a + 160 * b), dtype=torch.uint8) for a in values_a for b in values_b
    }


def test_temperature_explorer_is_self_contained():
    html = explorers.temperature_explorer(_grid(), names=("flow τ", "prior τ"), title="t")
    assert html.count('type="range"') == 2 and html.count("data:image/png;base64,") == 6
    assert not re.search(r"(src|href)=\"https?:", html) and "<script>" in html
    assert 'max="2"' in html and 'max="1"' in html  # three flow values, two prior values
    a, b = explorers.temperature_explorer(_grid()), explorers.temperature_explorer(_grid())
    assert re.search(r'id="([\w-]+)"', a).group(1) != re.search(r'id="([\w-]+)"', b).group(1)


def test_temperature_explorer_refuses_an_incomplete_grid_and_bad_pixels():
    grid = _grid()
    del grid[(0.5, 1.0)]
    with pytest.raises(ValueError, match="every pair"):
        explorers.temperature_explorer(grid)
    with pytest.raises(ValueError, match="uint8"):
        explorers.temperature_explorer({(0.0, 0.0): torch.zeros(1, 1, 4, 4)})


def test_scatter_explorer():
    pts = np.random.default_rng(0).normal(size=(5, 2))
    imgs = torch.randint(0, 256, (5, 8, 8), dtype=torch.uint8)
    html = explorers.scatter_explorer(pts, [0, 1, 2, 3, 4], imgs, title="map")
    assert html.count("<circle") == 5 and html.count("data:image/png;base64,") == 5
    with pytest.raises(ValueError, match="one entry per point"):
        explorers.scatter_explorer(pts, [0, 1], imgs)


@pytest.mark.skipif(
    browser.find_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)"
)
def test_explorers_work_in_headless_chromium(tmp_path):
    page = tmp_path / "page.html"
    pts = np.random.default_rng(0).normal(size=(4, 2))
    imgs = torch.randint(0, 256, (4, 8, 8), dtype=torch.uint8)
    page.write_text(
        "<html><body>"
        + explorers.temperature_explorer(_grid())
        + explorers.scatter_explorer(pts, [1, 2, 3, 4], imgs)
        + "</body></html>"
    )
    reports = browser.explorer_selftests(page)
    assert [r["kind"] for r in reports] == ["rfn-temperature-explorer", "rfn-scatter-explorer"]
    assert reports[0]["changed"] and reports[0]["distinct"] == reports[0]["cells"] == 6
    assert reports[1]["shown"] and reports[1]["label"] == "class 4 (point 3)"


@pytest.mark.skipif(
    browser.find_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)"
)
def test_layout_check_finds_a_squeezed_image_and_an_overflowing_block(tmp_path):
    wide = explorers.png_data_uri(torch.zeros(40, 900, dtype=torch.uint8))
    narrow = explorers.png_data_uri(torch.zeros(40, 200, dtype=torch.uint8))
    page = tmp_path / "page.html"
    page.write_text(
        '<html><body><main style="width:700px"><article>'
        f'<img src="{wide}" style="width:300px"><img src="{narrow}" style="width:200px">'
        f'<img src="{wide}" style="width:100%">'
        '<div><pre style="white-space:pre">' + "x" * 400 + "</pre></div>"
        '<div style="overflow-x:auto"><pre style="white-space:pre">' + "y" * 400 + "</pre></div>"
        "</article></main></body></html>"
    )
    problems = browser.layout_problems(page)
    kinds = sorted(p["kind"] for p in problems)
    assert kinds == ["overflowing block", "squeezed image"], problems
    assert problems[0 if problems[0]["kind"] == "squeezed image" else 1]["shown"] == 300


def test_look_says_to_build_first(tmp_path, capsys):
    from rfn.book.cli import main

    assert main(["--root", str(tmp_path), "look"]) == 1
    assert "build the book first" in capsys.readouterr().err


def test_page_helpers_feed_the_explorers():
    from rfn.models import RFN, RFNConfig
    from rfn.pages.latent_space import tsne_explorer
    from rfn.pages.temperature import temperature_grid

    torch.manual_seed(0)
    cfg = RFNConfig(image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8, extractor_channels=4,
                    flow_steps=1, flow_hidden=8, base_hidden=8)  # fmt: skip
    model = RFN(cfg)
    x = torch.randint(0, 256, (2, 3, 1, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        model.loss(x)
    model.eval()
    grid = temperature_grid(model, x[:1, :2], 2, (0.0, 1.0), (0.0, 0.5, 1.0), seed=3)
    assert sorted(grid) == [(f, p) for f in (0.0, 1.0) for p in (0.0, 0.5, 1.0)]
    assert grid[(0.0, 0.0)].shape == (2, 1, 16, 16)
    again = temperature_grid(model, x[:1, :2], 2, (1.0,), (1.0,), seed=3)
    assert torch.equal(again[(1.0, 1.0)], grid[(1.0, 1.0)])  # the same draws in every cell
    with pytest.raises(ValueError, match="one sequence"):
        temperature_grid(model, x[:, :2], 2, (1.0,), (1.0,), seed=3)
    assert explorers.temperature_explorer(grid).count("data:image/png") == 6
    html = tsne_explorer({"m": np.zeros((3, 2))}, np.array([1, 2, 3]), torch.zeros(3, 1, 4, 4, dtype=torch.uint8), "t")
    assert html.count("<circle") == 3

"""The explorers of pages 02 and 06, run from the pages' own cells, then exercised in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import jupytext
import numpy as np
import pytest
import torch

from rfn.book import browser

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
needs_chromium = pytest.mark.skipif(
    browser.find_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)"
)


def _cell(page: str, marker: str) -> str:
    """The page's one code cell (not an exercise) whose source contains ``marker``."""
    cells = [
        c.source
        for c in jupytext.read(NOTEBOOKS / f"{page}.py").cells
        if c.cell_type == "code" and marker in c.source and not any("exercise" in t for t in c.metadata.get("tags", []))
    ]
    assert len(cells) == 1, f"{page}: expected one cell with {marker!r}, found {len(cells)}"
    return cells[0]


def _run_cell(source: str, namespace: dict) -> str:
    shown = []
    namespace["display"] = shown.append
    exec(compile(source, "explorer cell", "exec"), namespace)  # the page's cell as the kernel runs it
    assert len(shown) == 1
    return shown[0].data


@pytest.fixture(scope="module")
def smoke_rfn(tmp_path_factory):
    from rfn.data import make_dataset
    from rfn.runs import get_run

    run = get_run("rfn", "smoke", 0, root=tmp_path_factory.mktemp("artifacts"))
    test = make_dataset("smmnist", "test", seq_len=run.train_frames, **run.data_kwargs)
    return run, run.model("cpu"), test


def test_page_06_explorer_holds_a_five_by_five_grid(smoke_rfn, tmp_path):
    from rfn.pages import temperature

    run, model, test = smoke_rfn
    ns = {"torch": torch, "page": temperature, "model": model, "x0": test.batch([0]), "ctx": 2, "seed": 0,
          "future": run.train_frames - 2, "profile": "smoke"}  # fmt: skip
    html = _run_cell(_cell("06_temperature", "temperature_explorer("), ns)
    assert len(ns["GRID"]) >= 5 and len(ns["cells"]) == len(ns["GRID"]) ** 2 >= 25
    assert html.count('type="range"') == 2 and html.count("data:image/png;base64,") == len(ns["cells"])
    assert "http" not in html
    if browser.find_chromium() is not None:
        page = tmp_path / "06.html"
        page.write_text(f"<html><body>{html}</body></html>")
        (report,) = browser.explorer_selftests(page)
        assert report["changed"] and report["cells"] == 25 and report["distinct"] > 1, report


@needs_chromium
def test_page_02_explorer_shows_the_hovered_digit(tmp_path):
    from rfn.pages import latent_space

    gen = np.random.default_rng(0)
    n = 30
    ns = {"page": latent_space, "n_tsne": n, "maps": {"both levels": gen.normal(size=(n, 2))},
          "labels": np.arange(n) % 10, "test_x": torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8)}  # fmt: skip
    html = _run_cell(_cell("02_glow_latent_space", "tsne_explorer("), ns)
    assert html.count("<circle") == n
    page = tmp_path / "02.html"
    page.write_text(f"<html><body>{html}</body></html>")
    (report,) = browser.explorer_selftests(page)
    assert report["shown"] and report["label"] == f"class {(n - 1) % 10} (point {n - 1})", report

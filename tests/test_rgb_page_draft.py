"""The RGB headline page waiting in notebooks/drafts runs on the committed seed-0 runs: ready when the rest land.

It executes every code cell of the draft at the ``smoke`` profile (the seed-0 runs and their shipped
scores), except the exercise that reads all three seeds: the page itself refuses to render until all
15 runs are committed (:func:`rfn.pages.rgb.load_study`).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rfn.pages import rgb

DRAFT = Path(__file__).resolve().parents[1] / "notebooks" / "drafts" / "10_rgb_headline.py"


def test_the_draft_page_runs_on_the_committed_seed_zero_runs(tmp_path, monkeypatch):
    try:
        rgb.load_study(seeds=(0,))
    except rgb.StudyError as err:
        pytest.skip(f"the seed-0 runs are not committed with their scores: {err}")
    cells = [c for c in jupytext.read(DRAFT).cells if c.cell_type == "code"]
    assert sum("opening=True" in c.source for c in cells) == 1
    ns: dict = {}
    monkeypatch.chdir(tmp_path)
    for i, cell in enumerate(cells):
        if "ex_full" in cell.source:  # reads all three seeds
            continue
        if "parameters" in cell.metadata.get("tags", []):
            exec(compile(cell.source, f"draft cell {i}", "exec"), ns)
            ns.update(profile="smoke", device="cpu", figures_dir=str(tmp_path / "figures"))
            continue
        exec(compile(cell.source, f"draft cell {i}", "exec"), ns)
        plt.close("all")
    assert ns["study"].seeds == [0] and set(ns["study"].scores) == {(k, 0) for k in rgb.MODELS}
    written = {p.name for p in (tmp_path / "figures" / "smoke").iterdir()}
    assert {"fig9_7_rgb_bits.png", "fig9_11_rgb_best_of_100.png", "fig_rgb_bits_maps.png"} <= written

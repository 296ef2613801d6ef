"""rfn.pages.latent_space: interpolation paths, agreement scores and the page's figures on a tiny Glow."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from rfn.models.registry import build
from rfn.pages import latent_space as page
from rfn.viz import figure_problems


@pytest.fixture(scope="module")
def glow():
    torch.manual_seed(0)
    model = build("glow", {"image_size": (8, 8), "levels": 2, "steps": 1, "hidden": 8}).eval()
    with torch.no_grad():
        model.loss(torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8))  # ActNorm initialisation
    return model


def test_slerp_keeps_the_norm_between_unit_vectors():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])
    for alpha in (0.0, 0.3, 1.0):
        assert slerp_norm(a, b, alpha) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(page.slerp(a, a, 0.4), a)


def slerp_norm(a, b, alpha):
    return page.slerp(a, b, alpha).norm().item()


def test_interpolation_rows_end_at_the_inputs(glow):
    images = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    rows, names = page.interpolation_rows(glow, images, torch.tensor([3, 5, 1, 2]), [(0, 1)], np.linspace(0, 1, 4))
    assert rows.shape == (2, 4, 1, 8, 8) and names == ["3 → 5, linear", "3 → 5, spherical"]
    assert (rows[:, 0].int() - images[0].int()).abs().max() <= 1 and (
        rows[:, -1].int() - images[1].int()
    ).abs().max() <= 1


def test_mean_test_bpp_is_repeatable_and_keeps_the_random_state(glow):
    batches = [torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8) for _ in range(2)]
    torch.manual_seed(5)
    first = page.mean_test_bpp(glow, batches)
    after = torch.rand(1)
    torch.manual_seed(5)
    assert page.mean_test_bpp(glow, batches) == first and torch.equal(torch.rand(1), after)


def test_neighbour_agreement_is_one_on_separated_clusters():
    xy = np.array([[0, 0], [0, 0.1], [10, 10], [10, 10.1]], dtype=float)
    table = page.neighbour_agreement({"map": xy}, np.array([1, 1, 2, 2]))
    assert table.iloc[0, 0] == 1.0


def test_figures_are_labelled(glow):
    strip = page.strip_figure(torch.zeros(2, 3, 1, 8, 8, dtype=torch.uint8), ["a", "b"], "t", "sample")
    task = page.inpainting_task_figure(
        torch.zeros(1, 32, 32, dtype=torch.uint8), torch.zeros(1, 16, 16, dtype=torch.uint8), "t"
    )
    log = {"step": [1, 2], "train_bpp": [3.0, 2.0], "steps": 2, "test_bpp": 2.5}
    curves = page.training_figure({"run": log})
    for fig in (strip, task, curves):
        assert figure_problems(fig) == []
        plt.close(fig)


def test_neighbour_verdict_compares_latents_with_pixels():
    scores = pd.DataFrame({"same digit": [0.5, 0.4, 0.3]}, index=["latents", "top", "pixels"])
    assert "better than the map of the raw pixels (50% against 30%)" in page.neighbour_verdict(scores)
    scores.iloc[2, 0] = 0.49
    assert "no better than" in page.neighbour_verdict(scores)
    with pytest.raises(ValueError, match="three maps"):
        page.neighbour_verdict(scores.iloc[:2])


def test_bpp_table_reads_the_presets_and_rejects_other_runs():
    from types import SimpleNamespace

    from rfn.presets import get_preset
    from rfn.runs import preset_for

    model = SimpleNamespace(config=SimpleNamespace(levels=2, steps=3))
    log = {"test_bpp": 1.5, "seconds": 12.0}
    table = page.bpp_table({"glow-mnist": (log, model), "cond-glow-mnist": (log, model)}, "quick", 500, "cpu")
    assert table.index.tolist() == [
        "Glow on MNIST (Fig 2.1), test bpp",
        "conditional Glow, centre | border (A.4), test bpp",
    ]
    steps = get_preset(preset_for("glow-mnist", "quick")).train["steps"]
    assert (
        table["compute"].iloc[0].startswith(f"quick: {steps} steps")
        and "on CPU (12 s); L=2, K=3" in table["compute"].iloc[0]
    )
    assert table["protocol"].iloc[0].startswith("first 500 MNIST test digits")
    with pytest.raises(ValueError, match="not one of this page's runs"):
        page.bpp_table({"rfn": (log, model)}, "quick", 500, "cpu")


def test_glow_bpp_verdict_against_the_published_number():
    assert "at or below the published 1.05" in page.glow_bpp_verdict({"test_bpp": 1.0, "steps": 10})
    assert "above the published 1.05" in page.glow_bpp_verdict({"test_bpp": 1.2, "steps": 10})

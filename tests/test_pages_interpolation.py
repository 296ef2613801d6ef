"""rfn.pages.interpolation: the two paths share frame 0 and stay on the canvas; the decoded grid and figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from rfn.book.figures import check_figure
from rfn.data import StochasticMovingMNIST
from rfn.models.registry import build
from rfn.pages import interpolation as page
from rfn.presets import get_preset


def test_reflected_path_stays_on_the_canvas_and_marks_the_walls():
    pos, events, vel = page.reflected_path(np.array([5, 5]), (3, -4), frames=12, limit=8)
    assert pos.min() >= 0 and pos.max() <= 8 and events.any()
    assert (np.abs(vel) == [3, 4]).all()  # reflection flips the sign, never the speed


def test_interpolation_decodes_one_row_per_weight():
    torch.manual_seed(0)
    preset = get_preset("smoke")
    model = build(preset.model, preset.model_config).eval()
    ds = StochasticMovingMNIST("test", seq_len=4, num_digits=1, image_size=16, digit_size=8, seed=0)
    x, info = page.two_paths(ds, speed=1)
    assert torch.equal(x[0, 0], x[1, 0]) and not torch.equal(x[0], x[1]) and set(info) == {"A", "B"}
    weights = torch.linspace(0, 1, 3)
    interp = page.interpolate(model, x, weights, temperature=0.0, seed=0)
    assert interp.shape == (3, 4, 1, 16, 16) and torch.equal(interp[:, 0], x[0, 0].expand(3, -1, -1, -1))
    check_figure(page.interpolation_figure(x, interp, weights.tolist(), "grid"))
    check_figure(page.paths_figure(x, interp, weights.tolist(), "paths"))
    check_figure(page.blend_figure(interp[1], x[0], 0.5))
    plt.close("all")

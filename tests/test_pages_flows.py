"""rfn.pages.flows: the numbers notebook 01 shows are exact, and its figures are labelled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import stats

from rfn.pages import flows
from rfn.viz import figure_problems


def test_lognormal_density_matches_scipy():
    x = torch.tensor([0.3, 1.0, 2.0, 7.5], dtype=torch.float64)
    assert np.allclose(flows.lognormal_log_density(x).numpy(), stats.lognorm(s=1.0).logpdf(x.numpy()), atol=1e-12)


def test_example_coupling_logdet_is_s_of_u1():
    u = torch.tensor([0.7, -0.4], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(flows.example_coupling, u)
    assert torch.linalg.slogdet(jac).logabsdet.item() == pytest.approx(0.6 * np.sin(1.4), abs=1e-12)


def test_layer_logdet_table_agrees_with_autograd():
    table = flows.layer_logdet_table(seed=3)
    assert len(table) == 7
    assert (table["|difference|"] < 1e-8).all() and (table["inverse error"] < 1e-10).all()
    assert not np.allclose(table["layer logdet"].drop("Squeeze"), 0.0)  # the check is not trivially zero


def test_density_grid_image_is_oriented_top_down():
    grid = flows.DensityGrid((0.0, 0.0), (1.0, 1.0), nx=3, ny=2)
    img = grid.image(lambda p: p[:, 1].log())  # density = y
    assert img.shape == (2, 3) and np.allclose(img[0], 1.0) and np.allclose(img[1], 0.0)


def test_change_of_variables_figure_is_labelled():
    torch.manual_seed(0)
    fig = flows.change_of_variables_figure(n_samples=1000)
    assert figure_problems(fig) == []
    plt.close(fig)


def test_figure_problems_names_a_missing_label():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    assert any("title" in p for p in figure_problems(fig)) and any("label" in p for p in figure_problems(fig))
    plt.close(fig)


def test_channel_moments_reports_each_channel_before_and_after():
    before = torch.stack([torch.full((2, 3, 3), 2.0), torch.arange(18.0).view(2, 3, 3)], dim=1)  # [2, 2, 3, 3]
    table = flows.channel_moments(before, before * 0)
    assert list(table.columns) == ["mean before", "mean after", "std before", "std after"]
    assert table["mean before"].tolist() == [2.0, 8.5]
    assert table["std before"].iloc[0] == 0.0 and table["mean after"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="B, C, H, W"):
        flows.channel_moments(torch.zeros(2, 3), torch.zeros(2, 3))


def test_source_of_joins_the_methods_and_names_a_missing_one():
    text = flows.source_of(flows.DensityGrid, "image", "__post_init__")
    assert text.index("def image") < text.index("def __post_init__")
    with pytest.raises(AttributeError, match="no nonsense"):
        flows.source_of(flows.DensityGrid, "nonsense")


def test_two_moons_verdict_says_which_density_wins():
    assert "bends its density" in flows.two_moons_verdict(1.0, 2.0)
    assert "too short" in flows.two_moons_verdict(2.0, 1.0)


def test_save_density_gif_records_an_animation(tmp_path):
    from rfn.book.figures import FigureRecorder

    rec = FigureRecorder("01_flows", profile="smoke", seed=0, device="cpu", figures_dir=tmp_path)
    rng = np.random.default_rng(0)
    snaps = [(1, rng.random((6, 8))), (2, rng.random((6, 8)))]
    path = flows.save_density_gif(rec, snaps, "fig_demo.gif")
    assert path.is_file() and path.read_bytes()[:3] == b"GIF"
    with pytest.raises(ValueError, match="no density snapshots"):
        flows.save_density_gif(rec, [], "fig_demo.gif")
    with pytest.raises(ValueError, match=".gif"):
        flows.save_density_gif(rec, snaps, "fig_demo.png")

"""rfn.pages.kl_bpp: per-frame terms through the emission protocol, the frozen condition, the figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import stats

from rfn.book.figures import check_figure
from rfn.pages import kl_bpp as page


def test_partial_spearman_removes_a_shared_cause():
    gen = np.random.default_rng(0)
    c = gen.standard_normal(400)
    a, b = c + 0.3 * gen.standard_normal(400), c + 0.3 * gen.standard_normal(400)
    assert stats.spearmanr(a, b)[0] > 0.8 and abs(page.partial_spearman(a, b, c)) < 0.15


def test_ratio_compares_the_masked_frames_with_the_others():
    curves = {"KL": np.array([1.0, 3.0, 1.0, 3.0])}
    assert page.ratio(curves, np.array([False, True, False, True])) == {"KL": 3.0}
    assert np.isnan(page.ratio(curves, np.zeros(4, dtype=bool))["KL"])


def test_step_terms_match_reconstruct_and_predict(tiny_rfn):
    x = torch.randint(0, 256, (2, 4, 1, 16, 16), dtype=torch.uint8)
    torch.manual_seed(5)
    rp = tiny_rfn.reconstruct_and_predict(x)
    terms = page.step_terms(tiny_rfn, x, 5)
    assert terms["kl"].shape == (2, 3) and (terms["kl"] >= 0).all()
    assert torch.allclose(rp["nll"], terms["nll_post"], atol=1e-4)
    frozen = page.frozen_condition_nll(tiny_rfn, x, t0=1, draws=2, seed=0)
    assert frozen["prior"].shape == frozen["posterior"].shape == (2, 3)
    fig = page.prior_posterior_figure(x[0], rp["prediction"][0], rp["reconstruction"][0], terms["kl"][0].numpy(),
                                      terms["nll_prior"][0].numpy(), terms["nll_post"][0].numpy(),
                                      np.array([False, True, False, False]), "Fig 10.4")  # fmt: skip
    check_figure(fig)
    curves = {k: np.ones(3) for k in ("|mean| prior", "std prior", "|mean| posterior", "std posterior",
                                      "|mean| base", "std base", "KL")}  # fmt: skip
    check_figure(page.parameters_figure(curves, np.zeros((4, 2), bool), np.zeros(4), 0.2, "Fig 10.7"))
    plt.close("all")


def test_event_classes_put_every_modelled_frame_in_one_class():
    touches = torch.tensor([[False, False, True, False, False, True], [False, True, False, False, False, False]])
    classes = page.event_classes(touches)
    stacked = torch.stack(list(classes.values())).int()  # [4, B, T-1]
    assert (stacked.sum(0) == 1).all()
    first, hit, after, quiet = (m.int().tolist() for m in classes.values())
    assert first == [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
    assert hit == [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]]  # a touch in frame 1 counts as the first modelled frame
    assert after == [[0, 0, 1, 0, 0], [0, 1, 0, 0, 0]]
    assert quiet == [[0, 0, 0, 1, 0], [0, 0, 1, 1, 1]]
    with pytest.raises(ValueError, match="bool"):
        page.event_classes(touches.int())


def test_kl_by_event_averages_each_class():
    classes = page.event_classes(torch.tensor([[False, False, True, False]]))
    kl, gap = torch.tensor([[4.0, 1.0, 2.0]]), torch.tensor([[0.5, 0.1, 0.2]])
    table = page.kl_by_event(kl, gap, classes)
    assert table["count"].tolist() == [1, 1, 1, 0]
    assert table["KL (bpp)"].tolist()[:3] == [4.0, 1.0, 2.0] and np.isnan(table["KL (bpp)"].iloc[3])
    assert table["prior NLL - posterior NLL (bpp)"].tolist()[:3] == pytest.approx([0.5, 0.1, 0.2])
    many = page.event_classes(torch.rand(3, 9) < 0.3)
    check_figure(page.kl_by_event_figure(torch.rand(3, 8), torch.rand(3, 8), many, 0.5, "Fig 10.4"))
    plt.close("all")


def test_spike_ratios_and_the_summary():
    curves = {"KL": np.array([1.0, 3.0, 3.0, 1.0, 1.0])}
    events_one = np.array([[False], [False], [True], [False], [False], [False]])  # [T, D]: a touch in frame 2
    rows = page.spike_ratios(curves, events_one, np.zeros(6), 0.2)
    assert rows == {"1 digit: at or right after a wall touch": {"KL": 3.0}}  # modelled frames 2 and 3 (t = 1, 2)
    events_two = np.zeros((6, 2), dtype=bool)
    events_two[2, 1] = True
    overlap = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.5])
    rows.update(page.spike_ratios(curves, events_two, overlap, 0.2))
    assert list(rows)[1:] == ["2 digits: at or right after a wall touch", "2 digits: while > 20% of the ink overlaps"]
    assert rows["2 digits: while > 20% of the ink overlaps"]["KL"] == pytest.approx(1.0 / (7.0 / 3.0))
    import pandas as pd

    classes = page.event_classes(torch.tensor([[False, False, True, False]]))
    table = page.kl_by_event(torch.tensor([[4.0, 1.0, 2.0]]), torch.zeros(1, 3), classes)
    text = page.summary(table, pd.DataFrame(rows).T, 0.8, torch.tensor([[1.0, 2.0, 3.0]]), 2, 1.0,
                        {"SSIM": (-0.5, -0.4), "PSNR": (-0.3, -0.2)})  # fmt: skip
    assert "highest for 'frame 2, the first modelled (velocity unknown)' (4.0000 bpp)" in text
    assert "from 1.000 bpp at t0 to 3.000 at t = 4" in text and "with one digit" in text
    with pytest.raises(ValueError, match="two-digit rows"):
        page.summary(table, pd.DataFrame(rows).T.iloc[:1], 0.8, torch.ones(1, 3), 2, 1.0,
                     {"SSIM": (0, 0), "PSNR": (0, 0)})  # fmt: skip

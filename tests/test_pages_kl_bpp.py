"""rfn.pages.kl_bpp: per-frame terms through the emission protocol, the frozen condition, the figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
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

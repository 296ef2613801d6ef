"""The tests behind the book's comparisons (rfn.metrics.stats) and the paired baseline table of notebook 05."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rfn.metrics.stats import paired, paired_per_frame
from rfn.pages import results as page


def test_paired_matches_scipy_and_its_interval_covers_the_difference():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.1, 40)
    b = a - 0.03 + rng.normal(0, 0.05, 40)
    r = paired(a, b)
    ref = stats.ttest_rel(a, b)
    assert r["p"] == pytest.approx(ref.pvalue, rel=1e-9) and r["t"] == pytest.approx(ref.statistic, rel=1e-9)
    lo, hi = r["interval"]
    assert lo < r["difference"] < hi and r["difference"] == pytest.approx(float((a - b).mean()))
    assert paired(a, a)["p"] == 1.0 and paired(a, a)["interval"] == (0.0, 0.0)
    with pytest.raises(ValueError, match="same items"):
        paired(a, b[:-1])
    frames = paired_per_frame(np.stack([a, a + 1], 1), np.stack([b, a], 1))
    assert len(frames) == 2 and frames[0]["p"] == pytest.approx(r["p"]) and frames[1]["difference"] == 1.0


def _evaluation(indices, model, black, last):
    """A made-up evaluation result with per-frame scores [sequences, frames] of one metric (ssim)."""
    return {
        "best_of_n": {
            "indices": indices,
            "samples": 4,
            "ssim": {"best_per_frame": model + 0.1, "mean_per_frame": model},
            "baselines": {"black frames": {"ssim": black.mean(0)}, "last context frame": {"ssim": last.mean(0)}},
            "baselines_per_frame": {"black frames": {"ssim": black}, "last context frame": {"ssim": last}},
        }
    }


def test_baseline_tests_pair_the_same_sequences_and_name_the_frames():
    rng = np.random.default_rng(1)
    black = rng.normal(0.5, 0.05, (30, 3))
    last = rng.normal(0.1, 0.05, (30, 3))
    # the model beats black frames clearly at frame 1, ties at 2, loses clearly at 3
    model = black + np.array([0.2, 0.0, -0.2]) + rng.normal(0, 0.01, (30, 3))
    model[:, 1] = black[:, 1] + np.tile([0.01, -0.01], 15)  # a tie: mean difference exactly zero
    res = {"RFN": _evaluation(list(range(30)), model, black, last)}
    t = page.baseline_tests(res, "ssim").set_index(["model", "score", "against"])
    row = t.loc[("RFN", "mean of samples", "black frames")]
    assert row["model ahead at"] == "t+1" and row["baseline ahead at"] == "t+3" and row["sequences"] == 30
    assert t.loc[("RFN", "best of N", "last context frame")]["model ahead at"] == "t+1..t+3"


def test_curves_from_other_sequences_are_refused():
    x = np.zeros((4, 2))
    res = {"RFN": _evaluation([0, 1, 2, 3], x, x, x), "SRNN": _evaluation([0, 1, 2, 5], x, x, x)}
    with pytest.raises(ValueError, match="different test sequences"):
        page.same_sequences(res)
    del res["SRNN"]["best_of_n"]["baselines_per_frame"]
    res["SRNN"]["best_of_n"]["indices"] = [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no baselines of its own call"):
        page.baseline_tests(res, "ssim")


def test_model_tests_pair_the_first_model_with_each_other_one():
    rng = np.random.default_rng(2)
    base = rng.normal(0.5, 0.05, (30, 3))
    res = {
        "RFN": _evaluation(list(range(30)), base + 0.05, base, base),
        "SRNN": _evaluation(list(range(30)), base + np.tile([0.01, -0.01], 15)[:, None], base, base),
    }
    t = page.model_tests(res, "ssim").set_index(["against", "score"])
    row = t.loc[("SRNN", "mean of samples")]
    assert row["difference"] == pytest.approx(0.05) and row["p"] < 1e-10 and row["sequences"] == 30
    res["SRNN"]["best_of_n"]["indices"] = list(range(1, 31))
    with pytest.raises(ValueError, match="different test sequences"):
        page.model_tests(res, "ssim")

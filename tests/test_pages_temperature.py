"""rfn.pages.temperature: the motion and noise measures, their intervals, the sweeps and the verdict."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import stats

from rfn.book.figures import check_figure
from rfn.pages import temperature as page


def _dots(shifts):
    """One dot per sample, moved right by ``shifts[s]`` pixels: ``[1, N, 2, 1, 8, 8]``."""
    s = torch.zeros(1, len(shifts), 2, 1, 8, 8, dtype=torch.uint8)
    for i, d in enumerate(shifts):
        s[0, i, :, 0, 3, 2 + d] = 255
    return s


def test_motion_spread_is_zero_for_equal_samples_and_grows_with_their_spread():
    truth = _dots([0])[:, 0]
    still = page.sequence_measures(_dots([0, 0, 0]), truth)
    assert still["motion spread"][0] == 0.0 and still["brightness"][0] == pytest.approx(1.0)
    apart = page.sequence_measures(_dots([0, 4]), truth)
    assert apart["motion spread"][0] == pytest.approx(4 / np.sqrt(2))
    assert "digits in place" not in apart
    faded = _dots([0, 4])
    faded[0, 1] = 0  # one sample lost its digit: no frame counts
    assert np.isnan(page.sequence_measures(faded, truth)["motion spread"][0])
    with pytest.raises(ValueError, match="N >= 2"):
        page.sequence_measures(_dots([0]), truth)


def test_ci95_is_the_t_interval_and_effects_are_paired():
    v = np.array([1.0, 2.5, 2.0, 4.0, np.nan])
    mean, low, high = page.ci95(v)
    ref = stats.t.interval(0.95, 3, loc=v[:4].mean(), scale=stats.sem(v[:4]))
    assert (low, high) == pytest.approx(ref) and mean == pytest.approx(v[:4].mean())
    per = {("flow", 0.0): {"m": np.array([1.0, 2.0])}, ("flow", 1.0): {"m": np.array([3.0, 5.0])}}
    assert page.effect(per, "flow", "m").tolist() == [2.0, 3.0]


def _per_sequence(motion_flow, motion_prior, noise_flow, noise_prior):
    gen = np.random.default_rng(0)
    out = {}
    for sweep, motion, noise in (("flow", motion_flow, noise_flow), ("prior", motion_prior, noise_prior)):
        for t, scale in ((0.0, 0.0), (1.0, 1.0)):
            out[(sweep, t)] = {
                "motion spread": scale * motion + 0.01 * gen.standard_normal(12),
                "fine detail": 3.0 + scale * noise + 0.01 * gen.standard_normal(12),
            }
    return out


def test_verdict_says_what_the_numbers_show():
    agree = page.verdict(_per_sequence(0.0, 2.0, 5.0, 0.0), [0.0, 1.0])
    assert "This is the thesis's reading" in agree
    both = page.verdict(_per_sequence(1.0, 2.0, 5.0, 0.0), [0.0, 1.0])
    assert "also spreads the motion" in both
    against = page.verdict(_per_sequence(2.0, 0.0, 5.0, 0.0), [0.0, 1.0])
    assert "disagrees with the thesis" in against and "smaller than the flow's" in against


def test_sweeps_switch_off_the_other_source(tiny_rfn):
    ctx = torch.randint(0, 256, (2, 2, 1, 16, 16), dtype=torch.uint8)
    off = page.sweep_samples(tiny_rfn, ctx, 2, 0.0, 3, seed=0, sweep="flow")
    assert all(torch.equal(off[:, 0], off[:, i]) for i in range(3))  # both temperatures 0: deterministic
    flow = page.sweep_samples(tiny_rfn, ctx, 2, 1.0, 3, seed=0, sweep="flow")
    assert not torch.equal(flow[:, 0], flow[:, 1])
    with pytest.raises(ValueError, match="'flow' or 'prior'"):
        page.sweep_samples(tiny_rfn, ctx, 2, 1.0, 3, seed=0, sweep="latent")
    videos = torch.randint(0, 256, (2, 4, 1, 16, 16), dtype=torch.uint8)
    rows = page.measure_sweeps(tiny_rfn, videos, 2, [0.0, 1.0], 2, seed=0)
    per = page.per_sequence(rows)
    assert sorted(per) == [("flow", 0.0), ("flow", 1.0), ("prior", 0.0), ("prior", 1.0)]
    table = page.measures_table(per)
    check_figure(page.measures_figure(table, {"fine detail": 1.0}, "measures"))
    plt.close("all")


def test_the_measures_key_names_the_measures():
    """Numbers cached before a measure was added or renamed are recomputed, not read with a missing column."""

    class Run:
        def checkpoint_id(self):
            return "abc"

    key = page.measures_key(Run(), {"samples": 2}, 0, True)
    assert key["measures"] == sorted(page.MEASURES) and "fine detail" in key["measures"]


def test_the_fvd_table_sets_each_temperature_beside_the_thesis():
    sweep = {"real vs real": 12.345, "0.5": {"fvd": 40.04}, "0.7": {"fvd": 30.06}, "0.2": {"fvd": 50.0}}
    tab = page.fvd_table(sweep, [0.5, 0.7, 0.2], "4 clips")
    assert list(tab.index) == ["real vs real (floor)", 0.5, 0.7, 0.2]
    assert tab["FVD"].tolist() == [12.3, 40.0, 30.1, 50.0]
    assert (
        tab.loc[0.7, "thesis (Table 9.3, BAIR)"] == page.THESIS_TABLE_9_3[0.7]
        and tab.loc[0.2, "thesis (Table 9.3, BAIR)"] == "-"
    )
    assert (tab["our protocol"] == "4 clips").all()
    assert "flow temperature 0.7 (30.1)" in page.fvd_verdict(sweep, [0.5, 0.7, 0.2], 4)
    with pytest.raises(ValueError, match="no FVD"):
        page.fvd_table({"real vs real": None}, [0.5], "4 clips")


def test_the_sweep_figure_holds_the_truth_and_one_row_per_temperature():
    video = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    futures = {0.0: video[2:], 1.0: 255 - video[2:]}
    fig = page.sweep_figure(video, futures, "prior", "Fig 10.2", context=2)
    check_figure(fig)
    assert fig.axes[0].get_title() == "Fig 10.2: prior temperature τ, flow temperature 0"
    with pytest.raises(ValueError, match="'flow' or 'prior'"):
        page.sweep_figure(video, futures, "latent", "Fig 10.2", context=2)
    plt.close("all")

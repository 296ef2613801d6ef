"""rfn.pages.ablations: experiment tables, pooled tests over seeds and sequences, reference curves, the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from rfn.pages import ablations as page
from rfn.viz import figure_problems

SETTINGS = {"seeds": 2, "bpp_sequences": 2, "metrics": ("ssim", "psnr"),
            "eval": {"sequences": 2, "samples": 2, "context": 2, "future": 3}}  # fmt: skip


def _results(variants, seeds, bpp, n_seq=40, noise=0.05):
    rng = np.random.default_rng(0)
    base = rng.normal(0.4, 0.1, n_seq)  # shared test sequences: each has its own difficulty
    out = {}
    for i, v in enumerate(variants):
        for s in seeds:
            per_seq = bpp(v, s) + base + noise * rng.standard_normal(n_seq)
            out[(v, s)] = {
                "bpp_mean": float(per_seq.mean()),
                "bpp_std": 0.1,
                "parameters": 100 + i,
                "curves": {"ssim": [0.5, 0.4, 0.3], "psnr": [20.0, 18.0, 17.0]},
                "summary": {"ssim": 0.4, "psnr": 18.0},
                "bpp_per_sequence": per_seq.tolist(),
                "best_per_sequence": {"ssim": (0.4 + base).tolist(), "psnr": np.full(n_seq, np.inf).tolist()},
            }
    return out  # fmt: skip


def test_shared_variants_and_thesis_rows():
    exp = page.experiments((1, 2, 3))
    assert exp["Fig 9.2"]["O = 1"] == exp["Fig 9.1"]["smoothing"]
    assert exp["Table 9.2"]["L = 2"] == exp["Table 9.1"]["conditioning net"]
    assert page.thesis_92((1, 2, 3))["L = 1"]["thesis row (BAIR, K = 5)"] == "L = 3"


def test_spread_table_and_pooled_tests():
    variants = page.experiments((1, 2, 3))["Fig 9.2"]
    exp = {"Fig 9.2": variants}
    # the seeds differ by 0.5 bits, the variants not at all: nothing is resolved although 40 sequences agree
    noisy = _results(variants.values(), [0, 1], lambda v, s: 1.0 + 0.5 * s)
    table = page.spread_table(noisy, variants, [0, 1], SETTINGS)
    assert table["seed spread (max - min)"].round(6).tolist() == pytest.approx([0.5, 0.5, 0.5], abs=0.05)
    tests = page.ablation_tests(noisy, exp, [0, 1], ["ssim", "psnr"], n_boot=500)
    assert len(tests) == 2 * 3 and not tests["resolved"].any()
    assert set(tests["measure"]) == {"test bpp", "best-of-N ssim", "best-of-N psnr"}
    assert "no variant differs" in page.conclusions(tests)
    # O = 3 is 0.3 bits worse in both seeds and every sequence: resolved, with its numbers in the text
    clear = _results(variants.values(), [0, 1, 2], lambda v, s: {"srnn-D3": 1.3}.get(v, 1.0) + 0.01 * s)
    tests = page.ablation_tests(clear, exp, [0, 1, 2], ["ssim"], n_boot=500).set_index(["variant", "measure"])
    row = tests.loc[("O = 3", "test bpp")]
    assert (
        row["resolved"]
        and row["difference"] == pytest.approx(0.3, abs=0.05)
        and row["p (paired over sequences)"] < 1e-6
    )
    assert not tests.loc[("O = 2", "test bpp"), "resolved"] and not tests.loc[("O = 3", "best-of-N ssim"), "resolved"]
    text = page.conclusions(tests.reset_index())
    assert f"O = 3 vs O = 1, test bpp {row['difference']:+.3f}" in text and "O = 2" not in text


def test_reference_curves_of_black_frames_and_the_last_frame():
    data = {"name": "smmnist", "kwargs": {"image_size": 16, "digit_size": 8, "num_digits": 1}}
    ref = page.reference_curves(data, SETTINGS, "cpu")
    assert set(ref) == {"black frames", "last context frame"}
    assert all(len(ref[k]["psnr"]) == 3 and np.all(ref[k]["psnr"] <= page.PSNR_CAP) for k in ref)


def test_curves_figure_is_labelled():
    variants = page.experiments((1, 2, 3))["Fig 9.1"]
    results = _results(variants.values(), [0, 1], lambda v, s: 1.0)
    ref = {"black frames": {"ssim": np.zeros(3), "psnr": np.zeros(3)}}
    fig = page.curves_figure(results, variants, [0, 1], ref, SETTINGS, train_frames=4, title="t")
    assert figure_problems(fig) == []
    plt.close(fig)


@pytest.mark.parametrize("metric", ["ssim", "psnr", "lpips"])
def test_every_metric_has_an_axis_label(metric):
    assert metric in page.METRIC_LABEL


def test_the_reference_profile_evaluates_the_committed_runs_and_trains_none(tmp_path, monkeypatch):
    from rfn.book import reference
    from rfn.presets import PRESETS
    from rfn.training.preset import train_preset

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(PRESETS, "reference-ablation-srnn-D2", PRESETS["smoke-smmnist-srnn"])
    train_preset("smoke-srnn", tmp_path / "run", ["train.steps=1", "train.seed=1"])
    reference.export_reference(tmp_path / "run", "reference-ablation-srnn-D2", seed=1)
    r = page.run_variant("srnn-D2", 1, "reference", tmp_path / "artifacts", SETTINGS, "cpu")
    assert r["steps"] == 1 and r["seed"] == 1 and r["train_wall_s"] > 0  # the committed run's log and timing
    assert sorted(p.name for p in (tmp_path / "artifacts" / "reference" / "ablation-srnn-D2-seed1").iterdir()) == [
        "result.json"  # numbers only: nothing trained
    ]
    # retrained weights are a new key: the cached numbers are recomputed, not reused
    train_preset("smoke-srnn", tmp_path / "run2", ["train.steps=2", "train.seed=1"])
    reference.export_reference(tmp_path / "run2", "reference-ablation-srnn-D2", seed=1)
    assert page.run_variant("srnn-D2", 1, "reference", tmp_path / "artifacts", SETTINGS, "cpu")["steps"] == 2

"""rfn.pages.rgb: the statistics behind the RGB page's conclusion, and its figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rfn.pages import rgb


def test_welch_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 3), rng.normal(1.3, 0.3, 4)
    w = rgb.welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic) and w["p"] == pytest.approx(ref.pvalue)
    lo, hi = w["interval"]
    assert lo < w["difference"] < hi
    with pytest.raises(ValueError, match="two values"):
        rgb.welch([1.0], [1.0, 2.0])


def test_nested_bootstrap_covers_the_truth_and_widens_with_seed_spread():
    rng = np.random.default_rng(1)
    seq = rng.normal(0, 1, 64)  # per-sequence difficulty shared by both models (paired)
    a = seq + 0.5 + rng.normal(0, 0.05, (3, 1)) + rng.normal(0, 0.1, (3, 64))
    b = seq + rng.normal(0, 0.05, (3, 1)) + rng.normal(0, 0.1, (3, 64))
    r = rgb.nested_bootstrap(a, b, n_boot=2000, seed=0)
    lo, hi = r["interval"]
    assert lo < 0.5 < hi and hi - lo < 0.4
    spread = b + np.array([[-0.5], [0.0], [0.5]])  # seeds far apart: the interval must grow
    lo2, hi2 = rgb.nested_bootstrap(a, spread, n_boot=2000, seed=0)["interval"]
    assert hi2 - lo2 > 2 * (hi - lo)
    with pytest.raises(ValueError, match="same sequences"):
        rgb.nested_bootstrap(a, b[:, :10])


def _curve(values, start=0, every=250):
    return pd.DataFrame({"step": [start + every * i for i in range(len(values))], "val_bpp": values})


def test_gap_stability():
    rfn = [_curve([6.0, 5.5, 5.2, 5.1, 5.05]), _curve([6.1, 5.6, 5.3, 5.2, 5.1])]
    steady = [_curve([7.0, 6.7, 6.35, 6.25, 6.22]), _curve([7.1, 6.8, 6.45, 6.35, 6.28])]
    growing = [_curve([7.0, 6.6, 6.8, 7.0, 7.5]), _curve([7.1, 6.7, 6.9, 7.1, 7.6])]
    s = rgb.gap_stability(rfn, steady, last=750)
    assert s["stable"] and s["steps"] == (250, 1000) and s["gap_end"] == pytest.approx(1.175)
    assert s["gap_start"] == pytest.approx(1.2)
    assert not rgb.gap_stability(rfn, growing, last=750)["stable"]


def test_learning_curves_reads_filled_rows(tmp_path):
    f = tmp_path / "metrics.csv"
    f.write_text("step,bpp,val_bpp\n50,7.0,\n250,6.0,6.5\n500,5.5,6.1\n")
    c = rgb.learning_curves(f)
    assert c["step"].tolist() == [250, 500] and c["val_bpp"].tolist() == [6.5, 6.1]


def test_conclusions_are_written_from_the_numbers():
    table = {
        "rfn": {"mean": 5.0},
        "srnn": {"mean": 6.0},
        "vrnn": {"mean": 6.2},
        "noskip": {"mean": 5.5},
        "srnn-skip": {"mean": 5.2},
    }
    tests = {
        k: rgb.welch(v["mean"] + np.array([0.0, 0.01, -0.01]), [5.0, 5.01, 4.99])
        for k, v in table.items()
        if k != "rfn"
    }
    text = " ".join(rgb.conclusions(table, tests, "bits/dim"))
    assert "SRNN is 1.000 bits/dim above the RFN" in text
    assert "loses 50% of the RFN's lead" in text and "closes 80% of the RFN's lead" in text
    tests["srnn"] = rgb.welch([6.0, 4.0, 5.0], [5.0, 5.01, 4.99])
    assert "not resolved" in rgb.conclusions(table, tests, "bits/dim")[0]


def test_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    fig = rgb.learning_curves_figure({"rfn": [_curve([6.0, 5.5])], "srnn": [_curve([7.0, 6.5])]}, "curves")
    assert len(fig.axes[0].lines) == 2
    maps = {"RFN": torch.rand(8, 8), "SRNN": torch.rand(8, 8) + 1}
    fig = rgb.bits_map_figure(torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8), maps, "bits")
    assert " ".join(fig.axes[3].get_title().split()) == "SRNN minus RFN"


def test_half_precision_export_loads_and_scores_alike(tmp_path):
    from dataclasses import asdict

    from rfn import load
    from rfn.checkpoint import export_weights, load_checkpoint, save_checkpoint
    from rfn.models import RFN, RFNConfig

    torch.manual_seed(0)
    cfg = RFNConfig(image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8, extractor_channels=4,
                    flow_steps=1, flow_hidden=8, base_hidden=8)  # fmt: skip
    model = RFN(cfg)
    x = torch.randint(0, 256, (2, 4, 1, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        model.loss(x)
    full_path = save_checkpoint(
        tmp_path / "last.pt", {"model_name": "rfn", "model_config": asdict(cfg), "model": model.state_dict(), "step": 2}
    )
    half = export_weights(full_path, tmp_path / "half.pt", torch.float16)
    stored = load_checkpoint(half)
    assert {v.dtype for v in stored["model"].values() if v.is_floating_point()} == {torch.float16}
    assert stored["meta"]["weights_dtype"] == "float16" and stored["step"] == 2
    full, small = load(full_path).eval(), load(half).eval()
    assert isinstance(small, RFN) and next(small.parameters()).dtype == torch.float32
    torch.manual_seed(0)
    a = full.loss(x)["bpp"]
    torch.manual_seed(0)
    b = small.loss(x)["bpp"]
    assert abs(float(a - b)) < 1e-2 and not torch.equal(a, b)
    with pytest.raises(ValueError, match="floating-point"):
        export_weights(full_path, tmp_path / "bad.pt", torch.int8)


def _fake_scores(levels=None, seeds=(0, 1, 2), n_seq=16):
    """score_run-shaped results: every model on the same clips, per-sequence bits = level + clip + seed noise."""
    levels = levels or {"rfn": 5.0, "srnn": 6.0, "vrnn": 6.1, "noskip": 5.5, "srnn-skip": 5.8}
    rng = np.random.default_rng(0)
    clip = rng.normal(0, 0.2, n_seq)
    out = {}
    for key, level in levels.items():
        for s in seeds:
            seq = level + clip + rng.normal(0, 0.02) + rng.normal(0, 0.01, n_seq)
            best = np.full((n_seq, 2), level / 10.0) + rng.normal(0, 0.01, (n_seq, 2))
            curve = {"best_curve": [0.5, 0.4], "higher_is_better": True, "best_per_frame": best.tolist(),
                     "mean_curve": (best - 0.1).mean(0).tolist()}  # fmt: skip
            held = {"ssim": np.full((n_seq, 2), 0.4).tolist(), "psnr": np.full((n_seq, 2), 0.4).tolist()}
            out[(key, s)] = {
                "bits": {"nelbo": float(seq.mean() + 0.01), "iw": {"bound": float(seq.mean())},
                         "per_sequence": {"indices": list(range(n_seq)), "iw": seq.tolist(),
                                          "nelbo": (seq + 0.01).tolist()}},
                "fvd": {"mean": 100.0 * level + rng.normal(0, 5.0)},
                "best_of_n": {"frames": [4, 5], "samples": 3, "sequences": n_seq, "ssim": curve, "psnr": curve,
                              "indices": list(range(n_seq)), "baselines_per_frame": {"last context frame": held},
                              "baselines": {"black frames": {"ssim": [0.3, 0.3], "psnr": [10, 10]},
                                            "last context frame": {"ssim": [0.4, 0.3], "psnr": [11, 10]}}},
            }  # fmt: skip
    return out


def test_tables_and_tests_from_scores():
    scores = _fake_scores()
    table = rgb.bits_table(scores)
    assert list(table["model"]) == [rgb.MODELS[k][1] for k in rgb.MODELS]
    rfn_row = table.iloc[0]
    assert rfn_row["seeds"] == 3 and rfn_row["bits per RGB pixel (x3)"] == pytest.approx(3 * rfn_row["mean"])
    assert 4.8 < rfn_row["mean"] < 5.2
    tab, tests = rgb.tests_table(scores, n_boot=500)
    assert set(tests) == {"srnn", "vrnn", "noskip", "srnn-skip"}
    assert tests["srnn"]["difference"] == pytest.approx(1.0, abs=0.05) and tests["srnn"]["p"] < 0.01
    assert len(tab) == 4 and all(tab["p"] < 0.05)
    fvd = rgb.fvd_table(scores, {"fvd": 42.0})
    assert fvd.iloc[-1]["mean"] == 42.0 and fvd.iloc[0]["mean"] == pytest.approx(500.0, abs=15)
    assert np.isnan(fvd.iloc[0]["Welch p"]) and fvd.iloc[1]["minus RFN"] == pytest.approx(100.0, abs=20)
    assert fvd.iloc[1]["Welch p"] < 0.01 and fvd.iloc[1]["95% interval"].startswith("+")
    text = " ".join(
        rgb.conclusions(
            {k: {"mean": v} for k, v in table.set_index("model")["mean"].items()}
            | {k: {"mean": float(table.iloc[i]["mean"])} for i, k in enumerate(rgb.MODELS)},
            tests,
            "bits/dim",
        )
    )
    assert "% of the RFN's lead" in text


def test_per_sequence_refuses_runs_scored_on_other_clips():
    scores = _fake_scores()
    scores[("srnn", 1)]["bits"]["per_sequence"]["indices"] = list(range(1, 17))
    with pytest.raises(ValueError, match="different test clips"):
        rgb.per_sequence(scores, "srnn")


def test_best_of_n_figure_draws_models_and_baselines():
    import matplotlib

    matplotlib.use("Agg")
    fig = rgb.best_of_n_figure(_fake_scores())
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 5 + 2


def test_rollouts_and_bits_maps_of_tiny_models():
    from rfn.models import RFN, SRNN, RFNConfig, SRNNConfig

    tiny = dict(channels=3, image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8,
                extractor_channels=4)  # fmt: skip
    torch.manual_seed(0)
    models = {"rfn": RFN(RFNConfig(flow_steps=1, flow_hidden=8, base_hidden=8, **tiny)),
              "srnn": SRNN(SRNNConfig(n_mix=2, **tiny))}  # fmt: skip
    clip = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    for m in models.values():
        with torch.no_grad():
            m.loss(clip[None])
        m.eval()
    videos, labels = rgb.rollouts(models, clip, context=2, n=2)
    assert videos.shape == (5, 5, 3, 16, 16) and labels[0] == "truth" and labels[1].endswith("sample 1")
    assert torch.equal(videos[1, :2], clip[:2])
    maps = rgb.bits_maps(models, clip, frame=3)
    assert set(maps) == {"RFN", "SRNN"} and maps["RFN"].shape == (16, 16)


def _scores(values: dict[str, list[float]]) -> dict:
    """score_run-shaped results with only the IW bound and negative ELBO filled."""
    return {
        (key, seed): {"bits": {"iw": {"bound": v}, "nelbo": v + 0.05}}
        for key, seeds in values.items()
        for seed, v in enumerate(seeds)
    }


def test_headline_figure_draws_every_seed():
    import matplotlib

    matplotlib.use("Agg")
    fig = rgb.headline_figure(_scores({"rfn": [4.8, 4.9, 4.85], "srnn": [6.1, 6.2, 6.15]}))
    ax = fig.axes[0]
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [len(d.get_xdata()) for d in dots] == [3, 3]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RFN", "SRNN"]


def test_load_study_reads_the_committed_seed_and_refuses_missing_runs(tmp_path):
    with pytest.raises(rgb.StudyError, match="not committed") as err:
        rgb.load_study(root=tmp_path)
    assert "15 of 15" in str(err.value) and "benchmarks/rgb_headline.py train" in str(err.value)
    study = rgb.load_study(seeds=(0,), scores=False)  # the five seed-0 runs committed in the repository
    assert study.keys() == list(rgb.MODELS) and study.seeds == [0]
    table = study.runs_table()
    assert table["steps"].nunique() == 1 and (table["fp16 - fp32 test bits"].abs() <= 1e-3).all()
    sizes = dict(zip(table["model"], table["parameters"]))
    assert abs(sizes[rgb.MODELS["srnn-skip"][1]] / sizes["RFN"] - 1) < 0.1  # control b at the RFN's size
    assert len(study.stability()) == 4


def test_load_study_refuses_unequal_steps_and_stale_scores(tmp_path):
    import json
    import shutil

    src = rgb.study_folder()
    dst = rgb.study_folder(tmp_path)
    dst.mkdir(parents=True)
    for key in rgb.MODELS:
        for suffix in (".pt", ".export.json", ".metrics.csv", ".run.json"):
            shutil.copy(src / f"{rgb.run_stem(key, 0)}{suffix}", dst)
    with pytest.raises(rgb.StudyError, match="no current shipped score"):
        rgb.load_study(root=tmp_path, seeds=(0,))
    record = dst / "reference-textured-vrnn.export.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "step": 4000}))
    with pytest.raises(rgb.StudyError, match="stopped at step 4000"):
        rgb.load_study(root=tmp_path, seeds=(0,), scores=False)


def test_training_hours_sums_every_logged_interval(tmp_path):
    f = tmp_path / "metrics.csv"
    # 50 steps at 16 sequences/s = 50 s, then (after a resume) 100 steps at 8/s = 200 s; a validation-only row
    f.write_text("step,seq_per_s,val_bpp\n50,16.0,\n150,8.0,\n150,,6.0\n")
    assert rgb.training_hours(f, batch_size=16) == pytest.approx(250 / 3600)


def test_best_of_n_table_pairs_each_model_with_the_held_frame_on_the_same_clips():
    rng = np.random.default_rng(3)
    held = rng.uniform(0.3, 0.5, (8, 2))

    def run(offset, indices=range(8)):
        best = held + offset + rng.normal(0, 0.01, (8, 2))
        metric = {"best_per_frame": best.tolist(), "mean_curve": (best - 0.1).mean(0).tolist()}
        return {"best_of_n": {"indices": list(indices), "samples": 100, "ssim": metric,
                              "baselines": {"last context frame": {"ssim": held.mean(0).tolist()}},
                              "baselines_per_frame": {"last context frame": {"ssim": held.tolist()}}}}  # fmt: skip

    table = rgb.best_of_n_table({("rfn", 0): run(0.1), ("srnn", 0): run(-0.05)})
    assert list(table["prediction"]) == ["RFN", "SRNN", "no model: last context frame"]
    rfn, srnn, held_row = table.to_dict("records")
    assert rfn["best - last context frame"] == pytest.approx(0.1, abs=0.01) and rfn["95% interval"].startswith("+0.0")
    assert srnn["best - last context frame"] == pytest.approx(-0.05, abs=0.01)
    assert srnn["best - RFN"] == pytest.approx(-0.15, abs=0.01) and srnn["95% interval vs RFN"].startswith("-0.1")
    assert np.isnan(rfn["best - RFN"]) and np.isnan(held_row["best - RFN"])
    assert held_row["mean sample"] == pytest.approx(held.mean()) and np.isnan(held_row["best of 100"])
    with pytest.raises(ValueError, match="different test clips"):
        rgb.best_of_n_table({("rfn", 0): run(0.1), ("srnn", 0): run(0.0, indices=range(1, 9))})


def test_status_summary_cites_the_tables_numbers():
    scores = _fake_scores()
    means = rgb.seed_means(scores)
    text = rgb.status_summary(scores, {"fvd": 42.0})
    assert set(text) == {"Table 9.7", "Table 9.6", "Fig 9.11"}
    assert text["Table 9.7"].startswith("bits/dim (IW bound, mean of 3 seeds): RFN ")
    assert f"SRNN {means['srnn']['mean']:.3f}" in text["Table 9.7"]
    assert f"per RGB pixel RFN {3 * means['rfn']['mean']:.2f}" in text["Table 9.7"]
    m = {k: v["mean"] for k, v in means.items()}
    base = min(("srnn", "vrnn"), key=m.get)
    gap = m[base] - m["rfn"]
    assert f"lead over the better baseline ({base.upper()}) {gap:.3f} bits/dim" in text["Table 9.7"]
    assert f"loses {100 * (m['noskip'] - m['rfn']) / gap:.0f}% of the lead" in text["Table 9.7"]
    fvd = rgb.fvd_table(scores, None).set_index("model")["mean"]
    assert f"VRNN {fvd['VRNN']:.0f}" in text["Table 9.6"] and text["Table 9.6"].endswith("real against real 42")
    best = rgb.best_of_n_table(scores)
    ssim = best[(best["metric"] == "SSIM") & (best["prediction"] == "RFN")]["best of 3"].item()
    assert f"SSIM RFN {ssim:.3f}" in text["Fig 9.11"] and "(held last frame 0.350)" in text["Fig 9.11"]
    del scores[("rfn", 0)]["best_of_n"], scores[("srnn", 0)]["best_of_n"]
    # runs without best-of-N scores are left out of the figure's sentence
    assert rgb.status_summary(scores, None)["Fig 9.11"].startswith("best of 3 per frame (seed-0 runs): SSIM VRNN ")


def test_headline_summary_states_the_means_and_the_tests_only_with_three_seeds():
    three = _scores({"rfn": [4.8, 4.9, 4.85], "srnn": [6.1, 6.2, 6.15], "noskip": [5.3, 5.2, 5.25]})
    text = rgb.headline_summary(three)
    assert text.startswith("IW bound (mean of 3 seeds): RFN 4.850; SRNN 6.150; ")
    assert "SRNN is 1.300 bits/dim above the RFN" in text and "loses 31% of the RFN's lead" in text
    two = _scores({"rfn": [4.8, 4.9], "srnn": [6.1, 6.2]})
    assert rgb.headline_summary(two) == "IW bound (mean of 2 seeds): RFN 4.850; SRNN 6.150 bits per dimension"


class _MapModel(torch.nn.Module):
    """A stand-in model whose ``pixel_bits`` charges ``still`` bits on pixels that did not change, else ``changed``."""

    def __init__(self, still: float, changed: float):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the model a device
        self.still, self.changed = still, changed

    def pixel_bits(self, x):
        moved = (x[:, 1:].float() - x[:, :-1].float()).abs().amax(dim=2) > 40
        return torch.where(moved, self.changed, self.still).double()


def test_bits_by_region_splits_each_excess_into_still_and_changed_pixels():
    clips = torch.full((6, 4, 3, 8, 8), 100, dtype=torch.uint8)
    for t in range(4):
        clips[:, t, :, 2:4, t : t + 2] = 250  # a square moving right by one pixel per frame
    models = {"rfn": _MapModel(1.0, 3.0), "srnn": _MapModel(2.0, 3.5), "noskip": _MapModel(1.5, 2.0)}
    table, regions = rgb.bits_by_region(models, clips)
    still = 1 - 4 / 64  # the square's old and new columns change: 2 rows x 2 columns of 64 pixels
    assert regions["still"] == pytest.approx(still)
    assert regions["split"]["srnn"] == pytest.approx((still * 1.0, (1 - still) * 0.5), abs=2e-3)
    assert regions["split"]["noskip"] == pytest.approx((still * 0.5, -(1 - still) * 1.0), abs=2e-3)
    row = table.set_index("model").loc["SRNN"]
    assert row["excess on still pixels"] == pytest.approx(1.0, abs=2e-3)
    assert row["excess on changed pixels"] == pytest.approx(0.5, abs=2e-3)
    assert "larger on the still pixels" in rgb.region_sentence(regions, "srnn")
    assert rgb.region_sentence(regions, "noskip").startswith(
        "RFN, no skips (control a) needs +0.406 bits/dim more than the RFN: +0.469 from the pixels that stayed still"
    )
    with pytest.raises(ValueError, match="uint8"):
        rgb.bits_by_region(models, clips.float())


def test_noise_floor_is_the_entropy_of_the_rounded_clipped_camera_noise():
    table = rgb.rounded_noise_entropy(2.0)
    rng = np.random.default_rng(0)
    for mu in (128, 0, 254):  # interior, clipped at 0, half clipped at 255
        x = np.clip(np.rint(mu + 2.0 * rng.standard_normal(400_000)), 0, 255)
        _, counts = np.unique(x, return_counts=True)
        p = counts / counts.sum()
        assert table[mu] == pytest.approx(-(p * np.log2(p)).sum(), abs=0.01)
    assert table[128] == pytest.approx(0.5 * np.log2(2 * np.pi * np.e * 4.0), abs=0.02)  # no clipping
    floor = rgb.noise_floor(range(4))
    assert 2.8 < floor < table[128]  # pixels at 0 or 255 carry less noise entropy
    assert rgb.noise_floor(range(4), noise_std=4.0) == pytest.approx(floor + 1.0, abs=0.1)  # doubling the noise: +1 bit


def test_floor_sentence_measures_each_model_above_the_floor():
    scores = _scores({"rfn": [5.0, 5.0, 5.0], "srnn": [6.5, 6.5, 6.5], "vrnn": [6.0, 6.0, 6.0]})
    text = rgb.floor_sentence(scores, 3.0)
    assert "costs 3.000 bits/dim" in text and "the RFN needs 2.000 bits/dim and the VRNN 3.000" in text
    assert text.endswith("the RFN's lead is 33% of what the better thesis baseline spends above the floor.")


def test_thesis_table_compares_the_rfns_lead_not_the_levels():
    scores = _scores({"rfn": [4.0, 4.0], "srnn": [5.0, 5.0], "vrnn": [6.0, 6.0]})
    for (key, _), r in scores.items():
        r["fvd"] = {"mean": {"rfn": 100.0, "srnn": 400.0, "vrnn": 500.0}[key]}
    table, text = rgb.thesis_table(scores)
    assert list(table["model"]) == ["RFN", "SRNN", "VRNN"] and list(table["stand-in: bits/dim"]) == [4.0, 5.0, 6.0]
    assert text == (
        "In bits per dimension the thesis's RFN is 40% below its better baseline on BAIR (VRNN), ours 20% below its "
        "better baseline (SRNN); in FVD the thesis's RFN is at 21% of its better baseline's (SRNN), ours at 25% (SRNN)."
    )


def test_skipped_steps_reads_the_last_count_of_the_run_log(tmp_path):
    f = tmp_path / "metrics.csv"
    f.write_text("step,nonfinite,val_bpp\n50,0,\n100,3,\n100,,6.0\n")
    assert rgb.skipped_steps(f) == 3
    f.write_text("step,val_bpp\n50,6.0\n")  # a log without the column
    assert rgb.skipped_steps(f) == 0

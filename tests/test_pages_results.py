"""rfn.pages.results: the yardsticks of notebook 05 are right, and its figures pass the book's figure check."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
import torch

from rfn import runs
from rfn.book.figures import check_figure
from rfn.pages import results


def test_best_per_frame_grows_at_least_as_fast_as_best_per_sequence():
    gen = torch.Generator().manual_seed(1)
    scores = torch.rand(6, 8, 5, generator=gen)
    g = results.best_of_n_growth(scores, higher_is_better=True)
    assert g["n"] == list(range(1, 9)) and g["per frame"][0] == pytest.approx(g["per sequence"][0])
    assert all(f >= s - 1e-12 for f, s in zip(g["per frame"], g["per sequence"]))
    assert all(b >= a - 1e-12 for a, b in zip(g["per frame"], g["per frame"][1:]))
    low = results.best_of_n_growth(-scores, higher_is_better=False)  # LPIPS-like: lower is better
    assert low["per frame"] == pytest.approx([-v for v in g["per frame"]])


def test_baselines_score_black_and_held_frames():
    video = torch.zeros(2, 6, 1, 16, 16, dtype=torch.uint8)
    video[..., 4:8, 4:8] = 200  # a still square
    curves = results.baseline_curves(video, context=2, metrics=["ssim"], device="cpu")
    assert curves["last context frame"]["ssim"] == pytest.approx([1.0] * 4)
    assert all(v < 1.0 for v in curves["black frames"]["ssim"])


def test_seeded_predict_repeats_its_draws(tiny_rfn):
    ctx = torch.randint(0, 256, (2, 2, 1, 16, 16), dtype=torch.uint8)
    a = runs.seeded_predict(tiny_rfn, ctx, 2, n=2, seed=3)
    b = runs.seeded_predict(tiny_rfn, ctx, 2, n=2, seed=3)
    assert a.shape == (2, 2, 2, 1, 16, 16) and torch.equal(a, b)


def test_page_figures_are_titled_and_labelled():
    videos = torch.zeros(2, 4, 1, 8, 8, dtype=torch.uint8)
    check_figure(results.frames_figure(videos, ["truth", "RFN"], "strips", context=2))
    check_figure(results.frames_figure(videos, ["truth", "RFN"], "strips", frame_numbers=[1, 3, 5, 7]))
    with pytest.raises(ValueError, match="one per column"):
        results.frames_figure(videos, ["truth", "RFN"], "strips", frame_numbers=[1, 2])
    frames = [3, 4, 5]
    curve = {"best_curve": [1.0, 0.9, 0.8], "mean_curve": [0.8, 0.7, 0.6]}
    bon = {"RFN": {"frames": frames, "samples": 4, "psnr": curve, "ssim": curve}}
    base = {"black frames": {"psnr": [0.5] * 3, "ssim": [0.5] * 3}}
    check_figure(results.best_of_n_figure(bon, base, train_frames=4, title="best of N"))
    study = {"clips": 8, "floor": {"4": 90.0, "8": 50.0}, "models": {"RFN": 70.0}}
    check_figure(results.fvd_floor_figure(study, "FVD floor"))
    assert list(results.fvd_table(study, {"RFN": "633"}, "protocol")["FVD"]) == [50.0, 70.0]
    g = results.best_of_n_growth(torch.rand(2, 3, 4), True)
    check_figure(results.growth_figure({"psnr": g, "ssim": g}, "growth"))
    identity = {"RFN": {"mean": [0.5, 0.4, 0.3], "best": [0.9, 0.8, 0.7], "samples": 4}}
    check_figure(results.curves_figure(identity, frames, 4, "identity", "share"))
    plt.close("all")


def test_digits_readable_only_for_the_classifiers_frames():
    assert results.digits_readable({"num_digits": 2, "image_size": 32, "digit_size": 16})
    assert not results.digits_readable({"num_digits": 1, "image_size": 16, "digit_size": 8})


def test_fvd_study_caches_each_model_and_the_floor_on_their_own(tiny_rfn, tmp_path, monkeypatch):
    from rfn.metrics import get_protocol

    calls = []

    def features(clips, **kw):  # a cheap stand-in for I3D: the caching is under test, not the network
        calls.append(len(clips))
        flat = clips.float().flatten(1)
        return torch.stack([flat.mean(1), flat.std(1), flat[:, ::7].mean(1)], 1).double()

    monkeypatch.setattr(results, "fvd_features", features)
    proto = get_protocol("smmnist-smoke")
    videos = torch.randint(0, 256, (8, proto.total_frames, 1, 16, 16), dtype=torch.uint8)

    def run(kind, tag):
        ckpt = tmp_path / kind / "last.pt"
        ckpt.parent.mkdir(exist_ok=True)
        ckpt.write_bytes(tag)
        return runs.Run(kind, "quick", 0, ckpt, 1, 2, {"seq_len": 8}, ckpt.parent)

    by_label = {"RFN": run("rfn", b"a"), "SRNN": run("srnn", b"b")}
    models = {"RFN": tiny_rfn, "SRNN": tiny_rfn}
    first = results.fvd_study(models, videos, proto, runs=by_label, data={"image_size": 16})
    assert calls == [4, 4, 4, 4]  # two real halves, then one set of samples per model
    assert first["models"] == results.fvd_study(models, videos, proto)["models"]  # same numbers uncached
    calls.clear()
    again = results.fvd_study(models, videos, proto, runs=by_label, data={"image_size": 16})
    assert calls == [] and again["floor"] == first["floor"] and again["models"] == first["models"]
    by_label["SRNN"].checkpoint.write_bytes(b"retrained")  # only the retrained model is scored again
    results.fvd_study(models, videos, proto, runs=by_label, data={"image_size": 16})
    assert calls == [4, 4]  # real half A (its features were not kept) and the new samples
    assert list(first["floor"]) == ["4"] and first["clips"] == 4


def test_truth_and_prediction_puts_each_truth_above_its_prediction():
    truth = torch.arange(3)[:, None, None, None, None].expand(3, 5, 1, 2, 2).to(torch.uint8).clone()
    predicted = 100 + truth[:, 2:]  # the last 3 frames: the context is the first 2
    rows, labels = results.truth_and_prediction(truth, predicted, "RFN")
    assert labels == ["seq 0: truth", "seq 0: RFN", "seq 1: truth", "seq 1: RFN", "seq 2: truth", "seq 2: RFN"]
    assert torch.equal(rows[0], truth[0]) and rows[3, :, 0, 0, 0].tolist() == [1, 1, 101, 101, 101]
    rows, labels = results.truth_and_prediction(truth, predicted, "RFN", indices=[2], labels=["best"], frames=[1, 4])
    assert labels == ["seq 2: truth", "best"] and rows.shape == (2, 2, 1, 2, 2)
    assert rows[1, :, 0, 0, 0].tolist() == [2, 102]
    with pytest.raises(ValueError, match="one per shown sequence"):
        results.truth_and_prediction(truth, predicted, "RFN", indices=[0, 1], labels=["one"])
    with pytest.raises(ValueError, match="does not continue truth"):
        results.truth_and_prediction(truth, predicted[:2], "RFN")


def test_futures_rows_follow_each_truth_with_its_samples():
    truth = torch.zeros(2, 4, 1, 2, 2, dtype=torch.uint8)
    futures = torch.arange(1, 4)[None, :, None, None, None, None].expand(2, 3, 2, 1, 2, 2).to(torch.uint8)
    videos, labels = results.futures_rows(truth, futures)
    assert videos.shape == (8, 4, 1, 2, 2) and labels[:2] == ["context 0: truth", "context 0: sample 1"]
    assert labels[-1] == "context 1: sample 3" and videos[3, :, 0, 0, 0].tolist() == [0, 0, 3, 3]
    with pytest.raises(ValueError, match="are not"):
        results.futures_rows(truth, futures[:, 0])


def _evaluations():
    """Two made-up evaluations on the same 30 sequences, 3 predicted frames, PSNR and SSIM."""
    import numpy as np

    rng = np.random.default_rng(0)
    base = {"psnr": rng.normal(13, 0.5, (30, 3)), "ssim": rng.normal(0.5, 0.05, (30, 3))}
    held = {m: v - 0.2 for m, v in base.items()}

    def evaluation(shift):
        scores = {}
        for m, b in base.items():
            mean, best = b - 0.1 + shift, b + 0.2 + shift
            scores[m] = {"best_per_frame": best, "mean_per_frame": mean, "best": best.mean(), "mean": mean.mean(),
                         "best_sample": (b + 0.1 + shift).mean()}  # fmt: skip
        return {
            "best_of_n": {
                "indices": list(range(30)),
                "frames": [3, 4, 5],
                "samples": 4,
                **scores,
                "baselines": {
                    "black frames": {m: b.mean(0) for m, b in base.items()},
                    "last context frame": {m: b.mean(0) for m, b in held.items()},
                },
                "baselines_per_frame": {"black frames": base, "last context frame": held},
            },
            "bpp": {"nelbo": 1.0 + shift},
            "wall_s": 3.0,
        }

    return {"RFN": evaluation(0.05), "SRNN": evaluation(0.0)}


def test_summary_table_and_findings_read_the_evaluations():
    import pandas as pd

    res = _evaluations()
    summary = results.summary_table(res)
    assert list(summary.index) == ["RFN", "SRNN", "black frames", "last context frame"]
    assert results.scored_metrics(res) == ["psnr", "ssim"]
    assert summary.loc["RFN", "ssim best"] - summary.loc["SRNN", "ssim best"] == pytest.approx(0.05, abs=1e-3)
    black = summary.loc["black frames"]
    assert black["ssim best"] == black["ssim best sample"] == black["ssim mean"]
    ssim_tests = results.baseline_tests(res, "ssim")
    versus = pd.concat([results.model_tests(res, m) for m in ("psnr", "ssim")], ignore_index=True)
    text = results.baseline_findings(res, summary, ssim_tests, versus)
    assert text.startswith("**What the numbers show.** All-black frames score") and "3 predicted frames" in text
    assert "30 sequences" in text and "- **RFN**: a typical sample (mean of samples) is below black frames" in text
    assert "best of 4 is ahead of black frames at t+1..t+3" in text and "SSIM vs SRNN +0.050 [" in text
    assert results.styled(ssim_tests, "t").to_html().count("<tr>") == len(ssim_tests) + 1
    assert results.bpp_ordering(res, "x").startswith("ordering by bits per pixel, best first: SRNN 1.000 < RFN")
    report = results.evaluation_report(SimpleNamespace(describe=lambda: "p"), {}, res)
    assert report.splitlines()[1].startswith("30 test sequences") and report.endswith("SRNN: evaluated in 3 s")


def test_fvd_and_growth_findings_state_the_numbers():
    study = {"clips": 8, "floor": {"4": 90.0, "8": 50.0}, "models": {"RFN": 70.0, "SRNN": 45.0}}
    text = results.fvd_findings(study)
    assert "score FVD 90 with 4 clips each and 50 with 8" in text and "SRNN 45, RFN 70 with 8 clips" in text
    assert "SRNN at or below the real-vs-real floor" in text
    study["models"]["SRNN"] = 60.0
    assert "every model above the real-vs-real floor" in results.fvd_findings(study)
    g = {"n": [1, 2], "per frame": [10.0, 11.5], "per sequence": [10.0, 10.25]}
    s = {"n": [1, 2], "per frame": [0.5, 0.6], "per sequence": [0.5, 0.52]}
    text = results.growth_findings({"psnr": g, "ssim": s})
    assert "From 1 to 2 samples the RFN's PSNR grows by 0.25 dB" in text and "by 1.50 dB when" in text
    assert "for SSIM by 0.020 and 0.100" in text


def test_save_table_records_a_csv(tmp_path):
    import pandas as pd

    from rfn.book.figures import FigureRecorder

    rec = FigureRecorder("05_results", profile="smoke", seed=0, device="cpu", figures_dir=tmp_path)
    path = results.save_table(rec, pd.DataFrame({"a": [1.0]}), "tab_x.csv", reproduces="Table 0")
    assert path.read_text().splitlines() == [",a", "0,1.0"]
    with pytest.raises(ValueError, match=r"\.csv"):
        results.save_table(rec, pd.DataFrame(), "tab_x.png", reproduces="Table 0")


def test_comparison_runs_are_labelled_in_order(monkeypatch):
    monkeypatch.setattr(results, "get_run", lambda kind, profile, seed, root, dataset: (kind, profile, seed, root))
    got = results.comparison_runs("quick", 1, "arts")
    assert got == {"RFN": ("rfn", "quick", 1, "arts"), "SRNN": ("srnn", "quick", 1, "arts"),
                   "VRNN": ("vrnn", "quick", 1, "arts")}  # fmt: skip


def test_thesis_data_report_names_every_protocol():
    report = results.thesis_data_report({"kth": ("kth-thesis",)})
    first, second = report.splitlines()
    assert first.startswith("KTH: ") and second.startswith("    kth-thesis: KTH test split")

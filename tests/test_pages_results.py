"""rfn.pages.results: the yardsticks of notebook 05 are right, and its figures pass the book's figure check."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
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

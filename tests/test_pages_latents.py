"""rfn.pages.latents: the possible futures share the past, the sharpness and bounce bookkeeping, Table A.1."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rfn.data import make_dataset
from rfn.pages import latents as page
from rfn.viz import figure_problems


def _smmnist(T):
    return make_dataset("smmnist", "test", T, image_size=32, digit_size=16, num_digits=1, return_events=True)


def test_ideal_predictions_share_the_context_and_blur_after():
    data = _smmnist(8)
    trajs = [data.trajectory(i) for i in range(3)]
    videos = torch.stack([torch.from_numpy(data.render(tr)) for tr in trajs])[:, :, None]
    ideal = page.ideal_predictions(data, trajs, n_context=3, n_futures=16, seed=0)
    assert ideal.shape == videos.shape and ideal.dtype == torch.uint8
    assert torch.equal(ideal[:, :3], videos[:, :3])
    assert page.sharpness(ideal[:, -1]).mean() <= page.sharpness(videos[:, -1]).mean() + 1e-6


def test_sharpness_and_first_bounces():
    frame = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    assert page.sharpness(frame).item() == 0.0  # an empty frame, no division by zero
    events = torch.tensor([[1, 0, 0, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.bool)
    assert page.first_bounces(events, n_context=2) == [3, 1]


def test_sinusoid_table_ranks_and_marks_missing_rows():
    logs = {key: {"val": {"neg_elbo": float(i), "nll": 0.0, "kl": 0.0}} for i, key in enumerate(page.THESIS_A1)}
    del logs[("VRNN", True, False, False)]
    table = page.sinusoid_table(logs)
    assert len(table) == 16 and table["note"].str.startswith("not run").sum() == 1
    assert sorted(table[table.model == "SRNN"]["ours: rank within model"].tolist()) == list(range(1, 9))


def test_figures_are_labelled():
    videos = torch.zeros(4, 6, 1, 8, 8, dtype=torch.uint8)
    videos[:, :, :, 2:5, 2:5] = 200
    predictors = {"truth": videos, "other": videos // 2}
    strip = page.blur_strip_figure(
        videos[:2], ["seq 0: truth", "seq 0: other"], torch.zeros(2, 6, dtype=torch.bool), 2, "t"
    )
    blur = page.blur_figure(predictors, 2, [1, 2, 4, 1], "t")
    noisy = torch.randn(3, 5)
    seq = page.sinusoid_sequence_figure(noisy, noisy, 0.05, "t")
    log = {"step": [1, 2], "train_neg_elbo": [0.0, -1.0]}
    curves = page.sinusoid_training_figure(
        {("SRNN", False, False, False): log, ("VRNN", False, True, False): log}, -2.0
    )
    for fig in (strip, blur, seq, curves):
        assert figure_problems(fig) == []
        plt.close(fig)
    assert np.isfinite(page.sharpness_table(predictors, 2, [1, 2, 4, 1]).to_numpy()).all()


def test_bouncing_examples_prefer_bounces_a_few_frames_in():
    assert page.bouncing_examples([0, 3, 9, 2, 4], n=3) == [1, 3, 4]
    assert page.bouncing_examples([0, 9, 3], n=2) == [2, 0]  # too few: the others fill up in order
    try:
        page.bouncing_examples([1, 2], n=0)
    except ValueError as err:
        assert "at least 1" in str(err)
    else:
        raise AssertionError("n=0 must be refused")


def test_predictors_strip_figure_draws_a_row_per_sequence_and_predictor():
    videos = torch.randint(0, 256, (4, 5, 1, 8, 8), dtype=torch.uint8)
    predictors = {"truth": videos, "blur": videos // 2}
    events = torch.zeros(4, 5, dtype=torch.bool)
    events[1, 3] = True
    fig = page.predictors_strip_figure(predictors, events, [1, 3], 2, "strip")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["seq 1: truth", "seq 1: blur", "seq 3: truth", "seq 3: blur"]
    assert figure_problems(fig) == []
    plt.close(fig)


def test_save_blur_gif_groups_the_videos_by_sequence(tmp_path):
    from rfn.book.figures import FigureRecorder

    rec = FigureRecorder("03_stochastic_latents", profile="smoke", seed=0, device="cpu", figures_dir=tmp_path)
    videos = torch.randint(0, 256, (3, 4, 1, 8, 8), dtype=torch.uint8)
    path = page.save_blur_gif(rec, [videos, videos, videos], [0, 2], 2, "fig_demo.gif")
    assert path.read_bytes()[:3] == b"GIF"
    try:
        page.save_blur_gif(rec, [videos, videos[:, :3]], [0], 2, "fig_demo.gif")
    except ValueError as err:
        assert "one shape" in str(err)
    else:
        raise AssertionError("videos of different shapes must be refused")


def test_sharpness_verdict_reads_the_table_and_names_the_models():
    sharp = pd.DataFrame([[0.8, 0.8], [0.8, 0.3]], index=["truth", "mean of 10 futures"], columns=["before", "after"])
    text = page.sharpness_verdict(sharp, ["SRNN", "RFN"])
    assert text.startswith("Measured here: the mean of the futures loses 0.50 of its sharpness")
    assert "(0.80 → 0.30), the truth +0.00." in text and "trained SRNN and RFN" in text
    assert "once notebook 04 has trained them" in page.sharpness_verdict(sharp, [])


def test_sinusoid_protocol_names_the_preset_compute():
    text = page.sinusoid_protocol("quick", 20, 100, -2563.4, "cpu")
    assert text.startswith("protocol (ours): 20 validation sequences of 30 patches × 100 points")
    assert "oracle floor -2563" in text and "on CPU" in text


def test_styled_sinusoid_table_renders():
    logs = {key: {"val": {"neg_elbo": -1000.0 - i, "nll": -1010.0, "kl": 10.0}} for i, key in enumerate(page.THESIS_A1)}
    html = page.styled_sinusoid_table(page.sinusoid_table(logs)).to_html()
    assert "-1000.0" in html and "-1902.6" in html

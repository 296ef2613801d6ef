"""rfn.pages.latents: the possible futures share the past, the sharpness and bounce bookkeeping, Table A.1."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
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

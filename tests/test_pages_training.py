"""rfn.pages.training: the hyperparameter tables read the presets; reconstructions carry the digits in place."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from rfn.data import make_dataset
from rfn.pages import training as page
from rfn.viz import figure_problems


class _Echo(torch.nn.Module):
    """Reconstructs the true frames and predicts black ones: identity should be the truth's and 0."""

    def reconstruct_and_predict(self, x):
        B, T = x.shape[:2]
        return {"reconstruction": x[:, 1:], "prediction": torch.zeros_like(x[:, 1:]),
                "kl": torch.full((B, T - 1), 0.1), "nll": torch.ones(B, T - 1)}  # fmt: skip


def test_hyper_table_sets_the_thesis_beside_both_presets():
    table = page.hyper_table(page.THESIS_A3, ["srnn", "vrnn"], "quick")
    assert list(table.columns) == ["thesis", "SRNN thesis", "SRNN quick", "VRNN thesis", "VRNN quick"]
    assert table.loc["frame size", "SRNN thesis"] == "64x64" and table.loc["frame size", "SRNN quick"] == "32x32"


def test_reconstructions_report_digits_in_place():
    data = make_dataset("smmnist", "test", 4, image_size=32, digit_size=16, num_digits=2)
    x = torch.stack([data[i] for i in range(3)])
    assert page.identity_readable(x, data.num_digits)
    fig, stats = page.reconstructions_figure({"rfn": _Echo()}, x, dataset=data, title="t")
    assert figure_problems(fig) == []
    plt.close(fig)
    row = stats.loc["RFN"]
    assert row["digits in place: posterior"] == row["digits in place: truth"] > 0.5
    assert row["digits in place: prior"] == 0.0
    assert row["bound (bpp)"] == torch.tensor(1.1).item()


def test_identity_is_not_read_on_small_frames():
    assert not page.identity_readable(torch.zeros(1, 3, 1, 16, 16, dtype=torch.uint8), 2)


def test_curves_figure_is_labelled():
    df = pd.DataFrame({"step": [1, 2], "bpp": [3.0, 2.0], "val_bpp": [None, 2.5], "kl_bpp": [0.1, 0.2],
                       "beta": [0.5, 1.0], "lr": [1e-3, 5e-4]})  # fmt: skip
    fig = page.curves_figure({"rfn": df, "deterministic": df}, "t")
    assert figure_problems(fig) == []
    plt.close(fig)


def test_last_bounds_sentence_orders_the_runs():
    curves = {
        "rfn": pd.DataFrame({"val_bpp": [2.0, float("nan"), 1.25]}),
        "srnn": pd.DataFrame({"val_bpp": [1.5, 1.0, float("nan")]}),
    }
    text = page.last_bounds_sentence(curves)
    assert text.startswith("Last validation bound, lowest first: SRNN 1.000, RFN 1.250 bits per pixel.")
    curves["vrnn"] = pd.DataFrame({"val_bpp": [float("nan")]})
    try:
        page.last_bounds_sentence(curves)
    except ValueError as err:
        assert "vrnn" in str(err)
    else:
        raise AssertionError("a run without a validation bound must be named")


def test_digits_in_place_sentence_reads_the_table_or_says_why_not():
    frames = torch.zeros(3, 8, 1, 32, 32, dtype=torch.uint8)
    stats = pd.DataFrame(
        {"digits in place: truth": [0.9, 0.9], "digits in place: posterior": [0.5, 0.7],
         "digits in place: prior": [0.2, 0.4]}
    )  # fmt: skip
    text = page.digits_in_place_sentence(stats, frames, 2)
    assert text.startswith("The reader finds 90% of the true digits")
    assert "keep 50%-70% of them in place and one-step predictions 20%-40%" in text
    assert "over 3 sequences and 7 frames each" in text
    small = torch.zeros(3, 8, 1, 16, 16, dtype=torch.uint8)
    assert "its frames are 16×16 with 1 digit(s)" in page.digits_in_place_sentence(None, small, 1)


def test_first_predictions_figure_is_labelled():
    both = torch.randint(0, 256, (4, 6, 1, 8, 8), dtype=torch.uint8)
    fig = page.first_predictions_figure(both, 2, 5)
    assert "after 2 warm-up frames (trained on 5-frame sequences)" in fig.axes[0].get_title()
    assert figure_problems(fig) == []
    plt.close(fig)
    try:
        page.first_predictions_figure(both[:3], 2, 5)
    except ValueError as err:
        assert "odd" in str(err) or "rows" in str(err)
    else:
        raise AssertionError("an odd number of rows must be refused")

"""rfn.pages.placed_digits: notebook 05's cached table of digits at their place, its shown part and its paragraph."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from toy_video_model import CopyLast

from rfn import runs
from rfn.data import StochasticMovingMNIST
from rfn.metrics.placed_digits import PERFECT
from rfn.pages import placed_digits as page

CONTEXT, K = 5, 6


def _protocol(seed=3):
    return SimpleNamespace(name="tiny", seed=seed, context_frames=CONTEXT, cache_key=lambda: {"tiny": seed})


def _run(tmp_path, kind, tag):
    ckpt = tmp_path / kind / "last.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(tag)
    return runs.Run(kind, "quick", 0, ckpt, 1, 2, {"seq_len": 8}, ckpt.parent)


@pytest.fixture(scope="module")
def test_set():
    return StochasticMovingMNIST("test", seq_len=CONTEXT + K, image_size=32, digit_size=16)


def test_cached_table_computes_once_and_again_for_a_retrained_model(test_set, tmp_path, monkeypatch):
    calls = []
    record = page.placed_digit_record
    monkeypatch.setattr(page, "placed_digit_record", lambda *a, **kw: calls.append(1) or record(*a, **kw))
    by_label = {"RFN": _run(tmp_path, "rfn", b"a"), "SRNN": _run(tmp_path, "srnn", b"b")}
    models = {"RFN": CopyLast(), "SRNN": CopyLast()}
    table = page.cached_table(by_label, models, test_set, [4, 1, 7], _protocol(), 2)
    assert calls == [1] and (tmp_path / "rfn" / "book_placed_digits_tiny.json").is_file()
    assert table.attrs["samples"] == 2 and table.attrs["sequences"] == 3 and list(table.index)[-1] == f"t+{K}"
    assert table["RFN mean"].tolist() == pytest.approx(table["last context frame"].tolist())
    again = page.cached_table(by_label, models, test_set, [4, 1, 7], _protocol(), 2)
    assert calls == [1] and again.equals(table)
    by_label["SRNN"].checkpoint.write_bytes(b"retrained")  # the key holds every run's checkpoint
    page.cached_table(by_label, models, test_set, [4, 1, 7], _protocol(), 2)
    assert calls == [1, 1]
    with pytest.raises(ValueError, match="same models in the same order"):
        page.cached_table(by_label, {"SRNN": models["SRNN"], "RFN": models["RFN"]}, test_set, [1], _protocol(), 2)


def test_headline_table_and_findings(test_set, tmp_path):
    by_label = {"RFN": _run(tmp_path, "rfn", b"a")}
    table = page.cached_table(by_label, {"RFN": CopyLast()}, test_set, range(6), _protocol(), 2)
    shown = page.headline_table(table, ["RFN"])
    assert list(shown.columns) == ["t+1", "t+2", "t+3", "t+5"]  # the horizons of t+1, 2, 3, 5, 10 it has
    assert list(shown.index[:5]) == [
        "true frames",
        f"{PERFECT} mean",
        f"{PERFECT} best-of-2",
        "RFN mean",
        "RFN best-of-2",
    ]
    text = page.findings(table, ["RFN"])
    assert text.startswith("**What the numbers show.** the RFN's typical sample keeps")
    assert "above at none and below at none" in text  # it holds the last frame, as the baseline does
    assert f"by t+{K})" in text

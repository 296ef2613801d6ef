"""benchmarks/ssim_temperature.py picks selection sequences the protocol does not score, and runs end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from rfn.evaluation.inputs import select_sequences
from rfn.metrics import get_protocol

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("ssim_temperature", ROOT / "benchmarks" / "ssim_temperature.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


def test_selection_sequences_are_disjoint_from_the_scored_ones():
    for name, n in (("smmnist-reference", 10_000), ("smmnist-smoke", 40)):
        p = get_protocol(name)
        seed = script.selection_seed(n, p)
        scored = set(select_sequences(n, p.n_test_sequences, p.seed, "x"))
        assert seed != p.seed and not scored & set(select_sequences(n, p.n_test_sequences, seed, "x")), name
    with pytest.raises(ValueError, match="no disjoint selection set"):
        script.selection_seed(100, get_protocol("smmnist-reference"))
    with pytest.raises(ValueError, match="no seed in 3 draws"):
        script.selection_seed(130, get_protocol("smmnist-reference"), tries=3)


@pytest.mark.filterwarnings("ignore:rfn evaluate. lpips skipped")  # the smoke model's 16x16 frames; SSIM is scored
def test_it_scores_a_trained_model_at_each_temperature(tmp_path):
    from rfn import runs

    runs.train_preset("smoke", tmp_path / "run", ["train.steps=1"])
    out = script.main([str(tmp_path / "run" / "last.pt"), "--protocol", "smmnist-smoke", "--temperatures", "1", "0.5",
                       "--json", str(tmp_path / "t.json")])  # fmt: skip
    stored = json.loads((tmp_path / "t.json").read_text())
    assert stored["curves"].keys() == {"1.0", "0.5"} == out["curves"].keys()
    frames = get_protocol("smmnist-smoke").predicted_frames
    assert all(len(c["ssim"]) == frames for c in stored["curves"].values())
    assert set(stored["baselines"]) == {"black frames", "last context frame"}

"""rfn.evaluation.run and .inputs: options, reproducible phases, skipped metrics, errors of the API."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rfn import cli
from rfn.evaluation import EvaluationOptions, EvaluationWarning, evaluate, format_table, phase_seed
from rfn.evaluation.inputs import select_sequences
from rfn.metrics.protocol import get_protocol
from rfn.models import SRNN, SRNNConfig


@pytest.fixture(scope="module")
def smoke_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke-run")
    assert cli.main(["train", "--preset", "smoke", "--out", str(out), "--device", "cpu", "--steps", "2"]) == 0
    return out / "last.pt"


def test_phases_are_reproducible_and_skipped_metrics_are_said(smoke_checkpoint):
    opts = EvaluationOptions(sequences=2, samples=2, iw_k=2, device="cpu", fvd=False, progress=False)
    with pytest.warns(EvaluationWarning) as caught:
        a = evaluate(smoke_checkpoint, "smoke", opts)
    assert sorted(str(w.message).split(":")[1].strip() for w in caught) == ["fvd skipped", "lpips skipped"]
    with pytest.warns(EvaluationWarning):
        b = evaluate(smoke_checkpoint, "smoke", opts)
    assert a["protocol"]["name"] == "smoke+n_samples=2+n_test_sequences=2"
    assert a["fvd"] is None and a["skipped"]["fvd"] == "--no-fvd"
    # every phase reseeds from the protocol: the same numbers twice, whatever ran before
    assert a["bpp"] == b["bpp"] and a["best_of_n"] == b["best_of_n"]
    torch.manual_seed(123)
    with pytest.warns(EvaluationWarning):
        c = evaluate(smoke_checkpoint, "smoke", dataclasses.replace(opts, iw_k=0))
    assert c["best_of_n"] == a["best_of_n"] and c["bpp"]["nelbo"] == a["bpp"]["nelbo"] and "iw" not in c["bpp"]
    assert c["skipped"]["iw"] == "--iw-k 0"
    assert "skipped" in format_table(a)


def test_options_are_checked():
    for bad in (dict(batch_size=0), dict(batch_size=2.0), dict(iw_k=-1), dict(iw_k=True)):
        with pytest.raises(ValueError, match="integer"):
            EvaluationOptions(**bad)
    assert EvaluationOptions().recorded(10) == {
        "iw_k": 20,
        "bpp_frames": 10,
        "batch_size": 32,
        "layout": "auto",
        "fvd": True,
    }


def test_errors_of_the_api(tmp_path):
    small = {"levels": 2, "h_channels": 4, "a_channels": 4, "head_hidden": 4, "extractor_channels": 4}
    model = SRNN(SRNNConfig(image_size=(8, 8), z_channels=2, n_mix=2, **small))
    longer = get_protocol("bair-thesis-30").replace(total_frames=31)
    bair = {"name": "bair", "seq_len": 10, "root": str(tmp_path), "kwargs": {}}
    with pytest.raises(ValueError, match="needs 31 frames per sequence .* only 30"):
        evaluate(model, longer, EvaluationOptions(data_config=bair, device="cpu"))
    with pytest.raises(ValueError, match="data_config"):
        evaluate(model, "smoke", EvaluationOptions(device="cpu"))
    smmnist = {"name": "smmnist", "seq_len": 1, "kwargs": {}}
    with pytest.raises(ValueError, match="at least 2 frames"):
        evaluate(model, "smoke", EvaluationOptions(data_config=smmnist, device="cpu"))


def test_phase_seeds_are_stable_and_distinct():
    p = get_protocol("smoke")
    seeds = {phase_seed(p, phase, i) for phase in ("bpp", "iw", "samples") for i in range(4)}
    assert len(seeds) == 12
    assert phase_seed(p, "bpp", 0) == phase_seed(get_protocol("smoke"), "bpp", 0)
    assert phase_seed(p.replace(seed=1), "bpp", 0) != phase_seed(p, "bpp", 0)


def test_sequence_selection():
    assert select_sequences(4, None, 0, "x") == [0, 1, 2, 3]
    picked = select_sequences(50, 5, 3, "x")
    assert picked == sorted(set(picked)) and len(picked) == 5 and picked == select_sequences(50, 5, 3, "x")
    with pytest.raises(ValueError, match="6 test sequences requested but the split holds only 5"):
        select_sequences(5, 6, 0, "x")


def test_baselines_are_scored_on_the_models_own_sequences(smoke_checkpoint, monkeypatch):
    """Black frames and the held last context frame are scored in the evaluation call itself, on the very clips the
    samples are scored on: recomputed here from the recorded indices they match, from other sequences they do not."""
    from rfn.data import make_dataset
    from rfn.evaluation import run as run_module
    from rfn.evaluation.run import baseline_predictions
    from rfn.metrics import frame_scores
    from rfn.metrics.protocol import get_protocol as protocol

    seen = []
    original = run_module.baseline_predictions
    monkeypatch.setattr(run_module, "baseline_predictions", lambda x, c: seen.append(x.clone()) or original(x, c))
    opts = EvaluationOptions(sequences=3, samples=2, iw_k=0, device="cpu", fvd=False, progress=False)
    with pytest.warns(EvaluationWarning):
        res = evaluate(smoke_checkpoint, "smoke", opts)
    best = res["best_of_n"]
    assert best["indices"] == res["bpp"]["per_sequence"]["indices"] and len(best["indices"]) == 3
    proto = protocol("smoke")
    data = torch.load(smoke_checkpoint, weights_only=False)["data_config"]
    test = make_dataset(data["name"], split="test", seq_len=proto.total_frames, **data.get("kwargs", {}))
    clips = torch.stack([test[i] for i in best["indices"]])
    assert torch.equal(torch.cat(seen), clips)
    c = proto.context_frames
    for name, guess in baseline_predictions(clips, c).items():
        expect = frame_scores(clips[:, c:], guess[:, None], "ssim", device="cpu").double().mean((0, 1))
        torch.testing.assert_close(torch.tensor(best["baselines"][name]["ssim"], dtype=torch.float64), expect)
        per_frame = torch.tensor(best["baselines_per_frame"][name]["ssim"], dtype=torch.float64)
        assert per_frame.shape == (3, proto.total_frames - c)
        torch.testing.assert_close(per_frame.mean(0), expect)
    others = [i for i in range(len(test)) if i not in best["indices"]][:3]
    other = torch.stack([test[i] for i in others])
    black = frame_scores(other[:, c:], torch.zeros_like(other[:, c:])[:, None], "ssim", device="cpu").mean((0, 1))
    assert not torch.allclose(black.double(), torch.tensor(best["baselines"]["black frames"]["ssim"]).double())
    assert len(best["ssim"]["best_per_frame"]) == 3 and len(res["bpp"]["per_sequence"]["nelbo"]) == 3

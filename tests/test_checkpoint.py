"""Checkpoints (rfn.checkpoint): atomic writes, code-free loads, clear errors, old files.

Also rebuilding the model (rfn.models.registry.load_model, rfn.load).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from rfn.checkpoint import CheckpointError, load_checkpoint, remove_stale_temporaries, save_checkpoint
from rfn.models.registry import load_model
from rfn.training import Trainer


def _payload(step: int, big: int = 0) -> dict:
    return {
        "model_name": "toy-video",
        "model_config": {},
        "model": {"w": torch.full((max(big, 1),), float(step))},
        "step": step,
    }


def test_checkpoint_round_trip_and_load_model(toy, tmp_path):
    model = toy.model()
    t = Trainer(model, toy.videos(8), None, toy.cfg(steps=2), tmp_path)
    t.fit()
    again = load_model(tmp_path / "last.pt")
    assert not again.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k
    assert load_model(tmp_path).config == model.config  # a run folder works too
    data = torch.load(tmp_path / "last.pt", weights_only=True)  # no code can run
    assert data["format"] == "rfn-checkpoint" and data["step"] == 2 and data["model_name"] == "toy-video"
    for key in ("optimizer", "scheduler", "rng", "train_config", "data_config", "model_config", "nonfinite"):
        assert key in data


def test_keep_previous_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "last.pt", _payload(1), keep_previous=True)
    save_checkpoint(tmp_path / "last.pt", _payload(2), keep_previous=True)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2
    assert load_checkpoint(tmp_path / "prev.pt")["step"] == 1


def test_interrupted_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, _payload(1))

    def broken_save(obj, f, *a, **k):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr("rfn.checkpoint.torch.save", broken_save)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, _payload(2))
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left behind


def test_killed_writer_leaves_loadable_checkpoint(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, torch
        from rfn.checkpoint import save_checkpoint
        def payload(step):
            return {{"model_name": "toy-video", "model_config": {{}}, "step": step,
                    "model": {{"w": torch.full((4_000_000,), float(step))}}}}
        save_checkpoint({str(tmp_path / "last.pt")!r}, payload(0))
        print("ready", flush=True)
        step = 1
        while True:
            save_checkpoint({str(tmp_path / "last.pt")!r}, payload(step))
            step += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.4)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    data = load_checkpoint(tmp_path / "last.pt")
    w = data["model"]["w"]
    assert w.numel() == 4_000_000 and torch.all(w == float(data["step"]))  # a complete version
    remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"checkpoint file .*nope.pt does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="is a folder without last.pt"):
        load_checkpoint(tmp_path)

    good = save_checkpoint(tmp_path / "good.pt", _payload(3, big=1000))
    raw = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="trunc.pt is corrupt or truncated"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pt is corrupt or truncated"):
        load_checkpoint(tmp_path / "text.pt")

    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="foreign.pt is not an rfn checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    torch.save({"payload": Path("x")}, tmp_path / "code.pt")  # a pickled class: weights_only refuses it
    with pytest.raises(CheckpointError, match="holds pickled Python objects.*could run code"):
        load_checkpoint(tmp_path / "code.pt")

    future = _payload(1) | {"format": "rfn-checkpoint", "format_version": 99}
    torch.save(future, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format version 99; this rfn reads versions up to 2"):
        load_checkpoint(tmp_path / "future.pt")

    with pytest.raises(CheckpointError, match="holds a 'toy-video' model, but a 'rfn' model was expected"):
        load_checkpoint(good, expected_model="rfn")
    save_checkpoint(tmp_path / "alien.pt", _payload(1) | {"model_name": "no-such-model"})
    with pytest.raises(CheckpointError, match=r"cannot rebuild the model .* unknown model 'no-such-model'"):
        load_model(tmp_path / "alien.pt")
    with pytest.raises(CheckpointError, match="do not fit a 'toy-video' model"):
        load_model(good)


OLD_RUN = Path(__file__).parent / "fixtures" / "checkpoint_3c67061"


def test_checkpoint_of_an_earlier_version_loads_and_resumes(tmp_path):
    """`rfn train --preset smoke --steps 2` at commit 3c67061 (before rfn.training): load it, resume it to step 4."""
    import shutil

    import rfn
    from rfn.config import TrainConfig
    from rfn.data import make_datasets
    from rfn.models.registry import build

    data = load_checkpoint(OLD_RUN / "last.pt")
    assert data["step"] == 2 and "warmup_steps" not in data["train_config"]
    model = rfn.load(OLD_RUN / "last.pt")
    for k, v in data["model"].items():
        assert torch.equal(model.state_dict()[k], v), k
    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    fresh = build(data["model_name"], data["model_config"])
    cfg = TrainConfig(**{**data["train_config"], "steps": 4})  # a field added since takes its default
    train_set, val_set = make_datasets(data["data_config"])
    trainer = Trainer(fresh, train_set, val_set, cfg, run, data_config=data["data_config"], resume=True)
    rows = trainer.fit()
    assert trainer.step == 4 and [r["step"] for r in rows] == [3, 4]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)

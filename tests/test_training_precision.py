"""bfloat16 autocast on a CPU (train.cpu_bf16): used where the CPU computes bfloat16 natively, refused elsewhere."""

import pytest
import torch

from rfn import runtime
from rfn.training import trainer as trainer_module
from rfn.training.preset import train_preset


def test_bf16_native_answers_per_device():
    assert runtime.bf16_native("cpu") == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert runtime.bf16_native(torch.device("meta")) is False


@pytest.mark.skipif(not runtime.bf16_native("cpu"), reason="this CPU has no native bfloat16")
def test_cpu_bf16_trains_under_autocast(tmp_path, monkeypatch):
    seen = []
    real_autocast = torch.autocast

    def spy(*args, **kwargs):
        ctx = real_autocast(*args, **kwargs)
        seen.append((ctx.device, ctx.fast_dtype, ctx._enabled))
        return ctx

    monkeypatch.setattr(trainer_module.torch, "autocast", spy)
    trainer, rows = train_preset("smoke", tmp_path / "run", ["train.steps=2", "train.cpu_bf16=true"])
    assert trainer.step == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    assert ("cpu", torch.bfloat16, True) in seen


def test_cpu_bf16_is_refused_where_it_would_be_emulated(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "bf16_native", lambda device: False)
    with pytest.raises(ValueError, match="train.cpu_bf16 needs a CPU that computes bfloat16 natively"):
        train_preset("smoke", tmp_path / "run", ["train.steps=1", "train.cpu_bf16=true"])
    trainer, _ = train_preset("smoke", tmp_path / "run2", ["train.steps=1"])  # off by default: float32
    assert trainer.step == 1

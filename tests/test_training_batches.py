"""Every batch kind trains through the one engine: the book's former loops are presets that `rfn train` runs."""

from __future__ import annotations

import csv

import pytest
import torch

from rfn import runs
from rfn.models.registry import MODELS, check_batch, load_model
from rfn.presets import get_preset


@pytest.mark.parametrize(
    ("preset", "first_columns"),
    [
        ("smoke-moons-flow", ["loss", "nll"]),
        ("smoke-glow-mnist", ["loss", "bpp", "nll_bpp", "kl_bpp"]),
        ("smoke-cond-glow-mnist", ["loss", "bpp", "nll_bpp", "kl_bpp"]),
        ("smoke-sinusoid-srnn-smooth-init", ["loss", "elbo", "kl", "nll"]),
        ("smoke-sinusoid-vrnn-resq", ["loss", "elbo", "kl", "nll"]),
    ],
)
def test_small_presets_train_resume_and_load(tmp_path, preset, first_columns):
    over = ["train.steps=2", "train.val_batches=1", "train.log_every=1", "train.device=cpu"]
    trainer, rows = runs.train_preset(preset, tmp_path, over)
    assert trainer.step == 2 and [r["step"] for r in rows] == [1, 2]
    with open(tmp_path / "metrics.csv") as f:
        header = next(csv.reader(f))
    assert header[3 : 3 + len(first_columns)] == first_columns  # after step, lr, beta
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    assert rows[-1]["val_loss"] is not None  # validated at the last step
    trainer, rows = runs.train_preset(preset, tmp_path, [*over[:-1], "train.steps=3"], resume=True)
    assert trainer.step == 3 and [r["step"] for r in rows] == [3]
    model = load_model(tmp_path)
    assert type(model).NAME == get_preset(preset).model and not model.training


def test_every_registered_model_names_its_batch_kind():
    import rfn.models  # noqa: F401 (registers every model)

    kinds = {name: cls.BATCH for name, (_, cls) in MODELS.items()}
    assert kinds["rfn"] == kinds["srnn"] == kinds["deterministic"] == "video"
    assert (kinds["glow"], kinds["cond-glow"], kinds["dense-srnn"], kinds["point-flow"]) == (
        "images",
        "pairs",
        "sequences",
        "points",
    )


def test_check_batch_messages():
    u8 = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    check_batch("pairs", (u8, u8[:, :, :4, :4]))
    with pytest.raises(ValueError, match=r"must be a \(condition uint8 .* \(a 'pairs' model\), got Tensor"):
        check_batch("pairs", u8)
    with pytest.raises(ValueError, match="the same batch size"):
        check_batch("pairs", (u8, u8[:1]))
    with pytest.raises(TypeError, match="must have dtype torch.uint8"):
        check_batch("video", torch.zeros(2, 3, 1, 8, 8))
    with pytest.raises(ValueError, match=r"float \[B, T, D\] sequences"):
        check_batch("sequences", torch.zeros(2, 3, dtype=torch.int64))


def test_glow_mnist_preset_learns_real_mnist(tmp_path):
    """A short CPU run of the glow-mnist preset lowers held-out bits per pixel by more than 1 bit."""
    over = ["train.steps=60", "model.hidden=32", "train.warmup_steps=20", "train.batch_size=64"]
    over += ["train.val_batches=4", "train.val_every=60", "train.log_every=60", "train.device=cpu"]
    trainer, _ = runs.train_preset("quick-glow-mnist", tmp_path / "a", [*over, "train.steps=1"], resume=False)
    start = trainer.evaluate()["bpp"]  # after the data-dependent initialisation and one step
    trainer, rows = runs.train_preset("quick-glow-mnist", tmp_path / "a", over, resume=True)
    end = rows[-1]["val_bpp"]
    assert end < start - 1.0, (start, end)

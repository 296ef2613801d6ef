"""Training features: gradient accumulation equals the large batch, best.pt, TensorBoard images and hyper-parameters."""

from __future__ import annotations

import pytest
import torch

from rfn.checkpoint import load_checkpoint
from rfn.training import Trainer
from rfn.training.accumulate import forward_backward, split_batch


def _train(toy, out, **train):
    model = toy.model(seed=0, stochastic=False, double=True)
    trainer = Trainer(model, toy.videos(16), toy.videos(8, offset=500), toy.cfg(**train), out)
    rows = trainer.fit()
    return trainer, rows, toy.params(model)


@pytest.mark.parametrize("parts", [2, 4])
def test_accumulation_is_the_large_batch_update(toy, tmp_path, parts):
    """float64, deterministic toy model: 6 Adam steps of batch 8 in 1 vs `parts` micro-batches."""
    kw = dict(batch_size=8, steps=6, grad_clip=None, log_every=3, val_every=3)
    _, rows_1, p_1 = _train(toy, tmp_path / "one", **kw)
    _, rows_k, p_k = _train(toy, tmp_path / "acc", accumulate=parts, **kw)
    assert rows_1[-1]["step"] == rows_k[-1]["step"] == 6
    assert p_1.keys() == p_k.keys()
    for name in p_1:
        torch.testing.assert_close(p_1[name], p_k[name], rtol=1e-10, atol=1e-12, msg=name)
    for key in ("loss", "bpp", "grad_norm", "val_bpp"):
        assert rows_k[-1][key] == pytest.approx(rows_1[-1][key], rel=1e-6), key
    start = toy.params(toy.model(seed=0, stochastic=False, double=True))
    assert not all(torch.equal(p_1[k], start[k]) for k in p_1)  # it trained


def test_accumulated_gradient_matches_one_backward(toy):
    model = toy.model(seed=0, stochastic=False, double=True)
    x = toy.videos(8)[0][None].repeat(8, 1, 1, 1, 1)
    x[::2] = toy.videos(8)[3]
    model.train()
    model.initialized.fill_(True)

    def grads(parts):
        model.zero_grad()
        out = forward_backward(lambda b, beta: model.loss(b, beta), x, 0.5, parts, torch.device("cpu"), _null)
        return out["loss"].detach().double(), [p.grad.clone() for p in model.parameters()]

    loss_1, g_1 = grads(1)
    loss_4, g_4 = grads(4)
    assert float(loss_4) == pytest.approx(float(loss_1), rel=1e-6)
    for a, b in zip(g_1, g_4):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="train.accumulate=3 does not divide this process's batch of 8 items"):
        split_batch(x, 3)


def _null():
    import contextlib

    return contextlib.nullcontext()


def test_accumulate_must_divide_the_batch(toy):
    with pytest.raises(ValueError, match="train.accumulate must be a divisor of batch_size=4"):
        toy.cfg(accumulate=3)


def test_best_checkpoint_and_its_record_survive_a_resume(toy, tmp_path):
    out = tmp_path / "run"
    trainer, rows, _ = _train(toy, out, steps=8, val_every=2, ckpt_every=4)
    vals = {r["step"]: r["val_bpp"] for r in rows if r["val_bpp"] is not None}
    best_step = min(vals, key=vals.get)
    best = load_checkpoint(out / "best.pt")
    assert best["step"] == best_step and best["best"] == {"step": best_step, "metric": "bpp", "value": vals[best_step]}
    assert load_checkpoint(out / "last.pt")["best"] == trainer.best == best["best"]
    assert not (out / "best.pt.prev").exists()
    # a run that stops at step 4 and resumes ends with the same best record as the straight run
    model = toy.model(seed=0, stochastic=False, double=True)
    cfg = toy.cfg(steps=8, val_every=2, ckpt_every=4)
    Trainer(model, toy.videos(16), toy.videos(8, offset=500), cfg, tmp_path / "b").fit(until=4)
    model = toy.model(seed=0, stochastic=False, double=True)
    again = Trainer(model, toy.videos(16), toy.videos(8, offset=500), cfg, tmp_path / "b", resume=True)
    again.fit()
    assert again.best == trainer.best


def test_tensorboard_has_predictions_and_hyperparameters(toy, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _train(toy, tmp_path / "tb", tensorboard=True, steps=4, val_every=2)
    events = EventAccumulator(str(tmp_path / "tb" / "tb"))
    events.Reload()
    images = events.Images("val/predictions")
    assert [i.step for i in images] == [2, 4]
    assert (images[0].width, images[0].height) == (3 * 8, 2 * 2 * 8 + 3)  # 3 frames; 2 sequences x 2 rows + gaps
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in hparams and "_hparams_/session_start_info" in hparams
    assert b"train.lr" in hparams["_hparams_/session_start_info"]
    assert "val/bpp" in events.Tags()["scalars"]

"""The training engine (rfn.training.Trainer).

Schedules applied, exact resume, logs, run folders, the non-finite guard, data
parallelism (gloo), and every batch kind (video, images, pairs, sequences, points).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from toy_video_model import ddp_worker, free_port

from rfn.checkpoint import load_checkpoint, save_checkpoint
from rfn.config import TrainConfig
from rfn.training import NonFiniteError, RunDirectoryError, Trainer, lr_factor, step_indices


def test_trainer_applies_schedules(toy, tmp_path):
    c = toy.cfg(steps=6, decay_start=2, log_every=1, val_every=0, beta_warmup_steps=3, beta_start=0.1)
    rows = Trainer(toy.model(), toy.videos(8), None, c, tmp_path).fit()
    assert [r["step"] for r in rows] == list(range(1, 7))
    # row for step s+1 reports the lr and beta used by optimiser step s
    assert [r["lr"] for r in rows] == pytest.approx([1e-2 * lr_factor(s, c) for s in range(6)], rel=1e-12)
    assert [r["beta"] for r in rows] == pytest.approx([0.1, 0.4, 0.7, 1.0, 1.0, 1.0], rel=1e-12)


def test_resume_is_bitwise_identical(toy, tmp_path):
    c = toy.cfg(steps=8, decay_start=4, ckpt_every=100)
    straight = toy.model()
    rows_a = Trainer(straight, toy.videos(16), toy.videos(8, offset=500), c, tmp_path / "a").fit()

    first = toy.model()
    Trainer(first, toy.videos(16), toy.videos(8, offset=500), c, tmp_path / "b").fit(until=4)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 4
    # a "new process": other weights, other global random state, loader workers this time
    toy.scramble()
    second = toy.model(seed=99)
    c2 = toy.cfg(steps=8, decay_start=4, ckpt_every=100, num_workers=2)
    rows_b = Trainer(second, toy.videos(16), toy.videos(8, offset=500), c2, tmp_path / "b", resume=True).fit()

    pa, pb = toy.params(straight), toy.params(second)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert not torch.equal(pa["prior.weight"], toy.params(toy.model())["prior.weight"])  # it did train
    # the logged curve continues too, and the CSV holds each step once
    assert [r["step"] for r in rows_b] == [6, 8]
    for ra, rb in zip(rows_a[-2:], rows_b):
        for k in ("bpp", "nll_bpp", "kl_bpp", "loss", "grad_norm", "val_bpp", "lr", "beta"):
            assert ra[k] == rb[k] or (ra[k] is None and rb[k] is None), k
    with open(tmp_path / "b" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [2, 4, 6, 8]


def test_metrics_csv_columns_and_validation(toy, tmp_path):
    rows = Trainer(toy.model(), toy.videos(16), toy.videos(8, offset=500), toy.cfg(steps=4), tmp_path).fit()
    with open(tmp_path / "metrics.csv") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        lines = list(reader)
    for col in ("step", "lr", "beta", "loss", "bpp", "nll_bpp", "kl_bpp", "z_std", "grad_norm", "nonfinite", "val_bpp"):
        assert col in header
    assert lines[0]["val_bpp"] == "" and float(lines[1]["val_bpp"]) > 0  # validation at step 4 only
    assert rows[1]["val_bpp"] == pytest.approx(rows[1]["val_nll_bpp"] + rows[1]["val_kl_bpp"], rel=1e-5)


def test_validation_is_repeatable_and_keeps_training_stream(toy, tmp_path):
    t = Trainer(toy.model(), toy.videos(16), toy.videos(8, offset=500), toy.cfg(), tmp_path)
    t.evaluate()  # the first call also prepares the run (seeding, data-dependent init)
    before = torch.get_rng_state()
    a, b = t.evaluate(), t.evaluate()
    assert a == b and a["bpp"] > 0
    assert torch.equal(torch.get_rng_state(), before)


def test_tensorboard_events_written(toy, tmp_path):
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2, tensorboard=True), tmp_path).fit()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_out_dir_holding_a_run_is_refused(toy, tmp_path):
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=rf"output folder {tmp_path} already holds a run with the same config"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=r"its config differs: model_config.hidden: 4 there, 8 now"):
        Trainer(toy.model(hidden=8), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=r"cannot resume the run in .* train_config.lr: 0.01 there, 0.001 now"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2, lr=1e-3), tmp_path, resume=True).fit()
    # extending a finished run is a resume with more steps
    t = Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=4), tmp_path, resume=True)
    t.fit()
    assert t.step == 4


def test_unregistered_model_is_refused(toy, tmp_path):
    with pytest.raises(TypeError, match="register it with"):
        Trainer(torch.nn.Linear(2, 2), toy.videos(8), None, toy.cfg(), tmp_path)


def test_float_data_is_refused(toy, tmp_path):
    class FloatVideos(toy.videos):
        def __getitem__(self, i):
            return super().__getitem__(i).float()

    with pytest.raises(TypeError, match="training batch must have dtype torch.uint8"):
        Trainer(toy.model(), FloatVideos(8), None, toy.cfg(), tmp_path).fit()


@pytest.mark.parametrize("fused", [True, False])
def test_nan_step_is_skipped_and_counted(toy, tmp_path, monkeypatch, fused):
    if not fused:  # a device without fused Adam: the guard falls back to a host-side check
        real_adam = torch.optim.Adam

        def adam_without_fused(params, lr, fused=None, **kw):
            if fused:
                raise RuntimeError("fused Adam is not supported on this device")
            return real_adam(params, lr=lr, **kw)

        monkeypatch.setattr(torch.optim, "Adam", adam_without_fused)
    model = toy.model(poison="once", poison_call=3)  # the third training step returns a NaN loss
    t = Trainer(model, toy.videos(16), None, toy.cfg(steps=6, log_every=1, val_every=0), tmp_path)
    t.fit(until=2)
    assert t._fused is fused
    before = toy.params(model)
    opt_steps = t.optimizer.state[next(iter(model.parameters()))]["step"].item()
    rows = t.fit(until=3)
    assert rows[-1]["nonfinite"] == 1 and rows[-1]["bpp"] != rows[-1]["bpp"]  # nothing finite to average
    after = toy.params(model)
    assert all(torch.equal(before[k], after[k]) for k in before if k != "initialized")
    assert t.optimizer.state[next(iter(model.parameters()))]["step"].item() == opt_steps  # Adam did not count it
    rows = t.fit()
    assert rows[-1]["nonfinite"] == 1 and np.isfinite(rows[-1]["bpp"])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert load_checkpoint(tmp_path / "last.pt")["nonfinite"] == 1


def test_too_many_nonfinite_steps_stop_with_clear_error(toy, tmp_path):
    model = toy.model(poison="always")
    t = Trainer(model, toy.videos(16), None, toy.cfg(steps=20, log_every=1, max_nonfinite=3), tmp_path)
    with pytest.raises(
        NonFiniteError,
        match=r"4 training steps were skipped .* \(limit train.max_nonfinite=3\), at step 4. No checkpoint",
    ):
        t.fit()
    assert t.step == 4


def test_resume_refuses_checkpoint_of_another_model(toy, tmp_path):
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    data = load_checkpoint(tmp_path / "last.pt")
    data["model_name"] = "other-model"
    (tmp_path / "run.json").unlink()
    save_checkpoint(tmp_path / "last.pt", {k: v for k, v in data.items() if k not in ("format", "format_version")})
    with pytest.raises(RunDirectoryError, match="model_name: 'other-model' there, 'toy-video' now"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=4), tmp_path, resume=True).fit()


def test_ddp_gloo_two_processes_match_one(toy, tmp_path):
    import torch.multiprocessing as mp

    kw = dict(
        lr=1e-2,
        batch_size=4,
        steps=3,
        decay_start=1,
        beta_warmup_steps=2,
        grad_clip=1.0,
        log_every=1,
        ckpt_every=100,
        val_every=3,
        val_batches=1,
        device="cpu",
        progress=False,
        tensorboard=False,
    )
    result = str(tmp_path / "ddp.pt")
    mp.spawn(ddp_worker, args=(2, free_port(), str(tmp_path / "ddp"), result, kw), nprocs=2, join=True)
    ddp = torch.load(result + ".0", weights_only=True)
    ddp1 = torch.load(result + ".1", weights_only=True)
    # every rank read step 0's full batch (data-dependent init), then its own half of each global batch
    batches = [step_indices(16, 4, 0, s) for s in range(3)]
    for r, seen in enumerate((ddp["seen"], ddp1["seen"])):
        assert seen == batches[0] + [i for b in batches for i in b[2 * r : 2 * r + 2]]
    for k, v in ddp["state"].items():
        assert torch.equal(v, ddp1["state"][k]), k  # the replicas stayed identical

    single = toy.model(seed=0, stochastic=False, double=True)
    rows = Trainer(single, toy.videos(16), toy.videos(8, offset=500), TrainConfig(**kw), tmp_path / "one").fit()
    ref = single.state_dict()
    for k, v in ref.items():
        torch.testing.assert_close(ddp["state"][k], v, rtol=1e-9, atol=1e-12, msg=k)
    assert not torch.equal(ref["prior.weight"], toy.model(seed=0, stochastic=False, double=True).prior.weight)
    for a, b in zip(ddp["rows"], rows):
        assert a["bpp"] == pytest.approx(b["bpp"], rel=1e-9)
    assert ddp["rows"][-1]["val_bpp"] == pytest.approx(rows[-1]["val_bpp"], rel=1e-9)
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["world_size"] == 2


def test_compile_without_a_cpu_compiler_warns_and_trains_eagerly(toy, tmp_path, monkeypatch):
    import rfn.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "cpu_compiler", lambda: None)
    trainer = Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2, compile=True), tmp_path)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
        rows = trainer.fit()
    assert rows[-1]["step"] == 2 and np.isfinite(rows[-1]["loss"])
    assert not trainer._compiled and not hasattr(trainer.net, "_orig_mod")  # not wrapped by torch.compile

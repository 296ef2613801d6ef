"""Training engine: schedules, data order, exact resume, atomic checkpoints, non-finite guard, DDP (gloo)."""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from toy_video_model import ToyVideos, ddp_worker, free_port, make_model

from rfn.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    remove_stale_temporaries,
    save_checkpoint,
)
from rfn.train import (
    NonFiniteError,
    RunDirectoryError,
    StepBatchSampler,
    TrainConfig,
    Trainer,
    beta_at,
    get_rng_state,
    lr_factor,
    set_rng_state,
    step_indices,
)


def cfg(**kw) -> TrainConfig:
    base = dict(
        lr=1e-2,
        batch_size=4,
        steps=8,
        decay_start=None,
        beta_start=1e-3,
        beta_end=1.0,
        beta_warmup_steps=4,
        grad_clip=5.0,
        log_every=2,
        ckpt_every=100,
        val_every=4,
        val_batches=1,
        device="cpu",
        progress=False,
        tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def scramble_global_rng() -> None:
    torch.manual_seed(12345)
    np.random.seed(12345)  # noqa: NPY002
    random.seed(12345)


# ----------------------------------------------------------------------------- schedules


def test_lr_schedule_matches_thesis_table():
    c = TrainConfig(steps=300_000)  # decay_start None -> the final half, as Table A.2
    assert c.decay_start_step == 150_000
    assert [lr_factor(s, c) for s in (0, 149_999, 150_000)] == [1.0, 1.0, 1.0]
    assert lr_factor(225_000, c) == 0.5
    assert lr_factor(299_999, c) == pytest.approx(1 / 150_000, rel=1e-12)
    assert lr_factor(300_000, c) == 0.0
    no_decay = TrainConfig(steps=10, decay_start=10)
    assert [lr_factor(s, no_decay) for s in range(10)] == [1.0] * 10


def test_beta_warmup_values():
    c = TrainConfig(beta_start=1e-6, beta_end=1.0, beta_warmup_steps=1000)
    assert beta_at(0, c) == 1e-6
    assert beta_at(500, c) == pytest.approx(1e-6 + (1 - 1e-6) * 0.5, rel=1e-12)
    assert beta_at(1000, c) == 1.0 and beta_at(10**6, c) == 1.0
    assert beta_at(0, TrainConfig(beta_warmup_steps=0)) == 1.0


def test_trainer_applies_schedules(tmp_path):
    c = cfg(steps=6, decay_start=2, log_every=1, val_every=0, beta_warmup_steps=3, beta_start=0.1)
    rows = Trainer(make_model(), ToyVideos(8), None, c, tmp_path).fit()
    assert [r["step"] for r in rows] == list(range(1, 7))
    # row for step s+1 reports the lr and beta used by optimiser step s
    assert [r["lr"] for r in rows] == pytest.approx([1e-2 * lr_factor(s, c) for s in range(6)], rel=1e-12)
    assert [r["beta"] for r in rows] == pytest.approx([0.1, 0.4, 0.7, 1.0, 1.0, 1.0], rel=1e-12)


def test_train_config_rejects_bad_values():
    with pytest.raises(ValueError, match=r"train.decay_start must be None or an integer in \[0, steps=10\]"):
        TrainConfig(steps=10, decay_start=20)
    with pytest.raises(ValueError, match="train.lr must be a positive finite float"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="train.batch_size must be an integer >= 1"):
        TrainConfig(batch_size=0)


# ----------------------------------------------------------------------------- data order


def test_step_indices_distinct_deterministic_uniform():
    a = step_indices(100, 10, seed=3, step=5)
    assert a == step_indices(100, 10, seed=3, step=5)
    assert len(set(a)) == 10 and all(0 <= i < 100 for i in a)
    assert a != step_indices(100, 10, seed=3, step=6) and a != step_indices(100, 10, seed=4, step=5)
    # each of 10 items appears in a batch of 3 with probability 0.3: 3000 steps -> 900 +- 25 each
    counts = np.bincount(np.concatenate([step_indices(10, 3, 0, s) for s in range(3000)]), minlength=10)
    assert np.all(np.abs(counts - 900) < 5 * np.sqrt(3000 * 0.3 * 0.7)), counts
    # first position is uniform too (the permutation after Floyd's subset)
    first = np.bincount([step_indices(10, 3, 0, s)[0] for s in range(3000)], minlength=10)
    assert np.all(np.abs(first - 300) < 5 * np.sqrt(3000 * 0.1 * 0.9)), first
    with pytest.raises(ValueError, match="batch size 5 is larger than the data set"):
        step_indices(4, 5, 0, 0)


def test_batch_sampler_starts_anywhere_and_slices_ranks():
    full = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10))
    assert list(StepBatchSampler(50, 6, seed=1, start=7, stop=10)) == full[7:]
    r0 = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10, rank=0, world=2))
    r1 = list(StepBatchSampler(50, 6, seed=1, start=0, stop=10, rank=1, world=2))
    assert [a + b for a, b in zip(r0, r1)] == full
    with pytest.raises(ValueError, match="does not split evenly over 4 processes"):
        StepBatchSampler(50, 6, 1, 0, 10, rank=0, world=4)


def test_rng_state_round_trip_is_weights_only_safe(tmp_path):
    state = get_rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.save(state, tmp_path / "rng.pt")
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    b = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


# ----------------------------------------------------------------------------- exact resume


def test_resume_is_bitwise_identical(tmp_path):
    c = cfg(steps=8, decay_start=4, ckpt_every=100)
    straight = make_model()
    rows_a = Trainer(straight, ToyVideos(16), ToyVideos(8, offset=500), c, tmp_path / "a").fit()

    first = make_model()
    Trainer(first, ToyVideos(16), ToyVideos(8, offset=500), c, tmp_path / "b").fit(until=4)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 4
    # a "new process": other weights, other global random state, loader workers this time
    scramble_global_rng()
    second = make_model(seed=99)
    c2 = cfg(steps=8, decay_start=4, ckpt_every=100, num_workers=2)
    rows_b = Trainer(second, ToyVideos(16), ToyVideos(8, offset=500), c2, tmp_path / "b", resume=True).fit()

    pa, pb = params(straight), params(second)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert not torch.equal(pa["prior.weight"], params(make_model())["prior.weight"])  # it did train
    # the logged curve continues too, and the CSV holds each step once
    assert [r["step"] for r in rows_b] == [6, 8]
    for ra, rb in zip(rows_a[-2:], rows_b):
        for k in ("bpp", "nll_bpp", "kl_bpp", "loss", "grad_norm", "val_bpp", "lr", "beta"):
            assert ra[k] == rb[k] or (ra[k] is None and rb[k] is None), k
    with open(tmp_path / "b" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [2, 4, 6, 8]


def test_metrics_csv_columns_and_validation(tmp_path):
    rows = Trainer(make_model(), ToyVideos(16), ToyVideos(8, offset=500), cfg(steps=4), tmp_path).fit()
    with open(tmp_path / "metrics.csv") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        lines = list(reader)
    for col in ("step", "lr", "beta", "loss", "bpp", "nll_bpp", "kl_bpp", "z_std", "grad_norm", "nonfinite", "val_bpp"):
        assert col in header
    assert lines[0]["val_bpp"] == "" and float(lines[1]["val_bpp"]) > 0  # validation at step 4 only
    assert rows[1]["val_bpp"] == pytest.approx(rows[1]["val_nll_bpp"] + rows[1]["val_kl_bpp"], rel=1e-5)


def test_validation_is_repeatable_and_keeps_training_stream(tmp_path):
    t = Trainer(make_model(), ToyVideos(16), ToyVideos(8, offset=500), cfg(), tmp_path)
    t.evaluate()  # the first call also prepares the run (seeding, data-dependent init)
    before = torch.get_rng_state()
    a, b = t.evaluate(), t.evaluate()
    assert a == b and a["bpp"] > 0
    assert torch.equal(torch.get_rng_state(), before)


def test_tensorboard_events_written(tmp_path):
    Trainer(make_model(), ToyVideos(8), None, cfg(steps=2, tensorboard=True), tmp_path).fit()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


# ----------------------------------------------------------------------------- out directory


def test_out_dir_holding_a_run_is_refused(tmp_path):
    Trainer(make_model(), ToyVideos(8), None, cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=rf"output folder {tmp_path} already holds a run with the same config"):
        Trainer(make_model(), ToyVideos(8), None, cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=r"its config differs: model_config.hidden: 4 there, 8 now"):
        Trainer(make_model(hidden=8), ToyVideos(8), None, cfg(steps=2), tmp_path).fit()
    with pytest.raises(RunDirectoryError, match=r"cannot resume the run in .* train_config.lr: 0.01 there, 0.001 now"):
        Trainer(make_model(), ToyVideos(8), None, cfg(steps=2, lr=1e-3), tmp_path, resume=True).fit()
    # extending a finished run is a resume with more steps
    t = Trainer(make_model(), ToyVideos(8), None, cfg(steps=4), tmp_path, resume=True)
    t.fit()
    assert t.step == 4


def test_unregistered_model_is_refused(tmp_path):
    with pytest.raises(TypeError, match="register it with"):
        Trainer(torch.nn.Linear(2, 2), ToyVideos(8), None, cfg(), tmp_path)


def test_float_data_is_refused(tmp_path):
    class FloatVideos(ToyVideos):
        def __getitem__(self, i):
            return super().__getitem__(i).float()

    with pytest.raises(TypeError, match="training batch must have dtype torch.uint8"):
        Trainer(make_model(), FloatVideos(8), None, cfg(), tmp_path).fit()


# ----------------------------------------------------------------------------- non-finite guard


@pytest.mark.parametrize("fused", [True, False])
def test_nan_step_is_skipped_and_counted(tmp_path, monkeypatch, fused):
    if not fused:  # a device without fused Adam: the guard falls back to a host-side check
        real_adam = torch.optim.Adam

        def adam_without_fused(params, lr, fused=None, **kw):
            if fused:
                raise RuntimeError("fused Adam is not supported on this device")
            return real_adam(params, lr=lr, **kw)

        monkeypatch.setattr(torch.optim, "Adam", adam_without_fused)
    model = make_model(poison="once", poison_call=3)  # the third training step returns a NaN loss
    t = Trainer(model, ToyVideos(16), None, cfg(steps=6, log_every=1, val_every=0), tmp_path)
    t.fit(until=2)
    assert t._fused is fused
    before = params(model)
    opt_steps = t.optimizer.state[next(iter(model.parameters()))]["step"].item()
    rows = t.fit(until=3)
    assert rows[-1]["nonfinite"] == 1 and rows[-1]["bpp"] != rows[-1]["bpp"]  # nothing finite to average
    after = params(model)
    assert all(torch.equal(before[k], after[k]) for k in before if k != "initialized")
    assert t.optimizer.state[next(iter(model.parameters()))]["step"].item() == opt_steps  # Adam did not count it
    rows = t.fit()
    assert rows[-1]["nonfinite"] == 1 and np.isfinite(rows[-1]["bpp"])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert load_checkpoint(tmp_path / "last.pt")["nonfinite"] == 1


def test_too_many_nonfinite_steps_stop_with_clear_error(tmp_path):
    model = make_model(poison="always")
    t = Trainer(model, ToyVideos(16), None, cfg(steps=20, log_every=1, max_nonfinite=3), tmp_path)
    with pytest.raises(
        NonFiniteError,
        match=r"4 training steps were skipped .* \(limit train.max_nonfinite=3\), at step 4. No checkpoint",
    ):
        t.fit()
    assert t.step == 4


# ----------------------------------------------------------------------------- checkpoints


def _payload(step: int, big: int = 0) -> dict:
    return {
        "model_name": "toy-video",
        "model_config": {},
        "model": {"w": torch.full((max(big, 1),), float(step))},
        "step": step,
    }


def test_checkpoint_round_trip_and_load_model(tmp_path):
    model = make_model()
    t = Trainer(model, ToyVideos(8), None, cfg(steps=2), tmp_path)
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
    with pytest.raises(CheckpointError, match="format version 99; this rfn reads versions up to 1"):
        load_checkpoint(tmp_path / "future.pt")

    with pytest.raises(CheckpointError, match="holds a 'toy-video' model, but a 'rfn' model was expected"):
        load_checkpoint(good, expected_model="rfn")
    save_checkpoint(tmp_path / "alien.pt", _payload(1) | {"model_name": "no-such-model"})
    with pytest.raises(CheckpointError, match=r"cannot rebuild the model .* unknown model 'no-such-model'"):
        load_model(tmp_path / "alien.pt")
    with pytest.raises(CheckpointError, match="do not fit a 'toy-video' model"):
        load_model(good)


def test_resume_refuses_checkpoint_of_another_model(tmp_path):
    Trainer(make_model(), ToyVideos(8), None, cfg(steps=2), tmp_path).fit()
    data = load_checkpoint(tmp_path / "last.pt")
    data["model_name"] = "other-model"
    (tmp_path / "run.json").unlink()
    save_checkpoint(tmp_path / "last.pt", {k: v for k, v in data.items() if k not in ("format", "format_version")})
    with pytest.raises(RunDirectoryError, match="model_name: 'other-model' there, 'toy-video' now"):
        Trainer(make_model(), ToyVideos(8), None, cfg(steps=4), tmp_path, resume=True).fit()


# ----------------------------------------------------------------------------- data parallel


def test_ddp_gloo_two_processes_match_one(tmp_path):
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

    single = make_model(seed=0, stochastic=False, double=True)
    rows = Trainer(single, ToyVideos(16), ToyVideos(8, offset=500), TrainConfig(**kw), tmp_path / "one").fit()
    ref = single.state_dict()
    for k, v in ref.items():
        torch.testing.assert_close(ddp["state"][k], v, rtol=1e-9, atol=1e-12, msg=k)
    assert not torch.equal(ref["prior.weight"], make_model(seed=0, stochastic=False, double=True).prior.weight)
    for a, b in zip(ddp["rows"], rows):
        assert a["bpp"] == pytest.approx(b["bpp"], rel=1e-9)
    assert ddp["rows"][-1]["val_bpp"] == pytest.approx(rows[-1]["val_bpp"], rel=1e-9)
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["world_size"] == 2

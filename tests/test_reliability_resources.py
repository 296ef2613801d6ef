"""Resources refused up front: sampling, evaluation and training requests that cannot fit, GIF scales, and the CPU's
out-of-memory error told in one line."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from rfn import cli, runs, viz
from rfn.training import Trainer


@pytest.fixture(scope="module")
def smoke_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke-run")
    runs.train_preset("smoke", out, ["train.steps=1", "train.device=cpu"])
    return out / "last.pt"


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_sample_refuses_a_request_that_cannot_fit_before_computing(smoke_checkpoint, tmp_path, capsys):
    out = tmp_path / "s.gif"
    t0 = time.perf_counter()
    argv = ["sample", "--checkpoint", smoke_checkpoint, "--context", 2, "--future", 10000, "--samples", 10000]
    assert cli.main([str(a) for a in [*argv, "--out", out]]) == 2
    assert time.perf_counter() - t0 < 30  # refused, not computed for minutes
    line = _one_line(capsys)
    assert "--samples 10000" in line and "--future 10000" in line and "GB of memory, more than the" in line
    assert not out.exists()


@pytest.mark.parametrize("scale", [0, -3, 100000])
def test_sample_refuses_a_scale_that_is_not_a_small_positive_integer(smoke_checkpoint, tmp_path, capsys, scale):
    out = tmp_path / "s.gif"
    argv = ["sample", "--checkpoint", smoke_checkpoint, "--context", 1, "--future", 1, "--scale", scale]
    assert cli.main([str(a) for a in [*argv, "--out", out]]) == 2
    assert f"--scale must be a whole number from 1 to {cli.MAX_SCALE}" in _one_line(capsys) and not out.exists()


def test_image_grid_refuses_a_scale_below_one():
    with pytest.raises(ValueError, match="scale must be a positive whole number"):
        viz.image_grid(np.zeros((2, 4, 4, 3), np.uint8), 2, scale=0)


def test_evaluate_refuses_a_request_that_cannot_fit(smoke_checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RFN_AVAILABLE_MEMORY", str(10**9))
    argv = ["evaluate", "--checkpoint", smoke_checkpoint, "--protocol", "smmnist-smoke", "--samples", 10**6]
    assert cli.main([str(a) for a in [*argv, "--no-fvd", "--quiet", "--out", tmp_path / "e"]]) == 2
    line = _one_line(capsys)
    assert "--samples 1000000" in line and "more than the 1.0 GB available" in line
    assert not (tmp_path / "e" / "results.json").exists()


def test_training_refuses_a_batch_that_cannot_fit_before_its_first_step(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("RFN_AVAILABLE_MEMORY", "1000")
    with pytest.raises(ValueError, match=r"^train\.batch_size: a step on 4 items .* more than the 0\.0 GB available"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path / "run").fit()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".rfn.lock", "run.json"]  # no step, no row
    monkeypatch.delenv("RFN_AVAILABLE_MEMORY")
    assert Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path / "run").fit()  # then it starts


def test_cpu_out_of_memory_in_training_is_one_line_naming_the_batch_size(tmp_path, capsys, monkeypatch):
    def oom(self, *a, **k):  # what the CPU allocator raises
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 107374182400 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(Trainer, "_step", oom)
    code = cli.main(["train", "--preset", "smoke", "--out", str(tmp_path / "r"), "--device", "cpu", "--quiet"])
    line = _one_line(capsys)
    assert code == 2 and "out of memory on cpu at step 0 with train.batch_size=" in line
    assert "lower it (--set train.batch_size=N)" in line


def test_out_of_memory_in_the_data_dependent_init_is_reported_too(toy, tmp_path, monkeypatch):
    def oom(self):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")

    monkeypatch.setattr(Trainer, "_data_dependent_init", oom)
    with pytest.raises(torch.OutOfMemoryError, match="at step 0 with train.batch_size=4"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()


def test_out_of_memory_while_sampling_is_one_line_naming_the_flags(smoke_checkpoint, tmp_path, capsys, monkeypatch):
    from rfn.models import registry

    built = registry.model_from_checkpoint

    def model_that_runs_out(*args, **kwargs):
        model = built(*args, **kwargs)

        def predict(*a, **k):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 10737418240 bytes")

        model.predict = predict
        return model

    monkeypatch.setattr(registry, "model_from_checkpoint", model_that_runs_out)
    argv = ["sample", "--checkpoint", smoke_checkpoint, "--context", 1, "--future", 1, "--out", tmp_path / "s.gif"]
    assert cli.main([str(a) for a in argv]) == 2
    line = _one_line(capsys)
    assert "can't allocate memory" in line and "ask for fewer --samples or --sequences" in line

"""``rfn`` command line and presets: parsing, overrides and their errors, train/resume/sample, dispatch, torchrun."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch

from rfn import cli
from rfn.checkpoint import load_checkpoint
from rfn.presets import PRESETS, DataConfig, Preset, apply_overrides, get_preset, register_preset
from rfn.training import preset as training_preset

HERE = Path(__file__).resolve().parent
TOY = Preset(
    name="test-toy",
    model="toy-video",
    model_config={"hidden": 4},
    data=DataConfig("toy", seq_len=3, kwargs={"seed": 1}),
    train=dict(
        batch_size=4,
        steps=4,
        lr=1e-2,
        log_every=2,
        ckpt_every=2,
        val_every=4,
        val_batches=1,
        progress=False,
        tensorboard=False,
        device="cpu",
    ),
    description="toy model for the CLI tests",
)


@pytest.fixture(autouse=True)
def toy_preset(monkeypatch, toy):
    register_preset(TOY, replace=True)

    def fake_datasets(data, splits=("train", "val")):
        return [
            toy.videos(16 if s == "train" else 8, seq_len=data["seq_len"], offset=0 if s == "train" else 500)
            for s in splits
        ]

    monkeypatch.setattr(cli, "make_datasets", fake_datasets)  # rfn sample
    monkeypatch.setattr(training_preset, "make_datasets", fake_datasets)  # rfn train
    yield
    PRESETS.pop("test-toy", None)


def run(argv, capsys):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


# ----------------------------------------------------------------------------- presets and overrides


def test_get_preset_unknown_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown preset .test-tpy.; did you mean test-toy\? `rfn presets`"):
        get_preset("test-tpy")


def test_apply_overrides_sections_types_and_bare_keys(toy):
    p = apply_overrides(
        TOY,
        [
            "train.lr=1e-3",
            "steps=3e2",  # bare and unambiguous; 3e2 is an integer
            "model.hidden=8",
            "data.seq_len=5",
            "data.seed=7",
            "train.grad_clip=None",
            "train.bf16=false",
            "train.device=cuda:1",
            "model.poison=once",
        ],
    )
    assert p.train["lr"] == 1e-3 and p.train["steps"] == 300 and isinstance(p.train["steps"], int)
    assert p.train["grad_clip"] is None and p.train["bf16"] is False and p.train["device"] == "cuda:1"
    assert p.model_config == {"hidden": 8, "poison": "once"}
    assert p.data.seq_len == 5 and p.data.kwargs == {"seed": 7}
    assert TOY.train["lr"] == 1e-2 and TOY.data.kwargs == {"seed": 1}  # the registered preset is untouched
    assert p.train_config().steps == 300
    assert toy.config(**p.model_config).hidden == 8


def test_apply_overrides_errors():
    with pytest.raises(ValueError, match=r"unknown override key 'train.lrr'; valid keys: .*train.lr,"):
        apply_overrides(TOY, ["train.lrr=1"])
    with pytest.raises(ValueError, match=r"unknown override key 'model.levels'; valid keys: .*model.hidden"):
        apply_overrides(TOY, ["model.levels=3"])
    with pytest.raises(ValueError, match=r"override key 'seed' is ambiguous; write one of data.seed, train.seed"):
        apply_overrides(TOY, ["seed=3"])
    with pytest.raises(ValueError, match=r"train.steps=abc: expected int, got 'abc'"):
        apply_overrides(TOY, ["train.steps=abc"])
    with pytest.raises(ValueError, match=r"model.hidden=2.5: expected int, got 2.5"):
        apply_overrides(TOY, ["model.hidden=2.5"])
    with pytest.raises(ValueError, match=r"train.compile=maybe: expected bool"):
        apply_overrides(TOY, ["train.compile=maybe"])
    with pytest.raises(ValueError, match=r"train.grad_clip=big: expected float or NoneType"):
        apply_overrides(TOY, ["train.grad_clip=big"])
    with pytest.raises(ValueError, match="is not of the form key=value"):
        apply_overrides(TOY, ["train.lr"])
    with pytest.raises(ValueError, match="invalid training settings: train.lr must be a positive finite float"):
        apply_overrides(TOY, ["train.lr=-1"])
    with pytest.raises(ValueError, match="data.seq_len must be at least 2"):
        apply_overrides(TOY, ["data.seq_len=1"])
    # a real model: typed tuple fields, and the config's own checks run before any training starts
    real = Preset("real", model="rfn", data=DataConfig("smmnist"))
    assert apply_overrides(real, ["model.image_size=(32, 32)"]).model_config == {"image_size": (32, 32)}
    with pytest.raises(ValueError, match=r"model.image_size=32: expected tuple\[int, int\]"):
        apply_overrides(real, ["model.image_size=32"])
    with pytest.raises(ValueError, match=r"give an invalid 'rfn' model config: .*sideways"):
        apply_overrides(real, ["model.skip=sideways"])


def test_register_preset_checks_train_keys():
    with pytest.raises(ValueError, match=r"sets unknown train keys \['learning_rate'\]; valid: lr, batch_size"):
        register_preset(Preset("bad", model="toy-video", train={"learning_rate": 1.0}))
    with pytest.raises(ValueError, match="preset 'test-toy' is already registered"):
        register_preset(Preset("test-toy", model="toy-video"))


# ----------------------------------------------------------------------------- commands


def test_presets_command_lists_presets(capsys):
    rc, out, _ = run(["presets"], capsys)
    assert rc == 0 and "test-toy" in out and "toy model for the CLI tests" in out


def test_train_resume_and_sample(tmp_path, capsys):
    out_dir = tmp_path / "run"
    rc, out, err = run(["train", "--preset", "test-toy", "--out", out_dir, "--set", "model.hidden=3"], capsys)
    assert rc == 0, err
    assert "step 4: train bpp" in out and "validation bpp" in out
    ckpt = load_checkpoint(out_dir / "last.pt")
    assert ckpt["step"] == 4 and ckpt["model_config"]["hidden"] == 3 and ckpt["data_config"]["name"] == "toy"
    assert ckpt["meta"] == {"preset": "test-toy", "overrides": ["model.hidden=3"]}

    rc, _, err = run(["train", "--preset", "test-toy", "--out", out_dir, "--set", "model.hidden=3"], capsys)
    assert rc == 2 and f"output folder {out_dir} already holds a run with the same config" in err
    rc, _, err = run(["train", "--preset", "test-toy", "--out", out_dir], capsys)
    assert rc == 2 and "its config differs: model_config.hidden: 3 there, 4 now" in err
    rc, _, err = run(
        ["train", "--preset", "test-toy", "--out", out_dir, "--set", "model.hidden=3", "--resume", "--steps", "6"],
        capsys,
    )
    assert rc == 0, err
    assert load_checkpoint(out_dir / "last.pt")["step"] == 6

    png = tmp_path / "s.png"
    argv = ["sample", "--checkpoint", out_dir / "last.pt", "--context", 2, "--future", 3, "--samples", 2]
    rc, out, err = run([*argv, "--sequences", 2, "--out", png], capsys)
    assert rc == 0, err
    from PIL import Image

    # 2 sequences x (real + 2 samples) rows, 5 frames of 8 px with 1-px borders and 2-px gaps
    assert Image.open(png).size == (2 + 5 * (10 + 2), 2 + 6 * (10 + 2))
    gif = tmp_path / "s.gif"
    rc, _, err = run([*argv, "--sequences", 1, "--out", gif], capsys)
    assert rc == 0 and gif.stat().st_size > 0, err
    rc, _, err = run([*argv, "--out", tmp_path / "s.jpg"], capsys)
    assert rc == 2 and "must end in .gif, .mp4 or .png" in err
    rc, _, err = run([*argv, "--sequences", 20, "--out", png], capsys)
    assert rc == 2 and "sequences 0..19 requested but the toy test split has 8" in err


def test_cli_errors_are_one_line(tmp_path, capsys):
    rc, _, err = run(["train", "--preset", "nope", "--out", tmp_path], capsys)
    assert rc == 2 and err.startswith("rfn train: error: unknown preset 'nope'; `rfn presets` lists them")
    rc, _, err = run(["train", "--preset", "test-toy", "--out", tmp_path, "--set", "train.lrr=1"], capsys)
    assert rc == 2 and "unknown override key 'train.lrr'; valid keys:" in err and "train.lr," in err
    rc, _, err = run(["train", "--preset", "test-toy", "--out", tmp_path, "--set", "train.steps=abc"], capsys)
    assert rc == 2 and "train.steps=abc: expected int" in err
    rc, _, err = run(
        ["sample", "--checkpoint", tmp_path / "x.pt", "--context", 1, "--future", 1, "--out", "a.gif"], capsys
    )
    assert rc == 2 and "x.pt does not exist" in err
    rc, _, err = run(["train", "--out", tmp_path], capsys)
    assert rc == 2 and "give either --preset NAME" in err and "--config FILE" in err
    rc, _, err = run(["train", "--preset", "test-toy"], capsys)
    assert rc == 2 and "--out DIR is required" in err


def test_nonfinite_stop_exits_with_status_1(tmp_path, capsys):
    rc, _, err = run(
        ["train", "--preset", "test-toy", "--out", tmp_path, "--set", "model.poison=always", "train.max_nonfinite=1"],
        capsys,
    )
    assert rc == 1 and "rfn train: stopped: 2 training steps were skipped" in err


def test_dispatch_to_data_and_evaluate(monkeypatch, capsys):
    calls = []
    fake = types.ModuleType("fake_rfn_data_cli")
    fake.__spec__ = importlib.machinery.ModuleSpec("fake_rfn_data_cli", None)
    fake.main = lambda argv: calls.append(argv) or 3
    monkeypatch.setitem(sys.modules, "fake_rfn_data_cli", fake)
    monkeypatch.setattr(cli, "DATA_CLI", "fake_rfn_data_cli")
    assert cli.main(["data", "show", "smmnist", "--help"]) == 3
    assert calls == [["show", "smmnist", "--help"]]
    monkeypatch.setattr(cli, "EVALUATE_CLI", "rfn.no_such_module")
    rc, _, err = run(["evaluate", "--protocol", "x"], capsys)
    assert rc == 2 and "`rfn evaluate` is not available in this installation (rfn.no_such_module is missing)" in err


def test_torchrun_two_cpu_processes(tmp_path):
    """The real entry point under torchrun: two gloo processes train one run and write one checkpoint."""
    script = tmp_path / "launch.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from toy_video_model import ToyVideos
            import test_cli
            from rfn import cli
            from rfn.presets import register_preset
            register_preset(test_cli.TOY, replace=True)
            from rfn.training import preset
            preset.make_datasets = lambda data, splits=("train", "val"): [ToyVideos(16), ToyVideos(8, offset=500)]
            sys.exit(cli.main(sys.argv[1:]))
            """
        )
    )
    out_dir = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    cmd += ["train", "--preset", "test-toy", "--out", str(out_dir), "--steps", "2"]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=240,
        # this checkout's rfn first, whichever one is installed
        env={**_env(), "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = load_checkpoint(out_dir / "last.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == 2 and len(ckpt["rng"]) == 2
    # the ranks drew different model noise after the shared initialisation
    assert not torch.equal(ckpt["rng"][0]["torch"], ckpt["rng"][1]["torch"])


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_another_data_set_drops_the_presets_data_options():
    from rfn.presets import apply_overrides, get_preset

    preset = get_preset("quick-smmnist")
    assert preset.data.kwargs["num_digits"] == 2
    other = apply_overrides(preset, ["data.name=kth", "data.root=/data/kth"])
    assert (other.data.name, other.data.root, other.data.kwargs) == ("kth", "/data/kth", {})
    same = apply_overrides(preset, ["data.name=smmnist", "data.num_digits=1"])
    assert same.data.kwargs == {**preset.data.kwargs, "num_digits": 1}

"""The committed reference checkpoints load through rfn.load and still match their presets."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

import rfn
from rfn import runs
from rfn.book import reference
from rfn.checkpoint import load_checkpoint
from rfn.models.registry import MODELS, build, config_from_dict
from rfn.presets import get_preset, preset_names

ROOT = Path(__file__).resolve().parents[1] / "checkpoints" / "reference"
#: unfinished exports of the RGB study (continued by a later session) are checked on their own below
UNFINISHED = ROOT / "textured" / "unfinished"
FILES = sorted(p for p in ROOT.rglob("*.pt") if UNFINISHED not in p.parents)
RGB_FILES = [p for p in FILES if p.parent == ROOT / "textured"]


def _preset_and_seed(path: Path) -> tuple[str, int]:
    """``<preset>.pt`` (seed 0) or ``<preset>-seed<N>.pt``."""
    match = re.fullmatch(r"(.+?)(?:-seed(\d+))?", path.stem)
    return match[1], int(match[2] or 0)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_reference_checkpoint_matches_its_preset(path):
    name, seed = _preset_and_seed(path)
    assert name in preset_names(), f"{path} belongs to no preset; remove it or restore preset {name!r}"
    preset = get_preset(name)
    assert path == runs.reference_file(name, seed, ROOT), f"{path} is not where the book looks for it"
    data = load_checkpoint(path)
    assert data["train_config"]["seed"] == seed, f"{path} was trained with seed {data['train_config']['seed']}"
    assert data["model_name"] == preset.model
    stored = config_from_dict(MODELS[preset.model][0], dict(data["model_config"]))
    assert stored == build(preset.model, preset.model_config).config, (
        f"{path} was trained with another config than preset {preset.name!r}; retrain it (make reference) "
        f"or restore the preset"
    )
    assert data["data_config"]["name"] == preset.data.name
    assert path.stat().st_size <= 10 * 2**20, f"{path} is over the 10 MB budget of a reference checkpoint"
    model = rfn.load(path)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_reference_checkpoints_stay_within_the_budget():
    sizes = {p.name: p.stat().st_size for p in ROOT.rglob("*.pt")}
    assert max(sizes.values()) <= 10 * 2**20, sizes
    # weights, run logs and shipped numbers together: checkpoints/ holds at most 64 MB
    everything = {str(p.relative_to(ROOT)): p.stat().st_size for p in ROOT.parent.rglob("*") if p.is_file()}
    assert sum(everything.values()) <= 64 * 2**20, sorted(everything.items(), key=lambda kv: -kv[1])[:10]


def _rgb_study():
    import importlib.util

    path = ROOT.parents[1] / "benchmarks" / "rgb_headline.py"
    spec = importlib.util.spec_from_file_location("rgb_headline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", RGB_FILES + sorted(UNFINISHED.glob("*.pt")), ids=lambda p: p.stem)
def test_rgb_study_exports_are_runs_of_the_study_and_fp16_is_faithful(path):
    """benchmarks/rgb_headline.py export: a run of the study, its run files beside it, fp16 within 1e-3 bits."""
    import json

    study = _rgb_study()
    stems = {study.stem(preset, seed): preset for _, preset, seed in study.runs()}
    assert path.stem in stems, f"{path} is no run of benchmarks/rgb_headline.py; remove it"
    for suffix in (".run.json", ".metrics.csv", ".export.json"):
        assert path.with_suffix(suffix).is_file(), f"{path} lacks its {suffix}; export it again"
    record = json.loads(path.with_suffix(".export.json").read_text())
    data = load_checkpoint(path)
    assert record["step"] == data["step"]
    finished = path.parent == ROOT / "textured"
    steps = get_preset(stems[path.stem]).train["steps"]
    assert (data["step"] >= steps) == finished, f"{path}: step {data['step']} of {steps} in the wrong folder"
    assert not (finished and (UNFINISHED / path.name).exists()), f"{path} is also under unfinished/; remove that one"
    assert abs(record["fp16_bits"] - record["fp32_bits"]) <= 1e-3, record
    assert all(p.dtype == torch.float16 for p in data["model"].values() if p.is_floating_point())


CACHES = sorted(p for p in (ROOT / "cache").glob("*") if p.is_dir())


@pytest.mark.parametrize("folder", CACHES, ids=[p.name for p in CACHES])
def test_shipped_numbers_belong_to_a_committed_checkpoint(folder):
    """What `make reference-cache` committed: cached_json files beside a checkpoint that exists."""
    import json
    import re

    assert (ROOT / f"{folder.name}.pt").is_file(), f"{folder} has no checkpoint {folder.name}.pt beside it"
    files = sorted(folder.iterdir())
    assert files and all(f.name.startswith("book_") and f.suffix == ".json" for f in files), files
    for f in files:
        stored = json.loads(f.read_text())
        assert re.fullmatch("[0-9a-f]{16}", stored["key"]) and "value" in stored, f
    assert sum(f.stat().st_size for f in files) <= 2**20, f"{folder}: keep the shipped numbers small"


def test_every_run_make_reference_trains_is_committed():
    missing = [str(ckpt) for _, _, _, ckpt in reference.reference_runs() if not (ROOT.parents[1] / ckpt).is_file()]
    assert not missing, f"run `make reference` (or export the runs) for: {missing}"
    made = {ROOT.parents[1] / c for *_, c in reference.reference_runs()}
    assert set(FILES) - set(RGB_FILES) == made, "a file no run makes"


def test_load_finds_a_reference_model_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found through the package, not the working directory
    model = rfn.load("reference-ablation-srnn-D2-seed1")
    assert model.config == rfn.load(ROOT / "ablations" / "reference-ablation-srnn-D2-seed1.pt").config
    with pytest.raises(FileNotFoundError, match=r"did you mean reference-smmnist, .*committed ones are the \*\.pt"):
        rfn.load("reference-smmnst")


def test_load_by_name_outside_a_checkout_says_where_the_weights_come_from(tmp_path, monkeypatch):
    from rfn import assets

    monkeypatch.setattr(assets, "REPOSITORY", tmp_path)  # an installed package: no checkpoints/ beside it
    with pytest.raises(FileNotFoundError) as err:
        rfn.load("reference-smmnist")
    message = str(err.value)
    assert "committed in the rfn repository as checkpoints/reference/reference-smmnist.pt" in message
    assert "clone the repository" in message and "\n" not in message


def test_rgb_plan_reads_the_latest_logged_rate(tmp_path):
    study = _rgb_study()
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("step,seq_per_s\n50,32.0\n100,32.0\n")
    # the latest log: 2 s per step at batch 16, except one slow row outside the last 1,000 steps
    new.write_text("step,seq_per_s,val_bpp\n100,1.6,\n1500,8.0,\n2000,8.0,\n2000,,5.0\n2500,8.0,\n")
    os.utime(old, (1, 1))
    assert study.measured_seconds_per_step([old, new, tmp_path / "missing.csv"]) == pytest.approx(2.0)
    assert study.measured_seconds_per_step([old]) == pytest.approx(0.5)
    assert study.measured_seconds_per_step([tmp_path / "missing.csv"]) is None

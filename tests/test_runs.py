"""Train-or-load for the book (rfn.runs): profiles, run folders, the reference profile, --init-from."""

from __future__ import annotations

import pytest
import torch

from rfn import runs
from rfn.book import reference
from rfn.checkpoint import export_weights, load_checkpoint
from rfn.presets import PRESETS
from rfn.profiles import PROFILES, VIDEO_KINDS
from rfn.training.preset import train_preset


def test_every_profile_names_a_preset_for_every_video_kind():
    for profile in PROFILES:
        for kind in VIDEO_KINDS:
            assert runs.preset_for(kind, profile) in PRESETS
    assert runs.preset_for("rfn", "reference") == "reference-smmnist"
    assert runs.preset_for("sinusoid-srnn-smooth", "thesis") == "thesis-sinusoid-srnn-smooth"
    with pytest.raises(ValueError, match="the profile once called 'full' is 'thesis'"):
        runs.preset_for("rfn", "full")
    with pytest.raises(ValueError, match="no preset for kind 'nope' at profile 'quick'; kinds there: .*glow-mnist"):
        runs.preset_for("nope", "quick")


def test_book_quick_runs_live_in_the_presets():
    steps = {kind: PRESETS[runs.preset_for(kind, "quick")].train["steps"] for kind in VIDEO_KINDS}
    assert steps == {"rfn": 1000, "srnn": 800, "vrnn": 800, "deterministic": 600}
    assert PRESETS["quick-smmnist"].train["lr"] == 2e-3


def test_ensure_trained_trains_once_then_loads(tmp_path):
    ckpt = runs.ensure_trained("moons-flow", "smoke", seed=3, root=tmp_path, device="cpu")
    assert ckpt == tmp_path / "smoke" / "moons-flow-seed3" / "last.pt"
    first = load_checkpoint(ckpt)
    assert first["step"] == PRESETS["smoke-moons-flow"].train["steps"] and first["train_config"]["seed"] == 3
    mtime = ckpt.stat().st_mtime_ns
    model = runs.trained_model("moons-flow", "smoke", seed=3, root=tmp_path, device="cpu")
    assert ckpt.stat().st_mtime_ns == mtime and not model.training  # loaded, not trained again
    assert (ckpt.parent / "train_time.json").is_file()


def test_reference_profile_loads_committed_video_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(PRESETS, "reference-smmnist-deterministic", PRESETS["smoke-smmnist-deterministic"])
    with pytest.raises(FileNotFoundError, match=r"reference-smmnist-deterministic.pt is missing; train it with"):
        runs.ensure_trained("deterministic", "reference", root=tmp_path / "artifacts")
    trainer, _ = train_preset("smoke-deterministic", tmp_path / "run", ["train.steps=2"])
    path = runs.reference_checkpoint("deterministic")
    assert path == runs.run_file("deterministic", "reference", "last.pt")
    assert runs.reference_checkpoint("deterministic", seed=2).name == "reference-smmnist-deterministic-seed2.pt"
    assert reference.export_reference(tmp_path / "run", "reference-smmnist-deterministic") == path
    assert "optimizer" not in load_checkpoint(path)
    for name in ("metrics.csv", "run.json", "train_time.json"):
        assert runs.run_file("deterministic", "reference", name).read_bytes() == (tmp_path / "run" / name).read_bytes()
    with open(tmp_path / "run" / "metrics.csv", "a") as f:  # a row logged after the last checkpoint
        f.write("9,0,0\n1,0.00")  # a row past the checkpoint, then one torn mid-write
    reference.export_reference(tmp_path / "run", "reference-smmnist-deterministic")
    kept = runs.run_file("deterministic", "reference", "metrics.csv").read_bytes().splitlines()
    logged = (tmp_path / "run" / "metrics.csv").read_bytes().splitlines()
    assert kept == logged[:-2] and logged[-2].startswith(b"9,") and len(kept) >= 2
    assert sorted(p.name for p in path.parent.iterdir()) == [  # no temporary files left
        "reference-smmnist-deterministic.metrics.csv", "reference-smmnist-deterministic.pt",
        "reference-smmnist-deterministic.run.json", "reference-smmnist-deterministic.train_time.json"]  # fmt: skip
    model = runs.trained_model("deterministic", "reference", root=tmp_path / "artifacts")
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert not (tmp_path / "artifacts").exists()  # nothing trained, nothing written
    # --init-from: a new run starts from those weights
    t2, _ = train_preset("smoke-deterministic", tmp_path / "run2", ["train.steps=1"], init_from=path)
    assert t2.meta["init_from"] == str(path)
    with pytest.raises(ValueError, match="model_config.h_channels: .* and its weights do not fit"):
        train_preset("smoke-deterministic", tmp_path / "run3", ["model.h_channels=4"], init_from=path)


def test_a_second_seed_is_exported_beside_the_first_and_must_match_the_run(tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "reference-ablation-srnn-D2", PRESETS["smoke-smmnist-srnn"])
    train_preset("smoke-srnn", tmp_path / "run", ["train.steps=1", "train.seed=1"])
    (tmp_path / "run" / "train_time.json").unlink()  # a run from a trainer that wrote none
    with pytest.raises(ValueError, match="trained with seed 1, not 0; pass seed=1"):
        reference.export_reference(tmp_path / "run", "reference-ablation-srnn-D2", tmp_path / "ref")
    stale = tmp_path / "ref" / "ablations" / "reference-ablation-srnn-D2-seed1.train_time.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")  # left by an earlier export
    path = reference.export_reference(tmp_path / "run", "reference-ablation-srnn-D2", tmp_path / "ref", seed="1")
    assert path == runs.reference_file("reference-ablation-srnn-D2", 1, tmp_path / "ref")
    assert path == tmp_path / "ref" / "ablations" / "reference-ablation-srnn-D2-seed1.pt"
    assert load_checkpoint(path)["train_config"]["seed"] == 1 and not stale.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "reference-ablation-srnn-D2-seed1.metrics.csv", "reference-ablation-srnn-D2-seed1.pt",
        "reference-ablation-srnn-D2-seed1.run.json"]  # fmt: skip
    assert runs.reference_checkpoint("ablation-srnn-D2", tmp_path / "ref", seed=1) == path


def test_init_from_accepts_a_setting_that_leaves_the_weights_as_they_are(tmp_path):
    # a fine-tune with free bits: the loss changes, the parameters do not
    train_preset("smoke", tmp_path / "a", ["train.steps=1"])
    start = tmp_path / "a" / "last.pt"
    t2, _ = train_preset("smoke", tmp_path / "b", ["train.steps=1", "model.free_nats=5.0"], init_from=start)
    assert t2.meta["init_from_changes"] == ["model_config.free_nats: 0.0 there, 5.0 now"]
    assert t2.model.config.free_nats == 5.0
    with pytest.raises(ValueError, match="weights do not fit"):
        train_preset("smoke", tmp_path / "c", ["train.steps=1", "model.z_channels=5"], init_from=start)


def test_reference_profile_trains_the_small_runs_at_the_quick_scale(tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "quick-moons-flow", PRESETS["smoke-moons-flow"])
    assert runs.source_profile("moons-flow", "reference") == "quick"
    ckpt = runs.ensure_trained("moons-flow", "reference", root=tmp_path, device="cpu")
    assert ckpt == tmp_path / "quick" / "moons-flow-seed0" / "last.pt" and ckpt.is_file()
    assert runs.run_dir("moons-flow", "reference", root=tmp_path) == ckpt.parent
    assert runs.run_file("moons-flow", "reference", "metrics.csv", root=tmp_path) == ckpt.parent / "metrics.csv"
    with pytest.raises(ValueError, match="run_file knows"):
        runs.run_file("moons-flow", "quick", "best.pt")


def test_cached_json_recomputes_on_a_new_key(tmp_path):
    calls = []
    value = runs.cached_json(tmp_path / "r.json", lambda: calls.append(1) or {"x": torch.tensor([1.5])}, {"k": 1})
    assert value == {"x": [1.5]}
    assert runs.cached_json(tmp_path / "r.json", lambda: calls.append(1), {"k": 1}) == {"x": [1.5]}
    runs.cached_json(tmp_path / "r.json", lambda: calls.append(1) or 2, {"k": 2})
    assert len(calls) == 2


def test_reference_numbers_are_shipped_beside_the_weights_and_read_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(PRESETS, "reference-smmnist-deterministic", PRESETS["smoke-smmnist-deterministic"])
    train_preset("smoke-deterministic", tmp_path / "run", ["train.steps=1"])
    reference.export_reference(tmp_path / "run", "reference-smmnist-deterministic")
    run = runs.get_run("deterministic", "reference", root=tmp_path / "artifacts")
    key = {"checkpoint": run.checkpoint_id(), "clips": 256}
    expected = {("deterministic", "book_fvd.json"): key}  # what the pages would ask for
    with pytest.raises(FileNotFoundError, match="run `make book PROFILE=reference` first"):
        reference.ship_reference_caches(tmp_path / "artifacts", expected=expected)
    model = run.model()
    assert not model.training and model.config == runs.trained_model("deterministic", "reference").config
    assert run.describe().startswith("deterministic: 1 steps at batch 4, 16x16 frames")
    assert run.cache_dir == tmp_path / "artifacts" / "reference" / "deterministic"
    assert run.shipped_dir == runs.reference_cache_dir("deterministic")
    assert str(run.shipped_dir) == "checkpoints/reference/cache/reference-smmnist-deterministic"
    calls = []
    assert run.cached("book_fvd.json", lambda: calls.append(1) or {"fvd": 12.5}, key) == {"fvd": 12.5}
    (run.cache_dir / "notes.txt").write_text("not a cache")  # only the numbers the pages ask for are shipped
    (run.cache_dir / "book_stale.json").write_text('{"key": "0", "value": 1}')
    with pytest.raises(FileNotFoundError, match="missing or stale"):  # made under another key
        reference.ship_reference_caches(
            tmp_path / "artifacts", expected={**expected, ("deterministic", "book_stale.json"): {}}
        )
    shipped = reference.ship_reference_caches(tmp_path / "artifacts", expected=expected)
    assert shipped == [run.shipped_dir / "book_fvd.json"]
    # another machine: no artifacts, the committed copy is read (and copied to the cache) when its key matches
    import shutil

    shutil.rmtree(tmp_path / "artifacts")
    assert run.cached("book_fvd.json", lambda: calls.append(1), key) == {"fvd": 12.5}
    assert len(calls) == 1 and (run.cache_dir / "book_fvd.json").is_file()
    # a retrained model (another checkpoint hash) recomputes instead of reading the shipped numbers
    (run.cache_dir / "book_fvd.json").unlink()
    assert run.cached("book_fvd.json", lambda: calls.append(1) or {"fvd": 3.0}, {**key, "checkpoint": "x"}) == {
        "fvd": 3.0
    }
    assert len(calls) == 2
    # a corrupt shipped file is ignored, not trusted
    (run.shipped_dir / "book_fvd.json").write_text("{not json")
    (run.cache_dir / "book_fvd.json").unlink()
    assert run.cached("book_fvd.json", lambda: calls.append(1) or 7, key) == 7 and len(calls) == 3
    # re-shipping replaces what was shipped before
    (run.shipped_dir / "book_old.json").write_text("{}")
    reference.ship_reference_caches(tmp_path / "artifacts", expected=expected)
    assert sorted(p.name for p in run.shipped_dir.iterdir()) == ["book_fvd.json"]


def test_init_from_with_keep_step_continues_the_schedule_with_a_fresh_optimiser(tmp_path):
    import csv

    def rows(folder):
        with open(folder / "metrics.csv", newline="") as f:
            return {int(r["step"]): r for r in csv.DictReader(f)}

    overrides = ["train.steps=8", "train.log_every=1", "train.ckpt_every=4", "train.decay_start=2"]
    train_preset("smoke", tmp_path / "a", overrides)
    train_preset("smoke", tmp_path / "half", overrides, until=4)
    export_weights(tmp_path / "half" / "last.pt", tmp_path / "half.pt")
    trainer, _ = train_preset("smoke", tmp_path / "b", overrides, init_from=tmp_path / "half.pt", keep_step=True)
    straight, continued = rows(tmp_path / "a"), rows(tmp_path / "b")
    assert sorted(continued) == [5, 6, 7, 8] and trainer.step == 8  # starts where the weights left off
    for step in continued:  # the learning rate and beta follow the schedule of the straight run
        assert (continued[step]["lr"], continued[step]["beta"]) == (straight[step]["lr"], straight[step]["beta"])
    assert load_checkpoint(tmp_path / "b" / "last.pt")["meta"]["init_step"] == 4
    with pytest.raises(ValueError, match="needs init_from"):
        train_preset("smoke", tmp_path / "c", overrides, keep_step=True)


def test_training_time_is_kept_in_every_checkpoint_and_survives_a_killed_segment(tmp_path):
    import json

    out = tmp_path / "run"
    train_preset("smoke-deterministic", out, ["train.steps=4"], until=2)
    first = load_checkpoint(out / "last.pt")["train_seconds"]
    assert first["complete"] and first["wall_s"] > 0 and first["cpu_s"] > 0
    (out / "train_time.json").unlink()  # as if the segment had been killed after its last checkpoint
    train_preset("smoke-deterministic", out, ["train.steps=4"], resume=True)
    total = load_checkpoint(out / "last.pt")["train_seconds"]
    assert total["wall_s"] > first["wall_s"] and total["cpu_s"] > first["cpu_s"]
    took = json.loads((out / "train_time.json").read_text())  # the sums, up to the segment's end
    assert all(total[k] <= took[k] < total[k] + 5 for k in ("wall_s", "cpu_s")), (took, total)
    # a run continued from another run's weights at its step: the earlier steps were not timed here
    ref = tmp_path / "ref.pt"
    ref.write_bytes((out / "last.pt").read_bytes())
    train_preset("smoke-deterministic", tmp_path / "cont", ["train.steps=6"], init_from=ref, keep_step=True)
    assert not load_checkpoint(tmp_path / "cont" / "last.pt")["train_seconds"]["complete"]

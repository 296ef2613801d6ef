"""Train-or-load: the runs the book's notebooks share, and the one function that trains a preset.

A notebook asks for a model by *kind* and the book's *profile*; the profile and
kind name a preset (:func:`preset_for`), and every setting of the run lives in
that preset (:mod:`rfn.presets`). Kinds are the four video models (``"rfn"``,
``"srnn"``, ``"vrnn"``, ``"deterministic"``, on SM-MNIST) and the book's other
named runs, which are presets called ``<profile>-<kind>`` (``"glow-mnist"``,
``"cond-glow-mnist"``, ``"moons-flow"``, ``"sinusoid-srnn-smooth"``,
``"ablation-rfn-L1"``, ...).

* :func:`train_preset` trains a preset (with ``--set``-style overrides) through
  :class:`rfn.training.Trainer`; ``rfn train`` calls it too.
* :func:`ensure_trained` returns the checkpoint of the finished run of a kind at a
  profile under ``<root>/<profile>/``, training (or resuming) it first when needed;
  :func:`trained_model` loads it. Heavy runs can be made elsewhere with
  ``rfn train --preset NAME --out <run_dir>`` and are then picked up.
* The ``reference`` profile trains no video model: it loads the weights-only files
  ``checkpoints/reference/<preset>.pt`` (:func:`reference_checkpoint`) with their
  ``metrics.csv`` and ``run.json`` beside them (:func:`run_file`). The book's small
  runs, which have no reference preset (the flows on points and MNIST digits, the
  sinusoids, the ablations), are trained at the quick scale, in minutes, and shared
  with the quick profile's folders (:func:`source_profile`).
* :func:`cached_json` stores numbers computed from a checkpoint beside it;
  :func:`ship_reference_caches` commits those of the reference models beside their
  weights (``checkpoints/reference/cache/``), so the book does not recompute them.

Example:
    >>> preset_for("rfn", "quick"), preset_for("glow-mnist", "smoke"), preset_for("moons-flow", "reference")
    ('quick-smmnist', 'smoke-glow-mnist', 'quick-moons-flow')
    >>> str(run_dir("srnn", "smoke", seed=1, root="artifacts"))
    'artifacts/smoke/srnn-smmnist-seed1'
    >>> str(run_dir("glow-mnist", "quick", root="artifacts"))
    'artifacts/quick/glow-mnist-seed0'
    >>> source_profile("glow-mnist", "reference"), source_profile("rfn", "reference")
    ('quick', 'reference')
    >>> str(run_file("srnn", "reference", "metrics.csv"))
    'checkpoints/reference/reference-smmnist-srnn.metrics.csv'
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rfn.data import make_datasets
from rfn.presets import PRESETS, SCALES, Preset, apply_overrides, get_preset
from rfn.runtime import seed_everything, to_jsonable

__all__ = [
    "PROFILES",
    "PROFILE_PRESETS",
    "VIDEO_KINDS",
    "cached_json",
    "ensure_trained",
    "export_reference",
    "preset_for",
    "reference_cache_dir",
    "reference_checkpoint",
    "reference_file",
    "reference_runs",
    "reference_work_dir",
    "run_dir",
    "run_file",
    "ship_reference_caches",
    "source_profile",
    "train_preset",
    "trained_model",
]

#: the book's profiles: the preset scales
PROFILES = SCALES
#: the models every results page compares, trained on SM-MNIST
VIDEO_KINDS = ("rfn", "srnn", "vrnn", "deterministic")
#: profile -> video kind -> preset
PROFILE_PRESETS: dict[str, dict[str, str]] = {
    "smoke": {"rfn": "smoke", "srnn": "smoke-srnn", "vrnn": "smoke-vrnn", "deterministic": "smoke-deterministic"},
    **{
        profile: {
            "rfn": f"{profile}-smmnist",
            **{kind: f"{profile}-smmnist-{kind}" for kind in ("srnn", "vrnn", "deterministic")},
        }
        for profile in ("quick", "reference", "thesis")
    },
}
#: where the reference profile's weights-only files live (relative to the working directory)
REFERENCE_ROOT = Path("checkpoints") / "reference"


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        hint = " (the profile once called 'full' is 'thesis')" if profile == "full" else ""
        raise ValueError(f"unknown profile {profile!r}{hint}; choose one of {', '.join(PROFILES)}")


def preset_for(kind: str, profile: str) -> str:
    """The preset that trains model ``kind`` at a book profile."""
    _check_profile(profile)
    if kind in VIDEO_KINDS:
        return PROFILE_PRESETS[profile][kind]
    name = f"{profile}-{kind}"
    if name not in PRESETS and profile == "reference":
        name = f"quick-{kind}"
    if name not in PRESETS:
        known = sorted({p.split("-", 1)[1] for p in PRESETS if p.startswith(f"{profile}-")} | set(VIDEO_KINDS))
        raise ValueError(f"no preset for kind {kind!r} at profile {profile!r}; kinds there: {', '.join(known)}")
    return name


def source_profile(kind: str, profile: str) -> str:
    """The profile whose run serves ``kind`` at ``profile``.

    The same profile, except that the ``reference`` profile serves kinds without a
    ``reference-*`` preset (the book's small runs) from their quick runs, which it trains
    when missing; the reference video models come from the committed files.
    """
    if profile == "reference" and not preset_for(kind, profile).startswith("reference-"):
        return "quick"
    preset_for(kind, profile)  # unknown kinds and profiles fail here
    return profile


def run_dir(
    kind: str, profile: str, seed: int = 0, root: str | os.PathLike = "artifacts", dataset: str = "smmnist"
) -> Path:
    """Folder of the run that trains ``kind`` at ``profile`` with ``seed`` (see :func:`source_profile`).

    At the reference profile a video kind's folder holds only what the pages compute from
    the committed model (caches); its weights and logs are :func:`run_file`'s.
    """
    name = f"{kind}-{dataset}" if kind in VIDEO_KINDS else kind
    return Path(root) / source_profile(kind, profile) / f"{name}-seed{seed}"


def reference_checkpoint(kind: str, root: str | os.PathLike = REFERENCE_ROOT, seed: int = 0) -> Path:
    """The weights-only file the ``reference`` profile loads for ``kind``: ``<root>/<preset>.pt``
    (``<preset>-seed<N>.pt`` for another training seed; the ablations' under ``<root>/ablations/``)."""
    return reference_file(preset_for(kind, "reference"), seed, root)


def reference_file(preset_name: str, seed: int = 0, root: str | os.PathLike = REFERENCE_ROOT) -> Path:
    """Where the weights of preset ``preset_name`` trained with ``seed`` are committed.

    Example:
        >>> str(reference_file("reference-smmnist"))
        'checkpoints/reference/reference-smmnist.pt'
        >>> str(reference_file("reference-ablation-srnn-D2", seed=1))
        'checkpoints/reference/ablations/reference-ablation-srnn-D2-seed1.pt'
    """
    folder = Path(root) / "ablations" if "-ablation-" in preset_name else Path(root)  # notebook 09's 24 small runs
    return folder / f"{preset_name}{'' if seed == 0 else f'-seed{seed}'}.pt"


def reference_runs(runs_root: str | os.PathLike = "runs") -> list[tuple[str, int, Path, Path]]:
    """Every run ``make reference`` trains, in order: ``(preset, seed, run folder, committed weights)``.

    The four video models (seed 0), then notebook 09's ablations (``reference-ablation-*``,
    seeds 0 and 1; run folders ``<preset>-seed1`` for the second seed).

    Example:
        >>> [(p, s, str(o), str(c)) for p, s, o, c in reference_runs()][-1]  # doctest: +NORMALIZE_WHITESPACE
        ('reference-ablation-srnn-smoothing', 1, 'runs/reference-ablation-srnn-smoothing-seed1',
         'checkpoints/reference/ablations/reference-ablation-srnn-smoothing-seed1.pt')
    """
    runs = [(PROFILE_PRESETS["reference"][kind], 0) for kind in VIDEO_KINDS]
    runs += [
        (name, seed) for name in sorted(p for p in PRESETS if p.startswith("reference-ablation-")) for seed in (0, 1)
    ]
    return [
        (name, seed, Path(runs_root) / reference_file(name, seed).stem, reference_file(name, seed))
        for name, seed in runs
    ]


#: the files of a run folder and their names beside a committed reference checkpoint
#: (``train_time.json`` only where the run wrote one: runs trained through :func:`train_preset`)
_REFERENCE_SUFFIX = {
    "last.pt": ".pt",
    "metrics.csv": ".metrics.csv",
    "run.json": ".run.json",
    "train_time.json": ".train_time.json",
}


def run_file(kind: str, profile: str, name: str, seed: int = 0, root: str | os.PathLike = "artifacts") -> Path:
    """A file of the run that serves ``kind`` at ``profile``: ``last.pt``, ``metrics.csv``, ``run.json``
    or ``train_time.json``.

    ``<run_dir>/<name>``, or at the reference profile, for a kind with a reference preset, the
    committed file beside its checkpoint (``checkpoints/reference/<preset>.metrics.csv``, ...).
    """
    if name not in _REFERENCE_SUFFIX:
        raise ValueError(f"run_file knows {', '.join(_REFERENCE_SUFFIX)}, not {name!r}")
    if source_profile(kind, profile) == "reference":
        return reference_checkpoint(kind, seed=seed).with_suffix(_REFERENCE_SUFFIX[name])
    return run_dir(kind, profile, seed, root) / name


def _row_step(row: bytes) -> float:
    """The step of a ``metrics.csv`` row; infinity for a row being written (no line end, or no number)."""
    first = row.split(b",", 1)[0]
    return int(first) if row.endswith(b"\n") and first.isdigit() else float("inf")


def export_reference(
    run: str | os.PathLike,
    preset_name: str,
    root: str | os.PathLike = REFERENCE_ROOT,
    seed: int | str = 0,
    dtype=None,
) -> Path:
    """Publish a run folder as the reference files of ``preset_name``: weights-only ``<preset>.pt``
    (:func:`rfn.checkpoint.export_weights`) with the run's ``run.json``, its ``metrics.csv`` up to
    the checkpoint's step and its ``train_time.json`` (if it has one) beside it.

    ``seed``: the run's training seed, which must match its ``run.json``; a seed other than 0
    publishes ``<preset>-seed<seed>.pt`` (the ablations' second seeds). Each file is replaced
    atomically. ``dtype``: store the weights at that precision (``torch.float16`` halves the file;
    :func:`rfn.checkpoint.export_weights`). Returns the checkpoint's path. ``make reference`` calls it.
    """
    import shutil

    from rfn.checkpoint import export_weights, load_checkpoint

    run, seed = Path(run), int(seed)
    get_preset(preset_name)
    trained_seed = json.loads((run / "run.json").read_text())["train_config"]["seed"]
    if trained_seed != seed:
        raise ValueError(f"{run} was trained with seed {trained_seed}, not {seed}; pass seed={trained_seed}")
    dst = reference_file(preset_name, seed, root)
    dst.parent.mkdir(parents=True, exist_ok=True)
    step = int(load_checkpoint(export_weights(run / "last.pt", dst, dtype))["step"])
    names = ["metrics.csv", "run.json"] + (["train_time.json"] if (run / "train_time.json").is_file() else [])
    for name in names:
        staged = dst.with_name(f".{dst.stem}.{name}.tmp-{os.getpid()}")
        if name == "metrics.csv":  # a run still training logs past its last checkpoint: keep whole rows up to it
            lines = (run / name).read_bytes().splitlines(keepends=True)  # bytes: the csv module's \r\n stays
            staged.write_bytes(b"".join(lines[:1] + [r for r in lines[1:] if _row_step(r) <= step]))
        else:
            shutil.copyfile(run / name, staged)
        os.replace(staged, dst.with_suffix(_REFERENCE_SUFFIX[name]))
    if "train_time.json" not in names:  # not one left from an earlier export
        dst.with_suffix(_REFERENCE_SUFFIX["train_time.json"]).unlink(missing_ok=True)
    return dst


def train_preset(
    preset_name: str | Preset,
    out: str | os.PathLike,
    overrides: Sequence[str] = (),
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    init_from: str | os.PathLike | None = None,
    until: int | None = None,
    keep_step: bool = False,
    restart: bool = False,
):
    """Train a preset (with ``--set``-style overrides) into ``out``; returns ``(trainer, rows)``.

    Args:
        preset_name: a name in :data:`rfn.presets.PRESETS`, or a preset object (``rfn train --config``).
        out: the run folder.
        overrides: ``key=value`` strings (``rfn train --set``).
        resume: continue the run in ``out`` (from the newest checkpoint there that verifies).
        meta: extra plain data stored with the run.
        init_from: a checkpoint (weights-only or full) whose model weights start a new run;
            ignored when the run resumes from its own checkpoint.
        until: stop after this step as if interrupted (a later call with ``resume=True`` continues).
        keep_step: with ``init_from``, continue at the checkpoint's step (learning-rate and beta
            schedules, data order) with a fresh optimiser, e.g. a committed reference model's run on a
            machine without its full checkpoint; without it the new run starts at step 0.
        restart: start the run in ``out`` over where its checkpoints exist but none verifies.

    The wall and CPU seconds of the training are added up in ``out/train_time.json``.
    """
    from rfn.checkpoint import load_checkpoint, run_checkpoints
    from rfn.models.registry import build
    from rfn.training import Trainer
    from rfn.training.runlog import identity_diff

    base = preset_name if isinstance(preset_name, Preset) else get_preset(preset_name)
    preset = apply_overrides(base, list(overrides))
    cfg = preset.train_config()
    seed_everything(cfg.seed)
    model = build(preset.model, preset.model_config)
    info = {"preset": preset.name, "overrides": list(overrides), **(meta or {})}
    if init_from is not None and not (resume and Path(out).is_dir() and run_checkpoints(out)):
        start = load_checkpoint(init_from, expected_model=preset.model)
        changed = identity_diff(
            {"model_name": preset.model, "model_config": start["model_config"]},
            {"model_name": preset.model, "model_config": asdict(model.config)},
        )
        misfit = _weights_misfit(model.state_dict(), start["model"])
        if misfit and changed:
            raise ValueError(
                f"--init-from {init_from} holds a {preset.model!r} model with another config than preset "
                f"{preset.name!r} (with these overrides; {'; '.join(changed)}) and its weights do not fit; "
                f"start from a checkpoint of the same preset"
            )
        if misfit:
            raise ValueError(
                f"--init-from {init_from}: its config matches preset {preset.name!r} but its weights do not "
                f"({misfit}); the file was edited or written by other code: start from another checkpoint"
            )
        model.load_state_dict(start["model"])
        info["init_from"] = str(init_from)
        if changed:  # a fine-tune that changes a setting without changing the weights (e.g. model.free_nats)
            info["init_from_changes"] = changed
            print(f"rfn: --init-from {init_from} loaded with other settings ({'; '.join(changed)})", file=sys.stderr)
        if keep_step:
            info["init_step"] = int(start.get("step", 0))
    elif keep_step and init_from is None:
        raise ValueError("keep_step (--keep-step) needs init_from (--init-from PATH)")
    data = asdict(preset.data)
    train_set, val_set = make_datasets(data)
    trainer = Trainer(model, train_set, val_set, cfg, out, data_config=data, resume=resume, meta=info, restart=restart)
    trainer.start_step = info.get("init_step", 0)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = trainer.fit(until)
    if rows and trainer.out_dir.is_dir():
        timing = trainer.out_dir / "train_time.json"
        took = json.loads(timing.read_text()) if timing.is_file() else {"wall_s": 0.0, "cpu_s": 0.0}
        took = {"wall_s": took["wall_s"] + time.perf_counter() - t0, "cpu_s": took["cpu_s"] + time.process_time() - c0}
        staged = timing.with_name(f".{timing.name}.tmp-{os.getpid()}")  # a killed process leaves no torn file
        staged.write_text(json.dumps(took))
        os.replace(staged, timing)
    return trainer, rows


def _weights_misfit(own: dict, theirs: dict) -> str:
    """Why ``theirs`` cannot be loaded into the model whose state dict is ``own`` (``""`` when it can)."""
    missing, extra = sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own))
    if missing or extra:
        return f"{len(missing)} tensors missing (e.g. {missing[:2]}), {len(extra)} unexpected (e.g. {extra[:2]})"
    for k in own:
        if not isinstance(theirs[k], torch.Tensor) or tuple(own[k].shape) != tuple(theirs[k].shape):
            got = tuple(theirs[k].shape) if isinstance(theirs[k], torch.Tensor) else type(theirs[k]).__name__
            return f"{k} is {got} there, {tuple(own[k].shape)} in the model"
    return ""


def _finished(ckpt: Path, steps: int) -> bool:
    from rfn.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(ckpt)["step"]) >= steps
    except (OSError, ValueError):
        return False


def ensure_trained(
    kind: str = "rfn",
    profile: str = "quick",
    seed: int = 0,
    root: str | os.PathLike = "artifacts",
    device: str | None = None,
    progress: bool = False,
) -> Path:
    """The checkpoint of the finished run of ``kind`` at ``profile``; trains (or resumes) it first if needed.

    Args:
        kind: a video kind or one of the book's named runs (see :func:`preset_for`).
        profile: ``"smoke"``, ``"quick"``, ``"reference"`` or ``"thesis"``.
        seed: training seed (part of the run folder's name).
        root: the notebooks' ``artifacts_dir``.
        device: ``"cpu"``, ``"cuda"``, ... or ``None``/``"auto"``.
        progress: show the training progress bar.

    Returns:
        ``<root>/<profile>/<run>/last.pt``; at the ``reference`` profile, for a kind with a
        reference preset, the file :func:`reference_checkpoint` names, which must exist (it is
        not trained here); other kinds are served by their quick run (:func:`source_profile`).
    """
    name = preset_for(kind, profile)
    profile = source_profile(kind, profile)
    if profile == "reference":
        path = reference_checkpoint(kind, seed=seed)
        if not path.is_file():
            run = f"runs/{name}" + ("" if seed == 0 else f"-seed{seed}")
            raise FileNotFoundError(
                f"reference checkpoint {path} is missing; train it with `make reference` (every reference "
                f"model, hours on a CPU) or alone with `rfn train --preset {name} --out {run} --set "
                f'train.seed={seed}` and export it with `python -c "from rfn.runs import export_reference; '
                f"export_reference('{run}', '{name}', seed={seed})\"`, or use the quick profile"
            )
        return path
    extra = [f"train.seed={seed}", f"train.progress={progress}"]
    if device not in (None, "auto"):
        extra.append(f"train.device={device}")
    steps = apply_overrides(get_preset(name), extra).train_config().steps
    out = run_dir(kind, profile, seed, root)
    ckpt = out / "last.pt"
    if not _finished(ckpt, steps):
        from rfn.checkpoint import run_checkpoints

        resume = out.is_dir() and bool(run_checkpoints(out))  # prev.pt alone is a checkpoint to continue from
        train_preset(name, out, extra, resume=resume, meta={"kind": kind, "profile": profile})
    return ckpt


def trained_model(
    kind: str,
    profile: str,
    seed: int = 0,
    root: str | os.PathLike = "artifacts",
    device: str | None = None,
    dataset: str = "smmnist",
) -> nn.Module:
    """The book's model ``kind`` at ``profile`` (see :func:`ensure_trained`), in eval mode on ``device``.

    ``dataset``: the video kinds have book presets on SM-MNIST only; BAIR and KTH
    runs are trained with ``rfn train --preset thesis-bair`` (or ``thesis-kth``) on prepared data.
    """
    from rfn.models.registry import load_model

    if dataset != "smmnist":
        raise ValueError(
            f"the book trains SM-MNIST video models only (dataset={dataset!r} given); for BAIR or KTH prepare "
            "the data (`rfn data prepare`) and train `rfn train --preset thesis-bair` (or thesis-kth)"
        )
    device = None if device == "auto" else device
    return load_model(ensure_trained(kind, profile, seed, root=root, device=device), device=device)


def cached_json(
    path: str | os.PathLike,
    compute: Callable[[], Any],
    key: dict[str, Any] | None = None,
    shipped: str | os.PathLike | None = None,
) -> Any:
    """Return the JSON stored at ``path`` if it was made with the same ``key``; else compute and store it.

    ``key`` describes what the numbers depend on (checkpoint hash, protocol, seed, ...);
    a different key recomputes. The file is written atomically. ``shipped``: a read-only
    copy made elsewhere (the committed evaluation of a reference model,
    :func:`ship_reference_caches`); used, and copied to ``path``, when its key matches.
    """
    path = Path(path)
    tag = hashlib.sha256(json.dumps(key or {}, sort_keys=True, default=str).encode()).hexdigest()[:16]
    for candidate in (path, Path(shipped) if shipped is not None else None):
        stored = _read_cache(candidate, tag) if candidate is not None else None
        if stored is not None:
            if candidate != path:
                _write_cache(path, stored)
            return stored["value"]
    _write_cache(path, {"key": tag, "value": to_jsonable(compute())})
    return json.loads(path.read_text())["value"]


def _read_cache(path: Path, tag: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text())
        return stored if stored.get("key") == tag and "value" in stored else None
    except (ValueError, AttributeError):
        return None


def _write_cache(path: Path, stored: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stored))
    os.replace(tmp, path)


def reference_work_dir(kind: str, seed: int = 0, artifacts: str | os.PathLike = "artifacts") -> Path:
    """Where a ``reference`` render stores what it computes from a committed model:
    ``<artifacts>/reference/<kind>[-seed<N>]/`` (``checkpoints/`` stays as committed)."""
    return Path(artifacts) / "reference" / (kind if seed == 0 else f"{kind}-seed{seed}")


def reference_cache_dir(kind: str, seed: int = 0, root: str | os.PathLike = REFERENCE_ROOT) -> Path:
    """Where the numbers the pages compute from a committed reference model are shipped:
    ``<root>/cache/<preset>[-seed<N>]/`` (see :func:`ship_reference_caches`)."""
    return Path(root) / "cache" / reference_checkpoint(kind, root, seed).stem


def ship_reference_caches(
    artifacts: str | os.PathLike = "artifacts", root: str | os.PathLike = REFERENCE_ROOT, seed: int = 0
) -> list[Path]:
    """Copy what a ``reference`` render computed from the committed models into ``checkpoints/``.

    After ``make book PROFILE=reference`` the pages' numbers for the video models (best-of-N
    evaluations, FVD on 256 clips, temperature sweeps: ``book_*.json`` in
    :func:`reference_work_dir`) are copied to
    :func:`reference_cache_dir`, replacing what was shipped before, so a later render on
    another machine reads them instead of recomputing (each file is keyed by the
    checkpoints' hashes: a retrained model recomputes).
    Returns the files written.
    """
    written = []
    for kind in VIDEO_KINDS:
        src = reference_work_dir(kind, seed, artifacts)
        files = sorted(src.glob("book_*.json")) if src.is_dir() else []
        if not files:
            continue
        dst = reference_cache_dir(kind, seed, root)
        for old in dst.glob("book_*.json") if dst.is_dir() else []:
            old.unlink()
        for f in files:
            stored = json.loads(f.read_text())
            if not isinstance(stored, dict) or "key" not in stored or "value" not in stored:
                raise ValueError(f"{f} is not a cache written by cached_json; delete it and render again")
            _write_cache(dst / f.name, stored)
            written.append(dst / f.name)
    if not written:
        raise FileNotFoundError(
            f"no book_*.json under {Path(artifacts) / 'reference'}/<kind>/: run `make book PROFILE=reference` first"
        )
    return written

"""Publishing the reference runs: what ``make reference`` trains and exports, and ``make reference-cache`` ships.

* :func:`reference_runs` lists every run ``make reference`` trains, in order;
* :func:`export_reference` publishes a run folder as the committed weights-only files of its
  preset (``checkpoints/reference/<preset>.pt`` and the run's logs beside it);
* :func:`ship_reference_caches` commits the numbers a ``reference`` render computed from those
  models beside them, so the book does not recompute them.

Where the book then finds these files is :mod:`rfn.runs`'s to decide.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rfn.presets import get_preset
from rfn.presets.ablations import ablation_variants
from rfn.profiles import VIDEO_KINDS, VIDEO_PRESETS
from rfn.runs import (
    REFERENCE_ROOT,
    RUN_FILES,
    reference_cache_dir,
    reference_file,
    reference_work_dir,
    write_cache,
)

__all__ = ["export_reference", "reference_runs", "ship_reference_caches"]


def reference_runs(runs_root: str | os.PathLike = "runs") -> list[tuple[str, int, Path, Path]]:
    """Every run ``make reference`` trains, in order: ``(preset, seed, run folder, committed weights)``.

    The four video models (seed 0), then notebook 09's ablations (``reference-ablation-*``,
    seeds 0 and 1; run folders ``<preset>-seed1`` for the second seed).

    Example:
        >>> [(p, s, str(o), str(c)) for p, s, o, c in reference_runs()][-1]  # doctest: +NORMALIZE_WHITESPACE
        ('reference-ablation-srnn-smoothing', 1, 'runs/reference-ablation-srnn-smoothing-seed1',
         'checkpoints/reference/ablations/reference-ablation-srnn-smoothing-seed1.pt')
    """
    runs = [(VIDEO_PRESETS["reference"][kind], 0) for kind in VIDEO_KINDS]
    runs += [
        (f"reference-ablation-{variant}", seed) for variant in sorted(ablation_variants("reference")) for seed in (0, 1)
    ]
    return [
        (name, seed, Path(runs_root) / reference_file(name, seed).stem, reference_file(name, seed))
        for name, seed in runs
    ]


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
        os.replace(staged, dst.with_suffix(RUN_FILES[name]))
    if "train_time.json" not in names:  # not one left from an earlier export
        dst.with_suffix(RUN_FILES["train_time.json"]).unlink(missing_ok=True)
    return dst


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
            write_cache(dst / f.name, stored)
            written.append(dst / f.name)
    if not written:
        raise FileNotFoundError(
            f"no book_*.json under {Path(artifacts) / 'reference'}/<kind>/: run `make book PROFILE=reference` first"
        )
    return written

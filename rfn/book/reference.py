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
    cache_tag,
    get_run,
    reference_cache_dir,
    reference_file,
    reference_work_dir,
    write_cache,
)

__all__ = ["export_reference", "page_cache_keys", "reference_runs", "ship_reference_caches", "shipped_mismatches"]


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
    dst: str | os.PathLike | None = None,
) -> Path:
    """Publish a run folder as the reference files of ``preset_name``: weights-only ``<preset>.pt``
    (:func:`rfn.checkpoint.export_weights`) with the run's ``run.json``, its ``metrics.csv`` up to
    the checkpoint's step and its ``train_time.json`` (if it has one) beside it.

    ``seed``: the run's training seed, which must match its ``run.json``; a seed other than 0
    publishes ``<preset>-seed<seed>.pt`` (the ablations' second seeds). Each file is replaced
    atomically. ``dtype``: store the weights at that precision (``torch.float16`` halves the file;
    :func:`rfn.checkpoint.export_weights`). ``dst``: the checkpoint's path instead of
    :func:`rfn.runs.reference_file` (an unfinished run's export). Returns the checkpoint's path.
    ``make reference`` calls it.
    """
    import shutil

    from rfn.checkpoint import export_weights, load_checkpoint

    run, seed = Path(run), int(seed)
    get_preset(preset_name)
    trained_seed = json.loads((run / "run.json").read_text())["train_config"]["seed"]
    if trained_seed != seed:
        raise ValueError(f"{run} was trained with seed {trained_seed}, not {seed}; pass seed={trained_seed}")
    dst = reference_file(preset_name, seed, root) if dst is None else Path(dst)
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
    artifacts: str | os.PathLike = "artifacts",
    root: str | os.PathLike = REFERENCE_ROOT,
    seed: int = 0,
    expected: dict[tuple[str, str], dict] | None = None,
) -> list[Path]:
    """Copy what a ``reference`` render computed from the committed models into ``checkpoints/``.

    After ``make book PROFILE=reference`` the pages' numbers for the video models (every file
    :func:`page_cache_keys` lists: best-of-N evaluations, FVD on 256 clips and its floor, digits at
    their place, temperature sweeps; ``book_*.json`` in :func:`reference_work_dir`) are copied to
    :func:`reference_cache_dir`, replacing what was shipped before, so a later render on
    another machine reads them instead of recomputing (each file is keyed by the
    checkpoints' hashes: a retrained model recomputes). Refuses when one is missing or was made
    under another key than the pages ask for now. ``expected``: ``{(kind, file name): key}`` instead of
    :func:`page_cache_keys`. Returns the files written.
    """
    expected = page_cache_keys(seed=seed, artifacts=artifacts) if expected is None else expected
    missing = [
        str(reference_work_dir(kind, seed, artifacts) / name)
        for (kind, name), key in expected.items()
        if _stored_tag(reference_work_dir(kind, seed, artifacts) / name) != cache_tag(key)
    ]
    if missing:
        raise FileNotFoundError(
            f"the render's numbers are missing or stale: {missing}; run `make book PROFILE=reference` first"
        )
    written = []
    for kind in {kind for kind, _ in expected}:
        dst = reference_cache_dir(kind, seed, root)
        for old in dst.glob("book_*.json") if dst.is_dir() else []:
            old.unlink()
    for (kind, name), _ in expected.items():
        stored = json.loads((reference_work_dir(kind, seed, artifacts) / name).read_text())
        write_cache(reference_cache_dir(kind, seed, root) / name, stored)
        written.append(reference_cache_dir(kind, seed, root) / name)
    return written


def page_cache_keys(
    seed: int = 0, device: str = "auto", artifacts: str | os.PathLike = "artifacts"
) -> dict[tuple[str, str], dict]:
    """The numbers the results pages (notebooks 05 and 06) cache beside the reference models, and their keys.

    Returns ``{(kind, file name): key}`` for the ``reference`` profile, each key built by the same
    functions the pages call (:meth:`rfn.runs.Run.evaluation_key`, :func:`rfn.pages.results.fvd_key`, ...),
    so a shipped file whose stored tag is ``cache_tag(key)`` is read by the page instead of recomputed.
    """
    from rfn.data import make_dataset
    from rfn.evaluation.inputs import select_sequences
    from rfn.pages import placed_digits, results, temperature
    from rfn.profiles import page_settings
    from rfn.runtime import resolve_device

    dev = resolve_device(device)
    kinds = ("rfn", "srnn", "vrnn")
    runs = {k: get_run(k, "reference", seed, root=artifacts) for k in kinds}
    s5 = page_settings("05_results", "reference")
    proto = s5["protocol"]
    keys = {}
    for k, run in runs.items():
        keys[(k, f"book_eval_{proto.name}.json")] = run.evaluation_key(proto, results.evaluation_options(s5, dev))
        keys[(k, f"book_fvd_{proto.name}.json")] = results.fvd_key(proto, s5["fvd_clips"], run, seed)
    rfn_run = runs["rfn"]
    data_kw = rfn_run.data_kwargs
    keys[("rfn", f"book_fvd_floor_{proto.name}.json")] = results.fvd_floor_key(proto, s5["fvd_clips"], data_kw)
    test = make_dataset("smmnist", proto.split, seq_len=proto.total_frames, **data_kw)
    indices = select_sequences(len(test), proto.n_test_sequences, proto.seed, f"protocol {proto.name!r}")
    keys[("rfn", f"book_placed_digits_{proto.name}.json")] = placed_digits.cache_key(
        proto, indices, s5["digit_samples"], list(runs.values())
    )
    s6 = page_settings("06_temperature", "reference")
    readable = results.digits_readable(data_kw)
    keys[("rfn", "book_temperature_measures_reference.json")] = temperature.measures_key(rfn_run, s6, seed, readable)
    sweep = temperature.sweep_protocol("reference", s6)
    keys[("rfn", f"book_temperature_{sweep.name}.json")] = temperature.sweep_key(
        rfn_run, sweep, s6["temperatures"], s6, seed
    )
    return keys


def shipped_mismatches(root: str | os.PathLike = REFERENCE_ROOT, **kwargs) -> list[str]:
    """Why a render of this checkout would recompute a shipped number: one line per missing or stale file
    (empty when every number :func:`page_cache_keys` lists is shipped under its current key)."""
    problems = []
    seed = kwargs.get("seed", 0)
    for (kind, name), key in page_cache_keys(**kwargs).items():
        path = reference_cache_dir(kind, seed, root) / name
        rel = path.relative_to(Path(root))
        if not path.is_file():
            problems.append(f"{rel}: not shipped")
            continue
        stored = _stored_tag(path)
        if stored != cache_tag(key):
            problems.append(f"{rel}: shipped under key {stored}, the page asks for {cache_tag(key)}")
    return problems


def _stored_tag(path: Path) -> str | None:
    """The key tag of a :func:`rfn.runs.cached_json` file, or None when there is no readable one."""
    try:
        return json.loads(path.read_text()).get("key")
    except (OSError, ValueError, AttributeError):
        return None

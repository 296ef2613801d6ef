"""What a run records: ``metrics.csv``, TensorBoard events, and the identity of the run.

:class:`RunLog` appends one row per logged step; :func:`run_identity` and
:func:`identity_diff` decide whether a folder holds the same run (so it can be
resumed) or another one. Settings that a run written by an older version does
not store count as their defaults, so old runs still resume.

Example:
    >>> info = {"model_name": "m", "model_config": {"a": 1}, "data_config": {"root": "/x"}, "train_config": {"lr": 1.0}}
    >>> identity_diff(info, {**info, "model_config": {"a": 2}})
    ['model_config.a: 1 there, 2 now']
    >>> identity_diff(info, {**info, "train_config": {"lr": 1.0, "warmup_steps": 0}})
    []
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from rfn.checkpoint import CheckpointError, load_run_checkpoint, run_checkpoints
from rfn.config import IDENTITY_DEFAULTS, IDENTITY_KEYS

__all__ = ["RunDirectoryError", "RunLog", "check_run_folder", "identity_diff", "read_run_json", "run_identity"]


class RunLog:
    """Rows to ``out_dir/metrics.csv`` (header fixed by the first row) and TensorBoard scalars in ``out_dir/tb``.

    Restarting at ``start_step`` keeps only the rows (and TensorBoard events) up to
    that step: later ones were written by a run that died and are logged again.
    """

    def __init__(self, out_dir: Path, start_step: int, tensorboard: bool):
        self.path = out_dir / "metrics.csv"
        self.fieldnames: list[str] | None = None
        self.rows: list[dict[str, str]] = []
        if self.path.exists():
            # keep only what the checkpoint we restart from had seen; later rows will be logged again
            text = self.path.read_text()
            # a last line without its newline was cut by a killed process, even where its fields look complete
            reader = csv.DictReader(io.StringIO(text if text.endswith("\n") else text[: text.rfind("\n") + 1]))
            self.fieldnames = list(reader.fieldnames or []) or None
            self.rows = [r for r in reader if _whole(r, self.fieldnames) and int(r["step"]) <= start_step]
            self._rewrite()
        self.tensorboard, self.tb_dir = tensorboard, out_dir / "tb"
        # events past the checkpoint we restart from were logged by a run that died; drop them
        self.purge_step: int | None = start_step + 1 if start_step else None
        self.writer = None

    def _rewrite(self) -> None:
        tmp = self.path.with_name(".metrics.csv.tmp")
        with open(tmp, "w", newline="") as f:
            if self.fieldnames:
                w = csv.DictWriter(f, fieldnames=self.fieldnames, restval="")
                w.writeheader()
                w.writerows(self.rows)
        os.replace(tmp, self.path)

    def write(self, row: dict[str, Any]) -> None:
        row = {k: ("" if v is None else v) for k, v in row.items()}
        if self.fieldnames is None:
            self.fieldnames = list(row)
            self._rewrite()
        extra = [k for k in row if k not in self.fieldnames]
        if extra:  # a metric appeared later (rare): widen the header, older rows get blanks
            self.fieldnames += extra
            self._rewrite()
        self.rows.append({k: str(v) for k, v in row.items()})
        line = io.StringIO()
        csv.DictWriter(line, fieldnames=self.fieldnames, restval="").writerow(row)
        with open(self.path, "a", newline="") as f:
            f.write(line.getvalue())  # one write: a killed process leaves at most one torn last line
        if self.tensorboard and self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.tb_dir), purge_step=self.purge_step)
            self.purge_step = None
        if self.writer is not None:
            step = int(row["step"])
            for k, v in row.items():
                if k == "step" or not isinstance(v, (int, float)) or isinstance(v, bool):
                    continue
                tag = "val/" + k[4:] if k.startswith("val_") else "train/" + k
                self.writer.add_scalar(tag, v, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _whole(row: dict[str, Any], fieldnames: list[str] | None) -> bool:
    """A ``metrics.csv`` row with every column (a torn last line, cut by a killed process, lacks some)."""
    if None in row or any(row.get(k) is None for k in fieldnames or ()):
        return False
    try:
        int(row["step"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def run_identity(info: dict[str, Any]) -> dict[str, Any]:
    """What a run is, flattened to dotted keys: model, model config, data (not where it lives), identity train keys."""
    train = info.get("train_config", {})
    ident = {
        "model_name": info.get("model_name"),
        "model_config": info.get("model_config"),
        "data_config": info.get("data_config"),
        "train_config": {k: train.get(k, IDENTITY_DEFAULTS[k]) for k in IDENTITY_KEYS},
    }
    flat = _flatten(json.loads(json.dumps(ident)))
    flat.pop("data_config.root", None)  # where the files are is not what the run is
    return flat


def _model_config_defaults(model_name: Any) -> dict[str, Any]:
    """Dotted ``model_config.*`` keys -> defaults of the registered model's config (none if unknown)."""
    from rfn.models.registry import MODELS

    entry = MODELS.get(model_name) if isinstance(model_name, str) else None
    if entry is None:
        return {}
    try:
        values = dataclasses.asdict(entry[0]())
    except (TypeError, ValueError):  # a config without defaults for every field
        return {}
    return _flatten(json.loads(json.dumps(values, default=str)), "model_config.")


def identity_diff(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """One line per identity key on which two runs (``run.json`` or checkpoint contents) differ.

    A model-config key the stored run lacks (a field added to the model since) counts as its default.
    """
    a, b = run_identity(stored), run_identity(now)
    defaults = _model_config_defaults(now.get("model_name"))
    return [
        f"{k}: {a.get(k, defaults.get(k))!r} there, {b.get(k)!r} now"
        for k in sorted(set(a) | set(b))
        if a.get(k, defaults.get(k)) != b.get(k)
    ]


class RunDirectoryError(ValueError):
    """The output folder holds another run, or a run that cannot be resumed with this config."""


def check_run_folder(
    out: Path, info: dict[str, Any], resume: bool, verbose: bool = True, restart: bool = False
) -> Path | None:
    """Refuse a folder holding another run; return the checkpoint to resume from, if any.

    Args:
        out: the run folder.
        info: what the new run is (``run.json`` contents: model, configs, data).
        resume: continue a run found there (it must be the same run).
        verbose: print what happens to stderr (the main process only).
        restart: start the run over from step 0 although the folder holds checkpoints; allowed only
            where none of them verifies (:func:`rfn.training.interrupts.resume_checkpoint` checks).

    Returns:
        ``out/last.pt`` when the folder holds a checkpoint (``last.pt`` or ``prev.pt``;
        :func:`rfn.checkpoint.load_run_checkpoint` picks the newest that verifies), else ``None``.
    """
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"output path {out} exists and is not a folder")
    run_json, last = out / "run.json", out / "last.pt"
    found = run_checkpoints(out) if out.is_dir() else []
    if restart:
        return last if found else None
    if not (run_json.exists() or found):
        if resume and verbose:
            print(f"rfn: nothing to resume in {out}; starting a new run", file=sys.stderr)
        return None
    if run_json.exists():
        stored = read_run_json(run_json)
    else:
        try:
            stored = load_run_checkpoint(out)[0]
        except CheckpointError:  # nothing verifies: resume_checkpoint refuses with the reasons
            stored = info
    diffs = identity_diff(stored, info)
    if not found and not _logged(out):
        # a run that never took a step (it failed while starting) holds nothing to keep: start it afresh
        if verbose:
            what = "a run that never took a step" if diffs else "no checkpoint yet"
            print(f"rfn: {out} holds {what}; starting the run from step 0 with this config", file=sys.stderr)
        return None
    if not resume:
        detail = ("; its config differs: " + "; ".join(diffs)) if diffs else " with the same config"
        raise RunDirectoryError(
            f"output folder {out} already holds a run{detail}. Pass --resume (Trainer(resume=True)) to "
            f"continue it, or choose another output folder"
        )
    if diffs:
        raise RunDirectoryError(f"cannot resume the run in {out} with this config; it differs: " + "; ".join(diffs))
    if not found:
        if verbose:
            print(f"rfn: {out} has no checkpoint yet; starting the run from step 0", file=sys.stderr)
        return None
    return last


def read_run_json(path: Path) -> dict[str, Any]:
    """A run's ``run.json`` as a dict, or :class:`RunDirectoryError` naming the file."""
    try:
        stored = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RunDirectoryError(
            f"{path} is unreadable ({type(err).__name__}: {str(err)[:120]}); move the folder away or fix the file"
        ) from None
    if not isinstance(stored, dict):
        raise RunDirectoryError(f"{path} holds a JSON {type(stored).__name__}, not a run description; fix the file")
    return stored


def _logged(out: Path) -> bool:
    """Whether ``out/metrics.csv`` holds a row (a run that took steps, though it may have no checkpoint)."""
    try:
        with open(out / "metrics.csv") as f:
            return sum(1 for line in f if line.strip()) > 1
    except OSError:
        return False

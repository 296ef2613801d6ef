"""Train a preset: the one function behind ``rfn train`` and the book's runs.

:func:`train_preset` resolves a preset (with ``--set``-style overrides), builds its model and
data sets, optionally starts from another checkpoint's weights (``--init-from``, with
``--keep-step`` continuing at its step), and runs :class:`rfn.training.Trainer`, adding the
wall and CPU seconds of the training up in ``train_time.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from rfn.data import make_datasets
from rfn.presets import Preset, apply_overrides, get_preset
from rfn.runtime import seed_everything

__all__ = ["train_preset"]


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

    The wall and CPU seconds of the training are added up in ``out/train_time.json`` (from the sums every
    checkpoint carries, :attr:`rfn.training.Trainer.train_seconds`, so a segment killed before it returned
    counts up to its last checkpoint).
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
    if trainer.start_step and trainer.step == 0:  # the steps before init_step ran elsewhere, uncounted
        trainer.train_seconds["complete"] = False
    t0, c0 = time.perf_counter(), time.process_time()
    rows = trainer.fit(until)
    if rows and trainer.out_dir.is_dir():
        timing = trainer.out_dir / "train_time.json"
        if trainer.train_seconds["complete"]:  # the checkpointed sums: every segment, killed ones included
            took = {k: trainer.train_seconds[k] for k in ("wall_s", "cpu_s")}
        else:  # a run begun before checkpoints kept the sums: add this call to what the file holds
            took = json.loads(timing.read_text()) if timing.is_file() else {"wall_s": 0.0, "cpu_s": 0.0}
            took = {
                "wall_s": took["wall_s"] + time.perf_counter() - t0,
                "cpu_s": took["cpu_s"] + time.process_time() - c0,
            }
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

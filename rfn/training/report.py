"""What a run tells its user: the start-of-run summary, a line per checkpoint, the best checkpoint, the closing lines.

``best.pt`` is the checkpoint with the lowest validation bits per pixel (validation
loss for models without ``bpp``) among the validations since the run began tracking it;
the record of it travels in every checkpoint (``"best"``), so a resumed run compares
with the same value (a checkpoint written before best tracking existed starts afresh).

Example:
    >>> rec = better(None, {"step": 10, "val_bpp": 3.5, "val_loss": 2.0})
    >>> rec
    {'step': 10, 'metric': 'bpp', 'value': 3.5}
    >>> better(rec, {"step": 20, "val_bpp": 3.7}) is None, better(rec, {"step": 20, "val_bpp": 3.1})["value"]
    (True, 3.1)
    >>> better(None, {"step": 5, "val_bpp": None}) is None
    True

A new best is written to ``best.pt`` at every validation that improves on the record,
but announced on the console only when it is news (:func:`worth_announcing`): the first
one, or one at least :data:`VISIBLE_GAIN` below the value announced last, so a run whose
validation creeps down prints a line now and then instead of one per validation.

    >>> worth_announcing({"metric": "bpp", "value": 3.1}, None)
    True
    >>> worth_announcing({"metric": "bpp", "value": 3.09}, {"metric": "bpp", "value": 3.1})
    False
    >>> worth_announcing({"metric": "bpp", "value": 3.0}, {"metric": "bpp", "value": 3.1})
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

__all__ = [
    "BEST_NAME",
    "VISIBLE_GAIN",
    "better",
    "checkpoint_line",
    "closing_lines",
    "start_summary",
    "wants_summary",
    "worth_announcing",
]

#: file name of the best checkpoint beside ``last.pt``
BEST_NAME = "best.pt"
#: the relative drop below the last announced best that makes a new best worth a console line
VISIBLE_GAIN = 0.01


def better(best: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, Any] | None:
    """The new best record if ``row``'s validation value beats ``best`` (lower is better), else ``None``."""
    metric = "bpp" if row.get("val_bpp") is not None else "loss"
    value = row.get("val_" + metric)
    if value is None or not math.isfinite(value):
        return None
    if best is not None and best.get("metric") == metric and not value < best["value"]:
        return None
    return {"step": int(row["step"]), "metric": metric, "value": float(value)}


def worth_announcing(best: dict[str, Any], announced: dict[str, Any] | None) -> bool:
    """Whether the new best record ``best`` deserves a console line after the one ``announced`` last."""
    if announced is None or announced.get("metric") != best["metric"]:
        return True
    return best["value"] <= announced["value"] - VISIBLE_GAIN * abs(announced["value"])


def wants_summary(cfg: Any) -> bool:
    """Whether to print the start summary and the checkpoint lines (``summary``; ``None`` follows ``progress``)."""
    summary = getattr(cfg, "summary", None)
    return bool(cfg.progress if summary is None else summary)


def _size(ds: Dataset | None) -> str:
    if ds is None:
        return "none"
    try:
        return f"{len(ds):,}"
    except TypeError:
        return "unsized"


def start_summary(trainer: Any, stop: int) -> str:
    """The lines printed before the first step: model, parameters, device, processes, data, run folder, TensorBoard."""
    cfg, model, out = trainer.config, trainer.model, Path(trainer.out_dir)
    n_params = sum(p.numel() for p in model.parameters())
    data = trainer.data_config
    frames = f", {data['seq_len']} frames" if data.get("seq_len") else ""
    batch = f"batch {cfg.batch_size}"
    if getattr(cfg, "accumulate", 1) > 1:
        batch += f" in {cfg.accumulate} micro-batches of {cfg.batch_size // cfg.accumulate // trainer.world}"
    start = f"resuming at step {trainer.step}" if trainer.step else "from step 0"
    lines = [
        f"model     {type(model).NAME} ({n_params:,} parameters) on {trainer.device}, "
        f"{trainer.world} process{'es' if trainer.world > 1 else ''}, {batch}",
        f"data      {data.get('name', '?')}: {_size(trainer.train_set)} training / "
        f"{_size(trainer.val_set)} validation items{frames}",
        f"steps     {start} to {stop} of {cfg.steps}; checkpoint every {cfg.ckpt_every}, "
        f"validation every {cfg.val_every or 'never'}",
        f"run       {out} (run.json, metrics.csv, last.pt, {BEST_NAME})",
    ]
    if cfg.tensorboard:
        lines.append(f"watch     tensorboard --logdir {out / 'tb'}")
    return "\n".join(lines)


def checkpoint_line(step: int, path: Path, best: dict[str, Any] | None) -> str:
    """``step N: checkpoint PATH``, or for ``best.pt`` the validation value that made it the best."""
    if Path(path).name == BEST_NAME and best is not None:
        return f"step {step}: best validation {best['metric']} so far, {best['value']:.4f}: {path}"
    return f"step {step}: checkpoint {path}"


def closing_lines(step: int, row: dict[str, Any], last: Path, best: dict[str, Any] | None, wall_s: float) -> str:
    """The end of a run: final train and validation numbers, wall time, the last and the best checkpoint."""
    if not row:  # nothing was trained: the run was already at its last step
        text = f"step {step}: the run had already reached its last step; nothing to train; checkpoint {last}"
        best_path = Path(last).with_name(BEST_NAME)
        if best is not None and best_path.is_file():
            text += f"\nbest      {best_path} (validation {best['metric']} {best['value']:.4f} at step {best['step']})"
        return text
    key = "bpp" if "bpp" in row else "loss"
    summary = f"step {step}: train {key} {row.get(key, float('nan')):.4f}"
    if row.get("val_" + key) is not None:
        summary += f", validation {key} {row['val_' + key]:.4f}"
    summary += f"; {_duration(wall_s)}"
    text = f"{summary}; checkpoint {last}"
    best_path = Path(last).with_name(BEST_NAME)
    if best is not None and best_path.is_file():
        text += f"\nbest      {best_path} (validation {best['metric']} {best['value']:.4f} at step {best['step']})"
    return text


def _duration(seconds: float) -> str:
    """``12.3 s``, ``4 min 5 s``, ``2 h 3 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"

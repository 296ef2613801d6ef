"""TensorBoard beyond scalars: the run's hyper-parameters and, at each validation, predicted frames.

* :func:`log_hparams` writes every setting of the run (model, data and training
  configs, flattened to dotted keys) to the HParams dashboard, with the validation
  scalars as its metrics, and ``run.json`` as text under ``run/config``.
* :func:`log_predictions` draws, for models with ``predict``, the futures of the first
  ``n`` validation sequences after half of their frames and adds one image
  ``val/predictions``: per sequence a row of the real frames and a row of the context
  followed by the predicted frames. It runs in eval mode, without gradients, under a
  fixed seed inside a forked random state, so training's random stream and the run's
  numbers do not change.

Example:
    >>> flat_hparams({"train_config": {"lr": 0.001, "grad_clip": None}, "model_config": {"levels": [1, 2]}})
    {'model.levels': '[1, 2]', 'train.lr': 0.001, 'train.grad_clip': 'None'}
    >>> real, predicted = torch.zeros(2, 4, 1, 5, 6, dtype=torch.uint8), torch.ones(2, 3, 1, 5, 6, dtype=torch.uint8)
    >>> prediction_grid(real, predicted).shape  # 2 sequences x 2 rows of 5 px + 3 gaps, 4 frames of 6 px
    torch.Size([1, 23, 24])
"""

from __future__ import annotations

import json
from typing import Any

import torch

from rfn.runtime import derive_seed
from rfn.training.order import to_device

__all__ = ["flat_hparams", "log_hparams", "log_predictions", "prediction_grid", "tensorboard_extras"]

_SECTIONS = {"model_config": "model", "data_config": "data", "train_config": "train"}


def flat_hparams(info: dict[str, Any]) -> dict[str, Any]:
    """``run.json`` contents as ``{"train.lr": 3e-4, "model.levels": "3", ...}`` (numbers, bools and strings)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}")
        elif isinstance(node, (bool, int, float, str)):
            out[prefix] = node
        else:
            out[prefix] = json.dumps(node, default=str) if node is not None else "None"

    for section, name in _SECTIONS.items():
        walk(info.get(section) or {}, name)
    return out


def log_hparams(writer: Any, info: dict[str, Any], metrics: list[str]) -> None:
    """The run's settings in the HParams dashboard of ``writer``'s run, with ``val/<metric>`` as its metrics."""
    from torch.utils.tensorboard.summary import hparams

    exp, ssi, sei = hparams(flat_hparams(info), {f"val/{k}": float("nan") for k in metrics})
    for summary in (exp, ssi, sei):
        writer.file_writer.add_summary(summary)
    writer.add_text("run/config", "```\n" + json.dumps(info, indent=2, default=str) + "\n```")


def prediction_grid(real: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """``uint8 [C, 2*B*H + (2B-1), T*W]`` image: per sequence its real frames, then context + predicted frames.

    Args:
        real: ``uint8 [B, T, C, H, W]`` sequences.
        predicted: ``uint8 [B, F, C, H, W]`` predictions of the last ``F`` frames.
    """
    b, t, c, h, w = real.shape
    context = real[:, : t - predicted.shape[1]]
    rows = torch.stack([real, torch.cat([context, predicted.to(real.device)], 1)], 1)  # [B, 2, T, C, H, W]
    rows = rows.reshape(2 * b, t, c, h, w).permute(0, 2, 3, 1, 4).reshape(2 * b, c, h, t * w)
    gap = torch.full((2 * b, c, 1, t * w), 128, dtype=torch.uint8)
    image = torch.cat([rows, gap], 2).permute(1, 0, 2, 3).reshape(c, 2 * b * (h + 1), t * w)
    return image[:, :-1]


@torch.no_grad()
def log_predictions(writer: Any, model: torch.nn.Module, val_set: Any, step: int, seed: int, n: int = 2) -> bool:
    """Add ``val/predictions`` at ``step`` for a video model with ``predict``; returns whether it did."""
    if getattr(type(model), "BATCH", None) != "video" or not callable(getattr(model, "predict", None)):
        return False
    if val_set is None or len(val_set) == 0:
        return False
    items = [val_set[i] for i in range(min(n, len(val_set)))]
    real = torch.stack(items)
    if real.dtype != torch.uint8 or real.dim() != 5 or real.shape[1] < 2:
        return False
    device = next(model.parameters()).device
    context = max(1, real.shape[1] // 2)
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(derive_seed("tensorboard-predictions", seed))
            pred = model.predict(to_device(real[:, :context], device), n_future=real.shape[1] - context, n_samples=1)
    finally:
        model.train(was_training)
    writer.add_image("val/predictions", prediction_grid(real, pred[:, 0].cpu()), step, dataformats="CHW")
    writer.flush()
    return True


def tensorboard_extras(writer: Any, trainer: Any, row: dict[str, Any], validated: bool) -> None:
    """After a logged row (main process): the hyper-parameters once per writer, predictions at validations."""
    if writer is None:
        return
    if not getattr(writer, "_rfn_hparams_written", False):
        log_hparams(writer, trainer._run_info(), [k[4:] for k in row if k.startswith("val_")])
        writer._rfn_hparams_written = True
    if validated:
        log_predictions(writer, trainer.model, trainer.val_set, trainer.step, trainer.config.seed)

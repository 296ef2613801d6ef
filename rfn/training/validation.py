"""Validation during training: fixed held-out items, a fixed seed, the metrics a model's loss reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from rfn import distributed as dist_utils
from rfn.config import TrainConfig
from rfn.runtime import derive_seed
from rfn.training.order import collate, to_device

__all__ = ["metric_keys", "validation_metrics"]

_FIRST_METRICS = ("loss", "bpp", "nll_bpp", "kl_bpp")


def metric_keys(out: dict[str, Any]) -> list[str]:
    """``loss``, then ``bpp``, ``nll_bpp``, ``kl_bpp`` where present, then the other scalars by name."""
    if not isinstance(out, dict):
        raise TypeError(f"model.loss must return a dict of scalar tensors, got {type(out).__name__}")
    if not isinstance(out.get("loss"), torch.Tensor) or out["loss"].numel() != 1:
        raise ValueError(f"model.loss must return a scalar tensor under 'loss'; it returned keys {sorted(out)}")
    # entries are logged when they are scalars; anything larger is the model's own business
    scalars = [k for k, v in out.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    first = [k for k in _FIRST_METRICS if k in scalars]
    return first + sorted(k for k in scalars if k not in first)


@torch.no_grad()
def validation_metrics(
    model: nn.Module, val_set: Dataset, cfg: TrainConfig, device: torch.device, autocast: Callable[[], Any]
) -> dict[str, float]:
    """``model.loss`` at ``beta = 1`` in eval mode, averaged over validation items.

    Uses the first ``val_batches * batch_size`` items of a fixed permutation of
    ``val_set`` and a fixed random seed (under a forked random state, so training's
    stream is untouched), so repeated calls on the same weights give the same
    numbers. Under data parallelism the items are shared out over the ranks and the
    sums reduced.
    """
    rank, world = dist_utils.rank(), dist_utils.world_size()
    n = len(val_set)
    if n < world:
        raise ValueError(f"the validation set has {n} items, fewer than the {world} processes")
    g = torch.Generator().manual_seed(derive_seed("val", cfg.seed))
    order = torch.randperm(n, generator=g)[: min(n, cfg.val_batches * cfg.batch_size)].tolist()
    mine = order[rank::world]
    local = cfg.batch_size // world
    was_training = model.training
    model.eval()
    keys: list[str] = []
    sums: torch.Tensor | None = None
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed("val-noise", cfg.seed, rank))
            for b in range(0, len(mine), local):
                idx = mine[b : b + local]
                batch = to_device(collate([val_set[i] for i in idx]), device, non_blocking=True)
                with autocast():
                    out = model.loss(batch, beta=1.0)
                keys = keys or metric_keys(out)
                vals = torch.stack(
                    [out[k].detach().float().reshape(()) for k in keys] + [torch.ones((), device=device)]
                )
                vals = vals * len(idx)
                sums = vals if sums is None else sums + vals
    finally:
        model.train(was_training)
    assert sums is not None
    dist_utils.all_reduce(sums)
    values = sums.tolist()
    return {k: v / values[-1] for k, v in zip(keys, values[:-1])}

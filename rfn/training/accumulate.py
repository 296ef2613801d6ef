"""Gradient accumulation: one optimiser step's batch run as ``accumulate`` micro-batches.

``train.batch_size`` stays the batch of one optimiser step (the data order does not
change); with ``train.accumulate = k`` each process runs its share in ``k`` equal
micro-batches, one forward and backward each, and weights micro-batch ``i``'s loss by
``n_i / n``. For a loss that is a mean over the batch items (every registered model's
is), the summed gradient equals the full batch's gradient up to floating-point
rounding, and so does the optimiser step. Models whose forward uses batch statistics
(BatchNorm in training mode) see them per micro-batch, as with any accumulation.
Under DistributedDataParallel the gradients are all-reduced once, after the last
micro-batch.

Example:
    >>> import torch
    >>> parts = split_batch((torch.arange(6), torch.arange(6) * 10), 3)
    >>> [tuple(p[0].tolist()) for p in parts], [tuple(p[1].tolist()) for p in parts]
    ([(0, 1), (2, 3), (4, 5)], [(0, 10), (20, 30), (40, 50)])
    >>> split_batch(torch.zeros(5, 2), 2)
    Traceback (most recent call last):
    ...
    ValueError: train.accumulate=2 does not divide this process's batch of 5 items; choose a divisor of it
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from rfn.training.order import batch_len, to_device

__all__ = ["forward_backward", "split_batch"]


def split_batch(batch: Any, parts: int) -> list[Any]:
    """``batch`` (a tensor or a tuple of tensors) cut along its first dimension into ``parts`` equal pieces."""
    n = batch_len(batch)
    if parts < 1 or n % parts:
        raise ValueError(
            f"train.accumulate={parts} does not divide this process's batch of {n} items; choose a divisor of it"
        )
    if isinstance(batch, torch.Tensor):
        return list(batch.chunk(parts))
    pieces = [t.chunk(parts) for t in batch]
    return [tuple(p[i] for p in pieces) for i in range(parts)]


def forward_backward(
    net: nn.Module, batch: Any, beta: float, parts: int, device: torch.device, autocast: Callable[[], Any]
) -> dict[str, torch.Tensor]:
    """Forward and backward of one optimiser step's batch in ``parts`` micro-batches.

    Args:
        net: module whose ``forward(batch, beta)`` returns ``model.loss``'s dict
            (possibly wrapped in DistributedDataParallel).
        batch: this process's batch (on the CPU or already on ``device``).
        beta: the KL weight of the step.
        parts: micro-batches (``train.accumulate``); 1 is one plain forward and backward.
        device: where to move each micro-batch.
        autocast: returns the autocast context of the forward.

    Returns:
        ``model.loss``'s dict for the whole batch: with ``parts > 1`` every scalar entry is the
        item-weighted mean of the micro-batches' values (detached, ``"loss"`` included).
    """
    if parts == 1:
        with autocast():
            out = net(to_device(batch, device, non_blocking=True), beta)
        out["loss"].backward()
        return out
    chunks = split_batch(batch, parts)
    total = batch_len(batch)
    sums: dict[str, torch.Tensor] = {}
    for i, chunk in enumerate(chunks):
        weight = batch_len(chunk) / total
        last = i == len(chunks) - 1
        no_sync = getattr(net, "no_sync", None)
        sync = contextlib.nullcontext() if last or no_sync is None else no_sync()
        with sync:
            with autocast():
                out = net(to_device(chunk, device, non_blocking=True), beta)
            (out["loss"] * weight).backward()
        for k, v in out.items():
            if isinstance(v, torch.Tensor) and v.numel() == 1:
                value = v.detach().float() * weight
                sums[k] = value if k not in sums else sums[k] + value
    return sums

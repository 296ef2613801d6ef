"""Batches of any registered model: items collated into a tensor or a tuple of tensors, then moved.

A data set item is a tensor (a video ``[T, C, H, W]``, an image, a sequence, a
point) or a tuple of tensors (a ``(condition, target)`` pair); a batch stacks
items along a new first dimension, keeping the tuple structure. What a model
accepts is checked by :func:`rfn.models.registry.check_batch`.

Example:
    >>> import torch
    >>> b = collate([(torch.zeros(2), torch.ones(3)), (torch.zeros(2), torch.ones(3))])
    >>> type(b).__name__, [tuple(t.shape) for t in b], batch_len(b)
    ('tuple', [(2, 2), (2, 3)], 2)
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import default_collate

__all__ = ["batch_len", "collate", "to_device"]


def collate(items: list[Any]) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Stack items (tensors, or tuples of tensors) into a batch; tuples stay tuples."""
    batch = default_collate(items)
    return tuple(batch) if isinstance(batch, list) else batch


def to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """A tensor or a tuple/list of tensors moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, (tuple, list)):
        return tuple(to_device(b, device, non_blocking) for b in batch)
    raise TypeError(f"a batch must be a tensor or a tuple of tensors, got {type(batch).__name__}")


def batch_len(batch: Any) -> int:
    """Number of items in a batch (the first dimension of its first tensor)."""
    while isinstance(batch, (tuple, list)):
        batch = batch[0]
    return int(batch.shape[0])

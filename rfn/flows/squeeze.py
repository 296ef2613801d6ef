"""Space-to-depth by 2 (Dinh et al., 2017): ``[B, C, H, W] -> [B, 4C, H/2, W/2]``.

A pure permutation of the entries, so its log-determinant is zero.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Squeeze", "squeeze2d", "unsqueeze2d"]


def squeeze2d(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W] -> [B, 4C, H/2, W/2]``; each output channel group is one 2x2 offset."""
    b, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"squeeze needs even height and width, got {h}x{w}")
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`squeeze2d`."""
    b, c, h, w = x.shape
    if c % 4:
        raise ValueError(f"unsqueeze needs channels divisible by 4, got {c}")
    x = x.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, h * 2, w * 2)


class Squeeze(nn.Module):
    """Flow-layer wrapper of :func:`squeeze2d` (zero log-determinant)."""

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return squeeze2d(x), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return unsqueeze2d(y), y.new_zeros(y.shape[0])

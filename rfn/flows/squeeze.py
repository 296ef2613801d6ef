"""Space-to-depth by 2 (Dinh et al., 2017): ``[B, C, H, W] -> [B, 4C, H/2, W/2]``.

A pure permutation of the entries, so its log-determinant is zero.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Squeeze", "squeeze2d", "unsqueeze2d"]


def _channels_last(x: torch.Tensor, channels_last: bool | None) -> bool:
    if channels_last is not None:
        return channels_last
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def squeeze2d(x: torch.Tensor, channels_last: bool | None = None) -> torch.Tensor:
    """``[B, C, H, W] -> [B, 4C, H/2, W/2]``; each output channel group is one 2x2 offset.

    Output channel ``4c + 2i + j`` holds input channel ``c`` at row offset ``i`` and column
    offset ``j``. ``channels_last`` picks the memory layout of the result (None: the input's);
    the values do not depend on it. See book/normalising_flows.md, figure (fig-glow-multiscale).
    """
    b, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"squeeze needs even height and width, got {h}x{w}")
    if _channels_last(x, channels_last):
        y = x.permute(0, 2, 3, 1).reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 5, 2, 4)
        return y.reshape(b, h // 2, w // 2, c * 4).permute(0, 3, 1, 2)
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x: torch.Tensor, channels_last: bool | None = None) -> torch.Tensor:
    """Inverse of :func:`squeeze2d` (``channels_last`` as there)."""
    b, c, h, w = x.shape
    if c % 4:
        raise ValueError(f"unsqueeze needs channels divisible by 4, got {c}")
    if _channels_last(x, channels_last):
        y = x.permute(0, 2, 3, 1).reshape(b, h, w, c // 4, 2, 2).permute(0, 1, 4, 2, 5, 3)
        return y.reshape(b, h * 2, w * 2, c // 4).permute(0, 3, 1, 2)
    x = x.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, h * 2, w * 2)


class Squeeze(nn.Module):
    """Flow-layer wrapper of :func:`squeeze2d` (zero log-determinant)."""

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return squeeze2d(x), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return unsqueeze2d(y), y.new_zeros(y.shape[0])

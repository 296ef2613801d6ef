"""Feature extractor: one down-sampling block per flow level (thesis 8.2.1, Table 8.1).

The extractor encodes a frame ``x_t`` into a pyramid of feature maps whose
resolutions match the levels of the multi-scale Glow: block ``l`` (1-based)
halves the spatial size, so its output is at ``H / 2**l``. The last map (at
``H / 2**L``) feeds the recurrent bottleneck; all of them can serve as U-Net
skip connections for the conditioning network (:mod:`rfn.nets.conditioner`).

Two styles, as in the thesis:

* ``"vgg"`` (Simonyan & Zisserman, 2015): two 3x3 convolutions, then 2x2 max-pooling.
* ``"dcgan"`` (Radford et al., 2016): a 3x3 convolution, then a 4x4 convolution
  with stride 2 instead of pooling.

Every convolution is followed by a normalisation (BatchNorm by default) and a
leaky ReLU with slope 0.2.

Channel widths: level ``l`` has ``base_channels * growth**(l - 1)`` channels
(8, 16, 32, ... by default), which is what the rows ``l = 1`` and ``l = 2`` of
Table 8.1 show; the table's generic row writes ``8 * 2**l``, which would give
16 at ``l = 1`` and contradicts its own first row, so the explicit rows win.
Pass ``channels`` to set every level's width yourself.

Example:
    >>> import torch
    >>> net = Extractor(3, levels=3)
    >>> [tuple(f.shape) for f in net(torch.zeros(2, 3, 32, 32))]
    [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]
    >>> net.out_channels
    [8, 16, 32]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rfn.nets.layers import check_channel_list, check_norm_kind, check_style, conv_block

__all__ = ["Extractor", "level_channels"]


def level_channels(levels: int, base_channels: int = 8, growth: int = 2) -> list[int]:
    """Channel widths per level: ``base_channels * growth**(l - 1)`` for ``l = 1..levels``.

    >>> level_channels(4)
    [8, 16, 32, 64]
    """
    if not isinstance(levels, int) or levels <= 0:
        raise ValueError(f"levels must be a positive integer, got {levels!r}")
    if not isinstance(base_channels, int) or base_channels <= 0:
        raise ValueError(f"base_channels must be a positive integer, got {base_channels!r}")
    if not isinstance(growth, int) or growth <= 0:
        raise ValueError(f"growth must be a positive integer, got {growth!r}")
    return [base_channels * growth**level for level in range(levels)]


class Extractor(nn.Module):
    """Down-sampling feature pyramid, one block per flow level.

    The feature extractor ``phi``. See book/rfn.md, equation (eq-rfn-transition), figure
    (fig-rfn-data-path).

    Args:
        in_channels: channels of the input frames.
        levels: number of blocks ``L`` (the number of Glow levels).
        base_channels: width of the first level.
        growth: width factor from one level to the next.
        style: ``"vgg"`` or ``"dcgan"``.
        norm: ``"batch"``, ``"group"`` or ``"none"`` (see :func:`rfn.nets.layers.norm_layer`).
        channels: explicit width per level (finest first); overrides ``base_channels`` and ``growth``.

    Attributes:
        out_channels: list of the output channels per level, finest first.
        fold_norms: the fast path (``vgg``): each block's second activation runs after its
            max-pool (the same numbers, the leaky ReLU being increasing) and eval-mode
            BatchNorms are folded (:class:`~rfn.nets.layers.ConvNormAct`); False runs every
            layer in order (the reference path of ``benchmarks/throughput.py``).
    """

    fold_norms: bool = True

    def __init__(
        self,
        in_channels: int,
        levels: int,
        base_channels: int = 8,
        growth: int = 2,
        style: str = "vgg",
        norm: str = "batch",
        channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        check_style(style)
        check_norm_kind(norm)
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
        if channels is None:
            widths = level_channels(levels, base_channels, growth)
        else:
            if not isinstance(levels, int) or levels <= 0:
                raise ValueError(f"levels must be a positive integer, got {levels!r}")
            widths = check_channel_list(channels, levels, "channels")
        self.in_channels = in_channels
        self.levels = levels
        self.style = style
        self.out_channels = widths
        blocks = []
        prev = in_channels
        for width in widths:
            if style == "vgg":
                block = nn.Sequential(
                    conv_block(prev, width, norm), conv_block(width, width, norm), nn.MaxPool2d(2, stride=2)
                )
            else:
                block = nn.Sequential(
                    conv_block(prev, width, norm), conv_block(width, width, norm, kernel_size=4, stride=2, padding=1)
                )
            blocks.append(block)
            prev = width
        self.blocks = nn.ModuleList(blocks)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, levels={self.levels}, style={self.style!r}"

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps of every level.

        Args:
            x: frames ``[B, in_channels, H, W]`` with ``H`` and ``W`` divisible by ``2**levels``.

        Returns:
            ``L`` maps, finest first: the ``l``-th (1-based) is
            ``[B, out_channels[l-1], H / 2**l, W / 2**l]``.
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"Extractor expects frames of shape [B, {self.in_channels}, H, W], got {shape}")
        factor = 2**self.levels
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(
                f"Extractor with {self.levels} levels needs H and W divisible by {factor}, got {tuple(x.shape[2:])}"
            )
        features = []
        for block in self.blocks:
            if self.fold_norms and self.style == "vgg":
                # the leaky ReLU is increasing, so it commutes with the max-pool: pool first, activate a quarter
                x = block[1]._act_(block[2](block[1].pre_activation(block[0](x))))
            else:
                x = block(x)
            features.append(x)
        return features

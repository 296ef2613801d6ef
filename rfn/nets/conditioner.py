"""The feature extractor reversed: a pyramid decoder (thesis 8.2.3).

It turns the bottleneck map at the coarsest resolution (typically the
concatenation of ``h_t`` and ``z_t`` at ``H / 2**L``) into one feature map per
level, each at that level's resolution. The RFN uses it as its conditioning
network (one condition map per Glow level; the alias :data:`Conditioner` says
so); SRNN, VRNN and the deterministic baseline use it as their decoder and put
an output head on its finest map.

Order and resolutions (the contract with the Glow, whose ``cond`` is a list
ordered from its first, finest level to its last): the output is a list of
``L`` maps, **finest first**. Entry ``l - 1`` (level ``l``, 1-based) is at
``H / 2**l``, the resolution at which Glow level ``l`` works after its squeeze,
and matches the ``l``-th output of :class:`rfn.nets.extractor.Extractor`.

The network runs coarse to fine. The block of level ``L`` works on the
bottleneck directly; the block of each finer level ``l < L`` first doubles the
resolution of the level ``l + 1`` map (nearest-neighbour upsampling for the
``"vgg"`` style, a 4x4 transposed convolution with stride 2 for ``"dcgan"``).
With skip connections (U-Net, Ronneberger et al., 2015) the extractor's feature
map of the previous frame ``x_{t-1}`` at the same resolution is concatenated to
each block's input, so fine detail need not pass through the bottleneck.
Because of the coarse-to-fine order, the map of level ``l`` depends on the
bottleneck and on the skips of levels ``l..L`` only.

Blocks mirror the extractor: two 3x3 convolutions (``"vgg"``) or one
(``"dcgan"``, the other convolution being the transposed one), each followed
by normalisation and a leaky ReLU with slope 0.2.

Example:
    >>> import torch
    >>> from rfn.nets.extractor import Extractor
    >>> ext = Extractor(1, levels=3)
    >>> skips = ext(torch.zeros(2, 1, 32, 32))
    >>> cond = PyramidDecoder(20, 3, out_channels=[8, 16, 32], skip_channels=ext.out_channels)
    >>> [tuple(c.shape) for c in cond(torch.zeros(2, 20, 4, 4), skips)]
    [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4)]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rfn.nets.layers import check_channel_list, check_norm_kind, check_style, conv_block

__all__ = ["Conditioner", "PyramidDecoder"]


class PyramidDecoder(nn.Module):
    """Up-sampling network giving one feature map per level (per flow level for the RFN).

    As the RFN's conditioning network it computes the condition maps ``c_t``. See book/rfn.md,
    equation (eq-rfn-emission), figure (fig-rfn-data-path).

    Args:
        in_channels: channels of the bottleneck map.
        levels: number of flow levels ``L``.
        out_channels: channels of the condition map of each level, finest
            (level 1) first.
        skip_channels: channels of the skip feature map of each level, finest
            first (for example ``Extractor.out_channels``), or ``None`` for no
            skip connections.
        style: ``"vgg"`` (nearest-neighbour upsampling) or ``"dcgan"`` (transposed convolutions).
        norm: ``"batch"``, ``"group"`` or ``"none"``.
    """

    def __init__(
        self,
        in_channels: int,
        levels: int,
        out_channels: Sequence[int],
        skip_channels: Sequence[int] | None = None,
        style: str = "vgg",
        norm: str = "batch",
    ) -> None:
        super().__init__()
        check_style(style)
        check_norm_kind(norm)
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
        if not isinstance(levels, int) or levels <= 0:
            raise ValueError(f"levels must be a positive integer, got {levels!r}")
        self.in_channels = in_channels
        self.levels = levels
        self.style = style
        self.out_channels = check_channel_list(out_channels, levels, "out_channels")
        self.skip_channels = (
            None if skip_channels is None else check_channel_list(skip_channels, levels, "skip_channels")
        )

        # blocks[i] and ups[i] belong to level i + 1; ups[i] brings level i + 2 up to level i + 1's resolution.
        blocks, ups = [], []
        for i in range(levels):
            out = self.out_channels[i]
            if i == levels - 1:
                carried = in_channels
            elif style == "vgg":
                carried = self.out_channels[i + 1]
                ups.append(nn.Upsample(scale_factor=2, mode="nearest"))
            else:
                carried = out
                ups.append(
                    conv_block(self.out_channels[i + 1], out, norm, kernel_size=4, stride=2, padding=1, transposed=True)
                )
            cin = carried + (self.skip_channels[i] if self.skip_channels is not None else 0)
            if style == "vgg":
                blocks.append(nn.Sequential(conv_block(cin, out, norm), conv_block(out, out, norm)))
            else:
                blocks.append(conv_block(cin, out, norm))
        self.blocks = nn.ModuleList(blocks)
        self.ups = nn.ModuleList(ups)

    @property
    def skip(self) -> bool:
        """Whether the network was built with skip connections."""
        return self.skip_channels is not None

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, levels={self.levels}, style={self.style!r}, skip={self.skip}"

    def _check(self, bottleneck: torch.Tensor, skips: Sequence[torch.Tensor] | None) -> None:
        if not isinstance(bottleneck, torch.Tensor) or bottleneck.dim() != 4 or bottleneck.shape[1] != self.in_channels:
            shape = tuple(bottleneck.shape) if isinstance(bottleneck, torch.Tensor) else type(bottleneck).__name__
            raise ValueError(
                f"{type(self).__name__} expects a bottleneck of shape [B, {self.in_channels}, h, w], got {shape}"
            )
        if self.skip_channels is None:
            if skips is not None:
                raise ValueError(
                    f"this {type(self).__name__} was built without skip connections (skip_channels=None); "
                    "pass skips=None"
                )
            return
        if skips is None:
            raise ValueError(
                f"this {type(self).__name__} was built with skip connections; "
                f"pass a list of {self.levels} skip maps, finest first"
            )
        if len(skips) != self.levels:
            raise ValueError(f"expected {self.levels} skip maps (one per level, finest first), got {len(skips)}")
        b, _, h, w = bottleneck.shape
        for i, s in enumerate(skips):
            scale = 2 ** (self.levels - 1 - i)
            expected = (b, self.skip_channels[i], h * scale, w * scale)
            if not isinstance(s, torch.Tensor) or tuple(s.shape) != expected:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"skip map of level {i + 1} should have shape {expected}, got {got}")

    def forward(self, bottleneck: torch.Tensor, skips: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Condition maps for every flow level.

        Args:
            bottleneck: ``[B, in_channels, h, w]`` at the coarsest resolution (``h = H / 2**L``).
            skips: ``L`` feature maps of the previous frame, finest first, the
                ``l``-th at ``[B, skip_channels[l-1], h * 2**(L-l), w * 2**(L-l)]``
                (exactly what :class:`rfn.nets.extractor.Extractor` returns);
                ``None`` when built without skip connections.

        Returns:
            ``L`` maps, finest (level 1) first; the ``l``-th is
            ``[B, out_channels[l-1], h * 2**(L-l), w * 2**(L-l)]``.
        """
        self._check(bottleneck, skips)
        outputs: list[torch.Tensor] = [bottleneck] * self.levels
        x = bottleneck
        for i in range(self.levels - 1, -1, -1):
            if i < self.levels - 1:
                x = self.ups[i](x)
            if skips is not None:
                x = torch.cat([x, skips[i]], dim=1)
            x = self.blocks[i](x)
            outputs[i] = x
        return outputs


#: The RFN's name for the decoder: its maps condition the Glow's levels (thesis 8.2.3).
Conditioner = PyramidDecoder

"""Small pieces shared by the networks of :mod:`rfn.nets`.

Every convolutional block of the feature extractor and the conditioning network
is a convolution, a normalisation layer and a leaky ReLU with negative slope 0.2
(the choice of the thesis, section 8.2.1, following DCGAN, Radford et al., 2016).
The normalisation is picked by name so that a configuration can switch it:

* ``"batch"``: :class:`torch.nn.BatchNorm2d`, the thesis default.
* ``"group"``: :class:`torch.nn.GroupNorm` (Wu & He, 2018). Its statistics are
  per sample, so results do not depend on the batch composition; use it where
  BatchNorm is unsuitable (tiny per-process batches, multi-process CPU tests
  that compare one process with the full batch to several with parts of it).
* ``"none"``: identity.

Example:
    >>> import torch
    >>> block = conv_block(3, 8, norm="group")
    >>> block(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 8, 16, 16])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NEGATIVE_SLOPE",
    "NORM_KINDS",
    "STYLES",
    "ConvNormAct",
    "activation",
    "check_channel_list",
    "check_norm_kind",
    "check_style",
    "conv_block",
    "group_count",
    "norm_layer",
]

#: Negative slope of every leaky ReLU in the feature extractor and conditioning network.
NEGATIVE_SLOPE = 0.2

#: Names accepted by :func:`norm_layer`.
NORM_KINDS = ("batch", "group", "none")

#: Styles of the feature extractor and conditioning network (thesis 8.2.1).
STYLES = ("vgg", "dcgan")


def check_norm_kind(kind: str) -> str:
    """Raise a clear error unless ``kind`` is one of :data:`NORM_KINDS`."""
    if kind not in NORM_KINDS:
        raise ValueError(f"unknown normalisation {kind!r}; expected one of {', '.join(map(repr, NORM_KINDS))}")
    return kind


def check_style(style: str) -> str:
    """Raise a clear error unless ``style`` is one of :data:`STYLES`."""
    if style not in STYLES:
        raise ValueError(f"unknown network style {style!r}; expected one of {', '.join(map(repr, STYLES))}")
    return style


def check_channel_list(values: Sequence[int], levels: int, name: str) -> list[int]:
    """Raise a clear error unless ``values`` holds ``levels`` positive integers; return them as a list."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(
            f"{name} must be a list of {levels} positive integers (one per level, finest first), got {values!r}"
        )
    values = list(values)
    if len(values) != levels or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"{name} must list {levels} positive integers (one per level, finest first), got {values!r}")
    return values


def group_count(channels: int) -> int:
    """Number of GroupNorm groups for ``channels``.

    The largest of 32, 16, 8, 4, 2 that divides ``channels`` and still leaves at
    least two channels per group (so a group never degenerates to instance
    norm when a coarser split exists); 1 when none does.

    >>> [group_count(c) for c in (1, 3, 8, 16, 24, 256)]
    [1, 1, 4, 8, 8, 32]
    """
    for groups in (32, 16, 8, 4, 2):
        if channels % groups == 0 and channels // groups >= 2:
            return groups
    return 1


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Normalisation layer over ``channels`` feature maps by name.

    Args:
        kind: ``"batch"`` (BatchNorm2d), ``"group"`` (GroupNorm with
            :func:`group_count` groups) or ``"none"`` (identity).
        channels: number of channels of the ``[B, channels, H, W]`` input.

    Returns:
        A module mapping ``[B, channels, H, W]`` to the same shape.
    """
    check_norm_kind(kind)
    if not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(group_count(channels), channels)
    return nn.Identity()


def activation() -> nn.Module:
    """The leaky ReLU (negative slope :data:`NEGATIVE_SLOPE`) used after every normalised convolution."""
    return nn.LeakyReLU(NEGATIVE_SLOPE)


class ConvNormAct(nn.Sequential):
    """``conv -> norm -> activation`` (children ``0``, ``1``, ``2``, as a plain :class:`~torch.nn.Sequential`).

    In evaluation mode a BatchNorm is folded, on the fly, into the convolution before it:
    ``W' = W * g / sqrt(v + eps)`` per output channel and ``b' = beta + (b - m) * g / sqrt(v + eps)``
    from the stored parameters and running statistics, so one convolution with a bias
    replaces a convolution and a normalisation pass (same function up to float rounding;
    nothing is written to the weights). In training mode BatchNorm needs the batch's
    statistics and the block runs as written. ``fold_norms = False`` turns the folding off
    (the reference path of ``benchmarks/throughput.py``).

    Example:
        >>> block = conv_block(2, 4).eval()
        >>> _ = block[1].running_var.fill_(4.0)
        >>> x = torch.randn(3, 2, 5, 5)
        >>> folded = block(x)
        >>> block.fold_norms = False
        >>> torch.allclose(folded, block(x), atol=1e-6)
        True
    """

    #: fold an eval-mode BatchNorm into the convolution
    fold_norms: bool = True
    _frozen: tuple[torch.Tensor, torch.Tensor] | None = None

    def _foldable(self) -> bool:
        norm = self[1]
        return self.fold_norms and not self.training and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats

    def _folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        conv, norm = self[0], self[1]
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        shift = norm.bias - norm.running_mean * scale
        if conv.bias is not None:
            shift = shift + conv.bias * scale
        view = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
        return conv.weight * scale.view(view), shift

    def freeze_folded(self, enabled: bool = True) -> None:
        """Compute the folded weight once and reuse it until ``freeze_folded(False)`` (sampling)."""
        if not (enabled and self._foldable()):
            # back to the class default, not an instance attribute set to None: a module whose attributes
            # changed after a sampling call would make a compiled training step (train.compile) recompile
            self.__dict__.pop("_frozen", None)
            return
        with torch.no_grad():
            self._frozen = self._folded()

    def _act_(self, y: torch.Tensor) -> torch.Tensor:
        """The activation, in place on ``y`` (a fresh tensor that nothing else needs for its backward)."""
        act = self[2]
        return F.leaky_relu(y, act.negative_slope, inplace=True) if isinstance(act, nn.LeakyReLU) else act(y)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution and normalisation (folded where it can be), without the activation."""
        conv, norm = self[0], self[1]
        if self._frozen is None and not self._foldable():
            return norm(conv(x))
        w, b = self._folded() if self._frozen is None else self._frozen
        if isinstance(conv, nn.ConvTranspose2d):
            return F.conv_transpose2d(
                x, w, b, conv.stride, conv.padding, conv.output_padding, conv.groups, conv.dilation
            )
        return F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fold_norms:  # the reference: layer by layer
            return self[2](self[1](self[0](x)))
        return self._act_(self.pre_activation(x))


def conv_block(
    in_channels: int,
    out_channels: int,
    norm: str = "batch",
    kernel_size: int = 3,
    stride: int = 1,
    padding: int = 1,
    transposed: bool = False,
) -> ConvNormAct:
    """Convolution, normalisation, leaky ReLU (a :class:`ConvNormAct`).

    The convolution has no bias when a normalisation follows, since the
    normalisation's own shift makes it redundant.

    Args:
        in_channels: channels of the ``[B, in_channels, H, W]`` input.
        out_channels: channels of the output.
        norm: a name from :data:`NORM_KINDS`.
        kernel_size, stride, padding: of the convolution.
        transposed: use :class:`torch.nn.ConvTranspose2d` (for upsampling).
    """
    conv_cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    conv = conv_cls(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=norm == "none")
    return ConvNormAct(conv, norm_layer(norm, out_channels), activation())

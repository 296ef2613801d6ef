"""The small convolutional network inside couplings, split priors and the base distribution.

Glow's choice (Kingma & Dhariwal, 2018), also the thesis's (section 8.2.4):
``conv 3x3 -> ActNorm -> ReLU -> conv 1x1 -> ActNorm -> ReLU -> conv 3x3``
with the last convolution initialised to zero, so every flow step starts as
(nearly) the identity and every prior as a fixed Gaussian. Deep flows train
much more stably from there.

Once both ActNorms are initialised, each is folded, on the fly, into the
convolution before it: ``(W x - loc) * s`` is one convolution with weight
``W * s`` and bias ``-loc * s`` (per output channel). Same function up to float
rounding, with gradients reaching ``W``, ``loc`` and ``log_scale`` as before,
but one kernel instead of a convolution and two elementwise passes, and one
activation fewer kept for the backward pass. ``fold_norms = False`` runs the
layers one by one (the reference path of ``benchmarks/throughput.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rfn.flows.actnorm import ActNorm

__all__ = ["ConvNet", "ZeroConv2d"]


class ZeroConv2d(nn.Conv2d):
    """A 3x3 convolution whose weight and bias start at zero."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class ConvNet(nn.Module):
    """``[B, in, H, W] -> [B, out, H, W]`` through conv3-ActNorm-ReLU-conv1-ActNorm-ReLU-zeroconv3.

    Example:
        >>> net = ConvNet(3, 8, 4)
        >>> _ = nn.init.normal_(net.out.weight)  # a non-zero output layer, to see a difference
        >>> x = torch.randn(5, 3, 6, 6)
        >>> _ = net(x)  # the first call initialises the ActNorms; later calls fold them
        >>> folded = net(x)
        >>> net.fold_norms = False
        >>> folded.shape, torch.allclose(folded, net(x), atol=1e-5)
        (torch.Size([5, 4, 6, 6]), True)
    """

    #: fold each initialised ActNorm into the convolution before it
    fold_norms: bool = True

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False)
        self.norm1 = ActNorm(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.norm2 = ActNorm(hidden)
        self.out = ZeroConv2d(hidden, out_channels)
        nn.init.normal_(self.conv1.weight, std=0.05)
        nn.init.normal_(self.conv2.weight, std=0.05)

    _frozen: tuple[torch.Tensor, ...] | None = None

    @staticmethod
    def _fold(conv: nn.Conv2d, norm: ActNorm) -> tuple[torch.Tensor, torch.Tensor]:
        scale = torch.exp(norm.log_scale).flatten()
        return conv.weight * scale[:, None, None, None], -norm.loc.flatten() * scale

    def _foldable(self) -> bool:
        return self.fold_norms and self.norm1._initialized and self.norm2._initialized

    def freeze_folded(self, enabled: bool = True) -> None:
        """Compute the folded weights once and reuse them until ``freeze_folded(False)`` (sampling)."""
        if not (enabled and self._foldable()):
            self.__dict__.pop("_frozen", None)  # the class default again (see rfn.nets.layers: train.compile)
            return
        with torch.no_grad():
            self._frozen = (*self._fold(self.conv1, self.norm1), *self._fold(self.conv2, self.norm2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._frozen is not None or self._foldable():
            w1, b1, w2, b2 = self._frozen or (*self._fold(self.conv1, self.norm1), *self._fold(self.conv2, self.norm2))
            h = torch.relu_(F.conv2d(x, w1, b1, padding=self.conv1.padding))
            h = torch.relu_(F.conv2d(h, w2, b2))
        else:
            h = torch.relu(self.norm1(self.conv1(x))[0])
            h = torch.relu(self.norm2(self.conv2(h))[0])
        return self.out(h)

"""The small convolutional network inside couplings, split priors and the base distribution.

Glow's choice (Kingma & Dhariwal, 2018), also the thesis's (section 8.2.4):
``conv 3x3 -> ActNorm -> ReLU -> conv 1x1 -> ActNorm -> ReLU -> conv 3x3``
with the last convolution initialised to zero, so every flow step starts as
(nearly) the identity and every prior as a fixed Gaussian. Deep flows train
much more stably from there.
"""

from __future__ import annotations

import torch
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
    """``[B, in, H, W] -> [B, out, H, W]`` through conv3-ActNorm-ReLU-conv1-ActNorm-ReLU-zeroconv3."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False)
        self.norm1 = ActNorm(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.norm2 = ActNorm(hidden)
        self.out = ZeroConv2d(hidden, out_channels)
        nn.init.normal_(self.conv1.weight, std=0.05)
        nn.init.normal_(self.conv2.weight, std=0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.conv1(x))[0])
        h = torch.relu(self.norm2(self.conv2(h))[0])
        return self.out(h)

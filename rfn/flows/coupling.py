"""(Conditional) affine coupling layer (Dinh et al., 2017; Glow; thesis eq. 5.4).

The input is split along channels into ``x_a`` (first ``C // 2``) and ``x_b``.
A network reads ``x_a`` (and, if given, a condition map concatenated along
channels) and returns a shift ``t`` and a raw log-scale ``r`` for ``x_b``::

    y_a = x_a
    y_b = x_b * exp(log_s(r)) + t

The Jacobian is triangular, so ``log|det J| = sum log_s``. Unbounded ``exp(r)``
is unstable, so the log-scale is constrained:

``"sigmoid"``
    Glow's ``log_s = log sigmoid(r + 2)``: scale in ``(0, 1)``, about 0.88 at start.
``"tanh"``
    The thesis's affine clamp ``log_s = a * tanh(r) + b`` with trainable
    per-channel ``a`` and ``b``. ``a`` starts at 1 (not 0): with ``a = 0`` and the
    zero-initialised network giving ``r = 0``, neither ``a`` nor ``r`` would ever
    receive a gradient and the layer would stay additive for good.
``"none"``
    additive coupling (NICE): ``log_s = 0``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rfn.flows.convnet import ConvNet
from rfn.flows.distributions import sum_per_sample

__all__ = ["CLAMPS", "AffineCoupling"]

CLAMPS = ("sigmoid", "tanh", "none")


class AffineCoupling(nn.Module):
    """Affine coupling with an optional conditioning feature map.

    See book/normalising_flows.md, equations (eq-coupling) and (eq-coupling-logdet); with a
    condition map, equation (eq-conditional-flow).

    Args:
        channels: channels ``C`` of the input ``[B, C, H, W]`` (at least 2).
        hidden: channels of the coupling network.
        cond_channels: channels of the condition map ``[B, Cc, H, W]``; 0 for none.
        clamp: log-scale constraint, one of ``"sigmoid"``, ``"tanh"``, ``"none"``.
    """

    def __init__(self, channels: int, hidden: int = 256, cond_channels: int = 0, clamp: str = "sigmoid"):
        super().__init__()
        if channels < 2:
            raise ValueError(f"a coupling layer needs at least 2 channels, got {channels}")
        if clamp not in CLAMPS:
            raise ValueError(f"unknown clamp {clamp!r}; choose one of {', '.join(CLAMPS)}")
        self.channels_a = channels // 2
        self.channels_b = channels - self.channels_a
        self.cond_channels = cond_channels
        self.clamp = clamp
        self.net = ConvNet(self.channels_a + cond_channels, hidden, 2 * self.channels_b)
        if clamp == "tanh":
            self.clamp_scale = nn.Parameter(torch.ones(1, self.channels_b, 1, 1))
            self.clamp_shift = nn.Parameter(torch.zeros(1, self.channels_b, 1, 1))

    def _shift_raw(self, x_a: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cond_channels:
            if cond is None:
                raise ValueError(f"this coupling layer is conditional ({self.cond_channels} channels): pass cond")
            if cond.shape[1] != self.cond_channels or cond.shape[2:] != x_a.shape[2:]:
                raise ValueError(
                    f"condition map must be [B, {self.cond_channels}, {x_a.shape[2]}, {x_a.shape[3]}], "
                    f"got {list(cond.shape)}"
                )
            h = self.net(torch.cat([x_a, cond.to(x_a.dtype)], dim=1))
        else:
            h = self.net(x_a)
        return h[:, 0::2], h[:, 1::2]

    def _params(self, x_a: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        shift, raw = self._shift_raw(x_a, cond)
        if self.clamp == "sigmoid":
            log_s = F.logsigmoid(raw + 2.0)
        elif self.clamp == "tanh":
            log_s = self.clamp_scale * torch.tanh(raw) + self.clamp_shift
        else:
            log_s = torch.zeros_like(raw)
        return shift, log_s

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, H, W] -> (y, logdet [B])``."""
        x_a, x_b = x[:, : self.channels_a], x[:, self.channels_a :]
        shift, log_s = self._params(x_a, cond)
        y_b = x_b * torch.exp(log_s) + shift
        return torch.cat([x_a, y_b], dim=1), sum_per_sample(log_s)

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact inverse with the inverse map's log-determinant."""
        y_a, y_b = y[:, : self.channels_a], y[:, self.channels_a :]
        shift, log_s = self._params(y_a, cond)
        x_b = (y_b - shift) * torch.exp(-log_s)
        return torch.cat([y_a, x_b], dim=1), -sum_per_sample(log_s)

    def invert(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The inverse map alone, without its log-determinant (sampling).

        With the sigmoid clamp ``1 / s = 1 + exp(-(r + 2))``: one transcendental function
        instead of a log-sigmoid and an exponential, and no sum.
        """
        y_a, y_b = y[:, : self.channels_a], y[:, self.channels_a :]
        shift, raw = self._shift_raw(y_a, cond)
        if self.clamp == "sigmoid":
            inv_scale = torch.exp(-2.0 - raw).add_(1.0)
        elif self.clamp == "tanh":
            inv_scale = torch.exp(-(self.clamp_scale * torch.tanh(raw) + self.clamp_shift))
        else:
            return torch.cat([y_a, y_b - shift], dim=1)
        return torch.cat([y_a, (y_b - shift) * inv_scale], dim=1)

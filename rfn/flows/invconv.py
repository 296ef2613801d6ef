"""Invertible 1x1 convolution with an LU parameterisation (Glow section 3.2).

The channel-mixing matrix is ``W = P @ L @ (U + diag(sign * exp(log_s)))``
with a fixed permutation ``P``, unit lower-triangular ``L`` and strictly
upper-triangular ``U``. Its log-determinant is ``H * W * sum(log_s)``: no
``slogdet`` per step. ``W`` starts as a random rotation (the ``Q`` of a QR
decomposition of a Gaussian matrix), so the layer initially only mixes.

The weight (and, for the inverse, its inverse) is built once per call and
applied to every pixel as one ``conv2d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["InvConv1x1"]


class InvConv1x1(nn.Module):
    """Learned invertible channel mixing, ``y[b, :, i, j] = W @ x[b, :, i, j]``.

    See book/normalising_flows.md, equation (eq-invconv).

    Args:
        channels: number of channels ``C``.
        generator: optional RNG for the random rotation used at initialisation.

    Example:
        >>> layer = InvConv1x1(4).double()
        >>> x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
        >>> y, ld = layer(x)
        >>> torch.allclose(layer.inverse(y)[0], x)
        True
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer("eye", torch.eye(channels))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).float())

    def weight(self) -> torch.Tensor:
        """The ``[C, C]`` mixing matrix ``W``."""
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def inverse_weight(self) -> torch.Tensor:
        """``W^{-1} = U^{-1} L^{-1} P^T`` by two triangular solves (exact and stable)."""
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        rhs = self.perm.T.contiguous()
        tmp = torch.linalg.solve_triangular(lower, rhs, upper=False, unitriangular=True)
        return torch.linalg.solve_triangular(upper, tmp, upper=True)

    def _logdet(self, x: torch.Tensor) -> torch.Tensor:
        return (self.log_s.sum() * (x.shape[2] * x.shape[3])).expand(x.shape[0])

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, H, W] -> (y, logdet [B])``; ``cond`` is ignored."""
        w = self.weight().to(x.dtype)
        return F.conv2d(x, w[:, :, None, None]), self._logdet(x)

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact inverse with the inverse map's log-determinant."""
        w_inv = self.inverse_weight().to(y.dtype)
        return F.conv2d(y, w_inv[:, :, None, None]), -self._logdet(y)

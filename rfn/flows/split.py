"""Conditional split: factor out half of the channels under a learned Gaussian prior.

In a multi-scale flow (Dinh et al., 2017) each level hands half of its
channels, ``z``, straight to the latent space and keeps transforming the other
half. ``z`` gets the prior ``N(mu, sigma^2)`` with ``(mu, sigma)`` computed from
the kept half and, for a conditional flow, from the level's condition map
(thesis eq. 8.1). The split itself is a bijection ``h <-> (kept, z)``; the
prior contributes ``log p(z | kept, cond)`` to the likelihood.
"""

from __future__ import annotations

import torch
from torch import nn

from rfn.flows.convnet import ConvNet
from rfn.flows.distributions import gaussian_log_density, sample_diag_gaussian, std_from_raw, sum_per_sample

__all__ = ["Split"]


class Split(nn.Module):
    """Split ``[B, C, H, W]`` into ``kept`` (first ``C // 2``) and ``z`` (the rest).

    ``kept`` is the page's ``k_l`` and ``z`` its ``u_l``. See book/normalising_flows.md, equations
    (eq-multiscale) and (eq-conditional-flow), figure (fig-glow-multiscale).

    Args:
        channels: channels ``C`` before the split.
        hidden: channels of the prior network.
        cond_channels: channels of the condition map at this resolution; 0 for none.
    """

    def __init__(self, channels: int, hidden: int = 256, cond_channels: int = 0):
        super().__init__()
        self.kept_channels = channels // 2
        self.z_channels = channels - self.kept_channels
        self.cond_channels = cond_channels
        self.prior_net = ConvNet(self.kept_channels + cond_channels, hidden, 2 * self.z_channels)

    def prior(self, kept: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of ``p(z | kept, cond)``, each ``[B, C - C//2, H, W]``."""
        inp = torch.cat([kept, cond.to(kept.dtype)], dim=1) if self.cond_channels else kept
        h = self.prior_net(inp)
        return h[:, 0::2], std_from_raw(h[:, 1::2])

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x -> (kept, z, log p(z | kept, cond) [B])``."""
        kept, z = x[:, : self.kept_channels], x[:, self.kept_channels :]
        mean, std = self.prior(kept, cond)
        return kept, z, sum_per_sample(gaussian_log_density(z, mean, std))

    def inverse(
        self,
        kept: torch.Tensor,
        z: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Join ``kept`` with ``z``; if ``z`` is None, draw it from the prior at ``temperature``."""
        if z is None:
            mean, std = self.prior(kept, cond)
            z = sample_diag_gaussian(mean, std, temperature, generator)
        return torch.cat([kept, z], dim=1)

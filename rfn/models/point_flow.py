"""A Glow flow on points ``[B, D]``: the two-moons density of the flow chapter's worked example.

Each point is treated as a ``D``-channel 1x1 image and passed through ``depth``
Glow steps (:class:`rfn.flows.FlowStep`: ActNorm, invertible 1x1 convolution,
affine coupling) to a standard normal base. ``loss`` is the negative
log-likelihood in nats per point, so the training engine can fit it
(``rfn train --preset quick-moons-flow``).

Example:
    >>> model = PointFlow(PointFlowConfig(dim=2, depth=2, hidden=8))
    >>> x = torch.randn(16, 2)
    >>> out = model.loss(x)
    >>> sorted(out)
    ['loss', 'nll']
    >>> z, logdet = model.encode(x)
    >>> bool(torch.allclose(model.decode(z), x, atol=1e-5))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rfn.flows import FlowStep
from rfn.models.registry import check_batch, register

__all__ = ["PointFlow", "PointFlowConfig"]


@dataclass
class PointFlowConfig:
    """Sizes of the point flow.

    Attributes:
        dim: dimension ``D`` of a point (2 for two moons; must be even for the coupling).
        depth: number of Glow steps.
        hidden: width of each coupling network.
        clamp: scale clamp of the couplings (see :data:`rfn.flows.CLAMPS`).
    """

    dim: int = 2
    depth: int = 8
    hidden: int = 64
    clamp: str = "sigmoid"

    def __post_init__(self):
        for name in ("dim", "depth", "hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.dim % 2:
            raise ValueError(f"dim must be even (the coupling splits the channels in two), got {self.dim}")


@register("point-flow", PointFlowConfig, batch="points")
class PointFlow(nn.Module):
    """Density ``p(x)`` of float points ``[B, D]`` by ``depth`` Glow steps on ``D x 1 x 1`` maps."""

    def __init__(self, config: PointFlowConfig):
        super().__init__()
        self.config = config
        self.steps = nn.ModuleList(FlowStep(config.dim, config.hidden, clamp=config.clamp) for _ in range(config.depth))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalising direction: points ``[B, D]`` -> base values ``[B, D]`` and summed log|det J| ``[B]``."""
        check_batch(self, x, "points")
        h = x[:, :, None, None]
        logdet = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for step in self.steps:
            h, ld = step(h)
            logdet = logdet + ld
        return h.flatten(1), logdet

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Generating direction: base values ``[B, D]`` through every step's inverse, last step first."""
        h = z[:, :, None, None]
        for step in reversed(self.steps):
            h, _ = step.inverse(h)
        return h.flatten(1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` in nats, ``[B]``."""
        z, logdet = self.encode(x)
        return (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(dim=1) + logdet

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Mean negative log-likelihood in nats per point (``beta`` is unused: there is no KL term)."""
        nll = -self.log_prob(x).mean()
        return {"loss": nll, "nll": nll.detach()}

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points ``[n, D]`` from the base scaled by ``temperature``, mapped through the inverse flow."""
        ref = next(self.parameters())
        z = torch.randn(n, self.config.dim, generator=generator, device=ref.device, dtype=ref.dtype)
        return self.decode(temperature * z)

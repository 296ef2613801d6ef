"""Diagonal Gaussian priors used inside the flow: split priors and the base distribution.

Standard deviations come through ``softplus`` rather than ``exp`` (thesis
section 8.2.4): it grows linearly, so a large network output cannot make the
density spike. The offset ``softplus^{-1}(1)`` makes a zero network output mean
a unit standard deviation, so zero-initialised networks start at N(0, I).

Per-sample sums are accumulated in at least float32, so a bfloat16 forward
pass still adds up log-densities and log-determinants accurately.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["SOFTPLUS_ONE", "gaussian_log_prob", "sample_gaussian", "std_from_raw", "sum_per_sample"]

SOFTPLUS_ONE = math.log(math.e - 1.0)  # softplus(SOFTPLUS_ONE) == 1
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def sum_per_sample(t: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first, in at least float32: ``[B, ...] -> [B]``."""
    return t.flatten(1).sum(1, dtype=torch.promote_types(t.dtype, torch.float32))


def std_from_raw(raw: torch.Tensor, min_std: float = 1e-4) -> torch.Tensor:
    """Network output -> positive standard deviation, 1 at ``raw = 0``."""
    return F.softplus(raw + SOFTPLUS_ONE) + min_std


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``log N(x; mean, diag(std^2))`` summed per sample: ``[B, ...] -> [B]`` (nats)."""
    z = (x - mean) / std
    return sum_per_sample(-0.5 * z * z - torch.log(std) - _HALF_LOG_2PI)


def sample_gaussian(
    mean: torch.Tensor, std: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw from ``N(mean, (temperature * std)^2)``."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + temperature * std * eps

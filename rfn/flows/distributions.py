"""Diagonal Gaussians, the one home of their math for the whole package.

The flow's split priors and base distribution, the latent priors and posteriors
of the recurrent models (:mod:`rfn.nets.gaussian` re-exports these functions)
and the Gaussian output likelihoods all use:

* :func:`gaussian_log_density`: the log-density of every element (same shape as ``x``);
* :func:`sum_per_sample`: its sum over all but the batch dimension, ``[B]``;
* :func:`std_from_raw`: the one way a network output becomes a standard deviation;
* :func:`kl_diag_gaussians` and :func:`sample_diag_gaussian`.

Standard deviations come through ``softplus`` rather than ``exp`` (thesis
section 8.2.4): it grows linearly, so a large network output cannot make the
density spike, and a floor ``min_std`` keeps the KL and its gradients finite.
The flow's networks shift the raw output by ``softplus^{-1}(1)`` so that a
zero-initialised network starts at ``N(0, I)``; the latent heads use no shift.

Per-sample sums are accumulated in at least float32, so a bfloat16 forward
pass still adds up log-densities and log-determinants accurately.

Example:
    >>> mu, std = torch.zeros(2, 3), torch.ones(2, 3)
    >>> gaussian_log_density(mu, mu, std).shape, sum_per_sample(gaussian_log_density(mu, mu, std)).shape
    (torch.Size([2, 3]), torch.Size([2]))
    >>> kl_diag_gaussians(mu, std, mu, std).sum().item()
    0.0
    >>> torch.equal(sample_diag_gaussian(mu, std, temperature=0.0), mu)
    True
    >>> round(float(std_from_raw(torch.zeros(()))), 6)  # 1 + min_std with the flow's shift
    1.0001
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "SOFTPLUS_ONE",
    "gaussian_log_density",
    "kl_diag_gaussians",
    "sample_diag_gaussian",
    "std_from_raw",
    "sum_per_sample",
]

SOFTPLUS_ONE = math.log(math.e - 1.0)  # softplus(SOFTPLUS_ONE) == 1
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def sum_per_sample(t: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first, in at least float32: ``[B, ...] -> [B]``."""
    return t.flatten(1).sum(1, dtype=torch.promote_types(t.dtype, torch.float32))


def std_from_raw(raw: torch.Tensor, min_std: float = 1e-4, shift: float = SOFTPLUS_ONE) -> torch.Tensor:
    """Network output -> standard deviation ``softplus(raw + shift) + min_std`` (same shape).

    Args:
        raw: unconstrained network output.
        min_std: floor added to the standard deviation.
        shift: added to ``raw`` first; the default makes ``raw = 0`` a unit standard deviation
            (plus ``min_std``); 0 gives ``softplus(raw) + min_std`` (the latent heads).
    """
    return F.softplus(raw + shift if shift else raw) + min_std


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Log-density of ``N(mean, std**2)`` at every element of ``x`` (broadcast shape), in nats.

    Sum it per sample with :func:`sum_per_sample`.
    """
    z = (x - mean) / std
    return -0.5 * z * z - torch.log(std) - _HALF_LOG_2PI


def kl_diag_gaussians(mu_q: torch.Tensor, std_q: torch.Tensor, mu_p: torch.Tensor, std_p: torch.Tensor) -> torch.Tensor:
    """Elementwise ``KL(N(mu_q, std_q**2) || N(mu_p, std_p**2))`` in nats, in closed form.

    ``log(std_p / std_q) + (std_q**2 + (mu_q - mu_p)**2) / (2 std_p**2) - 1/2``.
    Sum over the latent dimensions yourself (free bits act per dimension group).
    See book/latent_variable_models.md, equation (eq-kl-gauss).
    """
    var_ratio = (std_q / std_p) ** 2
    return 0.5 * (var_ratio + ((mu_q - mu_p) / std_p) ** 2 - 1.0 - torch.log(var_ratio))


def sample_diag_gaussian(
    mean: torch.Tensor, std: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Reparameterised draw ``mean + (temperature * std) * eps`` with ``eps ~ N(0, I)``.

    See book/latent_variable_models.md, section "The variational autoencoder".

    Args:
        mean, std: broadcastable tensors; the draw has their broadcast shape.
        temperature: factor on the standard deviation (0 returns ``mean``, without drawing).
        generator: random generator for reproducible draws.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    shape = torch.broadcast_shapes(mean.shape, std.shape)
    if temperature == 0:
        return mean.expand(shape).clone()
    eps = torch.randn(shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + (temperature * std) * eps

"""Diagonal-Gaussian networks: a parameter head and the learned-variance output likelihood.

The latent variables ``z_t`` of the SRNN, the VRNN and the RFN have diagonal
Gaussian priors and posteriors (thesis 3.4-3.6); their KL divergence has a
closed form (Kingma & Welling, 2014), and draws are reparameterised so
gradients reach the means and standard deviations. Temperatures scale the
standard deviation, as for the flow's base distribution (thesis 8.2.4). The
math itself (:func:`gaussian_log_density`, :func:`kl_diag_gaussians`,
:func:`sample_diag_gaussian`, :func:`std_from_raw`) has one home,
:mod:`rfn.flows.distributions`; it is re-exported here.

For the baselines' fast output likelihood (thesis 8.1), frames are modelled as
``N(mu, nu I)`` with a learned variance ``nu``. The density is continuous, so
it is evaluated on dequantised frames in ``[-0.5, 0.5]``
(:func:`rfn.pixels.preprocess`); adding :func:`rfn.pixels.dequantization_constant`
turns it into a lower bound (in expectation over the dequantisation noise) on
the log-probability of the discrete frame, in nats, comparable with the RFN's.

Example:
    >>> import torch
    >>> head = GaussianHead(4, 2, hidden_channels=8, norm="none")
    >>> mu, std = head(torch.zeros(1, 4, 3, 3))
    >>> mu.shape, bool((std > head.min_std).all())
    (torch.Size([1, 2, 3, 3]), True)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rfn.flows.distributions import (
    gaussian_log_density,
    kl_diag_gaussians,
    sample_diag_gaussian,
    std_from_raw,
    sum_per_sample,
)
from rfn.nets.layers import check_norm_kind, conv_block
from rfn.pixels import dequantization_constant

__all__ = [
    "GaussianHead",
    "GaussianLikelihood",
    "gaussian_log_density",
    "kl_diag_gaussians",
    "sample_diag_gaussian",
    "std_from_raw",
    "sum_per_sample",
]


class GaussianHead(nn.Module):
    """Two 3x3 convolutions giving the mean and standard deviation of a diagonal Gaussian.

    The prior and posterior networks of SRNN, VRNN and RFN. See book/rfn.md, equation
    (eq-rfn-prior); with ``res_q`` the model adds the prior mean to the posterior's output,
    book/vrnn_srnn.md, equation (eq-resq).

    The thesis's prior and posterior parameter nets (section 8.2.2) are one
    such block: the features arriving there are already rich, so two layers
    suffice. The standard deviation is ``softplus(raw) + min_std``
    (:func:`std_from_raw` without shift): softplus
    grows linearly rather than exponentially (the thesis found it steadier than
    ``exp`` for the split priors, section 8.2.4), and ``min_std`` keeps the
    variance from collapsing to zero, which would make the KL and its
    gradients blow up.

    Args:
        in_channels: channels of the input features.
        out_channels: channels of the Gaussian (of ``mu`` and of ``std``).
        hidden_channels: channels after the first convolution.
        norm: normalisation after the first convolution (``"batch"``, ``"group"`` or ``"none"``).
        min_std: lower bound added to the standard deviation.
    """

    def __init__(
        self, in_channels: int, out_channels: int, hidden_channels: int, norm: str = "batch", min_std: float = 1e-4
    ) -> None:
        super().__init__()
        check_norm_kind(norm)
        if min_std < 0:
            raise ValueError(f"min_std must be >= 0, got {min_std!r}")
        self.out_channels = out_channels
        self.min_std = min_std
        self.hidden = conv_block(in_channels, hidden_channels, norm)
        self.out = nn.Conv2d(hidden_channels, 2 * out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, in_channels, H, W]`` -> ``(mu, std)``, each ``[B, out_channels, H, W]``, ``std > min_std``."""
        mu, raw = self.out(self.hidden(x)).chunk(2, dim=1)
        return mu, std_from_raw(raw, self.min_std, shift=0.0)


class GaussianLikelihood(nn.Module):
    """Output likelihood ``N(mu, nu I)`` with a learned variance ``nu`` (thesis 8.1).

    The learned parameter is ``log_std = log(sqrt(nu))``: one scalar shared by
    every pixel, as in the thesis, or one per image channel.

    Args:
        channels: ``None`` for one shared variance, or the number of image
            channels for one variance per channel.
        init_std: initial standard deviation. The default, ``1/sqrt(12)``, is
            the standard deviation of a uniform spread over the whole pixel range.
        n_bits: bits per pixel of the discrete data (for the dequantisation constant).
    """

    def __init__(self, channels: int | None = None, init_std: float = 1 / math.sqrt(12.0), n_bits: int = 8) -> None:
        super().__init__()
        if init_std <= 0:
            raise ValueError(f"init_std must be positive, got {init_std!r}")
        if channels is not None and (not isinstance(channels, int) or channels <= 0):
            raise ValueError(f"channels must be None or a positive integer, got {channels!r}")
        shape = (1, 1, 1, 1) if channels is None else (1, channels, 1, 1)
        self.channels = channels
        self.n_bits = n_bits
        self.log_std = nn.Parameter(torch.full(shape, math.log(init_std)))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, n_bits={self.n_bits}"

    @property
    def std(self) -> torch.Tensor:
        """The learned standard deviation, ``[1, 1 or C, 1, 1]``."""
        return self.log_std.exp()

    def _check(self, x: torch.Tensor, mu: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            dtype = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(
                f"GaussianLikelihood expects dequantised floats in [-0.5, 0.5], got {dtype}; "
                "convert uint8 frames with rfn.pixels.preprocess"
            )
        if x.dim() != 4 or x.shape != mu.shape:
            raise ValueError(f"x and mu must both have shape [B, C, H, W], got {tuple(x.shape)} and {tuple(mu.shape)}")
        if self.channels is not None and x.shape[1] != self.channels:
            raise ValueError(
                f"GaussianLikelihood was built for {self.channels} channels, got x of shape {tuple(x.shape)}"
            )

    def log_density(self, x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """Continuous log-density of dequantised frames, summed per frame.

        Args:
            x: dequantised frames ``[B, C, H, W]`` in ``[-0.5, 0.5]``.
            mu: predicted means, same shape.

        Returns:
            ``[B]`` log-densities in nats (in at least float32).
        """
        self._check(x, mu)
        dtype = torch.promote_types(x.dtype, torch.float32)
        std = self.std.to(dtype)
        return sum_per_sample(gaussian_log_density(x.to(dtype), mu.to(dtype), std))

    def log_prob(self, x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """Log-density plus the dequantisation constant.

        Returns:
            ``[B]`` bound in nats on the log-probability of the discrete frames.
        """
        return self.log_density(x, mu) + dequantization_constant(tuple(x.shape[1:]), self.n_bits)

    def forward(self, x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x, mu)

    def sample(
        self, mu: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw frames ``mu + temperature * std * eps``.

        Returns floats; turn them into pixels with :func:`rfn.pixels.to_uint8`.
        """
        return sample_diag_gaussian(mu, self.std.to(mu.dtype), temperature, generator)

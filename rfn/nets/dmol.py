"""Discretised mixture of logistics (Salimans et al., 2017, PixelCNN++).

An exact discrete likelihood for 8-bit (or ``n_bits``) images, used as the
output distribution of the SRNN and VRNN baselines so that their bits per pixel
compare directly with the RFN's bound (thesis 3.7 and 8.1).

Each pixel has a mixture of ``K`` components shared by its channels. Within a
component, channel ``c`` follows a logistic whose mean is shifted linearly by
the earlier channels of the same pixel (``mu_c + sum_{j<c} a_{cj} x_j``, the
channel-autoregressive coefficients of PixelCNN++), and the logistic is
integrated over the pixel's bin. So the probability of a pixel is

.. code-block:: text

    p(x) = sum_k pi_k prod_c [ F((x_c + δ - m_kc) / s_kc) - F((x_c - δ - m_kc) / s_kc) ]

with ``F`` the logistic sigmoid; the lowest bin extends to ``-inf`` and the
highest to ``+inf``, so the probabilities of all values sum to one exactly.

Pixel grid: the same as :mod:`rfn.pixels`. Value ``k`` of ``2**n_bits``
occupies the bin ``[k / 2**n_bits - 0.5, (k + 1) / 2**n_bits - 0.5]``, which is
exactly the interval that uniform dequantisation fills, and ``x_c`` above is
the bin centre (``δ`` is half a bin).

Numerics: the difference of two sigmoids is evaluated in log space as
``log F(a) + log F(-b) + log(1 - exp(-(a - b)))``, an identity that is exact
and stable for all ``a > b``, so no fallback to a density approximation is
needed (PixelCNN++ switches to the density at the bin centre when the
difference underflows).

Parameter layout along dimension 1 of ``params [B, P, H, W]``, with
``C`` channels, ``K`` components and ``C (C - 1) / 2`` coefficients per component:

* ``[0, K)``: mixture logits;
* ``[K, K + CK)``: means, channel-major (index ``c * K + k``);
* ``[K + CK, K + 2CK)``: log-scales, same order, floored at ``min_log_scale``;
* ``[K + 2CK, P)``: coefficients (passed through ``tanh``), ordered
  ``(1, 0), (2, 0), (2, 1), ...`` (pair-major, index ``pair * K + k``).

``P = K (1 + 2C + C (C - 1) / 2)``: ``10 K`` for RGB as in PixelCNN++, ``3 K``
for grey images (no coefficients).

Example:
    >>> import torch
    >>> n = dmol_num_params(3, n_mix=5)
    >>> n
    50
    >>> params = torch.zeros(2, n, 4, 4)
    >>> x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    >>> dmol_log_prob(x, params).shape
    torch.Size([2])
    >>> dmol_sample(params, 3, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 3, 4, 4])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rfn.pixels import check_uint8, to_float, to_uint8

__all__ = [
    "DEFAULT_MIN_LOG_SCALE",
    "DiscretizedMixtureLogistics",
    "dmol_log_prob",
    "dmol_num_params",
    "dmol_pixel_log_prob",
    "dmol_sample",
]

#: PixelCNN++ floors log-scales at -7 on its [-1, 1] pixel scale; our pixels
#: live on [-0.5, 0.5], so the same floor relative to a bin is -7 - log 2.
DEFAULT_MIN_LOG_SCALE = -7.0 - math.log(2.0)


def _pairs(channels: int) -> int:
    return channels * (channels - 1) // 2


def dmol_num_params(channels: int, n_mix: int) -> int:
    """Number of parameter channels ``P`` for ``channels`` image channels and ``n_mix`` components.

    >>> dmol_num_params(1, 10), dmol_num_params(3, 10)
    (30, 100)
    """
    if not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    if not isinstance(n_mix, int) or n_mix <= 0:
        raise ValueError(f"n_mix must be a positive integer, got {n_mix!r}")
    return n_mix * (1 + 2 * channels + _pairs(channels))


def _split(
    params: torch.Tensor, channels: int, min_log_scale: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split ``params [B, P, H, W]`` into logits ``[B, K, H, W]``, means and log-scales ``[B, C, K, H, W]``,
    and coefficients ``[B, C(C-1)/2, K, H, W]``."""
    if not isinstance(params, torch.Tensor) or params.dim() != 4 or not params.is_floating_point():
        shape = tuple(params.shape) if isinstance(params, torch.Tensor) else type(params).__name__
        raise ValueError(f"DMOL params must be a floating tensor of shape [B, P, H, W], got {shape}")
    b, p, h, w = params.shape
    per_mix = 1 + 2 * channels + _pairs(channels)
    if p % per_mix:
        raise ValueError(
            f"DMOL params have {p} channels, which is not a multiple of {per_mix} (the parameters per component "
            f"for {channels} image channels); build them with dmol_num_params({channels}, n_mix)"
        )
    k = p // per_mix
    # Likelihood sums stay in at least float32 even under reduced-precision autocast.
    # Contiguous: the elementwise work below runs on whole planes, not on the stride-P channel slices of a
    # channels-last tensor (measured: the loss's forward and backward take about 20% less time this way).
    params = params.to(torch.promote_types(params.dtype, torch.float32)).contiguous()
    # one split (its backward is one concatenation; slicing would zero-fill a full-size gradient per piece)
    logits, means, log_scales, coeffs = torch.split(params, [k, channels * k, channels * k, _pairs(channels) * k], 1)
    means = means.reshape(b, channels, k, h, w)
    log_scales = log_scales.reshape(b, channels, k, h, w).clamp(min=min_log_scale)
    coeffs = torch.tanh(coeffs).reshape(b, _pairs(channels), k, h, w)
    return logits, means, log_scales, coeffs


def _pair_index(c: int, j: int) -> int:
    """Index of the coefficient of earlier channel ``j`` in the mean of channel ``c`` (``j < c``)."""
    return _pairs(c) + j


def _log_one_minus_exp_width(log_scales: torch.Tensor, bins: int) -> torch.Tensor:
    """``log(1 - exp(-w))`` for the bin width in logistic units ``w = exp(-log_scales) / bins``, finite for any scale.

    A mixture component the weights have switched off can drift to an enormous scale (a log-scale of
    100 has been seen in training); then ``w`` underflows to 0 in float32, ``log(-expm1(-w))`` is
    ``-inf`` and its gradient NaN, which poisons every gradient even though the component's weight is
    0. For ``w < 1e-4`` the value is ``log w + log((1 - e^{-w}) / w)`` instead, with ``log w`` taken
    from the log-scale (no underflow) and the series ``(1 - e^{-w}) / w = 1 - w/2 + w^2/6 - ...``;
    elsewhere it is ``log(-expm1(-w))`` exactly as before. Both branches see only finite inputs, so
    ``torch.where`` passes no NaN gradient from the branch it does not use.
    """
    log_w = -log_scales - math.log(bins)
    small = log_w < math.log(1e-4)
    w_small = torch.exp(torch.where(small, log_w, torch.zeros_like(log_w)))  # 1 where unused
    series = log_w + torch.log1p(w_small * (w_small / 6.0 - 0.5))
    w = torch.exp(-torch.where(small, torch.zeros_like(log_scales), log_scales)) / bins  # as before where used
    return torch.where(small, series, torch.log(-torch.expm1(-w)))


def dmol_pixel_log_prob(
    x: torch.Tensor, params: torch.Tensor, n_bits: int = 8, min_log_scale: float = DEFAULT_MIN_LOG_SCALE
) -> torch.Tensor:
    """Exact log-probability in nats of every pixel (all channels jointly).

    Args:
        x: ``uint8`` images ``[B, C, H, W]`` with values 0..255 (the low ``8 - n_bits`` bits are dropped).
        params: ``[B, P, H, W]`` with ``P = dmol_num_params(C, K)`` (layout in the module docstring).
        n_bits: bits per value; the distribution has ``2**n_bits`` values per channel.
        min_log_scale: floor of the log-scales.

    Returns:
        ``[B, H, W]`` log-probabilities in at least float32 precision.
    """
    check_uint8(x, "x")
    if x.dim() != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    b, channels, h, w = x.shape
    logits, means, log_scales, coeffs = _split(params, channels, min_log_scale)
    if (params.shape[0], params.shape[2], params.shape[3]) != (b, h, w):
        raise ValueError(f"DMOL params of shape {tuple(params.shape)} do not match images of shape {tuple(x.shape)}")
    bins = 2**n_bits
    half = 0.5 / bins
    centre = to_float(x, n_bits=n_bits, dtype=means.dtype) + half  # [B, C, H, W]
    centre_k = centre.unsqueeze(2)  # broadcast over components
    shifted = [means[:, 0]]
    for c in range(1, channels):
        m = means[:, c]
        for j in range(c):
            m = m + coeffs[:, _pair_index(c, j)] * centre_k[:, j]
        shifted.append(m)
    mean = torch.stack(shifted, dim=1)  # [B, C, K, H, W]
    inv_s = torch.exp(-log_scales)
    upper = (centre_k + half - mean) * inv_s
    neg_lower = (mean - (centre_k - half)) * inv_s  # exactly -lower, lower = (centre - half - mean) / s
    # log(F(upper) - F(lower)) = log F(upper) + log F(-lower) + log(1 - exp(-(upper - lower))),
    # with upper - lower = inv_s / bins computed without cancellation.
    log_cdf_upper, log_sf_lower = F.logsigmoid(upper), F.logsigmoid(neg_lower)  # each computed once
    log_mid = log_cdf_upper + log_sf_lower + _log_one_minus_exp_width(log_scales, bins)
    value = torch.div(x, 2 ** (8 - n_bits), rounding_mode="floor").unsqueeze(2)  # 0..bins-1
    # The lowest bin reaches down to -inf and the highest up to +inf.
    log_bin = torch.where(value == 0, log_cdf_upper, torch.where(value == bins - 1, log_sf_lower, log_mid))
    per_component = log_bin.sum(dim=1) + F.log_softmax(logits, dim=1)  # [B, K, H, W]
    return torch.logsumexp(per_component, dim=1)


def dmol_log_prob(
    x: torch.Tensor, params: torch.Tensor, n_bits: int = 8, min_log_scale: float = DEFAULT_MIN_LOG_SCALE
) -> torch.Tensor:
    """Exact log-probability in nats of each image, summed over pixels.

    The baselines' emission term ``log p(x_t | z_t, h_t)``. See book/vrnn_srnn.md, equations
    (eq-vrnn-elbo) and (eq-srnn-elbo), and its section "Which model is which".

    Args:
        x: ``uint8`` images ``[B, C, H, W]``.
        params: ``[B, P, H, W]`` with ``P = dmol_num_params(C, K)``.
        n_bits: bits per value.
        min_log_scale: floor of the log-scales.

    Returns:
        ``[B]`` log-probabilities in nats (divide the negative by ``C H W log 2``,
        or use :func:`rfn.pixels.bits_per_pixel`, for bits per pixel).
    """
    return dmol_pixel_log_prob(x, params, n_bits, min_log_scale).sum(dim=(1, 2))


def dmol_sample(
    params: torch.Tensor,
    channels: int,
    n_bits: int = 8,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    min_log_scale: float = DEFAULT_MIN_LOG_SCALE,
) -> torch.Tensor:
    """Draw images from the mixture.

    A component is drawn per pixel (Gumbel-max on the logits), then the
    channels in order, each from its logistic shifted by the coefficients
    times the already drawn earlier channels (their bin centres, as in
    :func:`dmol_log_prob`), and quantised to its bin.

    Args:
        params: ``[B, P, H, W]``.
        channels: image channels ``C`` (``P`` alone is ambiguous: ``30`` fits 1, 2 or 3 channels).
        n_bits: bits per value.
        temperature: factor on every logistic scale (the mixture weights are
            kept); 0 gives the quantised mean of the drawn component.
        generator: random generator for reproducible draws.
        min_log_scale: floor of the log-scales.

    Returns:
        ``uint8`` images ``[B, C, H, W]`` on the ``n_bits`` grid scaled to 0..255.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    logits, means, log_scales, coeffs = _split(params.detach(), channels, min_log_scale)
    b, k, h, w = logits.shape
    dtype, device = means.dtype, means.device
    bins = 2**n_bits
    half = 0.5 / bins

    gumbel = -torch.log(-torch.log(_uniform((b, k, h, w), generator, device, dtype)))
    comp = (logits + gumbel).argmax(dim=1, keepdim=True)  # [B, 1, H, W]

    def pick(t: torch.Tensor) -> torch.Tensor:  # [B, N, K, H, W] -> [B, N, H, W]
        index = comp.unsqueeze(1).expand(t.shape[0], t.shape[1], 1, h, w)
        return t.gather(2, index).squeeze(2)

    mean_sel, log_s_sel, coeff_sel = pick(means), pick(log_scales), pick(coeffs)
    values, centres = [], []
    for c in range(channels):
        m = mean_sel[:, c]
        for j in range(c):
            m = m + coeff_sel[:, _pair_index(c, j)] * centres[j]
        u = _uniform((b, h, w), generator, device, dtype)
        v = m + temperature * torch.exp(log_s_sel[:, c]) * (torch.log(u) - torch.log1p(-u))
        q = to_uint8(v, n_bits=n_bits)
        values.append(q)
        centres.append(to_float(q, n_bits=n_bits, dtype=dtype) + half)
    return torch.stack(values, dim=1)


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Uniform draws kept away from 0 and 1 so their logarithms stay finite."""
    eps = torch.finfo(dtype).eps
    return torch.rand(shape, generator=generator, device=device, dtype=dtype).clamp(eps, 1 - eps)


class DiscretizedMixtureLogistics(nn.Module):
    """The DMOL output distribution as a (parameter-free) module, holding its configuration.

    Args:
        channels: image channels ``C``.
        n_mix: number of mixture components ``K``.
        n_bits: bits per value.
        min_log_scale: floor of the log-scales.

    Attributes:
        num_params: parameter channels ``P`` a network must produce.
    """

    def __init__(
        self, channels: int, n_mix: int, n_bits: int = 8, min_log_scale: float = DEFAULT_MIN_LOG_SCALE
    ) -> None:
        super().__init__()
        self.num_params = dmol_num_params(channels, n_mix)
        self.channels, self.n_mix, self.n_bits, self.min_log_scale = channels, n_mix, n_bits, min_log_scale

    def extra_repr(self) -> str:
        return f"channels={self.channels}, n_mix={self.n_mix}, n_bits={self.n_bits}"

    def _check_params(self, params: torch.Tensor) -> None:
        if isinstance(params, torch.Tensor) and params.dim() == 4 and params.shape[1] != self.num_params:
            raise ValueError(
                f"expected {self.num_params} DMOL parameter channels for {self.channels} channels and "
                f"{self.n_mix} components, got params of shape {tuple(params.shape)}"
            )

    def log_prob(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """``uint8 [B, C, H, W]``, ``params [B, P, H, W]`` -> ``[B]`` log-probabilities in nats."""
        self._check_params(params)
        return dmol_log_prob(x, params, self.n_bits, self.min_log_scale)

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x, params)

    def sample(
        self, params: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``params [B, P, H, W]`` -> ``uint8 [B, C, H, W]`` draws."""
        self._check_params(params)
        return dmol_sample(params, self.channels, self.n_bits, temperature, generator, self.min_log_scale)

"""Every pixel conversion of the project, in one place.

Frames travel through the data sets and metrics as ``uint8`` in ``[0, 255]``.
Models see floats in ``[-0.5, 0.5]`` (Kingma & Dhariwal, 2018): an ``n_bits``
image keeps its top ``n_bits`` bits, ``x / 2**n_bits - 0.5``, and uniform noise
of one bin width dequantises it (Theis et al., 2016; Ho et al., 2019). A
continuous density on the dequantised value lower-bounds the discrete
probability of the bin once ``-D * log(2**n_bits)`` is added: that constant is
what :func:`dequantization_constant` returns. :func:`bits_per_pixel` turns a
negative log-likelihood in nats into bits per dimension.

See book/normalising_flows.md, equation (eq-dequant); book/latent_variable_models.md,
equation (eq-bpd); book/notation.md for the symbols (``D = C H W``, ``n`` bits).

Example:
    >>> import torch
    >>> x = torch.tensor([0, 128, 255], dtype=torch.uint8)
    >>> to_float(x)
    tensor([-0.5000,  0.0000,  0.4961])
    >>> to_uint8(to_float(x)).tolist()
    [0, 128, 255]
    >>> round(bits_per_pixel(torch.tensor(3 * 2 * 2 * math.log(256.0)), (3, 2, 2)).item(), 6)
    8.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "bits_per_pixel",
    "check_uint8",
    "dequantization_constant",
    "dequantize",
    "discrete_nll",
    "num_dims",
    "preprocess",
    "to_float",
    "to_uint8",
]


def _check_bits(n_bits: int) -> None:
    if not isinstance(n_bits, int) or not 1 <= n_bits <= 8:
        raise ValueError(f"n_bits must be an integer in 1..8, got {n_bits!r}")


def check_uint8(x: torch.Tensor, name: str = "frames") -> torch.Tensor:
    """Raise a clear error unless ``x`` is a ``uint8`` tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of dtype uint8, got {type(x).__name__}")
    if x.dtype != torch.uint8:
        raise TypeError(
            f"{name} must have dtype torch.uint8 with values 0..255 (as the data sets yield them), "
            f"got {x.dtype}; convert floats in [-0.5, 0.5] with rfn.pixels.to_uint8"
        )
    return x


def to_float(x: torch.Tensor, n_bits: int = 8, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``uint8`` pixels -> floats in ``[-0.5, 0.5)`` on the ``2**n_bits`` grid.

    Args:
        x: ``uint8`` tensor of any shape.
        n_bits: bits kept per pixel, 1..8 (the low ``8 - n_bits`` bits are dropped).
        dtype: floating dtype of the result.
    """
    _check_bits(n_bits)
    check_uint8(x)
    x = x.to(dtype)
    if n_bits < 8:
        x = torch.floor(x / 2 ** (8 - n_bits))
    return x / 2**n_bits - 0.5


def to_uint8(x: torch.Tensor, n_bits: int = 8) -> torch.Tensor:
    """Floats in ``[-0.5, 0.5]`` -> ``uint8`` in ``[0, 255]`` (inverse of :func:`to_float`).

    Values are floored to their bin, so dequantised samples map back to the
    pixel they came from; values outside the range are clipped. The bin index
    ``floor(x * 2**n_bits)`` is exact in the input's own dtype (a product with a
    power of two, then an integer offset), so a value just below a bin edge never
    rounds up into the next bin.

    >>> edge = torch.tensor(1 / 256 - 0.5)  # lower edge of pixel 1
    >>> to_uint8(torch.stack([torch.nextafter(edge, torch.tensor(-1.0)), edge])).tolist()
    [0, 1]
    """
    _check_bits(n_bits)
    bins, half = 2**n_bits, 2 ** (n_bits - 1)
    k = torch.floor(x.detach() * bins).clamp_(-half, half - 1)
    return ((k.to(torch.int32) + half) * 2 ** (8 - n_bits)).to(torch.uint8)


def dequantize(x: torch.Tensor, n_bits: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add uniform noise of one bin width, ``U(0, 1 / 2**n_bits)``, to floats from :func:`to_float`.

    The sum is kept strictly below the bin's upper edge (in floating point ``x + u``
    can round up onto it), so :func:`to_uint8` maps every dequantised value back to ``x``'s pixel.
    See book/normalising_flows.md, equation (eq-dequant).
    """
    _check_bits(n_bits)
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    upper = torch.nextafter(x + 1.0 / 2**n_bits, x)
    return torch.minimum(x + noise / 2**n_bits, upper)


def num_dims(shape: int | Sequence[int]) -> int:
    """Number of dimensions of one data point given as an int or a shape like ``(C, H, W)``."""
    if isinstance(shape, int):
        if shape <= 0:
            raise ValueError(f"number of dimensions must be positive, got {shape}")
        return shape
    return math.prod([int(s) for s in shape])  # a list: a generator here breaks torch.compile's graph


def dequantization_constant(shape: int | Sequence[int], n_bits: int = 8) -> float:
    """``-D * log(2**n_bits)``: add it to a continuous log-density of dequantised data.

    The sum is a lower bound on the log-probability of the discrete data point
    (in nats), where ``D`` is the number of dimensions of one data point.
    See book/normalising_flows.md, equation (eq-dequant).
    """
    _check_bits(n_bits)
    return -num_dims(shape) * n_bits * math.log(2.0)


def discrete_nll(continuous_log_density: torch.Tensor, shape: int | Sequence[int], n_bits: int = 8) -> torch.Tensor:
    """Negative discrete log-likelihood bound in nats from a continuous log-density.

    ``-(log p(x + u) - D log 2**n_bits)`` for dequantised data ``x + u``.
    """
    return -(continuous_log_density + dequantization_constant(shape, n_bits))


def bits_per_pixel(nats: torch.Tensor | float, shape: int | Sequence[int]) -> torch.Tensor:
    """Negative log-likelihood in nats -> bits per dimension.

    See book/latent_variable_models.md, equation (eq-bpd); book/evaluation.md, equation
    (eq-eval-bpd).

    Args:
        nats: NLL of one data point (any leading batch shape).
        shape: shape of one data point (``(C, H, W)``, ``(T, C, H, W)``, ...) or
            its number of dimensions. Every channel of every pixel counts, as in
            the literature's "bits per dimension".
    """
    nats = torch.as_tensor(nats)
    return nats / (num_dims(shape) * math.log(2.0))


def preprocess(
    x: torch.Tensor,
    n_bits: int = 8,
    dequant: bool = True,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``uint8`` frames -> dequantised floats in ``[-0.5, 0.5]``: the model input."""
    y = to_float(x, n_bits=n_bits, dtype=dtype)
    return dequantize(y, n_bits=n_bits, generator=generator) if dequant else y

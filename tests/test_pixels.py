"""Pixel conversions, dequantisation and bits per pixel on cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from rfn import pixels


@pytest.mark.parametrize("n_bits", range(1, 9))
def test_uniform_density_gives_n_bits(n_bits):
    """A uniform density on [-0.5, 0.5]^D (log-density 0) is the uniform distribution over 2^n levels."""
    shape = (3, 4, 5)
    nll = pixels.discrete_nll(torch.zeros(7), shape, n_bits)
    bpp = pixels.bits_per_pixel(nll, shape)
    torch.testing.assert_close(bpp, torch.full((7,), float(n_bits), dtype=bpp.dtype))


@pytest.mark.parametrize("n_bits", [5, 8])
def test_dequantization_constant(n_bits):
    assert pixels.dequantization_constant((2, 3), n_bits) == pytest.approx(-6 * n_bits * math.log(2))
    assert pixels.dequantization_constant(6, n_bits) == pixels.dequantization_constant((6,), n_bits)


@pytest.mark.parametrize("n_bits", [5, 8])
def test_dequantised_bound_below_exact_discrete_probability(n_bits):
    """E_u[log p(x + u)] - log(2^n) <= log P(bin) (Jensen), and close for a smooth density."""
    torch.manual_seed(0)
    normal = torch.distributions.Normal(torch.tensor(0.05, dtype=torch.float64), 0.2)
    values = torch.arange(0, 256, 2 ** (8 - n_bits), dtype=torch.uint8)
    lo = pixels.to_float(values, n_bits, dtype=torch.float64)
    width = 1.0 / 2**n_bits
    exact = torch.log(normal.cdf(lo + width) - normal.cdf(lo))
    u = torch.rand(20000, 1, dtype=torch.float64)
    deq = lo + u * width
    bound = normal.log_prob(deq).mean(0) + pixels.dequantization_constant(1, n_bits)
    inner = (lo > -0.4) & (lo < 0.4)  # where the bin probability is not vanishingly small
    assert (bound[inner] <= exact[inner] + 1e-3).all()
    assert (exact[inner] - bound[inner]).max() < 0.05


@pytest.mark.parametrize("n_bits", [1, 5, 8])
def test_round_trip_and_dequantisation_stays_in_bin(n_bits):
    x = torch.arange(256, dtype=torch.uint8)
    f = pixels.to_float(x, n_bits, dtype=torch.float64)
    assert f.min() >= -0.5 and f.max() < 0.5
    step = 2 ** (8 - n_bits)
    expected = (x // step) * step
    assert torch.equal(pixels.to_uint8(f, n_bits), expected)
    g = torch.Generator().manual_seed(0)
    d = pixels.dequantize(f, n_bits, generator=g)
    assert ((d - f) >= 0).all() and ((d - f) < 1 / 2**n_bits).all()
    assert torch.equal(pixels.to_uint8(d, n_bits), expected)


def test_bits_per_pixel_any_shape():
    nats = torch.tensor([10 * 3 * 8 * 8 * math.log(2.0)])
    assert pixels.bits_per_pixel(nats, (10, 3, 8, 8)).item() == pytest.approx(1.0)
    assert pixels.bits_per_pixel(nats, 10 * 3 * 8 * 8).item() == pytest.approx(1.0)


def test_errors():
    with pytest.raises(TypeError, match="dtype torch.uint8"):
        pixels.to_float(torch.zeros(3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        pixels.to_float([1, 2])
    with pytest.raises(ValueError, match="n_bits must be an integer in 1..8"):
        pixels.to_float(torch.zeros(3, dtype=torch.uint8), n_bits=9)
    with pytest.raises(ValueError, match="positive"):
        pixels.num_dims(0)

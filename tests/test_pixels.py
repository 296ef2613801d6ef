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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("n_bits", range(1, 9))
def test_to_uint8_is_exact_at_every_bin_edge(n_bits, dtype):
    """Every bin edge maps to its bin, the largest value below it to the bin before (no float rounding)."""
    step = 2 ** (8 - n_bits)
    pix = torch.arange(0, 256, step, dtype=torch.uint8)
    edges = pixels.to_float(pix, n_bits, dtype=dtype)  # lower edge of every bin, exactly representable
    below = torch.nextafter(edges, torch.full_like(edges, -1.0))
    assert torch.equal(pixels.to_uint8(edges, n_bits), pix)
    assert torch.equal(pixels.to_uint8(below[1:], n_bits), pix[:-1])
    assert int(pixels.to_uint8(below[:1], n_bits)) == 0  # below the range: clipped
    top = torch.nextafter(torch.tensor(0.5, dtype=dtype), torch.tensor(0.0, dtype=dtype))
    assert int(pixels.to_uint8(top, n_bits)) == 256 - step
    assert int(pixels.to_uint8(torch.tensor(0.5, dtype=dtype), n_bits)) == 256 - step  # clipped


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("n_bits", [1, 5, 8])
def test_dequantize_stays_in_its_bin_with_the_largest_noise(n_bits, dtype, monkeypatch):
    """``x + u`` with ``u`` just below one bin width can round onto the next edge; dequantize prevents it."""
    pix = torch.arange(0, 256, 2 ** (8 - n_bits), dtype=torch.uint8)
    one_minus = torch.nextafter(torch.tensor(1.0, dtype=dtype), torch.tensor(0.0, dtype=dtype))
    monkeypatch.setattr(torch, "rand", lambda shape, **kw: one_minus.expand(shape).to(kw.get("dtype", dtype)))
    deq = pixels.dequantize(pixels.to_float(pix, n_bits, dtype=dtype), n_bits)
    assert torch.equal(pixels.to_uint8(deq, n_bits), pix)
    assert bool((deq >= pixels.to_float(pix, n_bits, dtype=dtype)).all())


def test_round_trip_of_many_dequantised_values():
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, 256, (2_000_000,), dtype=torch.uint8, generator=g)
    assert torch.equal(pixels.to_uint8(pixels.preprocess(x, generator=g)), x)

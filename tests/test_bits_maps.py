"""Where the bits go: per-pixel maps of a flow's and a DMOL's log-likelihood that sum to the totals."""

from __future__ import annotations

import math

import pytest
import torch

from rfn import pixels
from rfn.flows import Glow, GlowConfig
from rfn.models import RFN, SRNN, VRNN, RFNConfig, SRNNConfig, VRNNConfig

TINY = dict(image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8, extractor_channels=4)


def _wake(module: torch.nn.Module) -> torch.nn.Module:
    """Random weights everywhere (zero-initialised output layers included), so every term is non-trivial."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return module


@pytest.mark.parametrize("conditional", [False, True])
def test_glow_log_prob_map_sums_to_log_prob(conditional):
    torch.manual_seed(0)
    cfg = GlowConfig(
        in_channels=3, levels=3, steps=2, hidden=8, cond_channels=(4, 5, 6) if conditional else None, base_hidden=8
    )
    glow = Glow(cfg).double()
    x = torch.rand(3, 3, 16, 16, dtype=torch.float64) - 0.5
    cond = [torch.randn(3, c, 16 >> (l + 1), 16 >> (l + 1), dtype=torch.float64) for l, c in enumerate((4, 5, 6))]
    cond = cond if conditional else None
    glow.log_prob(x, cond)  # data-dependent ActNorm initialisation
    _wake(glow)
    maps = glow.log_prob_map(x, cond)
    assert maps.shape == (3, 16, 16)
    torch.testing.assert_close(maps.sum((1, 2)), glow.log_prob(x, cond), rtol=0, atol=1e-9)
    # not a constant map: the coupling and prior terms vary over the image
    assert maps.std() > 1e-3
    # a change in one 2x2 corner moves the finest level's terms there more than far away
    y = x.clone()
    y[:, :, :2, :2] += 0.2
    diff = (glow.log_prob_map(y, cond) - maps).abs()
    assert diff[:, :2, :2].mean() > diff[:, 8:, 8:].mean()


def _video(seed=0, C=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (2, 4, C, 16, 16), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RFN(RFNConfig(channels=3, flow_steps=1, flow_hidden=8, base_hidden=8, **TINY)),
        lambda: SRNN(SRNNConfig(channels=3, n_mix=2, **TINY)),
        lambda: SRNN(SRNNConfig(channels=3, likelihood="gaussian", **TINY)),
        lambda: VRNN(VRNNConfig(channels=3, n_mix=2, skip="decoder", **TINY)),
    ],
)
def test_pixel_bits_average_to_the_emission_term(make):
    torch.manual_seed(0)
    model = make().double()
    x = _video()
    with torch.no_grad():
        model.loss(x)
    _wake(model).eval()
    torch.manual_seed(1)
    bits = model.pixel_bits(x)
    assert bits.shape == (2, 3, 16, 16)
    torch.manual_seed(1)
    nll = model.elbo_terms(x)["nll"]  # [B, T-1] nats, same posterior draws and dequantisation noise
    expect = nll / (pixels.num_dims(model.config.frame_shape) * math.log(2.0))
    torch.testing.assert_close(bits.mean((2, 3)), expect, rtol=0, atol=1e-9)

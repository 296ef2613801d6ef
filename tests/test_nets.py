"""Tests of rfn.nets: ConvLSTM, extractor, conditioner, DMOL, diagonal Gaussians."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from rfn.nets import (
    Conditioner,
    ConvLSTM,
    ConvLSTMCell,
    DiscretizedMixtureLogistics,
    Extractor,
    GaussianHead,
    GaussianLikelihood,
    conv_block,
    dmol_log_prob,
    dmol_num_params,
    dmol_pixel_log_prob,
    dmol_sample,
    gaussian_log_density,
    kl_diag_gaussians,
    level_channels,
    norm_layer,
    sample_diag_gaussian,
)
from rfn.pixels import dequantization_constant


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _all_params_have_grad(module: nn.Module) -> list[str]:
    """Names of parameters whose gradient is missing or exactly zero."""
    return [n for n, p in module.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]


# --------------------------------------------------------------------------- layers


def test_norm_layer_kinds():
    assert isinstance(norm_layer("batch", 8), nn.BatchNorm2d)
    g = norm_layer("group", 16)
    assert isinstance(g, nn.GroupNorm) and g.num_groups == 8 and g.num_channels == 16
    assert isinstance(norm_layer("none", 8), nn.Identity)
    with pytest.raises(ValueError, match="unknown normalisation 'layer'.*'batch', 'group', 'none'"):
        norm_layer("layer", 8)
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        norm_layer("batch", 0)


def test_conv_block_bias_only_without_norm():
    assert conv_block(3, 4, "batch")[0].bias is None
    assert conv_block(3, 4, "none")[0].bias is not None
    assert conv_block(3, 4, "group")[2].negative_slope == 0.2


# --------------------------------------------------------------------------- ConvLSTM


def test_convlstm_every_parameter_trains():
    torch.manual_seed(0)
    lstm = ConvLSTM(3, 5)
    names = {n for n, _ in lstm.named_parameters()}
    assert {"cell.w_ci", "cell.w_cf", "cell.w_co"} <= names
    assert lstm.cell.w_ci.shape == (1, 5, 1, 1)
    out, (_, c) = lstm(torch.randn(2, 3, 3, 6, 6))
    (out.square().sum() + c.sum()).backward()
    assert _all_params_have_grad(lstm) == []


def test_convlstm_state_zero_default_and_not_stored():
    torch.manual_seed(1)
    cell = ConvLSTMCell(2, 4).double()
    x = torch.randn(3, 2, 5, 7, dtype=torch.float64)
    h1, (h1b, _) = cell(x)
    assert h1 is h1b and h1.dtype == torch.float64 and h1.shape == (3, 4, 5, 7)
    zeros = torch.zeros(3, 4, 5, 7, dtype=torch.float64)
    h2, _ = cell(x, (zeros, zeros))
    torch.testing.assert_close(h1, h2, rtol=0, atol=0)
    # A second call with no state gives the same result: nothing was kept on the module.
    h3, _ = cell(x)
    torch.testing.assert_close(h1, h3, rtol=0, atol=0)
    # Per-channel peepholes: the same cell runs at another spatial size and batch size.
    h4, _ = cell(torch.randn(1, 2, 9, 4, dtype=torch.float64))
    assert h4.shape == (1, 4, 9, 4)


def test_convlstm_gate_order_forget_keeps_cell_state():
    cell = ConvLSTMCell(1, 2).double()
    with torch.no_grad():
        cell.gates.weight.zero_()
        bias = torch.tensor([-60.0, -60.0, 60.0, 60.0, 60.0, 60.0, 0.0, 0.0])  # i, f, o, g
        cell.gates.bias.copy_(bias.double())
    x = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    c0 = torch.randn(1, 2, 3, 3, dtype=torch.float64)
    h, (_, c) = cell(x, (torch.zeros_like(c0), c0))
    torch.testing.assert_close(c, c0, rtol=0, atol=1e-12)  # input gate shut, forget gate open
    torch.testing.assert_close(h, torch.tanh(c0), rtol=0, atol=1e-12)  # output gate open


def test_convlstm_sequence_matches_cell_loop_and_reverse():
    torch.manual_seed(2)
    fwd = ConvLSTM(2, 3).double()
    bwd = ConvLSTM(2, 3, reverse=True).double()
    bwd.load_state_dict(fwd.state_dict())
    x = torch.randn(2, 4, 2, 5, 5, dtype=torch.float64)
    state = None
    manual = []
    for t in range(4):
        h, state = fwd.cell(x[:, t], state)
        manual.append(h)
    out, (h_last, _) = fwd(x)
    torch.testing.assert_close(out, torch.stack(manual, 1), rtol=0, atol=0)
    torch.testing.assert_close(h_last, manual[-1], rtol=0, atol=0)
    out_r, (h_r, _) = bwd(x)
    flipped, (h_f, _) = fwd(x.flip(1))
    torch.testing.assert_close(out_r, flipped.flip(1), rtol=0, atol=0)
    torch.testing.assert_close(h_r, h_f, rtol=0, atol=0)
    # out_r[:, t] has seen frames t..T-1 only: changing frame 0 leaves later outputs alone.
    x2 = x.clone()
    x2[:, 0] += 1.0
    out_r2, _ = bwd(x2)
    torch.testing.assert_close(out_r2[:, 1:], out_r[:, 1:], rtol=0, atol=0)
    assert not torch.allclose(out_r2[:, 0], out_r[:, 0])


def test_convlstm_errors():
    cell = ConvLSTMCell(2, 3)
    with pytest.raises(ValueError, match="built for 2 input channels"):
        cell(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"state h has shape \(1, 3, 2, 2\), expected \(1, 3, 4, 4\)"):
        cell(torch.zeros(1, 2, 4, 4), (torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        ConvLSTM(2, 3)(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="odd"):
        ConvLSTMCell(2, 3, kernel_size=4)


# --------------------------------------------------------------------------- extractor and conditioner


def test_level_channels_follow_table_8_1():
    assert level_channels(4) == [8, 16, 32, 64]
    assert Extractor(1, 3, base_channels=4, growth=3).out_channels == [4, 12, 36]
    assert Extractor(1, 2, channels=[5, 7]).out_channels == [5, 7]


@pytest.mark.parametrize(
    ("channels", "size", "levels", "style", "skip"),
    list(itertools.product([1, 3], [32, 64], [1, 2, 3, 4], ["vgg", "dcgan"], [False, True])),
)
def test_extractor_conditioner_shapes(channels, size, levels, style, skip):
    ext = Extractor(channels, levels, style=style)
    x = torch.randn(2, channels, size, size)
    feats = ext(x)
    assert [tuple(f.shape) for f in feats] == [
        (2, 8 * 2**i, size // 2 ** (i + 1), size // 2 ** (i + 1)) for i in range(levels)
    ]
    bottleneck_ch = 6
    out_ch = [4 + i for i in range(levels)]
    cond = Conditioner(bottleneck_ch, levels, out_ch, ext.out_channels if skip else None, style=style)
    small = size // 2**levels
    maps = cond(torch.randn(2, bottleneck_ch, small, small), feats if skip else None)
    assert [tuple(m.shape) for m in maps] == [
        (2, out_ch[i], size // 2 ** (i + 1), size // 2 ** (i + 1)) for i in range(levels)
    ]


@pytest.mark.parametrize("style", ["vgg", "dcgan"])
def test_conditioner_skip_dependencies_and_gradients(style):
    torch.manual_seed(3)
    levels = 3
    ext = Extractor(2, levels, style=style, norm="group")
    cond = Conditioner(5, levels, [3, 4, 6], ext.out_channels, style=style, norm="group")
    feats = [f.detach().requires_grad_() for f in ext(torch.randn(2, 2, 32, 32))]
    maps = cond(torch.randn(2, 5, 4, 4), feats)
    # The map of level l sees the skips of levels l..L only (coarse-to-fine order).
    for level, m in enumerate(maps):
        grads = torch.autograd.grad(m.sum(), feats, allow_unused=True, retain_graph=True)
        for j, g in enumerate(grads):
            reaches = g is not None and bool(torch.any(g != 0))
            assert reaches == (j >= level), (level, j)
    # Every parameter of both networks is reached by the loss.
    ext.zero_grad()
    x = torch.randn(2, 2, 32, 32)
    feats = ext(x)
    maps = cond(torch.randn(2, 5, 4, 4), feats)
    sum(m.square().mean() for m in maps).backward()
    assert _all_params_have_grad(ext) == [] and _all_params_have_grad(cond) == []


@pytest.mark.parametrize(("norm", "train"), [("batch", False), ("group", True), ("none", True)])
def test_per_sample_independence(norm, train):
    """Eval-mode BatchNorm, and GroupNorm or no norm in any mode, treat samples independently."""
    torch.manual_seed(4)
    ext = Extractor(1, 2, style="dcgan", norm=norm).double().train(train)
    cond = Conditioner(3, 2, [4, 4], ext.out_channels, style="dcgan", norm=norm).double().train(train)
    if not train:  # give the running statistics non-trivial values first
        ext.train()
        cond.train()
        cond(torch.randn(4, 3, 4, 4, dtype=torch.float64), ext(torch.randn(4, 1, 16, 16, dtype=torch.float64)))
        ext.eval()
        cond.eval()
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    b = torch.randn(3, 3, 4, 4, dtype=torch.float64)
    full = cond(b, ext(x))
    alone = cond(b[:1], ext(x[:1]))
    for f, a in zip(full, alone):
        torch.testing.assert_close(f[:1], a, rtol=1e-12, atol=1e-12)


def test_extractor_conditioner_errors():
    ext = Extractor(3, 3)
    with pytest.raises(ValueError, match=r"Extractor expects frames of shape \[B, 3, H, W\], got \(1, 1, 32, 32\)"):
        ext(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"divisible by 8, got \(36, 36\)"):
        ext(torch.zeros(1, 3, 36, 36))
    with pytest.raises(ValueError, match="unknown network style 'resnet'"):
        Extractor(3, 2, style="resnet")
    with pytest.raises(ValueError, match="out_channels must list 3 positive integers"):
        Conditioner(4, 3, [4, 4])
    cond = Conditioner(4, 3, [4, 4, 4], ext.out_channels)
    with pytest.raises(ValueError, match="built with skip connections"):
        cond(torch.zeros(1, 4, 4, 4))
    feats = ext(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"skip map of level 1 should have shape \(1, 8, 16, 16\)"):
        cond(torch.zeros(1, 4, 4, 4), [feats[1], feats[1], feats[2]])
    with pytest.raises(ValueError, match="built without skip connections"):
        Conditioner(4, 3, [4, 4, 4])(torch.zeros(1, 4, 4, 4), feats)


# --------------------------------------------------------------------------- DMOL


def _random_params(channels, n_mix, b=1, h=1, w=1, seed=0, dtype=torch.float64):
    """DMOL parameters with varied but not degenerate components."""
    g = _gen(seed)
    k, c, pairs = n_mix, channels, channels * (channels - 1) // 2
    logits = torch.randn(b, k, h, w, generator=g, dtype=dtype)
    means = 0.3 * torch.randn(b, c * k, h, w, generator=g, dtype=dtype)
    log_scales = -4.0 + 2.5 * torch.rand(b, c * k, h, w, generator=g, dtype=dtype)
    coeffs = torch.randn(b, pairs * k, h, w, generator=g, dtype=dtype)
    params = torch.cat([logits, means, log_scales, coeffs], dim=1)
    assert params.shape[1] == dmol_num_params(channels, n_mix)
    return params


def _reference_dmol(x, params, n_bits=8):
    """Brute force in plain Python floats: sigmoid differences, no log-space tricks."""
    b, c, h, w = x.shape
    k = params.shape[1] // (1 + 2 * c + c * (c - 1) // 2)
    bins = 2**n_bits
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))
    out = []
    for n in range(b):
        total = 0.0
        for i in range(h):
            for j in range(w):
                p = params[n, :, i, j].tolist()
                logits = p[:k]
                z = max(logits)
                weights = [math.exp(v - z) for v in logits]
                weights = [v / sum(weights) for v in weights]
                vals = [int(x[n, ch, i, j]) >> (8 - n_bits) for ch in range(c)]
                centres = [(v + 0.5) / bins - 0.5 for v in vals]
                prob = 0.0
                for m in range(k):
                    pm = weights[m]
                    pair = 0
                    for ch in range(c):
                        mean = p[k + ch * k + m]
                        for prev in range(ch):
                            mean += math.tanh(p[k + 2 * c * k + pair * k + m]) * centres[prev]
                            pair += 1
                        s = math.exp(max(p[k + c * k + ch * k + m], -7.0 - math.log(2.0)))
                        up = 1.0 if vals[ch] == bins - 1 else sig((centres[ch] + 0.5 / bins - mean) / s)
                        lo = 0.0 if vals[ch] == 0 else sig((centres[ch] - 0.5 / bins - mean) / s)
                        pm *= up - lo
                    prob += pm
                total += math.log(prob)
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_dmol_matches_brute_force(channels):
    params = _random_params(channels, 3, b=2, h=2, w=3, seed=channels)
    x = torch.randint(0, 256, (2, channels, 2, 3), generator=_gen(10 + channels), dtype=torch.uint8)
    x[0, :, 0, 0] = 0  # the edge bins
    x[1, :, 1, 2] = 255
    x[0, 0, 1, 1] = 255
    torch.testing.assert_close(dmol_log_prob(x, params), _reference_dmol(x, params), rtol=1e-10, atol=1e-10)
    x4 = x.clone()
    torch.testing.assert_close(
        dmol_log_prob(x4, params, n_bits=4), _reference_dmol(x4, params, n_bits=4), rtol=1e-10, atol=1e-10
    )


def _all_values_image(channels: int, n_bits: int, first: range | None = None) -> torch.Tensor:
    """[1, C, N, 1] uint8 image whose N pixels enumerate every value combination."""
    bins = 2**n_bits
    ranges = [first if (first is not None and c == 0) else range(bins) for c in range(channels)]
    grid = torch.cartesian_prod(*[torch.tensor(list(r)) for r in ranges]).reshape(-1, channels)
    return (grid * 2 ** (8 - n_bits)).to(torch.uint8).T.reshape(1, channels, -1, 1)


@pytest.mark.parametrize("n_bits", [8, 3])
def test_dmol_one_channel_sums_to_one(n_bits):
    params = _random_params(1, 4, seed=5)
    x = _all_values_image(1, n_bits)
    p = dmol_pixel_log_prob(x, params.expand(1, -1, x.shape[2], 1), n_bits=n_bits).exp().sum()
    assert abs(p.item() - 1.0) < 1e-12
    # Sharp components far outside the range put their mass in the edge bins: still sums to one.
    sharp = params.clone()
    sharp[:, 4:5] = 3.0
    sharp[:, 5:8] = -1.0
    sharp[:, 8:12] = -30.0
    p = dmol_pixel_log_prob(x, sharp.expand(1, -1, x.shape[2], 1), n_bits=n_bits).exp().sum()
    assert abs(p.item() - 1.0) < 1e-12


def test_dmol_three_channels_sum_to_marginal_8bit():
    """Fix the red value x0 (edges included): summing the RGB joint over all 256**2 (x1, x2) gives
    the red marginal, which is the one-channel mixture with the same weights, means and scales
    (the coefficients only shift later channels). Over all x0 that marginal sums to one."""
    k = 3
    params = _random_params(3, k, seed=6)
    red = torch.cat([params[:, :k], params[:, k : 2 * k], params[:, 4 * k : 5 * k]], dim=1)
    reds = _all_values_image(1, 8)
    marginal = dmol_pixel_log_prob(reds, red.expand(1, -1, 256, 1)).exp().flatten()
    assert abs(marginal.sum().item() - 1.0) < 1e-12
    for x0 in (0, 37, 200, 255):
        x = _all_values_image(3, 8, first=range(x0, x0 + 1))
        total = dmol_pixel_log_prob(x, params.expand(1, -1, x.shape[2], 1)).exp().sum()
        assert abs(total.item() / marginal[x0].item() - 1.0) < 1e-10, x0


def test_dmol_channel_conditionals_sum_to_one():
    """For fixed earlier channels, summing the joint over the later ones gives their marginal;
    the conditional of the last channel therefore sums to one for every fixed (x0, x1)."""
    params = _random_params(3, 3, seed=7)
    n_bits = 5
    bins = 2**n_bits
    x = _all_values_image(3, n_bits)
    joint = dmol_pixel_log_prob(x, params.expand(1, -1, x.shape[2], 1), n_bits=n_bits).exp().reshape(bins, bins, bins)
    assert abs(joint.sum().item() - 1.0) < 1e-12
    p01 = joint.sum(dim=2, keepdim=True)
    conditional = joint / p01
    torch.testing.assert_close(conditional.sum(dim=2), torch.ones(bins, bins, dtype=torch.float64), rtol=0, atol=1e-12)
    # With one component the channel conditionals are single discretised logistics: check channel 1's directly.
    one = _random_params(3, 1, seed=8)
    joint1 = dmol_pixel_log_prob(x, one.expand(1, -1, x.shape[2], 1), n_bits=n_bits).exp().reshape(bins, bins, bins)
    p0 = joint1.sum(dim=(1, 2))
    p1_given_0 = joint1.sum(dim=2) / p0[:, None]
    torch.testing.assert_close(p1_given_0.sum(1), torch.ones(bins, dtype=torch.float64), rtol=0, atol=1e-12)


def test_dmol_extreme_params_are_finite():
    params = _random_params(3, 2, b=2, h=2, w=2, seed=9).requires_grad_()
    extreme = params * 1.0
    extreme = torch.cat([extreme[:, :2], extreme[:, 2:8] * 0 + 40.0, extreme[:, 8:14] * 0 - 50.0, extreme[:, 14:]], 1)
    x = torch.full((2, 3, 2, 2), 7, dtype=torch.uint8)
    lp = dmol_log_prob(x, extreme.float())
    assert torch.isfinite(lp).all() and (lp < -1e4).all()
    lp.sum().backward()
    assert torch.isfinite(params.grad).all()


def test_dmol_switched_off_component_with_a_huge_scale_keeps_gradients_finite():
    """A component whose weight has gone to ~0 can drift to log-scale 100+ in training (seen in an RGB run);
    the bin's mass factor log(1 - exp(-w)) then underflowed to log(0) in float32 and its NaN gradient reached
    every parameter. It must stay finite and match the float64 brute force."""
    params = _random_params(3, 2, b=1, h=2, w=2, seed=11)
    params[:, 1] = -30.0  # component 1 switched off
    params[:, 8:14:2] = 0.5  # component 0: ordinary log-scales
    params[:, 9:14:2] = 110.0  # component 1: exp(-110) / 256 underflows in float32
    x = torch.randint(1, 255, (1, 3, 2, 2), generator=_gen(12), dtype=torch.uint8)  # inner bins
    leaf = params.float().requires_grad_()
    lp = dmol_log_prob(x, leaf)
    lp.sum().backward()
    assert torch.isfinite(leaf.grad).all()
    torch.testing.assert_close(lp.double(), _reference_dmol(x, params), rtol=1e-5, atol=1e-4)


def test_dmol_samples_follow_the_distribution():
    """Empirical frequencies of 160k RGB draws (2 bits, 64 joint values) against exp(log_prob)."""
    params = _random_params(3, 2, seed=11)
    params[:, 2:8] = 0.0  # centred means, wide scales: mass spread over all 64 values
    params[:, 8:14] = -2.5
    n_bits, n = 2, 160_000
    draws = dmol_sample(params.expand(1, -1, 400, 400), 3, n_bits=n_bits, generator=_gen(12))
    assert draws.dtype == torch.uint8 and draws.shape == (1, 3, 400, 400)
    codes = (draws.long() >> 6).reshape(3, -1)
    idx = codes[0] * 16 + codes[1] * 4 + codes[2]
    empirical = torch.bincount(idx, minlength=64).double() / n
    x = _all_values_image(3, n_bits)
    exact = dmol_pixel_log_prob(x, params.expand(1, -1, 64, 1), n_bits=n_bits).exp().flatten()
    tv = 0.5 * (empirical - exact).abs().sum().item()
    assert tv < 0.012, tv  # expected about 0.006 for this many draws; a wrong coefficient order gives > 0.05
    # Temperature 0: the quantised mean of the drawn component.
    one = _random_params(1, 1, seed=13)
    cold = dmol_sample(one.expand(1, -1, 2, 2), 1, temperature=0.0, generator=_gen(0))
    expected = int(torch.clamp(torch.floor((one[0, 1, 0, 0] + 0.5) * 256), 0, 255))
    assert torch.all(cold == expected)


def test_dmol_module_and_errors():
    dist = DiscretizedMixtureLogistics(3, 4)
    assert dist.num_params == 40 == dmol_num_params(3, 4)
    params = torch.zeros(2, 40, 4, 4)
    x = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    torch.testing.assert_close(dist(x, params), dmol_log_prob(x, params))
    assert dist.sample(params, generator=_gen(0)).shape == (2, 3, 4, 4)
    with pytest.raises(TypeError, match="uint8"):
        dist(x.float(), params)
    with pytest.raises(ValueError, match="expected 40 DMOL parameter channels"):
        dist(x, torch.zeros(2, 30, 4, 4))
    with pytest.raises(ValueError, match="not a multiple of 10"):
        dmol_log_prob(x, torch.zeros(2, 33, 4, 4))
    with pytest.raises(ValueError, match="do not match images"):
        dmol_log_prob(x, torch.zeros(2, 40, 2, 2))


# --------------------------------------------------------------------------- Gaussians


def test_kl_matches_torch_distributions():
    g = _gen(20)
    mu_q, mu_p = (
        torch.randn(4, 5, generator=g, dtype=torch.float64),
        torch.randn(4, 5, generator=g, dtype=torch.float64),
    )
    std_q = torch.rand(4, 5, generator=g, dtype=torch.float64) + 0.1
    std_p = torch.rand(4, 5, generator=g, dtype=torch.float64) + 0.1
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_q, std_q), torch.distributions.Normal(mu_p, std_p)
    )
    torch.testing.assert_close(kl_diag_gaussians(mu_q, std_q, mu_p, std_p), ref, rtol=1e-12, atol=1e-12)
    assert kl_diag_gaussians(mu_q, std_q, mu_q, std_q).abs().max() < 1e-15


def test_kl_matches_monte_carlo():
    mu_q = torch.tensor([0.3, -1.0, 0.0, 2.0], dtype=torch.float64)
    std_q = torch.tensor([0.5, 1.5, 0.2, 1.0], dtype=torch.float64)
    mu_p = torch.tensor([0.0, 0.0, 0.5, 1.0], dtype=torch.float64)
    std_p = torch.tensor([1.0, 1.0, 0.3, 2.0], dtype=torch.float64)
    n = 400_000
    z = sample_diag_gaussian(mu_q.expand(n, 4), std_q.expand(n, 4), generator=_gen(21))
    log_ratio = (gaussian_log_density(z, mu_q, std_q) - gaussian_log_density(z, mu_p, std_p)).sum(1)
    estimate, stderr = log_ratio.mean().item(), log_ratio.std().item() / math.sqrt(n)
    exact = kl_diag_gaussians(mu_q, std_q, mu_p, std_p).sum().item()
    assert stderr < 0.005
    assert abs(estimate - exact) < 4 * stderr, (estimate, exact, stderr)


def test_gaussian_log_density_is_elementwise_and_matches_torch():
    g = _gen(22)
    x, mu = torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    std = torch.rand(3, 4, generator=g, dtype=torch.float64) + 0.05
    ref = torch.distributions.Normal(mu, std).log_prob(x)
    torch.testing.assert_close(gaussian_log_density(x, mu, std), ref, rtol=1e-12, atol=1e-12)


def test_sample_diag_gaussian_temperature_and_gradients():
    mu = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    std = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    n = 200_000
    z = sample_diag_gaussian(mu.expand(n, 2), std.expand(n, 2), temperature=0.5, generator=_gen(23))
    torch.testing.assert_close(z.mean(0), mu.detach(), rtol=0, atol=0.01)
    torch.testing.assert_close(z.std(0), 0.5 * std.detach(), rtol=0.01, atol=0)
    eps = (z - mu) / (0.5 * std)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.full((2,), float(n), dtype=torch.float64))
    torch.testing.assert_close(std.grad, 0.5 * eps.detach().sum(0))
    a = sample_diag_gaussian(mu, std, generator=_gen(5))
    b = sample_diag_gaussian(mu, std, generator=_gen(5))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample_diag_gaussian(mu, std, temperature=-1.0)


def test_gaussian_head():
    torch.manual_seed(24)
    head = GaussianHead(6, 3, 8, norm="group", min_std=1e-3)
    mu, std = head(torch.randn(2, 6, 4, 4))
    assert mu.shape == std.shape == (2, 3, 4, 4)
    assert (std > 1e-3).all()
    (mu.square().sum() + std.log().sum()).backward()
    assert _all_params_have_grad(head) == []


def test_gaussian_likelihood_value_and_bound():
    lik = GaussianLikelihood().double()
    x = torch.rand(2, 3, 4, 4, generator=_gen(25), dtype=torch.float64) - 0.5
    mu = torch.zeros_like(x)
    ref = torch.distributions.Normal(mu, lik.std.detach()).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(lik.log_density(x, mu), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(lik.log_prob(x, mu), ref + dequantization_constant((3, 4, 4)), rtol=1e-12, atol=1e-12)
    # The dequantised bound sits just below the exact log-probability of the pixel's bin.
    normal = torch.distributions.Normal(
        torch.tensor(0.013, dtype=torch.float64), torch.tensor(0.1, dtype=torch.float64)
    )
    value = 140  # bin [140/256 - 0.5, 141/256 - 0.5]
    exact = math.log(normal.cdf(torch.tensor(141 / 256 - 0.5)) - normal.cdf(torch.tensor(140 / 256 - 0.5)))
    u = (torch.arange(10_000, dtype=torch.float64) + 0.5) / 10_000  # midpoint rule over the bin
    lik1 = GaussianLikelihood(init_std=0.1).double()
    xs = (value / 256 - 0.5 + u / 256).reshape(-1, 1, 1, 1)
    bound = lik1.log_prob(xs, torch.full_like(xs, 0.013)).mean().item()
    assert bound <= exact
    assert exact - bound < 1e-4, (exact, bound)
    # The variance is learned, per channel on request.
    lik3 = GaussianLikelihood(channels=3)
    lik3(x.float(), mu.float()).sum().backward()
    assert lik3.log_std.shape == (1, 3, 1, 1) and torch.all(lik3.log_std.grad != 0)
    with pytest.raises(TypeError, match=r"rfn\.pixels\.preprocess"):
        lik(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), mu[:1, :, :2, :2])
    with pytest.raises(ValueError, match="built for 3 channels"):
        lik3(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))


def test_gaussian_helpers_have_one_definition():
    """The Gaussian log-density, the std parameterisation, draws and KL are defined once in the package."""
    import pathlib
    import re

    import rfn
    import rfn.flows.distributions as dist
    import rfn.nets as nets

    root = pathlib.Path(rfn.__file__).parent
    sources = {p: p.read_text() for p in root.rglob("*.py")}
    names = ("gaussian_log_density", "std_from_raw", "sample_diag_gaussian", "kl_diag_gaussians", "gaussian_log_prob")
    for name in names:
        defs = [p.relative_to(root) for p, text in sources.items() if re.search(rf"^def {name}\(", text, re.M)]
        assert len(defs) == (0 if name == "gaussian_log_prob" else 1), (name, defs)
        if hasattr(dist, name):
            assert getattr(nets, name) is getattr(dist, name)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_conv_block_folds_batchnorm_in_eval_mode_only(transposed, norm):
    """Eval mode: the BatchNorm folded into the convolution gives the layer-by-layer numbers."""
    torch.manual_seed(0)
    kw = dict(kernel_size=4, stride=2, padding=1, transposed=True) if transposed else {}
    block = conv_block(3, 5, norm, **kw).double()
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    block.train()
    block(x * 2 + 1)  # running statistics away from (0, 1)
    if norm == "batch":
        with torch.no_grad():
            block[1].weight.uniform_(0.5, 2.0)
            block[1].bias.normal_()
    for train in (False, True):
        block.train(train)
        block.fold_norms = True
        folded = block(x)
        block.fold_norms = False
        plain = block(x)
        torch.testing.assert_close(folded, plain, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("train", [True, False])
def test_extractor_fast_path_pools_before_the_activation_with_the_same_numbers(train):
    torch.manual_seed(0)
    ext = Extractor(2, levels=2, style="vgg").double().train(train)
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    ext.train()(x)
    ext.train(train)
    outs, grads = [], []
    for fast in (True, False):
        for m in ext.modules():
            if hasattr(type(m), "fold_norms"):
                m.fold_norms = fast
        x.grad = None
        feats = ext(x)
        sum((f**2).sum() for f in feats).backward()
        outs.append([f.detach() for f in feats])
        grads.append(x.grad.clone())
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-12, rtol=1e-12)

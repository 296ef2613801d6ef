"""Exactness tests for every flow layer and whole Glows, in float64.

Layers start close to the identity (zero-initialised coupling outputs), which
would make inversion and log-determinant checks trivially pass; every test
therefore perturbs all parameters with noise first.
"""

from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch

from rfn.flows import (
    ActNorm,
    AffineCoupling,
    ConvNet,
    FlowStep,
    Glow,
    GlowConfig,
    InvConv1x1,
    Split,
    Squeeze,
    gaussian_log_density,
    std_from_raw,
    sum_per_sample,
)
from rfn.runtime import derive_seed

DT = torch.float64


@pytest.fixture(autouse=True)
def float64_default():
    """Every tensor created in these tests is float64 (restored afterwards)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    yield
    torch.set_default_dtype(old)


def perturb(module: torch.nn.Module, scale: float = 0.3, seed: int = 0, rerun=None) -> torch.nn.Module:
    """Add noise to every parameter; then re-initialise the ActNorms inside the
    coupling/prior networks by running ``rerun()`` so activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    if rerun is not None:
        for m in module.modules():
            if isinstance(m, ConvNet):
                m.norm1._initialized = m.norm2._initialized = False
        with torch.no_grad():
            rerun()
    return module


def jacobian_logdet(fn, x: torch.Tensor) -> torch.Tensor:
    """log|det J| per sample via autograd, for fn acting sample-wise on [B, ...]."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i : i + 1]
        jac = torch.autograd.functional.jacobian(lambda v: fn(v).flatten(), xi)
        jac = jac.reshape(jac.shape[0], -1)
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        out.append(logabs)
    return torch.stack(out)


def make_layer(kind: str, channels: int, cond_channels: int):
    if kind == "actnorm":
        return ActNorm(channels)
    if kind == "invconv":
        return InvConv1x1(channels)
    if kind == "squeeze":
        return Squeeze()
    if kind.startswith("coupling"):
        clamp = kind.split("-")[1]
        return AffineCoupling(channels, hidden=8, cond_channels=cond_channels, clamp=clamp)
    if kind == "step":
        return FlowStep(channels, hidden=8, cond_channels=cond_channels, clamp="sigmoid")
    raise AssertionError(kind)


LAYERS = ["actnorm", "invconv", "squeeze", "coupling-sigmoid", "coupling-tanh", "coupling-none", "step"]


LAYER_CASES = [
    (kind, channels, conditional)
    for kind in LAYERS
    for channels, conditional in [(2, False), (4, True), (3, False), (6, True)]
    if not (conditional and kind in ("actnorm", "invconv", "squeeze"))
]


@pytest.mark.parametrize("kind,channels,conditional", LAYER_CASES)
def test_layer_inverse_and_logdet(kind, channels, conditional):
    torch.manual_seed(derive_seed(kind, channels))
    B, H, W = 3, 4, 4
    cc = 2 if conditional else 0
    layer = make_layer(kind, channels, cc).to(DT)
    x0 = torch.randn(B, channels, H, W, dtype=DT) * 2 + 1
    cond = torch.randn(B, cc, H, W, dtype=DT) if conditional else None
    layer(x0, cond)  # data-dependent initialisation, then perturb
    perturb(layer, rerun=lambda: layer(x0, cond))
    x = torch.randn(B, channels, H, W, dtype=DT)
    y, ld = layer(x, cond)
    assert ld.shape == (B,)
    x_rec, ld_inv = layer.inverse(y, cond)
    torch.testing.assert_close(x_rec, x, atol=1e-10, rtol=0)
    if hasattr(layer, "invert"):  # the inverse without log-determinant (sampling)
        torch.testing.assert_close(layer.invert(y, cond), x_rec, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(ld + ld_inv, torch.zeros(B, dtype=DT), atol=1e-10, rtol=0)
    ref = jacobian_logdet(lambda v: layer(v, None if cond is None else cond[:1])[0], x[:1])
    torch.testing.assert_close(ld[:1], ref, atol=1e-8, rtol=0)


def test_coupling_logdet_per_sample_with_condition():
    """Different conditions give different per-sample log-determinants, each exact."""
    torch.manual_seed(1)
    layer = AffineCoupling(4, hidden=8, cond_channels=3, clamp="tanh").to(DT)
    x = torch.randn(3, 4, 4, 4)
    cond = torch.randn(3, 3, 4, 4)
    layer(x, cond)
    perturb(layer, 0.5, rerun=lambda: layer(x, cond))
    _, ld = layer(x, cond)
    assert ld.unique().numel() == 3
    for i in range(3):
        ref = jacobian_logdet(lambda v, i=i: layer(v, cond[i : i + 1])[0], x[i : i + 1])
        torch.testing.assert_close(ld[i : i + 1], ref, atol=1e-8, rtol=0)


def test_split_bijection_and_prior():
    torch.manual_seed(2)
    split = Split(8, hidden=8, cond_channels=2).to(DT)
    x, cond = torch.randn(2, 8, 4, 4), torch.randn(2, 2, 4, 4)
    split(x, cond)
    perturb(split, rerun=lambda: split(x, cond))
    kept, z, logp = split(x, cond)
    assert kept.shape == (2, 4, 4, 4) and z.shape == (2, 4, 4, 4)
    torch.testing.assert_close(split.inverse(kept, z, cond), x, atol=0, rtol=0)
    mean, std = split.prior(kept, cond)
    ref = torch.distributions.Normal(mean, std).log_prob(z).flatten(1).sum(1)
    torch.testing.assert_close(logp, ref, atol=1e-10, rtol=0)
    # temperature scales the prior's standard deviation
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([split.inverse(kept, None, cond, 0.5, g)[:, 4:] for _ in range(400)])
    ratio = (draws - mean).std(0) / std
    assert abs(ratio.mean().item() - 0.5) < 0.02


def test_gaussian_log_density_per_sample_matches_torch():
    g = torch.Generator().manual_seed(3)
    x, m = torch.randn(5, 3, 2, 2, generator=g, dtype=DT), torch.randn(5, 3, 2, 2, generator=g, dtype=DT)
    s = torch.rand(5, 3, 2, 2, generator=g, dtype=DT) + 0.1
    ref = torch.distributions.Normal(m, s).log_prob(x)
    torch.testing.assert_close(gaussian_log_density(x, m, s), ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(sum_per_sample(gaussian_log_density(x, m, s)), ref.flatten(1).sum(1), atol=1e-12, rtol=0)


def test_std_from_raw_is_one_softplus_parameterisation():
    raw = torch.linspace(-30, 30, 61, dtype=DT)
    torch.testing.assert_close(std_from_raw(torch.zeros((), dtype=DT), min_std=0.0), torch.ones((), dtype=DT))
    torch.testing.assert_close(std_from_raw(raw, 1e-3, shift=0.0), torch.nn.functional.softplus(raw) + 1e-3)
    assert bool((std_from_raw(raw, 1e-4) > 1e-4).all())


def make_glow(levels, steps, channels, conditional, clamp="sigmoid", seed=0, size=8, noise=0.1):
    torch.manual_seed(seed)
    cc = tuple(2 + l for l in range(levels)) if conditional else None
    cfg = GlowConfig(
        in_channels=channels,
        levels=levels,
        steps=steps,
        hidden=8,
        base_hidden=8,
        cond_channels=cc,
        clamp=clamp,
        image_size=(size, size),
    )
    glow = Glow(cfg).to(DT)
    B = 2
    x = torch.rand(B, channels, size, size) - 0.5
    cond = [torch.randn(B, c, size >> (l + 1), size >> (l + 1)) for l, c in enumerate(cc)] if cc else None
    glow.initialize(x, cond)
    perturb(glow, noise, seed, rerun=lambda: glow.log_prob(x, cond))
    return glow, x, cond


GLOWS = [
    (levels, steps, channels, conditional)
    for levels, steps, channels, conditional in itertools.product([1, 2, 3], [1, 3], [1, 3], [False, True])
    if not (levels == 3 and channels == 3 and steps == 3)  # the largest Jacobian is covered at K=1
] + [(2, 2, 3, True)]


@pytest.mark.parametrize("levels,steps,channels,conditional", GLOWS)
def test_glow_exact_inverse_and_logdet(levels, steps, channels, conditional):
    glow, x, cond = make_glow(levels, steps, channels, conditional, seed=levels * 10 + steps)
    latents, logdet = glow.encode(x, cond)
    assert len(latents) == levels and logdet.shape == (2,)
    assert sum(z[0].numel() for z in latents) == x[0].numel()
    x_rec = glow.decode(latents, cond)
    torch.testing.assert_close(x_rec, x, atol=1e-10, rtol=0)

    def flat(v):
        c1 = None if cond is None else [c[:1] for c in cond]
        return torch.cat([z.flatten(1) for z in glow.encode(v, c1)[0]], 1)

    ref = jacobian_logdet(flat, x[:1])
    torch.testing.assert_close(logdet[:1], ref, atol=1e-8, rtol=0)

    # forward and inverse log-determinants of every step cancel
    h = x
    for l, level in enumerate(glow.levels):
        from rfn.flows import squeeze2d

        h = squeeze2d(h)
        c = cond[l] if cond is not None else None
        for step in level:
            y, ld = step(h, c)
            h_rec, ld_inv = step.inverse(y, c)
            torch.testing.assert_close(h_rec, h, atol=1e-10, rtol=0)
            torch.testing.assert_close(ld + ld_inv, torch.zeros_like(ld), atol=1e-10, rtol=0)
            h = y
        if l < len(glow.splits):
            h = h[:, : glow.splits[l].kept_channels]


def _integral(glow, cond_vec, n=200_000, scale=1.5, seed=0):
    """Importance-sampling estimate of the integral of p(x | c) over R^4 and its standard error."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 2, 2, generator=g, dtype=DT) * scale
    log_q = torch.distributions.Normal(0.0, scale).log_prob(x).flatten(1).sum(1)
    c = None if cond_vec is None else [cond_vec.expand(n, -1, -1, -1)]
    with torch.no_grad():
        w = torch.exp(glow.log_prob(x, c) - log_q)
    return w.mean().item(), (w.std() / math.sqrt(n)).item()


def test_glow_density_integrates_to_one():
    """Importance sampling of the integral of p(x) over R^4 (1 channel, 2x2 image, L=1)."""
    torch.manual_seed(3)
    glow = Glow(GlowConfig(in_channels=1, levels=1, steps=3, hidden=8, base_hidden=8)).to(DT)
    x0 = torch.randn(64, 1, 2, 2, dtype=DT) * 0.3
    glow.initialize(x0)
    perturb(glow, 0.2, rerun=lambda: glow.log_prob(x0))
    est, se = _integral(glow, None)
    assert abs(est - 1.0) < max(4 * se, 0.01), (est, se)


def test_conditional_glow_density_integrates_to_one_at_every_condition():
    """A working conditional density: ActNorm initialised on varied conditions (each data point its
    own, correlated with it), then p(. | c) integrates to 1 at several conditions it was not built on,
    and the condition changes the density."""
    torch.manual_seed(3)
    glow = Glow(GlowConfig(in_channels=1, levels=1, steps=3, hidden=8, base_hidden=8, cond_channels=(3,))).to(DT)
    c0 = torch.randn(256, 3, 1, 1, dtype=DT)
    x0 = 0.3 * torch.randn(256, 1, 2, 2, dtype=DT) + 0.5 * c0[:, :1]  # the data depend on the condition
    glow.initialize(x0, [c0])
    perturb(glow, 0.2, rerun=lambda: glow.log_prob(x0, [c0]))
    probe = torch.randn(8, 1, 2, 2, dtype=DT) * 0.5
    densities = []
    for i, c in enumerate(torch.randn(3, 1, 3, 1, 1, dtype=DT, generator=torch.Generator().manual_seed(5))):
        est, se = _integral(glow, c, seed=i)
        assert abs(est - 1.0) < max(4 * se, 0.01), (i, est, se)
        with torch.no_grad():
            densities.append(glow.log_prob(probe, [c.expand(8, -1, -1, -1)]))
    assert (densities[0] - densities[1]).abs().max() > 1e-3 and (densities[0] - densities[2]).abs().max() > 1e-3


@pytest.mark.parametrize("clamp", ["sigmoid", "tanh"])
@pytest.mark.parametrize("conditional", [False, True])
def test_every_parameter_trains(clamp, conditional):
    """After one optimiser step from initialisation every parameter has a nonzero gradient."""
    torch.manual_seed(4)
    cc = (3, 4) if conditional else None
    glow = Glow(
        GlowConfig(in_channels=3, levels=2, steps=2, hidden=8, base_hidden=8, cond_channels=cc, clamp=clamp)
    ).to(DT)
    x = torch.rand(4, 3, 8, 8) - 0.5
    cond = [torch.randn(4, 3, 4, 4), torch.randn(4, 4, 2, 2)] if conditional else None
    opt = torch.optim.Adam(glow.parameters(), lr=1e-2)
    for step in range(2):
        opt.zero_grad()
        (-glow.log_prob(x, cond).mean()).backward()
        if step == 0:
            opt.step()
    dead = [n for n, p in glow.named_parameters() if p.grad is None or not p.grad.abs().gt(0).any()]
    assert not dead, f"parameters without gradient: {dead}"
    if clamp == "tanh":
        scale = glow.levels[0][0].coupling.clamp_scale
        assert scale.grad.abs().gt(0).all()


def test_thesis_clamp_init_would_be_dead():
    """The thesis code's clamp (scale 0) gets no gradient; ours (scale 1) does."""
    torch.manual_seed(5)
    layer = AffineCoupling(4, hidden=8, clamp="tanh").to(DT)
    x = torch.randn(8, 4, 4, 4)
    layer(x)
    with torch.no_grad():
        layer.clamp_scale.zero_()
    y, ld = layer(x)
    (y.square().sum() - ld.sum()).backward()
    raw_rows = layer.net.out.weight.grad[1::2]  # output channels feeding the log-scale
    assert layer.clamp_scale.grad.abs().max() == 0 and raw_rows.abs().max() == 0
    assert layer.net.out.weight.grad[0::2].abs().max() > 0  # only the shift trains


@pytest.mark.parametrize("conditional", [False, True])
def test_state_dict_round_trip(conditional):
    glow, x, cond = make_glow(2, 2, 3, conditional, seed=6, noise=0.03)
    twin = Glow(copy.deepcopy(glow.config)).to(DT)
    twin.load_state_dict(glow.state_dict())
    assert all(m._initialized for m in twin.modules() if isinstance(m, ActNorm))
    torch.testing.assert_close(twin.log_prob(x, cond), glow.log_prob(x, cond), atol=0, rtol=0)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    kwargs = {"cond": cond} if conditional else {"n": 2}
    torch.testing.assert_close(twin.sample(generator=g1, **kwargs), glow.sample(generator=g2, **kwargs))


def test_actnorm_initialises_in_eval_mode_too():
    layer = ActNorm(3).eval()
    x = torch.randn(16, 3, 4, 4) * 3 + 2
    y, _ = layer(x)
    assert layer.initialized.item() == 1
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-8, rtol=0)
    torch.testing.assert_close(y.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-5, rtol=0)


def test_gradient_checkpointing_gives_identical_gradients():
    glow, x, cond = make_glow(3, 2, 1, True, seed=7)
    twin = copy.deepcopy(glow)
    twin.config.checkpoint = True
    for model in (glow, twin):
        model.zero_grad()
        (-model.log_prob(x, cond).sum()).backward()
    for (n, p), (_, q) in zip(glow.named_parameters(), twin.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-12, rtol=0, msg=n)


def test_sample_temperature_zero_is_deterministic_and_finite():
    glow, x, cond = make_glow(2, 2, 3, True, seed=8, noise=0.03)
    a = glow.sample(cond, temperature=0.0)
    b = glow.sample(cond, temperature=0.0)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert a.shape == x.shape and torch.isfinite(a).all()


@pytest.mark.parametrize(
    "bad,msg",
    [
        (lambda x, c: (x[:, :2], c), "expects \\[B, 3, H, W\\]"),
        (lambda x, c: (x[..., :6, :6], c), "divisible by 2\\*\\*levels"),
        (lambda x, c: (x, c[:1]), "list of 2 condition maps"),
        (lambda x, c: (x, [c[0], c[1][:, :1]]), "condition map 1 must be"),
        (lambda x, c: (x, None), "this Glow is conditional"),
        (lambda x, c: ((x * 255).to(torch.uint8), c), "floating-point images"),
    ],
)
def test_glow_input_errors(bad, msg):
    glow, x, cond = make_glow(2, 1, 3, True, seed=9)
    xb, cb = bad(x, cond)
    with pytest.raises((ValueError, TypeError), match=msg):
        glow.log_prob(xb, cb)


def test_config_errors():
    with pytest.raises(ValueError, match="one entry per level"):
        GlowConfig(levels=3, cond_channels=(1, 2))
    with pytest.raises(ValueError, match="unknown clamp"):
        GlowConfig(clamp="exp")
    with pytest.raises(ValueError, match="at least 2 channels"):
        AffineCoupling(1)


def test_folded_actnorm_convnet_equals_layer_by_layer_with_gradients():
    torch.manual_seed(0)
    net = ConvNet(3, 6, 4).double()
    torch.nn.init.normal_(net.out.weight)
    x = torch.randn(4, 3, 5, 5, dtype=DT)
    net(x)  # data-dependent initialisation
    with torch.no_grad():
        net.norm1.log_scale.add_(0.3 * torch.randn_like(net.norm1.log_scale))
        net.norm2.loc.add_(0.3 * torch.randn_like(net.norm2.loc))
    outs, grads = [], []
    for fold in (True, False):
        net.fold_norms = fold
        net.zero_grad()
        y = net(x)
        (y**2).sum().backward()
        outs.append(y.detach())
        grads.append([p.grad.clone() for p in net.parameters()])
    torch.testing.assert_close(outs[0], outs[1], atol=1e-12, rtol=1e-12)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_glow_inverse_weight_cache_gives_the_same_samples():
    glow, _, _ = make_glow(2, 2, 1, conditional=True)
    cond = [torch.randn(3, 2 + l, 8 >> (l + 1), 8 >> (l + 1), dtype=DT) for l in range(2)]
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    plain = glow.sample(cond, temperature=0.8, generator=g1)
    with glow.inverse_weights_cached():
        assert all(s._inverse_cache is not None for level in glow.levels for s in level)
        cached = glow.sample(cond, temperature=0.8, generator=g2)
    assert all(s._inverse_cache is None for level in glow.levels for s in level)
    torch.testing.assert_close(cached, plain, atol=0, rtol=0)


def test_squeeze_layouts_give_the_same_values():
    from rfn.flows import squeeze2d, unsqueeze2d

    x = torch.randn(2, 3, 6, 4, dtype=DT)
    ref = squeeze2d(x)
    for cl in (False, True):
        y = squeeze2d(x, channels_last=cl)
        assert torch.equal(y, ref) and y.is_contiguous(memory_format=torch.channels_last) == cl
        back = unsqueeze2d(y, channels_last=cl)
        assert torch.equal(back, x) and back.is_contiguous(memory_format=torch.channels_last) == cl
        assert torch.equal(unsqueeze2d(y.contiguous(), channels_last=cl), x)


def test_channels_last_glow_gives_the_same_density_and_samples():
    glow, x, cond = make_glow(2, 2, 1, conditional=True)
    cl = copy.deepcopy(glow).to(memory_format=torch.channels_last)
    assert cl._channels_last() and not glow._channels_last()
    torch.testing.assert_close(cl.log_prob(x, cond), glow.log_prob(x, cond), atol=1e-10, rtol=0)
    a = glow.sample(cond, temperature=0.7, generator=torch.Generator().manual_seed(1))
    b = cl.sample(cond, temperature=0.7, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b, atol=1e-10, rtol=0)

"""Tests for the importance-weighted bound (rfn.models.iwae), which ``rfn evaluate`` reports.

* A linear-Gaussian model whose likelihood integrates in closed form: the bound at
  K = 1 is the analytic ELBO in expectation and approaches the exact
  log-likelihood as K grows.
* Tiny RFN, SRNN and VRNN: K = 1 averages to the ELBO of ``model.elbo_terms``; the
  bound rises with K; log weights recomputed by hand from the posterior and prior
  parameters at the posterior sample; the deterministic state is shared by the
  K copies.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from rfn.models import RFN, SRNN, VRNN, RFNConfig, SRNNConfig, VRNNConfig
from rfn.models.iwae import iw_bound, iw_bound_from_log_weights, log_importance_weights, log_weight_terms

F64 = torch.float64


# ----------------------------------------------------------------------------- linear-Gaussian model


class LinearGaussian(nn.Module):
    """``z ~ N(0, I)``, ``x | z ~ N(A z, s^2 I)``, ``q(z | x) = N(C x, diag(q_std^2))``, with the interface
    :func:`log_importance_weights` uses (one modelled frame ``x[:, 1]``; ``x[:, 0]`` is ignored)."""

    def __init__(self, a, s, c, q_std):
        super().__init__()
        self.a, self.s, self.c, self.q_std = a, s, c, q_std
        self.config = SimpleNamespace(frame_shape=(a.shape[0],))

    def infer(self, x):
        mu_q = x[:, 1] @ self.c.T
        std_q = self.q_std.expand_as(mu_q)
        z = mu_q + std_q * torch.randn_like(mu_q)
        zero = torch.zeros_like(mu_q)
        one = torch.ones_like(mu_q)
        return {"z": z[:, None], "mu_q": mu_q[:, None], "std_q": std_q[:, None], "mu_p": zero[:, None],
                "std_p": one[:, None], "h": zero[:, None]}  # fmt: skip

    def emission_inputs(self, post, x):
        return x[:, 1], post["h"].flatten(0, 1), post["z"].flatten(0, 1), []

    def emission_log_prob(self, target, h, z, skips):
        return Normal(z @ self.a.T, self.s).log_prob(target).sum(-1)


@pytest.fixture(scope="module")
def linear_gaussian():
    g = torch.Generator().manual_seed(0)
    dz, dx, s = 2, 5, 0.5
    a = torch.randn(dx, dz, generator=g, dtype=F64)
    post_cov = torch.linalg.inv(torch.eye(dz, dtype=F64) + a.T @ a / s**2)
    c_true = post_cov @ a.T / s**2  # the exact posterior mean is c_true @ x
    # deliberately imperfect: shrunk mean, inflated standard deviations
    model = LinearGaussian(a, s, 0.7 * c_true, 1.5 * post_cov.diagonal().sqrt())
    b = 16
    xt = torch.randn(b, dz, generator=g, dtype=F64) @ a.T + s * torch.randn(b, dx, generator=g, dtype=F64)
    x = torch.stack([torch.zeros_like(xt), xt], 1)  # [B, 2, dx]
    cov = a @ a.T + s**2 * torch.eye(dx, dtype=F64)
    exact = MultivariateNormal(torch.zeros(dx, dtype=F64), cov).log_prob(xt)
    mq, vq = xt @ model.c.T, model.q_std**2
    elbo = (
        -dx / 2 * math.log(2 * math.pi * s**2)
        - (((xt - mq @ a.T) ** 2).sum(1) + (a**2 @ vq).sum()) / (2 * s**2)  # E_q log p(x | z)
        - ((mq**2).sum(1) + vq.sum()) / 2  # E_q log p(z) without its constant ...
        + torch.log(model.q_std).sum()  # ... minus E_q log q(z), whose 2 pi constant cancels it
        + dz / 2
    )
    return model, x, exact, elbo


def test_linear_gaussian_k1_is_the_analytic_elbo_in_expectation(linear_gaussian):
    model, x, exact, elbo = linear_gaussian
    torch.manual_seed(0)
    log_w = log_importance_weights(model, x, k=4000, chunk=1000)  # 4000 independent K=1 bounds per point
    assert log_w.shape == (4000, 16) and log_w.dtype == F64
    sem = log_w.std(0) / math.sqrt(4000)
    assert ((log_w.mean(0) - elbo).abs() < 4.5 * sem).all(), (log_w.mean(0) - elbo, sem)
    assert (exact - elbo).min() > 0.4  # q is imperfect: the ELBO is strictly below log p(x)


def _bounds(log_w: torch.Tensor, k: int) -> torch.Tensor:
    """Independent K-sample bounds ``[R, B]`` from disjoint groups of ``k`` rows of ``log_w [R * k, B]``."""
    return torch.stack([iw_bound_from_log_weights(g) for g in log_w.split(k)])


def test_linear_gaussian_bound_approaches_exact_log_likelihood(linear_gaussian):
    model, x, exact, elbo = linear_gaussian
    gaps = {}
    for k, repeats in ((1, 200), (10, 200), (1000, 20)):
        torch.manual_seed(k)
        bounds = _bounds(log_importance_weights(model, x, k=k * repeats, chunk=5000), k)
        gaps[k] = float((exact - bounds.mean(0)).mean())  # mean over repeats and the 16 points
    # measured (seed 0 data): ELBO gap 2.08, K=1 2.01, K=10 0.24, K=1000 0.004 nats
    assert gaps[1] == pytest.approx(float((exact - elbo).mean()), abs=0.2)
    assert 0.05 < gaps[10] < 0.6
    assert abs(gaps[1000]) < 0.05
    assert gaps[1] > gaps[10] > abs(gaps[1000])
    # iw_bound is the same estimator
    torch.manual_seed(0)
    out = iw_bound(model, x, k=7, chunk=3)
    torch.manual_seed(0)
    log_w = log_importance_weights(model, x, k=7, chunk=3)
    assert torch.equal(out["log_w"], log_w) and torch.equal(out["nats"], iw_bound_from_log_weights(log_w))


def test_iw_bound_from_log_weights_and_argument_errors(linear_gaussian):
    log_w = torch.tensor([[0.0, -1e4], [math.log(3.0), -1e4 + math.log(3.0)]], dtype=F64)
    assert torch.allclose(
        iw_bound_from_log_weights(log_w), torch.tensor([math.log(2.0), -1e4 + math.log(2.0)], dtype=F64)
    )
    with pytest.raises(ValueError, match=r"\[K, B\]"):
        iw_bound_from_log_weights(torch.zeros(3))
    model, x, _, _ = linear_gaussian
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            log_importance_weights(model, x, k=bad)
    with pytest.raises(ValueError, match="chunk"):
        log_importance_weights(model, x, k=3, chunk=0)


# ----------------------------------------------------------------------------- the video models

_TINY = dict(image_size=(8, 8), levels=2, h_channels=4, a_channels=4, head_hidden=4, extractor_channels=4, z_channels=2)


def _tiny(kind: str):
    torch.manual_seed(0)
    if kind == "rfn":
        model = RFN(RFNConfig(**_TINY, flow_steps=1, flow_hidden=4, base_hidden=4))
    elif kind == "srnn":
        model = SRNN(SRNNConfig(**_TINY, n_mix=2))
    else:
        model = VRNN(VRNNConfig(**_TINY, n_mix=2))
    x = torch.randint(0, 256, (3, 3, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    with torch.no_grad():
        model.train()
        model.loss(x)  # data-dependent ActNorm initialisation, as training would do
    return model.eval(), x


@pytest.fixture(scope="module", params=["rfn", "srnn"])
def tiny_model(request):
    return (request.param, *_tiny(request.param))


def test_k1_bound_averages_to_the_analytic_kl_elbo(tiny_model):
    kind, model, x = tiny_model
    n = 300
    torch.manual_seed(2)
    log_w = log_importance_weights(model, x, k=n, chunk=100)  # n independent K=1 bounds per sequence
    torch.manual_seed(3)
    with torch.no_grad():
        terms = model.elbo_terms(x.repeat(n, 1, 1, 1, 1))
    elbo = -(terms["nll"].double().sum(1) + terms["kl"].double().sum(1)).view(n, -1)
    diff = log_w.mean(0) - elbo.mean(0)
    sem = (log_w.var(0) / n + elbo.var(0) / n).sqrt()
    assert (diff.abs() < 4.5 * sem).all(), (kind, diff, sem)
    # the same draws give the same emission term: only the KL is estimated instead of exact
    torch.manual_seed(4)
    with torch.no_grad():
        mine = log_weight_terms(model, x)
    torch.manual_seed(4)
    with torch.no_grad():
        ref = model.elbo_terms(x)
    assert torch.equal(mine["post"]["z"], ref["post"]["z"])
    assert torch.allclose(mine["log_px"], -ref["nll"].double(), rtol=0, atol=1e-3)


def test_bound_rises_with_k(tiny_model):
    kind, model, x = tiny_model
    torch.manual_seed(8)
    log_w = log_importance_weights(model, x, k=4000, chunk=1000)
    # disjoint rows: independent estimates for every K, so the ordering is a finding, not Jensen's inequality.
    # Measured over seeds 0-7: K=1 -> 5 gains 0.2 nats, 5 -> 20 about 0.08 (standard error of each mean 0.02)
    pools = {1: log_w[:500], 5: log_w[500:2000], 20: log_w[2000:]}
    means = {k: _bounds(pool, k).mean().item() for k, pool in pools.items()}
    assert means[1] < means[5] < means[20], (kind, means)


def _recomputed(post, log_px):
    """``log w`` from the returned parameters, evaluated at the returned posterior draws."""
    z, dims = post["z"].double(), tuple(range(2, post["z"].dim()))
    log_p = Normal(post["mu_p"].double(), post["std_p"].double()).log_prob(z).sum(dims)
    log_q = Normal(post["mu_q"].double(), post["std_q"].double()).log_prob(z).sum(dims)
    return (log_px + log_p - log_q).sum(1), log_p


@pytest.mark.parametrize("kind", ["rfn", "srnn", "vrnn"])
def test_log_weights_evaluate_prior_and_posterior_at_the_posterior_sample(kind):
    model, x = _tiny(kind)
    torch.manual_seed(5)
    with torch.no_grad():
        terms = log_weight_terms(model, x)
    post = terms["post"]
    log_w, log_p = _recomputed(post, terms["log_px"])
    assert torch.allclose(terms["log_w"], log_w, rtol=0, atol=1e-6)
    assert torch.allclose(terms["log_pz"], log_p, rtol=0, atol=1e-8)
    # the prior is chained on the posterior's z_{t-1} ...
    z_prev = torch.cat([post["z0"][:, None], post["z"][:, :-1]], 1)
    with torch.no_grad():
        mu_p, std_p = model._prior(z_prev.flatten(0, 1), post["h"].flatten(0, 1))
    assert torch.allclose(post["mu_p"].flatten(0, 1), mu_p, atol=1e-6)
    assert torch.allclose(post["std_p"].flatten(0, 1), std_p, atol=1e-6)
    # ... and a density taken at a prior draw instead would be a different number
    z_prior = post["mu_p"] + post["std_p"] * torch.randn_like(post["mu_p"])
    wrong = Normal(post["mu_p"].double(), post["std_p"].double()).log_prob(z_prior.double()).flatten(2).sum(2)
    assert (wrong - terms["log_pz"]).abs().max() > 0.1


@pytest.mark.parametrize("kind", ["srnn", "vrnn"])
def test_copies_share_the_deterministic_state_and_not_the_latents(kind):
    model, x = _tiny(kind)
    k = 4
    torch.manual_seed(6)
    with torch.no_grad():
        many = log_weight_terms(model, x.repeat(k, 1, 1, 1, 1))["post"]
        one = model.infer(x)
    h = many["h"].unflatten(0, (k, x.shape[0]))
    z = many["z"].unflatten(0, (k, x.shape[0]))
    assert not torch.allclose(z[0], z[1])  # every copy runs its own latent chain
    if kind == "srnn":  # h_t is a function of x alone: the same in every copy, never advanced by the K loop
        assert all(torch.allclose(h[i], one["h"], atol=1e-6) for i in range(k))
    else:  # the VRNN's recurrence reads z_{t-1}: its h_t follows each copy's chain after the first frame
        assert torch.allclose(h[0][:, 0], h[1][:, 0], atol=1e-6) and not torch.allclose(h[0][:, 1], h[1][:, 1])


def test_iw_bound_restores_training_mode_and_reports_bits_per_pixel():
    model, x = _tiny("srnn")
    model.train()
    torch.manual_seed(7)
    out = iw_bound(model, x, k=3)
    assert model.training
    dims = 2 * 1 * 8 * 8  # T - 1 = 2 scored frames of 1 x 8 x 8
    assert torch.allclose(out["bpp"], -out["nats"] / (dims * math.log(2.0)))
    assert (out["nats"] >= out["elbo_nats"]).all()

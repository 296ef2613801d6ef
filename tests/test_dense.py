"""Vector-sequence SRNN/VRNN (rfn.models.dense): the ELBO's structure, switches, shapes, errors."""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest
import torch

from rfn.checkpoint import save_checkpoint
from rfn.models import MODELS
from rfn.models.dense import DenseSRNN, DenseSRNNConfig, DenseVRNN, DenseVRNNConfig
from rfn.models.registry import load_model
from rfn.nets import kl_diag_gaussians

TINY = dict(x_dim=5, h_dim=6, z_dim=3, a_dim=6, hidden=7)


def make(cls=DenseSRNN, cfg_cls=DenseSRNNConfig, seed=0, **kw):
    torch.manual_seed(seed)
    return cls(cfg_cls(**{**TINY, **kw})).double()


def seq(B=2, T=6, D=5, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, D, generator=g, dtype=torch.float64)


@pytest.mark.parametrize(
    "cls,cfg_cls,kw",
    [
        (DenseSRNN, DenseSRNNConfig, {}),
        (DenseSRNN, DenseSRNNConfig, {"res_q": True, "learn_init": True}),
        (DenseSRNN, DenseSRNNConfig, {"smoothing": False}),
        (DenseVRNN, DenseVRNNConfig, {}),
        (DenseVRNN, DenseVRNNConfig, {"res_q": True, "output_std": "predicted"}),
    ],
)
def test_training_prior_is_chained_on_posterior_samples(cls, cfg_cls, kw):
    """p(z_t | z_{t-1}, h_t) reads the posterior's sample z_{t-1} (the SRNN ELBO), for every variant."""
    model = make(cls, cfg_cls, **kw)
    x = seq()
    torch.manual_seed(1)
    post = model.infer(x)
    z_prev = torch.cat([post["z0"][:, None], post["z"][:, :-1]], dim=1)
    for t in range(x.shape[1] - 1):
        mu, std = model._prior(z_prev[:, t], post["h"][:, t])
        torch.testing.assert_close(post["mu_p"][:, t], mu, atol=1e-12, rtol=0)
        torch.testing.assert_close(post["std_p"][:, t], std, atol=1e-12, rtol=0)
    # the alternative (prior chained on its own draws) gives different parameters from t = 2 on
    z_own = model._prior(post["z0"], post["h"][:, 0])[0]
    mu_own, _ = model._prior(z_own, post["h"][:, 1])
    assert (mu_own - post["mu_p"][:, 1]).abs().max() > 1e-6


def test_smoothing_lets_the_posterior_see_the_future():
    x = seq(T=6)
    x_changed = x.clone()
    x_changed[:, -1] += 3.0  # change only the last step
    for smoothing, sees_future in ((True, True), (False, False)):
        model = make(smoothing=smoothing)
        mu = model.infer(x, temperature=0.0)["mu_q"]
        mu_changed = model.infer(x_changed, temperature=0.0)["mu_q"]
        diff = (mu[:, 0] - mu_changed[:, 0]).abs().max().item()  # posterior of the first modelled step
        assert (diff > 1e-6) == sees_future, (smoothing, diff)
        # the last step's posterior reads x_{T-1} in both cases
        assert (mu[:, -1] - mu_changed[:, -1]).abs().max() > 1e-6


def test_res_q_adds_the_prior_mean_to_the_posterior_mean():
    x = seq()
    plain, res = make(seed=3), make(seed=3, res_q=True)
    res.load_state_dict(plain.state_dict())  # same weights; only the switch differs
    post_plain = plain.infer(x, temperature=0.0)
    post_res = res.infer(x, temperature=0.0)
    # step 1 reads the same z_0 in both, so the residual is exactly the prior mean
    torch.testing.assert_close(post_res["mu_q"][:, 0], post_plain["mu_q"][:, 0] + post_res["mu_p"][:, 0])
    assert (post_res["mu_q"] - post_plain["mu_q"]).abs().max() > 1e-3
    torch.testing.assert_close(post_res["std_q"][:, 0], post_plain["std_q"][:, 0])


@pytest.mark.parametrize("cls,cfg_cls", [(DenseSRNN, DenseSRNNConfig), (DenseVRNN, DenseVRNNConfig)])
def test_learned_initial_states_receive_gradient_and_have_no_batch_dimension(cls, cfg_cls):
    model = make(cls, cfg_cls, learn_init=True)
    assert model.h0.shape == (6,) and model.c0.shape == (6,) and model.z0.shape == (3,)
    model.loss(seq(B=3))["loss"].backward()
    for name in ("h0", "c0", "z0"):
        grad = getattr(model, name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    # without the switch the states are zeros, not parameters
    plain = make(cls, cfg_cls)
    assert not any(n in dict(plain.named_parameters()) for n in ("h0", "c0", "z0"))
    post = plain.infer(seq(B=4))
    assert post["z0"].shape == (4, 3) and post["z0"].abs().sum() == 0


@pytest.mark.parametrize("cls,cfg_cls", [(DenseSRNN, DenseSRNNConfig), (DenseVRNN, DenseVRNNConfig)])
def test_shapes_and_loss_units(cls, cfg_cls):
    model = make(cls, cfg_cls)
    x = seq(B=3, T=7)
    post = model.infer(x)
    for key, dim in (("h", 6), ("z", 3), ("mu_q", 3), ("std_q", 3), ("mu_p", 3), ("std_p", 3)):
        assert post[key].shape == (3, 6, dim), key
    terms = model.elbo_terms(x)
    assert terms["nll"].shape == (3, 6) and terms["kl"].shape == (3, 6)
    assert (terms["kl"] >= 0).all()
    torch.manual_seed(5)
    out = model.loss(x, beta=0.5)
    torch.manual_seed(5)
    terms = model.elbo_terms(x)
    nll, kl = terms["nll"].sum(1), terms["kl"].sum(1)
    dims = 6 * 5
    torch.testing.assert_close(out["nll"], nll.mean())
    torch.testing.assert_close(out["kl"], kl.mean())
    torch.testing.assert_close(out["elbo"], -(nll + kl).mean())
    torch.testing.assert_close(out["loss"], (nll + 0.5 * kl).mean() / dims)
    assert "bpp" not in out  # continuous data: nats, no bits per pixel
    pred = model.predict(x[:, :3], n_future=4, n_samples=2)
    assert pred.shape == (3, 2, 4, 5) and pred.dtype == torch.float64
    assert model.predict(x[:, :1], n_future=2).shape == (3, 1, 2, 5)


def test_emission_nll_is_the_gaussian_density_with_the_learned_std():
    model = make()
    with torch.no_grad():
        model.output_log_std.fill_(math.log(0.3))
    x = seq()
    torch.manual_seed(2)
    terms = model.elbo_terms(x)
    torch.manual_seed(2)
    post = model.infer(x)
    mean, std = model.emission(post["h"], post["z"])
    torch.testing.assert_close(std, torch.full_like(mean, 0.3))
    ref = -torch.distributions.Normal(mean, 0.3).log_prob(x[:, 1:]).sum(-1)
    torch.testing.assert_close(terms["nll"], ref)


def test_predicted_output_std_comes_from_the_decoder():
    model = make(output_std="predicted", init_output_std=0.4)
    assert not hasattr(model, "output_log_std")
    h, z = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    mean, std = model.emission(h, z)
    assert mean.shape == std.shape == (4, 5) and (std > 0).all()
    assert std.std() > 1e-4  # it depends on the input
    last = model.decoder[-1]
    with torch.no_grad():  # zero weight-norm scale and bias: the raw output is 0
        last.parametrizations.weight.original0.zero_()
        last.bias.zero_()
    torch.testing.assert_close(model.emission(h, z)[1], torch.full((4, 5), 0.4, dtype=torch.float64))
    model.loss(seq())["loss"].backward()
    assert last.bias.grad[5:].abs().sum() > 0  # the std half of the output receives gradient


def test_kl_matches_closed_form_and_monte_carlo():
    model = make()
    post = model.infer(seq(B=1, T=3), temperature=0.0)
    mu_q, std_q, mu_p, std_p = (post[k][0, 1] for k in ("mu_q", "std_q", "mu_p", "std_p"))
    closed = kl_diag_gaussians(mu_q, std_q, mu_p, std_p).sum()
    q, p = torch.distributions.Normal(mu_q, std_q), torch.distributions.Normal(mu_p, std_p)
    torch.testing.assert_close(closed, torch.distributions.kl_divergence(q, p).sum())
    g = torch.Generator().manual_seed(0)
    z = mu_q + std_q * torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    assert abs(mc.mean().item() - closed.item()) < 4 * mc.std().item() / math.sqrt(len(mc)) + 1e-9


def test_predict_with_zero_temperatures_is_deterministic_and_follows_the_prior_mean():
    model = make(cls=DenseVRNN, cfg_cls=DenseVRNNConfig)
    x = seq(T=4)
    pred = model.predict(x[:, :1], 2, n_samples=2, emission_temperature=0.0, prior_temperature=0.0)
    torch.testing.assert_close(pred[:, 0], pred[:, 1], atol=1e-12, rtol=0)
    # by hand: one LSTM step from the initial state, the prior mean, the emission mean
    state, z0 = model._initial(2, x)
    h, _ = model.rnn(torch.cat([model.phi_x(x[:, 0]), z0], -1), state)
    z1 = model._prior(z0, h)[0]
    torch.testing.assert_close(pred[:, 0, 0], model.emission(h, z1)[0])


def test_registered_and_round_trips_through_a_checkpoint(tmp_path):
    assert MODELS["dense-srnn"][1] is DenseSRNN and MODELS["dense-vrnn"][1] is DenseVRNN
    model = make(cls=DenseVRNN, cfg_cls=DenseVRNNConfig, learn_init=True, res_q=True).float()
    payload = {"model_name": "dense-vrnn", "model_config": asdict(model.config), "model": model.state_dict()}
    path = save_checkpoint(tmp_path / "m.pt", payload)
    back = load_model(path)
    x = seq().float()
    torch.manual_seed(0)
    want = model.eval().infer(x, temperature=0.0)["mu_q"]
    torch.manual_seed(0)
    torch.testing.assert_close(back.infer(x, temperature=0.0)["mu_q"], want)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="smoothing"):
        DenseSRNNConfig(z_to_h=True, smoothing=True)
    with pytest.raises(ValueError, match="DenseVRNN has z_to_h=True"):
        DenseVRNN(DenseSRNNConfig(**TINY))
    with pytest.raises(ValueError, match="output_std must be one of"):
        DenseSRNNConfig(output_std="fixed")
    with pytest.raises(ValueError, match="z_dim must be a positive integer"):
        DenseSRNNConfig(z_dim=0)
    model = make()
    with pytest.raises(TypeError, match="floating-point"):
        model.loss(torch.zeros(2, 4, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[B, T>=2, 5\]"):
        model.loss(seq(D=4))
    with pytest.raises(ValueError, match=r"\[B, T>=2, 5\]"):
        model.loss(seq(T=1))
    with pytest.raises(ValueError, match="n_future"):
        model.predict(seq(), n_future=0)

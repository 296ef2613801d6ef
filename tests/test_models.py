"""Recurrent models: the ELBO's structure, batched emission, shapes, errors."""

from __future__ import annotations

import pytest
import torch

from rfn import pixels
from rfn.models import RFN, SRNN, VRNN, ConvLSTMAutoencoder, DeterministicConfig, RFNConfig, SRNNConfig, VRNNConfig
from rfn.nets import kl_diag_gaussians

TINY = dict(h_channels=8, a_channels=8, head_hidden=8, extractor_channels=4)


def rfn_config(**kw) -> RFNConfig:
    base = dict(image_size=(16, 16), levels=2, flow_steps=1, flow_hidden=8, base_hidden=8, **TINY)
    base.update(kw)
    return RFNConfig(**base)


def srnn_config(cls=SRNNConfig, **kw):
    base = dict(image_size=(16, 16), levels=2, z_channels=3, n_mix=2, **TINY)
    base.update(kw)
    return cls(**base)


def video(B=2, T=4, C=1, H=16, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, T, C, H, H), dtype=torch.uint8, generator=g)


def warm(model, x):
    """Initialise ActNorm / BatchNorm statistics with one training-mode pass, then eval."""
    with torch.no_grad():
        model.loss(x)
    return model.eval()


def wake_flow(model):
    """Give the flow's zero-initialised output convolutions small weights, so the condition (h_t, z_t) matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("flow.") and ".out." in name:
                p.normal_(0.0, 0.05)
    return model


@pytest.fixture
def no_dequant(monkeypatch):
    """Make dequantisation deterministic (no noise) so two code paths see equal inputs."""
    orig = pixels.preprocess
    monkeypatch.setattr(pixels, "preprocess", lambda x, n_bits=8, dequant=True, **kw: orig(x, n_bits, False, **kw))


@pytest.mark.parametrize("skip", ["none", "cond", "flow", "both"])
def test_time_batched_emission_equals_frame_by_frame(skip, no_dequant):
    torch.manual_seed(0)
    model = RFN(rfn_config(skip=skip)).double()
    x = video(T=5)
    warm(model, x)
    torch.manual_seed(1)
    post = model.infer(x)
    target, h, z, skips = model.emission_inputs(post, x)
    batched = model.emission_log_prob(target, h, z, skips).unflatten(0, (2, 4))
    for t in range(4):
        one = model.emission_log_prob(x[:, t + 1], post["h"][:, t], post["z"][:, t], [f[:, t] for f in post["feats"]])
        torch.testing.assert_close(batched[:, t], one, atol=1e-9, rtol=0)


def test_time_batched_emission_equals_frame_by_frame_srnn():
    torch.manual_seed(0)
    model = SRNN(srnn_config()).double()
    x = video(T=4)
    warm(model, x)
    post = model.infer(x)
    target, h, z, skips = model.emission_inputs(post, x)
    batched = model.emission_log_prob(target, h, z, skips).unflatten(0, (2, 3))
    for t in range(3):
        one = model.emission_log_prob(x[:, t + 1], post["h"][:, t], post["z"][:, t], None)
        torch.testing.assert_close(batched[:, t], one, atol=1e-9, rtol=0)


@pytest.mark.parametrize("norm", ["batch", "group"])
def test_batched_emission_in_training_mode_pools_batchnorm_statistics(norm, no_dequant):
    """Train mode: with BatchNorm the batched emission normalises over B*(T-1) frames, so it is not
    the frame-by-frame objective; with GroupNorm (per-sample statistics) it is."""
    torch.manual_seed(0)
    model = RFN(rfn_config(norm=norm)).double()
    x = video(T=5)
    wake_flow(warm(model, x).train())
    nll = []
    for batched in (True, False):
        model.time_batched_emission = batched
        torch.manual_seed(1)
        nll.append(model.elbo_terms(x)["nll"].detach())
    if norm == "batch":
        assert (nll[0] - nll[1]).abs().max() > 1e-6
    else:
        torch.testing.assert_close(nll[0], nll[1], atol=1e-9, rtol=0)


def test_reference_path_gives_the_same_loss_in_eval_mode(no_dequant):
    torch.manual_seed(0)
    model = RFN(rfn_config()).double()
    x = video(T=4)
    warm(model, x)
    losses = []
    for reference in (True, False):
        model.use_reference_path(reference)
        torch.manual_seed(3)
        losses.append(model.loss(x)["loss"])
    torch.testing.assert_close(losses[0], losses[1], atol=1e-10, rtol=0)


@pytest.mark.parametrize("make", [lambda: RFN(rfn_config()), lambda: SRNN(srnn_config(res_q=True))])
def test_training_prior_is_chained_on_posterior_samples(make):
    """p(z_t | z_{t-1}, h_t) must read the posterior's z_{t-1} (the SRNN ELBO).

    The thesis code chained the prior on its own samples; that alternative gives
    different prior parameters, which the last assertion checks, so this test
    would fail on that chaining.
    """
    torch.manual_seed(0)
    model = make().double()
    x = video(T=5)
    warm(model, x)
    post = model.infer(x)
    z_prev = post["z0"]
    own = post["z0"]
    differs = False
    for t in range(4):
        mu_p, std_p = model._prior(z_prev, post["h"][:, t])
        torch.testing.assert_close(post["mu_p"][:, t], mu_p, atol=1e-10, rtol=0)
        torch.testing.assert_close(post["std_p"][:, t], std_p, atol=1e-10, rtol=0)
        mu_own, std_own = model._prior(own, post["h"][:, t])
        differs |= not torch.allclose(mu_own, post["mu_p"][:, t])
        own = mu_own + std_own * torch.randn_like(std_own)
        z_prev = post["z"][:, t]
    assert differs


def test_kl_term_is_the_closed_form_of_the_returned_distributions():
    torch.manual_seed(0)
    model = RFN(rfn_config()).double()
    x = video()
    warm(model, x)
    torch.manual_seed(3)
    terms = model.elbo_terms(x)
    post = terms["post"]
    ref = kl_diag_gaussians(post["mu_q"], post["std_q"], post["mu_p"], post["std_p"]).flatten(2).sum(2)
    torch.testing.assert_close(terms["kl"], ref)
    q = torch.distributions.Normal(post["mu_q"], post["std_q"])
    p = torch.distributions.Normal(post["mu_p"], post["std_p"])
    mc = torch.stack([(q.log_prob(s) - p.log_prob(s)).flatten(2).sum(2) for s in q.sample((4000,))]).mean(0)
    torch.testing.assert_close(mc, ref, atol=0.25, rtol=0.05)


def test_loss_is_the_negative_elbo_in_bits():
    torch.manual_seed(0)
    model = SRNN(srnn_config())
    x = video(T=4)
    torch.manual_seed(5)
    out = model.loss(x, beta=1.0)
    torch.manual_seed(5)
    terms = model.elbo_terms(x)
    dims = 1 * 16 * 16 * 3
    neg_elbo = (terms["nll"].sum(1) + terms["kl"].sum(1)).mean()
    torch.testing.assert_close(out["loss"], neg_elbo / dims)
    torch.testing.assert_close(out["bpp"], pixels.bits_per_pixel(neg_elbo.detach(), dims))
    torch.testing.assert_close(out["bpp"], out["nll_bpp"] + out["kl_bpp"])


def test_beta_and_free_bits_change_the_objective_not_the_bound():
    torch.manual_seed(0)
    model = RFN(rfn_config())
    x = video()
    warm(model, x).train()
    model.eval()
    outs = {}
    for name, beta, free in [("base", 1.0, 0.0), ("beta0", 0.0, 0.0), ("free", 1.0, 1e4)]:
        model.config.free_nats = free
        torch.manual_seed(7)
        outs[name] = model.loss(x, beta=beta)
    torch.testing.assert_close(outs["base"]["bpp"], outs["free"]["bpp"])
    assert outs["beta0"]["loss"] < outs["base"]["loss"] < outs["free"]["loss"]


def test_vrnn_state_depends_on_z_and_srnn_state_does_not():
    x = video(T=4)
    for cls, cfg, depends in [(VRNN, srnn_config(VRNNConfig), True), (SRNN, srnn_config(), False)]:
        torch.manual_seed(0)
        model = cls(cfg)
        warm(model, x)
        torch.manual_seed(1)
        h1 = model.infer(x)["h"]
        torch.manual_seed(2)
        h2 = model.infer(x)["h"]
        torch.testing.assert_close(h1[:, 0], h2[:, 0])
        assert (not torch.allclose(h1[:, 1:], h2[:, 1:])) == depends


@pytest.mark.parametrize("smoothing", [True, False])
def test_smoothing_lets_the_posterior_see_the_future(smoothing):
    torch.manual_seed(0)
    model = RFN(rfn_config(smoothing=smoothing))
    x = video(T=5)
    warm(model, x)
    y = x.clone()
    y[:, -1] = 255 - y[:, -1]
    a, b = model.infer(x)["mu_q"][:, 0], model.infer(y)["mu_q"][:, 0]
    assert (not torch.allclose(a, b)) == smoothing


def test_latent_overshooting_adds_a_term():
    torch.manual_seed(0)
    model = RFN(rfn_config(overshooting=3, overshoot_weights=(1.0, 0.5)))
    out = model.loss(video(T=5))
    assert out["kl_overshoot_bpp"] > 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert model.prior_net.out.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size,levels", [(32, 1), (32, 2), (32, 3), (64, 4)])
def test_shapes_rfn(channels, size, levels):
    torch.manual_seed(0)
    model = RFN(rfn_config(channels=channels, image_size=(size, size), levels=levels))
    x = video(B=2, T=3, C=channels, H=size)
    out = model.loss(x)
    assert torch.isfinite(out["loss"]) and out["bpp"] > 0
    out["loss"].backward()
    model.eval()
    pred = model.predict(x[:, :2], n_future=2, n_samples=2)
    assert pred.shape == (2, 2, 2, channels, size, size) and pred.dtype == torch.uint8
    traj = model.trajectory(x)
    assert traj["base_mu"].shape[:2] == (2, 2)


@pytest.mark.parametrize("likelihood", ["dmol", "gaussian"])
@pytest.mark.parametrize("cls", [SRNNConfig, VRNNConfig])
@pytest.mark.parametrize("channels,size,levels", [(1, 32, 2), (3, 32, 3), (3, 64, 4), (1, 64, 1)])
def test_shapes_baselines(cls, likelihood, channels, size, levels):
    torch.manual_seed(0)
    model_cls = VRNN if cls is VRNNConfig else SRNN
    cfg = srnn_config(cls, channels=channels, image_size=(size, size), levels=levels, likelihood=likelihood)
    model = model_cls(cfg)
    x = video(B=2, T=3, C=channels, H=size)
    out = model.loss(x)
    assert torch.isfinite(out["loss"])
    model.eval()
    assert model.predict(x[:, :1], n_future=2).shape == (2, 1, 2, channels, size, size)


MODELS = {
    "rfn": lambda: RFN(rfn_config()),
    "srnn": lambda: SRNN(srnn_config()),
    "vrnn": lambda: VRNN(srnn_config(VRNNConfig)),
}


@pytest.mark.parametrize("kind", ["rfn", "srnn-gaussian", "vrnn-gaussian"])
@pytest.mark.parametrize("context", [1, 3])
def test_zero_temperature_prediction_is_deterministic(kind, context):
    """Both temperatures 0: no draw anywhere, the warm-up included (posterior means). (The DMOL
    output still draws its mixture component at temperature 0, so the baselines use Gaussians here.)"""
    torch.manual_seed(0)
    if kind == "rfn":
        model = RFN(rfn_config())
    else:
        cls, model_cls = (SRNNConfig, SRNN) if kind.startswith("srnn") else (VRNNConfig, VRNN)
        model = model_cls(srnn_config(cls, likelihood="gaussian"))
    x = video(T=4)
    wake_flow(warm(model, x))
    torch.manual_seed(1)
    a = model.predict(x[:, :context], 3, n_samples=2, prior_temperature=0.0, emission_temperature=0.0)
    torch.manual_seed(2)
    b = model.predict(x[:, :context], 3, n_samples=2, emission_temperature=0.0, prior_temperature=0.0)
    assert torch.equal(a, b) and torch.equal(a[:, 0], a[:, 1])
    c = model.predict(x[:, :context], 3, n_samples=4)
    assert not all(torch.equal(c[:, 0], c[:, i]) for i in range(1, 4))
    if context > 1:  # the warm-up at its default temperature 1 draws from the posterior
        torch.manual_seed(1)
        d = model.predict(
            x[:, :context], 3, n_samples=2, context_temperature=1.0, prior_temperature=0.0, emission_temperature=0.0
        )
        assert not torch.equal(a, d)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("context", [1, 3])
def test_fast_sampling_draws_the_same_frames_as_the_reference_path(kind, context):
    """Shared warm-up, cached flow inverse, folded norms: same draws in the same order, same frames (float64)."""
    torch.manual_seed(0)
    model = MODELS[kind]().double()
    x = video(T=4)
    wake_flow(warm(model, x))
    out = []
    for reference in (True, False):
        model.use_reference_path(reference)
        torch.manual_seed(5)
        out.append(model.predict(x[:, :context], 3, n_samples=3, prior_temperature=0.8))
    assert torch.equal(out[0], out[1])
    assert model.fast_sampling and model.time_batched_emission


def test_one_emission_temperature_keyword():
    torch.manual_seed(0)
    x = video(T=3)
    rfn, srnn = warm(MODELS["rfn"](), x), warm(MODELS["srnn"](), x)
    for model in (rfn, srnn):
        torch.manual_seed(1)
        cold = model.predict(x[:, :2], 1, emission_temperature=0.0, prior_temperature=0.0)
        torch.manual_seed(1)
        assert torch.equal(cold, model.predict(x[:, :2], 1, emission_temperature=0.0, prior_temperature=0.0))
        assert rfn.reconstruct_and_predict(x, emission_temperature=0.5)["prediction"].shape == (2, 2, 1, 16, 16)
    for former in ("flow_temperature", "output_temperature"):  # the former per-model names are gone
        with pytest.raises(TypeError, match=former):
            srnn.predict(x[:, :2], 1, **{former: 0.5})


def test_reconstruct_and_predict_and_emit():
    torch.manual_seed(0)
    model = RFN(rfn_config())
    x = video(T=4)
    warm(model, x)
    out = model.reconstruct_and_predict(x)
    assert out["reconstruction"].shape == out["prediction"].shape == x[:, 1:].shape
    assert out["kl"].shape == out["nll"].shape == (2, 3)
    post = model.infer(x)
    frames = model.emit(post["h"][:, 0], post["z"][:, 0], x[:, 0])
    assert frames.shape == x[:, 1].shape and frames.dtype == torch.uint8


def test_deterministic_autoencoder():
    torch.manual_seed(0)
    model = ConvLSTMAutoencoder(DeterministicConfig(image_size=(16, 16), levels=2, h_channels=8, extractor_channels=4))
    x = video(T=4)
    out = model.loss(x)
    out["loss"].backward()
    model.eval()
    pred = model.predict(x[:, :2], 3, n_samples=2)
    assert pred.shape == (2, 2, 3, 1, 16, 16) and torch.equal(pred[:, 0], pred[:, 1])


@pytest.mark.parametrize(
    "bad,exc,msg",
    [
        (lambda x: x.float(), TypeError, "dtype torch.uint8"),
        (lambda x: x[:, :1], ValueError, r"T>=2"),
        (lambda x: x[:, :, :, :8], ValueError, r"uint8 \[B, T>=2, 1, 16, 16\]"),
        (lambda x: x.repeat(1, 1, 3, 1, 1), ValueError, "channels, height, width"),
        (lambda x: x[0], ValueError, "batch, time"),
    ],
)
def test_input_errors(bad, exc, msg):
    model = RFN(rfn_config())
    with pytest.raises(exc, match=msg):
        model.loss(bad(video()))


def test_config_errors():
    with pytest.raises(ValueError, match="divisible by 2\\*\\*levels"):
        rfn_config(image_size=(20, 20), levels=3)
    with pytest.raises(ValueError, match="unknown skip"):
        rfn_config(skip="everywhere")
    with pytest.raises(ValueError, match="D - 1 = 1 entries"):
        rfn_config(overshooting=2, overshoot_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match="z_to_h"):
        srnn_config(z_to_h=True, smoothing=True)
    with pytest.raises(ValueError, match="unknown likelihood"):
        srnn_config(likelihood="bernoulli")
    with pytest.raises(ValueError, match="a VRNN has z_to_h=True"):
        VRNN(srnn_config(VRNNConfig, z_to_h=False))


@pytest.mark.parametrize("cls", [SRNNConfig, VRNNConfig])
def test_baseline_decoder_skips_see_the_previous_frame(cls):
    """skip="decoder": the decoder's output for frame t changes with x_{t-1} at fixed (h_t, z_t); "none" ignores it."""
    torch.manual_seed(0)
    x = video(T=4)
    for skip in ("none", "decoder"):
        model = SRNN(srnn_config(cls, skip=skip)) if cls is SRNNConfig else VRNN(srnn_config(cls, skip=skip))
        warm(model, x)
        post = model.infer(x)
        _, h, z, skips = model.emission_inputs(post, x)
        other = model.emission_inputs(model.infer(video(T=4, seed=1)), video(T=4, seed=1))[3]
        same = torch.equal(model.decode_params(h, z, skips), model.decode_params(h, z, other))
        assert same == (skip == "none")


def test_baseline_decoder_skips_batched_equals_frame_by_frame_and_samples():
    torch.manual_seed(0)
    model = SRNN(srnn_config(skip="decoder", decoder_channels=6)).double()
    x = video(T=4)
    warm(model, x)
    post = model.infer(x)
    target, h, z, skips = model.emission_inputs(post, x)
    batched = model.emission_log_prob(target, h, z, skips).unflatten(0, (2, 3))
    for t in range(3):
        one = model.emission_log_prob(x[:, t + 1], post["h"][:, t], post["z"][:, t], [f[:, t] for f in post["feats"]])
        torch.testing.assert_close(batched[:, t], one, atol=1e-9, rtol=0)
    assert [b[0][0].out_channels for b in model.decoder.blocks] == [6, 12]
    assert model.predict(x[:, :2], 2, n_samples=2).shape == (2, 2, 2, 1, 16, 16)
    with pytest.raises(ValueError, match="skip='decoder'"):
        model.decode_params(h, z)


def test_baseline_decoder_skip_config_errors():
    with pytest.raises(ValueError, match="unknown skip"):
        srnn_config(skip="cond")
    with pytest.raises(ValueError, match="decoder_channels"):
        srnn_config(decoder_channels=0)

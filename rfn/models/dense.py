"""SRNN and VRNN for vector sequences, the toy models of thesis appendix A.3.

The image models (:mod:`rfn.models.srnn`) work on frames; these work on
float sequences ``x`` shaped ``[B, T, D]``, such as the noisy sinusoid
patches of :class:`rfn.data.Sinusoid`. Every network is a small multilayer
perceptron (three weight-normalised linear layers with leaky ReLUs, as in the
appendix), and the recurrence is an LSTM cell:

* ``h_t = LSTM(phi(x_{t-1}), (h_{t-1}, c_{t-1}))``; the VRNN (Chung et al., 2015)
  also feeds ``z_{t-1}`` into the cell;
* prior ``p(z_t | z_{t-1}, h_t)`` and posterior ``q(z_t | z_{t-1}, a_t)``, both
  diagonal Gaussians, where ``a_t = [h_t, phi(x_t)]`` or, with smoothing (SRNN,
  Fraccaro et al., 2016), the output of a backward LSTM over those pairs, so
  that the posterior of step ``t`` reads ``x_t, ..., x_{T-1}``;
* RES_q (Fraccaro et al., 2016): the posterior mean is the prior mean plus a
  learned correction;
* learned initial states: ``h_0``, ``c_0`` and ``z_0`` are parameters (vectors
  without a batch dimension) instead of zeros;
* emission ``p(x_t | h_t, z_t) = N(mu(h_t, z_t), diag(sigma^2))`` with a learned
  standard deviation per data dimension (or, with ``output_std="predicted"``, one
  the decoder outputs beside the mean).

The conventions are those of :mod:`rfn.models.recurrent`: step 0 is the
conditioning step and steps ``1..T-1`` are modelled; during training the prior
is chained on the posterior's sample of ``z_{t-1}`` (the SRNN evidence lower
bound); the KL divergence is in closed form.

Units: the data are continuous, so there are no bits per pixel. :meth:`DenseSRNN.loss`
reports ``nll``, ``kl`` and ``elbo`` in nats per sequence (summed over the ``T - 1``
modelled steps and the ``D`` dimensions) and the objective ``loss`` in nats per
dimension. The models take float batches ``[B, T, D]`` (registered with batch kind
``"sequences"``), so the training engine fits them like the video models.

Example:
    >>> cfg = DenseSRNNConfig(x_dim=4, h_dim=8, z_dim=2, a_dim=8, hidden=8)
    >>> model = DenseSRNN(cfg)
    >>> x = torch.randn(3, 5, 4)
    >>> out = model.loss(x)
    >>> sorted(out)
    ['elbo', 'kl', 'loss', 'nll']
    >>> model.predict(x[:, :2], n_future=3, n_samples=2).shape
    torch.Size([3, 2, 3, 4])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from rfn.models.chain import posterior_chain
from rfn.models.registry import register
from rfn.models.validation import check_arguments
from rfn.nets import gaussian_log_density, kl_diag_gaussians, sample_diag_gaussian

OUTPUT_STDS = ("learned", "predicted")

__all__ = ["OUTPUT_STDS", "DenseSRNN", "DenseSRNNConfig", "DenseVRNN", "DenseVRNNConfig", "check_sequence"]


@dataclass
class DenseSRNNConfig:
    """Sizes and switches of the vector-sequence SRNN (thesis appendix A.3).

    Attributes:
        x_dim: dimension ``D`` of one step of the data (100 points per sinusoid patch).
        h_dim: size of the LSTM state ``h_t`` (100 in the appendix).
        z_dim: size of the latent ``z_t`` (15 in the appendix).
        a_dim: size of the backward LSTM's state ``a_t`` (smoothing only).
        hidden: width of every multilayer perceptron.
        layers: linear layers per perceptron (3 in the appendix).
        weight_norm: weight-normalise the linear layers (Salimans & Kingma, 2016).
        smoothing: the posterior reads a backward LSTM summary of the future.
        res_q: the posterior mean is the prior mean plus a learned residual.
        learn_init: learned ``h_0``, ``c_0`` and ``z_0`` instead of zeros.
        z_to_h: feed ``z_{t-1}`` into the LSTM (VRNN).
        output_std: ``"learned"``: the output Gaussian's standard deviation is a parameter
            (one per data dimension, shared by all steps); ``"predicted"``: the decoder
            outputs it beside the mean, so it may change with ``(h_t, z_t)``.
        min_std: lower bound on every standard deviation (keeps the KL finite).
        init_output_std: initial standard deviation of the output Gaussian (``"predicted"``:
            its value where the decoder's raw output is zero).
    """

    x_dim: int = 100
    h_dim: int = 100
    z_dim: int = 15
    a_dim: int = 100
    hidden: int = 100
    layers: int = 3
    weight_norm: bool = True
    smoothing: bool = True
    res_q: bool = False
    learn_init: bool = False
    z_to_h: bool = False
    output_std: str = "learned"
    min_std: float = 1e-4
    init_output_std: float = 1.0

    def __post_init__(self):
        for name in ("x_dim", "h_dim", "z_dim", "a_dim", "hidden", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.z_to_h and self.smoothing:
            raise ValueError(
                "smoothing needs every h_t before the latent loop, so it cannot be used with z_to_h (VRNN); "
                "set smoothing=False or z_to_h=False"
            )
        if self.output_std not in OUTPUT_STDS:
            raise ValueError(f"output_std must be one of {OUTPUT_STDS}, got {self.output_std!r}")
        if self.min_std < 0 or not self.init_output_std > self.min_std:
            raise ValueError(
                f"need min_std >= 0 and init_output_std > min_std, got {self.min_std!r} and {self.init_output_std!r}"
            )


@dataclass
class DenseVRNNConfig(DenseSRNNConfig):
    """VRNN: ``z_{t-1}`` enters the LSTM; no smoothing."""

    smoothing: bool = False
    z_to_h: bool = True


def check_sequence(x: torch.Tensor, x_dim: int, min_steps: int = 2, name: str = "x") -> None:
    """Raise a clear error unless ``x`` is a floating tensor ``[B, T >= min_steps, x_dim]``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        what = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point tensor [B, T, {x_dim}], got {what}")
    if x.dim() != 3 or x.shape[1] < min_steps or x.shape[2] != x_dim:
        raise ValueError(
            f"{name} must be shaped [B, T>={min_steps}, {x_dim}] (batch, time, dimension), got {list(x.shape)}"
        )


def _mlp(n_in: int, n_out: int, hidden: int, layers: int, weight_norm: bool) -> nn.Sequential:
    """``layers`` linear maps with leaky ReLUs between them (none after the last)."""
    sizes = [n_in] + [hidden] * (layers - 1) + [n_out]
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b)
        mods.append(_weight_norm(lin) if weight_norm else lin)
        if i < layers - 1:
            mods.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*mods)


class _GaussianMLP(nn.Module):
    """Perceptron giving ``(mu, std)`` of a diagonal Gaussian; ``std = softplus(raw) + min_std``."""

    def __init__(self, n_in: int, n_out: int, cfg: DenseSRNNConfig):
        super().__init__()
        self.net = _mlp(n_in, 2 * n_out, cfg.hidden, cfg.layers, cfg.weight_norm)
        self.min_std = cfg.min_std

    def forward(self, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, raw = self.net(inp).chunk(2, dim=-1)
        return mu, F.softplus(raw) + self.min_std


@register("dense-srnn", DenseSRNNConfig, batch="sequences")
class DenseSRNN(nn.Module):
    """SRNN on float vector sequences ``[B, T, D]`` (thesis appendix A.3; Fraccaro et al., 2016).

    See the module docstring for the generative and inference model. Public methods:
    :meth:`infer` (posterior pass), :meth:`elbo_terms` (per-step NLL and KL in nats),
    :meth:`loss` (training objective and per-sequence numbers) and :meth:`predict`
    (sampled futures after a context).
    """

    config: DenseSRNNConfig

    def __init__(self, config: DenseSRNNConfig):
        super().__init__()
        self.config = cfg = config
        wn = cfg.weight_norm
        self.phi_x = nn.Sequential(_mlp(cfg.x_dim, cfg.hidden, cfg.hidden, cfg.layers - 1, wn), nn.LeakyReLU(0.2))
        self.rnn = nn.LSTMCell(cfg.hidden + (cfg.z_dim if cfg.z_to_h else 0), cfg.h_dim)
        a_in = cfg.h_dim + cfg.hidden
        if cfg.smoothing:
            self.smoother = nn.LSTM(a_in, cfg.a_dim, batch_first=True)
            a_in = cfg.a_dim
        self.prior_net = _GaussianMLP(cfg.z_dim + cfg.h_dim, cfg.z_dim, cfg)
        self.posterior_net = _GaussianMLP(cfg.z_dim + a_in, cfg.z_dim, cfg)
        predicted = cfg.output_std == "predicted"
        self.decoder = _mlp(cfg.h_dim + cfg.z_dim, cfg.x_dim * (2 if predicted else 1), cfg.hidden, cfg.layers, wn)
        if predicted:
            # softplus(raw + offset) + min_std = init_output_std where the raw output is 0
            self._std_offset = math.log(math.expm1(cfg.init_output_std - cfg.min_std))
        else:
            self.output_log_std = nn.Parameter(torch.full((cfg.x_dim,), math.log(cfg.init_output_std)))
        if cfg.learn_init:
            self.h0 = nn.Parameter(torch.zeros(cfg.h_dim))
            self.c0 = nn.Parameter(torch.zeros(cfg.h_dim))
            self.z0 = nn.Parameter(torch.zeros(cfg.z_dim))

    # ------------------------------------------------------------------ pieces

    def _initial(self, batch: int, ref: torch.Tensor):
        """``((h_0, c_0), z_0)`` for a batch: the learned vectors expanded, or zeros."""
        cfg = self.config
        if cfg.learn_init:
            return (self.h0.expand(batch, -1), self.c0.expand(batch, -1)), self.z0.expand(batch, -1)
        h0 = ref.new_zeros(batch, cfg.h_dim)
        return (h0, torch.zeros_like(h0)), ref.new_zeros(batch, cfg.z_dim)

    def _prior(self, z_prev: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``p(z_t | z_{t-1}, h_t)``: ``(mu, std)``, each ``[..., z_dim]``."""
        return self.prior_net(torch.cat([z_prev, h], dim=-1))

    def _posterior(self, z_prev, a, mu_p=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z_t | z_{t-1}, a_t)``; with RES_q the network's mean is a correction to ``mu_p``."""
        mu, std = self.posterior_net(torch.cat([z_prev, a], dim=-1))
        if self.config.res_q:
            if mu_p is None:
                raise RuntimeError("RES_q needs the prior mean")
            mu = mu + mu_p
        return mu, std

    def _rnn_input(self, feat: torch.Tensor, z_prev: torch.Tensor) -> torch.Tensor:
        return torch.cat([feat, z_prev], dim=-1) if self.config.z_to_h else feat

    def emission(self, h: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``p(x_t | h_t, z_t)``: mean and standard deviation, each ``[..., D]``.

        Args:
            h: ``[..., h_dim]``; z: ``[..., z_dim]`` (same leading shape).
        """
        out = self.decoder(torch.cat([h, z], dim=-1))
        if self.config.output_std == "predicted":
            mean, raw = out.chunk(2, dim=-1)
            return mean, F.softplus(raw + self._std_offset) + self.config.min_std
        return out, self.output_log_std.exp().to(out.dtype).expand_as(out)

    # -------------------------------------------------------------- inference
    def infer(self, x: torch.Tensor, temperature: float = 1.0) -> dict[str, torch.Tensor]:
        """Run the posterior over a sequence (teacher forcing).

        Args:
            x: float ``[B, T, D]``, ``T >= 2``.
            temperature: factor on the posterior's standard deviation when sampling ``z``.

        Returns:
            dict of per-step tensors for steps ``1..T-1``: ``h`` ``[B, T-1, h_dim]``, ``z``
            (posterior samples), ``mu_q``, ``std_q``, ``mu_p``, ``std_p`` (prior chained on
            the posterior samples), each ``[B, T-1, z_dim]``; ``z0`` ``[B, z_dim]``; ``state``
            (LSTM state after reading step ``T-2``) and ``z_last`` (the last posterior sample).
        """
        cfg = self.config
        check_sequence(x, cfg.x_dim)
        B, T = x.shape[:2]
        feats = self.phi_x(x)  # [B, T, hidden]
        state, z0 = self._initial(B, feats)
        carry = {"state": state}

        if not cfg.z_to_h:
            hs = []
            for t in range(T - 1):
                state = self.rnn(feats[:, t], state)
                hs.append(state[0])
            carry["state"] = state
            h_all = torch.stack(hs, 1)
            a_all = torch.cat([h_all, feats[:, 1:]], dim=-1)
            if cfg.smoothing:
                # a_t summarises steps t..T-1: run the LSTM over the reversed sequence
                a_all = self.smoother(a_all.flip(1))[0].flip(1)

        def step(t: int, z_prev: torch.Tensor):
            if not cfg.z_to_h:
                return h_all[:, t], a_all[:, t]
            carry["state"] = self.rnn(self._rnn_input(feats[:, t], z_prev), carry["state"])
            h = carry["state"][0]
            return h, torch.cat([h, feats[:, t + 1]], dim=-1)

        out = posterior_chain(
            T - 1, z0, step, self._prior, self._posterior, self._prior, cfg.res_q or cfg.z_to_h, temperature
        )
        out["state"] = carry["state"]
        return out

    def elbo_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-step terms of the negative ELBO in nats, steps ``1..T-1``.

        Returns:
            ``nll`` ``[B, T-1]`` (``-log N(x_t; mu(h_t, z_t), sigma^2)`` summed over ``D``),
            ``kl`` ``[B, T-1]`` (closed-form ``KL(q || p)`` summed over ``z_dim``) and
            ``post`` (the output of :meth:`infer`).
        """
        post = self.infer(x)
        mean, std = self.emission(post["h"], post["z"])
        nll = -gaussian_log_density(x[:, 1:], mean, std).sum(-1)
        kl = kl_diag_gaussians(post["mu_q"], post["std_q"], post["mu_p"], post["std_p"]).sum(-1)
        return {"nll": nll, "kl": kl, "post": post}

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Training objective and per-sequence numbers, averaged over the batch.

        Args:
            x: float ``[B, T, D]``.
            beta: weight of the KL term in ``loss`` (the reported ``elbo`` always uses 1).

        Returns:
            ``loss``: ``(NLL + beta KL) / ((T-1) D)``, nats per dimension (to minimise);
            ``nll``, ``kl``: nats per sequence; ``elbo``: ``-(nll + kl)``, nats per sequence
            (continuous data have no bits per pixel).
        """
        check_arguments(f"{type(self).__name__}.loss", locals())
        terms = self.elbo_terms(x)
        nll, kl = terms["nll"].sum(1), terms["kl"].sum(1)
        dims = terms["nll"].shape[1] * self.config.x_dim
        nll_d, kl_d = nll.detach().mean(), kl.detach().mean()
        return {
            "loss": (nll + beta * kl).mean() / dims,
            "nll": nll_d,
            "kl": kl_d,
            "elbo": -(nll_d + kl_d),
        }

    # -------------------------------------------------------------- generation
    @torch.no_grad()
    def predict(
        self,
        context: torch.Tensor,
        n_future: int,
        n_samples: int = 1,
        emission_temperature: float = 1.0,
        prior_temperature: float = 1.0,
    ) -> torch.Tensor:
        """Sample futures after a warm-up on the context.

        The context is read by the posterior (teacher forcing, as in training); each new
        step draws ``z_t`` from the prior, then ``x_t`` from the output Gaussian, and feeds
        ``x_t`` back. Samples are independent.

        Args:
            context: float ``[B, Tc, D]``, ``Tc >= 1``.
            n_future: steps to generate.
            n_samples: independent futures per context.
            emission_temperature: factor on the output Gaussian's standard deviation
                (0 feeds back the mean).
            prior_temperature: factor on the standard deviation of ``p(z_t | z_{t-1}, h_t)``.

        Returns:
            float ``[B, n_samples, n_future, D]``.
        """
        check_arguments(f"{type(self).__name__}.predict", locals())
        cfg = self.config
        check_sequence(context, cfg.x_dim, min_steps=1, name="context")
        if n_future < 1 or n_samples < 1:
            raise ValueError(f"n_future and n_samples must be >= 1, got {n_future} and {n_samples}")
        B, Tc = context.shape[:2]
        x = context.repeat_interleave(n_samples, dim=0)
        if Tc >= 2:
            post = self.infer(x)
            state, z_prev = post["state"], post["z_last"]
        else:
            state, z_prev = self._initial(x.shape[0], x)
        prev = x[:, -1]
        out = []
        for _ in range(n_future):
            state = self.rnn(self._rnn_input(self.phi_x(prev), z_prev), state)
            mu_p, std_p = self._prior(z_prev, state[0])
            z_prev = sample_diag_gaussian(mu_p, std_p, prior_temperature)
            prev = sample_diag_gaussian(*self.emission(state[0], z_prev), emission_temperature)
            out.append(prev)
        return torch.stack(out, 1).unflatten(0, (B, n_samples))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return f"{self.num_parameters() / 1e3:.1f} k parameters"


@register("dense-vrnn", DenseVRNNConfig, batch="sequences")
class DenseVRNN(DenseSRNN):
    """VRNN on vector sequences: ``z_{t-1}`` enters the LSTM, no smoothing (Chung et al., 2015)."""

    config: DenseVRNNConfig

    def __init__(self, config: DenseVRNNConfig):
        if not config.z_to_h or config.smoothing:
            raise ValueError("a DenseVRNN has z_to_h=True and smoothing=False; use DenseSRNN for other combinations")
        super().__init__(config)

"""The stochastic recurrent skeleton shared by SRNN, VRNN and the RFN.

One frame-level picture (thesis chapters 3 and 5, Fraccaro et al. 2016):

* an extractor turns every frame into a feature pyramid; its coarsest map of
  the previous frame, ``phi(x_{t-1})``, drives a ConvLSTM, giving the
  deterministic state ``h_t`` (the VRNN also feeds ``z_{t-1}`` into it);
* a Gaussian prior ``p(z_t | z_{t-1}, h_t)`` and posterior
  ``q(z_t | z_{t-1}, a_t)`` over a spatial latent ``z_t``, where ``a_t`` is
  ``[h_t, phi(x_t)]`` or, with smoothing, the output of a backward ConvLSTM
  over those, so that the posterior sees the future (SRNN);
* an emission ``p(x_t | h_t, z_t)`` that each subclass defines.

Frames are indexed ``0..T-1``; frame 0 is the conditioning frame and frames
``1..T-1`` are modelled, so per-frame tensors below have ``T-1`` entries.

During training both prior and posterior are chained on the *posterior* sample
of ``z_{t-1}``, as the SRNN evidence lower bound requires: the prior is
evaluated once, after the posterior loop, on the posterior's samples.
Because every ``(h_t, z_t)`` is known once the loop has run (teacher forcing),
the emission is evaluated on all ``B * (T-1)`` frames in one batch. In evaluation
mode this is exactly the frame-by-frame computation; in training mode a BatchNorm
in the emission normalises with the statistics of all ``B * (T-1)`` frames rather
than of the ``B`` frames of one step, a (slightly) different training objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from rfn import pixels
from rfn.models.chain import posterior_chain
from rfn.models.sampling import LatentSampling
from rfn.models.validation import check_arguments
from rfn.nets import ConvLSTM, ConvLSTMCell, Extractor, GaussianHead, kl_diag_gaussians, sample_diag_gaussian
from rfn.nets.layers import check_norm_kind, check_style

__all__ = ["BottleneckConfig", "LatentConfig", "RecurrentLatentModel", "check_video"]


@dataclass
class BottleneckConfig:
    """What every video model shares: the data's shape, the extractor and the ConvLSTM state.

    Attributes:
        channels: image channels (1 for SM-MNIST and KTH, 3 for BAIR).
        image_size: ``(H, W)``; both divisible by ``2**levels``.
        n_bits: bits per pixel of the data (8; fewer for quick experiments).
        levels: number of extractor levels (and flow levels for the RFN).
        extractor_channels: channels of the first extractor level; doubled per level.
        style: ``"vgg"`` or ``"dcgan"`` extractor and decoder.
        norm: normalisation in the networks (``"batch"``, ``"group"`` or ``"none"``).
        h_channels: channels of the ConvLSTM state ``h_t``.
    """

    channels: int = 1
    image_size: tuple[int, int] = (64, 64)
    n_bits: int = 8
    levels: int = 4
    extractor_channels: int = 8
    style: str = "vgg"
    norm: str = "batch"
    h_channels: int = 256

    def __post_init__(self):
        self.image_size = tuple(int(s) for s in self.image_size)
        check_style(self.style)
        check_norm_kind(self.norm)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return (self.channels, *self.image_size)


@dataclass
class LatentConfig(BottleneckConfig):
    """What SRNN, VRNN and RFN share: the bottleneck (:class:`BottleneckConfig`'s fields first) and the latents.

    Attributes:
        z_channels: channels of the latent ``z_t``.
        a_channels: channels of the smoothing state ``a_t``.
        head_hidden: hidden channels of the prior and posterior networks.
        smoothing: posterior reads a backward recurrent summary of the future (SRNN).
        res_q: posterior mean is the prior mean plus a learned residual (Fraccaro et al.;
            book/vrnn_srnn.md, equation (eq-resq)).
        overshooting: latent overshooting distance ``O`` (1 = none; Hafner et al., 2019;
            book/vrnn_srnn.md, equation (eq-overshooting)).
        overshoot_weights: ``beta_d`` for ``d = 2..O`` (ones if empty).
        free_nats: free bits: the KL of a frame counts no less than this many nats.
        learn_init: learned initial ``h``, ``c`` and ``z`` instead of zeros.
        z_to_h: feed ``z_{t-1}`` into the recurrence (VRNN).
    """

    z_channels: int = 3
    a_channels: int = 256
    head_hidden: int = 256
    smoothing: bool = True
    res_q: bool = False
    overshooting: int = 1
    overshoot_weights: tuple[float, ...] = field(default_factory=tuple)
    free_nats: float = 0.0
    learn_init: bool = False
    z_to_h: bool = False

    def __post_init__(self):
        super().__post_init__()
        self.overshoot_weights = tuple(float(w) for w in self.overshoot_weights)
        div = 2**self.levels
        if len(self.image_size) != 2 or self.image_size[0] % div or self.image_size[1] % div:
            raise ValueError(f"image_size {self.image_size} must be two sizes divisible by 2**levels = {div}")
        if self.overshooting < 1:
            raise ValueError(f"overshooting distance O must be >= 1, got {self.overshooting}")
        if self.overshoot_weights and len(self.overshoot_weights) != self.overshooting - 1:
            raise ValueError(
                f"overshoot_weights needs D - 1 = {self.overshooting - 1} entries (for d = 2..D), "
                f"got {len(self.overshoot_weights)}"
            )
        if self.z_to_h and self.smoothing:
            raise ValueError(
                "smoothing needs every h_t before the latent loop, so it cannot be used with z_to_h (VRNN)"
            )
        if not 1 <= self.n_bits <= 8:
            raise ValueError(f"n_bits must be in 1..8, got {self.n_bits}")

    @property
    def bottleneck_size(self) -> tuple[int, int]:
        return (self.image_size[0] >> self.levels, self.image_size[1] >> self.levels)


def check_video(x: torch.Tensor, cfg: LatentConfig, min_frames: int = 2, name: str = "video") -> None:
    """Raise a clear error unless ``x`` is ``uint8 [B, T, C, H, W]`` matching the config."""
    pixels.check_uint8(x, name)
    want = f"[B, T>={min_frames}, {cfg.channels}, {cfg.image_size[0]}, {cfg.image_size[1]}]"
    if x.dim() != 5 or x.shape[1] < min_frames or tuple(x.shape[2:]) != cfg.frame_shape:
        raise ValueError(f"{name} must be uint8 {want} (batch, time, channels, height, width), got {list(x.shape)}")


class RecurrentLatentModel(LatentSampling, nn.Module):
    """Base class: extractor, ConvLSTM, latent chain; subclasses add the emission.

    See book/vrnn_srnn.md, equations (eq-vrnn) and (eq-srnn), figure (fig-sequence-graphs);
    book/rfn.md, equations (eq-rfn-transition) and (eq-rfn-prior).

    The emission protocol (public: :mod:`rfn.models.iwae`, the tests and the book use it to
    score or decode given states):

    * :meth:`emission_inputs` ``(post, x)`` flattens the output of :meth:`infer` into
      ``(target uint8 [N, C, H, W], h [N, ...], z [N, ...], skips)`` over ``N = B * (T-1)`` frames;
    * :meth:`emission_log_prob` ``(target, h, z, skips) -> [N]``: the discrete log-likelihood
      (bound) of each frame in nats;
    * :meth:`emission_sample` ``(h, z, skips, temperature) -> uint8 [N, C, H, W]``.

    Generation (``predict``, ``reconstruct_and_predict``, ``emit``) comes from
    :class:`~rfn.models.sampling.LatentSampling`.

    ``skips`` is the extractor's pyramid of the previous frames (finest first). Subclasses
    implement the last two.
    """

    config: LatentConfig
    #: evaluate the emission on all ``B * (T-1)`` frames at once (False: frame by frame, the
    #: reference path of ``benchmarks/throughput.py``). In eval mode both give the same numbers.
    #: In training mode a BatchNorm in the emission's networks (``norm="batch"``) normalises
    #: with the statistics of the batch it sees: all ``B * (T-1)`` frames here, ``B`` frames
    #: of one time step there, so the losses (and the running statistics) differ slightly.
    time_batched_emission: bool = True
    #: ``predict`` shares the context warm-up between samples and caches the flow's inverse
    #: (False: the plain reference path; same draws, same frames up to float rounding)
    fast_sampling: bool = True

    def __init__(self, config: LatentConfig):
        super().__init__()
        self.config = cfg = config
        self.extractor = Extractor(cfg.channels, cfg.levels, cfg.extractor_channels, style=cfg.style, norm=cfg.norm)
        top = self.extractor.out_channels[-1]
        z_in = cfg.z_channels if cfg.z_to_h else 0
        self.rnn = ConvLSTMCell(top + z_in, cfg.h_channels)
        a_in = cfg.h_channels + top
        if cfg.smoothing:
            self.smoother = ConvLSTM(a_in, cfg.a_channels, reverse=True)
            a_in = cfg.a_channels
        self.prior_net = GaussianHead(cfg.z_channels + cfg.h_channels, cfg.z_channels, cfg.head_hidden, cfg.norm)
        self.posterior_net = GaussianHead(cfg.z_channels + a_in, cfg.z_channels, cfg.head_hidden, cfg.norm)
        if cfg.learn_init:
            self.h0 = nn.Parameter(torch.zeros(1, cfg.h_channels, 1, 1))
            self.c0 = nn.Parameter(torch.zeros(1, cfg.h_channels, 1, 1))
            self.z0 = nn.Parameter(torch.zeros(1, cfg.z_channels, 1, 1))

    # ------------------------------------------------------------------ pieces
    def _param_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _initial(self, batch: int, ref: torch.Tensor):
        cfg = self.config
        hw = cfg.bottleneck_size
        if cfg.learn_init:
            h0 = self.h0.expand(batch, -1, *hw)
            c0 = self.c0.expand(batch, -1, *hw)
            z0 = self.z0.expand(batch, -1, *hw)
        else:
            h0 = ref.new_zeros(batch, cfg.h_channels, *hw)
            c0 = torch.zeros_like(h0)
            z0 = ref.new_zeros(batch, cfg.z_channels, *hw)
        return (h0, c0), z0

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``uint8 [B, T, C, H, W]`` -> extractor pyramid, each ``[B, T, c_l, H/2^l, W/2^l]``."""
        B, T = x.shape[:2]
        xf = pixels.to_float(x.flatten(0, 1), self.config.n_bits, dtype=self._param_dtype())
        return [f.unflatten(0, (B, T)) for f in self.extractor(xf)]

    def _prior(self, z_prev: torch.Tensor, h: torch.Tensor):
        return self.prior_net(torch.cat([z_prev, h], dim=1))

    def _posterior(self, z_prev, a, mu_p=None):
        mu, std = self.posterior_net(torch.cat([z_prev, a], dim=1))
        if self.config.res_q:
            if mu_p is None:
                raise RuntimeError("RES_q needs the prior mean")
            mu = mu + mu_p
        return mu, std

    def _check_input(self, x: torch.Tensor, min_frames: int = 2, name: str = "video") -> None:
        check_video(x, self.config, min_frames, name)

    @staticmethod
    def _flat(t: torch.Tensor) -> torch.Tensor:
        return t.flatten(0, 1)

    # -------------------------------------------------------------- inference
    def infer(self, x: torch.Tensor, temperature: float = 1.0, repeat: int = 1) -> dict:
        """Run the posterior over a sequence (teacher forcing).

        See book/vrnn_srnn.md, equation (eq-smoothing); book/rfn.md, equation (eq-rfn-posterior).

        Args:
            x: ``uint8 [B, T, C, H, W]``, ``T >= 2``.
            temperature: scales the posterior's standard deviation when sampling ``z``
                (0: the chain follows the posterior means).
            repeat: independent latent chains per sequence (row ``b * repeat + s`` is chain ``s``
                of sequence ``b``); what does not depend on ``z`` runs once per sequence: the
                extractor and, unless ``z_to_h``, the recurrence and the smoother.

        Returns:
            dict with per-frame tensors for frames ``1..T-1`` (``[B * repeat, T-1, ...]``):
            ``h``, ``z`` (posterior samples), ``mu_q``, ``std_q``, ``mu_p``, ``std_p``
            (prior chained on the posterior samples), ``feats`` (the extractor pyramid of
            all ``T`` frames, ``[B, T, ...]``), ``state`` (ConvLSTM state after reading frame
            ``T-2``) and ``z_last`` (the last posterior sample).
        """
        check_video(x, self.config)
        return self._infer(self._features(x), temperature, repeat)

    def _infer(self, feats: list[torch.Tensor], temperature: float, repeat: int = 1, prior: bool = True) -> dict:
        cfg = self.config
        top = feats[-1]
        B, T = top.shape[:2]
        state, _ = self._initial(B, top)
        _, z0 = self._initial(B * repeat, top)
        carry = {}
        h_all = a_all = None  # bound in both branches: torch.compile cannot trace a closure over an unbound name

        def rep(t: torch.Tensor) -> torch.Tensor:
            return t if repeat == 1 else t.repeat_interleave(repeat, dim=0)

        if not cfg.z_to_h:
            hs = []
            for t in range(T - 1):
                h, state = self.rnn(top[:, t], state)
                hs.append(h)
            h_all = torch.stack(hs, 1)
            a_all = torch.cat([h_all, top[:, 1:]], dim=2)
            if cfg.smoothing:
                a_all, _ = self.smoother(a_all)
            h_all, a_all = rep(h_all), rep(a_all)
        else:
            top = rep(top)
        carry["state"] = tuple(rep(s) for s in state)
        B = B * repeat

        def step(t: int, z_prev: torch.Tensor):
            if not cfg.z_to_h:
                return h_all[:, t], a_all[:, t]
            h, carry["state"] = self.rnn(torch.cat([top[:, t], z_prev], dim=1), carry["state"])
            return h, torch.cat([h, top[:, t + 1]], dim=1)

        def prior_all(z_in: torch.Tensor, h: torch.Tensor):
            mu, std = self._prior(self._flat(z_in), self._flat(h))
            return mu.unflatten(0, (B, T - 1)), std.unflatten(0, (B, T - 1))

        out = posterior_chain(
            T - 1,
            z0,
            step,
            self._prior,
            self._posterior,
            prior_all if prior else None,
            cfg.res_q or cfg.z_to_h,
            temperature,
        )
        out.update(feats=feats, state=carry["state"])
        return out

    def emission_inputs(self, post: dict, x: torch.Tensor):
        """The emission's inputs for every modelled frame, flattened over batch and time.

        Args:
            post: the output of :meth:`infer` on ``x``.
            x: ``uint8 [B, T, C, H, W]``, the sequences ``post`` was computed from.

        Returns:
            ``(target, h, z, skips)``: the frames ``x_t`` (``uint8 [B*(T-1), C, H, W]``), ``h_t`` and
            ``z_t`` (``[B*(T-1), ...]``) and the extractor pyramid of ``x_{t-1}`` (finest first).
        """
        skips = [self._flat(f[:, :-1]) for f in post["feats"]]
        return self._flat(x[:, 1:]), self._flat(post["h"]), self._flat(post["z"]), skips

    def _overshooting_kl(self, post: dict) -> torch.Tensor:
        """Latent overshooting (Hafner et al., 2019): ``sum_d beta_d KL(sg q_t || p_d(z_t | z_{t-d}))``, ``[B]``.

        The terms ``d = 2..O`` of book/vrnn_srnn.md, equation (eq-overshooting).
        """
        cfg = self.config
        h, z, mu_q, std_q = post["h"], post["z"], post["mu_q"].detach(), post["std_q"].detach()
        T1 = h.shape[1]
        weights = cfg.overshoot_weights or (1.0,) * (cfg.overshooting - 1)
        total = h.new_zeros(h.shape[0])
        for d, beta_d in zip(range(2, cfg.overshooting + 1), weights):
            if T1 <= d - 1:
                break
            # frames k = d-1..T1-1 start from the posterior sample at k - d (or z0 when k - d = -1)
            z_start = torch.cat([post["z0"][:, None], z[:, :-1]], dim=1)[:, : T1 - d + 1]
            zc = self._flat(z_start)
            n = z_start.shape[1]
            for j in range(d):
                mu, std = self._prior(zc, self._flat(h[:, j : j + n]))
                if j < d - 1:
                    zc = sample_diag_gaussian(mu, std)
            kl = kl_diag_gaussians(self._flat(mu_q[:, d - 1 :]), self._flat(std_q[:, d - 1 :]), mu, std)
            total = total + beta_d * kl.flatten(1).sum(1).unflatten(0, (h.shape[0], n)).sum(1)
        return total

    def elbo_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-frame terms of the negative ELBO in nats, frames ``1..T-1``.

        See book/vrnn_srnn.md, equations (eq-vrnn-elbo) and (eq-srnn-elbo); book/rfn.md, equation
        (eq-rfn-elbo).

        Returns:
            ``nll`` ``[B, T-1]`` (``-log p(x_t | h_t, z_t)``, discrete bound),
            ``kl`` ``[B, T-1]`` (``KL(q(z_t | ...) || p(z_t | z_{t-1}, h_t))``) and ``post``
            (the output of :meth:`infer`).
        """
        post = self.infer(x)
        B, T1 = post["z"].shape[:2]
        if self.time_batched_emission:
            target, h, z, skips = self.emission_inputs(post, x)
            nll = -self.emission_log_prob(target, h, z, skips).unflatten(0, (B, T1))
        else:
            per_frame = [
                self.emission_log_prob(x[:, t + 1], post["h"][:, t], post["z"][:, t], [f[:, t] for f in post["feats"]])
                for t in range(T1)
            ]
            nll = -torch.stack(per_frame, 1)
        kl = kl_diag_gaussians(post["mu_q"], post["std_q"], post["mu_p"], post["std_p"])
        kl = kl.flatten(2).sum(2, dtype=torch.promote_types(kl.dtype, torch.float32))
        return {"nll": nll, "kl": kl, "post": post}

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Training objective: ``(NLL + beta * KL) / dims``, averaged over the batch.

        ``bpp`` is the negative ELBO (``beta = 1``, no free bits) in bits per dimension of the
        modelled frames (the thesis's "bpp"); ``nll_bpp`` and ``kl_bpp`` split it. With latent
        overshooting (``overshooting = O > 1``) the KL term is the one-step KL plus the weighted
        terms ``d = 2..O`` (logged as ``kl_overshoot_bpp``), divided by ``O``.

        See book/vrnn_srnn.md, equations (eq-vrnn-elbo), (eq-srnn-elbo) and (eq-overshooting);
        book/rfn.md, equation (eq-rfn-elbo).
        """
        check_arguments(f"{type(self).__name__}.loss", locals())
        cfg = self.config
        terms = self.elbo_terms(x)
        nll, kl = terms["nll"], terms["kl"]
        dims = pixels.num_dims(cfg.frame_shape) * nll.shape[1]
        kl_train = kl.clamp(min=cfg.free_nats) if cfg.free_nats > 0 else kl
        kl_sum = kl_train.sum(1)
        out = {}
        if cfg.overshooting > 1:
            over = self._overshooting_kl(terms["post"])
            kl_sum = (kl_sum + over) / cfg.overshooting
            out["kl_overshoot_bpp"] = pixels.bits_per_pixel(over.detach().mean(), dims)
        loss = (nll.sum(1) + beta * kl_sum).mean() / dims
        nll_bpp = pixels.bits_per_pixel(nll.detach().sum(1).mean(), dims)
        kl_bpp = pixels.bits_per_pixel(kl.detach().sum(1).mean(), dims)
        out.update({"loss": loss, "bpp": nll_bpp + kl_bpp, "nll_bpp": nll_bpp, "kl_bpp": kl_bpp})
        return out

    def bpp_per_frame(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-frame bits per dimension ``[B, T-1]``: ``nll``, ``kl`` and their sum ``total``.

        The terms of book/rfn.md, equation (eq-rfn-elbo), frame by frame at ``beta = 1``, in the
        units of book/evaluation.md, equation (eq-eval-bpd).
        """
        terms = self.elbo_terms(x)
        d = pixels.num_dims(self.config.frame_shape)
        nll, kl = pixels.bits_per_pixel(terms["nll"], d), pixels.bits_per_pixel(terms["kl"], d)
        return {"nll": nll, "kl": kl, "total": nll + kl}

    @torch.no_grad()
    def pixel_bits(self, x: torch.Tensor) -> torch.Tensor:
        """Bits per dimension of every pixel of frames ``1..T-1`` under the emission, ``[B, T-1, H, W]``.

        ``-log p(x_t | h_t, z_t)`` with ``z_t`` drawn from the posterior (the reconstruction term of the
        ELBO, without the KL), split over the pixels by :meth:`emission_log_prob_map` and divided by the
        channels and ``log 2``: the mean of the map over pixels is the frame's emission term in bits per
        dimension. Where the nats go on a test clip (the RGB page's bits maps).
        """
        check_video(x, self.config)
        post = self.infer(x)
        B, T1 = post["z"].shape[:2]
        nats = self.emission_log_prob_map(*self.emission_inputs(post, x))
        return (-nats / (self.config.channels * math.log(2.0))).unflatten(0, (B, T1))

    def use_reference_path(self, enabled: bool = True) -> None:
        """Turn every speed-up off (True) or back on (False), for ``benchmarks/throughput.py``.

        The speed-ups: the emission on all frames at once (:attr:`time_batched_emission`),
        the shared warm-up and cached flow inverse of :meth:`predict` (:attr:`fast_sampling`)
        and the normalisations folded into convolutions (``fold_norms`` of
        :class:`~rfn.nets.layers.ConvNormAct` and :class:`~rfn.flows.convnet.ConvNet`).
        Same function either way up to float rounding (in training mode BatchNorm pools its
        statistics differently, see :attr:`time_batched_emission`); same random draws.
        """
        self.time_batched_emission = self.fast_sampling = not enabled
        for module in self.modules():
            if hasattr(type(module), "fold_norms"):
                module.fold_norms = not enabled

    # ------------------------------------------------------------- subclasses
    def emission_log_prob(self, target, h, z, skips) -> torch.Tensor:  # pragma: no cover - abstract
        """``log p(x_t | h_t, z_t)`` in nats, ``[N]``, for ``uint8`` targets ``[N, C, H, W]`` (see the class)."""
        raise NotImplementedError

    def emission_log_prob_map(self, target, h, z, skips) -> torch.Tensor:  # pragma: no cover - abstract
        """``[N, H, W]`` nats per pixel whose sum over pixels is :meth:`emission_log_prob` (see the subclass)."""
        raise NotImplementedError

    def emission_sample(self, h, z, skips, temperature) -> torch.Tensor:  # pragma: no cover - abstract
        """Frames ``uint8 [N, C, H, W]`` drawn from ``p(x_t | h_t, z_t)`` at ``temperature`` (see the class)."""
        raise NotImplementedError

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Recompute activations in the backward pass where a model supports it (the RFN's flow)."""
        flow = getattr(self, "flow", None)
        if flow is not None:
            flow.config.checkpoint = bool(enabled)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return f"{self.num_parameters() / 1e6:.2f} M parameters"

"""Generation for the recurrent latent models: ``predict``, ``reconstruct_and_predict``, ``emit``.

A mixin of :class:`~rfn.models.recurrent.RecurrentLatentModel` (it uses the model's
extractor, recurrence, prior, posterior warm-up and emission protocol). ``predict``
has two paths that draw the same random numbers in the same order:

* the reference path repeats every context ``n_samples`` times and runs the whole
  posterior warm-up on every copy, then rebuilds everything per frame;
* the fast path (the default, :attr:`fast_sampling`) reads the context once per
  sequence (extractor, and, unless the recurrence reads ``z``, the ConvLSTM and the
  smoother), runs only the latent chains per sample, reuses the last context frame's
  features, and lets the emission cache what does not change between frames (the
  RFN builds each flow step's inverse weights once per call).

Both give the same frames up to float rounding (a pixel can land one level apart when
a value sits on a bin edge; ``benchmarks/throughput.py`` reports how many).
"""

from __future__ import annotations

import contextlib

import torch

from rfn import pixels
from rfn.models.validation import check_arguments
from rfn.nets import sample_diag_gaussian

__all__ = ["LatentSampling"]


class LatentSampling:
    """Generation methods shared by RFN, SRNN and VRNN (see the module docstring)."""

    def _step(self, frame_feats: list[torch.Tensor], state, z_prev, prior_temperature: float):
        """One generative step from the previous frame's features: ``h_t``, prior, ``z_t``."""
        top = frame_feats[-1]
        inp = torch.cat([top, z_prev], dim=1) if self.config.z_to_h else top
        h, state = self.rnn(inp, state)
        mu_p, std_p = self._prior(z_prev, h)
        z = sample_diag_gaussian(mu_p, std_p, prior_temperature)
        return h, z, state, (mu_p, std_p)

    def _frame_features(self, frame: torch.Tensor) -> list[torch.Tensor]:
        return [f[:, 0] for f in self._features(frame[:, None])]

    @contextlib.contextmanager
    def _sampling_cache(self):
        """Within: weights that do not change between frames are built once (folded normalisations, the flow's
        inverse 1x1 convolutions)."""
        frozen = [m for m in self.modules() if callable(getattr(m, "freeze_folded", None))]
        with contextlib.ExitStack() as stack:
            for m in frozen:
                m.freeze_folded(True)
            stack.callback(lambda: [m.freeze_folded(False) for m in frozen])
            flow = getattr(self, "flow", None)
            if flow is not None:
                stack.enter_context(flow.inverse_weights_cached())
            yield

    @torch.no_grad()
    def predict(
        self,
        context: torch.Tensor,
        n_future: int,
        n_samples: int = 1,
        emission_temperature: float = 1.0,
        prior_temperature: float = 1.0,
        *,
        context_temperature: float | None = None,
    ) -> torch.Tensor:
        """Sample futures after a warm-up on the context frames.

        The generative model run forward: see book/rfn.md, equations (eq-rfn-transition),
        (eq-rfn-prior) and (eq-rfn-emission), and its section "Generating video";
        book/vrnn_srnn.md, equations (eq-vrnn) and (eq-srnn) for the baselines.

        The context frames are read by the posterior (teacher forcing, as in training);
        then each new frame draws ``z_t`` from the prior, then ``x_t`` from the emission,
        and feeds ``x_t`` back. Samples are independent. With both temperatures 0 the
        prediction is deterministic (the warm-up then follows the posterior means), except
        that a DMOL output still draws its mixture component (see :func:`rfn.nets.dmol_sample`).

        Args:
            context: ``uint8 [B, Tc, C, H, W]``, ``Tc >= 1``.
            n_future: frames to generate.
            n_samples: independent futures per context.
            emission_temperature: temperature of the emission: a factor on the flow's base
                standard deviations (RFN) or on the output distribution's scale (SRNN/VRNN).
            prior_temperature: factor on the standard deviation of ``p(z_t | z_{t-1}, h_t)``.
            context_temperature: factor on the posterior's standard deviation during the
                warm-up; default 1, or 0 when both other temperatures are 0.

        Returns:
            ``uint8 [B, n_samples, n_future, C, H, W]``.
        """
        check_arguments(f"{type(self).__name__}.predict", locals())
        temp = float(emission_temperature)
        if context_temperature is None:
            context_temperature = 0.0 if temp == 0 and prior_temperature == 0 else 1.0
        self._check_input(context, min_frames=1, name="context")
        if n_future < 1 or n_samples < 1:
            raise ValueError(f"n_future and n_samples must be >= 1, got {n_future} and {n_samples}")
        run = self._predict_shared_warmup if self.fast_sampling else self._predict_reference
        out = run(context, n_future, n_samples, temp, prior_temperature, context_temperature)
        return out.unflatten(0, (context.shape[0], n_samples))

    def _predict_reference(self, context, n_future, n_samples, temp, prior_temp, context_temp) -> torch.Tensor:
        """The plain path: every sample reads the whole context; ``[B * n_samples, n_future, C, H, W]``."""
        x = context.repeat_interleave(n_samples, dim=0)
        if x.shape[1] >= 2:
            post = self.infer(x, context_temp)
            state, z_prev = post["state"], post["z_last"]
        else:
            state, z_prev = self._initial(x.shape[0], x.new_zeros((), dtype=self._param_dtype()))
        prev, frames = x[:, -1], []
        for _ in range(n_future):
            feats = self._frame_features(prev)
            h, z_prev, state, _ = self._step(feats, state, z_prev, prior_temp)
            prev = self.emission_sample(h, z_prev, feats, temp)
            frames.append(prev)
        return torch.stack(frames, 1)

    def _predict_shared_warmup(self, context, n_future, n_samples, temp, prior_temp, context_temp) -> torch.Tensor:
        """The fast path, same draws in the same order as :meth:`_predict_reference`.

        The extractor (and, unless ``z_to_h``, the recurrence and the smoother) read the
        context once per sequence, not once per sample; the last context frame's features
        come from that pass; the emission runs inside :meth:`_sampling_cache`.
        """
        feats = self._features(context)
        if context.shape[1] >= 2:
            post = self._infer(feats, context_temp, repeat=n_samples, prior=False)
            state, z_prev = post["state"], post["z_last"]
        else:
            state, z_prev = self._initial(context.shape[0] * n_samples, feats[-1])
        last = [f[:, -1].repeat_interleave(n_samples, dim=0) for f in feats]
        frames = []
        with self._sampling_cache():
            for i in range(n_future):
                h, z_prev, state, _ = self._step(last, state, z_prev, prior_temp)
                frames.append(self.emission_sample(h, z_prev, last, temp))
                if i < n_future - 1:
                    last = self._frame_features(frames[-1])
        return torch.stack(frames, 1)

    @torch.no_grad()
    def reconstruct_and_predict(
        self,
        x: torch.Tensor,
        emission_temperature: float = 1.0,
        prior_temperature: float = 1.0,
    ) -> dict[str, torch.Tensor]:
        """Posterior reconstructions next to one-step prior predictions (thesis Fig 10.4).

        Both use the true previous frames (teacher forcing) and the same ``h_t``; the
        reconstruction decodes the posterior's ``z_t``, the prediction a draw of the
        prior ``p(z_t | z_{t-1}, h_t)`` with ``z_{t-1}`` from the posterior. Temperatures as
        in :meth:`predict`.

        Returns:
            ``reconstruction`` and ``prediction``, both ``uint8 [B, T-1, C, H, W]``, plus the
            per-frame ``kl`` and ``nll`` in bits per pixel ``[B, T-1]``.
        """
        check_arguments(f"{type(self).__name__}.reconstruct_and_predict", locals())
        temp = float(emission_temperature)
        terms = self.elbo_terms(x)
        post = terms["post"]
        _, h, z, skips = self.emission_inputs(post, x)
        B, T1 = post["z"].shape[:2]
        z_prior = self._flat(sample_diag_gaussian(post["mu_p"], post["std_p"], prior_temperature))
        recon = self.emission_sample(h, z, skips, temp).unflatten(0, (B, T1))
        pred = self.emission_sample(h, z_prior, skips, temp).unflatten(0, (B, T1))
        d = pixels.num_dims(self.config.frame_shape)
        return {
            "reconstruction": recon,
            "prediction": pred,
            "kl": pixels.bits_per_pixel(terms["kl"], d),
            "nll": pixels.bits_per_pixel(terms["nll"], d),
        }

    @torch.no_grad()
    def emit(
        self, h: torch.Tensor, z: torch.Tensor, prev_frames: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Decode given states: ``h [N, Ch, h, w]``, ``z [N, Cz, h, w]``, previous frames ``uint8 [N, C, H, W]``.

        Used for interpolation in ``(h_t, z_t)`` (thesis Fig 10.3). Returns ``uint8 [N, C, H, W]``.
        """
        pixels.check_uint8(prev_frames, "prev_frames")
        return self.emission_sample(h, z, self._frame_features(prev_frames), temperature)

"""SRNN and VRNN baselines with convolutional networks (thesis sections 3.4-3.5 and 8.1).

Same skeleton as the RFN (:mod:`rfn.models.recurrent`); the emission is a
decoder (the extractor reversed) that outputs either the parameters of a
discretised mixture of logistics (PixelCNN++; an exact discrete likelihood, so
bits per pixel compare directly with the RFN's) or the mean of a Gaussian with a
learned variance (faster to train, a continuous bound after dequantisation).

The VRNN (Chung et al., 2015) feeds ``z_{t-1}`` into the recurrence and has no
smoothing; the SRNN (Fraccaro et al., 2016) keeps the recurrence deterministic
and smooths its posterior with a backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rfn import pixels
from rfn.flows.distributions import gaussian_log_density
from rfn.models.recurrent import LatentConfig, RecurrentLatentModel
from rfn.models.registry import register
from rfn.nets import (
    GaussianLikelihood,
    PyramidDecoder,
    dmol_log_prob,
    dmol_num_params,
    dmol_pixel_log_prob,
    dmol_sample,
    level_channels,
)

__all__ = ["DECODER_SKIPS", "LIKELIHOODS", "SRNN", "VRNN", "SRNNConfig", "VRNNConfig"]

LIKELIHOODS = ("dmol", "gaussian")
DECODER_SKIPS = ("none", "decoder")


@dataclass
class SRNNConfig(LatentConfig):
    """SRNN hyper-parameters (thesis Table A.3 at the ``thesis-*`` presets).

    Attributes (beyond :class:`~rfn.models.recurrent.LatentConfig`):
        likelihood: ``"dmol"`` (discretised logistic mixture) or ``"gaussian"``.
        n_mix: mixture components of the DMOL.
        skip: ``"none"`` (the thesis's baselines: the decoder sees only ``[h_t, z_t]``) or
            ``"decoder"``: the extractor's pyramid of ``x_{t-1}`` enters every decoder level
            (U-Net skips), exactly what the RFN's conditioner receives with ``skip="cond"``.
            A control for the RGB comparison (book page ``10_rgb_headline``): it gives the
            per-pixel output the same view of the previous frame as the flow emission.
        decoder_channels: channels of the decoder's finest level, doubled per level; None = the
            extractor's widths (the thesis's decoder). Widens a control to a parameter budget.
    """

    z_channels: int = 15
    likelihood: str = "dmol"
    n_mix: int = 10
    skip: str = "none"
    decoder_channels: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
        if self.skip not in DECODER_SKIPS:
            raise ValueError(f"unknown skip {self.skip!r}; choose one of {', '.join(DECODER_SKIPS)}")
        if self.decoder_channels is not None and (
            not isinstance(self.decoder_channels, int) or self.decoder_channels <= 0
        ):
            raise ValueError(f"decoder_channels must be a positive integer or None, got {self.decoder_channels!r}")


@dataclass
class VRNNConfig(SRNNConfig):
    """VRNN: ``z_{t-1}`` enters the recurrence; no smoothing."""

    smoothing: bool = False
    z_to_h: bool = True


@register("srnn", SRNNConfig)
class SRNN(RecurrentLatentModel):
    """SRNN with a convolutional decoder.

    See book/vrnn_srnn.md, equations (eq-srnn), (eq-smoothing) and (eq-srnn-elbo), figure
    (fig-sequence-graphs).

    Example:
        >>> cfg = SRNNConfig(image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8, n_mix=2)
        >>> x = torch.randint(0, 256, (2, 3, 1, 16, 16), dtype=torch.uint8)
        >>> SRNN(cfg).predict(x[:, :2], n_future=1).shape
        torch.Size([2, 1, 1, 1, 16, 16])
    """

    config: SRNNConfig

    def __init__(self, config: SRNNConfig):
        super().__init__(config)
        cfg = config
        ext = list(self.extractor.out_channels)
        widths = ext if cfg.decoder_channels is None else level_channels(cfg.levels, cfg.decoder_channels)
        self.decoder = PyramidDecoder(
            cfg.h_channels + cfg.z_channels,
            cfg.levels,
            widths,
            skip_channels=ext if cfg.skip == "decoder" else None,
            style=cfg.style,
            norm=cfg.norm,
        )
        n_out = dmol_num_params(cfg.channels, cfg.n_mix) if cfg.likelihood == "dmol" else cfg.channels
        self.head = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(widths[0], n_out, 3, padding=1)
        )
        if cfg.likelihood == "gaussian":
            self.gaussian = GaussianLikelihood(cfg.channels, n_bits=cfg.n_bits)

    def decode_params(self, h: torch.Tensor, z: torch.Tensor, skips=None) -> torch.Tensor:
        """Output-distribution parameters ``[N, P, H, W]`` from ``(h_t, z_t)``.

        ``skips`` (the extractor's pyramid of ``x_{t-1}``, finest first) is used only when the
        model was built with ``skip="decoder"``; the thesis's baselines ignore it.
        """
        bottleneck = torch.cat([h, z], dim=1)
        if self.config.skip == "decoder":
            if skips is None:
                raise ValueError("this SRNN/VRNN was built with skip='decoder': pass the skips of x_{t-1}")
            return self.head(self.decoder(bottleneck, skips)[0])
        return self.head(self.decoder(bottleneck)[0])

    def emission_log_prob(self, target, h, z, skips) -> torch.Tensor:
        cfg = self.config
        params = self.decode_params(h, z, skips)
        if cfg.likelihood == "dmol":
            return dmol_log_prob(target, params, n_bits=cfg.n_bits)
        xf = pixels.preprocess(target, cfg.n_bits, dtype=params.dtype)
        return self.gaussian.log_prob(xf, params)

    def emission_log_prob_map(self, target, h, z, skips) -> torch.Tensor:
        """:meth:`emission_log_prob` per pixel, ``[N, H, W]``: exact, the output factorises over pixels."""
        cfg = self.config
        params = self.decode_params(h, z, skips)
        if cfg.likelihood == "dmol":
            return dmol_pixel_log_prob(target, params, n_bits=cfg.n_bits)
        xf = pixels.preprocess(target, cfg.n_bits, dtype=params.dtype)
        std = self.gaussian.std.to(params.dtype).expand_as(params)
        per_pixel_constant = pixels.dequantization_constant(cfg.channels, cfg.n_bits)
        return gaussian_log_density(xf, params, std).sum(1) + per_pixel_constant

    def emission_sample(self, h, z, skips, temperature) -> torch.Tensor:
        cfg = self.config
        params = self.decode_params(h, z, skips)
        if cfg.likelihood == "dmol":
            return dmol_sample(params, cfg.channels, n_bits=cfg.n_bits, temperature=temperature)
        return pixels.to_uint8(self.gaussian.sample(params, temperature), cfg.n_bits)


@register("vrnn", VRNNConfig)
class VRNN(SRNN):
    """VRNN: the SRNN skeleton with the ``z_{t-1} -> h_t`` edge and without smoothing.

    See book/vrnn_srnn.md, equations (eq-vrnn) and (eq-vrnn-elbo), figure (fig-sequence-graphs).
    """

    config: VRNNConfig

    def __init__(self, config: VRNNConfig):
        if not config.z_to_h or config.smoothing:
            raise ValueError("a VRNN has z_to_h=True and smoothing=False; use SRNN for other combinations")
        super().__init__(config)

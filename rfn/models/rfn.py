"""The Recurrent Flow Network (thesis chapter 5 and section 8.2).

An SRNN bottleneck (:class:`~rfn.models.recurrent.RecurrentLatentModel`) whose
emission ``p(x_t | h_t, z_t)`` is a conditional Glow: an exact density of the
dequantised frame, and so, after dequantisation, a lower bound on the probability
of the discrete 8-bit frame (book/normalising_flows.md, equation (eq-dequant)). A conditioning
network (the extractor reversed) turns ``[h_t, z_t]`` into one feature map per
flow level. Skip connections from the extractor's pyramid of ``x_{t-1}`` can go
to the conditioning network (U-Net style), straight into the flow's condition
maps, both, or nowhere (thesis Table 9.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rfn import pixels
from rfn.flows import Glow, GlowConfig
from rfn.models.recurrent import LatentConfig, RecurrentLatentModel
from rfn.models.registry import register
from rfn.nets import Conditioner, level_channels

__all__ = ["RFN", "SKIPS", "RFNConfig"]

SKIPS = ("none", "cond", "flow", "both")


@dataclass
class RFNConfig(LatentConfig):
    """RFN hyper-parameters (thesis Table A.2 at the ``thesis-*`` presets).

    Attributes (beyond :class:`~rfn.models.recurrent.LatentConfig`):
        flow_steps: flow steps per level ``K``.
        flow_hidden: channels of the coupling networks.
        base_hidden: channels of the base-distribution network.
        cond_channels: channels of the conditioning network's first (finest) level,
            doubled per level; None = the extractor's widths.
        clamp: coupling log-scale constraint.
        skip: where the extractor's features of ``x_{t-1}`` go: ``"none"``, ``"cond"``
            (conditioning network), ``"flow"`` (the flow's condition maps) or ``"both"``.
        flow_checkpoint: gradient checkpointing per flow level.
    """

    z_channels: int = 3
    flow_steps: int = 10
    flow_hidden: int = 256
    base_hidden: int = 512
    cond_channels: int | None = None
    clamp: str = "sigmoid"
    skip: str = "cond"
    flow_checkpoint: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.skip not in SKIPS:
            raise ValueError(f"unknown skip {self.skip!r}; choose one of {', '.join(SKIPS)}")


@register("rfn", RFNConfig)
class RFN(RecurrentLatentModel):
    """Recurrent Flow Network: SRNN latent dynamics with a conditional Glow emission.

    See book/rfn.md, equations (eq-rfn-transition), (eq-rfn-prior), (eq-rfn-emission),
    (eq-rfn-posterior) and (eq-rfn-elbo), figure (fig-rfn-data-path).

    Example:
        >>> cfg = RFNConfig(image_size=(16, 16), levels=2, h_channels=8, a_channels=8, head_hidden=8,
        ...                 flow_steps=1, flow_hidden=8, base_hidden=8)
        >>> model = RFN(cfg)
        >>> x = torch.randint(0, 256, (2, 3, 1, 16, 16), dtype=torch.uint8)
        >>> sorted(model.loss(x))
        ['bpp', 'kl_bpp', 'loss', 'nll_bpp']
        >>> model.predict(x[:, :2], n_future=2, n_samples=3).shape
        torch.Size([2, 3, 2, 1, 16, 16])
    """

    config: RFNConfig

    def __init__(self, config: RFNConfig):
        super().__init__(config)
        cfg = config
        ext = self.extractor.out_channels
        widths = ext if cfg.cond_channels is None else level_channels(cfg.levels, cfg.cond_channels)
        self.conditioner = Conditioner(
            cfg.h_channels + cfg.z_channels,
            cfg.levels,
            list(widths),
            skip_channels=list(ext) if cfg.skip in ("cond", "both") else None,
            style=cfg.style,
            norm=cfg.norm,
        )
        flow_cond = [w + (e if cfg.skip in ("flow", "both") else 0) for w, e in zip(widths, ext)]
        self.flow = Glow(
            GlowConfig(
                in_channels=cfg.channels,
                levels=cfg.levels,
                steps=cfg.flow_steps,
                hidden=cfg.flow_hidden,
                cond_channels=tuple(flow_cond),
                clamp=cfg.clamp,
                base_hidden=cfg.base_hidden,
                checkpoint=cfg.flow_checkpoint,
            )
        )

    def condition(self, h: torch.Tensor, z: torch.Tensor, skips: list[torch.Tensor]) -> list[torch.Tensor]:
        """One condition map per flow level (finest first) from ``h_t``, ``z_t`` and the skips of ``x_{t-1}``.

        The maps ``c_t`` of book/rfn.md, equation (eq-rfn-emission).
        """
        skip = self.config.skip
        maps = self.conditioner(torch.cat([h, z], dim=1), skips if skip in ("cond", "both") else None)
        if skip in ("flow", "both"):
            maps = [torch.cat([m, s], dim=1) for m, s in zip(maps, skips)]
        return maps

    def emission_log_prob(self, target, h, z, skips) -> torch.Tensor:
        """``log p(x_t | h_t, z_t)`` bound in nats, ``[N]``: the flow's density of the dequantised frame.

        Plus the dequantisation constant ``-D log 2**n_bits``. See book/rfn.md, equation
        (eq-rfn-emission); book/normalising_flows.md, equation (eq-dequant).
        """
        cfg = self.config
        xf = pixels.preprocess(target, cfg.n_bits, dtype=h.dtype)
        log_density = self.flow.log_prob(xf, self.condition(h, z, skips))
        return log_density + pixels.dequantization_constant(cfg.frame_shape, cfg.n_bits)

    def emission_log_prob_map(self, target, h, z, skips) -> torch.Tensor:
        """:meth:`emission_log_prob` split over the pixels, ``[N, H, W]``: :meth:`rfn.flows.Glow.log_prob_map`.

        An exact decomposition of the frame's bound, spread evenly over the block each flow term belongs
        to (an attribution: the flow's density does not factorise over pixels).
        """
        cfg = self.config
        xf = pixels.preprocess(target, cfg.n_bits, dtype=h.dtype)
        per_pixel_constant = pixels.dequantization_constant(cfg.channels, cfg.n_bits)
        return self.flow.log_prob_map(xf, self.condition(h, z, skips)) + per_pixel_constant

    def emission_sample(self, h, z, skips, temperature) -> torch.Tensor:
        x = self.flow.sample(self.condition(h, z, skips), temperature=temperature)
        return pixels.to_uint8(x, self.config.n_bits)

    @torch.no_grad()
    def trajectory(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Prior, posterior and base-distribution parameters per step (thesis Fig 10.7).

        Returns tensors ``[B, T-1, ...]``: ``mu_p``, ``std_p``, ``mu_q``, ``std_q``, ``h``, ``z``,
        ``base_mu``, ``base_std`` (the flow's base distribution given ``(h_t, z_t)``).
        """
        post = self.infer(x)
        _, h, z, skips = self.emission_inputs(post, x)
        B, T1 = post["z"].shape[:2]
        mu_b, std_b = self.flow.base_params(self.condition(h, z, skips)[-1])
        keys = ("mu_p", "std_p", "mu_q", "std_q", "h", "z")
        out = {k: post[k] for k in keys}
        out["base_mu"], out["base_std"] = mu_b.unflatten(0, (B, T1)), std_b.unflatten(0, (B, T1))
        return out

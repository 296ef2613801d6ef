"""Multi-scale (conditional) Glow (Kingma & Dhariwal, 2018; thesis sections 4.4-4.6, 8.2.4).

``L`` levels, each ``squeeze -> K x (ActNorm -> 1x1 conv -> affine coupling) -> split``;
the last level keeps all its channels and hands them to the base distribution.
For a ``[B, C, H, W]`` input, level ``l`` (0-based) works at ``H / 2**(l+1)`` by
``W / 2**(l+1)`` on ``4C * 2**l`` channels; :meth:`GlowConfig.level_shapes` gives the shapes.

Conditioning (the RFN's emission ``p(x_t | h_t, z_t)``): one feature map per level
at that level's resolution, ``cond[l]`` shaped ``[B, cond_channels[l], H / 2**(l+1), W / 2**(l+1)]``,
ordered from the first (finest) level to the last. Every coupling and split prior of
level ``l`` reads ``cond[l]``, and the base distribution ``N(mu(c), sigma(c))`` reads
``cond[-1]``. Without a condition, the base distribution has a learned per-channel
mean and standard deviation.

Three exact paths are kept apart: :meth:`Glow.encode` (the bijection, every level's
latent), :meth:`Glow.decode` (its exact inverse) and :meth:`Glow.sample` (draws
latents from the priors at a temperature, then decodes).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from rfn.flows.actnorm import ActNorm
from rfn.flows.convnet import ConvNet
from rfn.flows.coupling import CLAMPS, AffineCoupling
from rfn.flows.distributions import gaussian_log_density, sample_diag_gaussian, std_from_raw, sum_per_sample
from rfn.flows.invconv import InvConv1x1
from rfn.flows.split import Split
from rfn.flows.squeeze import squeeze2d, unsqueeze2d

__all__ = ["FlowStep", "Glow", "GlowConfig"]


@dataclass
class GlowConfig:
    """Hyper-parameters of a (conditional) Glow.

    Attributes:
        in_channels: image channels ``C``.
        levels: number of levels ``L``.
        steps: flow steps per level ``K``.
        hidden: channels of the coupling networks.
        cond_channels: channels of the condition map of each level (length ``L``), or None.
        clamp: coupling log-scale constraint (``"sigmoid"``, ``"tanh"``, ``"none"``).
        prior_hidden: channels of the split-prior networks (``hidden`` if None).
        base_hidden: channels of the conditional base-distribution network.
        image_size: ``(H, W)``; needed only to sample from an unconditional Glow.
        checkpoint: recompute each level's activations in the backward pass (saves memory).
    """

    in_channels: int = 3
    levels: int = 3
    steps: int = 8
    hidden: int = 256
    cond_channels: tuple[int, ...] | None = None
    clamp: str = "sigmoid"
    prior_hidden: int | None = None
    base_hidden: int = 512
    image_size: tuple[int, int] | None = None
    checkpoint: bool = False

    def __post_init__(self):
        if self.levels < 1 or self.steps < 1:
            raise ValueError(f"levels and steps must be >= 1, got levels={self.levels}, steps={self.steps}")
        if self.clamp not in CLAMPS:
            raise ValueError(f"unknown clamp {self.clamp!r}; choose one of {', '.join(CLAMPS)}")
        if self.cond_channels is not None:
            self.cond_channels = tuple(int(c) for c in self.cond_channels)
            if len(self.cond_channels) != self.levels:
                raise ValueError(
                    f"cond_channels needs one entry per level ({self.levels}), got {list(self.cond_channels)}"
                )
        if self.image_size is not None:
            self.image_size = tuple(int(s) for s in self.image_size)

    def level_channels(self) -> list[int]:
        """Channels each level's flow steps work on."""
        out, c = [], self.in_channels
        for level in range(self.levels):
            c *= 4
            out.append(c)
            if level < self.levels - 1:
                c = c // 2  # the split keeps the first C // 2 channels
        return out

    def level_shapes(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """``(channels, height, width)`` at each level, for an ``H x W`` input.

        See book/normalising_flows.md, figure (fig-glow-multiscale).
        """
        return [(c, height >> (l + 1), width >> (l + 1)) for l, c in enumerate(self.level_channels())]


class FlowStep(nn.Module):
    """One Glow step: ActNorm -> invertible 1x1 conv -> (conditional) affine coupling.

    Its log-determinant is the sum of its three layers'. See book/normalising_flows.md,
    equation (eq-composition).

    Once ActNorm is initialised, its per-channel affine map and the 1x1
    convolution are folded into a single convolution with a bias, in both
    directions: ``W diag(s) (x - loc)`` forward and ``diag(1/s) W^{-1} y + loc``
    inverse. Same numbers, one kernel instead of three elementwise passes plus
    a convolution. Inside :meth:`Glow.inverse_weights_cached` the inverse's fused
    weight (two triangular solves) is built once and reused by every call.
    """

    _inverse_cache: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def __init__(self, channels: int, hidden: int, cond_channels: int = 0, clamp: str = "sigmoid"):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv1x1(channels)
        self.coupling = AffineCoupling(channels, hidden, cond_channels, clamp)

    def _actnorm_invconv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.actnorm._initialized:
            x, ld1 = self.actnorm(x)
            x, ld2 = self.invconv(x)
            return x, ld1 + ld2
        scale = torch.exp(self.actnorm.log_scale).flatten()
        w = self.invconv.weight() * scale  # W @ diag(s)
        b = -(w @ self.actnorm.loc.flatten())
        y = F.conv2d(x, w.to(x.dtype)[:, :, None, None], b.to(x.dtype))
        hw = x.shape[2] * x.shape[3]
        ld = ((self.actnorm.log_scale.sum() + self.invconv.log_s.sum()) * hw).expand(x.shape[0])
        return y, ld

    def _inverse_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fused inverse ``diag(1/s) W^-1`` as a ``[C, C, 1, 1]`` kernel, its bias ``loc``, ``log|det|`` per pixel."""
        inv_scale = torch.exp(-self.actnorm.log_scale).flatten()
        w = inv_scale[:, None] * self.invconv.inverse_weight()  # diag(1/s) @ W^-1
        return w[:, :, None, None], self.actnorm.loc.flatten(), self.actnorm.log_scale.sum() + self.invconv.log_s.sum()

    def _actnorm_invconv_inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w, b, ld_pixel = self._inverse_weights() if self._inverse_cache is None else self._inverse_cache
        y = F.conv2d(y, w.to(y.dtype), b.to(y.dtype))
        ld = -(ld_pixel * (y.shape[2] * y.shape[3])).expand(y.shape[0])
        return y, ld

    def invert(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The inverse map alone, without log-determinants (sampling)."""
        w, b, _ = self._inverse_weights() if self._inverse_cache is None else self._inverse_cache
        y = self.coupling.invert(y, cond)
        return F.conv2d(y, w.to(y.dtype), b.to(y.dtype))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x, ld12 = self._actnorm_invconv(x)
        x, ld3 = self.coupling(x, cond)
        return x, ld12 + ld3

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        y, ld3 = self.coupling.inverse(y, cond)
        y, ld12 = self._actnorm_invconv_inverse(y)
        return y, ld12 + ld3


class Glow(nn.Module):
    """Multi-scale Glow, optionally conditioned on one feature map per level.

    See book/normalising_flows.md, equations (eq-cov), (eq-multiscale) and (eq-conditional-flow),
    figure (fig-glow-multiscale).

    Example:
        >>> glow = Glow(GlowConfig(in_channels=1, levels=2, steps=2, hidden=16))
        >>> x = torch.rand(4, 1, 8, 8) - 0.5
        >>> latents, logdet = glow.encode(x)
        >>> [tuple(z.shape) for z in latents]
        [(4, 2, 4, 4), (4, 8, 2, 2)]
        >>> torch.allclose(glow.decode(latents), x, atol=1e-5)
        True
        >>> glow.log_prob(x).shape
        torch.Size([4])
    """

    def __init__(self, config: GlowConfig):
        super().__init__()
        self.config = config
        cfg = config
        cond = cfg.cond_channels or (0,) * cfg.levels
        prior_hidden = cfg.prior_hidden or cfg.hidden
        self.levels = nn.ModuleList()
        self.splits = nn.ModuleList()
        channels = cfg.level_channels()
        for l, c in enumerate(channels):
            self.levels.append(nn.ModuleList(FlowStep(c, cfg.hidden, cond[l], cfg.clamp) for _ in range(cfg.steps)))
            if l < cfg.levels - 1:
                self.splits.append(Split(c, prior_hidden, cond[l]))
        self.top_channels = channels[-1]
        if cfg.cond_channels is not None:
            self.base_net = ConvNet(cond[-1], cfg.base_hidden, 2 * self.top_channels)
        else:
            self.top_mean = nn.Parameter(torch.zeros(1, self.top_channels, 1, 1))
            self.top_raw_std = nn.Parameter(torch.zeros(1, self.top_channels, 1, 1))

    # ----------------------------------------------------------------- helpers
    @property
    def conditional(self) -> bool:
        return self.config.cond_channels is not None

    def _check_input(self, x: torch.Tensor) -> None:
        cfg = self.config
        if not torch.is_floating_point(x):
            raise TypeError(
                f"Glow expects floating-point images in [-0.5, 0.5] (see rfn.pixels.preprocess), got dtype {x.dtype}"
            )
        div = 2**cfg.levels
        if x.dim() != 4 or x.shape[1] != cfg.in_channels or x.shape[2] % div or x.shape[3] % div:
            raise ValueError(
                f"Glow expects [B, {cfg.in_channels}, H, W] with H and W divisible by 2**levels = {div}, "
                f"got {list(x.shape)}"
            )

    def _check_cond(self, cond, batch: int | None, hw: tuple[int, int] | None) -> list | None:
        cfg = self.config
        if not self.conditional:
            if cond is not None:
                raise ValueError("this Glow is unconditional (cond_channels=None) but a condition was given")
            return None
        if cond is None or len(cond) != cfg.levels:
            got = "None" if cond is None else f"{len(cond)} maps"
            raise ValueError(f"this Glow is conditional: pass a list of {cfg.levels} condition maps, got {got}")
        if hw is None:
            hw = (cond[0].shape[2] * 2, cond[0].shape[3] * 2)
        for l, c in enumerate(cond):
            want = (cfg.cond_channels[l], hw[0] >> (l + 1), hw[1] >> (l + 1))
            if c.dim() != 4 or tuple(c.shape[1:]) != want or (batch is not None and c.shape[0] != batch):
                raise ValueError(
                    f"condition map {l} must be [B, {want[0]}, {want[1]}, {want[2]}] (level {l} works at "
                    f"1/{2 ** (l + 1)} of the image size), got {list(c.shape)}"
                )
        return list(cond)

    def _channels_last(self) -> bool:
        """Whether the model was moved to channels-last (``model.to(memory_format=torch.channels_last)``):
        then the squeezes keep every level's tensors channels-last too, so no convolution converts."""
        w = self.levels[0][0].coupling.net.conv1.weight
        return w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()

    def _ready_for_checkpointing(self) -> bool:
        return (
            self.config.checkpoint
            and torch.is_grad_enabled()
            and all(m._initialized for m in self.modules() if isinstance(m, ActNorm))
        )

    @staticmethod
    def _run_steps(steps: nn.ModuleList, h: torch.Tensor, c: torch.Tensor | None):
        logdet = 0.0
        for step in steps:
            h, ld = step(h, c)
            logdet = logdet + ld
        return h, logdet

    def base_params(
        self, cond_top: torch.Tensor | None = None, shape: tuple[int, ...] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of the base distribution at the top level.

        See book/normalising_flows.md, equation (eq-conditional-flow).

        Args:
            cond_top: the last level's condition map ``[B, Cc, h, w]`` (conditional Glow).
            shape: ``(B, C_top, h, w)`` for an unconditional Glow (broadcast target).
        """
        if self.conditional:
            out = self.base_net(cond_top)
            return out[:, 0::2], std_from_raw(out[:, 1::2])
        mean, std = self.top_mean, std_from_raw(self.top_raw_std)
        if shape is not None:
            mean, std = mean.expand(shape), std.expand(shape)
        return mean, std

    # ------------------------------------------------------------- exact paths
    def _encode(self, x: torch.Tensor, cond, with_prior: bool):
        self._check_input(x)
        cond = self._check_cond(cond, x.shape[0], tuple(x.shape[2:]))
        use_ckpt = self._ready_for_checkpointing()
        channels_last = self._channels_last()
        latents, logdet, log_prior = [], 0.0, 0.0
        h = x
        for l, steps in enumerate(self.levels):
            c = cond[l] if cond is not None else None
            h = squeeze2d(h, channels_last)
            if use_ckpt:
                h, ld = checkpoint(self._run_steps, steps, h, c, use_reentrant=False)
            else:
                h, ld = self._run_steps(steps, h, c)
            logdet = logdet + ld
            if l < len(self.splits):
                if with_prior:
                    h, z, lp = self.splits[l](h, c)
                    log_prior = log_prior + lp
                else:
                    split = self.splits[l]
                    h, z = h[:, : split.kept_channels], h[:, split.kept_channels :]
                latents.append(z)
        latents.append(h)
        if with_prior:
            mean, std = self.base_params(cond[-1] if cond is not None else None, tuple(h.shape))
            log_prior = log_prior + sum_per_sample(gaussian_log_density(h, mean, std))
        return latents, logdet, log_prior

    def encode(self, x: torch.Tensor, cond: list[torch.Tensor] | None = None):
        """The bijection ``x -> latents``.

        The normalising direction ``u = f(x)``. See book/normalising_flows.md, equations (eq-cov)
        and (eq-multiscale), figure (fig-glow-multiscale).

        Args:
            x: images ``[B, C, H, W]`` (floats, typically dequantised in ``[-0.5, 0.5]``).
            cond: ``L`` condition maps (conditional Glow) or None.

        Returns:
            ``(latents, logdet)``: a list of ``L`` tensors (the factored-out half of
            levels ``0..L-2``, then the top level's output) and ``log|det dz/dx|`` ``[B]``.
        """
        latents, logdet, _ = self._encode(x, cond, with_prior=False)
        return latents, logdet

    def log_prob(self, x: torch.Tensor, cond: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``log p(x | cond)`` in nats, ``[B]``: change of variables through every level.

        See book/normalising_flows.md, equations (eq-cov), (eq-multiscale) and (eq-conditional-flow);
        in the RFN, book/rfn.md, equation (eq-rfn-emission).
        """
        _, logdet, log_prior = self._encode(x, cond, with_prior=True)
        return log_prior + logdet

    @torch.no_grad()
    def log_prob_map(self, x: torch.Tensor, cond: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Where the nats of :meth:`log_prob` are spent: ``[B, H, W]`` maps that sum to ``log p(x | cond)``.

        A flow's density does not factorise over pixels, but each term of its change of variables
        belongs to one position of one level: a coupling's ``log s`` and a split prior's or the base
        distribution's log-density at position ``(i, j)`` of level ``l`` concern the ``2**(l+1)``-pixel
        square block that position was squeezed from. Each term is spread evenly over its block
        (ActNorm and the 1x1 convolution contribute the same amount at every position). The map is an
        exact decomposition of the total, blocky where the coarse levels spend their nats, and an
        attribution rather than a per-pixel likelihood.
        """
        self._check_input(x)
        cond = self._check_cond(cond, x.shape[0], tuple(x.shape[2:]))
        H, W = x.shape[2:]
        total = x.new_zeros(x.shape[0], H, W)

        def spread(per_position: torch.Tensor, level: int) -> torch.Tensor:
            block = 2 ** (level + 1)
            return per_position.repeat_interleave(block, 1).repeat_interleave(block, 2) / block**2

        h = x
        for l, steps in enumerate(self.levels):
            c = cond[l] if cond is not None else None
            h = squeeze2d(h)
            for step in steps:
                h, constant = step._actnorm_invconv(h)
                total = total + constant[:, None, None] / (H * W)
                coupling = step.coupling
                x_a, x_b = h[:, : coupling.channels_a], h[:, coupling.channels_a :]
                shift, log_s = coupling._params(x_a, c)
                h = torch.cat([x_a, x_b * torch.exp(log_s) + shift], dim=1)
                total = total + spread(log_s.sum(1), l)
            if l < len(self.splits):
                split = self.splits[l]
                kept, z = h[:, : split.kept_channels], h[:, split.kept_channels :]
                mean, std = split.prior(kept, c)
                total = total + spread(gaussian_log_density(z, mean, std).sum(1), l)
                h = kept
        mean, std = self.base_params(cond[-1] if cond is not None else None, tuple(h.shape))
        return total + spread(gaussian_log_density(h, mean, std).sum(1), len(self.levels) - 1)

    def decode(self, latents: list[torch.Tensor], cond: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Exact inverse of :meth:`encode`: ``latents -> x [B, C, H, W]``.

        The generative direction ``x = g(u)``. See book/normalising_flows.md, equation (eq-cov).
        """
        if len(latents) != self.config.levels:
            raise ValueError(f"decode needs {self.config.levels} latents (one per level), got {len(latents)}")
        return self._decode(latents[-1], cond, latents[:-1])

    def _decode(self, top, cond, zs, temperature: float = 1.0, generator=None) -> torch.Tensor:
        hw = None if cond is not None else (top.shape[2] << self.config.levels, top.shape[3] << self.config.levels)
        cond = self._check_cond(cond, top.shape[0], hw)
        channels_last = self._channels_last()
        h = top
        for l in range(self.config.levels - 1, -1, -1):
            c = cond[l] if cond is not None else None
            if l < len(self.splits):
                z = zs[l] if zs is not None else None
                h = self.splits[l].inverse(h, z, c, temperature, generator)
            for step in reversed(self.levels[l]):
                h = step.invert(h, c)
            h = unsqueeze2d(h, channels_last)
        return h

    @torch.no_grad()
    def sample(
        self,
        cond: list[torch.Tensor] | None = None,
        n: int | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw images ``[B, C, H, W]``; ``temperature`` scales every prior's standard deviation.

        Draws the top latent from the base distribution and each factored-out half from its split
        prior, then decodes. See book/normalising_flows.md, equations (eq-multiscale) and
        (eq-conditional-flow).

        Args:
            cond: condition maps (conditional Glow); their batch size gives ``B``.
            n: number of samples (unconditional Glow; needs ``config.image_size``).
            temperature: factor on the standard deviation of the split priors and the base.
            generator: optional RNG for reproducible draws.
        """
        if self.conditional:
            cond = self._check_cond(cond, None, None)
            mean, std = self.base_params(cond[-1])
        else:
            if cond is not None:
                raise ValueError("this Glow is unconditional: sample(n=...) takes no cond")
            if self.config.image_size is None or n is None:
                raise ValueError("an unconditional Glow samples with sample(n=N) and needs config.image_size=(H, W)")
            H, W = self.config.image_size
            L = self.config.levels
            p = self.top_mean
            mean, std = self.base_params(shape=(n, self.top_channels, H >> L, W >> L))
            mean, std = mean.to(p.dtype), std.to(p.dtype)
        top = sample_diag_gaussian(mean, std, temperature, generator)
        return self._decode(top, cond, None, temperature, generator)

    @contextlib.contextmanager
    def inverse_weights_cached(self):
        """Within the block, every flow step builds its fused inverse weights once, not per call.

        For sampling many frames (the RFN's ``predict``); the parameters must not change
        inside the block. Gradients do not flow through the cached weights.

        Example:
            >>> glow = Glow(GlowConfig(in_channels=1, levels=2, steps=2, hidden=8))
            >>> glow.initialize(torch.rand(4, 1, 8, 8) - 0.5)
            >>> latents, _ = glow.encode(torch.rand(3, 1, 8, 8) - 0.5)
            >>> with glow.inverse_weights_cached():
            ...     x = glow.decode(latents)
            >>> torch.equal(x, glow.decode(latents))
            True
        """
        steps = [step for level in self.levels for step in level]
        with torch.no_grad():
            for step in steps:
                step._inverse_cache = step._inverse_weights()
        try:
            yield self
        finally:
            for step in steps:
                step.__dict__.pop("_inverse_cache", None)  # the class default again (train.compile guards)

    @torch.no_grad()
    def initialize(self, x: torch.Tensor, cond: list[torch.Tensor] | None = None) -> None:
        """Run one forward pass so every ActNorm initialises from this batch."""
        self.log_prob(x, cond)

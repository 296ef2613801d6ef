"""Glow on single images: the unconditional baseline and the conditional image task.

:class:`ImageGlow` models ``p(x)`` for ``uint8`` images ``[B, C, H, W]``: pixels are
scaled to ``[-0.5, 0.5]`` and dequantised (:mod:`rfn.pixels`), and the loss is the
negative log-likelihood bound in nats per dimension, reported in bits per pixel.
If ``H`` or ``W`` is not divisible by ``2**levels`` the image is zero-padded (a
padding the model must then also learn, so report bpp of the unpadded images
with care; MNIST's 28 works with ``levels <= 2``).

:class:`ConditionalImageGlow` models ``p(target | condition)`` with a condition
encoder that produces one feature map per flow level (thesis appendix A.4:
completing the inner square of an image from its border).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rfn import pixels
from rfn.flows import Glow, GlowConfig
from rfn.models.registry import register
from rfn.nets import conv_block

__all__ = ["ConditionalImageGlow", "ConditionalImageGlowConfig", "ImageGlow", "ImageGlowConfig"]


@dataclass
class ImageGlowConfig:
    """Unconditional image Glow: image shape, flow size and bit depth."""

    in_channels: int = 1
    image_size: tuple[int, int] = (28, 28)
    levels: int = 2
    steps: int = 8
    hidden: int = 128
    clamp: str = "sigmoid"
    n_bits: int = 8
    checkpoint: bool = False


def _check_images(x: torch.Tensor, channels: int, size: tuple[int, int], name: str = "images") -> None:
    pixels.check_uint8(x, name)
    if x.dim() != 4 or x.shape[1] != channels or tuple(x.shape[2:]) != tuple(size):
        raise ValueError(f"{name} must be uint8 [B, {channels}, {size[0]}, {size[1]}], got {list(x.shape)}")


def _loss_dict(log_prob: torch.Tensor, shape: tuple[int, ...], n_bits: int) -> dict[str, torch.Tensor]:
    nll = pixels.discrete_nll(log_prob, shape, n_bits)  # nats per image
    per_dim = nll.mean() / pixels.num_dims(shape)
    bpp = pixels.bits_per_pixel(nll.detach().mean(), shape)
    zero = torch.zeros((), device=bpp.device)
    return {"loss": per_dim, "bpp": bpp, "nll_bpp": bpp, "kl_bpp": zero}


@register("glow", ImageGlowConfig, batch="images")
class ImageGlow(nn.Module):
    """Unconditional Glow on ``uint8`` images.

    Example:
        >>> model = ImageGlow(ImageGlowConfig(image_size=(8, 8), levels=2, steps=1, hidden=8))
        >>> x = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
        >>> out = model.loss(x)
        >>> sorted(out)
        ['bpp', 'kl_bpp', 'loss', 'nll_bpp']
        >>> model.sample(2).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, config: ImageGlowConfig):
        super().__init__()
        self.config = config
        h, w = config.image_size
        div = 2**config.levels
        self.padded = (-(-h // div) * div, -(-w // div) * div)
        self.flow = Glow(
            GlowConfig(
                in_channels=config.in_channels,
                levels=config.levels,
                steps=config.steps,
                hidden=config.hidden,
                clamp=config.clamp,
                image_size=self.padded,
                checkpoint=config.checkpoint,
            )
        )

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        ph, pw = self.padded[0] - x.shape[2], self.padded[1] - x.shape[3]
        return nn.functional.pad(x, (0, pw, 0, ph), value=-0.5) if ph or pw else x

    def log_prob(self, x: torch.Tensor, dequantize: bool = True) -> torch.Tensor:
        """Continuous log-density (nats, ``[B]``) of the (dequantised) images."""
        cfg = self.config
        _check_images(x, cfg.in_channels, cfg.image_size)
        dtype = next(self.parameters()).dtype
        xf = pixels.preprocess(x, cfg.n_bits, dequant=dequantize, dtype=dtype)
        return self.flow.log_prob(self._pad(xf))

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Negative log-likelihood bound: ``loss`` in nats per dimension, ``bpp`` in bits per pixel."""
        return _loss_dict(self.log_prob(x), tuple(x.shape[1:]), self.config.n_bits)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Latents of every level for ``uint8`` images (no dequantisation noise)."""
        cfg = self.config
        _check_images(x, cfg.in_channels, cfg.image_size)
        xf = pixels.to_float(x, cfg.n_bits, dtype=next(self.parameters()).dtype) + 0.5 / 2**cfg.n_bits
        return self.flow.encode(self._pad(xf))[0]

    @torch.no_grad()
    def decode(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """Latents -> ``uint8`` images (exact inverse of :meth:`encode` up to quantisation)."""
        x = self.flow.decode(latents)[:, :, : self.config.image_size[0], : self.config.image_size[1]]
        return pixels.to_uint8(x, self.config.n_bits)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` ``uint8`` images ``[n, C, H, W]``."""
        x = self.flow.sample(n=n, temperature=temperature, generator=generator)
        return pixels.to_uint8(x[:, :, : self.config.image_size[0], : self.config.image_size[1]], self.config.n_bits)


@dataclass
class ConditionalImageGlowConfig:
    """Conditional image Glow: ``p(target | condition)``, both ``uint8`` images."""

    target_channels: int = 1
    target_size: tuple[int, int] = (16, 16)
    cond_channels: int = 1
    cond_size: tuple[int, int] = (32, 32)
    levels: int = 2
    steps: int = 4
    hidden: int = 64
    cond_features: int = 32
    clamp: str = "sigmoid"
    n_bits: int = 2


class _CondEncoder(nn.Module):
    """Condition image -> one map per flow level at that level's resolution."""

    def __init__(self, cfg: ConditionalImageGlowConfig):
        super().__init__()
        th, _ = cfg.target_size
        ch, _ = cfg.cond_size
        if ch % th:
            raise ValueError(f"cond_size {cfg.cond_size} must be a multiple of target_size {cfg.target_size}")
        down = []
        c, f = cfg.cond_channels, cfg.cond_features
        while ch > th:  # bring the condition to the target's resolution
            down.append(conv_block(c, f, stride=2, norm="none"))
            c, ch = f, ch // 2
        self.stem = nn.Sequential(*down, conv_block(c, f, norm="none"))
        self.levels = nn.ModuleList(conv_block(f, f, stride=2, norm="none") for _ in range(cfg.levels))

    def forward(self, cond: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(cond)
        maps = []
        for block in self.levels:
            h = block(h)
            maps.append(h)
        return maps


@register("cond-glow", ConditionalImageGlowConfig, batch="pairs")
class ConditionalImageGlow(nn.Module):
    """Conditional Glow ``p(target | condition)`` for the image completion task (thesis A.4)."""

    def __init__(self, config: ConditionalImageGlowConfig):
        super().__init__()
        self.config = config
        self.encoder = _CondEncoder(config)
        self.flow = Glow(
            GlowConfig(
                in_channels=config.target_channels,
                levels=config.levels,
                steps=config.steps,
                hidden=config.hidden,
                clamp=config.clamp,
                cond_channels=(config.cond_features,) * config.levels,
                base_hidden=config.hidden,
            )
        )

    def _cond(self, cond: torch.Tensor) -> list[torch.Tensor]:
        cfg = self.config
        _check_images(cond, cfg.cond_channels, cfg.cond_size, "condition")
        dtype = next(self.parameters()).dtype
        return self.encoder(pixels.to_float(cond, cfg.n_bits, dtype=dtype))

    def loss(self, batch, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """``batch = (condition, target)``, both ``uint8``; NLL bound of the target."""
        cond, target = batch
        cfg = self.config
        _check_images(target, cfg.target_channels, cfg.target_size, "target")
        dtype = next(self.parameters()).dtype
        xf = pixels.preprocess(target, cfg.n_bits, dtype=dtype)
        log_prob = self.flow.log_prob(xf, self._cond(cond))
        return _loss_dict(log_prob, tuple(target.shape[1:]), cfg.n_bits)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, temperature: float = 1.0, generator=None) -> torch.Tensor:
        """Targets ``uint8 [B, C, h, w]`` drawn given condition images ``uint8 [B, C, H, W]``."""
        x = self.flow.sample(self._cond(cond), temperature=temperature, generator=generator)
        return pixels.to_uint8(x, self.config.n_bits)

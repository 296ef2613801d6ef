"""A deterministic ConvLSTM autoencoder: the baseline that blurs (thesis Fig 2.2).

Same extractor, recurrence and decoder as the SRNN but no latent variable:
``x_t`` is predicted from ``h_t`` alone under a Gaussian with a learned
variance. When the future is uncertain (a digit may bounce or not), the best a
deterministic predictor can do under this loss is the average of the possible
futures, which is blurry.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rfn import pixels
from rfn.models.recurrent import BottleneckConfig, check_video
from rfn.models.registry import register
from rfn.models.validation import check_arguments
from rfn.nets import ConvLSTMCell, Extractor, GaussianLikelihood, PyramidDecoder

__all__ = ["ConvLSTMAutoencoder", "DeterministicConfig"]


@dataclass
class DeterministicConfig(BottleneckConfig):
    """Shape of the deterministic ConvLSTM autoencoder: the shared bottleneck, a narrower state by default."""

    h_channels: int = 128


@register("deterministic", DeterministicConfig)
class ConvLSTMAutoencoder(nn.Module):
    """``x_{t-1} -> h_t -> mean of x_t``; trained by the Gaussian negative log-likelihood."""

    def __init__(self, config: DeterministicConfig):
        super().__init__()
        self.config = cfg = config
        self.extractor = Extractor(cfg.channels, cfg.levels, cfg.extractor_channels, style=cfg.style, norm=cfg.norm)
        widths = list(self.extractor.out_channels)
        self.rnn = ConvLSTMCell(widths[-1], cfg.h_channels)
        self.decoder = PyramidDecoder(cfg.h_channels, cfg.levels, widths, style=cfg.style, norm=cfg.norm)
        self.head = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(widths[0], cfg.channels, 3, padding=1))
        self.gaussian = GaussianLikelihood(cfg.channels, n_bits=cfg.n_bits)

    def _top(self, frames: torch.Tensor) -> torch.Tensor:
        xf = pixels.to_float(frames, self.config.n_bits, dtype=next(self.parameters()).dtype)
        return self.extractor(xf)[-1]

    def _mean(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(h)[0])

    def _hidden(self, x: torch.Tensor, state=None):
        B, T = x.shape[:2]
        top = self._top(x.flatten(0, 1)).unflatten(0, (B, T))
        hs = []
        for t in range(T):
            h, state = self.rnn(top[:, t], state)
            hs.append(h)
        return torch.stack(hs, 1), state

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Gaussian NLL bound of frames ``1..T-1`` in nats per dimension (``bpp`` in bits)."""
        check_arguments(f"{type(self).__name__}.loss", locals())
        cfg = self.config
        check_video(x, cfg)
        B, T = x.shape[:2]
        h, _ = self._hidden(x[:, :-1])
        mean = self._mean(h.flatten(0, 1))
        target = pixels.preprocess(x[:, 1:].flatten(0, 1), cfg.n_bits, dtype=mean.dtype)
        nll = -self.gaussian.log_prob(target, mean).unflatten(0, (B, T - 1)).sum(1)
        dims = pixels.num_dims(cfg.frame_shape) * (T - 1)
        bpp = pixels.bits_per_pixel(nll.detach().mean(), dims)
        return {"loss": nll.mean() / dims, "bpp": bpp, "nll_bpp": bpp, "kl_bpp": torch.zeros_like(bpp)}

    @torch.no_grad()
    def predict(
        self,
        context: torch.Tensor,
        n_future: int,
        n_samples: int = 1,
        emission_temperature: float = 0.0,
        prior_temperature: float = 1.0,
    ) -> torch.Tensor:
        """Roll out the mean prediction; returns ``uint8 [B, n_samples, n_future, C, H, W]`` (identical samples).

        The temperatures are accepted for the common ``predict`` signature of the video models
        and have no effect: this model has no latent variable and always feeds back its mean.
        """
        check_arguments(f"{type(self).__name__}.predict", locals())
        cfg = self.config
        check_video(context, cfg, min_frames=1, name="context")
        B = context.shape[0]
        _, state = self._hidden(context[:, :-1]) if context.shape[1] > 1 else (None, None)
        prev, frames = context[:, -1], []
        for _ in range(n_future):
            h, state = self.rnn(self._top(prev), state)
            prev = pixels.to_uint8(self._mean(h), cfg.n_bits)
            frames.append(prev)
        out = torch.stack(frames, 1)
        return out[:, None].expand(B, n_samples, *out.shape[1:]).contiguous()

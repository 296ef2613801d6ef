"""A toy sequence model, data set and helpers for the training-engine tests (no flows, no BatchNorm); CopyLast.

The tests reach them through the ``toy`` fixture of ``conftest.py``.

The model has what the engine must cope with: a data-dependent initialisation
on its first training call (like ActNorm), random dequantisation and a
reparameterised latent drawn from the global torch generator, a KL term
weighted by beta, and ``predict`` for ``rfn sample``. It can be told to return
a non-finite loss on chosen training calls.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from rfn.config import TrainConfig
from rfn.models.registry import register
from rfn.pixels import bits_per_pixel, dequantize, to_float, to_uint8


@dataclass
class ToyConfig:
    channels: int = 1
    hidden: int = 4
    stochastic: bool = True
    double: bool = False
    poison: str = "none"  # "none", "once" (training call `poison_call`) or "always"
    poison_call: int = 2


@register("toy-video", ToyConfig)
class ToyVideoModel(nn.Module):
    """x_{t-1} -> Gaussian prior on z_t; (x_{t-1}, x_t) -> posterior; z_t -> Gaussian over x_t."""

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        c, h = config.channels, config.hidden
        self.an_bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.an_logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.prior = nn.Conv2d(c, 2 * h, 3, padding=1)
        self.post = nn.Conv2d(2 * c, 2 * h, 3, padding=1)
        self.dec = nn.Conv2d(h + c, 2 * c, 3, padding=1)
        self.calls = 0
        if config.double:
            self.double()

    def _actnorm(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not bool(self.initialized):
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = x.std(dim=(0, 2, 3), keepdim=True) + 1e-6
                self.an_bias.copy_(-mean)
                self.an_logs.copy_(-std.log())
                self.initialized.fill_(True)
        return (x + self.an_bias) * self.an_logs.exp()

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        dtype = self.an_bias.dtype
        b, t, c, hh, ww = x.shape
        xf = to_float(x, dtype=dtype)
        if self.config.stochastic:
            xf = dequantize(xf)
        else:
            xf = xf + 0.5 / 256
        prev = xf[:, :-1].reshape(-1, c, hh, ww)
        cur = xf[:, 1:].reshape(-1, c, hh, ww)
        pn = self._actnorm(prev)
        mu_p, logs_p = self.prior(pn).chunk(2, 1)
        mu_q, logs_q = self.post(torch.cat([pn, cur], 1)).chunk(2, 1)
        logs_q = logs_q.clamp(-5, 2)
        logs_p = logs_p.clamp(-5, 2)
        z = mu_q + logs_q.exp() * torch.randn_like(mu_q) if self.config.stochastic else mu_q
        mean, logs_x = self.dec(torch.cat([z, pn], 1)).chunk(2, 1)
        logs_x = logs_x.clamp(-6, 2)
        log_px = -0.5 * ((cur - mean) / logs_x.exp()) ** 2 - logs_x - 0.5 * math.log(2 * math.pi)
        kl = logs_p - logs_q + (logs_q.exp() ** 2 + (mu_q - mu_p) ** 2) / (2 * logs_p.exp() ** 2) - 0.5
        dims = (t - 1) * c * hh * ww
        nll = -(log_px.reshape(b, -1).sum(1)) + dims * math.log(256.0)
        kl_seq = kl.reshape(b, -1).sum(1)
        loss = ((nll + beta * kl_seq) / dims).mean()
        if self.training and torch.is_grad_enabled():
            self.calls += 1
            if self.config.poison == "always" or (
                self.config.poison == "once" and self.calls == self.config.poison_call
            ):
                loss = loss * float("nan")
        return {
            "loss": loss,
            "bpp": bits_per_pixel(nll + kl_seq, dims).mean().detach(),
            "nll_bpp": bits_per_pixel(nll, dims).mean().detach(),
            "kl_bpp": bits_per_pixel(kl_seq, dims).mean().detach(),
            "z_std": logs_q.exp().mean().detach(),
        }

    @torch.no_grad()
    def predict(self, context, n_future, n_samples=1, emission_temperature=1.0, prior_temperature=1.0):
        last = to_float(context[:, -1], dtype=self.an_bias.dtype)
        outs = []
        for _ in range(n_samples):
            frames, x = [], last
            for _ in range(n_future):
                mu_p, logs_p = self.prior(self._actnorm(x)).chunk(2, 1)
                z = mu_p + prior_temperature * logs_p.exp() * torch.randn_like(mu_p)
                mean, _ = self.dec(torch.cat([z, self._actnorm(x)], 1)).chunk(2, 1)
                x = mean.clamp(-0.5, 0.5)
                frames.append(to_uint8(x))
            outs.append(torch.stack(frames, 1))
        return torch.stack(outs, 1)


class ToyVideos(Dataset):
    """``n`` deterministic uint8 clips ``[T, C, S, S]``: a bright square moving right over noise."""

    def __init__(self, n: int = 16, seq_len: int = 3, channels: int = 1, size: int = 8, offset: int = 0):
        self.n, self.t, self.c, self.s, self.offset = n, seq_len, channels, size, offset

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        if not 0 <= i < self.n:
            raise IndexError(i)
        g = torch.Generator().manual_seed(1000 + i + self.offset)
        x = torch.randint(0, 64, (self.t, self.c, self.s, self.s), generator=g, dtype=torch.uint8)
        start = int(torch.randint(0, self.s, (1,), generator=g))
        for k in range(self.t):
            col = (start + k) % (self.s - 1)
            x[k, :, 2:5, col : col + 2] = 220
        return x


class RecordingVideos(ToyVideos):
    """:class:`ToyVideos` that remembers which indices were read in this process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[int] = []

    def __getitem__(self, i: int) -> torch.Tensor:
        self.seen.append(int(i))
        return super().__getitem__(i)


def make_model(seed: int = 0, **config) -> ToyVideoModel:
    torch.manual_seed(seed)
    return ToyVideoModel(ToyConfig(**config))


def ddp_worker(rank: int, world: int, port: int, out_dir: str, result: str, cfg_kwargs: dict) -> None:
    """One process of the gloo data-parallel test: train, then save parameters, log rows and indices read."""
    import torch.distributed as dist

    from rfn.config import TrainConfig
    from rfn.training import Trainer

    os.environ["LOCAL_RANK"] = str(rank)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        model = make_model(seed=0, stochastic=False, double=True)
        train = RecordingVideos(16)
        trainer = Trainer(model, train, ToyVideos(8, offset=500), TrainConfig(**cfg_kwargs), out_dir)
        rows = trainer.fit()
        torch.save({"state": model.state_dict(), "rows": rows, "seen": train.seen}, f"{result}.{rank}")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cfg(**kw) -> TrainConfig:
    """A short CPU training config for the toy model; keywords override."""
    base = dict(
        lr=1e-2,
        batch_size=4,
        steps=8,
        decay_start=None,
        beta_start=1e-3,
        beta_end=1.0,
        beta_warmup_steps=4,
        grad_clip=5.0,
        log_every=2,
        ckpt_every=100,
        val_every=4,
        val_batches=1,
        device="cpu",
        progress=False,
        tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def params(model) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def scramble_global_rng() -> None:
    """Put every global generator in another state (as in a new process)."""
    torch.manual_seed(12345)
    np.random.seed(12345)  # noqa: NPY002
    random.seed(12345)


class CopyLast(torch.nn.Module):
    """A model that holds the last context frame, as floats in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def predict(self, context, n_future, n_samples):
        last = context[:, None, -1:].float() / 127.5 - 1
        return last.expand(-1, n_samples, n_future, -1, -1, -1).clone()

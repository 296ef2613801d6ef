"""The optimiser side of a training step: fused Adam where the device has it, state layout on resume, and the
learning-rate and KL-weight schedules (thesis Tables A.2/A.3).

Both schedules are pure functions of the optimiser step and the :class:`~rfn.config.TrainConfig`,
so a resumed run continues them exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rfn.config import TrainConfig

__all__ = ["LossModule", "beta_at", "lr_factor", "make_adam", "match_state_layout"]


class LossModule(nn.Module):
    """Makes ``model.loss`` the ``forward`` so DistributedDataParallel and torch.compile see it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Any, beta: float) -> dict[str, torch.Tensor]:
        return self.model.loss(batch, beta=beta)


def make_adam(model: nn.Module, lr: float) -> tuple[torch.optim.Adam, bool]:
    """Adam over the trainable parameters; fused where the device supports it.

    The fused kernel can skip a step on a device-side flag (``found_inf``), so the
    non-finite guard needs no host sync. Returns ``(optimizer, fused)``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, fused=True), True
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=lr), False


def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every optimiser state tensor its parameter's memory layout, in place.

    A checkpoint written with ``train.channels_last`` off and resumed with it on (or the
    reverse) loads the Adam moments in the other layout; the fused Adam kernel assumes
    equal strides and would then update the wrong elements, silently.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of ``config.lr`` for optimiser step ``step`` (0-based).

    1 before ``decay_start``, then linear to 0 at ``steps`` (thesis Table A.2);
    with ``warmup_steps`` W > 0 also multiplied by ``min(1, (step + 1) / W)``
    (the linear warm-up Glow uses).

    >>> cfg = TrainConfig(steps=300_000, decay_start=150_000)
    >>> [lr_factor(s, cfg) for s in (0, 150_000, 225_000, 300_000)]
    [1.0, 1.0, 0.5, 0.0]
    >>> [lr_factor(s, TrainConfig(steps=100, warmup_steps=4)) for s in (0, 1, 3, 10)]
    [0.25, 0.5, 1.0, 1.0]
    """
    start = config.decay_start_step
    if step >= config.steps:
        return 0.0
    factor = 1.0 if step < start else (config.steps - step) / (config.steps - start)
    if config.warmup_steps and step + 1 < config.warmup_steps:
        factor *= (step + 1) / config.warmup_steps
    return factor


def beta_at(step: int, config: TrainConfig) -> float:
    """KL weight for optimiser step ``step``: linear warm-up from ``beta_start`` to ``beta_end``.

    >>> cfg = TrainConfig(beta_start=0.0, beta_end=1.0, beta_warmup_steps=100)
    >>> [beta_at(s, cfg) for s in (0, 50, 100, 1000)]
    [0.0, 0.5, 1.0, 1.0]
    """
    if config.beta_warmup_steps == 0 or step >= config.beta_warmup_steps:
        return config.beta_end
    return config.beta_start + (config.beta_end - config.beta_start) * step / config.beta_warmup_steps

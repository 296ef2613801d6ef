"""The optimiser side of a training step: fused Adam where the device has it, state layout on resume."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["LossModule", "make_adam", "match_state_layout"]


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

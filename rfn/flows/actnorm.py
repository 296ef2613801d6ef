"""Activation normalisation (Kingma & Dhariwal, 2018, Glow section 3.1).

A per-channel affine map ``y = (x - loc) * exp(log_scale)`` whose parameters
are set from the first batch it sees so that the output has zero mean and unit
variance per channel: ``loc = mean``, ``exp(log_scale) = 1 / (std + eps)``.

The "already initialised" flag lives twice: as a ``uint8`` buffer so that it
survives ``state_dict`` round trips, and as a plain Python bool that the
forward pass reads. Reading the buffer's value would need ``.item()`` on every
call, a host synchronisation per layer per step on a GPU; the Python mirror is
refreshed once when a state dict is loaded instead.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ActNorm"]


class ActNorm(nn.Module):
    """Per-channel affine flow layer with data-dependent initialisation.

    See book/normalising_flows.md, section "Mixing: ActNorm and the invertible 1×1 convolution".

    Args:
        channels: number of channels ``C`` of inputs shaped ``[B, C, H, W]``.
        eps: added to the standard deviation at initialisation.

    The log-determinant is ``H * W * sum(log_scale)`` per sample.

    Example:
        >>> layer = ActNorm(3)
        >>> x = torch.randn(8, 3, 4, 4) * 5 + 2
        >>> y, logdet = layer(x)
        >>> bool(y.mean().abs() < 1e-5), logdet.shape
        (True, torch.Size([8]))
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))
        self._initialized = False
        self._register_load_state_dict_pre_hook(self._sync_flag_on_load)

    def _sync_flag_on_load(self, state_dict, prefix, *args, **kwargs) -> None:
        key = prefix + "initialized"
        if key in state_dict:
            self._initialized = bool(state_dict[key])

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set ``loc`` and ``log_scale`` from a batch ``[B, C, H, W]`` (explicit data-dependent init)."""
        dims = (0, 2, 3)
        mean = x.mean(dim=dims, keepdim=True)
        std = x.std(dim=dims, keepdim=True, unbiased=False)
        self.loc.copy_(mean)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.initialized.fill_(1)
        self._initialized = True

    def _logdet(self, x: torch.Tensor) -> torch.Tensor:
        hw = x.shape[2] * x.shape[3]
        return (self.log_scale.sum() * hw).expand(x.shape[0])

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, H, W] -> (y [B, C, H, W], logdet [B])``; ``cond`` is ignored (unconditional layer)."""
        if not self._initialized:
            self.initialize(x)
        y = (x - self.loc) * torch.exp(self.log_scale)
        return y, self._logdet(x)

    def inverse(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact inverse; returns the inverse map's log-determinant (``-forward``'s)."""
        x = y * torch.exp(-self.log_scale) + self.loc
        return x, -self._logdet(y)

    def extra_repr(self) -> str:
        return f"{self.loc.shape[1]}, initialized={self._initialized}"

"""Convolutional LSTM with peephole connections (Shi et al., 2015).

The deterministic state ``h_t`` of the SRNN, the VRNN and the RFN comes from a
ConvLSTM: an LSTM whose matrix products are convolutions, so the state keeps
its spatial layout. With ``[i, f, o, g] = W * [x_t, h_{t-1}] + b``:

.. code-block:: text

    i_t = sigmoid(i + w_ci ⊙ c_{t-1})
    f_t = sigmoid(f + w_cf ⊙ c_{t-1})
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ tanh(g)
    o_t = sigmoid(o + w_co ⊙ c_t)
    h_t = o_t ⊙ tanh(c_t)

Two deliberate differences from the thesis code:

* The peephole weights ``w_ci, w_cf, w_co`` are registered parameters of shape
  ``[1, hidden, 1, 1]`` (one weight per channel, shared over positions). The
  thesis code created position-wise peepholes inside ``forward`` so they were
  never optimised; per-channel weights also let one cell run at any spatial
  size.
* The state is returned, never stored on the module, and ``state=None`` means
  zeros of the input's batch size, spatial size, device and dtype, so nothing
  depends on a fixed batch size.

Example:
    >>> import torch
    >>> cell = ConvLSTMCell(4, 6)
    >>> h, (h_, c) = cell(torch.zeros(2, 4, 8, 8))
    >>> h.shape, c.shape
    (torch.Size([2, 6, 8, 8]), torch.Size([2, 6, 8, 8]))
    >>> lstm = ConvLSTM(4, 6)
    >>> out, (h, c) = lstm(torch.zeros(2, 5, 4, 8, 8))
    >>> out.shape
    torch.Size([2, 5, 6, 8, 8])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvLSTM", "ConvLSTMCell", "LSTMState"]

#: ``(h, c)``, each ``[B, hidden, H, W]``.
LSTMState = tuple[torch.Tensor, torch.Tensor]


class ConvLSTMCell(nn.Module):
    """One step of a peephole ConvLSTM (Shi et al., 2015).

    The recurrence ``h_t = ConvLSTM(h_{t-1}, phi(x_{t-1}))``. See book/rfn.md, equation
    (eq-rfn-transition); book/vrnn_srnn.md, equations (eq-vrnn) and (eq-srnn).

    Args:
        in_channels: channels of the input ``x_t``.
        hidden_channels: channels of ``h_t`` and ``c_t``.
        kernel_size: odd size of the square gate convolution (3 in the thesis, section 8.2.2).
        peephole: include the per-channel peephole terms.
        forget_bias: initial bias of the forget gate. 1.0 keeps the cell state
            by default early in training (Jozefowicz et al., 2015).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        peephole: bool = True,
        forget_bias: float = 1.0,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(kernel_size, int) or kernel_size <= 0 or kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be a positive odd integer (to keep the spatial size), got {kernel_size!r}"
            )
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.kernel_size = kernel_size
        self.peephole = peephole
        # One convolution computes all four gates: [input, forget, output, candidate].
        self.gates = nn.Conv2d(
            in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding=kernel_size // 2
        )
        with torch.no_grad():
            self.gates.bias.zero_()
            self.gates.bias[hidden_channels : 2 * hidden_channels].fill_(forget_bias)
        if peephole:
            # Zero start: the cell begins as a plain ConvLSTM and learns how much to peek.
            self.w_ci = nn.Parameter(torch.zeros(1, hidden_channels, 1, 1))
            self.w_cf = nn.Parameter(torch.zeros(1, hidden_channels, 1, 1))
            self.w_co = nn.Parameter(torch.zeros(1, hidden_channels, 1, 1))
        else:
            self.register_parameter("w_ci", None)
            self.register_parameter("w_cf", None)
            self.register_parameter("w_co", None)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}, peephole={self.peephole}"

    def zero_state(self, x: torch.Tensor) -> LSTMState:
        """Zero ``(h, c)`` matching the batch size, spatial size, device and dtype of ``x [B, C, H, W]``."""
        b, _, height, width = x.shape
        zeros = x.new_zeros(b, self.hidden_channels, height, width)
        return zeros, zeros

    def _check(self, x: torch.Tensor, state: LSTMState | None) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"ConvLSTMCell expects an input of shape [B, C, H, W], got {shape}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"ConvLSTMCell was built for {self.in_channels} input channels, got input of shape {tuple(x.shape)}"
            )
        if state is not None:
            if not isinstance(state, tuple | list) or len(state) != 2:
                raise ValueError("state must be a pair (h, c) as returned by the cell, or None for zeros")
            expected = (x.shape[0], self.hidden_channels, x.shape[2], x.shape[3])
            for name, s in zip(("h", "c"), state):
                if tuple(s.shape) != expected:
                    raise ValueError(f"state {name} has shape {tuple(s.shape)}, expected {expected} for this input")

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """Advance one step.

        Args:
            x: input ``[B, in_channels, H, W]``.
            state: ``(h, c)`` from the previous step, each ``[B, hidden, H, W]``, or ``None`` for zeros.

        Returns:
            ``(h, (h, c))``: the new hidden state and the full new state.
        """
        self._check(x, state)
        h_prev, c_prev = self.zero_state(x) if state is None else state
        i, f, o, g = self.gates(torch.cat([x, h_prev], dim=1)).chunk(4, dim=1)
        if self.peephole:
            i = i + self.w_ci * c_prev
            f = f + self.w_cf * c_prev
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.w_co * c
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class ConvLSTM(nn.Module):
    """A :class:`ConvLSTMCell` run over the time axis.

    Args:
        in_channels, hidden_channels, kernel_size, peephole, forget_bias: as for :class:`ConvLSTMCell`.
        reverse: run from the last frame to the first. The outputs stay in the
            input's time order: ``out[:, t]`` has seen frames ``t..T-1``. This is
            the backward pass that gives the SRNN's smoothing state ``a_t``
            (Fraccaro et al., 2016). See book/vrnn_srnn.md, equation (eq-smoothing).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        peephole: bool = True,
        forget_bias: float = 1.0,
        reverse: bool = False,
    ) -> None:
        super().__init__()
        self.cell = ConvLSTMCell(in_channels, hidden_channels, kernel_size, peephole, forget_bias)
        self.reverse = reverse

    @property
    def hidden_channels(self) -> int:
        return self.cell.hidden_channels

    def extra_repr(self) -> str:
        return f"reverse={self.reverse}"

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """Run the cell over all frames.

        Args:
            x: ``[B, T, in_channels, H, W]``.
            state: initial ``(h, c)``, each ``[B, hidden, H, W]``, or ``None`` for zeros.

        Returns:
            ``(out, (h, c))``: ``out`` is ``[B, T, hidden, H, W]`` (the hidden
            state after each frame, in input order) and ``(h, c)`` the state
            after the last processed frame (frame ``T-1``, or frame 0 when
            ``reverse``).
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"ConvLSTM expects an input of shape [B, T, C, H, W], got {shape}")
        if x.shape[1] == 0:
            raise ValueError(f"ConvLSTM needs at least one frame, got input of shape {tuple(x.shape)}")
        steps = range(x.shape[1] - 1, -1, -1) if self.reverse else range(x.shape[1])
        outputs: list[torch.Tensor] = []
        for t in steps:
            h, state = self.cell(x[:, t], state)
            outputs.append(h)
        if self.reverse:
            outputs.reverse()
        return torch.stack(outputs, dim=1), state

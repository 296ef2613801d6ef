"""Checking and converting the frames every metric receives.

All metrics of :mod:`rfn.metrics` take frames exactly as the data sets and the
models' ``predict`` produce them: ``uint8`` tensors in ``[0, 255]`` shaped
``[..., C, H, W]`` (a video is ``[B, T, C, H, W]``). Some also accept floats in
``[-1, 1]``, the input range of LPIPS and I3D. The two functions here are the
only place where that contract is checked and where frames are mapped to the
ranges the networks and the pixel metrics expect, so a wrong dtype, shape or
range fails with one clear message wherever it enters. :func:`default_device`
is the one rule for where the networks run when no device is given.
:func:`centre_of_mass`, :func:`speckle` and :func:`ink_overlap` are the simple
measures of frames the book's analysis pages use (where the digits are, how noisy a
frame is, how much two digits overlap).

Example:
    >>> import torch
    >>> x = torch.tensor([[[[0, 255]]]], dtype=torch.uint8)
    >>> to_signed_unit(check_frames(x)).flatten().tolist()
    [-1.0, 1.0]
    >>> to_pixel_range(torch.tensor([[[[-1.0, 1.0]]]]), dtype=torch.float64).flatten().tolist()
    [0.0, 255.0]
"""

from __future__ import annotations

import torch

__all__ = [
    "FLOAT_RANGE_TOL",
    "centre_of_mass",
    "check_frames",
    "check_pair",
    "default_device",
    "ink_overlap",
    "speckle",
    "to_pixel_range",
    "to_signed_unit",
]

#: Floats may overshoot ``[-1, 1]`` by this much (rounding in a model's output).
FLOAT_RANGE_TOL = 1e-4


def check_frames(
    x: torch.Tensor,
    name: str = "frames",
    *,
    min_ndim: int = 3,
    ndim: int | None = None,
    channels: tuple[int, ...] | None = None,
    allow_float: bool = True,
) -> torch.Tensor:
    """Raise a clear error unless ``x`` is a valid stack of frames; return it unchanged.

    Args:
        x: ``uint8`` tensor in ``[0, 255]`` or (if ``allow_float``) a floating
            tensor in ``[-1, 1]``, shaped ``[..., C, H, W]``.
        name: what to call ``x`` in error messages.
        min_ndim: least number of dimensions (3 for ``[C, H, W]``).
        ndim: exact number of dimensions (5 for videos ``[B, T, C, H, W]``), or None.
        channels: allowed channel counts, or None for any.
        allow_float: whether floats in ``[-1, 1]`` are accepted besides ``uint8``.

    Raises:
        TypeError: not a tensor, or a dtype other than ``uint8`` (or float when allowed).
        ValueError: wrong number of dimensions or channels, or floats outside ``[-1, 1]``.
    """
    expected = "uint8 in [0, 255]" + (" or floats in [-1, 1]" if allow_float else "")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor ({expected}), got {type(x).__name__}")
    if x.dtype != torch.uint8 and not (allow_float and x.is_floating_point()):
        raise TypeError(
            f"{name} must have dtype torch.uint8 ({expected}) as the data sets and predict() yield them, "
            f"got {x.dtype}; convert model outputs in [-0.5, 0.5] with rfn.pixels.to_uint8"
        )
    layout = "[B, T, C, H, W]" if ndim == 5 else "[..., C, H, W]"
    if (ndim is not None and x.dim() != ndim) or x.dim() < min_ndim:
        want = f"{ndim}" if ndim is not None else f"at least {min_ndim}"
        raise ValueError(f"{name} must be shaped {layout} ({want} dimensions), got shape {tuple(x.shape)}")
    if channels is not None and x.shape[-3] not in channels:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, channels))} channels in dimension -3 of {layout}, "
            f"got shape {tuple(x.shape)} (channels last? permute to [..., C, H, W])"
        )
    if x.is_floating_point() and x.numel() > 0:
        lo, hi = float(x.min()), float(x.max())
        if not (lo >= -1 - FLOAT_RANGE_TOL and hi <= 1 + FLOAT_RANGE_TOL):
            hint = " (values in [0, 255] should be passed as uint8)" if hi > 1.5 else ""
            raise ValueError(f"float {name} must lie in [-1, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_pair(x: torch.Tensor, y: torch.Tensor, names: tuple[str, str] = ("x", "y"), **kwargs) -> None:
    """Check two frame stacks with :func:`check_frames` and that their shapes agree."""
    check_frames(x, names[0], **kwargs)
    check_frames(y, names[1], **kwargs)
    if x.shape != y.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def to_signed_unit(x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Checked frames -> floats in ``[-1, 1]`` (``uint8`` maps as ``x / 127.5 - 1``; floats pass through)."""
    if x.dtype == torch.uint8:
        return x.to(dtype) / 127.5 - 1.0
    return x.to(dtype)


def to_pixel_range(x: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Checked frames -> floats in ``[0, 255]`` (floats in ``[-1, 1]`` map as ``(x + 1) * 127.5``, unrounded)."""
    if x.dtype == torch.uint8:
        return x.to(dtype)
    return (x.to(dtype) + 1.0) * 127.5


def default_device() -> torch.device:
    """CUDA when available, else CPU: where the metric networks run when no device is given."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def centre_of_mass(frames: torch.Tensor) -> torch.Tensor:
    """Brightness-weighted (row, column) centre of every frame, in pixels from the top-left pixel.

    Args:
        frames: ``uint8 [..., 1, H, W]`` gray frames (or floats in ``[-1, 1]``).

    Returns:
        ``float64 [..., 2]``; an all-black frame gives ``(0, 0)``.

    Example:
        >>> f = torch.zeros(1, 4, 5, dtype=torch.uint8); f[0, 1, 3] = 255
        >>> centre_of_mass(f).tolist()
        [1.0, 3.0]
    """
    check_frames(frames, "frames", channels=(1,))
    f = to_pixel_range(frames).squeeze(-3)  # [..., H, W], black = 0
    h, w = f.shape[-2:]
    mass = f.sum((-2, -1)).clamp(min=1e-9)
    rows = (f.sum(-1) * torch.arange(h, dtype=f.dtype, device=f.device)).sum(-1) / mass
    cols = (f.sum(-2) * torch.arange(w, dtype=f.dtype, device=f.device)).sum(-1) / mass
    return torch.stack([rows, cols], -1)


def speckle(frames: torch.Tensor) -> float:
    """Pixel noise: the mean ``|frame - its 3x3 box blur|`` in gray levels over all frames ``[..., C, H, W]``.

    Smooth frames score near 0, salt-and-pepper noise high (the blur ignores the padding at the border).

    Example:
        >>> speckle(torch.full((2, 1, 6, 6), 200, dtype=torch.uint8))
        0.0
    """
    import torch.nn.functional as F

    check_frames(frames, "frames")
    f = to_pixel_range(frames, torch.float32).flatten(0, -4) if frames.dim() > 3 else to_pixel_range(frames)[None]
    blur = F.avg_pool2d(f, 3, stride=1, padding=1, count_include_pad=False)
    return (f - blur).abs().mean().item()


def ink_overlap(ink_a: torch.Tensor, ink_b: torch.Tensor) -> torch.Tensor:
    """Share of the smaller of two inked areas that the other covers, per frame.

    Args:
        ink_a, ink_b: ``bool [..., H, W]`` masks of where each digit has ink (drawn alone).

    Returns:
        ``float64 [...]`` in ``[0, 1]`` (0 where either mask is empty).

    Example:
        >>> a = torch.zeros(1, 4, 4, dtype=torch.bool); a[0, :2, :2] = True
        >>> b = torch.zeros(1, 4, 4, dtype=torch.bool); b[0, 1:, 1:] = True
        >>> ink_overlap(a, b).tolist()
        [0.25]
    """
    if ink_a.shape != ink_b.shape or ink_a.dtype != torch.bool or ink_b.dtype != torch.bool:
        raise ValueError(f"ink masks must be bool tensors of one shape, got {ink_a.dtype} {tuple(ink_a.shape)} "
                         f"and {ink_b.dtype} {tuple(ink_b.shape)}")  # fmt: skip
    both = (ink_a & ink_b).sum((-2, -1)).double()
    smaller = torch.minimum(ink_a.sum((-2, -1)), ink_b.sum((-2, -1))).double().clamp(min=1)
    return both / smaller

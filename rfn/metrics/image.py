"""PSNR and SSIM per frame, vectorised over every leading dimension.

Both follow the convention of the video prediction literature (SVG, SAVP,
SRVP and the thesis, section 6.1): data range 255, and for SSIM (Wang et al.,
2004) a 7x7 uniform window with sample covariances, computed per channel and
averaged over channels. That is what scikit-image's
``structural_similarity(a, b, channel_axis=-1, data_range=255)`` computes with
its defaults (``win_size=7``, ``gaussian_weights=False``), and the tests check
equality with it.

scikit-image filters the whole image with reflected borders and then drops a
3-pixel border before averaging. A pixel that survives the crop only ever
sees pixels inside the image, so padding-free 7x7 window means give exactly
the kept region: no padding convention to get wrong.

Inputs are ``uint8`` frames in ``[0, 255]``. Float frames are accepted only with
an explicit ``value_range`` (``(-1, 1)``, ``(0, 1)``, ...): a float tensor does not
say which scale it is on, and guessing wrong shifts PSNR by 6 dB or more.
Values outside the stated range, non-finite values and empty batches are refused.

Example:
    >>> import torch
    >>> x = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    >>> y = x.clone(); y[1] += 1
    >>> psnr(x, y).tolist()  # identical frames give +inf
    [inf, 48.1308036086791]
    >>> ssim(x, x).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import math

import torch

from rfn.metrics.frames import check_frames

__all__ = ["DATA_RANGE", "SSIM_K1", "SSIM_K2", "SSIM_WINDOW", "mse", "psnr", "ssim"]

DATA_RANGE = 255.0
SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _pixels(
    x: torch.Tensor, y: torch.Tensor, value_range: tuple[float, float] | None, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both frame stacks on the ``[0, 255]`` scale, after checking them (see the module docstring).

    >>> a = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]])
    >>> _pixels(a, a, (0, 1), torch.float64)[0].flatten().tolist()
    [0.0, 127.5, 255.0, 63.75]
    """
    out = []
    for t, name in ((x, "x"), (y, "y")):
        if not isinstance(t, torch.Tensor) or not (t.dtype == torch.uint8 or t.is_floating_point()) or t.dim() < 3:
            check_frames(t, name)  # raises the usual type, dtype or shape error
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); pass at least one frame")
        if t.dtype == torch.uint8:
            if value_range is not None and tuple(value_range) != (0, 255):
                raise ValueError(
                    f"{name} is uint8, so its values are in [0, 255]; value_range={value_range} contradicts it"
                )
            out.append(t.to(dtype))
            continue
        if value_range is None:
            raise ValueError(
                f"{name} is {t.dtype} frames: pass value_range=(-1, 1), (0, 1) or (0, 255) to say what the values "
                f"mean, or uint8 frames (a float scale cannot be guessed: [0, 1] read as [-1, 1] adds 6 dB)"
            )
        lo, hi = (float(v) for v in value_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"value_range must be two finite numbers (low, high) with high > low, got {value_range}")
        v = t.to(dtype)
        vmin, vmax = float(v.min()), float(v.max())
        tol = 1e-6 * (hi - lo)
        if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmin < lo - tol or vmax > hi + tol:
            raise ValueError(f"{name} has values in [{vmin:.4g}, {vmax:.4g}], outside value_range [{lo:g}, {hi:g}]")
        out.append((v - lo) * (DATA_RANGE / (hi - lo)))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return out[0], out[1]


def mse(
    x: torch.Tensor,
    y: torch.Tensor,
    dtype: torch.dtype = torch.float64,
    value_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Mean squared error per frame on the ``[0, 255]`` scale.

    Args:
        x, y: frames ``[..., C, H, W]``, ``uint8`` (or floats with ``value_range``).
        dtype: computation dtype of the result.
        value_range: ``(low, high)`` of float frames (e.g. ``(-1, 1)``); required for floats.

    Returns:
        ``[...]``: the mean over ``C, H, W`` of each frame.
    """
    a, b = _pixels(x, y, value_range, dtype)
    d = a - b
    return d.square().mean(dim=(-3, -2, -1))


def psnr(
    x: torch.Tensor,
    y: torch.Tensor,
    per_channel: bool = False,
    dtype: torch.dtype = torch.float64,
    value_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Peak signal-to-noise ratio per frame, ``10 log10(255^2 / MSE)`` in dB.

    See book/evaluation.md, equation (eq-psnr).

    Identical frames have zero MSE and give ``+inf``, the mathematical limit;
    averaging a curve that contains it gives ``inf`` too, so filter or clip
    deliberately if a data set holds exact copies (static frames).

    Args:
        x, y: frames ``[..., C, H, W]``, ``uint8`` (or floats with ``value_range``).
        per_channel: if False (default, the SVG/SRVP convention), the MSE runs
            over all channels of a frame at once. If True, the PSNR of every
            channel is averaged instead, which is what the thesis code did
            (scikit-image on each channel); the two differ for RGB only.
        dtype: computation dtype of the result.
        value_range: ``(low, high)`` of float frames (e.g. ``(0, 1)``); required for floats.

    Returns:
        ``[...]``: one PSNR per frame.
    """
    a, b = _pixels(x, y, value_range, dtype)
    d = (a - b).square()
    peak = 20.0 * math.log10(DATA_RANGE)
    if per_channel:
        return (peak - 10.0 * torch.log10(d.mean(dim=(-2, -1)))).mean(-1)
    return peak - 10.0 * torch.log10(d.mean(dim=(-3, -2, -1)))


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    dtype: torch.dtype = torch.float64,
    value_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Structural similarity per frame (Wang et al., 2004), mean over channels.

    See book/evaluation.md, equation (eq-ssim).

    7x7 uniform window, sample (``N - 1``) covariances, ``K1 = 0.01``,
    ``K2 = 0.03``, data range 255, the 3-pixel border excluded from the mean:
    scikit-image's ``structural_similarity`` defaults with ``data_range=255``.

    Args:
        x, y: frames ``[..., C, H, W]`` with ``H, W >= 7``, ``uint8`` (or floats with ``value_range``).
        dtype: computation dtype (float64 matches scikit-image to ~1e-12).
        value_range: ``(low, high)`` of float frames (e.g. ``(0, 1)``); required for floats.

    Returns:
        ``[...]``: one SSIM per frame, in ``[-1, 1]``.
    """
    a, b = _pixels(x, y, value_range, dtype)
    *lead, c, h, w = x.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {h}x{w}")
    # One image per (frame, channel); the pool averages each 7x7 window.
    a, b = a.reshape(-1, 1, h, w), b.reshape(-1, 1, h, w)
    stack = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    n = SSIM_WINDOW * SSIM_WINDOW
    # Separable window sums (rows, then columns): the same numbers as F.avg_pool2d, ~2x faster on CPU in float64.
    sums = stack.unfold(-1, SSIM_WINDOW, 1).sum(-1).unfold(-2, SSIM_WINDOW, 1).sum(-1)
    mu_a, mu_b, m_aa, m_bb, m_ab = (sums / n).unbind(1)
    cov_norm = n / (n - 1)  # unbiased window variances, as scikit-image
    var_a = cov_norm * (m_aa - mu_a * mu_a)
    var_b = cov_norm * (m_bb - mu_b * mu_b)
    cov_ab = cov_norm * (m_ab - mu_a * mu_b)
    c1 = (SSIM_K1 * DATA_RANGE) ** 2
    c2 = (SSIM_K2 * DATA_RANGE) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov_ab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    return s.mean(dim=(-2, -1)).reshape(*lead, c).mean(-1)

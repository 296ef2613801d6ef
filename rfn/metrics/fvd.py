"""Fréchet Video Distance (Unterthiner et al., 2019): I3D features and the Fréchet distance.

FVD fits a Gaussian to the I3D embeddings of a set of real videos and one to
those of generated videos and reports the Fréchet (2-Wasserstein) distance
between the two (thesis eq. 6.4):
``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``.

Preprocessing follows the reference implementation
(google-research/frechet_video_distance): every frame is resized bilinearly
to 224x224, grayscale is repeated to RGB, pixels are scaled to ``[-1, 1]``,
and the embedding is the time-averaged Kinetics-400 logits of
:class:`rfn.metrics.i3d.I3D`. The reference resizes with TensorFlow 1's
``resize_bilinear``, which samples source pixel ``i * in / out`` (no half-pixel
offset); ``resize="tf1"`` (default) does the same, ``resize="torch"`` uses
:func:`torch.nn.functional.interpolate`'s half-pixel grid as some PyTorch ports
do. Upsampling 64 -> 224 the two sampling grids differ by a fraction of a
pixel, so FVDs computed with different resizing are not strictly comparable:
report which one you used (the protocol does).

FVD depends strongly on the protocol: which frames enter (with or without the
conditioning frames), how many videos, how many samples per test sequence.
:func:`fvd_videos` assembles the two video sets from a
:class:`rfn.metrics.protocol.Protocol`, so a number always comes with them.

Example:
    >>> import numpy as np
    >>> mu, sigma = np.zeros(2), np.eye(2)
    >>> frechet_distance(mu, sigma, mu + 1, 4 * np.eye(2))  # 2 + 2 * (2 - 1)^2
    4.0
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch
from tqdm import tqdm

from rfn.metrics.frames import check_frames, default_device, to_signed_unit
from rfn.metrics.i3d import I3D, MIN_FRAMES, get_i3d
from rfn.metrics.protocol import FVD_RESIZE_MODES, Protocol

__all__ = [
    "I3D_SIZE",
    "RESIZE_MODES",
    "feature_stats",
    "frechet_distance",
    "fvd",
    "fvd_features",
    "fvd_from_features",
    "fvd_videos",
    "resize_frames",
    "resize_matrix",
]

I3D_SIZE = 224
RESIZE_MODES = FVD_RESIZE_MODES


def resize_matrix(n_in: int, n_out: int, mode: str = "tf1", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Bilinear interpolation along one axis as a ``[n_out, n_in]`` matrix.

    Args:
        n_in, n_out: input and output lengths.
        mode: ``"tf1"``: TensorFlow 1 ``resize_bilinear`` (``align_corners=False``,
            no half-pixel centres), source coordinate ``i * n_in / n_out``; the
            FVD reference code. ``"torch"``: half-pixel centres,
            ``(i + 0.5) * n_in / n_out - 0.5`` clamped at 0, as
            ``F.interpolate(mode="bilinear", align_corners=False)``.
        dtype: dtype of the matrix.

    Example:
        >>> resize_matrix(2, 4, "tf1") @ torch.tensor([0.0, 1.0])
        tensor([0.0000, 0.5000, 1.0000, 1.0000])
        >>> resize_matrix(2, 4, "torch") @ torch.tensor([0.0, 1.0])
        tensor([0.0000, 0.2500, 0.7500, 1.0000])
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; expected one of {RESIZE_MODES}")
    i = torch.arange(n_out, dtype=torch.float64)
    scale = n_in / n_out
    src = i * scale if mode == "tf1" else ((i + 0.5) * scale - 0.5).clamp(min=0.0)
    lo = src.floor().clamp(max=n_in - 1)
    frac = src - lo
    lo = lo.long()
    hi = (lo + 1).clamp(max=n_in - 1)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m[torch.arange(n_out), lo] += 1 - frac
    m[torch.arange(n_out), hi] += frac
    return m.to(dtype)


def resize_frames(x: torch.Tensor, size: int | tuple[int, int], mode: str = "tf1") -> torch.Tensor:
    """Bilinearly resize float frames ``[..., C, H, W]`` to ``size`` (separable, no antialiasing)."""
    oh, ow = (size, size) if isinstance(size, int) else size
    h, w = x.shape[-2:]
    if (h, w) == (oh, ow):
        return x
    my = resize_matrix(h, oh, mode, x.dtype).to(x.device)
    mx = resize_matrix(w, ow, mode, x.dtype).to(x.device)
    return my @ x @ mx.T


@torch.no_grad()
def fvd_features(
    videos: torch.Tensor,
    *,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    progress: bool = False,
    resize: str = "tf1",
    model: I3D | None = None,
) -> np.ndarray:
    """I3D embeddings of videos, the input of the Fréchet distance.

    Args:
        videos: ``[B, T, C, H, W]`` with ``C`` 1 or 3 and ``T >= 9``, ``uint8``
            in ``[0, 255]`` or floats in ``[-1, 1]``; any frame size (resized to 224).
        batch_size: clips per I3D call (about 0.1 GiB of activations per clip of 16 frames).
        device: where I3D runs (default: :func:`default_device`).
        progress: show a tqdm bar over batches.
        resize: ``"tf1"`` (reference FVD) or ``"torch"``; see :func:`resize_matrix`.
        model: an :class:`~rfn.metrics.i3d.I3D` to use instead of the cached one.

    Returns:
        ``[B, 400]`` float64 numpy array of time-averaged Kinetics-400 logits.
    """
    check_frames(videos, "videos", ndim=5, channels=(1, 3))
    if videos.shape[0] == 0:
        raise ValueError(f"videos is an empty batch (shape {tuple(videos.shape)}); pass at least one video")
    if videos.shape[1] < MIN_FRAMES:
        raise ValueError(f"FVD needs videos of at least {MIN_FRAMES} frames (I3D), got {tuple(videos.shape)}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {resize!r}; expected one of {RESIZE_MODES}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    device = torch.device(device) if device is not None else default_device()
    net = model if model is not None else get_i3d(device)
    dtype = next(net.parameters()).dtype
    out = []
    starts = range(0, videos.shape[0], batch_size)
    for i in tqdm(starts, desc="I3D features", unit="batch", disable=not progress, leave=False):
        clip = to_signed_unit(videos[i : i + batch_size].to(device), dtype)  # [b, T, C, H, W]
        clip = resize_frames(clip, I3D_SIZE, resize)
        if not (isinstance(net, I3D) and clip.shape[2] == 1):  # our I3D takes gray clips as RGB copies, faster
            clip = clip.expand(-1, -1, 3, -1, -1)
        out.append(net(clip.permute(0, 2, 1, 3, 4)).double().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 400))


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (float64) of features ``[N, D]``, ``N >= 2``."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be shaped [N, D] with N >= 2 videos, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` in float64.

    That is the *squared* 2-Wasserstein distance between the two Gaussians. See
    book/evaluation.md, equation (eq-fvd).

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))`` with the
    matrix square root from :func:`scipy.linalg.sqrtm`. The product of two
    covariance matrices has real non-negative eigenvalues, so any imaginary
    part of its square root is round-off: it is dropped when small and raises
    otherwise. If the square root is not finite or clearly complex (singular
    covariances), ``eps`` is added to both diagonals, as in the reference FID code.

    Args:
        mu1, mu2: means ``[D]``.
        sigma1, sigma2: covariances ``[D, D]``.
        eps: diagonal offset used only when the plain square root fails.

    Raises:
        ValueError: mismatched shapes, or a square root with a large imaginary part.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"need mu [D] and sigma [D, D] of one D, got {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")

    def sqrtm(offset: float):
        eye = np.eye(d) * offset
        with warnings.catch_warnings():
            # With fewer videos than 400 features (256 is usual) the covariances are
            # singular and scipy warns on every call; the trace is still accurate to
            # about sqrt(machine eps) times its scale, which the tests check.
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            return scipy.linalg.sqrtm((s1 + eye) @ (s2 + eye))

    def too_complex(m) -> float:
        if not np.iscomplexobj(m):
            return 0.0
        imag = np.abs(np.diagonal(m).imag).max()
        return imag if imag > 1e-3 * max(1.0, np.abs(np.diagonal(m).real).max()) else 0.0

    covmean = sqrtm(0.0)
    if not np.isfinite(covmean).all() or too_complex(covmean):
        # singular covariances (fewer videos than features): a small ridge, as the reference FID code does
        covmean = sqrtm(eps)
    imag = too_complex(covmean)
    if imag:
        raise ValueError(f"matrix square root has a large imaginary component {imag:.3g}: covariances invalid?")
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def fvd_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FVD from two feature sets ``[N, 400]`` and ``[M, 400]`` (see :func:`fvd_features`)."""
    for name, f in (("real", real), ("fake", fake)):
        if not np.isfinite(np.asarray(f, dtype=np.float64)).all():
            raise ValueError(f"the {name} features hold NaN or infinite values; recompute them from valid videos")
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def fvd(
    real_videos: torch.Tensor,
    fake_videos: torch.Tensor,
    *,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    progress: bool = False,
    resize: str = "tf1",
    model: I3D | None = None,
) -> float:
    """Fréchet Video Distance between two sets of videos (lower is better).

    I3D features of both sets, a Gaussian fitted to each, and :func:`frechet_distance`.
    See book/evaluation.md, equation (eq-fvd).

    Args:
        real_videos, fake_videos: ``[N, T, C, H, W]`` and ``[M, T, C, H, W]``
            (``N, M >= 2``, same ``T >= 9``, ``C`` 1 or 3), ``uint8`` in ``[0, 255]``
            or floats in ``[-1, 1]``. Use :func:`fvd_videos` to build them for a protocol.
        batch_size, device, progress, resize, model: as in :func:`fvd_features`.

    Returns:
        The FVD. It is biased upwards for small sets; compare numbers only at
        equal set sizes and protocol (the literature uses 256 or more videos).
    """
    check_frames(real_videos, "real_videos", ndim=5, channels=(1, 3))
    check_frames(fake_videos, "fake_videos", ndim=5, channels=(1, 3))
    for name, v in (("real_videos", real_videos), ("fake_videos", fake_videos)):
        if v.shape[0] < 2:
            raise ValueError(f"{name} holds {v.shape[0]} videos; the FVD needs at least 2 per set (256 or more usual)")
    if real_videos.shape[1] != fake_videos.shape[1]:
        raise ValueError(
            f"real and fake videos must have the same number of frames, got {tuple(real_videos.shape)} "
            f"and {tuple(fake_videos.shape)}"
        )
    kw = dict(batch_size=batch_size, device=device, progress=progress, resize=resize, model=model)
    return fvd_from_features(fvd_features(real_videos, **kw), fvd_features(fake_videos, **kw))


def fvd_videos(videos: torch.Tensor, samples: torch.Tensor, protocol: Protocol) -> tuple[torch.Tensor, torch.Tensor]:
    """Assemble the real and the generated video sets for FVD under a protocol.

    Args:
        videos: ground-truth test clips ``[B, protocol.total_frames, C, H, W]``
            (the context frames followed by the true future).
        samples: predicted futures ``[B, N, protocol.predicted_frames, C, H, W]``
            (predicted frames only), ``N >= protocol.fvd_samples_per_sequence``.
        protocol: gives ``context_frames``, ``fvd_include_context`` and
            ``fvd_samples_per_sequence``.

    Returns:
        ``(real, fake)``: ``real`` is ``[B, L, C, H, W]``, one clip per test
        sequence; ``fake`` is ``[B * k, L, C, H, W]`` with the first ``k =
        fvd_samples_per_sequence`` samples of every sequence (sequence-major).
        ``L`` is ``total_frames`` when the context frames are included (the
        generated clips then start with the true context) and
        ``predicted_frames`` otherwise.

    Example:
        >>> from rfn.metrics.protocol import get_protocol
        >>> p = get_protocol("smoke")
        >>> v = torch.zeros(2, p.total_frames, 1, 8, 8, dtype=torch.uint8)
        >>> s = torch.zeros(2, p.n_samples, p.predicted_frames, 1, 8, 8, dtype=torch.uint8)
        >>> real, fake = fvd_videos(v, s, p)
        >>> tuple(real.shape), tuple(fake.shape)
        ((2, 9, 1, 8, 8), (2, 9, 1, 8, 8))
    """
    check_frames(videos, "videos", ndim=5)
    check_frames(samples, "samples", ndim=6, min_ndim=6)
    b, t = videos.shape[:2]
    n, tp = samples.shape[1:3]
    k = protocol.fvd_samples_per_sequence
    if t != protocol.total_frames:
        raise ValueError(
            f"videos must hold protocol {protocol.name!r}'s {protocol.total_frames} frames "
            f"(context + future), got shape {tuple(videos.shape)}"
        )
    if samples.shape[0] != b or tp != protocol.predicted_frames or samples.shape[3:] != videos.shape[2:]:
        raise ValueError(
            f"samples must be shaped [B={b}, N, {protocol.predicted_frames} predicted frames, "
            f"{', '.join(map(str, videos.shape[2:]))}], got {tuple(samples.shape)}"
        )
    if n < k:
        raise ValueError(f"protocol {protocol.name!r} uses {k} samples per sequence for FVD, got only {n}")
    fake = samples[:, :k]
    c = protocol.context_frames
    if protocol.fvd_include_context:
        context = videos[:, None, :c].expand(-1, k, -1, -1, -1, -1)
        fake = torch.cat([context.to(fake.dtype), fake], dim=2)
        real = videos
    else:
        real = videos[:, c:]
    return real, fake.reshape(b * k, *fake.shape[2:])

"""Metrics and evaluation protocols for video prediction, checked against independent references.

Every metric takes frames as the data sets and models produce them, ``uint8``
in ``[0, 255]`` shaped ``[..., C, H, W]`` (videos ``[B, T, C, H, W]``), and
converts to each network's input range inside; floats in ``[-1, 1]`` are
accepted too. The networks (LPIPS, I3D) run on CUDA when available unless a
``device`` is given, and load their weights offline through :mod:`rfn.assets`.

The functions named like their modules stay in them, so that
``rfn.metrics.lpips`` and ``rfn.metrics.fvd`` remain the modules: call
``rfn.metrics.lpips.lpips(x, y)`` and ``rfn.metrics.fvd.fvd(real, fake)``.

* :mod:`~rfn.metrics.image`: PSNR, SSIM, MSE per frame (equal to scikit-image).
* :mod:`~rfn.metrics.lpips`: LPIPS v0.1 AlexNet/VGG16 in pure PyTorch.
* :mod:`~rfn.metrics.i3d`: the Kinetics-400 I3D network.
* :mod:`~rfn.metrics.fvd`: I3D features, Fréchet distance, FVD, protocol-aware video sets.
* :mod:`~rfn.metrics.bestofn`: best-of-N per-frame curves (max PSNR/SSIM, min LPIPS).
* :mod:`~rfn.metrics.protocol`: named evaluation protocols of the thesis tables.
* :mod:`~rfn.metrics.placed_digits`: SM-MNIST digits read at their true place per horizon, against the
  perfect sampler and predictions without a model (reader: :mod:`~rfn.metrics.digit_reader`).
* :mod:`~rfn.metrics.digits`: position-blind digit identity of SM-MNIST frames (right digits anywhere).
* :mod:`~rfn.metrics.frames`: frame checks and measures (centre of mass, speckle, ink overlap).

Example:
    >>> from rfn.metrics import get_protocol
    >>> get_protocol("kth-thesis").predicted_frames
    30
"""

from rfn.metrics.bestofn import HIGHER_IS_BETTER, BestOfN, best_of_n, frame_scores, select_best
from rfn.metrics.digits import digit_identity, digit_identity_curves, load_digit_classifier
from rfn.metrics.fvd import feature_stats, frechet_distance, fvd_features, fvd_from_features, fvd_videos
from rfn.metrics.i3d import I3D, get_i3d
from rfn.metrics.image import mse, psnr, ssim
from rfn.metrics.lpips import LPIPS, get_lpips
from rfn.metrics.protocol import PROTOCOLS, Protocol, get_protocol, protocol_names

__all__ = [
    "HIGHER_IS_BETTER",
    "I3D",
    "LPIPS",
    "PROTOCOLS",
    "BestOfN",
    "Protocol",
    "best_of_n",
    "digit_identity",
    "digit_identity_curves",
    "feature_stats",
    "frame_scores",
    "frechet_distance",
    "fvd_features",
    "fvd_from_features",
    "fvd_videos",
    "get_i3d",
    "get_lpips",
    "get_protocol",
    "load_digit_classifier",
    "mse",
    "protocol_names",
    "psnr",
    "select_best",
    "ssim",
]

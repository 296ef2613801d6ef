"""Best-of-N similarity metrics for stochastic video prediction (thesis sections 6.1 and 9.1).

A stochastic model's sample need not match the one future the test set
holds, so pixel metrics are taken over several samples: draw N futures per
test sequence, score every frame of every sample against the ground truth,
and keep the best score. Two ways of keeping it are in use, and they differ:

* **per frame** (the default here, :attr:`BestOfN.best`): for every predicted frame,
  the best score over the N samples. This is what the thesis's text and figure
  captions describe ("sampled 100 times for each time step to find the maximum").
  It may take frame 3 from one sample and frame 4 from another, so it grows
  faster with N (book/evaluation.md shows by how much).
* **per sequence** (:attr:`BestOfN.best_sample`, the stricter variant): the one
  sample whose score *averaged over time* is best, and that sample's whole curve.
  This is the "max PSNR/SSIM, min LPIPS" of SVG, SAVP and SRVP, and also what the
  thesis's public evaluation code computes (it keeps, per sequence, the sample
  with the better time-averaged score), although its text says per time step.

The mean over samples is returned too, as it shows the typical sample rather
than the luckiest one.

Example:
    >>> import torch
    >>> scores = torch.tensor([[[1.0, 1.0], [3.0, 0.0], [2.0, 2.0]]])  # [B=1, N=3, T=2]
    >>> best, index = select_best(scores, higher_is_better=True)
    >>> index.tolist(), best.tolist()  # per sequence: sample 2 has the best mean (2.0)
    ([2], [[2.0, 2.0]])
    >>> r = BestOfN("psnr", True, scores, index)
    >>> r.best.tolist(), r.best_sample.tolist()  # per frame: 3.0 (sample 1) then 2.0 (sample 2)
    ([[3.0, 2.0]], [[2.0, 2.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rfn.metrics.frames import check_frames, default_device
from rfn.metrics.image import mse, psnr, ssim
from rfn.metrics.lpips import LPIPS, get_lpips

__all__ = ["CURVE_METRICS", "HIGHER_IS_BETTER", "BestOfN", "best_of_n", "frame_scores", "select_best"]

#: The metrics best-of-N knows, and whether a higher value is better.
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False, "mse": False}
#: The similarity metrics of the evaluation's best-of-N curves, in table order.
CURVE_METRICS = ("psnr", "ssim", "lpips")


def select_best(scores: torch.Tensor, higher_is_better: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick per sequence the sample with the best mean over time.

    See book/evaluation.md, section "Best-of-N: comparing a stochastic model with one recorded
    future", and figure (fig-evaluation-protocol).

    Args:
        scores: ``[B, N, T]`` per-frame scores of N samples for B sequences.
        higher_is_better: True for PSNR/SSIM (take the max), False for LPIPS/MSE (the min).

    Returns:
        ``(best, index)``: the chosen sample's curve ``[B, T]`` and its index ``[B]``
        (the first one on ties).
    """
    if scores.dim() != 3:
        raise ValueError(f"scores must be shaped [B, N, T], got {tuple(scores.shape)}")
    mean = scores.mean(-1)
    index = mean.argmax(1) if higher_is_better else mean.argmin(1)
    best = scores.gather(1, index.view(-1, 1, 1).expand(-1, 1, scores.shape[2])).squeeze(1)
    return best, index


@dataclass(frozen=True)
class BestOfN:
    """Best-of-N result for one metric.

    Attributes:
        metric: ``"psnr"``, ``"ssim"``, ``"lpips"`` or ``"mse"``.
        higher_is_better: the direction used to pick the best.
        scores: ``[B, N, T]`` every sample's per-frame score.
        best_index: ``[B]`` the sample picked per sequence (the per-sequence variant).
    """

    metric: str
    higher_is_better: bool
    scores: torch.Tensor
    best_index: torch.Tensor

    @property
    def best(self) -> torch.Tensor:
        """``[B, T]`` the best score over the N samples at every frame (per frame, the thesis's text)."""
        return self.scores.amax(1) if self.higher_is_better else self.scores.amin(1)

    @property
    def best_sample(self) -> torch.Tensor:
        """``[B, T]`` per-frame curve of the sample with the best time-average (per sequence, the stricter variant)."""
        return self.scores.gather(1, self.best_index.view(-1, 1, 1).expand(-1, 1, self.scores.shape[2])).squeeze(1)

    @property
    def mean(self) -> torch.Tensor:
        """``[B, T]`` per-frame score averaged over the N samples."""
        return self.scores.mean(1)

    @property
    def best_curve(self) -> torch.Tensor:
        """``[T]`` best-of-N score per predicted frame (per frame), averaged over sequences: the thesis's curves."""
        return self.best.mean(0)

    @property
    def best_sample_curve(self) -> torch.Tensor:
        """``[T]`` the per-sequence variant's curve, averaged over sequences."""
        return self.best_sample.mean(0)

    @property
    def mean_curve(self) -> torch.Tensor:
        """``[T]`` mean-over-samples score per predicted frame, averaged over sequences."""
        return self.mean.mean(0)

    @property
    def best_per_sequence(self) -> torch.Tensor:
        """``[B]`` the per-frame best averaged over time."""
        return self.best.mean(-1)

    @property
    def best_sample_per_sequence(self) -> torch.Tensor:
        """``[B]`` the picked sample's score averaged over time (the per-sequence variant)."""
        return self.best_sample.mean(-1)

    @property
    def mean_per_sequence(self) -> torch.Tensor:
        """``[B]`` the score averaged over time and samples."""
        return self.mean.mean(-1)

    def summary(self) -> dict[str, float | int | str]:
        """Scalars for a results table: per-frame best, per-sequence best and mean over samples, averaged."""
        b, n, t = self.scores.shape
        return {
            "metric": self.metric,
            "best": float(self.best_per_sequence.mean()),
            "best_sample": float(self.best_sample_per_sequence.mean()),
            "mean": float(self.mean_per_sequence.mean()),
            "sequences": b,
            "samples": n,
            "frames": t,
        }


def frame_scores(
    ground_truth: torch.Tensor,
    samples: torch.Tensor,
    metric: str,
    *,
    chunk: int = 1024,
    device: str | torch.device | None = None,
    lpips_model: LPIPS | None = None,
    lpips_net: str = "alex",
    psnr_per_channel: bool = False,
) -> torch.Tensor:
    """Per-frame score of every sample against the ground truth.

    Args:
        ground_truth: true future ``[B, T, C, H, W]``.
        samples: predicted futures ``[B, N, T, C, H, W]``, same ``T, C, H, W``.
            Both ``uint8`` in ``[0, 255]`` (or floats in ``[-1, 1]``).
        metric: one of :data:`HIGHER_IS_BETTER`.
        chunk: frames per computation step (bounds memory; SSIM holds 5 float64 maps per frame).
        device: where to compute (default: CUDA when available, else CPU).
        lpips_model: network for ``"lpips"`` (default: the cached one for ``lpips_net``).
        lpips_net: LPIPS backbone when no model is given.
        psnr_per_channel: see :func:`rfn.metrics.image.psnr`.

    Returns:
        ``[B, N, T]`` float scores on CPU.
    """
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(HIGHER_IS_BETTER)}")
    check_frames(ground_truth, "ground_truth", ndim=5)
    check_frames(samples, "samples", ndim=6, min_ndim=6)
    b = samples.shape[0]
    if ground_truth.shape[0] != b or samples.shape[2:] != ground_truth.shape[1:]:
        raise ValueError(
            f"samples must be shaped [B, N, *ground_truth.shape[1:]] = [{b}, N, "
            f"{', '.join(map(str, ground_truth.shape[1:]))}], got {tuple(samples.shape)}"
        )
    device = torch.device(device) if device is not None else default_device()
    if metric == "lpips" and lpips_model is None:
        lpips_model = get_lpips(lpips_net, device)
    frame_shape = ground_truth.shape[2:]
    truth = ground_truth[:, None].expand_as(samples).reshape(-1, *frame_shape)
    pred = samples.reshape(-1, *frame_shape)
    out = []
    for i in range(0, truth.shape[0], chunk):
        x, y = truth[i : i + chunk].to(device), pred[i : i + chunk].to(device)
        if metric == "psnr":
            s = psnr(y, x, per_channel=psnr_per_channel)
        elif metric == "ssim":
            s = ssim(y, x)
        elif metric == "mse":
            s = mse(y, x)
        else:
            s = lpips_model(y, x, batch_size=chunk)
        out.append(s.cpu())
    return torch.cat(out).reshape(samples.shape[:3])


def best_of_n(
    ground_truth: torch.Tensor,
    samples: torch.Tensor,
    metrics: Sequence[str] = ("psnr", "ssim", "lpips"),
    **kwargs,
) -> dict[str, BestOfN]:
    """Best-of-N evaluation of N sampled futures per test sequence.

    See book/evaluation.md, section "Best-of-N: comparing a stochastic model with one recorded
    future".

    Args:
        ground_truth: true future frames ``[B, T, C, H, W]`` (the frames after the context).
        samples: ``[B, N, T, C, H, W]`` N predicted futures per sequence.
        metrics: which of :data:`HIGHER_IS_BETTER` to compute.
        **kwargs: passed to :func:`frame_scores` (``device``, ``chunk``, ``lpips_model``, ...).

    Returns:
        ``{metric: BestOfN}``; e.g. ``result["ssim"].best_curve`` is the ``[T]``
        max-SSIM curve and ``result["lpips"].best_per_sequence`` the ``[B]`` min-LPIPS values.
    """
    results = {}
    for m in metrics:
        scores = frame_scores(ground_truth, samples, m, **kwargs)
        _, index = select_best(scores, HIGHER_IS_BETTER[m])
        results[m] = BestOfN(m, HIGHER_IS_BETTER[m], scores, index)
    return results

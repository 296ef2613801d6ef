"""Tiny models for the book's from-scratch cells and exercises: the smoke preset, every weight moved.

A page that writes a network out in plain torch operations checks itself against the package
with :func:`torch.testing.assert_close`. A freshly built model is a weak check: its output
convolutions start at zero, its peepholes at zero, its BatchNorms at mean 0 and variance 1, so
a from-scratch version that forgot any of them would still agree. :func:`scratch_model` builds
the ``smoke`` preset's model, initialises its ActNorms on a batch, then moves every parameter
and every BatchNorm statistic off its initial value, so each term of the computation counts.
It takes well under a second on a CPU at any profile.

Example:
    >>> model, clip = scratch_model("srnn", seed=0)
    >>> model.training, tuple(clip.shape), clip.dtype
    (False, (2, 4, 1, 16, 16), torch.uint8)
"""

from __future__ import annotations

import torch

from rfn.data import make_dataset
from rfn.models import build
from rfn.presets import get_preset

__all__ = ["KINDS", "scratch_model", "smoke_clip"]

#: model kind -> the smoke preset it is built from
KINDS = {"rfn": "smoke-smmnist", "srnn": "smoke-smmnist-srnn", "vrnn": "smoke-smmnist-vrnn"}


def smoke_clip(n: int = 2, start: int = 0) -> torch.Tensor:
    """``n`` test clips of the smoke SM-MNIST data, ``uint8 [n, 4, 1, 16, 16]`` (sequences ``start..start+n-1``)."""
    data = get_preset(KINDS["rfn"]).data
    test = make_dataset(data.name, "test", data.seq_len, **data.kwargs)
    return test.batch(range(start, start + n))


@torch.no_grad()
def scratch_model(kind: str = "rfn", seed: int = 0, spread: float = 0.1, floor: float = 0.5, **overrides):
    """The smoke preset's ``kind`` model with every weight moved off its initial value, in eval mode, and a clip.

    Args:
        kind: ``"rfn"``, ``"srnn"`` or ``"vrnn"``.
        seed: seeds the weights and the moves.
        spread: the noise added to a parameter tensor has standard deviation ``spread`` times the mean
            absolute value of its entries, or times ``floor`` when that is smaller (zero-initialised weights).
        overrides: config fields to change (e.g. ``skip="none"``, ``res_q=True``).

    Returns:
        ``(model, clip)``: the model (float32, CPU, eval mode, ActNorms initialised on ``clip``) and
        ``uint8 [2, 4, 1, 16, 16]`` smoke test clips.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    preset = get_preset(KINDS[kind])
    torch.manual_seed(seed)
    model = build(preset.model, {**preset.model_config, **overrides})
    clip = smoke_clip()
    model.loss(clip)  # initialises every ActNorm from this batch (data-dependent init)
    for p in model.parameters():  # relative moves; zero-initialised weights move by spread * floor
        p.add_(spread * max(p.abs().mean().item(), floor) * torch.randn_like(p))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, spread)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval(), clip

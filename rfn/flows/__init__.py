"""Normalising flows: Glow's layers and a multi-scale (conditional) Glow.

Every invertible layer has the same interface::

    y, logdet = layer(x, cond=None)          # forward, logdet per sample [B]
    x, logdet_inv = layer.inverse(y, cond=None)

and ``logdet + logdet_inv == 0``. The multi-scale :class:`Glow` composes them and
adds :class:`Split` priors and a base distribution.
"""

from rfn.flows.actnorm import ActNorm
from rfn.flows.convnet import ConvNet, ZeroConv2d
from rfn.flows.coupling import CLAMPS, AffineCoupling
from rfn.flows.distributions import (
    SOFTPLUS_ONE,
    gaussian_log_density,
    kl_diag_gaussians,
    sample_diag_gaussian,
    std_from_raw,
    sum_per_sample,
)
from rfn.flows.glow import FlowStep, Glow, GlowConfig
from rfn.flows.invconv import InvConv1x1
from rfn.flows.split import Split
from rfn.flows.squeeze import Squeeze, squeeze2d, unsqueeze2d

__all__ = [
    "CLAMPS",
    "SOFTPLUS_ONE",
    "ActNorm",
    "AffineCoupling",
    "ConvNet",
    "FlowStep",
    "Glow",
    "GlowConfig",
    "InvConv1x1",
    "Split",
    "Squeeze",
    "ZeroConv2d",
    "gaussian_log_density",
    "kl_diag_gaussians",
    "sample_diag_gaussian",
    "squeeze2d",
    "std_from_raw",
    "sum_per_sample",
    "unsqueeze2d",
]

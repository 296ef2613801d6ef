"""Importance-weighted bounds on the likelihood of the latent video models (Burda et al., 2016).

For a sequence ``x_{0:T-1}`` whose frames ``1..T-1`` are modelled given frame 0,
one posterior draw ``z_{1:T-1} ~ q(z | x)`` gives the importance weight

``log w = sum_t [log p(x_t | h_t, z_t) + log p(z_t | z_{t-1}, h_t) - log q(z_t | z_{t-1}, a_t)]``

summed over frames and latent dimensions. Prior and posterior are evaluated at
the *same* posterior sample, the prior chained on the posterior's ``z_{t-1}``
(what :meth:`~rfn.models.recurrent.RecurrentLatentModel.infer` returns as
``mu_p``/``std_p``). With ``K`` independent draws,
``log (1/K) sum_k w_k`` lower-bounds ``log p(x_{1:T-1} | x_0)``; ``K = 1`` is the
ELBO with a Monte-Carlo KL, and the bound tightens as ``K`` grows.

How the ``K`` draws are made: the batch is repeated ``K`` times (in chunks, to
bound memory) and the posterior runs once over the repeated batch, so each
copy runs its own latent chain while the deterministic recurrence ``h_t`` of the
SRNN and the RFN is recomputed, identically, from ``x`` for every copy. The
recurrent state is never carried from one draw to the next. (The VRNN feeds
``z_{t-1}`` into its recurrence, so there each copy's ``h_t`` follows its own
latent chain, as its model says.) The model runs in eval mode, so BatchNorm
uses its running statistics and the copies do not interact.

Dequantisation: the RFN's flow (and the Gaussian output of the baselines) is a
density on dequantised frames ``x + u``; every call of the emission draws
fresh uniform noise ``u`` (see :func:`rfn.pixels.preprocess`). Here each of the
``K`` draws gets its own ``u_k``: ``(z_k, u_k)`` is the importance sample and
the uniform density of ``u`` is the dequantisation constant the emission
already adds, so the bound lower-bounds the *discrete* log-probability
``log P(x)`` and approaches it as ``K`` grows (the variational-dequantisation
view of Ho et al., 2019, with a uniform proposal). Sharing one ``u`` between
the draws would instead bound ``log p(x + u)`` of one fixed dequantised input,
whose average over ``u`` stays below ``log P(x)`` however large ``K`` is.
The DMOL output of the baselines is discrete and needs no noise.

Only the model enters the bound: training devices such as free bits, the KL
warm-up and latent overshooting change the objective, not the model, and are
ignored here.

Example:
    >>> import torch
    >>> log_w = torch.log(torch.tensor([[1.0, 4.0], [3.0, 4.0]], dtype=torch.float64))  # K=2 draws, B=2
    >>> [round(v, 12) for v in iw_bound_from_log_weights(log_w).exp().tolist()]  # mean weight per column
    [2.0, 4.0]
"""

from __future__ import annotations

import math

import torch

from rfn import pixels
from rfn.nets import gaussian_log_density

__all__ = ["iw_bound", "iw_bound_from_log_weights", "log_importance_weights", "log_weight_terms"]


def iw_bound_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound ``log (1/K) sum_k exp(log_w[k])`` per column.

    See book/latent_variable_models.md, equation (eq-iwae).

    Args:
        log_w: ``[K, B]`` log importance weights of ``K`` independent draws for ``B`` data points.

    Returns:
        ``[B]`` bounds in nats (``logsumexp`` over ``K`` minus ``log K``, computed stably).
    """
    if log_w.dim() != 2 or log_w.shape[0] < 1:
        raise ValueError(f"log_w must be shaped [K, B] with K >= 1, got {tuple(log_w.shape)}")
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def log_weight_terms(model, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """One importance sample per sequence, split into its per-frame terms.

    Args:
        model: a :class:`~rfn.models.recurrent.RecurrentLatentModel` (RFN, SRNN, VRNN) or
            anything with the same ``infer`` / ``emission_inputs`` / ``emission_log_prob``.
        x: ``uint8 [B, T, C, H, W]`` sequences (frame 0 conditions, frames ``1..T-1`` are scored).

    Returns:
        dict of float64 tensors ``[B, T-1]``: ``log_px`` (``log p(x_t | h_t, z_t)``, the discrete
        bound of the emission), ``log_pz`` and ``log_qz`` (prior and posterior log-densities at
        the posterior sample ``z_t``, summed over latent dimensions); ``log_w`` ``[B]`` (their
        sum over frames); and ``post``, the output of ``model.infer(x)``. Runs in the model's
        current mode and with gradients as the caller set them.
    """
    post = model.infer(x)
    target, h, z, skips = model.emission_inputs(post, x)
    b, t1 = post["z"].shape[:2]
    log_px = model.emission_log_prob(target, h, z, skips).double().unflatten(0, (b, t1))
    zs = post["z"]
    # both densities at the posterior draw; float64 before the sums over dimensions and frames
    log_pz = gaussian_log_density(zs.double(), post["mu_p"].double(), post["std_p"].double()).flatten(2).sum(2)
    log_qz = gaussian_log_density(zs.double(), post["mu_q"].double(), post["std_q"].double()).flatten(2).sum(2)
    log_w = (log_px + log_pz - log_qz).sum(1)
    return {"log_px": log_px, "log_pz": log_pz, "log_qz": log_qz, "log_w": log_w, "post": post}


def _check_k(k: int, chunk: int | None) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"the number of importance samples k must be a positive integer, got {k!r}")
    if chunk is None:
        return k
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise ValueError(f"chunk (importance samples per model call) must be a positive integer or None, got {chunk!r}")
    return min(chunk, k)


@torch.no_grad()
def log_importance_weights(model, x: torch.Tensor, k: int, chunk: int | None = None) -> torch.Tensor:
    """Log importance weights of ``k`` independent posterior draws per sequence.

    The model is put in eval mode for the call (and restored afterwards). Draws use the
    global torch generator: seed it for reproducible numbers.

    Args:
        model: RFN, SRNN or VRNN (any :class:`~rfn.models.recurrent.RecurrentLatentModel`).
        x: ``uint8 [B, T, C, H, W]``, ``T >= 2``.
        k: number of importance samples ``K``.
        chunk: draws evaluated per model call, each on a ``chunk * B`` batch (None: all ``k``
            at once). Only memory and speed depend on it.

    Returns:
        ``[k, B]`` float64 log weights in nats (see the module docstring).
    """
    chunk = _check_k(k, chunk)
    b = x.shape[0]
    was_training = model.training
    model.eval()
    try:
        out = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            # copy-major layout: row s * B + j is draw s of sequence j
            xr = x.repeat(n, *([1] * (x.dim() - 1)))
            out.append(log_weight_terms(model, xr)["log_w"].view(n, b))
    finally:
        model.train(was_training)
    return torch.cat(out, 0)


def iw_bound(model, x: torch.Tensor, k: int = 20, chunk: int | None = None) -> dict[str, torch.Tensor]:
    """Importance-weighted lower bound on ``log p(x_{1:T-1} | x_0)`` with ``k`` samples.

    See book/latent_variable_models.md, equation (eq-iwae); book/evaluation.md, section
    "Bits per dimension (likelihood)".

    ``k = 20`` is the thesis's setting for its bits-per-pixel tables. Lower ``bpp`` is
    better; the bound in bits per pixel is an upper bound on the true code length.

    Args:
        model, x, k, chunk: as in :func:`log_importance_weights`.

    Returns:
        dict with ``nats`` ``[B]`` (the bound in nats per sequence), ``bpp`` ``[B]``
        (minus the bound in bits per dimension of the ``T-1`` scored frames), ``log_w``
        ``[k, B]`` and ``elbo_nats`` ``[B]`` (the mean of the log weights: a ``k``-sample
        estimate of the ELBO with a Monte-Carlo KL).

    Example:
        >>> from rfn.models import SRNN, SRNNConfig
        >>> cfg = SRNNConfig(image_size=(16, 16), levels=2, h_channels=4, a_channels=4, head_hidden=4, n_mix=2)
        >>> x = torch.randint(0, 256, (3, 4, 1, 16, 16), dtype=torch.uint8)
        >>> out = iw_bound(SRNN(cfg), x, k=5, chunk=2)
        >>> out["nats"].shape, out["log_w"].shape, bool((out["nats"] >= out["elbo_nats"]).all())
        (torch.Size([3]), torch.Size([5, 3]), True)
    """
    log_w = log_importance_weights(model, x, k, chunk)
    nats = iw_bound_from_log_weights(log_w)
    shape = (x.shape[1] - 1, *model.config.frame_shape)
    return {"nats": nats, "bpp": pixels.bits_per_pixel(-nats, shape), "log_w": log_w, "elbo_nats": log_w.mean(0)}

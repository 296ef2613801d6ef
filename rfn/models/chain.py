"""The posterior's latent chain, shared by the convolutional and the dense recurrent models.

``z_t ~ q(z_t | z_{t-1}, a_t)`` must be drawn step by step; everything else is
given by callables, so image models (feature maps) and vector models use the
same loop. The prior is chained on the posterior's samples, as the SRNN
evidence lower bound requires: inside the loop when the step needs it (RES_q,
or the VRNN whose ``h_t`` reads ``z_{t-1}``), otherwise once for all steps
after the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rfn.nets import sample_diag_gaussian

__all__ = ["posterior_chain"]

Pair = tuple[torch.Tensor, torch.Tensor]


def posterior_chain(
    n_steps: int,
    z0: torch.Tensor,
    step: Callable[[int, torch.Tensor], Pair],
    prior: Callable[[torch.Tensor, torch.Tensor], Pair],
    posterior: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], Pair],
    prior_all: Callable[[torch.Tensor, torch.Tensor], Pair] | None,
    prior_in_loop: bool,
    temperature: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Sample ``z_1..z_n`` from the posterior and evaluate the prior at those samples.

    See book/vrnn_srnn.md, equation (eq-smoothing); book/rfn.md, equation (eq-rfn-posterior).

    Args:
        n_steps: number of modelled steps ``n``.
        z0: initial latent ``[B, ...]``.
        step: ``(t, z_{t-1}) -> (h_t, a_t)``, the deterministic state and the posterior's input.
        prior: ``(z_{t-1}, h_t) -> (mu, std)`` for one step.
        posterior: ``(z_{t-1}, a_t, prior mean or None) -> (mu, std)``.
        prior_all: ``(z_{0..n-1} [B, n, ...], h [B, n, ...]) -> (mu, std)`` for all steps at once;
            None skips the prior after the loop (``mu_p`` and ``std_p`` are then None unless
            ``prior_in_loop``), for callers that only need the chain (the warm-up of ``predict``).
        prior_in_loop: evaluate the prior inside the loop (needed for RES_q or when ``h_t`` reads ``z_{t-1}``).
        temperature: factor on the posterior's standard deviation.

    Returns:
        ``h``, ``z``, ``mu_q``, ``std_q``, ``mu_p``, ``std_p`` (each ``[B, n, ...]``), ``z0`` and
        ``z_last``.
    """
    z_prev = z0
    hs, zs, mq, sq, mps, sps = [], [], [], [], [], []
    for t in range(n_steps):
        h, a = step(t, z_prev)
        hs.append(h)
        mu_p = None
        if prior_in_loop:
            mu_p, std_p = prior(z_prev, h)
            mps.append(mu_p)
            sps.append(std_p)
        mu_q, std_q = posterior(z_prev, a, mu_p)
        z_prev = sample_diag_gaussian(mu_q, std_q, temperature)
        zs.append(z_prev)
        mq.append(mu_q)
        sq.append(std_q)
    h_all, z_all = torch.stack(hs, 1), torch.stack(zs, 1)
    if prior_in_loop:
        mu_p, std_p = torch.stack(mps, 1), torch.stack(sps, 1)
    elif prior_all is None:
        mu_p = std_p = None
    else:
        mu_p, std_p = prior_all(torch.cat([z0[:, None], z_all[:, :-1]], dim=1), h_all)
    return {
        "h": h_all,
        "z": z_all,
        "z0": z0,
        "mu_q": torch.stack(mq, 1),
        "std_q": torch.stack(sq, 1),
        "mu_p": mu_p,
        "std_p": std_p,
        "z_last": z_prev,
    }

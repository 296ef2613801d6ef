"""Recurrent Flow Networks for video generation.

A stochastic recurrent network (SRNN) whose emission is an exact conditional
multi-scale Glow, with SRNN/VRNN baselines, the video data sets and metrics
the thesis uses, and a training engine.

Floors: ``pixels``, ``assets``, ``flows``, ``nets`` and ``data`` import nothing of
ours above them; ``models`` build on ``flows`` and ``nets``; ``train``,
``metrics`` and ``cli`` sit on top.

Example:
    >>> import rfn
    >>> model = rfn.load("runs/quick-smmnist/last.pt")  # doctest: +SKIP
    >>> model.predict(context, n_future=10, n_samples=5)  # doctest: +SKIP
"""

__version__ = "0.1.0"


def load(path, device=None, expected_model=None):
    """Rebuild a trained model from a checkpoint (file or run folder), in eval mode.

    The checkpoint holds the model's name and config, so nothing else is needed;
    it is read with ``torch.load(weights_only=True)`` and cannot run code.
    See :func:`rfn.checkpoint.load_model`.
    """
    from rfn.checkpoint import load_model

    return load_model(path, device=device, expected_model=expected_model)


__all__ = ["__version__", "load"]

"""Recurrent Flow Networks for video generation.

A stochastic recurrent network (SRNN) whose emission is an exact conditional
multi-scale Glow, with SRNN/VRNN baselines, the video data sets and metrics
the thesis uses, and a training engine.

Layers, each importing only from those below it (``tests/test_layers.py``
checks): ``pixels``, ``runtime``, ``assets``, ``checkpoint``, ``distributed``;
then ``flows``, ``nets``, ``data``, ``viz``; then ``models``, ``metrics``; then
``config``, ``presets``, ``config_files``; then ``training``, ``evaluation``; then ``runs``
(train-or-load for the book) and ``book``; on top the command line ``cli``.

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
    See :func:`rfn.models.registry.load_model`.
    """
    from rfn.models.registry import load_model

    return load_model(path, device=device, expected_model=expected_model)


__all__ = ["__version__", "load"]

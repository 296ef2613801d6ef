"""Recurrent Flow Networks for video generation.

A stochastic recurrent network (SRNN) whose emission is a conditional
multi-scale Glow (an exact density of the dequantised frame), with SRNN/VRNN
baselines, the video data sets and metrics the thesis uses, a training engine,
an evaluation and the book's tooling.

Layers, lowest first; each module imports only from its own floor and those below
it (``tests/test_layers.py`` checks; only the command lines import ``cli``):

1. ``pixels`` (pixel conversions), ``runtime`` (device, seeds, commit id, JSON),
   ``assets`` (offline weights and data), ``checkpoint``, ``distributed``;
2. ``flows`` (Glow), ``nets`` (building-block networks), ``data`` (data sets),
   ``viz`` (frame strips, grids, plot style);
3. ``models`` (RFN, SRNN, VRNN, baselines, IW bound), ``metrics`` (bpd, PSNR,
   SSIM, LPIPS, FVD, best-of-N, protocols);
4. ``config`` (presets and overrides), ``presets`` (the named runs),
   ``config_files`` (run configs as files);
5. ``training`` (the engine), ``evaluation`` (``rfn evaluate``);
6. ``profiles`` (each book profile's presets, protocol and page settings), ``runs`` (the
   book's runs: train or load, caches), ``book`` (build tooling), ``diagrams``
   (the book's figures drawn from the code), ``pages`` (the notebooks' helpers);
7. ``cli``, the command line ``rfn``.

The theory pages (``book/*.md``) name the function behind each equation, and those
functions' docstrings name the page and equation back (``tests/test_docs.py`` checks
both); book/rfn.md, section "Where the code lives", walks through the layout.

Example:
    >>> import rfn
    >>> model = rfn.load("reference-smmnist")  # doctest: +SKIP
    >>> model = rfn.load("runs/quick-smmnist/last.pt")  # doctest: +SKIP
    >>> model.predict(context, n_future=10, n_samples=5)  # doctest: +SKIP
"""

__version__ = "0.1.0"


def load(path, device=None, expected_model=None, layout="auto"):
    """Rebuild a trained model from a checkpoint (file or run folder), in eval mode.

    The checkpoint holds the model's name and config, so nothing else is needed;
    it is read with ``torch.load(weights_only=True)`` and cannot run code. The model
    comes in the memory layout that samples fastest (``layout="auto"``: channels-last,
    as ``rfn train`` uses); ``layout="contiguous"`` keeps PyTorch's default.
    See :func:`rfn.models.registry.load_model`. ``path`` may also name a reference
    model committed in the repository, e.g. ``"reference-smmnist"``
    (:func:`rfn.assets.reference_weights`).
    """
    import os
    import re

    from rfn.models.registry import load_model

    if isinstance(path, str) and not os.path.exists(path) and re.fullmatch(r"[\w.-]+", path):
        if not path.endswith((".pt", ".pth")):
            from rfn.assets import reference_weights

            path = reference_weights(path)

    return load_model(path, device=device, expected_model=expected_model, layout=layout)


__all__ = ["__version__", "load"]

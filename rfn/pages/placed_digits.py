"""Digits read at their place as a table for the book's pages (SM-MNIST, notebooks 05 and 06).

:func:`placed_digit_table` is :func:`rfn.metrics.placed_digits.placed_digit_curves` as a DataFrame: one
row per horizon ``t+1 .. t+K``, one column per prediction (true frames, the perfect sampler's mean and
best-of-N, each model's mean and best-of-N, the last context frame held, black frames, other sequences'
true futures), then the ratios to the perfect sampler. A page passes the clips and trajectories of its own
test indices, so every column is read on the same sequences and frames:

    >>> from rfn.data import StochasticMovingMNIST
    >>> test = StochasticMovingMNIST("test", seq_len=25, image_size=32, digit_size=16)  # doctest: +SKIP
    >>> idx = range(24)  # doctest: +SKIP
    >>> table = placed_digit_table({"RFN": samples}, test.batch(idx), [test.trajectory(i) for i in idx],
    ...                            test, context=5)  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from rfn.metrics.placed_digits import placed_digit_curves

__all__ = ["placed_digit_table"]


def placed_digit_table(model_or_samples, clips, trajectories, dataset, context: int, **kwargs) -> pd.DataFrame:
    """:func:`~rfn.metrics.placed_digits.placed_digit_curves` as a DataFrame indexed by horizon.

    The arguments are those of ``placed_digit_curves``. ``attrs`` holds everything else it returns
    (``stderr`` per column and horizon, ``perfect_sampler_off_truth``, sequences, samples, context, ...).
    """
    curves = placed_digit_curves(model_or_samples, clips, trajectories, dataset, context, **kwargs)
    table = pd.DataFrame(curves["columns"], index=pd.Index(curves["horizons"], name="horizon"))
    table.attrs.update({k: v for k, v in curves.items() if k not in ("columns", "horizons")})
    return table

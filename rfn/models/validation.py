"""Argument checks at the models' public entry points (``loss``, ``predict``).

A NaN temperature or a negative KL weight does not fail inside the network: it
silently gives all-black videos or a meaningless loss. :func:`check_arguments`
refuses such values with a message that names the argument and its allowed
range, and refuses an empty batch. It reads the arguments from the caller's
``locals()``, so each method checks itself with one line at its top.

Example:
    >>> import torch
    >>> check_arguments("loss", {"x": torch.zeros(2, 3), "beta": 1.0})
    >>> check_arguments("loss", {"x": torch.zeros(2, 3), "beta": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: loss: beta must be a finite number in [0, 10000], got nan
    >>> check_arguments("predict", {"context": torch.zeros(0, 2, 1, 4, 4), "n_future": 1})
    Traceback (most recent call last):
    ...
    ValueError: predict: context is an empty batch (shape (0, 2, 1, 4, 4)); pass at least one sequence
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["LIMITS", "check_arguments"]

#: argument name -> (low, high, integer?) accepted at the public entry points
LIMITS: dict[str, tuple[float, float, bool]] = {
    "beta": (0.0, 1e4, False),
    "temperature": (0.0, 10.0, False),
    "n_future": (1, 10_000, True),
    "n_samples": (1, 10_000, True),
    "n": (1, 1_000_000, True),
}
_BATCHES = ("x", "context", "batch", "cond")


def _limit(name: str) -> tuple[float, float, bool] | None:
    if name in LIMITS:
        return LIMITS[name]
    if name.endswith("temperature"):
        return LIMITS["temperature"]
    return None


def _check_number(method: str, name: str, value: Any) -> None:
    limit = _limit(name)
    if limit is None or value is None or isinstance(value, torch.Tensor):  # tensors: no host sync here
        return
    low, high, integer = limit
    kind = "an integer" if integer else "a finite number"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not math.isfinite(float(value)) or not low <= value <= high:
        show = f"{low:g}" if not integer else str(int(low))
        raise ValueError(f"{method}: {name} must be {kind} in [{show}, {high:g}], got {value!r}")


def _check_batch(method: str, name: str, value: Any) -> None:
    tensors = value if isinstance(value, (tuple, list)) else (value,)
    for t in tensors:
        if isinstance(t, torch.Tensor) and (t.dim() == 0 or t.shape[0] == 0):
            raise ValueError(
                f"{method}: {name} is an empty batch (shape {tuple(t.shape)}); pass at least one "
                f"{'sequence' if name == 'context' else 'item'}"
            )


def check_arguments(method: str, arguments: dict[str, Any]) -> None:
    """Check the arguments of a public model method (pass ``locals()`` as its first statement).

    Batches (``x``, ``context``, ``batch``, ``cond``) must hold at least one item; ``beta``,
    every ``*temperature``, ``n_future``,
    ``n_samples`` and ``n`` must lie in :data:`LIMITS`.

    Raises:
        ValueError: naming the method, the argument and the allowed range.

    Skipped while ``torch.compile`` traces the method (``train.compile``): a range check on a
    float would make the compiled graph specialise on each value (a recompile per step of the
    KL warm-up); the trainer's own values are in range by construction.
    """
    if torch.compiler.is_compiling():
        return
    for name, value in arguments.items():
        if name in _BATCHES:
            _check_batch(method, name, value)
        else:
            _check_number(method, name, value)

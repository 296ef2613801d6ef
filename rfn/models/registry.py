"""Name -> (config class, model class) registry, so a checkpoint can rebuild its model.

Every trainable model registers itself with :func:`register`; a checkpoint
stores ``model_name`` and ``asdict(model.config)``, and :func:`build` turns
them back into a model without pickling any code.

:func:`load_model` and :func:`model_from_checkpoint` rebuild a trained model from
a checkpoint file (``rfn.load`` is :func:`load_model`).

Registration also states what a model's batch is (its ``BATCH``, one of
:data:`BATCH_KINDS`), so the training engine can feed any registered model
and :func:`check_batch` can reject wrong data with a clear message before a run
starts:

==============  ===================================================================
``"video"``     ``uint8 [B, T, C, H, W]`` (the sequence models; the default)
``"images"``    ``uint8 [B, C, H, W]`` (:class:`~rfn.models.ImageGlow`)
``"pairs"``     ``(condition uint8 [B, C, H, W], target uint8 [B, C, h, w])``
``"sequences"`` float ``[B, T, D]`` (the dense SRNN/VRNN)
``"points"``    float ``[B, D]`` (a flow on points)
==============  ===================================================================

Example:
    >>> import torch
    >>> check_batch("images", torch.zeros(2, 1, 8, 8, dtype=torch.uint8))
    >>> check_batch("points", torch.zeros(2, 1, 8, 8))
    Traceback (most recent call last):
    ...
    ValueError: batch must be float [B, D] points (a 'points' model), got torch.float32 of shape (2, 1, 8, 8)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch
from torch import nn

from rfn.checkpoint import CheckpointError, load_checkpoint

__all__ = [
    "BATCH_KINDS",
    "LAYOUTS",
    "MODELS",
    "build",
    "check_batch",
    "load_model",
    "model_from_checkpoint",
    "register",
    "set_layout",
]

MODELS: dict[str, tuple[type, type[nn.Module]]] = {}

#: batch kind -> (number of tensors, their dimensions, uint8 or float, description)
BATCH_KINDS: dict[str, tuple[int, tuple[int, ...], bool, str]] = {
    "video": (1, (5,), True, "uint8 [B, T, C, H, W] video"),
    "images": (1, (4,), True, "uint8 [B, C, H, W] images"),
    "pairs": (2, (4, 4), True, "a (condition uint8 [B, C, H, W], target uint8 [B, C, h, w]) pair"),
    "sequences": (1, (3,), False, "float [B, T, D] sequences"),
    "points": (1, (2,), False, "float [B, D] points"),
}


#: memory layouts :func:`set_layout` (and so :func:`load_model`, ``rfn sample --layout``, ``rfn evaluate
#: --layout``) puts a model's convolution weights in: ``"auto"`` is channels-last, what ``rfn train`` uses (on
#: one CPU thread the quick RFN samples in 0.74x the contiguous layout's time at 5 samples per sequence and
#: 0.84x at 1, benchmarks/RESULTS.md; not measured on a GPU); ``"channels_last"`` names it; ``"contiguous"``
#: is PyTorch's default
LAYOUTS = ("auto", "channels_last", "contiguous")


def set_layout(model: nn.Module, layout: str = "auto") -> nn.Module:
    """Put ``model``'s 4-d weights (and so its activations) in ``layout`` (see :data:`LAYOUTS`), in place.

    The layout changes only how tensors sit in memory: the model computes the same function, its
    sampled frames equal the contiguous model's up to float rounding (a pixel on a bin edge can land
    one level apart) and the same frames in float64. Models without convolutions are unchanged.

    Example:
        >>> net = set_layout(nn.Conv2d(3, 8, 3), "channels_last")
        >>> net.weight.is_contiguous(memory_format=torch.channels_last)
        True
        >>> set_layout(net, "contiguous").weight.is_contiguous()
        True
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)} (auto: the fastest)")
    fmt = torch.contiguous_format if layout == "contiguous" else torch.channels_last
    return model.to(memory_format=fmt)


def register(name: str, config_cls: type, batch: str = "video"):
    """Class decorator: ``@register("rfn", RFNConfig)`` on the model class.

    Args:
        name: the model's name in checkpoints and presets.
        config_cls: its config dataclass.
        batch: what ``loss`` takes, one of :data:`BATCH_KINDS` (stored as the class's ``BATCH``).
    """
    if batch not in BATCH_KINDS:
        raise ValueError(f"unknown batch kind {batch!r} for model {name!r}; choose one of {', '.join(BATCH_KINDS)}")

    def wrap(model_cls: type[nn.Module]) -> type[nn.Module]:
        if name in MODELS and MODELS[name][1] is not model_cls:
            raise ValueError(f"model name {name!r} is already registered to {MODELS[name][1].__name__}")
        model_cls.NAME = name
        model_cls.BATCH = batch
        MODELS[name] = (config_cls, model_cls)
        return model_cls

    return wrap


def check_batch(model: nn.Module | str, batch: Any, name: str = "batch") -> None:
    """Raise a clear error unless ``batch`` is what ``model`` (or a batch kind) takes.

    Args:
        model: a registered model (its ``BATCH`` is used) or a batch kind name.
        batch: a tensor or a tuple of tensors.
        name: what the batch is called in the message.
    """
    kind = model if isinstance(model, str) else getattr(type(model), "BATCH", "video")
    n, dims, uint8, what = BATCH_KINDS[kind]
    tensors = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
    if len(tensors) != n or not all(isinstance(t, torch.Tensor) for t in tensors):
        got = f"a tuple of {len(tensors)}" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"{name} must be {what} (a {kind!r} model), got {got}")
    for t, dim in zip(tensors, dims):
        if uint8 and t.dtype != torch.uint8:
            raise TypeError(
                f"{name} must have dtype torch.uint8 with values 0..255 (as the data sets yield them), got "
                f"{t.dtype}; a {kind!r} model takes {what}"
            )
        if t.dim() != dim or (not uint8 and not t.is_floating_point()):
            raise ValueError(f"{name} must be {what} (a {kind!r} model), got {t.dtype} of shape {tuple(t.shape)}")
    if n > 1 and len({t.shape[0] for t in tensors}) > 1:
        raise ValueError(
            f"{name}: the tensors of a pair must have the same batch size, got {[len(t) for t in tensors]}"
        )


def config_from_dict(config_cls: type, values: dict[str, Any]):
    """Build a (possibly nested) config dataclass from a plain dict, rejecting unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown {config_cls.__name__} keys {unknown}; valid keys: {', '.join(sorted(fields))}")
    kwargs = {}
    for k, v in values.items():
        ftype = fields[k].type
        sub = ftype if isinstance(ftype, type) else None
        if sub is None and isinstance(ftype, str):
            sub = next((c for c in _nested_candidates(config_cls) if c.__name__ == ftype), None)
        if sub is not None and dataclasses.is_dataclass(sub) and isinstance(v, dict):
            v = config_from_dict(sub, v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[k] = v
    return config_cls(**kwargs)


def _nested_candidates(config_cls: type) -> list[type]:
    import sys

    module = sys.modules[config_cls.__module__]
    return [v for v in vars(module).values() if isinstance(v, type) and dataclasses.is_dataclass(v)]


def build(name: str, config: dict[str, Any] | Any) -> nn.Module:
    """Instantiate a registered model from its name and config (dataclass or dict)."""
    # importing the models package registers every model
    import rfn.models  # noqa: F401

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(sorted(MODELS)) or 'none'}")
    config_cls, model_cls = MODELS[name]
    if isinstance(config, dict):
        config = config_from_dict(config_cls, config)
    return model_cls(config)


def model_from_checkpoint(
    data: dict[str, Any],
    device: str | torch.device | None = None,
    source: str = "the checkpoint",
    layout: str = "auto",
) -> nn.Module:
    """Rebuild the model held by an already loaded checkpoint dict (see :func:`load_model`)."""
    if layout not in LAYOUTS:  # before the weights are read
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)} (auto: the fastest)")
    try:
        model = build(data["model_name"], data["model_config"])
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"cannot rebuild the model stored in {source}: {err}") from None
    try:
        model.load_state_dict(data["model"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"the weights in {source} do not fit a {data['model_name']!r} model built from the stored config: "
            f"{str(err)[:500]}"
        ) from None
    return set_layout(model.to(device if device is not None else "cpu"), layout).eval()


def load_model(
    path: str | os.PathLike,
    device: str | torch.device | None = None,
    expected_model: str | None = None,
    layout: str = "auto",
) -> nn.Module:
    """Rebuild a trained model from a checkpoint alone, in eval mode, in the fastest memory layout.

    The model class is looked up by the stored name in the registry and
    instantiated from the stored config; then its weights are loaded strictly.

    Args:
        path: checkpoint file (or run folder holding ``last.pt``).
        device: where the model goes (default: CPU).
        expected_model: if given, the model name the checkpoint must hold.
        layout: memory layout of the weights (:data:`LAYOUTS`): ``"auto"`` (channels-last, as
            ``rfn train`` uses; the faster one for sampling and evaluation) or ``"contiguous"``.

    Returns:
        The model, in ``eval()`` mode, on ``device``, in ``layout`` (:func:`set_layout`).

    Raises:
        FileNotFoundError, CheckpointError: as :func:`rfn.checkpoint.load_checkpoint`; also
            CheckpointError when the stored model name is not registered or the
            weights do not fit the rebuilt model.
    """
    data = load_checkpoint(path, map_location="cpu", expected_model=expected_model)
    return model_from_checkpoint(data, device=device, source=str(path), layout=layout)

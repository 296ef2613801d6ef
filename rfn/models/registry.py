"""Name -> (config class, model class) registry, so a checkpoint can rebuild its model.

Every trainable model registers itself with :func:`register`; a checkpoint
stores ``model_name`` and ``asdict(model.config)``, and :func:`build` turns
them back into a model without pickling any code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

__all__ = ["MODELS", "build", "register"]

MODELS: dict[str, tuple[type, type[nn.Module]]] = {}


def register(name: str, config_cls: type):
    """Class decorator: ``@register("rfn", RFNConfig)`` on the model class."""

    def wrap(model_cls: type[nn.Module]) -> type[nn.Module]:
        if name in MODELS and MODELS[name][1] is not model_cls:
            raise ValueError(f"model name {name!r} is already registered to {MODELS[name][1].__name__}")
        model_cls.NAME = name
        MODELS[name] = (config_cls, model_cls)
        return model_cls

    return wrap


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

"""Run configurations as files: ``rfn train --config FILE`` and ``rfn train --print-config``.

A config file is YAML (JSON is YAML too) in one of two shapes:

* **complete**, as ``--print-config`` writes it, or a run's own ``run.json``: the model
  name and its whole config, the data config and the training config. Relaunching from
  it trains the same run (``rfn train --config runs/a/run.json --out runs/b`` repeats
  ``runs/a`` bitwise on a CPU). Training keys the file lacks (a run written by an older
  version) take their defaults; unknown keys are refused.
* **partial**: ``preset: NAME`` plus any of ``model``/``data``/``train`` mappings that
  change it (``train: {lr: 1e-3}``), and ``set:`` a list of ``--set`` strings.

``--set``, ``--steps``, ``--seed``, ``--device``, ``--data-root`` and ``--quiet`` still
apply on top of the file.

Example:
    >>> from rfn.config import DataConfig, Preset
    >>> p = Preset("demo", model="m", model_config={"width": 8}, data=DataConfig("toy", seq_len=4), train={"lr": 0.01})
    >>> text = config_text(p)
    >>> print(text.splitlines()[1])
    preset: demo
    >>> q = preset_from_mapping(yaml.safe_load(text), "demo.yaml")
    >>> (q.model, q.model_config, q.data.seq_len, q.train_config().lr) == ("m", {"width": 8}, 4, 0.01)
    True
    >>> preset_from_mapping({"model_name": "m", "data_config": {"name": "toy"}, "train_config": {"lrr": 1}}, "x.json")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x.json: unknown train settings ['lrr']; valid: lr, batch_size, steps, ...
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from rfn.config import DataConfig, Preset, TrainConfig
from rfn.presets import apply_overrides, get_preset

__all__ = ["config_text", "load_config", "option_overrides", "preset_from_mapping"]

_COMPLETE = {"model_name": "model", "model_config": "model_config", "data_config": "data", "train_config": "train"}
_TOP_KEYS = {"preset", "model", "model_config", "data", "train", "set", "meta", *_COMPLETE}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-3`` as a string; this loader reads it as the float it is (as YAML 1.2 and JSON do)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"""
        r"""|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"""
    ),
    list("-+0123456789."),
)


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: what YAML and JSON hold."""
    return json.loads(json.dumps(value, default=str))


def _train_settings(train: Any, source: str) -> dict[str, Any]:
    if not isinstance(train, dict):
        raise ValueError(f"{source}: train must be a mapping of training settings, got {type(train).__name__}")
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(train) - set(fields))
    if unknown:
        raise ValueError(f"{source}: unknown train settings {unknown}; valid: {', '.join(fields)}")
    ints = {f.name for f in dataclasses.fields(TrainConfig) if f.type in ("int", "int | None")}
    # 3e5 steps in YAML is a float
    return {k: int(v) if k in ints and isinstance(v, float) and v.is_integer() else v for k, v in train.items()}


def _section(cfg: dict[str, Any], key: str, source: str, kinds: tuple[type, ...] = (dict,)) -> Any:
    """``cfg[key]`` (``{}`` when absent or empty), refused in one line when it is not of ``kinds``."""
    value = cfg.get(key)
    if value is None:
        return {} if dict in kinds else value
    if isinstance(value, bool) or not isinstance(value, kinds):
        want = " or ".join("a mapping" if k is dict else f"a {k.__name__}" for k in kinds)
        raise ValueError(f"{source}: the {key} section must be {want}, got {type(value).__name__} {value!r:.60}")
    return value


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in change.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def preset_from_mapping(cfg: Any, source: str = "config") -> Preset:
    """The :class:`~rfn.config.Preset` a parsed config file describes (complete, ``run.json``, or partial).

    Raises:
        ValueError: not a mapping, unknown keys, or neither a model nor a preset named.
    """
    if not isinstance(cfg, dict):
        raise ValueError(f"{source} must hold a mapping (preset:, model:, data:, train:), got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - _TOP_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown keys {unknown}; valid: preset, model, model_config, data, train, set")
    cfg = {_COMPLETE.get(k, k): v for k, v in cfg.items()}
    meta = _section(cfg, "meta", source)
    for key in ("data", "model_config", "train"):
        _section(cfg, key, source)
    _section(cfg, "model", source, (str, dict))
    if (cfg.get("data") or {}).get("kwargs") is not None and not isinstance(cfg["data"]["kwargs"], dict):
        raise ValueError(f"{source}: data.kwargs must be a mapping of data-set options")
    name = cfg.get("preset") or meta.get("preset") or Path(source).stem
    if "model" in cfg and not isinstance(cfg["model"], dict):  # complete: the file says everything
        data = dict(cfg.get("data") or {})
        known = {f.name for f in dataclasses.fields(DataConfig)}
        if "name" not in data or set(data) - known:
            raise ValueError(f"{source}: data needs a name and only the keys {sorted(known)}, got {sorted(data)}")
        preset = Preset(
            name=str(name),
            model=cfg["model"],
            model_config=copy.deepcopy(cfg.get("model_config") or {}),
            data=DataConfig(**data),
            train=_train_settings(cfg.get("train") or {}, source),
        )
    elif "preset" in cfg:  # partial: a preset and what changes
        preset = get_preset(str(cfg["preset"]))
        if isinstance(cfg.get("model"), dict) or "model_config" in cfg:
            preset.model_config = _merge(preset.model_config, cfg.get("model_config") or cfg.get("model") or {})
        data = cfg.get("data") or {}
        for key, value in data.items():
            if key == "kwargs":
                preset.data.kwargs.update(value)
            elif key in {f.name for f in dataclasses.fields(DataConfig)}:
                setattr(preset.data, key, value)
            else:
                preset.data.kwargs[key] = value
        preset.train.update(_train_settings(cfg.get("train") or {}, source))
    else:
        raise ValueError(f"{source} names neither a model (model:, as --print-config writes) nor a preset (preset:)")
    extra = cfg.get("set") or []
    if not isinstance(extra, list):
        raise ValueError(f"{source}: set must be a list of KEY=VALUE strings, e.g. [train.lr=1e-3]")
    try:
        preset.train_config()
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: invalid training settings: {err}") from None
    return apply_overrides(preset, [str(s) for s in extra])


def load_config(path: str | os.PathLike) -> Preset:
    """Read a config file (YAML or JSON; a run folder means its ``run.json``) as a preset."""
    path = Path(path)
    if path.is_dir():
        path = path / "run.json"
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist; pass a YAML file or a run's run.json")
    try:
        cfg = yaml.load(path.read_bytes().decode("utf-8"), Loader=_Loader)  # a SafeLoader: plain data only
    except UnicodeDecodeError as err:
        msg = f"{path} is not a text file (not UTF-8 at byte {err.start}); pass a YAML file or a run's run.json"
        raise ValueError(msg) from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML or JSON: {' '.join(str(err).split())}") from None
    return preset_from_mapping(cfg, str(path))


def config_text(preset: Preset) -> str:
    """The complete config of ``preset`` (every training setting resolved) as YAML that ``--config`` reads back."""
    from rfn.models.registry import MODELS, config_from_dict

    model_config = preset.model_config
    entry = MODELS.get(preset.model)
    if entry is not None:  # every field of the model's config, defaults included
        model_config = dataclasses.asdict(config_from_dict(entry[0], copy.deepcopy(preset.model_config)))
    doc = {
        "preset": preset.name,
        "model": preset.model,
        "model_config": _plain(model_config),
        "data": _plain(dataclasses.asdict(preset.data)),
        "train": _plain(dataclasses.asdict(preset.train_config())),
    }
    head = "# rfn train --config FILE --out DIR  (this whole file; --set KEY=VALUE still applies on top)\n"
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def option_overrides(
    steps: int | None = None,
    seed: int | None = None,
    device: str | None = None,
    data_root: str | None = None,
    quiet: bool = False,
) -> list[str]:
    """The ``--set`` strings that ``rfn train``'s shared options stand for (those given).

    Example:
        >>> option_overrides(steps=100, seed=1, data_root="/data/bair", quiet=True)
        ['train.steps=100', 'train.seed=1', "data.root='/data/bair'", 'train.progress=False', 'train.summary=False']
    """
    out = []
    if steps is not None:
        out.append(f"train.steps={steps}")
    if seed is not None:
        out.append(f"train.seed={seed}")
    if device is not None:
        out.append(f"train.device={device}")
    if data_root is not None:
        out.append(f"data.root={str(data_root)!r}")  # quoted: a path is not a Python literal
    if quiet:
        out += ["train.progress=False", "train.summary=False"]
    return out

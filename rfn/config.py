"""Run configs and ``key=value`` overrides: one command line names a whole experiment.

A :class:`Preset` bundles a registered model with its config, a data set with
its settings, and the training settings that differ from
:class:`TrainConfig`'s defaults. The named presets live in :mod:`rfn.presets`
(:mod:`rfn.presets.catalogue`); :func:`apply_overrides` returns a
copy changed by strings such as ``train.lr=1e-3``, ``model.levels=3`` or
``data.seq_len=12``. Values are Python literals checked against the type of
the field they set, so a typo fails at once with the list of valid keys
instead of hours into a run.

Example:
    >>> p = Preset("demo", model="m", model_config={}, data=DataConfig("toy"), train={"steps": 10})
    >>> apply_overrides(p, ["train.lr=1e-3", "data.seq_len=12"]).train
    {'steps': 10, 'lr': 0.001}
    >>> apply_overrides(p, ["data.seq_len=12"]).data.seq_len
    12
    >>> apply_overrides(p, ["train.lr=fast"])
    Traceback (most recent call last):
    ...
    ValueError: train.lr=fast: expected float, got 'fast'
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "IDENTITY_DEFAULTS",
    "IDENTITY_KEYS",
    "DataConfig",
    "Preset",
    "TrainConfig",
    "apply_overrides",
]


@dataclass
class TrainConfig:
    """Everything the training loop needs besides the model and the data.

    Defaults follow thesis Tables A.2/A.3 where they give a value (Adam,
    lr 3e-4, batch 35, 300k steps with linear decay over the final half,
    beta from 1e-6 to 1); the rest are this project's choices.

    Attributes:
        lr: Adam learning rate before the decay.
        batch_size: global batch of data items (split evenly across data-parallel ranks).
        steps: total optimiser steps of the run.
        decay_start: step where the linear decay to zero starts; ``None``
            means ``steps // 2`` (the thesis: 150k of 300k).
        warmup_steps: steps of a linear learning-rate warm-up from ``lr / warmup_steps``
            to ``lr`` (0: none, the thesis's schedule; Glow uses one).
        beta_start: KL weight at step 0.
        beta_end: KL weight after the warm-up.
        beta_warmup_steps: steps of the linear beta warm-up (0: ``beta_end`` at once).
            The thesis gives no length; 10k is this project's choice.
        grad_clip: maximum global gradient norm, ``None`` for no clipping
            (the norm is still computed, logged and checked for finiteness).
        max_nonfinite: skipped non-finite steps tolerated before the run stops.
        ckpt_every: steps between checkpoints (one is always written at the end).
        val_every: steps between validations (0: never; always at the end if a
            validation set is given).
        val_batches: number of global batches of the validation set per validation.
        log_every: steps between log rows (CSV, TensorBoard, progress bar).
        seed: seed of every random generator and of the data order.
        num_workers: DataLoader worker processes.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        bf16: bfloat16 autocast on CUDA (ignored on other devices); models
            keep log-determinants and likelihood sums in float32 themselves.
        cpu_bf16: bfloat16 autocast on a CPU that computes it natively (AVX512-BF16 or AMX,
            :func:`rfn.runtime.bf16_native`; an error on other CPUs, where it would be slower).
            Off by default: it shortens a step a little but trained to a worse test bpp than
            float32 (measurements in ``benchmarks/RESULTS.md``).
        tf32: allow TensorFloat-32 matmuls/convolutions on CUDA.
        channels_last: convert the model to channels-last memory format.
        compile: wrap the training forward in :func:`torch.compile` (inductor). Off by default: on a
            small CPU the compiled step was not faster than the eager one after a first step that
            compiles for minutes (``benchmarks/RESULTS.md``); on a GPU it is the ``--compile`` of
            ``benchmarks/throughput.py``. Needs a C++ compiler on a CPU (without one the run warns
            and trains eagerly). Not part of the run's identity.
        grad_checkpoint: ask the model to recompute activations in the backward
            pass (the model must have ``set_grad_checkpointing(bool)``).
        ddp_find_unused: let DistributedDataParallel look for parameters the loss does not use.
        progress: show a tqdm progress bar (main process only).
        summary: print the start-of-run summary and a line per checkpoint (main process);
            ``None`` follows ``progress``. ``rfn train`` turns it on, ``--quiet`` off.
        tensorboard: write TensorBoard event files to ``out_dir/tb`` (scalars, the run's
            hyper-parameters, predicted frames at each validation).
        keep_previous: keep the checkpoint before ``last.pt`` as ``prev.pt``.
        accumulate: micro-batches per optimiser step (gradient accumulation): each process
            runs its share of ``batch_size`` in this many pieces, with the same update as the
            whole batch (:mod:`rfn.training.accumulate`); 1: none. Not part of the run's identity.
        keep_best: write ``best.pt``, the checkpoint with the lowest validation bpp so far.
    """

    lr: float = 3e-4
    batch_size: int = 35
    steps: int = 300_000
    decay_start: int | None = None
    warmup_steps: int = 0
    beta_start: float = 1e-6
    beta_end: float = 1.0
    beta_warmup_steps: int = 10_000
    grad_clip: float | None = None
    max_nonfinite: int = 100
    ckpt_every: int = 5_000
    val_every: int = 5_000
    val_batches: int = 10
    log_every: int = 100
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    bf16: bool = True
    cpu_bf16: bool = False
    tf32: bool = True
    channels_last: bool = False
    compile: bool = False
    grad_checkpoint: bool = False
    ddp_find_unused: bool = False
    progress: bool = True
    tensorboard: bool = True
    keep_previous: bool = True
    accumulate: int = 1
    keep_best: bool = True
    summary: bool | None = None

    def __post_init__(self) -> None:
        def need(cond: bool, key: str, what: str) -> None:
            if not cond:
                raise ValueError(f"train.{key} must be {what}, got {getattr(self, key)!r}")

        need(self.lr > 0 and math.isfinite(self.lr), "lr", "a positive finite float")
        for key in ("batch_size", "steps", "ckpt_every", "log_every", "val_batches", "accumulate"):
            need(isinstance(getattr(self, key), int) and getattr(self, key) >= 1, key, "an integer >= 1")
        for key in ("warmup_steps", "beta_warmup_steps", "max_nonfinite", "val_every", "num_workers"):
            need(isinstance(getattr(self, key), int) and getattr(self, key) >= 0, key, "an integer >= 0")
        need(
            self.decay_start is None or (isinstance(self.decay_start, int) and 0 <= self.decay_start <= self.steps),
            "decay_start",
            f"None or an integer in [0, steps={self.steps}]",
        )
        need(0 <= self.beta_start <= self.beta_end, "beta_start", f"in [0, beta_end={self.beta_end}]")
        need(self.grad_clip is None or self.grad_clip > 0, "grad_clip", "None or a positive float")
        need(self.batch_size % self.accumulate == 0, "accumulate", f"a divisor of batch_size={self.batch_size}")

    @property
    def decay_start_step(self) -> int:
        """The step where the linear learning-rate decay starts (``decay_start`` resolved)."""
        return self.steps // 2 if self.decay_start is None else self.decay_start


# Train settings that define a run: a restart with other values would not continue the same run.
# A key missing from a run written by an older version counts as its default (see IDENTITY_DEFAULTS).
IDENTITY_KEYS = (
    "lr",
    "batch_size",
    "decay_start",
    "beta_start",
    "beta_end",
    "beta_warmup_steps",
    "grad_clip",
    "seed",
    "warmup_steps",
)
IDENTITY_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in IDENTITY_KEYS}


@dataclass
class DataConfig:
    """Which data set a run trains on (arguments of ``rfn.data.make_dataset``).

    Attributes:
        name: data set name, e.g. ``"smmnist"``.
        seq_len: frames (time steps) per training sequence; ``None`` for data sets of
            single items (images, image pairs, points).
        root: folder of data on disk (``None``: the data set's default).
        val_split: split used for validation during training.
        kwargs: further keyword arguments of the data set (e.g. ``{"num_digits": 2}``).
    """

    name: str
    seq_len: int | None = 10
    root: str | None = None
    val_split: str = "test"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preset:
    """A named experiment: model, data and training settings.

    Attributes:
        name: the preset's name (``rfn train --preset NAME``).
        model: registered model name (see ``rfn.models.registry.MODELS``).
        model_config: fields of the model's config dataclass that differ from its defaults.
        data: the :class:`DataConfig`.
        train: fields of :class:`TrainConfig` that differ from its defaults.
        description: one line for ``rfn presets``.
    """

    name: str
    model: str
    model_config: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=lambda: DataConfig("smmnist"))
    train: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def train_config(self) -> TrainConfig:
        """The full :class:`TrainConfig` (defaults plus this preset's values), validated."""
        return TrainConfig(**self.train)


# ----------------------------------------------------------------------------- value parsing


def _parse_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text  # a bare word such as `cuda` or `smmnist`


def _type_name(tp: Any) -> str:
    if typing.get_args(tp):
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, raw: str, tp: Any, key: str) -> Any:
    """``value`` (parsed from ``raw``) checked against annotation ``tp``; raises ValueError naming ``key``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or raw.strip().lower() in ("none", "null")):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, raw, arg, key)
            except ValueError as err:
                errors.append(str(err))
        raise ValueError(f"{key}={raw}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")
    if origin is typing.Literal:
        if value in args or raw in args:
            return value if value in args else raw
        raise ValueError(f"{key}={raw}: expected one of {list(args)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on")
        raise ValueError(f"{key}={raw}: expected bool (True/False), got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and "e" in raw.lower():
            return int(value)  # 3e5 steps
        raise ValueError(f"{key}={raw}: expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"{key}={raw}: expected float, got {value!r}")
    if tp is str:
        return value if isinstance(value, str) else raw.strip()
    if origin in (tuple, list) or tp in (tuple, list):
        if not isinstance(value, (tuple, list)):
            value = (value,) if origin is tuple and args and args[-1] is Ellipsis else value
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"{key}={raw}: expected {_type_name(tp)}, e.g. (1, 2), got {value!r}")
        if args:
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                if len(args) != len(value):
                    raise ValueError(f"{key}={raw}: expected {len(args)} items, got {len(value)}")
                items = [_coerce(v, repr(v), a, key) for v, a in zip(value, args)]
            else:
                items = [_coerce(v, repr(v), args[0], key) for v in value]
        else:
            items = list(value)
        return tuple(items) if (origin or tp) is tuple else items
    if origin is dict or tp is dict:
        if isinstance(value, dict):
            return value
        raise ValueError(f"{key}={raw}: expected a dict literal, got {value!r}")
    if dataclasses.is_dataclass(tp):
        valid = ", ".join(f"{key}.{f.name}" for f in dataclasses.fields(tp))
        raise ValueError(f"{key} is a group of settings; set its fields instead: {valid}")
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise ValueError(f"{key}={raw}: expected {tp.__name__}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- override targets


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _model_config_cls(model: str) -> type | None:
    from rfn.models.registry import MODELS

    if model not in MODELS:
        try:
            import rfn.models  # noqa: F401  (registers the models)
        except ImportError:
            return None
    entry = MODELS.get(model)
    return entry[0] if entry else None


def _dataclass_keys(cls: type, prefix: str) -> dict[str, Any]:
    """Dotted key -> annotation for every leaf field of a (nested) dataclass."""
    out: dict[str, Any] = {}
    for name, tp in _hints(cls).items():
        if dataclasses.is_dataclass(tp):
            out.update(_dataclass_keys(tp, f"{prefix}{name}."))
        else:
            out[prefix + name] = tp
    return out


def _valid_keys(preset: Preset) -> dict[str, Any]:
    """Every overridable dotted key of ``preset`` -> its type annotation."""
    keys = {f"train.{k}": tp for k, tp in _hints(TrainConfig).items()}
    data_hints = _hints(DataConfig)
    keys.update({f"data.{k}": tp for k, tp in data_hints.items() if k != "kwargs"})
    # data set options: those the preset already sets, typed by their current value
    for k, v in preset.data.kwargs.items():
        keys[f"data.{k}"] = type(v) if v is not None else Any
    cfg_cls = _model_config_cls(preset.model)
    if cfg_cls is not None:
        keys.update(_dataclass_keys(cfg_cls, "model."))
    else:
        keys.update({f"model.{k}": (type(v) if v is not None else Any) for k, v in preset.model_config.items()})
    return keys


def _resolve_key(key: str, valid: dict[str, Any]) -> str:
    if key in valid:
        return key
    if "." not in key:
        matches = [k for k in valid if k.split(".", 1)[1] == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(f"override key {key!r} is ambiguous; write one of {', '.join(sorted(matches))}")
    listing = ", ".join(sorted(valid))
    raise ValueError(f"unknown override key {key!r}; valid keys: {listing}")


def apply_overrides(preset: Preset, overrides: list[str] | tuple[str, ...]) -> Preset:
    """A copy of ``preset`` with ``key=value`` overrides applied, each checked against its field's type.

    Args:
        preset: the preset to start from (not modified).
        overrides: strings ``section.key=value`` with section ``train``, ``model``
            or ``data`` (nested model fields as ``model.flow.levels=3``); a bare
            ``key=value`` works when only one section has that key. Values are
            Python literals (``3``, ``1e-3``, ``True``, ``None``, ``(1, 2)``, ``'text'``);
            a bare word is taken as a string.

    Raises:
        ValueError: malformed override, unknown or ambiguous key (the message
            lists the valid keys), or a value of the wrong type.
    """
    out = copy.deepcopy(preset)
    valid = _valid_keys(preset)
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value (e.g. train.lr=1e-3)")
        key, raw = item.split("=", 1)
        key = _resolve_key(key.strip(), valid)
        value = _coerce(_parse_literal(raw.strip()), raw, valid[key], key)
        section, rest = key.split(".", 1)
        if section == "train":
            out.train[rest] = value
        elif section == "data":
            if rest == "name" and value != out.data.name:
                out.data.kwargs = {}  # the options of the preset's data set do not belong to another one
            if rest in {f.name for f in dataclasses.fields(DataConfig)}:
                setattr(out.data, rest, value)
            else:
                out.data.kwargs[rest] = value
        else:
            node = out.model_config
            *parents, leaf = rest.split(".")
            for p in parents:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    raise ValueError(f"cannot set {key}: model config entry {p!r} is not a group")
            node[leaf] = value
    try:
        out.train_config()
    except (TypeError, ValueError) as err:
        raise ValueError(f"overrides {list(overrides)} give invalid training settings: {err}") from None
    cfg_cls = _model_config_cls(out.model)
    if cfg_cls is not None:
        from rfn.models.registry import config_from_dict

        try:
            config_from_dict(cfg_cls, copy.deepcopy(out.model_config))  # the model config's own checks
        except (TypeError, ValueError) as err:
            raise ValueError(f"overrides {list(overrides)} give an invalid {out.model!r} model config: {err}") from None
    if out.data.seq_len is not None and out.data.seq_len < 2:
        raise ValueError(
            f"data.seq_len must be at least 2 (one conditioning frame and one to predict), got {out.data.seq_len}"
        )
    return out

"""Train-or-load for the book: checkpoints that notebooks reuse across runs.

A notebook asks for a model by what it is (``"rfn"``, ``"srnn"``, ...), the book's
profile and a seed; :func:`ensure_trained` returns the trained model, training it
first through the normal engine (:class:`rfn.train.Trainer`) when no finished run
exists under ``artifacts/<profile>/<name>-seed<seed>/`` (a partial run resumes).
Heavy work therefore runs with plain ``rfn`` commands on any machine (``rfn train
--preset NAME --out artifacts/full/rfn-smmnist-seed0``) and notebooks pick the
result up. :func:`cached_json` stores numbers computed from a checkpoint beside
it, so pages re-render without recomputing them.

Example:
    >>> preset_for("rfn", "quick")
    'quick-smmnist'
    >>> str(run_dir("srnn", "smoke", seed=1, root="artifacts"))
    'artifacts/smoke/srnn-smmnist-seed1'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["MODEL_KINDS", "PROFILE_PRESETS", "cached_json", "ensure_trained", "preset_for", "run_dir", "train_preset"]

MODEL_KINDS = ("rfn", "srnn", "vrnn", "deterministic")

PROFILE_PRESETS: dict[str, dict[str, str]] = {
    "smoke": {"rfn": "smoke", "srnn": "smoke-srnn", "vrnn": "smoke-vrnn", "deterministic": "smoke-deterministic"},
    "quick": {
        "rfn": "quick-smmnist",
        "srnn": "quick-smmnist-srnn",
        "vrnn": "quick-smmnist-vrnn",
        "deterministic": "quick-smmnist-deterministic",
    },
    "full": {
        "rfn": "thesis-smmnist",
        "srnn": "thesis-smmnist-srnn",
        "vrnn": "thesis-smmnist-vrnn",
        "deterministic": "quick-smmnist-deterministic",
    },
}


def preset_for(kind: str, profile: str) -> str:
    """The preset that trains model ``kind`` at a book profile."""
    if profile not in PROFILE_PRESETS:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_PRESETS)}")
    if kind not in PROFILE_PRESETS[profile]:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    return PROFILE_PRESETS[profile][kind]


def run_dir(kind: str, profile: str, seed: int = 0, root: str | os.PathLike = "artifacts", dataset: str = "smmnist"):
    """Folder of the run that trains ``kind`` at ``profile`` with ``seed``."""
    preset_for(kind, profile)
    return Path(root) / profile / f"{kind}-{dataset}-seed{seed}"


def train_preset(
    preset_name: str,
    out: str | os.PathLike,
    overrides: Sequence[str] = (),
    resume: bool = False,
    meta: dict[str, Any] | None = None,
):
    """Train a preset (with ``--set``-style overrides) into ``out``; returns ``(trainer, rows)``."""
    from rfn.data import make_datasets
    from rfn.models.registry import build
    from rfn.presets import apply_overrides, get_preset
    from rfn.train import Trainer, seed_everything

    preset = apply_overrides(get_preset(preset_name), list(overrides))
    cfg = preset.train_config()
    seed_everything(cfg.seed)
    model = build(preset.model, preset.model_config)
    data = asdict(preset.data)
    train_set, val_set = make_datasets(data)
    info = {"preset": preset.name, "overrides": list(overrides), **(meta or {})}
    trainer = Trainer(model, train_set, val_set, cfg, out, data_config=data, resume=resume, meta=info)
    rows = trainer.fit()
    return trainer, rows


def _finished(ckpt: Path, steps: int) -> bool:
    from rfn.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(ckpt)["step"]) >= steps
    except (OSError, ValueError):
        return False


def ensure_trained(
    kind: str = "rfn",
    profile: str = "quick",
    seed: int = 0,
    root: str | os.PathLike = "artifacts",
    overrides: Sequence[str] = (),
    device: str | None = None,
) -> nn.Module:
    """Load the finished run of ``kind`` at ``profile``; train (or resume) it first if needed.

    Returns the model in eval mode on ``device`` (CPU by default).
    """
    from rfn.checkpoint import load_model
    from rfn.presets import apply_overrides, get_preset

    name = preset_for(kind, profile)
    extra = [f"train.seed={seed}", *overrides]
    if device is not None:
        extra.append(f"train.device={device}")
    steps = apply_overrides(get_preset(name), extra).train_config().steps
    out = run_dir(kind, profile, seed, root)
    ckpt = out / "last.pt"
    if not _finished(ckpt, steps):
        train_preset(name, out, extra, resume=ckpt.exists(), meta={"kind": kind, "profile": profile})
    return load_model(ckpt, device=device if device not in (None, "auto") else None)


def cached_json(path: str | os.PathLike, compute: Callable[[], Any], key: dict[str, Any] | None = None) -> Any:
    """Return the JSON stored at ``path`` if it was made with the same ``key``; else compute and store it.

    ``key`` describes what the numbers depend on (checkpoint step, protocol, seed, ...);
    a different key recomputes. The file is written atomically.
    """
    path = Path(path)
    tag = hashlib.sha256(json.dumps(key or {}, sort_keys=True, default=str).encode()).hexdigest()[:16]
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
            if stored.get("key") == tag:
                return stored["value"]
        except (ValueError, KeyError):
            pass
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"key": tag, "value": value}, default=_jsonable))
    os.replace(tmp, path)
    return json.loads(path.read_text())["value"]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} as JSON")

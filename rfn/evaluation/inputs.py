"""What an evaluation reads: the model and its data config, the protocol, the test sequences, the seeds.

Every function here raises ``ValueError`` with a message saying what to pass instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from rfn.metrics.protocol import PROTOCOLS, Protocol, get_protocol
from rfn.runtime import derive_seed

__all__ = ["batches", "check_data", "load_model", "make_split", "phase_seed", "resolve_protocol", "select_sequences"]


def load_model(
    model_or_path: str | os.PathLike | torch.nn.Module,
    device: torch.device,
    data_config: dict | None,
    layout: str = "auto",
) -> tuple[torch.nn.Module, dict, dict[str, Any]]:
    """Model on ``device`` in eval mode, its data config, and what identifies the checkpoint.

    ``layout`` as :func:`rfn.models.registry.set_layout`, except that ``"auto"`` leaves a given model
    object in the layout it has (its caller may hold an optimiser whose state follows that layout).

    Raises:
        ValueError: a model object without ``data_config``, or a checkpoint without a data config.
        FileNotFoundError: no such checkpoint.
    """
    from rfn.checkpoint import load_checkpoint
    from rfn.models.registry import model_from_checkpoint, set_layout

    if isinstance(model_or_path, torch.nn.Module):
        if data_config is None:
            raise ValueError(
                "evaluate() was given a model object, so its options also need data_config= (the run's data "
                "config dict: name, seq_len, root, kwargs); or pass the checkpoint path instead"
            )
        from rfn.models.registry import MODELS

        model = model_or_path.to(device).eval()
        if layout != "auto":
            set_layout(model, layout)
        names = [n for n, (_, cls) in MODELS.items() if cls is type(model)]
        name = names[0] if names else type(model).__name__
        return model, dict(data_config), {"path": None, "step": None, "model_name": name}
    path = Path(model_or_path)
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt, device=device, source=str(path), layout=layout)
    data = dict(data_config if data_config is not None else ckpt.get("data_config") or {})
    if "name" not in data:
        raise ValueError(
            f"{path} stores no data config (it was not written by `rfn train`); pass data_config= in the options"
        )
    info = {"path": str(path), "step": ckpt.get("step"), "model_name": ckpt["model_name"], "meta": ckpt.get("meta")}
    return model, data, info


def resolve_protocol(protocol: str | Protocol, samples: int | None, sequences: int | None) -> Protocol:
    """The named (or given) protocol with the sample and sequence counts overridden when not ``None``."""
    p = get_protocol(protocol)
    if samples is not None:
        p = p.replace(n_samples=samples)
    if sequences is not None:
        p = p.replace(n_test_sequences=sequences)
    return p


def check_data(protocol: Protocol, data: dict, source: str) -> None:
    """Refuse a protocol for another data set, or one needing longer sequences than the data set holds."""
    from rfn.data import dataset_info

    if data["name"] != protocol.dataset:
        fitting = sorted(n for n, p in PROTOCOLS.items() if p.dataset == data["name"])
        hint = f"protocols for {data['name']}: {', '.join(fitting)}" if fitting else "no named protocol fits it"
        raise ValueError(
            f"protocol {protocol.name!r} evaluates on the {protocol.dataset!r} data set but {source} was trained "
            f"on {data['name']!r}; {hint} (or pass protocol.replace(dataset=...) to evaluate())"
        )
    frames = dataset_info(data["name"])["frames"]
    if frames is not None and protocol.total_frames > frames:
        raise ValueError(
            f"protocol {protocol.name!r} needs {protocol.total_frames} frames per sequence "
            f"({protocol.context_frames} warm-up + {protocol.predicted_frames} predicted), but {data['name']} "
            f"sequences have only {frames}"
        )


def make_split(data: dict, split: str, seq_len: int, what: str):
    """The ``split`` of the run's data set with sequences of ``seq_len`` frames."""
    from rfn.data import make_dataset

    kwargs = dict(data.get("kwargs") or {})
    try:
        return make_dataset(data["name"], split=split, seq_len=seq_len, root=data.get("root"), **kwargs)
    except ValueError as err:
        raise ValueError(f"cannot build the {data['name']} {split!r} split for {what}: {err}") from None


def select_sequences(n_available: int, wanted: int | None, seed: int, what: str) -> list[int]:
    """Indices of the evaluated sequences: all, or ``wanted`` drawn without replacement by ``seed`` (sorted).

    Example:
        >>> select_sequences(5, None, 0, "x")
        [0, 1, 2, 3, 4]
        >>> len(select_sequences(100, 3, 0, "x")), select_sequences(100, 3, 0, "x") == select_sequences(100, 3, 0, "x")
        (3, True)
    """
    if wanted is None:
        return list(range(n_available))
    if wanted > n_available:
        raise ValueError(f"{what}: {wanted} test sequences requested but the split holds only {n_available}")
    g = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(n_available, generator=g)[:wanted].tolist())


def batches(ds, indices: list[int], batch: int):
    """``(batch index, uint8 [b, T, C, H, W])`` over ``indices`` in order, ``batch`` sequences at a time."""
    for start in range(0, len(indices), batch):
        idx = indices[start : start + batch]
        if hasattr(ds, "batch"):
            yield start // batch, ds.batch(idx)
        else:
            yield start // batch, torch.stack([ds[i] for i in idx])


def phase_seed(protocol: Protocol, phase: str, batch_index: int) -> int:
    """The seed of one batch of one phase (``"bpp"``, ``"iw"``, ``"samples"``): from the protocol's seed only.

    A phase's numbers therefore do not depend on which other phases ran.

    Example:
        >>> p = get_protocol("smoke")
        >>> phase_seed(p, "bpp", 0) == phase_seed(p, "bpp", 0) != phase_seed(p, "iw", 0)
        True
    """
    return derive_seed("rfn.evaluation", protocol.seed, phase, batch_index)

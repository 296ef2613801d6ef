"""The training engine: one loop for every sequence model, on one CPU or many GPUs.

Any ``nn.Module`` registered with :func:`rfn.models.registry.register` whose
``loss(x, beta)`` takes ``uint8`` video ``[B, T, C, H, W]`` and returns a dict
with ``"loss"`` (the negative beta-weighted ELBO in nats per dimension) and the
detached scalars ``"bpp"``, ``"nll_bpp"`` and ``"kl_bpp"`` trains here.

What the loop does, and why:

* **Optimiser and schedules** (thesis Tables A.2/A.3): Adam at ``lr``, held
  constant until ``decay_start`` and then decayed linearly to zero at ``steps``
  (:func:`lr_factor`); the KL weight beta rises linearly from ``beta_start`` to
  ``beta_end`` over ``beta_warmup_steps`` (:func:`beta_at`, Higgins et al., 2017).
* **Data order** is stateless: the ``global_batch`` indices of step ``s`` are
  drawn from a generator seeded by ``(seed, s)`` alone (:func:`step_indices`),
  so a run can restart at any step and see exactly the batches it would have
  seen, and under data parallelism rank ``r`` takes slice ``r`` of the same
  global batch. Within a batch the indices are distinct; across steps they are
  drawn independently (with replacement), not in epochs.
* **Non-finite guard**: a step whose loss or gradient norm is not finite is
  skipped (the fused Adam kernel reads a ``found_inf`` flag on the device,
  as under mixed-precision loss scaling) and counted; more than
  ``max_nonfinite`` skips stop the run with :class:`NonFiniteError`. Nothing
  inside a step waits for the device: metrics accumulate on the device and are
  read only every ``log_every`` steps, where the skip count is checked too.
* **Exact resume**: checkpoints hold the model, optimiser, scheduler, step,
  skip count and every random generator state (per rank), so ``N`` steps,
  a restart from the checkpoint and ``N`` more steps give bitwise the same
  parameters as ``2N`` steps straight on a CPU.
* **Data-dependent initialisation** (ActNorm): before the first step every
  rank runs one ``model.loss`` on the full global batch of step 0 without
  gradients, so all ranks start identical and equal to a one-process run.
* **Validation** every ``val_every`` steps: ``val_batches`` fixed batches of
  the held-out set, ``eval()`` mode, ``beta = 1``, under its own fixed random
  seed, so the numbers are comparable over time and do not disturb training's
  random stream.
* **Outputs** in ``out_dir``: ``run.json`` (what the run is), ``metrics.csv``
  (one row per logged step, fixed columns), TensorBoard events in ``tb/``,
  and ``last.pt`` / ``prev.pt`` checkpoints written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from rfn import distributed as dist_utils
from rfn.checkpoint import load_checkpoint, remove_stale_temporaries, save_checkpoint
from rfn.pixels import check_uint8

__all__ = [
    "IDENTITY_KEYS",
    "NonFiniteError",
    "RunDirectoryError",
    "StepBatchSampler",
    "TrainConfig",
    "Trainer",
    "beta_at",
    "get_rng_state",
    "lr_factor",
    "resolve_device",
    "seed_everything",
    "set_rng_state",
    "step_indices",
]


@dataclass
class TrainConfig:
    """Everything the training loop needs besides the model and the data.

    Defaults follow thesis Tables A.2/A.3 where they give a value (Adam,
    lr 3e-4, batch 35, 300k steps with linear decay over the final half,
    beta from 1e-6 to 1); the rest are this project's choices.

    Attributes:
        lr: Adam learning rate before the decay.
        batch_size: global batch (split evenly across data-parallel ranks).
        steps: total optimiser steps of the run.
        decay_start: step where the linear decay to zero starts; ``None``
            means ``steps // 2`` (the thesis: 150k of 300k).
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
        tf32: allow TensorFloat-32 matmuls/convolutions on CUDA.
        channels_last: convert the model to channels-last memory format.
        compile: wrap the training forward in :func:`torch.compile`.
        grad_checkpoint: ask the model to recompute activations in the backward
            pass (the model must have ``set_grad_checkpointing(bool)``).
        ddp_find_unused: let DistributedDataParallel look for parameters the loss does not use.
        progress: show a tqdm progress bar (main process only).
        tensorboard: write TensorBoard event files to ``out_dir/tb``.
        keep_previous: keep the checkpoint before ``last.pt`` as ``prev.pt``.
    """

    lr: float = 3e-4
    batch_size: int = 35
    steps: int = 300_000
    decay_start: int | None = None
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
    tf32: bool = True
    channels_last: bool = False
    compile: bool = False
    grad_checkpoint: bool = False
    ddp_find_unused: bool = False
    progress: bool = True
    tensorboard: bool = True
    keep_previous: bool = True

    def __post_init__(self) -> None:
        def need(cond: bool, key: str, what: str) -> None:
            if not cond:
                raise ValueError(f"train.{key} must be {what}, got {getattr(self, key)!r}")

        need(self.lr > 0 and math.isfinite(self.lr), "lr", "a positive finite float")
        for key in ("batch_size", "steps", "ckpt_every", "log_every", "val_batches"):
            need(isinstance(getattr(self, key), int) and getattr(self, key) >= 1, key, "an integer >= 1")
        for key in ("beta_warmup_steps", "max_nonfinite", "val_every", "num_workers"):
            need(isinstance(getattr(self, key), int) and getattr(self, key) >= 0, key, "an integer >= 0")
        need(
            self.decay_start is None or (isinstance(self.decay_start, int) and 0 <= self.decay_start <= self.steps),
            "decay_start",
            f"None or an integer in [0, steps={self.steps}]",
        )
        need(0 <= self.beta_start <= self.beta_end, "beta_start", f"in [0, beta_end={self.beta_end}]")
        need(self.grad_clip is None or self.grad_clip > 0, "grad_clip", "None or a positive float")

    @property
    def decay_start_step(self) -> int:
        """The step where the linear learning-rate decay starts (``decay_start`` resolved)."""
        return self.steps // 2 if self.decay_start is None else self.decay_start


# Train settings that define a run: a restart with other values would not continue the same run.
IDENTITY_KEYS = ("lr", "batch_size", "decay_start", "beta_start", "beta_end", "beta_warmup_steps", "grad_clip", "seed")


class NonFiniteError(RuntimeError):
    """Too many training steps had a non-finite loss or gradient norm."""


class RunDirectoryError(ValueError):
    """The output folder holds another run, or a run that cannot be resumed with this config."""


# ----------------------------------------------------------------------------- schedules


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of ``config.lr`` for optimiser step ``step`` (0-based).

    1 before ``decay_start``, then linear to 0 at ``steps`` (thesis Table A.2).

    >>> cfg = TrainConfig(steps=300_000, decay_start=150_000)
    >>> [lr_factor(s, cfg) for s in (0, 150_000, 225_000, 300_000)]
    [1.0, 1.0, 0.5, 0.0]
    """
    start = config.decay_start_step
    if step >= config.steps:
        return 0.0
    if step < start:
        return 1.0
    return (config.steps - step) / (config.steps - start)


def beta_at(step: int, config: TrainConfig) -> float:
    """KL weight for optimiser step ``step``: linear warm-up from ``beta_start`` to ``beta_end``.

    >>> cfg = TrainConfig(beta_start=0.0, beta_end=1.0, beta_warmup_steps=100)
    >>> [beta_at(s, cfg) for s in (0, 50, 100, 1000)]
    [0.0, 0.5, 1.0, 1.0]
    """
    if config.beta_warmup_steps == 0 or step >= config.beta_warmup_steps:
        return config.beta_end
    return config.beta_start + (config.beta_end - config.beta_start) * step / config.beta_warmup_steps


# ----------------------------------------------------------------------------- data order


def _mix(*parts: Any) -> int:
    """A stable 63-bit seed from any printable parts (same on every machine and Python)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def step_indices(n_items: int, batch_size: int, seed: int, step: int) -> list[int]:
    """The ``batch_size`` distinct data indices of global batch ``step``; a pure function of its arguments.

    Floyd's algorithm draws a uniform subset in ``O(batch_size)`` (whatever
    ``n_items``), then a permutation orders it.

    >>> step_indices(10, 4, seed=0, step=7) == step_indices(10, 4, seed=0, step=7)
    True
    >>> sorted(step_indices(5, 5, seed=1, step=0))
    [0, 1, 2, 3, 4]
    """
    if batch_size > n_items:
        raise ValueError(f"batch size {batch_size} is larger than the data set ({n_items} sequences)")
    g = torch.Generator().manual_seed(_mix("batch", seed, step))
    u = torch.rand(batch_size, generator=g, dtype=torch.float64).tolist()
    chosen: set[int] = set()
    picks = []
    for j, uj in zip(range(n_items - batch_size, n_items), u):
        t = min(int(uj * (j + 1)), j)
        pick = j if t in chosen else t
        chosen.add(pick)
        picks.append(pick)
    order = torch.randperm(batch_size, generator=g).tolist()
    return [picks[o] for o in order]


class StepBatchSampler(Sampler[list[int]]):
    """Batch sampler yielding this rank's slice of the global batches of steps ``start .. stop - 1``.

    Args:
        n_items: length of the data set.
        global_batch: batch size summed over ranks (must divide by ``world``).
        seed: data-order seed.
        start: first step to yield.
        stop: one past the last step.
        rank: this process's rank.
        world: number of processes.
    """

    def __init__(
        self, n_items: int, global_batch: int, seed: int, start: int, stop: int, rank: int = 0, world: int = 1
    ):
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} does not split evenly over {world} processes")
        if global_batch > n_items:
            raise ValueError(f"batch size {global_batch} is larger than the training set ({n_items} sequences)")
        self.n_items, self.global_batch, self.seed = n_items, global_batch, seed
        self.start, self.stop, self.rank, self.world = start, stop, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        local = self.global_batch // self.world
        for s in range(self.start, self.stop):
            yield step_indices(self.n_items, self.global_batch, self.seed, s)[
                self.rank * local : (self.rank + 1) * local
            ]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


# ----------------------------------------------------------------------------- random state


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the legacy global generator is what third-party code uses
    torch.manual_seed(seed)


def get_rng_state() -> dict[str, Any]:
    """Every global random state as plain data that ``torch.load(weights_only=True)`` accepts."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": [str(name), [int(v) for v in keys], int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def resolve_device(spec: str | torch.device) -> torch.device:
    """``"auto"`` -> this process's CUDA device if there is one, else the CPU; anything else as given."""
    if str(spec) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_utils.local_rank() % torch.cuda.device_count())
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"train.device is {str(spec)!r} but CUDA is not available here; use 'cpu' or 'auto'")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", dist_utils.local_rank() % torch.cuda.device_count())
    return device


# ----------------------------------------------------------------------------- logging


class _MetricsLog:
    """Rows to ``metrics.csv`` (header fixed by the first row) and TensorBoard scalars."""

    def __init__(self, out_dir: Path, start_step: int, tensorboard: bool):
        self.path = out_dir / "metrics.csv"
        self.fieldnames: list[str] | None = None
        self.rows: list[dict[str, str]] = []
        if self.path.exists():
            # keep only what the checkpoint we restart from had seen; later rows will be logged again
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                self.fieldnames = list(reader.fieldnames or []) or None
                self.rows = [r for r in reader if r.get("step") and int(r["step"]) <= start_step]
            self._rewrite()
        self.tensorboard, self.tb_dir = tensorboard, out_dir / "tb"
        # events past the checkpoint we restart from were logged by a run that died; drop them
        self.purge_step: int | None = start_step + 1 if start_step else None
        self.writer = None

    def _rewrite(self) -> None:
        tmp = self.path.with_name(".metrics.csv.tmp")
        with open(tmp, "w", newline="") as f:
            if self.fieldnames:
                w = csv.DictWriter(f, fieldnames=self.fieldnames, restval="")
                w.writeheader()
                w.writerows(self.rows)
        os.replace(tmp, self.path)

    def write(self, row: dict[str, Any]) -> None:
        row = {k: ("" if v is None else v) for k, v in row.items()}
        if self.fieldnames is None:
            self.fieldnames = list(row)
            self._rewrite()
        extra = [k for k in row if k not in self.fieldnames]
        if extra:  # a metric appeared later (rare): widen the header, older rows get blanks
            self.fieldnames += extra
            self._rewrite()
        self.rows.append({k: str(v) for k, v in row.items()})
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fieldnames, restval="").writerow(row)
        if self.tensorboard and self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.tb_dir), purge_step=self.purge_step)
            self.purge_step = None
        if self.writer is not None:
            step = int(row["step"])
            for k, v in row.items():
                if k == "step" or not isinstance(v, (int, float)) or isinstance(v, bool):
                    continue
                tag = "val/" + k[4:] if k.startswith("val_") else "train/" + k
                self.writer.add_scalar(tag, v, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# ----------------------------------------------------------------------------- the loop


class _LossModule(nn.Module):
    """Makes ``model.loss`` the ``forward`` so DistributedDataParallel and torch.compile see it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, beta: float) -> dict[str, torch.Tensor]:
        return self.model.loss(x, beta=beta)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def _identity(info: dict[str, Any]) -> dict[str, Any]:
    train = info.get("train_config", {})
    ident = {
        "model_name": info.get("model_name"),
        "model_config": info.get("model_config"),
        "data_config": info.get("data_config"),
        "train_config": {k: train.get(k) for k in IDENTITY_KEYS},
    }
    flat = _flatten(json.loads(json.dumps(ident)))
    flat.pop("data_config.root", None)  # where the files are is not what the run is
    return flat


def _diff(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    a, b = _identity(stored), _identity(now)
    return [f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


class Trainer:
    """Train a registered sequence model; see the module docstring for what the loop guarantees.

    Args:
        model: an ``nn.Module`` with ``NAME`` (from the registry), a dataclass
            ``config`` and ``loss(x: uint8 [B, T, C, H, W], beta) -> dict``.
        train_set: item ``i`` is a ``uint8`` tensor ``[T, C, H, W]``, a deterministic function of ``i``.
        val_set: same layout, held out; ``None`` to skip validation.
        config: the :class:`TrainConfig`.
        out_dir: run folder for checkpoints and logs (created if missing).
        data_config: description of the data (stored in checkpoints and ``run.json``),
            e.g. ``{"name": "smmnist", "seq_len": 10}``.
        resume: continue the run in ``out_dir`` from ``last.pt`` (starts fresh if there is none).
        meta: extra plain data stored with the run (e.g. ``{"preset": "quick-smmnist"}``).

    Example:
        ``Trainer(model, train_set, val_set, TrainConfig(steps=1000), "runs/a").fit()``
        returns the list of logged rows (dicts) and leaves ``runs/a/last.pt``.
    """

    def __init__(
        self,
        model: nn.Module,
        train_set: Dataset,
        val_set: Dataset | None,
        config: TrainConfig,
        out_dir: str | os.PathLike,
        data_config: dict[str, Any] | None = None,
        resume: bool = False,
        meta: dict[str, Any] | None = None,
    ):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a rfn.train.TrainConfig, got {type(config).__name__}")
        name = getattr(type(model), "NAME", None)
        if not isinstance(name, str) or not dataclasses.is_dataclass(getattr(model, "config", None)):
            raise TypeError(
                f"{type(model).__name__} cannot be checkpointed: register it with "
                f"@rfn.models.registry.register(name, ConfigCls) and give it a dataclass `config` attribute"
            )
        if not callable(getattr(model, "loss", None)):
            raise TypeError(f"{type(model).__name__} has no loss(x, beta) method")
        self.model = model
        self.train_set = train_set
        self.val_set = val_set
        self.config = config
        self.out_dir = Path(out_dir)
        self.data_config = dict(data_config or {})
        self.meta = dict(meta or {})
        self.resume = resume
        self.step = 0
        self.nonfinite = 0
        self.history: list[dict[str, Any]] = []
        self._ready = False

    # -- public ---------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        """``out_dir/last.pt``."""
        return self.out_dir / "last.pt"

    def fit(self, until: int | None = None) -> list[dict[str, Any]]:
        """Train from the current step to ``config.steps`` (or to ``until``, then stop as if interrupted).

        A checkpoint is written every ``ckpt_every`` steps and when this call
        stops. Calling ``fit`` again continues where it stopped.

        Returns:
            The rows logged during this call (also in ``metrics.csv``).
        """
        cfg = self.config
        stop = cfg.steps if until is None else min(int(until), cfg.steps)
        self._prepare()
        rows: list[dict[str, Any]] = []
        if self.step >= stop:
            return rows
        try:
            rows = self._loop(stop)
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self._log is not None:
                self._log.close()
        return rows

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Validation metrics (``model.loss`` at ``beta = 1`` in eval mode), averaged over sequences.

        Uses the first ``val_batches * batch_size`` items of a fixed permutation
        of the validation set and a fixed random seed, so repeated calls on the
        same weights give the same numbers. Under data parallelism the items
        are shared out over the ranks and the sums reduced.
        """
        self._prepare()
        if self.val_set is None:
            return {}
        cfg, device, model = self.config, self.device, self.model
        n = len(self.val_set)
        if n < self.world:
            raise ValueError(f"the validation set has {n} sequences, fewer than the {self.world} processes")
        g = torch.Generator().manual_seed(_mix("val", cfg.seed))
        order = torch.randperm(n, generator=g)[: min(n, cfg.val_batches * cfg.batch_size)].tolist()
        mine = order[self.rank :: self.world]
        local = cfg.batch_size // self.world
        was_training = model.training
        model.eval()
        keys: list[str] = []
        sums: torch.Tensor | None = None
        devices = [device] if device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(_mix("val-noise", cfg.seed, self.rank))
                for b in range(0, len(mine), local):
                    idx = mine[b : b + local]
                    x = torch.stack([self.val_set[i] for i in idx]).to(device, non_blocking=True)
                    with self._autocast():
                        out = model.loss(x, beta=1.0)
                    keys = keys or self._metric_keys(out)
                    vals = torch.stack(
                        [out[k].detach().float().reshape(()) for k in keys] + [torch.ones((), device=x.device)]
                    )
                    vals = vals * len(idx)
                    sums = vals if sums is None else sums + vals
        finally:
            model.train(was_training)
        assert sums is not None
        dist_utils.all_reduce(sums)
        values = sums.tolist()
        return {k: v / values[-1] for k, v in zip(keys, values[:-1])}

    # -- setup ----------------------------------------------------------------------------

    def _autocast(self):
        on = self.config.bf16 and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=on)

    @staticmethod
    def _metric_keys(out: dict[str, Any]) -> list[str]:
        if not isinstance(out, dict):
            raise TypeError(f"model.loss must return a dict of scalar tensors, got {type(out).__name__}")
        missing = [k for k in ("loss", "bpp", "nll_bpp", "kl_bpp") if k not in out]
        if missing:
            raise ValueError(f"model.loss returned no {missing}; it must return at least loss, bpp, nll_bpp, kl_bpp")
        # extra entries are logged when they are scalars; anything larger is the model's own business
        scalars = [k for k, v in out.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
        first = ["loss", "bpp", "nll_bpp", "kl_bpp"]
        return first + sorted(k for k in scalars if k not in first)

    def _run_info(self) -> dict[str, Any]:
        return {
            "model_name": type(self.model).NAME,
            "model_config": asdict(self.model.config),
            "train_config": asdict(self.config),
            "data_config": self.data_config,
            "meta": self.meta,
        }

    def _check_out_dir(self) -> Path | None:
        """Refuse a folder holding another run; return the checkpoint to resume from, if any."""
        out = self.out_dir
        if out.exists() and not out.is_dir():
            raise RunDirectoryError(f"output path {out} exists and is not a folder")
        run_json, last = out / "run.json", out / "last.pt"
        if not (run_json.exists() or last.exists()):
            if self.resume and dist_utils.is_main():
                print(f"rfn: nothing to resume in {out}; starting a new run", file=sys.stderr)
            return None
        if run_json.exists():
            try:
                stored = json.loads(run_json.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise RunDirectoryError(
                    f"{run_json} is unreadable ({err}); move the folder away or fix the file"
                ) from None
        else:
            stored = load_checkpoint(last)
        diffs = _diff(stored, self._run_info())
        if not self.resume:
            detail = ("; its config differs: " + "; ".join(diffs)) if diffs else " with the same config"
            raise RunDirectoryError(
                f"output folder {out} already holds a run{detail}. Pass --resume (Trainer(resume=True)) to "
                f"continue it, or choose another output folder"
            )
        if diffs:
            raise RunDirectoryError(f"cannot resume the run in {out} with this config; it differs: " + "; ".join(diffs))
        if not last.exists():
            if dist_utils.is_main():
                print(f"rfn: {out} has no checkpoint yet; starting the run from step 0", file=sys.stderr)
            return None
        return last

    def _prepare(self) -> None:
        if self._ready:
            return
        cfg = self.config
        self.rank, self.world = dist_utils.rank(), dist_utils.world_size()
        self.device = device = resolve_device(cfg.device)
        self._bar = None
        self._keys: list[str] | None = None
        if cfg.batch_size % self.world:
            raise ValueError(f"train.batch_size {cfg.batch_size} does not split evenly over {self.world} processes")
        if device.type == "cuda" and cfg.tf32:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        ckpt_path = self._check_out_dir()
        dist_utils.barrier()
        if dist_utils.is_main():
            self.out_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.out_dir)
            tmp = self.out_dir / ".run.json.tmp"
            tmp.write_text(json.dumps(self._run_info(), indent=2, default=str))
            os.replace(tmp, self.out_dir / "run.json")
        dist_utils.barrier()

        model = self.model.to(device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if cfg.grad_checkpoint:
            if not callable(getattr(model, "set_grad_checkpointing", None)):
                raise ValueError(
                    f"train.grad_checkpoint is on but {type(model).__name__} has no set_grad_checkpointing(bool); "
                    f"turn it off (--set train.grad_checkpoint=False)"
                )
            model.set_grad_checkpointing(True)
        model.train()

        params = [p for p in model.parameters() if p.requires_grad]
        try:
            # the fused kernel can skip a step on a device-side flag: no host sync for the guard
            self.optimizer = torch.optim.Adam(params, lr=cfg.lr, fused=True)
            self._fused = True
        except (RuntimeError, ValueError):
            self.optimizer = torch.optim.Adam(params, lr=cfg.lr)
            self._fused = False
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, self.config))

        if ckpt_path is not None:
            self._load(ckpt_path)
        else:
            seed_everything(cfg.seed)
            self._data_dependent_init()
            if self.rank > 0:
                # rank 0 keeps the one-process stream; the others draw their own noise
                seed_everything(_mix("rank", cfg.seed, self.rank))

        net: nn.Module = _LossModule(model)
        if dist_utils.is_distributed():
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                net,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=cfg.ddp_find_unused,
            )
        if cfg.compile:
            net = torch.compile(net)
        self.net = net
        self._log = _MetricsLog(self.out_dir, self.step, cfg.tensorboard) if dist_utils.is_main() else None
        self._ready = True

    def _data_dependent_init(self) -> None:
        """One gradient-free ``loss`` on step 0's full global batch, identical on every rank."""
        cfg = self.config
        idx = step_indices(len(self.train_set), cfg.batch_size, cfg.seed, 0)
        x = torch.stack([self.train_set[i] for i in idx])
        check_uint8(x, "training batch")
        if x.dim() != 5:
            raise ValueError(f"training items must be uint8 [T, C, H, W]; a batch has shape {tuple(x.shape)}")
        with torch.no_grad(), self._autocast():
            self.model.loss(x.to(self.device), beta=beta_at(0, cfg))

    def _load(self, path: Path) -> None:
        data = load_checkpoint(path, map_location=self.device, expected_model=type(self.model).NAME)
        self.model.load_state_dict(data["model"])
        self.optimizer.load_state_dict(data["optimizer"])
        self.scheduler.load_state_dict(data["scheduler"])
        self.step = int(data["step"])
        self.nonfinite = int(data.get("nonfinite", 0))
        states = data.get("rng") or []
        if len(states) == self.world:
            set_rng_state(states[self.rank])
        else:
            if dist_utils.is_main():
                print(
                    f"rfn: {path} was written by {len(states)} process(es), now {self.world}; the data order "
                    f"continues exactly, the model's random noise does not",
                    file=sys.stderr,
                )
            seed_everything(_mix("resume", self.config.seed, self.step, self.rank))
        if dist_utils.is_main():
            print(f"rfn: resumed {path} at step {self.step}", file=sys.stderr)

    def _save(self) -> Path:
        states = dist_utils.all_gather_objects(get_rng_state())
        path = self.checkpoint_path
        if dist_utils.is_main():
            payload = {
                **self._run_info(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "nonfinite": self.nonfinite,
                "rng": states,
                "world_size": self.world,
                "torch_version": str(torch.__version__),
            }
            save_checkpoint(path, payload, keep_previous=self.config.keep_previous)
        dist_utils.barrier()
        return path

    # -- the loop -------------------------------------------------------------------------

    def _loader(self, stop: int) -> DataLoader:
        cfg = self.config
        sampler = StepBatchSampler(
            len(self.train_set), cfg.batch_size, cfg.seed, self.step, stop, self.rank, self.world
        )
        return DataLoader(
            self.train_set,
            batch_sampler=sampler,
            num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            # its own generator: creating the iterator must not consume the global random stream
            generator=torch.Generator().manual_seed(_mix("loader", cfg.seed)),
        )

    def _check_nonfinite(self) -> None:
        if self.nonfinite > self.config.max_nonfinite:
            path = self.checkpoint_path
            where = f"The last checkpoint is {path}" if path.exists() else "No checkpoint was written yet"
            raise NonFiniteError(
                f"{self.nonfinite} training steps were skipped because the loss or gradient norm was not finite "
                f"(limit train.max_nonfinite={self.config.max_nonfinite}), at step {self.step}. {where}. "
                f"Lower train.lr, set train.grad_clip, or check the data and the model"
            )

    def _loop(self, stop: int) -> list[dict[str, Any]]:
        cfg, device = self.config, self.device
        main = dist_utils.is_main()
        if main and cfg.progress:
            from tqdm import tqdm

            self._bar = tqdm(total=cfg.steps, initial=self.step, dynamic_ncols=True, desc="train")
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        acc: torch.Tensor | None = None
        n_ok = torch.zeros((), device=device)
        n_bad = torch.zeros((), device=device)
        rows: list[dict[str, Any]] = []
        t_last, step_last = time.perf_counter(), self.step
        for x in self._loader(stop):
            s = self.step  # index of this optimiser step
            beta = beta_at(s, cfg)
            x = x.to(device, non_blocking=True)
            with self._autocast():
                out = self.net(x, beta)
            if self._keys is None:
                self._keys = self._metric_keys(out)
            loss = out["loss"]
            loss.backward()
            if cfg.grad_clip is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None], foreach=True)
            bad = (~(torch.isfinite(loss.detach()) & torch.isfinite(norm))).float()
            dist_utils.all_reduce(bad, "max")  # one rank's bad loss skips the step everywhere
            if self._fused:
                self.optimizer.found_inf = bad
                self.optimizer.step()
                del self.optimizer.found_inf
            elif not bool(bad):  # host sync only where the device has no fused Adam
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.scheduler.step()
            ok = 1.0 - bad
            vals = torch.stack([out[k].detach().float().reshape(()) for k in self._keys] + [norm.detach().float()])
            vals = torch.where(ok.bool(), vals, torch.zeros_like(vals))
            acc = vals if acc is None else acc + vals
            n_ok += ok
            n_bad += bad
            self.step = s + 1
            if self._bar is not None:
                self._bar.update(1)

            do_val = self.val_set is not None and (
                (cfg.val_every and self.step % cfg.val_every == 0) or self.step == cfg.steps
            )
            do_log = self.step % cfg.log_every == 0 or self.step == stop or do_val
            do_ckpt = self.step % cfg.ckpt_every == 0 or self.step == stop
            if do_log or do_ckpt:
                self.nonfinite += int(n_bad.item())
                n_bad.zero_()
                self._check_nonfinite()
            if do_log:
                assert acc is not None
                totals = torch.cat([acc, n_ok.reshape(1)])
                dist_utils.all_reduce(totals)
                values = totals.tolist()
                count = values[-1]
                now = time.perf_counter()
                row: dict[str, Any] = {"step": self.step, "lr": cfg.lr * lr_factor(s, cfg), "beta": beta}
                for k, v in zip([*self._keys, "grad_norm"], values[:-1]):
                    row[k] = v / count if count else float("nan")
                row["nonfinite"] = self.nonfinite
                row["seq_per_s"] = (self.step - step_last) * cfg.batch_size / max(now - t_last, 1e-9)
                for k in self._keys:
                    row["val_" + k] = None
                if do_val:
                    for k, v in self.evaluate().items():
                        row["val_" + k] = v
                acc, t_last, step_last = None, time.perf_counter(), self.step
                n_ok.zero_()
                rows.append(row)
                self.history.append(row)
                if self._log is not None:
                    self._log.write(row)
                if self._bar is not None:
                    self._bar.set_postfix(
                        bpp=f"{row['bpp']:.4f}", kl=f"{row['kl_bpp']:.4f}", beta=f"{beta:.3g}", lr=f"{row['lr']:.3g}"
                    )
                    if do_val:
                        self._bar.write(f"step {self.step}: validation bpp {row['val_bpp']:.4f}")
            if do_ckpt:
                self._save()
        return rows

"""The :class:`Trainer`: one loop for every registered model (what it guarantees: :mod:`rfn.training`)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from rfn import distributed as dist_utils
from rfn.checkpoint import remove_stale_temporaries, save_checkpoint
from rfn.config import TrainConfig
from rfn.models.registry import check_batch
from rfn.runtime import bf16_native, cpu_compiler, derive_seed, resolve_device, seed_everything
from rfn.training.accumulate import forward_backward
from rfn.training.interrupts import (
    Interrupted,
    StopSignals,
    check_training_memory,
    is_out_of_memory,
    out_of_memory,
    pending_from_payload,
    pending_to_payload,
    resume_checkpoint,
)
from rfn.training.lock import RunLock
from rfn.training.media import tensorboard_extras
from rfn.training.optim import LossModule, beta_at, lr_factor, make_adam, match_state_layout
from rfn.training.order import StepBatchSampler, collate, get_rng_state, set_rng_state, step_indices, to_device
from rfn.training.report import BEST_NAME, better, checkpoint_line, start_summary, wants_summary, worth_announcing
from rfn.training.runlog import RunDirectoryError, RunLog, check_run_folder
from rfn.training.validation import metric_keys, validation_metrics

__all__ = ["NonFiniteError", "RunDirectoryError", "Trainer"]


class NonFiniteError(RuntimeError):
    """Too many training steps had a non-finite loss or gradient norm."""


class Trainer:
    """Train a registered model; see the module docstring for what the loop guarantees.

    Args:
        model: an ``nn.Module`` with ``NAME`` and ``BATCH`` (from the registry), a dataclass
            ``config`` and ``loss(batch, beta) -> dict``.
        train_set: item ``i`` is what one element of the model's batch is (a tensor or a tuple of
            tensors, see :func:`rfn.models.registry.check_batch`), a deterministic function of ``i``.
        val_set: same layout, held out; ``None`` to skip validation.
        config: the :class:`TrainConfig`.
        out_dir: run folder for checkpoints and logs (created if missing).
        data_config: description of the data (stored in checkpoints and ``run.json``),
            e.g. ``{"name": "smmnist", "seq_len": 10}``.
        resume: continue the run in ``out_dir`` from the newest of ``last.pt`` and ``prev.pt`` that
            verifies (starts fresh if there is none; refused if there are some but none verifies).
        restart: start the run in ``out_dir`` over from step 0 where its checkpoints exist but none
            verifies (they are set aside as ``NAME.damaged``); refused where one verifies.
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
        restart: bool = False,
    ):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a rfn.config.TrainConfig, got {type(config).__name__}")
        name = getattr(type(model), "NAME", None)
        if not isinstance(name, str) or not dataclasses.is_dataclass(getattr(model, "config", None)):
            raise TypeError(
                f"{type(model).__name__} cannot be checkpointed: register it with "
                f"@rfn.models.registry.register(name, ConfigCls) and give it a dataclass `config` attribute"
            )
        if not callable(getattr(model, "loss", None)):
            raise TypeError(f"{type(model).__name__} has no loss(batch, beta) method")
        self.model = model
        self.train_set = train_set
        self.val_set = val_set
        self.config = config
        self.out_dir = Path(out_dir)
        self.data_config = dict(data_config or {})
        self.meta = dict(meta or {})
        self.resume = resume
        self.restart = restart
        self.step = 0
        self.start_step = 0  # a new run that continues another's schedule (rfn train --init-from --keep-step)
        self.nonfinite = 0
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None  # the best validation so far (rfn.training.report)
        self._announced: dict[str, Any] | None = None  # the best record printed last
        self._ready = False
        # the run folder's lock, the signal flag, and the sums of the steps since the last row (for checkpoints)
        self._lock: RunLock | None = None
        self._stop: StopSignals | None = None
        self._pending: dict | None = None
        self._pending_now: dict | None = None
        # wall and CPU seconds of this run's training steps, summed over every segment and stored in each
        # checkpoint, so a segment killed before it returned still counts up to its last checkpoint;
        # ``complete`` is False for a run resumed from a checkpoint written before the sums existed
        self.train_seconds: dict[str, Any] = {"wall_s": 0.0, "cpu_s": 0.0, "complete": True}
        self._clock: tuple[float, float] | None = None

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
        try:
            self._prepare()
        except BaseException as err:
            if self._lock is not None:  # a refused start gives the folder back at once
                self._lock.release()
            if is_out_of_memory(err):  # in the data-dependent initialisation
                raise out_of_memory(err, self.device, self.step, cfg.batch_size) from None
            raise
        rows: list[dict[str, Any]] = []
        if self._lock is not None:
            self._lock.acquire()  # held until this call returns, however it ends
        try:
            if self.step >= stop:
                return rows
            with StopSignals() as self._stop:
                self._clock = (time.perf_counter(), time.process_time())
                rows = self._loop(stop)
        except (torch.OutOfMemoryError, MemoryError, RuntimeError) as err:
            if not is_out_of_memory(err):  # a CPU's is a RuntimeError from its allocator
                raise
            raise out_of_memory(err, self.device, self.step, cfg.batch_size) from None
        finally:
            self.train_seconds, self._clock = self._elapsed(), None
            self._stop = None
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self._log is not None:
                self._log.close()
            if self._lock is not None:
                self._lock.release()
        return rows

    def evaluate(self) -> dict[str, float]:
        """Validation metrics (``model.loss`` at ``beta = 1`` in eval mode), averaged over items.

        See :func:`rfn.training.validation.validation_metrics`: the same fixed items and
        random seed on every call, shared out over the ranks under data parallelism.
        """
        self._prepare()
        if self.val_set is None:
            return {}
        dist_utils.broadcast_buffers(self.model)  # every rank evaluates the model its checkpoint holds
        return validation_metrics(self.model, self.val_set, self.config, self.device, self._autocast)

    # -- setup ----------------------------------------------------------------------------

    def _autocast(self):
        cfg, kind = self.config, self.device.type
        on = (cfg.bf16 and kind == "cuda") or (cfg.cpu_bf16 and kind == "cpu")
        return torch.autocast(device_type=kind, dtype=torch.bfloat16, enabled=on)

    def _run_info(self) -> dict[str, Any]:
        return {
            "model_name": type(self.model).NAME,
            "model_config": asdict(self.model.config),
            "train_config": asdict(self.config),
            "data_config": self.data_config,
            "meta": self.meta,
        }

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
        if cfg.cpu_bf16 and device.type == "cpu" and not bf16_native(device):
            raise ValueError(
                "train.cpu_bf16 needs a CPU that computes bfloat16 natively (AVX512-BF16 or AMX); this one "
                "emulates it, which is slower than float32: set train.cpu_bf16=false"
            )
        if device.type == "cuda" and cfg.tf32:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        talk = dist_utils.is_main() and wants_summary(cfg)  # notes on what happens (rfn train --quiet: none)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise RunDirectoryError(f"output path {self.out_dir} exists and is not a folder")
        if dist_utils.is_main():  # the lock first: a run refused for a folder in use says nothing else
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._lock = RunLock(self.out_dir).acquire()
        dist_utils.barrier()
        info = self._run_info()
        ckpt_path = check_run_folder(self.out_dir, info, self.resume, talk, self.restart)
        # read before run.json is rewritten: a refused resume changes nothing
        loaded = resume_checkpoint(ckpt_path, self.model, self.config.steps, self.device, self.restart)
        if dist_utils.is_main():
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

        self.optimizer, self._fused = make_adam(model, cfg.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, self.config))

        if loaded is not None:
            self._load(loaded)
        else:
            seed_everything(cfg.seed)
            self._data_dependent_init()
            if self.start_step:
                self._fast_forward(self.start_step)
            if self.rank > 0:
                # rank 0 keeps the one-process stream; the others draw their own noise
                seed_everything(derive_seed("rank", cfg.seed, self.rank))

        net: nn.Module = LossModule(model)
        if dist_utils.is_distributed():
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                net,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=cfg.ddp_find_unused,
            )
        self._compiled = False
        if cfg.compile and device.type == "cpu" and cpu_compiler() is None:
            warnings.warn(
                "train.compile: no C++ compiler (g++, clang++ or $CXX) for torch.compile's CPU kernels, so this "
                "run trains eagerly (the same objective); install one, or set train.compile=false "
                "to silence this",
                RuntimeWarning,
                stacklevel=2,
            )
        elif cfg.compile:
            net = torch.compile(net)
            self._compiled = True
        self.net = net
        self._log = RunLog(self.out_dir, self.step, cfg.tensorboard) if dist_utils.is_main() else None
        self._ready = True

    def _fast_forward(self, step: int) -> None:
        """Start a fresh optimiser at ``step``: its learning rate, beta and data order as at that step of the run."""
        if not 0 < step <= self.config.steps:
            raise ValueError(f"a run of {self.config.steps} steps cannot start at step {step}")
        self.step = step
        self.scheduler.last_epoch = step - 1
        with warnings.catch_warnings():  # the scheduler warns that no optimiser step came first
            warnings.simplefilter("ignore", UserWarning)
            self.scheduler.step()

    def _data_dependent_init(self) -> None:
        """One gradient-free ``loss`` on step 0's full global batch, identical on every rank."""
        cfg = self.config
        idx = step_indices(len(self.train_set), cfg.batch_size, cfg.seed, 0)
        batch = collate([self.train_set[i] for i in idx])
        check_batch(self.model, batch, "training batch")
        # refused before the first forward pass: the batch size is part of the run, so this is its first start
        check_training_memory(self.model, batch, len(idx) // self.world // cfg.accumulate, self.device)
        with torch.no_grad(), self._autocast():
            self.model.loss(to_device(batch, self.device), beta=beta_at(0, cfg))

    def _load(self, loaded: tuple[dict[str, Any], Path]) -> None:
        data, path = loaded
        self.model.load_state_dict(data["model"])
        self.optimizer.load_state_dict(data["optimizer"])
        match_state_layout(self.optimizer)
        self.scheduler.load_state_dict(data["scheduler"])
        # the schedule of this run's config (--steps N may extend it): the learning rate of the next step is the
        # one it gives and logs, not the one the checkpoint's shorter schedule left in the optimiser
        lrs = [base * lr_factor(self.scheduler.last_epoch, self.config) for base in self.scheduler.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self.scheduler._last_lr = lrs
        self.step = int(data["step"])
        self.nonfinite = int(data.get("nonfinite", 0))
        self._pending = data.get("log_pending")
        self.best = data.get("best")
        stored = data.get("train_seconds")
        self.train_seconds = (
            {"wall_s": float(stored["wall_s"]), "cpu_s": float(stored["cpu_s"]), "complete": bool(stored["complete"])}
            if stored
            else {"wall_s": 0.0, "cpu_s": 0.0, "complete": self.step == 0}
        )
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
            seed_everything(derive_seed("resume", self.config.seed, self.step, self.rank))
        if dist_utils.is_main() and wants_summary(self.config):
            print(f"rfn: resumed {path} at step {self.step}", file=sys.stderr)

    def _save(self, path: Path | None = None, announce: bool = True) -> Path:
        states = dist_utils.all_gather_objects(get_rng_state())
        dist_utils.broadcast_buffers(self.model)  # rank 0's, which it saves; DDP's next forward would copy them too
        path = path or self.checkpoint_path
        if dist_utils.is_main():
            payload = {
                **self._run_info(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "nonfinite": self.nonfinite,
                "rng": states,
                "log_pending": self._pending_now,
                "train_seconds": self._elapsed(),
                "best": self.best,
                "world_size": self.world,
                "torch_version": str(torch.__version__),
            }
            save_checkpoint(path, payload, keep_previous=self.config.keep_previous and path == self.checkpoint_path)
            if announce and wants_summary(self.config):
                (self._bar.write if self._bar is not None else print)(checkpoint_line(self.step, path, self.best))
        dist_utils.barrier()
        return path

    def _elapsed(self) -> dict[str, Any]:
        """:attr:`train_seconds` with the running segment's time added."""
        if self._clock is None:
            return dict(self.train_seconds)
        wall, cpu = self._clock
        return {
            **self.train_seconds,
            "wall_s": self.train_seconds["wall_s"] + time.perf_counter() - wall,
            "cpu_s": self.train_seconds["cpu_s"] + time.process_time() - cpu,
        }

    # -- the loop -------------------------------------------------------------------------

    def _stopping(self, at_log: bool) -> bool:
        """Whether a SIGINT/SIGTERM asks to stop after this step (ranks agree at logged steps)."""
        return self._stop is not None and self._stop.requested(at_log, self.device)

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
            collate_fn=collate,
            # its own generator: creating the iterator must not consume the global random stream
            generator=torch.Generator().manual_seed(derive_seed("loader", cfg.seed)),
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

    def _step(self, batch: Any, beta: float, params: list[torch.Tensor]):
        """One optimiser step (skipped on every rank if any rank's loss or gradient norm is not finite)."""
        cfg = self.config
        if self._compiled:  # a tensor, not a float: the compiled graph would specialise on each warm-up value
            beta = torch.tensor(beta, dtype=torch.float32, device=self.device)
        out = forward_backward(self.net, batch, beta, cfg.accumulate, self.device, self._autocast)
        if self._keys is None:
            self._keys = metric_keys(out)
        loss = out["loss"]
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
        vals = torch.stack([out[k].detach().float().reshape(()) for k in self._keys] + [norm.detach().float()])
        return torch.where(bad.bool(), torch.zeros_like(vals), vals), bad

    def _row(self, s: int, beta: float, acc: torch.Tensor, n_ok: torch.Tensor, seconds: float, steps: int, val: bool):
        """The log row after optimiser step ``s``: means of the steps since the last row, validation if due."""
        cfg = self.config
        values = dist_utils.all_reduce(torch.cat([acc, n_ok.reshape(1)])).tolist()
        count = values[-1]
        row: dict[str, Any] = {"step": self.step, "lr": cfg.lr * lr_factor(s, cfg), "beta": beta}
        for k, v in zip([*self._keys, "grad_norm"], values[:-1]):
            row[k] = v / count if count else float("nan")
        row["nonfinite"] = self.nonfinite
        row["seq_per_s"] = steps * cfg.batch_size / max(seconds, 1e-9)  # items per second
        row.update({"val_" + k: None for k in self._keys})
        if val:
            row.update({"val_" + k: v for k, v in self.evaluate().items()})
        if self._bar is not None:
            shown = {k: f"{row[k]:.4f}" for k in ("bpp", "kl_bpp") if k in row} or {"loss": f"{row['loss']:.4f}"}
            self._bar.set_postfix(**shown, beta=f"{beta:.3g}", lr=f"{row['lr']:.3g}")
            if val:
                key = "bpp" if "bpp" in self._keys else "loss"
                self._bar.write(f"step {self.step}: validation {key} {row['val_' + key]:.4f}")
        return row

    def _loop(self, stop: int) -> list[dict[str, Any]]:
        cfg, device = self.config, self.device
        if dist_utils.is_main() and wants_summary(cfg):
            print(start_summary(self, stop), flush=True)
        if dist_utils.is_main() and cfg.progress:
            from tqdm import tqdm

            self._bar = tqdm(total=cfg.steps, initial=self.step, dynamic_ncols=True, desc="train")
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        acc: torch.Tensor | None = None
        n_ok = torch.zeros((), device=device)
        n_bad = torch.zeros((), device=device)
        rows: list[dict[str, Any]] = []
        t_last, step_last = time.perf_counter(), self.step
        acc, ok, since, seconds = pending_from_payload(self._pending, device)  # a row begun before a restart
        if acc is not None:
            n_ok += ok
            t_last, step_last = t_last - seconds, since
        self._pending = None
        for batch in self._loader(stop):
            s = self.step  # index of this optimiser step
            beta = beta_at(s, cfg)
            vals, bad = self._step(batch, beta, params)
            acc = vals if acc is None else acc + vals
            n_ok += 1.0 - bad
            n_bad += bad
            self.step = s + 1
            if self._bar is not None:
                self._bar.update(1)
            do_val = self.val_set is not None and (
                (cfg.val_every and self.step % cfg.val_every == 0) or self.step == cfg.steps
            )
            do_log = self.step % cfg.log_every == 0 or self.step == stop or do_val
            do_ckpt = self.step % cfg.ckpt_every == 0 or self.step == stop
            stopping = self._stopping(do_log)
            if do_log or do_ckpt or stopping:
                self.nonfinite += int(n_bad.item())
                n_bad.zero_()
                self._check_nonfinite()
            if do_log:
                assert acc is not None
                row = self._row(s, beta, acc, n_ok, time.perf_counter() - t_last, self.step - step_last, do_val)
                acc, t_last, step_last = None, time.perf_counter(), self.step
                n_ok.zero_()
                rows.append(row)
                self.history.append(row)
                if self._log is not None:
                    self._log.write(row)
                    tensorboard_extras(self._log.writer, self, row, do_val)
                if do_val and (best := better(self.best, row)) is not None:  # rows agree on every rank
                    self.best = best
                    if cfg.keep_best:
                        announce = worth_announcing(best, self._announced)
                        self._announced = best if announce else self._announced
                        self._save(self.out_dir / BEST_NAME, announce=announce)
            if do_ckpt or stopping:
                self._pending_now = pending_to_payload(acc, n_ok, step_last, time.perf_counter() - t_last)
                self._save()
            if stopping:
                assert self._stop is not None and self._stop.signum is not None
                raise Interrupted(self._stop.signum, self.step, self.checkpoint_path)
        return rows

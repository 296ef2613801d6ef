"""Stopping a run cleanly: SIGINT/SIGTERM, and failures told in one line.

While :class:`StopSignals` is active (the trainer's :meth:`~rfn.training.Trainer.fit`),
the first SIGINT (Ctrl-C) or SIGTERM only sets a flag: the trainer finishes the
optimiser step it is in, writes a checkpoint atomically and raises :class:`Interrupted`,
which ``rfn train`` reports with the checkpoint's path and the command that resumes,
exiting with 130 (SIGINT) or 143 (SIGTERM). A second signal aborts at once with
:class:`KeyboardInterrupt`; every file the run writes is replaced atomically
(temporary file, then rename), so an abort leaves the previous checkpoint and whole
``metrics.csv`` rows. Under data parallelism the ranks agree on stopping at the
next logged step.

:func:`describe_failure` turns operating-system and resource errors (read-only or
full disk, permission, out of memory) into the one line the CLI prints.

Example:
    >>> import os, signal
    >>> with StopSignals() as stop:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     stop.signum == signal.SIGTERM
    True
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "Interrupted",
    "StopSignals",
    "check_training_memory",
    "cli_failure",
    "describe_failure",
    "is_out_of_memory",
    "out_of_memory",
    "pending_from_payload",
    "pending_to_payload",
    "resume_checkpoint",
]


class Interrupted(Exception):
    """Training stopped on a signal after writing a checkpoint.

    Attributes:
        signum: the signal; ``exit_code`` is ``128 + signum`` (130 for SIGINT, 143 for SIGTERM).
        step: the step of the checkpoint.
        checkpoint: its path.
    """

    def __init__(self, signum: int, step: int, checkpoint: Path):
        self.signum, self.step, self.checkpoint = int(signum), int(step), Path(checkpoint)
        self.exit_code = 128 + self.signum
        name = signal.Signals(self.signum).name
        super().__init__(f"interrupted by {name} after step {step}; checkpoint {checkpoint}")


class StopSignals:
    """Context manager: the first SIGINT/SIGTERM sets :attr:`signum`, a second raises ``KeyboardInterrupt``.

    Outside the main thread (where handlers cannot be installed) it does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: aborted at once")
        self.signum = signum

    def requested(self, at_log: bool = True, device: torch.device | str = "cpu") -> bool:
        """Whether a signal asks to stop now. Under data parallelism the ranks agree (one all-reduce) at logged
        steps only, so that no step waits for the others."""
        from rfn import distributed

        if not distributed.is_distributed():
            return self.signum is not None
        if not at_log:
            return False
        flag = distributed.all_reduce(torch.tensor(float(self.signum or 0), device=device), "max")
        self.signum = int(flag.item()) or None
        return self.signum is not None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()


def pending_to_payload(acc: torch.Tensor | None, n_ok: torch.Tensor, since: int, seconds: float) -> dict | None:
    """The sums of the steps since the last ``metrics.csv`` row, for the checkpoint (``None`` if there are none)."""
    if acc is None:
        return None
    return {"sum": acc.detach().cpu(), "n_ok": float(n_ok), "since": int(since), "seconds": float(seconds)}


def pending_from_payload(data: dict | None, device: torch.device) -> tuple[torch.Tensor | None, float, int, float]:
    """Inverse of :func:`pending_to_payload`: ``(acc, n_ok, since_step, seconds)``; nothing pending for ``None``."""
    if not data:
        return None, 0.0, -1, 0.0
    return data["sum"].to(device), float(data["n_ok"]), int(data["since"]), float(data["seconds"])


def resume_checkpoint(
    path: Path | None, model: torch.nn.Module, steps: int, device: torch.device, restart: bool = False
) -> tuple[dict[str, Any], Path] | None:
    """The checkpoint a run resumes from: the newest of ``last.pt`` and ``prev.pt`` that verifies.

    Args:
        path: ``last.pt`` of the run folder, or ``None`` for a new run.
        restart: start over (returns ``None``), allowed only when no checkpoint verifies; the
            unverifiable files are set aside as ``NAME.damaged``.

    Raises:
        RunDirectoryError: no checkpoint verifies (and no ``restart``), the run is past ``steps``, or
            ``restart`` was asked for a folder holding a checkpoint that verifies (nothing in the folder changes).
    """
    from rfn import distributed
    from rfn.checkpoint import CheckpointError, load_run_checkpoint, run_checkpoints
    from rfn.training.runlog import RunDirectoryError

    if path is None:
        return None
    if restart:
        try:
            data, found = load_run_checkpoint(path, map_location="cpu")
        except CheckpointError:
            if distributed.is_main():
                for bad in run_checkpoints(path):
                    os.replace(bad, bad.with_name(bad.name + ".damaged"))
                print(f"rfn: no checkpoint in {path.parent} verifies; starting the run over", file=sys.stderr)
            return None
        raise RunDirectoryError(
            f"--restart refused: {found} verifies (step {data.get('step')}); continue it with --resume, or "
            f"choose another --out"
        )
    try:
        data, path = load_run_checkpoint(
            path, map_location=device, expected_model=type(model).NAME, set_aside=distributed.is_main()
        )
    except CheckpointError as err:
        if "no checkpoint of the run verifies" not in str(err):
            raise
        raise RunDirectoryError(
            f"cannot resume the run in {path.parent}: {err}; pass --restart to start it over from step 0, or "
            f"choose another --out"
        ) from None
    if int(data["step"]) > steps:
        raise RunDirectoryError(
            f"the run in {path.parent} is at step {data['step']}, past the {steps} steps asked for; pass --steps "
            f"{data['step']} or more to continue it (or another --out for a shorter run)"
        )
    return data, path


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a device's or the host's out-of-memory error (torch reports the CPU's as a RuntimeError)."""
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ("DefaultCPUAllocator" in text or "can't allocate memory" in text)


#: float32 values a training step keeps per input value (activations, their gradients): a low estimate, so
#: that only a request that cannot fit is refused before it starts
ACTIVATIONS_PER_VALUE = 8


def check_training_memory(model: torch.nn.Module, batch: Any, micro_batch: int, device: torch.device) -> None:
    """Refuse a training batch that cannot fit in the device's available memory, naming ``train.batch_size``.

    ``batch`` is step 0's collated global batch (a tensor or a tuple of tensors, first dimension the items).
    The estimate is low on purpose: the weights with their gradients and Adam moments (4 copies), and
    :data:`ACTIVATIONS_PER_VALUE` float32 values per value of the micro-batch.
    """
    from rfn.runtime import available_memory

    parts = [t for t in (batch if isinstance(batch, (tuple, list)) else (batch,)) if torch.is_tensor(t)]
    values = sum(t[0].numel() for t in parts if t.dim() and len(t))  # of one item
    weights = sum(p.numel() for p in model.parameters())
    need = 4 * (4 * weights + micro_batch * values * ACTIVATIONS_PER_VALUE)
    if device.type == "cuda":
        have = torch.cuda.mem_get_info(device)[0]
    else:
        have = available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"train.batch_size: a step on {micro_batch} items of {values:,} values each needs at least "
            f"{need / 1e9:.1f} GB of memory, more than the {have / 1e9:.1f} GB available on {device}; lower it "
            f"(--set train.batch_size=N), split it (--set train.accumulate=K) or use a device with more memory"
        )


def out_of_memory(err: BaseException, device: torch.device, step: int, batch_size: int) -> torch.OutOfMemoryError:
    """The out-of-memory error of a training step, with the device, step and batch size named first."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return torch.OutOfMemoryError(
        f"out of memory on {device} at step {step} with train.batch_size={batch_size} ({first[:200]})"
    )


_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_NO_WRITE = (errno.EROFS, errno.EACCES, errno.EPERM)


#: what lowers the memory of each command's request, named by its flags
MEMORY_FLAGS = {
    "sample": "ask for fewer --samples or --sequences, or fewer --future frames",
    "evaluate": "lower --batch-size, or ask for fewer --samples",
}


def describe_failure(err: BaseException, batch_size: int | None = None, command: str | None = None) -> str | None:
    """One line (what, where, what to do) for an operating-system or resource error; ``None`` for others.

    >>> print(describe_failure(OSError(errno.EROFS, "Read-only file system", "runs/a/last.pt")))
    cannot write runs/a/last.pt: the file system is read-only; choose a writable --out
    >>> describe_failure(KeyError("x")) is None
    True
    """
    text = str(err)
    if is_out_of_memory(err) or "out of memory" in text.lower():
        first = text.strip().splitlines()[0][:300] if text.strip() else "out of memory"
        if "batch_size=" in first:
            fix = "lower it (--set train.batch_size=N) or turn on train.grad_checkpoint"
        elif batch_size:
            first, fix = f"{first} (batch size {batch_size})", "lower the batch size"
        else:
            fix = MEMORY_FLAGS.get(command or "", "ask for fewer samples or sequences at once")
        return f"{first}; {fix}, or use a device with more memory"
    if isinstance(err, OSError) and err.errno is not None:
        where = err.filename or "a file"
        if err.errno in _DISK_FULL:
            return f"cannot write {where}: the disk is full; free space or choose another --out (nothing was replaced)"
        if err.errno == errno.EROFS:
            return f"cannot write {where}: the file system is read-only; choose a writable --out"
        if err.errno in _NO_WRITE:
            return f"cannot write {where}: permission denied; choose a folder you can write to (--out)"
        if err.errno == errno.ENAMETOOLONG:
            return f"the path {where} is too long; choose a shorter one"
        if err.errno == errno.ENOENT:
            return f"{where} does not exist ({err.strerror}); check the path, or create the folder first"
        if err.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
            return f"{where}: {err.strerror}; choose another path"
    if isinstance(err, RuntimeError) and ("inline_container" in text or "No space left" in text):
        # torch.save reports a failed write (mostly a full disk) from its zip writer
        return "cannot write the checkpoint: the write failed (disk full?); free space or choose another --out"
    return None


def cli_failure(err: BaseException, argv: list[str]) -> tuple[str, int] | None:
    """``(line, exit status)`` that ``rfn`` reports for an interruption or an OS/resource error, else ``None``.

    >>> line, code = cli_failure(Interrupted(2, 40, Path("runs/a/last.pt")), ["train", "--out", "runs/a"])
    >>> print(line, code)
    interrupted by SIGINT after step 40; checkpoint runs/a/last.pt; resume with: rfn train --out runs/a --resume 130
    """
    import shlex

    if isinstance(err, Interrupted):
        again = [a for a in argv if a != "--resume"] + ["--resume"]
        return f"{err}; resume with: {shlex.join(['rfn', *again])}", err.exit_code
    if isinstance(err, KeyboardInterrupt):
        return "aborted at once; every file is whole (the last checkpoint written is kept)", 130
    line = describe_failure(err, command=argv[0] if argv else None)
    return (line, 2) if line is not None else None

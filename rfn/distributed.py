"""Data-parallel helpers: process-group setup from ``torchrun`` variables and small collectives.

Every helper also works without a process group (one process): ranks are 0,
the world has size 1 and the collectives return their input. Under
``torchrun`` the backend is NCCL on CUDA and gloo on CPU, so the same code path
runs on two CPU processes in the tests.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "all_gather_objects",
    "all_reduce",
    "barrier",
    "broadcast_buffers",
    "init_from_env",
    "is_distributed",
    "is_main",
    "local_rank",
    "rank",
    "shutdown",
    "world_size",
]


def is_distributed() -> bool:
    """True inside an initialised process group with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """Global rank of this process (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def local_rank() -> int:
    """Rank on this machine, as ``torchrun`` sets it in ``LOCAL_RANK`` (0 otherwise)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on the process that writes files and prints (rank 0)."""
    return rank() == 0


def init_from_env(device: str = "auto") -> bool:
    """Join the process group described by ``torchrun``'s environment, if any.

    Args:
        device: the training device setting; NCCL is used when it resolves to
            CUDA, gloo otherwise.

    Returns:
        True when a process group with more than one process is now active.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return is_distributed()
    use_cuda = torch.cuda.is_available() and (device == "auto" or str(device).startswith("cuda"))
    if use_cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return is_distributed()


def shutdown() -> None:
    """Leave the process group if one is active."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op in one process)."""
    if is_distributed():
        dist.barrier()


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), in place (no-op in one process).

    DDP copies them from rank 0 at the start of each training forward, so after the last
    step every other rank still holds statistics of its own batch; evaluating or saving
    the model should see rank 0's, the ones its checkpoint stores.
    """
    if is_distributed():
        for buf in module.buffers():
            dist.broadcast(buf.data, src=0)


def all_reduce(t: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In-place all-reduce of ``t`` with ``op`` in ``{"sum", "max"}``; returns ``t``."""
    if is_distributed():
        dist.all_reduce(t, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    return t


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in one process)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out

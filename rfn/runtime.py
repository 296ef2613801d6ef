"""Small helpers every layer shares: device choice, seeding, the commit id, JSON conversion, memory checks.

Each helper is defined here once; the training engine, the evaluation, the book
tooling and the command line all import it from this module (a test checks that
no other module defines one of these names again).

Example:
    >>> derive_seed("batch", 0, 7) == derive_seed("batch", 0, 7)
    True
    >>> derive_seed("batch", 0, 7) != derive_seed("batch", 0, 8)
    True
    >>> to_jsonable({"a": (1, 2.5), "b": None})
    {'a': [1, 2.5], 'b': None}
    >>> str(resolve_device("cpu"))
    'cpu'
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CPU_THREADS",
    "THREADS_ENV",
    "available_memory",
    "bf16_native",
    "check_memory",
    "cpu_compiler",
    "cpu_threads",
    "derive_seed",
    "git_commit",
    "resolve_device",
    "seed_everything",
    "set_cpu_threads",
    "to_jsonable",
]

#: Torch threads on a CPU for the book's small models and the benchmarks' default: a second thread pays
#: on idle cores and costs much more beside another busy job (``benchmarks/RESULTS.md``, "Threads"), so
#: one thread is the default and ``RFN_CPU_THREADS`` (``make book THREADS=2``) asks for more.
CPU_THREADS = 1
#: Environment variable that overrides :data:`CPU_THREADS` in :func:`set_cpu_threads`.
THREADS_ENV = "RFN_CPU_THREADS"


def derive_seed(*parts: Any) -> int:
    """A stable 63-bit seed from any printable parts: the same on every machine, process and Python.

    Use it instead of ``hash()`` (salted per process) whenever a seed is derived from names or numbers.
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the legacy global generator is what third-party code uses
    torch.manual_seed(seed)


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` or ``None`` -> this process's CUDA device if there is one, else the CPU; anything else as given.

    Raises:
        ValueError: a CUDA device is asked for where CUDA is not available, or the name is not a device.
    """
    from rfn import distributed

    if spec is None or str(spec) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", distributed.local_rank() % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device {str(spec)!r} is not a device name; use 'cpu', 'cuda', 'cuda:1' or 'auto'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(spec)!r} asks for CUDA, which is not available here; use 'cpu' or 'auto'")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", distributed.local_rank() % torch.cuda.device_count())
    return device


def bf16_native(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` computes bfloat16 convolutions and matrix products in hardware.

    CUDA devices of compute capability 8.0 and later; CPUs whose oneDNN has a native
    bfloat16 path (AVX512-BF16 or AMX). Elsewhere bfloat16 is emulated and slower than float32.
    """
    device = resolve_device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def cpu_compiler() -> str | None:
    """The C++ compiler ``torch.compile`` (inductor) would build CPU kernels with, or None if there is none.

    ``$CXX`` if it names a program on the ``PATH``, else the first of ``g++``, ``c++``, ``clang++`` found.
    """
    names = (os.environ.get("CXX", "").strip(), "g++", "c++", "clang++")
    return next((path for path in map(shutil.which, filter(None, names)) if path), None)


def cpu_threads() -> int:
    """The thread count :func:`set_cpu_threads` uses by default: ``$RFN_CPU_THREADS`` if set, else ``CPU_THREADS``.

    A value that is not a positive whole number raises a ValueError that says what to set.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return CPU_THREADS
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(
            f"{THREADS_ENV}={raw!r} is not a thread count; set it to a positive whole number "
            f"(e.g. 2 on an idle 2-core machine) or unset it for the default {CPU_THREADS}"
        )
    return threads


def available_memory() -> int | None:
    """Bytes of host memory available to a new allocation (Linux's ``MemAvailable``), or ``None`` where unknown.

    ``RFN_AVAILABLE_MEMORY`` (bytes) overrides it, for tests and for machines whose limit is a container's.
    """
    override = os.environ.get("RFN_AVAILABLE_MEMORY", "").strip()
    if override:
        return int(float(override))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None  # not Linux: nothing is refused up front; running out still ends in one line


def check_memory(need: float, what: str, fix: str) -> None:
    """Refuse a request whose estimated memory ``need`` (bytes) exceeds :func:`available_memory`, in one line.

    Args:
        need: the estimate, in bytes.
        what: the request, naming its flags (``"--samples 10000 x --future 10000 frames of 1x64x64"``).
        fix: what to ask for instead (``"ask for fewer --samples or --future frames"``).

    >>> check_memory(1e3, "a small request", "ask for less")  # nothing to refuse
    >>> check_memory(1e18, "--samples 10**9", "ask for fewer --samples")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: --samples 10**9 needs about 1000000000.0 GB of memory, more than the ... GB available; ask ...
    """
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{what} needs about {need / 1e9:.1f} GB of memory, more than the {have / 1e9:.1f} GB available; {fix}"
        )


def set_cpu_threads(device: str | torch.device, threads: int | None = None) -> int:
    """Use ``threads`` torch threads (default: :func:`cpu_threads`) on a CPU ``device``; returns the count in use."""
    if resolve_device(device).type == "cpu":
        torch.set_num_threads(cpu_threads() if threads is None else threads)
    return torch.get_num_threads()


def git_commit(cwd: str | Path | None = None, outputs: tuple[str, ...] = ("figures",)) -> str:
    """The checkout's commit (12 hex digits), with ``-dirty`` when tracked files outside ``outputs`` changed.

    Like ``git describe --always --dirty``, except that the folders in ``outputs`` (the
    reproduced figures, which a book run rewrites) do not make the tree dirty: a figure
    made from a clean commit says so even after earlier figures of the same run were
    written. ``"unknown"`` outside a git checkout.
    """

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=cwd)
        except OSError:
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    head = git("rev-parse", "--short=12", "HEAD")
    if not head:
        return "unknown"
    excludes = [f":(top,exclude){folder}" for folder in outputs]
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ":/", *excludes)
    return f"{head}-dirty" if changed else head


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data from dataclasses, tensors, NumPy values, tuples and paths (anything else as ``str``)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (torch.Tensor, np.ndarray, np.generic)):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)

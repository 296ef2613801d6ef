"""Checkpoints: atomic writes and code-free loads.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and
dicts, so :func:`torch.load` opens it with ``weights_only=True``: loading a
file cannot run code. It names its model (``model_name``) and stores the
model's config dataclass as a dict, so :func:`rfn.models.registry.load_model`
(also ``rfn.load``) rebuilds the model without pickling any class.
:func:`export_weights` writes the weights-only file of a trained run (model,
configs and step, no optimiser or random state), as committed under
``checkpoints/reference/``.

Writes are atomic: the bytes go to a temporary file in the same folder, are
flushed to disk (``fsync``), and the temporary file is renamed over the
target with :func:`os.replace`. A process killed mid-write leaves the previous
checkpoint untouched; at worst a stale ``.NAME.tmp-PID`` file stays behind,
which :func:`remove_stale_temporaries` clears.

Integrity: every checkpoint stores ``digest``, the SHA-256 of its contents (every
tensor's dtype, shape and bytes and every plain value, in a fixed order;
:func:`payload_digest`), and :func:`load_checkpoint` recomputes it, so flipped
bytes inside a tensor are refused instead of loading silently. The digest detects
damage (a bad disk, a torn copy), not deliberate edits: whoever edits a file can
recompute it, so a checkpoint from an untrusted source should not be loaded. Files of
format version 2 (what this version writes) are refused without a digest; version-1
files written before the digest existed load with a warning naming the file.

A run folder keeps ``last.pt`` and the checkpoint before it, ``prev.pt``.
:func:`load_run_checkpoint` loads the newest of them that verifies, naming the one it
falls back to; a rotation (``keep_previous``) keeps ``last.pt`` as ``prev.pt`` only if
it verifies, so a verified ``prev.pt`` survives at every moment.

Example:
    >>> import tempfile, pathlib, torch
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(d / "last.pt", {"model_name": "m", "model_config": {}, "model": {}, "step": 3})
    >>> load_checkpoint(d / "last.pt")["step"]
    3
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "export_weights",
    "load_checkpoint",
    "load_run_checkpoint",
    "payload_digest",
    "remove_stale_temporaries",
    "run_checkpoints",
    "save_checkpoint",
]

FORMAT = "rfn-checkpoint"
FORMAT_VERSION = 2  # 2: the digest is required (1: optional, from before it existed)
_REQUIRED = ("model_name", "model_config", "model")


class CheckpointError(ValueError):
    """A file that exists but is not a usable rfn checkpoint (corrupt, foreign, or of another model)."""


def _fsync_dir(folder: Path) -> None:
    # the rename itself is only durable once the folder's entry is on disk; not every OS allows it
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_PLAIN = (str, int, float, bool, type(None), torch.dtype, torch.device, torch.Size)


def _check_plain(obj: Any, where: str) -> None:
    """Raise TypeError at the first value ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(obj, torch.Tensor) or type(obj) in _PLAIN:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if type(k) not in _PLAIN:
                raise TypeError(f"checkpoint key {where}[{k!r}] is a {type(k).__name__}; use str or int keys")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(
        f"checkpoint value {where} is a {type(obj).__module__}.{type(obj).__qualname__}; a checkpoint holds only "
        f"tensors, numbers, strings, None, lists, tuples and dicts (convert it, e.g. str(...) or .tolist())"
    )


def _digest_update(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            flat = t.to("cpu").contiguous().reshape(-1)
            h.update(memoryview(flat.view(torch.uint8).numpy()))
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k in sorted(obj, key=lambda k: (type(k).__name__, repr(k))):
            h.update(f"K{type(k).__name__}:{k!r}".encode())
            _digest_update(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{type(obj).__name__}{len(obj)}".encode())
        for v in obj:
            _digest_update(h, v)
    else:
        h.update(f"V{type(obj).__name__}:{obj!r}".encode())


def payload_digest(data: dict[str, Any]) -> str:
    """``"sha256:<hex>"`` of a checkpoint's contents (all keys but ``digest``), independent of the file's bytes.

    >>> a = payload_digest({"x": torch.zeros(2), "step": 1})
    >>> a == payload_digest({"step": 1, "x": torch.zeros(2)}), a == payload_digest({"x": torch.ones(2), "step": 1})
    (True, False)
    """
    h = hashlib.sha256()
    _digest_update(h, {k: v for k, v in data.items() if k != "digest"})
    return "sha256:" + h.hexdigest()


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any], keep_previous: bool = False) -> Path:
    """Write ``payload`` to ``path`` atomically (temporary file, fsync, rename).

    Args:
        path: target file, e.g. ``run/last.pt``. Its folder must exist.
        payload: plain data only (tensors, numbers, strings, lists, tuples,
            dicts, ``None``); it must hold ``model_name``, ``model_config`` and
            ``model``. The format tag and version are added.
        keep_previous: if the target exists and verifies, first keep it as ``prev.pt``
            (for ``last.pt``) or ``NAME.prev`` beside it; ``path`` itself exists at
            every moment. A target that does not verify is set aside as
            ``NAME.damaged`` (with a warning) and the verified previous file stays.

    Returns:
        The path written.
    """
    path = Path(path)
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload for {path} lacks the keys {missing}; it needs {list(_REQUIRED)}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write checkpoint {path}: the folder {path.parent} does not exist")
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, **payload}
    _check_plain(data, "checkpoint")  # what cannot be loaded without running code must not be written
    data["digest"] = payload_digest(data)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(data, f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous and path.exists():
            _rotate(path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _previous_path(path: Path) -> Path:
    return path.with_name("prev.pt") if path.name == "last.pt" else path.with_name(path.name + ".prev")


def _rotate(path: Path) -> None:
    """Keep ``path`` as its previous file if it verifies; else set it aside and keep the previous file there."""
    prev = _previous_path(path)
    try:
        load_checkpoint(path)
    except CheckpointError as err:
        os.replace(path, path.with_name(path.name + ".damaged"))
        print(
            f"rfn: warning: {path} is damaged (kept as {path.name}.damaged): {str(err)[:200]}; {prev.name} is "
            f"kept as it is",
            file=sys.stderr,
        )
        return
    prev_tmp = prev.with_name(f".{prev.name}.tmp-{os.getpid()}")
    # a hard link keeps `path` in place while the old bytes get their second name
    try:
        os.link(path, prev_tmp)
    except OSError:
        shutil.copy2(path, prev_tmp)
    os.replace(prev_tmp, prev)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporary files left by interrupted :func:`save_checkpoint` calls in ``folder``."""
    removed = []
    for p in Path(folder).glob(".*.tmp-*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device | None = "cpu",
    expected_model: str | None = None,
) -> dict[str, Any]:
    """Load and check a checkpoint written by :func:`save_checkpoint`, without running code.

    Args:
        path: the checkpoint file (a run folder is accepted if it holds ``last.pt``).
        map_location: where tensors go, as for :func:`torch.load`.
        expected_model: if given, the registered model name the checkpoint must hold.

    Raises:
        FileNotFoundError: ``path`` does not exist (or is a folder without ``last.pt``).
        CheckpointError: the file is truncated or corrupt, holds pickled code,
            is not an rfn checkpoint, has a newer format, or holds another model.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "last.pt").is_file():
            path = path / "last.pt"
        else:
            raise FileNotFoundError(f"checkpoint path {path} is a folder without last.pt; pass the checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for damaged archives
        if "Weights only load failed" in str(err):
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
            what = f" ({found.group(1)})" if found else ""
            raise CheckpointError(
                f"{path} holds pickled Python objects{what}, not only tensors and plain data; it is not an rfn "
                f"checkpoint and will not be loaded, because loading it could run code"
            ) from None
        raise CheckpointError(
            f"{path} is corrupt or truncated and cannot be read ({type(err).__name__}: {str(err)[:200]}); "
            f"if the run folder holds prev.pt, use that one"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        what = f"a {type(data).__name__}" if not isinstance(data, dict) else f"a dict with keys {sorted(data)[:8]}"
        raise CheckpointError(f"{path} is not an rfn checkpoint: it holds {what} and no format tag {FORMAT!r}")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this rfn reads versions up to {FORMAT_VERSION}; "
            f"update rfn"
        )
    if "digest" not in data:
        if version >= 2:
            raise CheckpointError(
                f"{path} has no digest, which every checkpoint of format version {version} carries; it was "
                f"edited or damaged; use the run folder's prev.pt or another copy"
            )
        print(
            f"rfn: warning: {path} is a checkpoint from before digests (format version 1): damage to it cannot be "
            f"detected; load it only if it comes from a source you trust",
            file=sys.stderr,
        )
    elif payload_digest(data) != data["digest"]:
        raise CheckpointError(
            f"{path} is damaged: its contents do not match the digest stored with it (flipped or overwritten "
            f"bytes); use the run folder's prev.pt or another copy"
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CheckpointError(f"{path} is an incomplete rfn checkpoint: it lacks {missing}")
    if expected_model is not None and data["model_name"] != expected_model:
        raise CheckpointError(
            f"{path} holds a {data['model_name']!r} model, but a {expected_model!r} model was expected"
        )
    return data


def run_checkpoints(path: str | os.PathLike) -> list[Path]:
    """The checkpoint files a run folder (or its ``last.pt``) may resume from, newest first, that exist.

    ``last.pt`` and the one before it, ``prev.pt``; a ``last.pt`` that was set aside as damaged
    (``last.pt.damaged``) leaves ``prev.pt``, its predecessor, as the newest.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    return [p for p in (path, _previous_path(path)) if p.is_file()]


def load_run_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device | None = "cpu",
    expected_model: str | None = None,
    set_aside: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Load the newest of a run's checkpoints that verifies (:func:`run_checkpoints`): ``last.pt``, else ``prev.pt``.

    Args:
        path: ``last.pt`` or its run folder.
        map_location, expected_model: as for :func:`load_checkpoint`.
        set_aside: rename each newer file that does not verify to ``NAME.damaged``, so that the
            next checkpoint does not keep it as ``prev.pt`` (what a resuming run does).

    Returns:
        ``(data, path_loaded)``. Loading another file than ``last.pt`` prints a warning naming both.

    Raises:
        FileNotFoundError: the folder holds neither file.
        CheckpointError: no file verifies (the message names each and why), or the checkpoint holds
            another model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    found = run_checkpoints(path)
    if not found:
        raise FileNotFoundError(f"{path.parent} holds no checkpoint ({path.name} or {_previous_path(path).name})")
    failed: list[tuple[Path, CheckpointError]] = []
    for candidate in found:
        try:
            data = load_checkpoint(candidate, map_location)
            break
        except CheckpointError as err:
            failed.append((candidate, err))
    else:
        why = "; ".join(" ".join(str(err).split()) for _, err in failed)  # one line, whatever torch said
        raise CheckpointError(f"{why}; no checkpoint of the run verifies")
    for bad, err in failed:
        aside = ""
        if set_aside:
            os.replace(bad, bad.with_name(bad.name + ".damaged"))
            aside = f" (kept as {bad.name}.damaged)"
        print(f"rfn: warning: {bad} is damaged{aside}: {str(err)[:200]}", file=sys.stderr)
    if candidate != path:
        why = "is damaged" if failed and failed[0][0] == path else "is missing"
        print(
            f"rfn: warning: {path} {why}; continuing from the newest checkpoint that verifies, {candidate} at step "
            f"{data.get('step')}",
            file=sys.stderr,
        )
    if expected_model is not None and data["model_name"] != expected_model:
        raise CheckpointError(
            f"{candidate} holds a {data['model_name']!r} model, but a {expected_model!r} model was expected"
        )
    return data, candidate


#: what a weights-only export keeps of a training checkpoint
EXPORT_KEYS = ("model_name", "model_config", "model", "data_config", "train_config", "meta", "step", "torch_version")


def export_weights(src: str | os.PathLike, dst: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """Write the weights-only file of the checkpoint ``src`` (a file or run folder) to ``dst``.

    The result loads with :func:`rfn.load` and can start a new run
    (``rfn train --init-from``), but holds no optimiser or random state, so it
    cannot resume the run exactly. ``dtype`` (e.g. ``torch.float16``) stores the
    floating-point weights at that precision (half the size); loading casts them back
    to the model's precision, so the numbers change by the rounding. Returns ``dst``.
    """
    data = load_checkpoint(src)
    out = {k: data[k] for k in EXPORT_KEYS if k in data}
    if dtype is not None:
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point type such as torch.float16, got {dtype}")
        out["model"] = {k: v.to(dtype) if v.is_floating_point() else v for k, v in out["model"].items()}
        out["meta"] = {**(out.get("meta") or {}), "weights_dtype": str(dtype).removeprefix("torch.")}
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(dst, out)

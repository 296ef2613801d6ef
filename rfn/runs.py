"""Train-or-load: the runs the book's notebooks share, and the one function that trains a preset.

A notebook asks for a model by *kind* and the book's *profile*; the profile and
kind name a preset (:func:`preset_for`), and every setting of the run lives in
that preset (:mod:`rfn.presets`). Kinds are the four video models (``"rfn"``,
``"srnn"``, ``"vrnn"``, ``"deterministic"``, on SM-MNIST) and the book's other
named runs, which are presets called ``<profile>-<kind>`` (``"glow-mnist"``,
``"cond-glow-mnist"``, ``"moons-flow"``, ``"sinusoid-srnn-smooth"``,
``"ablation-rfn-L1"``, ...).

* :func:`train_preset` trains a preset (with ``--set``-style overrides) through
  :class:`rfn.training.Trainer`; ``rfn train`` calls it too.
* :func:`ensure_trained` returns the checkpoint of the finished run of a kind at a
  profile under ``<root>/<profile>/``, training (or resuming) it first when needed;
  :func:`trained_model` loads it. Heavy runs can be made elsewhere with
  ``rfn train --preset NAME --out <run_dir>`` and are then picked up.
* The ``reference`` profile trains no video model: it loads the weights-only files
  ``checkpoints/reference/<preset>.pt`` (:func:`reference_checkpoint`) with their
  ``metrics.csv`` and ``run.json`` beside them (:func:`run_file`); so does it for notebook
  09's ablations. The book's other small runs (the flows on points and MNIST digits, the
  sinusoids) have reference presets that are the quick ones (aliases in
  :mod:`rfn.presets.small`): they train in minutes and share the quick profile's folders
  (:func:`source_profile`, the scale of the preset that trains a run).
* :func:`cached_json` stores numbers computed from a checkpoint beside it;
  :func:`rfn.book.reference.ship_reference_caches` commits those of the reference models beside their
  weights (``checkpoints/reference/cache/``), so the book does not recompute them.

Example:
    >>> preset_for("rfn", "quick"), preset_for("glow-mnist", "smoke"), preset_for("moons-flow", "reference")
    ('quick-smmnist', 'smoke-glow-mnist', 'quick-moons-flow')
    >>> str(run_dir("srnn", "smoke", seed=1, root="artifacts"))
    'artifacts/smoke/srnn-smmnist-seed1'
    >>> str(run_dir("glow-mnist", "quick", root="artifacts"))
    'artifacts/quick/glow-mnist-seed0'
    >>> source_profile("glow-mnist", "reference"), source_profile("rfn", "reference")
    ('quick', 'reference')
    >>> str(run_file("srnn", "reference", "metrics.csv"))
    'checkpoints/reference/reference-smmnist-srnn.metrics.csv'
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rfn.checkpoint import load_checkpoint
from rfn.presets import ALIASES, apply_overrides, get_preset, preset_names, resolve_name
from rfn.profiles import PROFILES, VIDEO_KINDS, VIDEO_PRESETS
from rfn.runtime import to_jsonable
from rfn.training.preset import train_preset

__all__ = [
    "LABELS",
    "RUN_FILES",
    "Run",
    "cache_tag",
    "cached_json",
    "ensure_trained",
    "get_run",
    "preset_for",
    "reference_cache_dir",
    "reference_checkpoint",
    "reference_file",
    "reference_work_dir",
    "run_dir",
    "run_file",
    "seeded_predict",
    "source_profile",
    "train_preset",
    "trained_model",
    "write_cache",
]

#: where the reference profile's weights-only files live (relative to the working directory)
REFERENCE_ROOT = Path("checkpoints") / "reference"


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        hint = " (the profile once called 'full' is 'thesis')" if profile == "full" else ""
        raise ValueError(f"unknown profile {profile!r}{hint}; choose one of {', '.join(PROFILES)}")


def preset_for(kind: str, profile: str) -> str:
    """The preset that trains model ``kind`` at a book profile: ``<profile>-<kind>`` in the catalogue (the
    video kinds: :data:`rfn.profiles.VIDEO_PRESETS`), under its current name (aliases resolved)."""
    _check_profile(profile)
    name = VIDEO_PRESETS[profile][kind] if kind in VIDEO_KINDS else f"{profile}-{kind}"
    try:
        return resolve_name(name)
    except ValueError:
        names = [*preset_names(), *ALIASES]
        known = sorted({p.split("-", 1)[1] for p in names if p.startswith(f"{profile}-")} | set(VIDEO_KINDS))
        raise ValueError(
            f"no preset for kind {kind!r} at profile {profile!r}; kinds there: {', '.join(known)}"
        ) from None


def source_profile(kind: str, profile: str) -> str:
    """The scale of the preset that trains ``kind`` at ``profile``: where its run lives, and ``"reference"``
    for the runs whose weights are committed (the reference presets). The book's small runs have quick
    presets at the reference profile too (:mod:`rfn.presets.small`), so their runs are the quick ones."""
    return preset_for(kind, profile).split("-", 1)[0]


def run_dir(
    kind: str, profile: str, seed: int = 0, root: str | os.PathLike = "artifacts", dataset: str = "smmnist"
) -> Path:
    """Folder of the run that trains ``kind`` at ``profile`` with ``seed`` (see :func:`source_profile`).

    At the reference profile a video kind's folder holds only what the pages compute from
    the committed model (caches); its weights and logs are :func:`run_file`'s.
    """
    name = f"{kind}-{dataset}" if kind in VIDEO_KINDS else kind
    return Path(root) / source_profile(kind, profile) / f"{name}-seed{seed}"


def reference_checkpoint(kind: str, root: str | os.PathLike = REFERENCE_ROOT, seed: int = 0) -> Path:
    """The weights-only file the ``reference`` profile loads for ``kind``: ``<root>/<preset>.pt``
    (``<preset>-seed<N>.pt`` for another training seed; the ablations' under ``<root>/ablations/``)."""
    return reference_file(preset_for(kind, "reference"), seed, root)


def reference_file(preset_name: str, seed: int = 0, root: str | os.PathLike = REFERENCE_ROOT) -> Path:
    """Where the weights of preset ``preset_name`` trained with ``seed`` are committed.

    Example:
        >>> str(reference_file("reference-smmnist"))
        'checkpoints/reference/reference-smmnist.pt'
        >>> str(reference_file("reference-ablation-srnn-D2", seed=1))
        'checkpoints/reference/ablations/reference-ablation-srnn-D2-seed1.pt'
        >>> str(reference_file("reference-textured-srnn", seed=2))
        'checkpoints/reference/textured/reference-textured-srnn-seed2.pt'
    """
    # notebook 09's 24 small runs and the RGB study's 15 (benchmarks/rgb_headline.py) have their own folders
    sub = "ablations" if "-ablation-" in preset_name else "textured" if "-textured" in preset_name else ""
    folder = Path(root) / sub
    return folder / f"{preset_name}{'' if seed == 0 else f'-seed{seed}'}.pt"


#: the files of a run folder and their names beside a committed reference checkpoint
#: (``train_time.json`` only where the run wrote one: runs trained through :func:`train_preset`)
RUN_FILES = {
    "last.pt": ".pt",
    "metrics.csv": ".metrics.csv",
    "run.json": ".run.json",
    "train_time.json": ".train_time.json",
}


def run_file(kind: str, profile: str, name: str, seed: int = 0, root: str | os.PathLike = "artifacts") -> Path:
    """A file of the run that serves ``kind`` at ``profile``: ``last.pt``, ``metrics.csv``, ``run.json``
    or ``train_time.json``.

    ``<run_dir>/<name>``, or at the reference profile, for a kind with a reference preset, the
    committed file beside its checkpoint (``checkpoints/reference/<preset>.metrics.csv``, ...).
    """
    if name not in RUN_FILES:
        raise ValueError(f"run_file knows {', '.join(RUN_FILES)}, not {name!r}")
    if source_profile(kind, profile) == "reference":
        return reference_checkpoint(kind, seed=seed).with_suffix(RUN_FILES[name])
    return run_dir(kind, profile, seed, root) / name


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
    device: str | None = None,
    progress: bool = False,
) -> Path:
    """The checkpoint of the finished run of ``kind`` at ``profile``; trains (or resumes) it first if needed.

    Args:
        kind: a video kind or one of the book's named runs (see :func:`preset_for`).
        profile: ``"smoke"``, ``"quick"``, ``"reference"`` or ``"thesis"``.
        seed: training seed (part of the run folder's name).
        root: the notebooks' ``artifacts_dir``.
        device: ``"cpu"``, ``"cuda"``, ... or ``None``/``"auto"``.
        progress: show the training progress bar.

    Returns:
        ``<root>/<profile>/<run>/last.pt``; at the ``reference`` profile, for a kind with a
        reference preset, the file :func:`reference_checkpoint` names, which must exist (it is
        not trained here); other kinds are served by their quick run (:func:`source_profile`).
    """
    name = preset_for(kind, profile)
    profile = source_profile(kind, profile)
    if profile == "reference":
        path = reference_checkpoint(kind, seed=seed)
        if not path.is_file():
            run = f"runs/{name}" + ("" if seed == 0 else f"-seed{seed}")
            raise FileNotFoundError(
                f"reference checkpoint {path} is missing; train it with `make reference` (every reference "
                f"model, hours on a CPU) or alone with `rfn train --preset {name} --out {run} --set "
                f'train.seed={seed}` and export it with `python -c "from rfn.book.reference import export_reference; '
                f"export_reference('{run}', '{name}', seed={seed})\"`, or use the quick profile"
            )
        return path
    extra = [f"train.seed={seed}", f"train.progress={progress}"]
    if device not in (None, "auto"):
        extra.append(f"train.device={device}")
    steps = apply_overrides(get_preset(name), extra).train_config().steps
    out = run_dir(kind, profile, seed, root)
    ckpt = out / "last.pt"
    if not _finished(ckpt, steps):
        from rfn.checkpoint import run_checkpoints

        resume = out.is_dir() and bool(run_checkpoints(out))  # prev.pt alone is a checkpoint to continue from
        train_preset(name, out, extra, resume=resume, meta={"kind": kind, "profile": profile})
    return ckpt


def cached_json(
    path: str | os.PathLike,
    compute: Callable[[], Any],
    key: dict[str, Any] | None = None,
    shipped: str | os.PathLike | None = None,
) -> Any:
    """Return the JSON stored at ``path`` if it was made with the same ``key``; else compute and store it.

    ``key`` describes what the numbers depend on (checkpoint hash, protocol, seed, ...);
    a different key recomputes. The file is written atomically. ``shipped``: a read-only
    copy made elsewhere (the committed evaluation of a reference model,
    :func:`rfn.book.reference.ship_reference_caches`); used, and copied to ``path``, when its key matches.
    """
    path = Path(path)
    tag = cache_tag(key)
    for candidate in (path, Path(shipped) if shipped is not None else None):
        stored = _read_cache(candidate, tag) if candidate is not None else None
        if stored is not None:
            if candidate != path:
                write_cache(path, stored)
            return stored["value"]
    write_cache(path, {"key": tag, "value": to_jsonable(compute())})
    return json.loads(path.read_text())["value"]


def cache_tag(key: dict[str, Any] | None) -> str:
    """The 16-hex-digit tag :func:`cached_json` stores for ``key``."""
    return hashlib.sha256(json.dumps(key or {}, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_cache(path: Path, tag: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text())
        return stored if stored.get("key") == tag and "value" in stored else None
    except (ValueError, AttributeError):
        return None


def write_cache(path: Path, stored: dict) -> None:
    """Write a :func:`cached_json` entry (``{"key": ..., "value": ...}``) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stored))
    os.replace(tmp, path)


def reference_work_dir(kind: str, seed: int = 0, artifacts: str | os.PathLike = "artifacts") -> Path:
    """Where a ``reference`` render stores what it computes from a committed model:
    ``<artifacts>/reference/<kind>[-seed<N>]/`` (``checkpoints/`` stays as committed)."""
    return Path(artifacts) / "reference" / (kind if seed == 0 else f"{kind}-seed{seed}")


def reference_cache_dir(kind: str, seed: int = 0, root: str | os.PathLike = REFERENCE_ROOT) -> Path:
    """Where the numbers the pages compute from a committed reference model are shipped:
    ``<root>/cache/<preset>[-seed<N>]/`` (see :func:`rfn.book.reference.ship_reference_caches`)."""
    return Path(root) / "cache" / reference_checkpoint(kind, root, seed).stem


#: how the pages name the video models
LABELS = {"rfn": "RFN", "srnn": "SRNN", "vrnn": "VRNN", "deterministic": "deterministic"}


@dataclass(frozen=True)
class Run:
    """A trained run as the pages need it, read from its checkpoint (full or weights-only).

    Attributes:
        kind: ``"rfn"``, ``"srnn"``, ...; profile and seed as given to :func:`get_run`.
        checkpoint: the file :func:`ensure_trained` returned.
        step: training steps done; batch_size: the training batch.
        data: the run's ``data_config`` (``name``, ``seq_len``, ``kwargs``).
        cache_dir: where the pages store numbers computed from it (beside the checkpoint; for a
            reference file, :func:`reference_work_dir`, so that ``checkpoints/`` stays as committed).
        shipped_dir: for a reference file, the committed copies of those numbers
            (:func:`reference_cache_dir`), read when their key matches; else ``None``.
    """

    kind: str
    profile: str
    seed: int
    checkpoint: Path
    step: int
    batch_size: int
    data: dict
    cache_dir: Path
    shipped_dir: Path | None = None

    @property
    def train_frames(self) -> int:
        """Length of the training sequences: the model's horizon."""
        return int(self.data["seq_len"])

    @property
    def data_kwargs(self) -> dict:
        """The SM-MNIST settings of the run (canvas, digit size, digits), for :func:`rfn.data.make_dataset`."""
        return dict(self.data.get("kwargs", {}))

    @property
    def image_size(self) -> int:
        return int(self.data_kwargs.get("image_size", 64))

    def model(self, device: str | None = None) -> nn.Module:
        """The trained model, in eval mode on ``device`` (``None``/``"auto"``: CPU)."""
        from rfn.models.registry import load_model

        return load_model(self.checkpoint, device=None if device == "auto" else device)

    def cached(self, name: str, compute, key: dict) -> Any:
        """:func:`cached_json` of ``cache_dir / name``, falling back on the shipped copy."""
        shipped = self.shipped_dir / name if self.shipped_dir is not None else None
        return cached_json(self.cache_dir / name, compute, key, shipped=shipped)

    def evaluation(self, protocol, options) -> dict:
        """:func:`rfn.evaluation.evaluate` of the run under ``protocol``, cached beside its checkpoint.

        ``options``: an :class:`rfn.evaluation.EvaluationOptions`; the cache is keyed by the checkpoint's
        hash, the protocol and the options.
        """
        from rfn.evaluation import evaluate

        def compute() -> dict:
            t0 = time.perf_counter()
            out = evaluate(self.checkpoint, protocol, options)
            out["wall_s"] = time.perf_counter() - t0
            return out

        return self.cached(f"book_eval_{protocol.name}.json", compute, self.evaluation_key(protocol, options))

    def evaluation_key(self, protocol, options) -> dict:
        """What :meth:`evaluation`'s cached numbers depend on: checkpoint, protocol, options, result layout."""
        from rfn.evaluation.run import BEST_OF_N_DEFINITION

        return {
            "checkpoint": self.checkpoint_id(),
            "protocol": protocol.cache_key(),
            "options": asdict(options),
            "best_of_n": BEST_OF_N_DEFINITION,
            "results": 2,  # 2: the baselines' scores per sequence and frame (paired tests)
        }

    def checkpoint_id(self) -> str:
        """A short hash of the checkpoint file: cached numbers are recomputed when the model changes."""
        return hashlib.sha256(self.checkpoint.read_bytes()).hexdigest()[:16]

    def describe(self) -> str:
        """One line: ``"RFN: 1000 steps at batch 12, 32x32 frames, 8-frame sequences"``."""
        size = self.image_size
        return (
            f"{LABELS.get(self.kind, self.kind)}: {self.step} steps at batch {self.batch_size}, "
            f"{size}x{size} frames, {self.train_frames}-frame sequences"
        )


def get_run(
    kind: str, profile: str, seed: int = 0, root: str | os.PathLike = "artifacts", dataset: str = "smmnist"
) -> Run:
    """The book's run of ``kind`` at ``profile``: trained first if missing, or the committed reference file.

    Args:
        kind: a video kind (``"rfn"``, ``"srnn"``, ``"vrnn"``, ``"deterministic"``) or one of the
            book's named runs (see :func:`preset_for`).
        profile: ``"smoke"``, ``"quick"``, ``"reference"`` or ``"thesis"``.
        seed: training seed (part of the run folder's name).
        root: the notebooks' ``artifacts_dir``.
        dataset: the video kinds have book presets on SM-MNIST only; BAIR and KTH runs are
            trained with ``rfn train --preset thesis-bair`` (or ``thesis-kth``) on prepared data.

    Returns:
        the :class:`Run`: ``run.model(device)``, ``run.cached(name, compute, key)``,
        ``run.evaluation(protocol, options)``, ``run.describe()``.
    """
    if dataset != "smmnist":
        raise ValueError(
            f"the book trains SM-MNIST video models only (dataset={dataset!r} given); for BAIR or KTH prepare "
            "the data (`rfn data prepare`) and train `rfn train --preset thesis-bair` (or thesis-kth)"
        )
    path = ensure_trained(kind, profile, seed, root=root)
    ckpt = load_checkpoint(path)
    reference = source_profile(kind, profile) == "reference"
    return Run(
        kind=kind,
        profile=profile,
        seed=int(seed),
        checkpoint=Path(path),
        step=int(ckpt["step"]),
        batch_size=int(ckpt["train_config"]["batch_size"]),
        data=dict(ckpt["data_config"]),
        cache_dir=reference_work_dir(kind, seed, root) if reference else Path(path).parent,
        shipped_dir=reference_cache_dir(kind, seed) if reference else None,
    )


def seeded_predict(model, context: torch.Tensor, n_future: int, n: int = 1, seed: int = 0, **temps) -> torch.Tensor:
    """``model.predict`` after seeding torch, so a re-run draws the same futures: ``uint8 [B, n, n_future, C, H, W]``.

    ``context`` is moved to the model's device; ``temps`` are ``predict``'s temperatures.
    """
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.predict(context.to(device), n_future=n_future, n_samples=n, **temps).cpu()


def trained_model(
    kind: str,
    profile: str,
    seed: int = 0,
    root: str | os.PathLike = "artifacts",
    device: str | None = None,
    dataset: str = "smmnist",
) -> nn.Module:
    """``get_run(kind, profile, seed, root, dataset).model(device)``: the model alone."""
    return get_run(kind, profile, seed, root, dataset).model(device)

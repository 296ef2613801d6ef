"""How the book's notebooks train and load the models they share: one table per profile.

Notebook 04 trains the RFN, SRNN, VRNN and the deterministic ConvLSTM baseline with
:func:`rfn.experiments.ensure_trained`; notebooks 03 and 05-09 load the same runs. A run
folder (``artifacts/<profile>/<kind>-smmnist-seed<seed>/``) is named by profile, model
kind and seed only, not by its overrides. If two pages asked for the same model with
different overrides, the second would find a run of another length and resume or
retrain it. So the overrides live here, in :data:`BOOK_TRAINING`, and nowhere else.

For authors of notebooks 03-09: load a model with :func:`trained_model` (or pass
:func:`training_overrides` to ``ensure_trained`` yourself), never write ``train.*``
overrides in a notebook, and call :func:`set_cpu_threads` once at the top of a page.

Why one CPU thread: the quick models are small (0.1-0.4 M parameters, 32x32 frames),
so two threads gain little even on an idle machine, and on a busy machine the
threads wait on each other. Measured on this project's 2-core machine while other jobs
ran (load 8-10), one training step of ``quick-smmnist`` (batch 12, 8 frames):

================  ===================  ==================
model             2 threads, CPU s     1 thread, CPU s
================  ===================  ==================
RFN               4.4                  0.35
SRNN (DMOL)       2.8                  0.15
VRNN (DMOL)       1.2                  0.16
deterministic     0.6                  0.10
================  ===================  ==================

(CPU seconds per step, i.e. the wall time on an otherwise idle core.) On a GPU the
thread count does not matter and :func:`set_cpu_threads` leaves it alone.

Example:
    >>> training_overrides("quick", "rfn")[:1]
    ['train.progress=False']
    >>> training_overrides("smoke", "vrnn")
    ['train.progress=False']
"""

from __future__ import annotations

import os

import torch
from torch import nn

from rfn.experiments import MODEL_KINDS, PROFILE_PRESETS, ensure_trained

__all__ = ["BOOK_TRAINING", "CPU_THREADS", "set_cpu_threads", "trained_model", "training_overrides"]

#: Threads torch uses on a CPU in the book (see the module docstring for the measurement).
CPU_THREADS = 1

_QUIET = ["train.progress=False"]  # the page prints a summary; a progress bar only clutters it

#: profile -> model kind -> ``--set``-style overrides applied on top of the profile's preset
#: (``rfn.experiments.PROFILE_PRESETS``). Quick: step counts that fit notebook 04's budget
#: of 15 minutes on an idle 2-core CPU, training included (steps x CPU s/step above:
#: RFN 1000 x 0.35 = 350 s, SRNN and VRNN 800 x 0.15 = 120 s each, deterministic 600 x 0.1 = 60 s).
#: The RFN learns faster at lr 2e-3 than at the preset's 1e-3: validation bpp 1.67 against
#: 1.91 after 1000 steps (seed 0).
#: Smoke and full use their presets as they are (full: the thesis's 300k steps, on a GPU).
BOOK_TRAINING: dict[str, dict[str, list[str]]] = {
    "smoke": {kind: list(_QUIET) for kind in MODEL_KINDS},
    "quick": {
        "rfn": [*_QUIET, "train.steps=1000", "train.lr=2e-3"],
        "srnn": [*_QUIET, "train.steps=800"],
        "vrnn": [*_QUIET, "train.steps=800"],
        "deterministic": [*_QUIET, "train.steps=600"],
    },
    "full": {kind: list(_QUIET) for kind in MODEL_KINDS},
}


def training_overrides(profile: str, kind: str) -> list[str]:
    """The overrides every page uses for model ``kind`` at ``profile`` (a fresh list)."""
    if profile not in BOOK_TRAINING:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(BOOK_TRAINING)}")
    if kind not in BOOK_TRAINING[profile]:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    return list(BOOK_TRAINING[profile][kind])


def trained_model(
    kind: str,
    profile: str,
    seed: int = 0,
    root: str | os.PathLike = "artifacts",
    device: str | None = None,
    dataset: str = "smmnist",
) -> nn.Module:
    """The book's model ``kind`` at ``profile``: loaded if its run has finished, else trained first.

    Args:
        kind: ``"rfn"``, ``"srnn"``, ``"vrnn"`` or ``"deterministic"``.
        profile: ``"smoke"``, ``"quick"`` or ``"full"``.
        seed: training seed (part of the run folder's name).
        root: the notebooks' ``artifacts_dir``.
        device: ``"cpu"``, ``"cuda"``, ... or ``None``/``"auto"``.
        dataset: only ``"smmnist"`` has book presets; BAIR and KTH runs are trained with
            ``rfn train --preset thesis-bair`` (or ``thesis-kth``) on prepared data.

    Returns:
        The model in eval mode (see :func:`rfn.experiments.ensure_trained`).
    """
    if dataset != "smmnist":
        raise ValueError(
            f"the book trains SM-MNIST models only (dataset={dataset!r} given): presets "
            f"{sorted(PROFILE_PRESETS[profile].values()) if profile in PROFILE_PRESETS else []} are SM-MNIST; "
            "for BAIR or KTH prepare the data (`rfn data prepare`) and train `rfn train --preset thesis-bair`"
        )
    device = None if device == "auto" else device
    return ensure_trained(kind, profile, seed, root=root, overrides=training_overrides(profile, kind), device=device)


def set_cpu_threads(device: str | torch.device) -> int:
    """Use :data:`CPU_THREADS` torch threads when ``device`` is a CPU; returns the thread count in use."""
    if torch.device(device).type == "cpu":
        torch.set_num_threads(CPU_THREADS)
    return torch.get_num_threads()

"""The project's named experiments (``rfn train --preset NAME``; list them with ``rfn presets``).

Every hyper-parameter of every named run is defined here, once; notebooks and
:mod:`rfn.runs` only name presets. The catalogue, by model family:

* :mod:`rfn.presets.video`: the RFN, SRNN, VRNN and deterministic baseline at the
  ``thesis``, ``reference``, ``quick`` and ``smoke`` scales;
* :mod:`rfn.presets.small`: the two-moons flow, Glow and conditional Glow on
  MNIST, and the dense sinusoid SRNN/VRNN variants (``smoke``, ``quick``, ``thesis``);
* :mod:`rfn.presets.ablations`: the chapter 9 ablation runs (``smoke``, ``quick``, ``thesis``).

Scale names are the same everywhere (presets, :mod:`rfn.runs` profiles, the
Makefile, the notebooks' ``profile`` parameter): ``smoke``, ``quick``,
``reference``, ``thesis``.

Example:
    >>> get_preset("quick-smmnist").train["steps"]
    1000
    >>> sorted(SCALES)
    ['quick', 'reference', 'smoke', 'thesis']
"""

from __future__ import annotations

from rfn.config import PRESETS, DataConfig, Preset, apply_overrides, get_preset, register_preset
from rfn.presets import (  # noqa: F401 (each registers its presets)
    ablations,
    small,
    video,
)
from rfn.presets.video import THESIS_DATA

__all__ = [
    "PRESETS",
    "SCALES",
    "THESIS_DATA",
    "DataConfig",
    "Preset",
    "apply_overrides",
    "get_preset",
    "register_preset",
]

#: the scales of the presets and the book's profiles, smallest first
SCALES = ("smoke", "quick", "reference", "thesis")

"""The project's named experiments (``rfn train --preset NAME [--variant V]``; list them with ``rfn presets``).

Every hyper-parameter of every named run is defined here, once; notebooks and the
book's runs only name presets. The catalogue, one table per model family keyed by scale:

* :mod:`rfn.presets.video`: the RFN, SRNN, VRNN and deterministic baseline
  (``<scale>-<data>[-<model>]``) at the ``thesis``, ``reference``, ``quick`` and
  ``smoke`` scales, and the RGB headline study (``reference-textured*``);
* :mod:`rfn.presets.small`: the two-moons flow, Glow and conditional Glow on
  MNIST, and the dense sinusoid SRNN/VRNN with their variants (``smoke``, ``quick``, ``thesis``);
* :mod:`rfn.presets.ablations`: the chapter 9 ablations, two base presets per scale and
  their variants.

A variant (:data:`VARIANTS`) is a preset changed by ``key=value`` settings, resolved when it
is used (``get_preset("quick-ablation-rfn", variant="skip-flow")`` or the name
``quick-ablation-rfn-skip-flow``); former names resolve through :data:`ALIASES`. Importing the
catalogue builds no model: model configs are checked when a preset is changed or trained.

Scale names are the same everywhere (presets, the book's profiles, the Makefile, the
notebooks' ``profile`` parameter): :data:`SCALES`.

Example:
    >>> get_preset("quick-smmnist").train["steps"]
    1000
    >>> get_preset("smoke").name  # a former name
    'smoke-smmnist'
    >>> sorted(SCALES)
    ['quick', 'reference', 'smoke', 'thesis']
"""

from __future__ import annotations

from rfn.config import DataConfig, Preset, apply_overrides
from rfn.presets import (  # noqa: F401 (each registers its presets)
    ablations,
    small,
    video,
)
from rfn.presets.catalogue import (
    ALIASES,
    PRESETS,
    VARIANTS,
    get_preset,
    preset_names,
    register_alias,
    register_preset,
    register_variants,
    resolve_name,
)
from rfn.presets.video import THESIS_DATA

__all__ = [
    "ALIASES",
    "PRESETS",
    "SCALES",
    "THESIS_DATA",
    "VARIANTS",
    "DataConfig",
    "Preset",
    "apply_overrides",
    "families",
    "get_preset",
    "preset_names",
    "register_alias",
    "register_preset",
    "register_variants",
    "resolve_name",
]

#: the scales of the presets and the book's profiles, smallest first
SCALES = ("smoke", "quick", "reference", "thesis")


def families() -> dict[str, dict[str, str]]:
    """Run family (a preset's name without its scale) -> scale -> preset name, for ``rfn presets``.

    A preset whose name does not start with a scale is a family of its own (scale ``""``).

    Example:
        >>> families()["glow-mnist"]
        {'smoke': 'smoke-glow-mnist', 'quick': 'quick-glow-mnist', 'thesis': 'thesis-glow-mnist'}
    """
    out: dict[str, dict[str, str]] = {}
    for name in PRESETS:
        scale, _, family = name.partition("-")
        if scale not in SCALES or not family:
            scale, family = "", name
        out.setdefault(family, {})[scale] = name
    order = {s: i for i, s in enumerate(("", *SCALES))}
    return {f: dict(sorted(v.items(), key=lambda kv: order[kv[0]])) for f, v in sorted(out.items())}

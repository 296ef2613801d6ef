"""The catalogue of named presets: registration, former names (aliases), variants and lookup.

:func:`register_preset` adds a preset, :func:`register_alias` lets a former name resolve to
its current one, :func:`register_variants` declares settings on top of a preset that are
applied (and validated) only when the variant is used; :func:`get_preset` resolves any of
them and suggests the closest names for a misspelt one. The project's presets register
themselves when :mod:`rfn.presets` is imported.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib

from rfn.config import Preset, TrainConfig, apply_overrides

__all__ = [
    "ALIASES",
    "PRESETS",
    "VARIANTS",
    "get_preset",
    "preset_names",
    "register_alias",
    "register_preset",
    "register_variants",
    "resolve_name",
]

PRESETS: dict[str, Preset] = {}
#: former preset name -> the name it resolves to (:func:`register_alias`)
ALIASES: dict[str, str] = {}
#: base preset -> variant -> the ``key=value`` settings that make it (:func:`register_variants`)
VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {}


def register_preset(preset: Preset, replace: bool = False) -> Preset:
    """Add ``preset`` to :data:`PRESETS` after checking its training settings.

    Args:
        preset: the preset.
        replace: allow replacing a preset of the same name.
    """
    if not isinstance(preset, Preset):
        raise TypeError(f"register_preset takes a rfn.config.Preset, got {type(preset).__name__}")
    if preset.name in PRESETS and not replace and PRESETS[preset.name] != preset:
        raise ValueError(f"preset {preset.name!r} is already registered; pass replace=True to redefine it")
    unknown = sorted(set(preset.train) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        valid = ", ".join(f.name for f in dataclasses.fields(TrainConfig))
        raise ValueError(f"preset {preset.name!r} sets unknown train keys {unknown}; valid: {valid}")
    preset.train_config()  # range checks
    PRESETS[preset.name] = preset
    return preset


def register_alias(old: str, new: str) -> None:
    """Let the former preset name ``old`` resolve to ``new`` (committed runs and older commands keep working)."""
    if old in PRESETS:
        raise ValueError(f"alias {old!r} would hide the preset of that name")
    ALIASES[old] = new


def register_variants(base: str, variants: dict[str, list[str] | tuple[str, ...]]) -> None:
    """Declare the variants of preset ``base``: variant name -> ``key=value`` settings on top of it.

    ``get_preset(base, variant=V)`` (or the name ``<base>-<V>``) applies them when the preset is
    used, so importing the catalogue builds no model config.
    """
    if base not in PRESETS:
        raise ValueError(f"variants of {base!r}: register the preset first")
    for name, settings in variants.items():
        if not all(isinstance(s, str) and "=" in s for s in settings):
            raise ValueError(f"variant {name!r} of {base!r}: settings must be key=value strings, got {settings!r}")
    VARIANTS.setdefault(base, {}).update({name: tuple(settings) for name, settings in variants.items()})


def preset_names(variants: bool = True) -> list[str]:
    """Every name :func:`get_preset` resolves: the presets, with ``variants`` also ``<base>-<variant>``
    (aliases of former names are not listed)."""
    names = set(PRESETS)
    if variants:
        names |= {f"{base}-{v}" for base, vs in VARIANTS.items() for v in vs}
    return sorted(names)


def _split_name(name: str) -> tuple[str, str | None]:
    """``(base preset, variant or None)`` that ``name`` (a preset, an alias or ``<base>-<variant>``) names."""
    name = ALIASES.get(name, name)
    if name in PRESETS:
        return name, None
    for base, variants in VARIANTS.items():
        if name.startswith(base + "-") and name[len(base) + 1 :] in variants:
            return base, name[len(base) + 1 :]
    for old, new in ALIASES.items():  # a variant named on a former base name
        if name.startswith(old + "-") and name[len(old) + 1 :] in VARIANTS.get(new, {}):
            return new, name[len(old) + 1 :]
    close = difflib.get_close_matches(name, preset_names() + sorted(ALIASES), n=4, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ValueError(f"unknown preset {name!r}; {hint}`rfn presets` lists them")


def resolve_name(name: str) -> str:
    """The current name of the run ``name`` names (aliases resolved), without building it.

    Example:
        >>> resolve_name("smoke"), resolve_name("reference-sinusoid-srnn-smooth")
        ('smoke-smmnist', 'quick-sinusoid-srnn-smooth')
    """
    base, variant = _split_name(name)
    return base if variant is None else f"{base}-{variant}"


def get_preset(name: str, variant: str | None = None) -> Preset:
    """A copy of the preset ``name``, optionally as one of its variants, validated when it has a variant.


    Args:
        name: a preset, a former name (an alias), or ``<base>-<variant>``.
        variant: a variant of the base preset (``rfn train --variant``); the copy is named
            ``<base>-<variant>``.

    Raises:
        ValueError: unknown name (with the closest names) or variant (with the preset's variants).
    """
    base, named = _split_name(name)
    if variant is not None and named is not None:
        raise ValueError(f"preset {name!r} is already variant {named!r} of {base!r}; give the base preset with it")
    variant = variant if variant is not None else named
    preset = copy.deepcopy(PRESETS[base])
    if variant is None:
        return preset
    if variant not in VARIANTS.get(base, {}):
        known = ", ".join(VARIANTS.get(base, {})) or "none"
        raise ValueError(f"preset {base!r} has no variant {variant!r}; its variants: {known}")
    out = apply_overrides(preset, list(VARIANTS[base][variant]))
    out.name = f"{base}-{variant}"
    out.description = f"{preset.description}; variant {variant}"
    return out

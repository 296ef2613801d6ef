"""The book's profiles in one place: per profile, the video presets, the evaluation protocol and every page's settings.

A profile (``smoke``, ``quick``, ``reference``, ``thesis``: :data:`PROFILES`, the presets'
scales) decides three things, all of them here:

* which preset trains each video model (:data:`VIDEO_PRESETS`; the book's other runs are
  ``<profile>-<kind>``, see :func:`rfn.runs.preset_for`);
* which evaluation protocol the result pages score with (:data:`PROTOCOLS`, names in
  :mod:`rfn.metrics.protocol`);
* what each page draws and measures (:data:`PAGES`): the notebooks read their settings with
  ``SETTINGS = page_settings("05_results", profile)`` and define none themselves.

The models' own settings stay in their presets (:mod:`rfn.presets`).

Example:
    >>> VIDEO_PRESETS["quick"]["srnn"], PROTOCOLS["reference"]
    ('quick-smmnist-srnn', 'smmnist-reference')
    >>> page_settings("07_interpolation", "smoke")
    {'frames': 6, 'weights': 3, 'speed': 1, 'temperature': 0.5}
"""

from __future__ import annotations

import copy
from typing import Any

from rfn.presets import SCALES

__all__ = [
    "PAGES",
    "PROFILES",
    "PROTOCOLS",
    "TEMPERATURE_RANGE_NOTE",
    "VIDEO_KINDS",
    "VIDEO_PRESETS",
    "check_setting",
    "page_settings",
]

#: the book's profiles, smallest first: the presets' scales
PROFILES = SCALES
#: the models every results page compares, trained on SM-MNIST
VIDEO_KINDS = ("rfn", "srnn", "vrnn", "deterministic")
#: profile -> video kind -> preset
VIDEO_PRESETS: dict[str, dict[str, str]] = {
    profile: {
        "rfn": f"{profile}-smmnist",
        **{kind: f"{profile}-smmnist-{kind}" for kind in ("srnn", "vrnn", "deterministic")},
    }
    for profile in PROFILES
}
#: profile -> the protocol the result pages score the video models with
PROTOCOLS: dict[str, str] = {profile: f"smmnist-{profile}" for profile in PROFILES}

_03_QUICK = {
    "blur_context": 3,
    "blur_future": 13,
    "blur_sequences": 100,
    "blur_futures": 100,
    "sin_val_len": 256,
    "sin_context": 10,
    "sin_future": 8,
    "sin_samples": 50,
}
_09_QUICK = {
    "seeds": 2,
    "bpp_sequences": 64,
    "eval": {"sequences": 16, "samples": 8, "context": 3, "future": 7},
    "metrics": ("ssim", "psnr"),
    "scale": "16x16 one-digit SM-MNIST, 6-frame sequences, batch 16, 240 (RFN) or 100 (SRNN) steps on 1 CPU core",
}

#: notebook -> profile -> what the page draws and measures (``"protocol"``: a protocol name, or
#: ``(name, changes)`` for :meth:`rfn.metrics.Protocol.replace`, resolved by :func:`page_settings`)
PAGES: dict[str, dict[str, dict[str, Any]]] = {
    "01_flows": {  # snapshots of the density during training, grid of its picture
        "smoke": {"snapshots": 4, "grid": 48},
        "quick": {"snapshots": 24, "grid": 96},
        "reference": {"snapshots": 24, "grid": 96},
        "thesis": {"snapshots": 40, "grid": 128},
    },
    "02_glow_latent_space": {  # n_test: test images behind every bits-per-pixel number; tsne: digits on the map
        "smoke": {"n_test": 200, "tsne": 200},
        "quick": {"n_test": 2000, "tsne": 1000},
        "reference": {"n_test": 2000, "tsne": 1000},
        "thesis": {"n_test": 10_000, "tsne": 3000},
    },
    # blur_*: Fig 2.2 (context frames, predicted frames, test sequences, possible futures drawn per sequence)
    # sin_*: sinusoid validation sequences, context and future patches, sampled futures (Fig A.2)
    "03_stochastic_latents": {
        "smoke": {
            "blur_context": 2,
            "blur_future": 6,
            "blur_sequences": 8,
            "blur_futures": 8,
            "sin_val_len": 32,
            "sin_context": 5,
            "sin_future": 5,
            "sin_samples": 8,
        },
        "quick": _03_QUICK,
        "reference": _03_QUICK,
        "thesis": {
            "blur_context": 3,
            "blur_future": 22,
            "blur_sequences": 1000,
            "blur_futures": 500,
            "sin_val_len": 1000,
            "sin_context": 10,
            "sin_future": 8,
            "sin_samples": 200,
        },
    },
    "04_training": {
        "smoke": {"show": 2, "context": 2, "future": 4, "gif_sequences": 2},
        "quick": {"show": 3, "context": 4, "future": 12, "gif_sequences": 4},
        "reference": {"show": 3, "context": 4, "future": 12, "gif_sequences": 4},
        "thesis": {"show": 3, "context": 5, "future": 20, "gif_sequences": 4},
    },
    "05_results": {
        "smoke": {"protocol": PROTOCOLS["smoke"], "iw_k": 2, "bpp_frames": 4, "fvd_clips": 0,
                  "strip_sequences": 2, "long_frames": 20, "pool": 4, "pool_samples": 3, "show": 1, "batch_size": 16,
                  "digit_samples": 2},
        "quick": {"protocol": PROTOCOLS["quick"], "iw_k": 20, "bpp_frames": 10, "fvd_clips": 16,
                  "strip_sequences": 4, "long_frames": 50, "pool": 24, "pool_samples": 10, "show": 3, "batch_size": 64,
                  "digit_samples": 5},
        "reference": {"protocol": PROTOCOLS["reference"], "iw_k": 20, "bpp_frames": 10, "fvd_clips": 256,
                      "strip_sequences": 4, "long_frames": 50, "pool": 24, "pool_samples": 10, "show": 3,
                      "batch_size": 64, "digit_samples": 10},
        "thesis": {"protocol": (PROTOCOLS["thesis"], {"n_test_sequences": 256, "fvd_repeats": 1}), "iw_k": 20,
                   "bpp_frames": 10, "fvd_clips": 256, "strip_sequences": 4, "long_frames": 70, "pool": 64,
                   "pool_samples": 100, "show": 3, "batch_size": 200, "digit_samples": 100},
    },
    "06_temperature": {
        "smoke": {"temperatures": [0.0, 0.5, 1.0], "context": 2, "sequences": 3, "samples": 20,
                  "fvd": False, "fvd_sequences": 2, "fvd_samples": 2},
        "quick": {"temperatures": [0.0, 0.25, 0.5, 0.75, 1.0], "context": 2, "sequences": 12, "samples": 20,
                  "fvd": True, "fvd_sequences": 12, "fvd_samples": 5},
        "reference": {"temperatures": [0.0, 0.25, 0.5, 0.75, 1.0], "context": 2, "sequences": 16, "samples": 20,
                      "fvd": True, "fvd_sequences": 256, "fvd_samples": 5},
        "thesis": {"temperatures": [0.0, 0.25, 0.5, 0.75, 1.0], "context": 2, "sequences": 64, "samples": 20,
                   "fvd": True, "fvd_sequences": 256, "fvd_samples": 100},
    },
    "07_interpolation": {
        "smoke": {"frames": 6, "weights": 3, "speed": 1, "temperature": 0.5},
        "quick": {"frames": 8, "weights": 7, "speed": 2, "temperature": 0.5},
        "reference": {"frames": 8, "weights": 7, "speed": 2, "temperature": 0.5},
        "thesis": {"frames": 10, "weights": 7, "speed": 4, "temperature": 0.5},
    },
    # sequences: test sequences for Figs 10.4/10.6; frames: their length (the models train on 8-10)
    # frozen_*: Fig 10.5 (conditioning frames, total frames, prior draws); sync_*: Figs 10.7/10.8
    "08_kl_bpp_analysis": {
        "smoke": {"sequences": 8, "frames": 6, "frozen_context": 2, "frozen_frames": 8, "frozen_draws": 2,
                  "sync_sequences": 8, "sync_frames": 12, "temperature": 0.5},
        "quick": {"sequences": 96, "frames": 10, "frozen_context": 4, "frozen_frames": 20, "frozen_draws": 4,
                  "sync_sequences": 96, "sync_frames": 30, "temperature": 0.5},
        "reference": {"sequences": 96, "frames": 10, "frozen_context": 4, "frozen_frames": 20, "frozen_draws": 4,
                      "sync_sequences": 96, "sync_frames": 30, "temperature": 0.5},
        "thesis": {"sequences": 512, "frames": 10, "frozen_context": 4, "frozen_frames": 30, "frozen_draws": 8,
                   "sync_sequences": 400, "sync_frames": 30, "temperature": 0.5},
    },
    "09_ablations": {
        "smoke": {
            "seeds": 1,
            "bpp_sequences": 4,
            "eval": {"sequences": 2, "samples": 2, "context": 2, "future": 3},
            "metrics": ("ssim", "psnr"),
            "scale": "16x16 one-digit SM-MNIST, 4-frame sequences, 2 steps (a code check, not a result)",
        },
        "quick": _09_QUICK,
        "reference": {
            **_09_QUICK,
            "eval": {**_09_QUICK["eval"], "sequences": 64, "samples": 100},
            "scale": "16x16 one-digit SM-MNIST, 6-frame sequences, batch 16, 3000 steps on 1 CPU core "
            "(weights committed)",
        },
        "thesis": {
            "seeds": 3,
            "bpp_sequences": 512,
            "eval": {"sequences": 64, "samples": 100, "context": 5, "future": 10},
            "metrics": ("ssim", "psnr", "lpips"),
            "scale": "32x32 two-digit SM-MNIST, 8-frame sequences, batch 12, 5000 steps on a GPU",
        },
    },
    # the RGB study (benchmarks/rgb_headline.py) is committed once, at its own scale: every profile reads it;
    # seeds: the training seeds read; clips: test clips in the stand-in figure; region_clips: test clips
    # whose bits are split into still and changed pixels (rfn.pages.rgb.bits_by_region)
    "10_rgb_headline": {
        "smoke": {"seeds": (0,), "clips": 2, "region_clips": 8},
        "quick": {"seeds": (0, 1, 2), "clips": 4, "region_clips": 64},
        "reference": {"seeds": (0, 1, 2), "clips": 4, "region_clips": 64},
        "thesis": {"seeds": (0, 1, 2), "clips": 4, "region_clips": 64},
    },
}  # fmt: skip


def page_settings(page: str, profile: str, **overrides: Any) -> dict[str, Any]:
    """What notebook ``page`` (its file stem, e.g. ``"05_results"``) draws and measures at ``profile``.

    A copy: the notebook may change it. A ``"protocol"`` entry comes back as the
    :class:`rfn.metrics.Protocol` it names.

    Args:
        page: the notebook's stem.
        profile: one of :data:`PROFILES`.
        **overrides: page parameters a reader passed, by setting name (``temperatures=[0, 0.3]``);
            ``None`` keeps the profile's value. Each is checked against the profile's value
            (:func:`check_setting`): same kind, counts positive, temperatures warned outside [0, 1].

    Raises:
        ValueError: an unknown page, profile or setting, or a value of the wrong kind, naming what to pass.

    Example:
        >>> page_settings("07_interpolation", "smoke", weights=5, temperature=None)["weights"]
        5
    """
    if page not in PAGES:
        raise ValueError(f"no settings for page {page!r}; pages: {', '.join(PAGES)}")
    if profile not in PAGES[page]:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    settings = copy.deepcopy(PAGES[page][profile])
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in settings or name in ("protocol", "scale"):
            known = ", ".join(k for k in settings if k not in ("protocol", "scale"))
            raise ValueError(f"page {page} has no setting {name!r}; its settings: {known}")
        settings[name] = check_setting(name, value, settings[name])
    if "protocol" in settings:
        from rfn.metrics import get_protocol

        name, changes = settings["protocol"] if isinstance(settings["protocol"], tuple) else (settings["protocol"], {})
        settings["protocol"] = get_protocol(name).replace(**changes) if changes else get_protocol(name)
    return settings


#: what a temperature outside [0, 1] does, for the warning of :func:`check_setting`
TEMPERATURE_RANGE_NOTE = (
    "the book's temperatures scale the noise's standard deviation between 0 (the mean, no noise) and 1 "
    "(the trained model); above 1 the noise grows past anything the model saw in training and frames turn "
    "into grey blocks and speckle, and a negative temperature draws the same noise as its absolute value"
)


def check_setting(name: str, value: Any, default: Any) -> Any:
    """``value`` for setting ``name`` after checking it is of the same kind as the profile's ``default``.

    Numbers of things (ints) must be positive (zero only where the default is zero); lists must be
    non-empty lists of numbers (whole numbers where the default's are, e.g. seeds); a setting whose
    name holds ``temperature`` warns (:class:`UserWarning`) for values outside [0, 1], saying what
    happens there.

    Raises:
        ValueError: the value is of another kind, naming the setting and what it expects.

    Example:
        >>> check_setting("temperatures", (0, 0.3), [0.0, 1.0])
        [0.0, 0.3]
    """
    import numbers
    import warnings

    def bad(expected: str) -> ValueError:
        return ValueError(f"setting {name!r} must be {expected}, got {value!r} (the profile's value is {default!r})")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("True or False")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise bad("a whole number")
        if value < (0 if default == 0 else 1):
            raise bad("positive" if default else "zero or more")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad("a number")
        out: Any = float(value)
    elif isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)) or not value:
            raise bad("a non-empty list")
        if all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in default):
            if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in value):
                raise bad("a list of whole numbers")
            value = [int(v) for v in value]
        elif all(isinstance(d, numbers.Real) for d in default):
            if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in value):
                raise bad("a list of numbers")
            value = [float(v) for v in value]
        elif all(isinstance(d, str) for d in default) and not all(isinstance(v, str) for v in value):
            raise bad("a list of names")
        out = type(default)(value)
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad(f"a dict with some of the keys {sorted(default)}")
        unknown = sorted(set(value) - set(default))
        if unknown:
            raise bad(f"a dict with keys among {sorted(default)} (unknown: {unknown})")
        return {**default, **{k: check_setting(f"{name}.{k}", v, default[k]) for k, v in value.items()}}
    else:
        if type(value) is not type(default):
            raise bad(f"a {type(default).__name__}")
        return value
    if "temperature" in name:
        values = out if isinstance(out, (list, tuple)) else [out]
        outside = [v for v in values if not 0.0 <= v <= 1.0]
        if outside:
            warnings.warn(f"{name}: {outside} outside [0, 1]; {TEMPERATURE_RANGE_NOTE}", UserWarning, stacklevel=3)
    return out

"""Presets of the ablation runs of thesis chapter 9 (notebook 09): two base presets per scale and their variants.

``<scale>-ablation-srnn`` and ``<scale>-ablation-rfn`` are the SRNN and RFN every ablation of
that scale starts from; each run of Figs 9.1/9.2 (SRNN: smoothing, RES_q, latent
overshooting D) and Tables 9.1/9.2 (RFN: skip connections, flow levels L) is a variant of
one of them, ``<scale>-ablation-<model>-<variant>`` (``rfn train --preset
quick-ablation-rfn --variant skip-flow``), made by ``key=value`` settings (the strings
``rfn train --set`` takes) when it is used, so what differs between variants reads as one line:

* smoke: the smoke SM-MNIST presets, 2 steps; L in 1, 2, 3.
* quick: 16x16 one-digit SM-MNIST (the smoke data), 6-frame sequences, batch 16,
  lr 2e-3, narrow networks; RFN 240 steps, SRNN 100; L in 1, 2, 3.
* reference: the quick runs for 3000 steps each (KL warm-up 300); L in 1, 2, 3. The book
  ships their weights (``checkpoints/reference/ablations/``).
* thesis: the quick SM-MNIST presets (32x32, two digits) for 5000 steps at lr 1e-3;
  L in 2, 3, 4.

Example:
    >>> from rfn.presets import get_preset
    >>> get_preset("quick-ablation-srnn-D2").model_config["overshooting"]
    2
    >>> get_preset("quick-ablation-srnn", variant="D2").name
    'quick-ablation-srnn-D2'
"""

from __future__ import annotations

import copy

from rfn.presets import video  # noqa: F401 (registers the base presets the ablations start from)
from rfn.presets.catalogue import PRESETS, register_preset, register_variants

__all__ = ["ABLATION_LEVELS", "ablation_variants"]

_QUICK_COMMON = {
    "data": {"seq_len": 6},
    "train": {"batch_size": 16, "lr": 2e-3, "beta_warmup_steps": 30, "val_every": 0, "val_batches": 1,
              "ckpt_every": 1000, "log_every": 20},
    "model": {"h_channels": 16, "a_channels": 16, "head_hidden": 16},
}  # fmt: skip
_QUICK_RFN = {"flow_steps": 2, "flow_hidden": 16, "base_hidden": 16}
#: scale -> model -> (the preset it starts from, changes of its data, training and model settings)
_TABLE = {
    "smoke": {
        "rfn": ("smoke-smmnist", {"train": {"steps": 2}}),
        "srnn": ("smoke-smmnist-srnn", {"train": {"steps": 2}}),
    },
    "quick": {
        "rfn": ("smoke-smmnist", {**_QUICK_COMMON, "train": {**_QUICK_COMMON["train"], "steps": 240},
                                  "model": {**_QUICK_COMMON["model"], **_QUICK_RFN}}),
        "srnn": ("smoke-smmnist-srnn", {**_QUICK_COMMON, "train": {**_QUICK_COMMON["train"], "steps": 100}}),
    },
    # the quick runs 12.5x (RFN) and 30x (SRNN) longer, the KL warm-up 10x: long enough for every variant's
    # best-of-8 SSIM to clear black frames, which the quick runs' do not (book page "Training on a CPU")
    "reference": {
        "rfn": ("smoke-smmnist", {**_QUICK_COMMON, "train": {**_QUICK_COMMON["train"], "steps": 3000,
                                  "beta_warmup_steps": 300}, "model": {**_QUICK_COMMON["model"], **_QUICK_RFN}}),
        "srnn": ("smoke-smmnist-srnn", {**_QUICK_COMMON, "train": {**_QUICK_COMMON["train"], "steps": 3000,
                                        "beta_warmup_steps": 300}}),
    },
    "thesis": {
        model: (base, {"train": {"val_every": 0, "steps": 5000, "lr": 1e-3}})
        for model, base in (("rfn", "quick-smmnist"), ("srnn", "quick-smmnist-srnn"))
    },
}  # fmt: skip

#: scale -> the flow levels of Table 9.2 (the middle one is also Table 9.1's depth)
ABLATION_LEVELS = {"smoke": (1, 2, 3), "quick": (1, 2, 3), "reference": (1, 2, 3), "thesis": (2, 3, 4)}


def ablation_variants(scale: str) -> dict[str, tuple[str, list[str]]]:
    """Variant name (``<model>-<variant>``) -> (model kind, settings on top of the scale's base preset)."""
    levels = ABLATION_LEVELS[scale]
    mid = levels[1]
    return {
        "srnn-neither": ("srnn", ["model.smoothing=False", "model.res_q=False"]),
        "srnn-smoothing": ("srnn", ["model.smoothing=True", "model.res_q=False"]),
        "srnn-resq": ("srnn", ["model.smoothing=False", "model.res_q=True"]),
        "srnn-both": ("srnn", ["model.smoothing=True", "model.res_q=True"]),
        "srnn-D2": ("srnn", ["model.smoothing=True", "model.overshooting=2"]),
        "srnn-D3": ("srnn", ["model.smoothing=True", "model.overshooting=3"]),
        "rfn-skip-none": ("rfn", ["model.skip=none", f"model.levels={mid}"]),
        "rfn-skip-cond": ("rfn", ["model.skip=cond", f"model.levels={mid}"]),
        "rfn-skip-flow": ("rfn", ["model.skip=flow", f"model.levels={mid}"]),
        "rfn-skip-both": ("rfn", ["model.skip=both", f"model.levels={mid}"]),
        **{f"rfn-L{L}": ("rfn", ["model.skip=cond", f"model.levels={L}"]) for L in levels if L != mid},
    }


def _register() -> None:
    for scale, models in _TABLE.items():
        variants = ablation_variants(scale)
        for model, (start, changes) in models.items():
            preset = copy.deepcopy(PRESETS[start])
            preset.name = f"{scale}-ablation-{model}"
            preset.description = f"the {model.upper()} the chapter 9 ablations change, at the {scale} scale"
            for key, value in changes.get("data", {}).items():
                setattr(preset.data, key, value)
            preset.train.update(changes.get("train", {}))
            preset.model_config.update(changes.get("model", {}))
            register_preset(preset)
            own = {name.split("-", 1)[1]: settings for name, (kind, settings) in variants.items() if kind == model}
            register_variants(preset.name, own)


_register()

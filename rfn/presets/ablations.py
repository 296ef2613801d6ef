"""Presets of the ablation runs of thesis chapter 9 (notebook 09), at the book's three scales.

``<scale>-ablation-<variant>`` is one training run of Figs 9.1/9.2 (SRNN:
smoothing, RES_q, latent overshooting D) or Tables 9.1/9.2 (RFN: skip
connections, flow levels L). Each variant is its scale's base preset changed by
``key=value`` settings (the same strings ``rfn train --set`` takes), so what
differs between variants reads as one line:

* smoke: the ``smoke`` / ``smoke-srnn`` presets, 2 steps; L in 1, 2, 3.
* quick: 16x16 one-digit SM-MNIST (the smoke data), 6-frame sequences, batch 16,
  lr 2e-3, narrow networks; RFN 240 steps, SRNN 100; L in 1, 2, 3.
* reference: the quick runs for 3000 steps each (KL warm-up 300); L in 1, 2, 3.
* thesis: the quick SM-MNIST presets (32x32, two digits) for 5000 steps at lr 1e-3;
  L in 2, 3, 4.

Example:
    >>> from rfn.config import get_preset
    >>> get_preset("quick-ablation-srnn-D2").model_config["overshooting"]
    2
"""

from __future__ import annotations

from rfn.config import apply_overrides, get_preset, register_preset
from rfn.presets import video  # noqa: F401 (registers the base presets the variants start from)

__all__ = ["ABLATION_LEVELS", "ablation_variants"]

_QUICK_COMMON = [
    "data.seq_len=6",
    "train.batch_size=16",
    "train.lr=2e-3",
    "train.beta_warmup_steps=30",
    "train.val_every=0",
    "train.val_batches=1",
    "train.ckpt_every=1000",
    "train.log_every=20",
    "model.h_channels=16",
    "model.a_channels=16",
    "model.head_hidden=16",
]
_QUICK_KINDS = {  # kind -> (base preset, settings), without the length of the run
    "rfn": ("smoke", [*_QUICK_COMMON, "model.flow_steps=2", "model.flow_hidden=16", "model.base_hidden=16"]),
    "srnn": ("smoke-srnn", _QUICK_COMMON),
}
_SCALES = {  # scale -> kind -> (base preset, settings every variant of that kind shares)
    "smoke": {"rfn": ("smoke", ["train.steps=2"]), "srnn": ("smoke-srnn", ["train.steps=2"])},
    "quick": {
        kind: (base, [*settings, f"train.steps={steps}"])
        for (kind, (base, settings)), steps in zip(_QUICK_KINDS.items(), (240, 100))
    },
    # the quick runs 12.5x (RFN) and 30x (SRNN) longer, the KL warm-up 10x: 1-3 minutes per run on one
    # core, long enough for every variant's best-of-8 SSIM to clear black frames, which the quick runs'
    # do not (book page "Training on a CPU"); the book ships their weights (checkpoints/reference/ablations/)
    "reference": {
        kind: (base, [*settings, "train.beta_warmup_steps=300", "train.steps=3000"])
        for kind, (base, settings) in _QUICK_KINDS.items()
    },
    "thesis": {
        kind: (base, ["train.val_every=0", "train.steps=5000", "train.lr=1e-3"])
        for kind, base in (("rfn", "quick-smmnist"), ("srnn", "quick-smmnist-srnn"))
    },
}  # fmt: skip

#: scale -> the flow levels of Table 9.2 (the middle one is also Table 9.1's depth)
ABLATION_LEVELS = {"smoke": (1, 2, 3), "quick": (1, 2, 3), "reference": (1, 2, 3), "thesis": (2, 3, 4)}


def ablation_variants(scale: str) -> dict[str, tuple[str, list[str]]]:
    """Variant name -> (model kind, settings on top of the scale's common ones) at ``scale``."""
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


def _ablations() -> None:
    for scale, kinds in _SCALES.items():
        for variant, (kind, settings) in ablation_variants(scale).items():
            base, common = kinds[kind]
            preset = apply_overrides(get_preset(base), [*common, *settings])
            preset.name = f"{scale}-ablation-{variant}"
            preset.description = f"ablation {variant} ({kind.upper()}, chapter 9) at the {scale} scale"
            register_preset(preset)


_ablations()

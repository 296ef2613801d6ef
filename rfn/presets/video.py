"""Presets of the video models (RFN, SRNN, VRNN, deterministic ConvLSTM): one table keyed by scale.

Names are ``<scale>-<data>`` for the RFN and ``<scale>-<data>-<model>`` for the others
(``quick-smmnist``, ``quick-smmnist-srnn``, ``thesis-bair-vrnn``, ...). The scales:

``thesis``
    The thesis's settings (Tables A.2 and A.3): 64x64 frames, 10 frames per
    sequence conditioned on the previous frame, Adam at 3e-4, 300k steps with
    a linear decay to zero over the final 150k (``decay_start`` None = the second
    half of any run length), beta warmed up from 1e-6 to 1.
    RFN: L=4, K=10, 256-channel couplings, z 3 (SM-MNIST, KTH) or 5 (BAIR),
    h and a 256, base network 512, batch 35. SRNN/VRNN: batch 100, z 15/25/12.
    Days on a GPU.
``reference``
    32x32 two-digit SM-MNIST with wider networks and ten-frame sequences: the
    models the book renders from (``checkpoints/reference/<preset>.pt``), hours
    on one CPU core; and the RGB headline study on textured shapes
    (``reference-textured*``, the BAIR stand-in of :mod:`rfn.data.textured`).
``quick``
    32x32 SM-MNIST (16-pixel digits), small networks: the book's ``quick``
    profile, minutes on one CPU core (RFN 1000 steps at lr 2e-3, SRNN and VRNN
    800, deterministic 600).
``smoke``
    16x16 frames and a handful of steps: seconds; for tests and CI. The former
    names ``smoke``, ``smoke-srnn``, ... stay as aliases of ``smoke-smmnist``, ...

The thesis does not give the length of its beta warm-up; we use 10k steps at
thesis scale. Measured run times are in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from rfn.config import DataConfig, Preset
from rfn.presets.catalogue import register_alias, register_preset

__all__ = ["THESIS_DATA", "VIDEO_TABLE"]

# data set -> (channels, z for RFN, z for SRNN/VRNN, data kwargs)
THESIS_DATA = {
    "smmnist": (1, 3, 15, {"num_digits": 2}),
    "bair": (3, 5, 25, {}),
    "kth": (1, 3, 12, {}),
}

_THESIS_TRAIN = {"lr": 3e-4, "steps": 300_000, "beta_start": 1e-6, "beta_end": 1.0, "channels_last": True}
_QUICK_TRAIN = {
    "lr": 1e-3,
    "batch_size": 12,
    "steps": 600,
    "beta_warmup_steps": 100,
    "grad_clip": 100.0,
    "ckpt_every": 200,
    "val_every": 100,
    "val_batches": 4,
    "log_every": 20,
    "num_workers": 0,
    "channels_last": True,
}
_SMOKE_TRAIN = {
    "batch_size": 4,
    "steps": 4,
    "beta_warmup_steps": 2,
    "ckpt_every": 2,
    "val_every": 2,
    "val_batches": 1,
    "log_every": 1,
    "progress": False,
    "tensorboard": False,
}
_REFERENCE_TRAIN = {
    "lr": 1e-3,
    "batch_size": 16,
    "steps": 40_000,  # the committed models' own schedule is in checkpoints/reference/README.md
    "beta_warmup_steps": 2_000,
    "grad_clip": 100.0,
    "ckpt_every": 500,
    "val_every": 1_000,
    "val_batches": 4,
    "log_every": 100,
    "num_workers": 0,
    "progress": False,
    "channels_last": True,
}


def _bottleneck(size: int, levels: int, width: int, extractor: int) -> dict:
    return {
        "image_size": (size, size),
        "levels": levels,
        "h_channels": width,
        "a_channels": width,
        "head_hidden": width,
        "extractor_channels": extractor,
    }


def _rfn(z: int, flow_steps: int, flow_hidden: int, base_hidden: int) -> dict:
    return {"z_channels": z, "flow_steps": flow_steps, "flow_hidden": flow_hidden, "base_hidden": base_hidden}


_SMMNIST = "smmnist"
#: scale -> (data, the bottleneck every model shares, training, the RFN's own settings, the SRNN/VRNN's own
#: settings, training changes per model, what the scale is for)
VIDEO_TABLE = {
    "smoke": (
        DataConfig(_SMMNIST, seq_len=4, kwargs={"num_digits": 1, "image_size": 16, "digit_size": 8}),
        _bottleneck(16, 2, 8, 4),
        _SMOKE_TRAIN,
        _rfn(2, 1, 8, 8),
        {"z_channels": 2, "n_mix": 2},
        {},
        "seconds (tests and CI)",
    ),
    "quick": (
        DataConfig(_SMMNIST, seq_len=8, kwargs={"num_digits": 2, "image_size": 32, "digit_size": 16}),
        _bottleneck(32, 3, 32, 8),
        _QUICK_TRAIN,
        _rfn(3, 3, 32, 32),
        {"z_channels": 8, "likelihood": "dmol", "n_mix": 5},
        # 1000 steps fit the book's budget; lr 2e-3 learns faster than 1e-3 here
        {"rfn": {"steps": 1000, "lr": 2e-3}, "srnn": {"steps": 800}, "vrnn": {"steps": 800}},
        "minutes on one CPU core (the book's quick profile)",
    ),
    "reference": (
        DataConfig(_SMMNIST, seq_len=10, kwargs={"num_digits": 2, "image_size": 32, "digit_size": 16}),
        _bottleneck(32, 3, 64, 16),
        _REFERENCE_TRAIN,
        _rfn(8, 6, 48, 64),
        {"z_channels": 16, "likelihood": "dmol", "n_mix": 5},
        # a quarter of the others' steps: the baseline only has to show the blur of a mean prediction
        {"deterministic": {"steps": 10_000}},
        "hours on one CPU core (the book's reference models)",
    ),
}
_WHAT = {
    "rfn": "RFN",
    "srnn": "SRNN",
    "vrnn": "VRNN",
    "deterministic": "deterministic ConvLSTM autoencoder (Fig 2.2; the SRNN's bottleneck)",
}
_DETERMINISTIC_KEYS = ("channels", "image_size", "levels", "h_channels", "extractor_channels")


def _register_family(scale, data, bottleneck, train, rfn, baseline, per_model, note) -> None:
    """The four video models of one scale and data set: ``<scale>-<data>[-<model>]``."""
    configs = {
        "rfn": {**bottleneck, **rfn},
        "srnn": {**bottleneck, **baseline, "smoothing": True},
        "vrnn": {**bottleneck, **baseline, "smoothing": False},
        "deterministic": {k: bottleneck[k] for k in _DETERMINISTIC_KEYS if k in bottleneck},
    }
    for model, config in configs.items():
        name = f"{scale}-{data.name}" + ("" if model == "rfn" else f"-{model}")
        what = _WHAT[model] + (" (DMOL)" if config.get("likelihood") == "dmol" else "")
        train_config = {**train, **per_model.get(model, {})}
        register_preset(Preset(name, model, config, data, train_config, f"{what} on {data.name}, {note}"))


def _register() -> None:
    for scale, row in VIDEO_TABLE.items():
        _register_family(scale, *row)
    for data, (channels, z_rfn, z_baseline, kwargs) in THESIS_DATA.items():
        _register_family(
            "thesis",
            DataConfig(data, seq_len=10, kwargs=dict(kwargs)),
            {"channels": channels, **_bottleneck(64, 4, 256, 8)},
            {**_THESIS_TRAIN, "batch_size": 100},
            _rfn(z_rfn, 10, 256, 512),
            {"z_channels": z_baseline, "likelihood": "dmol"},
            {"rfn": {"batch_size": 35}},
            "the thesis's scale (Tables A.2, A.3; days on a GPU)",
        )
    for model in ("srnn", "vrnn", "deterministic"):
        register_alias(f"smoke-{model}", f"smoke-smmnist-{model}")
    register_alias("smoke", "smoke-smmnist")


#: the RGB headline study (book page 10): the flow emission against per-pixel outputs in bits per dimension.
#: Five models, the same 5,000 steps with three seeds (``--set train.seed=S``): the RFN, the SRNN and VRNN, and
#: two controls that isolate the emission: the RFN without skips of x_{t-1} (``-noskip``) and an SRNN whose
#: decoder receives the RFN's skips, widened to the RFN's parameter count (``-srnn-skip``: 1.89 M against 1.92 M).
#: suffix -> (model, settings on top of the reference RFN's or baselines', what it is)
TEXTURED_TABLE = {
    "": ("rfn", {}, "RFN"),
    "-noskip": ("rfn", {"skip": "none"}, "RFN without skips of x_{t-1} (control)"),
    "-srnn": ("srnn", {"smoothing": True}, "SRNN (DMOL)"),
    "-vrnn": ("vrnn", {"smoothing": False}, "VRNN (DMOL)"),
    "-srnn-skip": (
        "srnn",
        {"smoothing": True, "skip": "decoder", "decoder_channels": 48},
        "SRNN (DMOL) whose decoder sees the RFN's skips of x_{t-1}, at the RFN's size (control)",
    ),
}


def _register_textured() -> None:
    _, bottleneck, train, rfn, baseline, _, _ = VIDEO_TABLE["reference"]
    data = DataConfig("textured-shapes", seq_len=10, kwargs={"image_size": 32})
    steps = {"steps": 5_000, "beta_warmup_steps": 1_000, "ckpt_every": 250, "val_every": 250, "log_every": 50}
    for suffix, (model, settings, what) in TEXTURED_TABLE.items():
        own = rfn if model == "rfn" else baseline
        register_preset(
            Preset(
                f"reference-textured{suffix}",
                model,
                {**bottleneck, "channels": 3, **own, **settings},
                data,
                {**train, **steps},
                f"{what} on 32x32 textured shapes (RGB), the BAIR stand-in",
            )
        )


_register()
_register_textured()

"""Presets of the book's small models: the two-moons flow, Glow on MNIST, the sinusoid SRNN/VRNN.

Each exists at the three scales the book's early pages run (``smoke-``, ``quick-``
and ``thesis-`` prefixes); at the ``reference`` scale each name (``reference-glow-mnist``, ...)
is an alias of the quick one, so the book's reference profile trains and shares the quick runs.

``<scale>-moons-flow``
    :class:`~rfn.models.PointFlow` (Glow steps on 2-D points) on two moons
    (notebook 01). Adam at 2e-3 decayed linearly to zero over the whole run,
    batch 256: smoke 30 steps (depth 4, width 32), quick 1500 and thesis 5000
    (depth 8, width 64).
``<scale>-glow-mnist``
    :class:`~rfn.models.ImageGlow` on 8-bit 28x28 MNIST (notebook 02, Fig 2.1):
    Adam at 1e-3 with a linear warm-up (as in Glow), gradient clipping at 50, the
    thesis's linear decay over the second half. Smoke L=2, K=1, 5 steps; quick L=2, K=4, width 64, 800 steps x 32;
    thesis L=2, K=16, width 256, 20k steps x 128.
``<scale>-cond-glow-mnist``
    :class:`~rfn.models.ConditionalImageGlow` completing the 16x16 centre of
    2-bit 32x32 MNIST from its border (notebook 02, appendix A.4): as above;
    quick 400 steps x 64, thesis the appendix's L=4, K=15 for 20k steps x 128.
``<scale>-sinusoid-<model>[-smooth][-resq][-init]``
    The twelve dense SRNN/VRNN runs of Table A.1 (notebook 03): the presets
    ``<scale>-sinusoid-srnn`` and ``-vrnn`` and their variants ``smooth``
    (SRNN only), ``resq`` (RES_q) and ``init`` (learned initial states); the
    decoder predicts the output std. Adam with the thesis's schedule (linear
    decay over the second half), KL warm-up, clipping at 100, batch 64: smoke 3
    steps (h 16, z 4), quick 150 steps at 3e-3 (h 64, z 8, 4000 training
    sequences), thesis 5000 steps at 1e-3 (the appendix's h 100, z 15).
"""

from __future__ import annotations

import itertools

from rfn.config import DataConfig, Preset
from rfn.presets.catalogue import register_alias, register_preset, register_variants

__all__ = ["SINUSOID_VARIANTS"]

_ONE_RUN = {"beta_warmup_steps": 0, "progress": False, "tensorboard": False}


def _moons() -> None:
    for scale, steps, depth, hidden in (("smoke", 30, 4, 32), ("quick", 1500, 8, 64), ("thesis", 5000, 8, 64)):
        register_preset(
            Preset(
                f"{scale}-moons-flow",
                "point-flow",
                {"dim": 2, "depth": depth, "hidden": hidden},
                DataConfig("two-moons", seq_len=None),
                {
                    **_ONE_RUN,
                    "lr": 2e-3,
                    "batch_size": 256,
                    "steps": steps,
                    "decay_start": 0,
                    "ckpt_every": steps,
                    "val_every": steps,
                    "val_batches": 4,
                    "log_every": max(1, steps // 150),
                },
                f"Glow flow on two moons, {steps} steps (notebook 01)",
            )
        )


_GLOW = {  # scale -> (glow config, glow train, cond-glow config, cond-glow train)
    "smoke": (
        {"levels": 2, "steps": 1, "hidden": 16},
        {"steps": 5, "batch_size": 16, "warmup_steps": 2, "log_every": 1},
        {"levels": 2, "steps": 1, "hidden": 16, "cond_features": 8},
        {"steps": 5, "batch_size": 16, "warmup_steps": 2, "log_every": 1},
    ),
    "quick": (
        {"levels": 2, "steps": 4, "hidden": 64},
        {"steps": 800, "batch_size": 32, "warmup_steps": 50, "log_every": 25},
        {"levels": 2, "steps": 4, "hidden": 64, "cond_features": 32},
        {"steps": 400, "batch_size": 64, "warmup_steps": 50, "log_every": 25},
    ),
    "thesis": (
        {"levels": 2, "steps": 16, "hidden": 256},
        {"steps": 20_000, "batch_size": 128, "warmup_steps": 500, "log_every": 200},
        {"levels": 4, "steps": 15, "hidden": 128, "cond_features": 64},  # the thesis's A.4 flow
        {"steps": 20_000, "batch_size": 128, "warmup_steps": 500, "log_every": 200},
    ),
}


def _glow_train(train: dict) -> dict:
    steps = train["steps"]
    return {**_ONE_RUN, "lr": 1e-3, "grad_clip": 50.0, "ckpt_every": min(steps, 5000),
            "val_every": steps, "val_batches": max(1, 2000 // train["batch_size"]), **train}  # fmt: skip


def _glow() -> None:
    for scale, (glow, glow_train, cond, cond_train) in _GLOW.items():
        register_preset(
            Preset(
                f"{scale}-glow-mnist",
                "glow",
                glow,
                DataConfig("mnist", seq_len=None),
                _glow_train(glow_train),
                f"Glow on 8-bit MNIST, {glow_train['steps']} steps (notebook 02, Fig 2.1)",
            )
        )
        register_preset(
            Preset(
                f"{scale}-cond-glow-mnist",
                "cond-glow",
                {"target_size": (16, 16), "cond_size": (32, 32), **cond},
                DataConfig("mnist-inner-square", seq_len=None, kwargs={"n_bits": 2, "inner": 16}),
                _glow_train(cond_train),
                f"conditional Glow: centre of 2-bit 32x32 MNIST given its border, {cond_train['steps']} steps (A.4)",
            )
        )


#: variant name -> (model, smoothing, RES_q, learned initial states), the rows of Table A.1 we run
SINUSOID_VARIANTS: dict[str, tuple[str, bool, bool, bool]] = {}
for _res_q, _init, _model, _smooth in itertools.product((False, True), (False, True), ("srnn", "vrnn"), (False, True)):
    if not (_model == "vrnn" and _smooth):  # a VRNN's h_t needs z_{t-1}: no smoothing
        flags = [f for f, on in (("smooth", _smooth), ("resq", _res_q), ("init", _init)) if on]
        SINUSOID_VARIANTS["-".join([_model, *flags])] = (_model, _smooth, _res_q, _init)
#: the settings each flag of a variant's name turns on
_SINUSOID_FLAGS = {"smooth": "model.smoothing=True", "resq": "model.res_q=True", "init": "model.learn_init=True"}

_SINUSOID = {  # scale -> (network sizes, training, training sequences, validation sequences)
    "smoke": ({"h_dim": 16, "a_dim": 16, "z_dim": 4, "hidden": 16}, (3, 16, 3e-3, 1), 64, 32),
    "quick": ({"h_dim": 64, "a_dim": 64, "z_dim": 8, "hidden": 64}, (150, 64, 3e-3, 50), 4000, 256),
    "thesis": ({"h_dim": 100, "a_dim": 100, "z_dim": 15, "hidden": 100}, (5000, 64, 1e-3, 1000), 10_000, 1000),
}


def _sinusoid() -> None:
    """``<scale>-sinusoid-srnn`` and ``-vrnn`` (no smoothing, RES_q or learned initial states), and the
    other rows of Table A.1 as their variants (``smooth``, ``resq``, ``init`` and their combinations)."""
    for scale, (sizes, (steps, batch, lr, warmup), n_train, n_val) in _SINUSOID.items():
        data = DataConfig(
            "sinusoid", seq_len=30, val_split="valid", kwargs={"train_length": n_train, "eval_length": n_val}
        )
        train = {**_ONE_RUN, "lr": lr, "steps": steps, "batch_size": batch, "beta_warmup_steps": warmup,
                 "grad_clip": 100.0, "ckpt_every": steps, "val_every": steps, "val_batches": -(-n_val // batch),
                 "log_every": max(1, steps // 100)}  # fmt: skip
        for model in ("srnn", "vrnn"):
            config = {"x_dim": 100, "output_std": "predicted", **sizes, "res_q": False, "learn_init": False}
            if model == "srnn":
                config["smoothing"] = False
            base = register_preset(
                Preset(
                    f"{scale}-sinusoid-{model}",
                    f"dense-{model}",
                    config,
                    data,
                    dict(train),
                    f"dense {model.upper()} on noisy sinusoids (Table A.1), {steps} steps",
                )
            )
            variants = {
                name.split("-", 1)[1]: [_SINUSOID_FLAGS[flag] for flag in name.split("-")[1:]]
                for name in SINUSOID_VARIANTS
                if name.startswith(f"{model}-")
            }
            register_variants(base.name, variants)


_moons()
_glow()
_sinusoid()
# the book's reference profile runs these at the quick scale (their runs are shared with the quick profile)
for _family in ("moons-flow", "glow-mnist", "cond-glow-mnist", "sinusoid-srnn", "sinusoid-vrnn"):
    register_alias(f"reference-{_family}", f"quick-{_family}")

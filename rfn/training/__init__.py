"""The training engine: one loop for every registered model, on one CPU or many GPUs.

Modules: :mod:`~rfn.training.preset` (``train_preset``: a preset into a run folder),
:mod:`~rfn.training.order` (stateless data order, batches, random states for checkpoints),
:mod:`~rfn.training.runlog` (metrics.csv, TensorBoard, run identity),
:mod:`~rfn.training.optim` (fused Adam, optimiser state layout on resume, learning-rate and KL-weight schedules),
:mod:`~rfn.training.accumulate` (gradient accumulation, the same update as the whole batch),
:mod:`~rfn.training.validation` (the fixed validation pass),
:mod:`~rfn.training.lock` (one process per run folder), :mod:`~rfn.training.interrupts`
(Ctrl-C / SIGTERM finish the step and save), :mod:`~rfn.training.report` (start, checkpoint
and closing lines; ``best.pt``), :mod:`~rfn.training.media` (TensorBoard images and
hyper-parameters) and :mod:`~rfn.training.trainer` (the loop). The settings are
:class:`rfn.config.TrainConfig`.

Any ``nn.Module`` registered with :func:`rfn.models.registry.register` trains
here: its ``BATCH`` names what a batch is (``uint8`` video ``[B, T, C, H, W]``,
``uint8`` images, ``(condition, target)`` image pairs, float sequences
``[B, T, D]`` or float points ``[B, D]``; see :func:`rfn.models.registry.check_batch`),
and ``loss(batch, beta)`` returns a dict with ``"loss"`` (the objective, e.g. the
negative beta-weighted ELBO in nats per dimension) and any detached scalars to
log (``"bpp"``, ``"nll_bpp"``, ``"kl_bpp"`` first where present).

What the loop does, and why:

* **Optimiser and schedules** (thesis Tables A.2/A.3): Adam at ``lr``, held
  constant until ``decay_start`` and then decayed linearly to zero at ``steps``
  (:func:`~rfn.training.optim.lr_factor`; an optional linear warm-up over
  ``warmup_steps``); the KL weight beta rises linearly from ``beta_start`` to
  ``beta_end`` over ``beta_warmup_steps`` (:func:`~rfn.training.optim.beta_at`, Higgins et al., 2017).
* **Data order** is stateless: the ``global_batch`` indices of step ``s`` are
  drawn from a generator seeded by ``(seed, s)`` alone
  (:func:`~rfn.training.order.step_indices`), so a run can restart at any step
  and see exactly the batches it would have seen; under data parallelism rank
  ``r`` takes slice ``r`` of the same global batch.
* **Non-finite guard**: a step whose loss or gradient norm is not finite is
  skipped (the fused Adam kernel reads a ``found_inf`` flag on the device,
  as under mixed-precision loss scaling) and counted; more than
  ``max_nonfinite`` skips stop the run with :class:`NonFiniteError`. Nothing
  inside a step waits for the device: metrics accumulate on the device and are
  read only every ``log_every`` steps, where the skip count is checked too.
* **Exact resume**: checkpoints hold the model, optimiser, scheduler, step,
  skip count and every random generator state (per rank), so ``N`` steps,
  a restart from the checkpoint and ``N`` more steps give bitwise the same
  parameters as ``2N`` steps straight on a CPU.
* **Data-dependent initialisation** (ActNorm): before the first step every
  rank runs one ``model.loss`` on the full global batch of step 0 without
  gradients, so all ranks start identical and equal to a one-process run.
* **Validation** every ``val_every`` steps: ``val_batches`` fixed batches of
  the held-out set, ``eval()`` mode, ``beta = 1``, under its own fixed random
  seed, so the numbers are comparable over time and do not disturb training's
  random stream.
* **Outputs** in ``out_dir``: ``run.json`` (what the run is), ``metrics.csv``
  (one row per logged step, fixed columns), TensorBoard events in ``tb/``
  (:mod:`rfn.training.runlog`), ``last.pt`` / ``prev.pt`` checkpoints written
  atomically with a digest checked on load (a resume continues from the newest
  that verifies), and ``best.pt`` (lowest validation bpp).
"""

from rfn.config import IDENTITY_KEYS, TrainConfig
from rfn.training.optim import beta_at, lr_factor
from rfn.training.order import (
    StepBatchSampler,
    batch_len,
    collate,
    get_rng_state,
    set_rng_state,
    step_indices,
    to_device,
)
from rfn.training.runlog import RunDirectoryError, RunLog, identity_diff, run_identity
from rfn.training.trainer import NonFiniteError, Trainer

__all__ = [
    "IDENTITY_KEYS",
    "NonFiniteError",
    "RunDirectoryError",
    "RunLog",
    "StepBatchSampler",
    "TrainConfig",
    "Trainer",
    "batch_len",
    "beta_at",
    "collate",
    "get_rng_state",
    "identity_diff",
    "lr_factor",
    "run_identity",
    "set_rng_state",
    "step_indices",
    "to_device",
]

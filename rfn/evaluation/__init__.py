"""``rfn evaluate``: every number of a trained model under one named protocol.

Given a checkpoint and a protocol (:mod:`rfn.metrics.protocol`), :func:`evaluate`
computes on the test split of the data set the checkpoint was trained on:

* **bits per pixel**: the negative ELBO per frame and in total (split into
  reconstruction and KL) on sequences of the training length with one
  conditioning frame, the thesis's setting (its BPP tables score 10-frame
  sequences given the first frame), and the importance-weighted bound with
  ``K`` samples (:mod:`rfn.models.iwae`; ``K = 20`` in the thesis);
* **best-of-N PSNR, SSIM and LPIPS** per predicted frame after the
  protocol's warm-up, with its number of samples and temperatures
  (:mod:`rfn.metrics.bestofn`); the best and the mean over samples;
* **FVD** on the protocol's clips (:func:`rfn.metrics.fvd.fvd_videos`), repeated
  with fresh samples ``fvd_repeats`` times (mean and standard deviation).

The modules: :mod:`~rfn.evaluation.inputs` (model, data, protocol, sequences, seeds),
:mod:`~rfn.evaluation.run` (:class:`EvaluationOptions` and the phases),
:mod:`~rfn.evaluation.report` (``results.json``, ``results.csv``, PNGs, the table) and
:mod:`~rfn.evaluation.cli` (``rfn evaluate``).

A metric that cannot be computed for the checkpoint (LPIPS on frames too small
for its backbone, bits per pixel of a model without a likelihood) is not left
out silently: the reason is stored under ``skipped``, printed in the table and
raised as an :class:`EvaluationWarning`.

Example:
    >>> options = EvaluationOptions(iw_k=5, fvd=False)
    >>> results = evaluate("runs/quick/last.pt", "smmnist-quick", options, out_dir="eval/quick")  # doctest: +SKIP
    >>> results["best_of_n"]["psnr"]["best"], results["bpp"]["iw"]["bound"]  # doctest: +SKIP
"""

from rfn.evaluation.cli import main
from rfn.evaluation.inputs import phase_seed
from rfn.evaluation.report import format_table, result_rows, write_outputs
from rfn.evaluation.run import CURVE_METRICS, EvaluationOptions, EvaluationWarning, evaluate, predict_in_chunks

__all__ = [
    "CURVE_METRICS",
    "EvaluationOptions",
    "EvaluationWarning",
    "evaluate",
    "format_table",
    "main",
    "phase_seed",
    "predict_in_chunks",
    "result_rows",
    "write_outputs",
]

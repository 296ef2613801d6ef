"""Digits read at their place: the per-horizon table for the committed reference RFN, SRNN and VRNN.

For ``--sequences`` SM-MNIST test sequences (drawn by the protocol's seed, as ``rfn evaluate`` draws
them; 32x32 frames, two 16-pixel digits) each model reads the protocol's context frames and draws ``N``
futures (seeded per model and batch of sequences, one torch thread);
:func:`rfn.pages.placed_digits.placed_digit_table` reads every digit at its true place in every
predicted frame and prints, per horizon, the true frames, the perfect sampler (true process from the
context's end state), each model's mean and best-of-N, the last context frame held, black frames and
other sequences' true futures, with the ratios to the perfect sampler. ``--json`` writes the table.

Usage::

    python benchmarks/placed_digits.py --sequences 256 --samples 5 [--json out.json]

About 10-20 minutes on one busy core with N=5 (sampling the reference RFN dominates); N=100 costs 20
times as much.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

import rfn
from rfn.data import StochasticMovingMNIST
from rfn.evaluation.inputs import select_sequences
from rfn.metrics import get_protocol
from rfn.metrics.digit_reader import CHECKPOINT_SHA256
from rfn.pages.placed_digits import placed_digit_table
from rfn.runtime import git_commit

REFERENCE = {
    "RFN": "checkpoints/reference/reference-smmnist.pt",
    "SRNN": "checkpoints/reference/reference-smmnist-srnn.pt",
    "VRNN": "checkpoints/reference/reference-smmnist-vrnn.pt",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequences", type=int, default=256)
    p.add_argument("--samples", type=int, default=5, help="N: samples per sequence")
    p.add_argument("--protocol", default="smmnist-reference", help="context and predicted frames, seed")
    p.add_argument("--predicted", type=int, default=None, help="predicted frames K (default the protocol's)")
    p.add_argument("--models", nargs="+", default=list(REFERENCE), choices=list(REFERENCE))
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    proto = get_protocol(args.protocol)
    context = proto.context_frames
    k = args.predicted or proto.predicted_frames
    test = StochasticMovingMNIST("test", seq_len=context + k, image_size=32, digit_size=16)
    idx = select_sequences(len(test), args.sequences, proto.seed, "protocol")
    clips, trajs = test.batch(idx), [test.trajectory(i) for i in idx]
    models = {name: rfn.load(REFERENCE[name]).eval() for name in args.models}
    start = time.perf_counter()
    table = placed_digit_table(models, clips, trajs, test, context, n_samples=args.samples, seed=proto.seed)
    seconds = time.perf_counter() - start
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_rows", 80)
    print(
        f"{args.sequences} SM-MNIST test sequences (protocol {proto.name}'s seed), context {context}, {k} predicted, "
        f"N={args.samples}, reader tolerance {table.attrs['tolerance']} px, reader sha256 {CHECKPOINT_SHA256[:12]}, "
        f"commit {git_commit()}, {seconds:.0f} s"
    )
    print(table.round(3).T.to_string())
    se = {name: max(v) for name, v in table.attrs["stderr"].items()}
    print("largest standard error over sequences, per column: " + ", ".join(f"{n} {v:.3f}" for n, v in se.items()))
    off = ", ".join(f"{v:.2f}" for v in table.attrs["perfect_sampler_off_truth"])
    print(f"share of perfect-sampler digits off the true path by horizon: {off}")
    if args.json:
        args.json.write_text(
            json.dumps({"attrs": table.attrs, "seconds": seconds, "table": table.to_dict(orient="index")}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

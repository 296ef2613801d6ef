"""Best-of-N SSIM per predicted frame against the emission temperature, on held-out selection sequences.

The thesis chose its BAIR sampling temperature on held-out sequences (Table 9.3). This
script asks the same of a trained SM-MNIST model under a named protocol: for each
temperature of ``--temperatures`` it runs :func:`rfn.evaluate` (best-of-N curves only: no
FVD, no importance-weighted bound) on ``--sequences`` test sequences that the protocol
itself does not score (a selection seed whose sequences are disjoint from the protocol's),
and prints each curve beside those of two predictions without a model (all-black frames,
the last context frame held) on the same sequences, with the frames where the model beats
both. ``--json`` writes everything. One torch thread; about 2-4 minutes per temperature for
the reference models on one core (64 sequences, best of 100, 20 predicted frames)::

    python benchmarks/ssim_temperature.py checkpoints/reference/reference-smmnist.pt --temperatures 1 0.7 0.5 0.3
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import torch

from rfn.evaluation import EvaluationOptions, evaluate
from rfn.evaluation.inputs import load_model, make_split, select_sequences
from rfn.metrics import get_protocol
from rfn.pages.results import baseline_curves


def selection_seed(n_available: int, protocol, tries: int = 1000) -> int:
    """The smallest seed above the protocol's whose sequences share none with the protocol's own.

    Raises:
        ValueError: no such seed among the next ``tries`` (the split is too small for two
            disjoint draws of the protocol's size).
    """
    wanted = protocol.n_test_sequences
    if wanted is None or 2 * wanted > n_available:
        raise ValueError(
            f"protocol {protocol.name!r} scores {wanted or 'all'} of the {n_available} test sequences: no disjoint "
            "selection set of the same size is left; use a protocol that scores fewer"
        )
    scored = set(select_sequences(n_available, wanted, protocol.seed, "protocol"))
    for seed in range(protocol.seed + 1, protocol.seed + 1 + tries):
        if not scored & set(select_sequences(n_available, wanted, seed, "selection")):
            return seed
    raise ValueError(f"no seed in {tries} draws {wanted} of the {n_available} test sequences disjoint from the scored")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--protocol", default="smmnist-reference")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.7, 0.5, 0.3])
    ap.add_argument("--json", help="write the curves here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=r"rfn evaluate: (iw|fvd) skipped")  # skipped on purpose

    protocol = get_protocol(args.protocol)
    _, data, _ = load_model(args.checkpoint, torch.device("cpu"), None)
    test = make_split(data, protocol.split, protocol.total_frames, f"protocol {protocol.name!r}")
    seed = selection_seed(len(test), protocol)
    videos = test.batch(select_sequences(len(test), protocol.n_test_sequences, seed, "selection"))
    baselines = {k: v["ssim"] for k, v in baseline_curves(videos, protocol.context_frames, ["ssim"]).items()}
    out = {"checkpoint": args.checkpoint, "protocol": protocol.name, "selection_seed": seed, "baselines": baselines}
    print(f"{protocol.describe()}; selection seed {seed} ({len(videos)} sequences none of which the protocol scores)")
    for name, curve in baselines.items():
        print(f"{name:>22s}: {' '.join(f'{v:.3f}' for v in curve)}")
    floor = [max(a, b) for a, b in zip(*baselines.values())]
    out["curves"] = {}
    for temp in args.temperatures:
        t0 = time.perf_counter()
        opts = EvaluationOptions(iw_k=0, fvd=False, progress=False, batch_size=100, bpp_frames=2, device="cpu")
        result = evaluate(args.checkpoint, protocol.replace(seed=seed, emission_temperature=temp), opts)
        curve = result["best_of_n"]["ssim"]["best_curve"]
        above = [i + 1 for i, (v, f) in enumerate(zip(curve, floor)) if v > f]
        out["curves"][str(temp)] = {"ssim": curve, "frames_above_both": above}
        print(f"T = {temp:<4g} best of {protocol.n_samples}: {' '.join(f'{v:.3f}' for v in curve)}")
        print(f"{'':>22s}  above both at t+{above} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()

"""Speed of ``rfn evaluate`` on a CPU: this checkout against the I3D of an earlier commit, interleaved.

The evaluation's time on a CPU goes mostly to FVD's I3D features (profile: about two
thirds at ``smmnist-quick``), then sampling and the importance-weighted bound. This
script runs :func:`rfn.evaluation.evaluate` on one checkpoint under one protocol with
two I3D implementations, in one process and interleaved (A, B, A, B, ...) after a
warm-up, so that a change in machine load hits both alike:

* ``baseline``: ``rfn/metrics/i3d.py`` as of ``--baseline`` (git), fed RGB copies of gray frames;
* ``current``: this checkout.

With ``--layouts`` the two variants are instead the model's memory layouts, both with this
checkout's I3D: ``baseline`` loads the checkpoint contiguous (``--layout contiguous``, what
``rfn evaluate`` did before channels-last became the default) and ``current`` as ``rfn
evaluate`` now does (``--layout auto``: channels-last).

It prints the CPU and wall seconds of every run, the medians per variant and their
ratio, and checks that both give the same bits per pixel and best-of-N numbers (the
same code draws the same samples) and FVDs equal to float rounding.

Example::

    rfn train --preset quick-smmnist --out /tmp/quick-run --steps 3 --device cpu   # any quick-smmnist checkpoint
    OMP_NUM_THREADS=1 python benchmarks/evaluate_throughput.py --checkpoint /tmp/quick-run/last.pt \\
        --protocol smmnist-quick --sequences 8 --repeats 2
    OMP_NUM_THREADS=1 python benchmarks/evaluate_throughput.py --layouts \\
        --checkpoint checkpoints/reference/reference-smmnist.pt --protocol smmnist-quick --sequences 16 --repeats 2
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import rfn.metrics.i3d as i3d_module
from rfn.evaluation import EvaluationOptions, EvaluationWarning, evaluate


def baseline_i3d(commit: str):
    """The cached I3D network of ``rfn/metrics/i3d.py`` at ``commit`` (on the CPU)."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{commit}:rfn/metrics/i3d.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("i3d_baseline", f.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_i3d("cpu")


def run_once(checkpoint: str, protocol: str, options: EvaluationOptions, net) -> tuple[float, float, dict]:
    """CPU and wall seconds of one evaluation with ``net`` as I3D, and its results."""
    original = i3d_module.get_i3d
    i3d_module.get_i3d = lambda device=None: net
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvaluationWarning)
            cpu, wall = time.process_time(), time.perf_counter()
            results = evaluate(checkpoint, protocol, options)
            return time.process_time() - cpu, time.perf_counter() - wall, results
    finally:
        i3d_module.get_i3d = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", required=True, help="a checkpoint the protocol fits (quick-smmnist for smmnist-quick)"
    )
    parser.add_argument("--protocol", default="smmnist-quick")
    parser.add_argument("--sequences", type=int, default=8, help="test sequences (the protocol's 64 take minutes)")
    parser.add_argument("--iw-k", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per variant, interleaved")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--baseline", default="3c67061", help="git commit of the baseline I3D")
    parser.add_argument("--layouts", action="store_true", help="compare the model layouts instead (see above)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    options = EvaluationOptions(
        sequences=args.sequences, iw_k=args.iw_k, batch_size=args.batch_size, device="cpu", progress=False
    )
    if args.layouts:
        net = i3d_module.get_i3d("cpu")
        variants = {"baseline": (net, "contiguous"), "current": (net, "auto")}
    else:
        variants = {"baseline": (baseline_i3d(args.baseline), "auto"), "current": (i3d_module.get_i3d("cpu"), "auto")}
    print(f"rfn evaluate --protocol {args.protocol} --sequences {args.sequences} --iw-k {args.iw_k} "
          f"--batch-size {args.batch_size} on {args.checkpoint}")  # fmt: skip
    what = "model layout contiguous (baseline) vs auto" if args.layouts else f"baseline I3D from {args.baseline}"
    print(f"torch {torch.__version__}, {args.threads} thread(s), {what}")
    warm = dataclasses.replace(options, sequences=2, iw_k=1, samples=1)
    for net, layout in variants.values():  # warm-up: data, LPIPS and I3D loaded, allocator primed
        run_once(args.checkpoint, args.protocol, dataclasses.replace(warm, layout=layout), net)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    results: dict[str, dict] = {}
    for r in range(args.repeats):
        for name, (net, layout) in variants.items():
            opts = dataclasses.replace(options, layout=layout)
            cpu, wall, results[name] = run_once(args.checkpoint, args.protocol, opts, net)
            times[name].append((cpu, wall))
            phases = ", ".join(f"{k} {v:.1f}" for k, v in results[name]["timings"].items())
            print(f"  run {r + 1} {name:8s}: {cpu:6.1f} s CPU, {wall:6.1f} s wall ({phases})", flush=True)
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in times.items()}
    for name, (cpu, wall) in med.items():
        spread = max(c for c, _ in times[name]) - min(c for c, _ in times[name])
        print(f"{name:8s}: median {cpu:6.1f} s CPU (spread {spread:.1f} s), {wall:6.1f} s wall")
    print(f"speed-up current vs baseline: {med['baseline'][0] / med['current'][0]:.2f}x CPU, "
          f"{med['baseline'][1] / med['current'][1]:.2f}x wall")  # fmt: skip
    a, b = results["baseline"], results["current"]
    same = a["bpp"] == b["bpp"] and a["best_of_n"] == b["best_of_n"]
    fvd_a, fvd_b = a["fvd"]["mean"], b["fvd"]["mean"]
    print(f"bits per pixel and best-of-N identical: {same}; FVD {fvd_a:.6f} vs {fvd_b:.6f} "
          f"(relative difference {abs(fvd_a - fvd_b) / abs(fvd_a):.1e})")  # fmt: skip
    if args.layouts:  # the layouts round differently: report by how much instead of requiring equality
        for key in ("bpp", "best_of_n"):
            print(f"{key}: {compare_numbers(a[key], b[key])}")
        return 0
    return 0 if same else 1


def compare_numbers(a, b) -> str:
    """How far apart two nested results are: the largest relative difference of their numbers."""

    def flat(x, prefix=""):
        if isinstance(x, dict):
            for k, v in x.items():
                yield from flat(v, f"{prefix}{k}.")
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                yield from flat(v, f"{prefix}{i}.")
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            yield prefix.rstrip("."), float(x)

    fa, fb = dict(flat(a)), dict(flat(b))
    diffs = [abs(fa[k] - fb[k]) / max(abs(fa[k]), 1e-12) for k in fa if k in fb]
    return f"{len(diffs)} numbers, largest relative difference {max(diffs, default=0.0):.1e}"


if __name__ == "__main__":
    sys.exit(main())

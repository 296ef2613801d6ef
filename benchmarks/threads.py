"""One torch thread or two? Wall time of a training step and of a sampling call, threads interleaved.

    OMP_NUM_THREADS=2 python benchmarks/threads.py --presets quick-smmnist quick-smmnist-srnn reference-smmnist

``rfn.runtime.CPU_THREADS`` (1) was chosen on this project's 2-core machine while other jobs
held the cores, where a second thread made a step several times slower. This script measures
the other case, a machine with nothing else running: for each preset, one model on the fast
path that ``rfn train`` uses (channels-last, fused Adam), a batch of random frames, and
``torch.set_num_threads`` switched between the thread counts before every call (1, 2, 1, 2, ...)
after warm-up calls, so that a change of load during the run reads in both columns alike.
It prints wall-time medians with their spread and the ratio to one thread, plus the load
average before and after; what it says holds only for a machine as idle as that load says.
``--json`` writes the numbers with the machine and command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path as FilePath

import torch

sys.path.insert(0, str(FilePath(__file__).resolve().parent))
import throughput as tp  # the benchmark next door: model set-up, paths, timing


def measure(preset: str, args, device) -> dict:
    ns = argparse.Namespace(
        preset=preset, set=[], batch=args.batch, frames=args.frames, context=args.context, future=args.future,
        samples=args.samples, no_channels_last=False, no_bf16=True, no_fused_adam=False, compile=False,
    )  # fmt: skip
    _, model, x = tp.build_model(ns, device)
    path = tp.Path("fast", model, x, ns, device)
    out = {}
    for what, fn in (("train", path.train_step), ("sample", path.sample)):
        walls: dict[int, list[float]] = {t: [] for t in args.threads}
        for round_ in range(args.warmup + args.rounds):
            for t in args.threads:
                torch.set_num_threads(t)
                wall, _ = tp.timed(fn, device)
                if round_ >= args.warmup:
                    walls[t].append(wall)
        base = statistics.median(walls[args.threads[0]])
        out[what] = {str(t): {**tp.summary(w), "ratio": statistics.median(w) / base} for t, w in walls.items()}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["quick-smmnist", "quick-smmnist-srnn", "reference-smmnist"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts; ratios to the first")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--context", type=int, default=3)
    parser.add_argument("--future", type=int, default=10)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    if max(args.threads) > (os.cpu_count() or 1):
        parser.error(f"--threads {max(args.threads)} is more than this machine's {os.cpu_count()} cores")
    device = torch.device("cpu")
    load_before = os.getloadavg()
    started = time.time()
    results = {}
    for preset in args.presets:
        results[preset] = measure(preset, args, device)
        for what, per in results[preset].items():
            cells = "  ".join(
                f"{t} thread(s) {s['median']:.3f} s [{s['min']:.3f}-{s['max']:.3f}] x{s['ratio']:.2f}"
                for t, s in per.items()
            )
            print(f"{preset:24s} {what:6s} {cells}", flush=True)
    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "seconds": time.time() - started,
        "command": " ".join(sys.argv),
        "batch": args.batch,
        "frames": args.frames,
        "results": results,
    }
    print(f"load average before {load_before[0]:.2f}, after {report['load_after'][0]:.2f}")
    if args.json:
        FilePath(args.json).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

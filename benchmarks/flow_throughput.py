"""Glow throughput: images/s of a training step (forward + backward + Adam) and of sampling.

    python benchmarks/flow_throughput.py --device cpu --levels 3 --steps 8 --hidden 128 --size 32 --batch 32
    python benchmarks/flow_throughput.py --device cuda --bf16 --compile --levels 4 --steps 10 --hidden 256 \\
        --size 64 --channels 3 --cond 64 --batch 315

``--cond C`` makes the Glow conditional with ``C`` channels of random condition
maps per level (the RFN's emission). Prints one table row per measurement and,
with ``--json PATH``, writes them with the device name, torch version, date and
commit. Peak memory is CUDA's ``max_memory_allocated`` on a GPU and the process's
peak resident set size on the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import time

import torch

from rfn.flows import Glow, GlowConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timeit(fn, device, warmup: int, iters: int) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / iters


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8, help="flow steps per level (K)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--cond", type=int, default=0, help="condition channels per level (0: unconditional)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the training step's forward")
    ap.add_argument("--checkpoint", action="store_true", help="gradient checkpointing per level")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads on the CPU")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    cond_channels = (args.cond,) * args.levels if args.cond else None
    cfg = GlowConfig(
        in_channels=args.channels,
        levels=args.levels,
        steps=args.steps,
        hidden=args.hidden,
        cond_channels=cond_channels,
        base_hidden=args.hidden,
        image_size=(args.size, args.size),
        checkpoint=args.checkpoint,
    )
    glow = Glow(cfg).to(device)
    x = torch.rand(args.batch, args.channels, args.size, args.size, device=device) - 0.5
    cond = (
        [
            torch.randn(args.batch, args.cond, args.size >> (l + 1), args.size >> (l + 1), device=device)
            for l in range(args.levels)
        ]
        if args.cond
        else None
    )
    glow.initialize(x, cond)
    opt = torch.optim.Adam(glow.parameters(), lr=1e-4)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16 and device.type == "cuda")
    log_prob = torch.compile(glow.log_prob) if args.compile else glow.log_prob

    def train_step():
        with autocast:
            loss = -log_prob(x, cond).float().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sample_step():
        with torch.no_grad(), autocast:
            glow.sample(cond=cond, n=None if cond else args.batch)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_train = _timeit(train_step, device, args.warmup, args.iters)
    peak_train = _peak_mib(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_sample = _timeit(sample_step, device, args.warmup, args.iters)
    peak_sample = _peak_mib(device)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    params = sum(p.numel() for p in glow.parameters())
    rows = [
        {"what": "train step", "images_per_s": args.batch / t_train, "ms": 1e3 * t_train, "peak_mib": peak_train},
        {"what": "sample", "images_per_s": args.batch / t_sample, "ms": 1e3 * t_sample, "peak_mib": peak_sample},
    ]
    shape = f"{args.channels}x{args.size}x{args.size}"
    print(
        f"Glow L={args.levels} K={args.steps} hidden={args.hidden} cond={args.cond} {shape} batch={args.batch} "
        f"{params / 1e6:.2f} M params on {device} ({name}), threads={torch.get_num_threads()}, "
        f"bf16={args.bf16}, compile={args.compile}, checkpoint={args.checkpoint}, torch {torch.__version__}"
    )
    print(f"{'what':12s} {'images/s':>10s} {'ms/call':>10s} {'peak MiB':>10s}")
    for r in rows:
        print(f"{r['what']:12s} {r['images_per_s']:10.1f} {r['ms']:10.1f} {r['peak_mib']:10.0f}")
    if args.json:
        meta = {
            "device": str(device),
            "device_name": name,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": _commit(),
            "args": vars(args),
            "parameters": params,
        }
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()

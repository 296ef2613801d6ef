"""RFN training and sampling throughput: a plain reference path against the fast path, in one run.

    python benchmarks/throughput.py                       # CUDA: thesis BAIR config, batch 35
    python benchmarks/throughput.py --device cpu --preset quick-smmnist --batch 12
    python benchmarks/throughput.py --preset thesis-bair --batch 70 --compile --json out.json

(a) reference: fp32, eager, the Glow emission evaluated frame by frame inside
    the time loop (what the thesis code does);
(b) fast: the normal code path: emission on all ``B * (T-1)`` frames at once,
    plus, on CUDA, bfloat16 autocast (log-determinants and likelihood sums stay
    in float32), channels-last and, with ``--compile``, ``torch.compile``.

Prints training sequences/s, sampling frames/s (``--context`` frames of warm-up
then ``--future`` predicted frames), peak memory, FLOPs per training sequence
from ``torch.utils.flop_counter``, achieved TFLOP/s, and the fraction of a
matmul peak measured in the same run (bf16 8192^3 on CUDA, fp32 2048^3 on
the CPU). Also checks that both paths give the same bits per pixel on the same
batch (within 0.5%). ``--json`` writes everything with the device name, torch
version, date and commit; add the runs that matter to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from rfn.models.registry import build
from rfn.presets import apply_overrides, get_preset


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def timeit(fn, device, warmup: int, iters: int) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def matmul_peak(device: torch.device) -> tuple[float, str]:
    """Measured matmul TFLOP/s: bf16 8192^3 on CUDA, fp32 2048^3 on the CPU."""
    n, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (2048, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    t = timeit(lambda: a @ b, device, 2, 5 if device.type == "cuda" else 3)
    return 2 * n**3 / t / 1e12, f"{str(dtype).replace('torch.', '')} {n}^3 matmul"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def make_batch(cfg, batch: int, frames: int, device, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (batch, frames, cfg.channels, *cfg.image_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g).to(device)


def bench_path(model, x, args, device, fast: bool) -> dict:
    """Train and sample timings of one path."""
    model.time_batched_emission = fast
    use_bf16 = fast and device.type == "cuda" and not args.no_bf16
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
    if fast and device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    loss_fn = torch.compile(model.loss) if (fast and args.compile) else model.loss
    opt = torch.optim.Adam(model.parameters(), lr=1e-5, fused=device.type == "cuda")

    def train_step():
        with autocast:
            out = loss_fn(x, 1.0)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    model.train()
    reset_peak(device)
    t_train = timeit(train_step, device, args.warmup, args.iters)
    peak_train = peak_mib(device)

    model.eval()
    context = x[:, : args.context]

    def sample_step():
        with autocast:
            model.predict(context, n_future=args.future)

    reset_peak(device)
    t_sample = timeit(sample_step, device, 1, max(1, args.iters // 2))
    peak_sample = peak_mib(device)
    model.time_batched_emission = True
    return {
        "train_seq_per_s": x.shape[0] / t_train,
        "train_ms_per_step": 1e3 * t_train,
        "train_peak_mib": peak_train,
        "sample_frames_per_s": x.shape[0] * args.future / t_sample,
        "sample_peak_mib": peak_sample,
        "bf16": use_bf16,
        "compile": bool(fast and args.compile),
        "time_batched_emission": fast,
    }


def same_bpp(model, x, device, args) -> tuple[float, float]:
    """Bits per pixel of one batch through both paths with identical noise (eval mode)."""
    model.eval()
    vals = []
    for fast in (False, True):
        model.time_batched_emission = fast
        torch.manual_seed(123)
        use_bf16 = fast and device.type == "cuda" and not args.no_bf16
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
        with torch.no_grad(), ctx:
            vals.append(float(model.loss(x)["bpp"]))
    model.time_batched_emission = True
    return vals[0], vals[1]


def flops_per_sequence(model, cfg, frames: int, device) -> float:
    x = make_batch(cfg, 2, frames, device, seed=1)
    model.train()
    with FlopCounterMode(display=False) as counter:
        model.loss(x)["loss"].backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cuda = torch.cuda.is_available()
    ap.add_argument("--device", default="cuda" if cuda else "cpu")
    ap.add_argument(
        "--preset",
        default=None,
        help="model config from this preset (default: thesis-bair on CUDA, quick-smmnist on the CPU)",
    )
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="model config override, e.g. --set flow_steps=4"
    )
    ap.add_argument("--batch", type=int, default=None, help="sequences per step (default 35 CUDA, 12 CPU)")
    ap.add_argument("--frames", type=int, default=10, help="frames per training sequence")
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--future", type=int, default=10)
    ap.add_argument("--iters", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    on_gpu = device.type == "cuda"
    args.preset = args.preset or ("thesis-bair" if on_gpu else "quick-smmnist")
    args.batch = args.batch or (35 if on_gpu else 12)
    args.iters = args.iters or (10 if on_gpu else 2)
    args.warmup = args.warmup if args.warmup is not None else (3 if on_gpu else 1)
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True

    preset = apply_overrides(get_preset(args.preset), [f"model.{item}" for item in args.set])
    torch.manual_seed(0)
    model = build(preset.model, preset.model_config).to(device)
    cfg = model.config
    x = make_batch(cfg, args.batch, args.frames, device)
    with torch.no_grad():
        model.loss(x)  # data-dependent initialisation
    params = sum(p.numel() for p in model.parameters())

    flops = flops_per_sequence(model, cfg, args.frames, device)
    peak_tflops, peak_what = matmul_peak(device)
    bpp_ref, bpp_fast = same_bpp(model, x, device, args)

    results = {}
    if not args.skip_reference:
        results["reference"] = bench_path(model, x, args, device, fast=False)
    results["fast"] = bench_path(model, x, args, device, fast=True)
    for r in results.values():
        r["tflops"] = flops * r["train_seq_per_s"] / 1e12
        r["fraction_of_peak"] = r["tflops"] / peak_tflops

    name = torch.cuda.get_device_name(device) if on_gpu else (platform.processor() or platform.machine())
    print(
        f"{preset.model.upper()} from preset {args.preset}: {params / 1e6:.1f} M parameters, "
        f"{cfg.channels}x{cfg.image_size[0]}x{cfg.image_size[1]}, {args.frames} frames, batch {args.batch}; "
        f"{device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(
        f"FLOPs per training sequence (fwd+bwd): {flops / 1e9:.1f} GFLOP; "
        f"measured peak ({peak_what}): {peak_tflops:.2f} TFLOP/s"
    )
    rel = abs(bpp_fast - bpp_ref) / abs(bpp_ref)
    print(f"same batch, same noise: reference bpp {bpp_ref:.5f}, fast bpp {bpp_fast:.5f} (rel. diff {rel:.2e})")
    print(
        f"{'path':10s} {'train seq/s':>12s} {'ms/step':>9s} {'sample fr/s':>12s} {'peak MiB':>9s} "
        f"{'TFLOP/s':>8s} {'% peak':>7s}"
    )
    for k, r in results.items():
        print(
            f"{k:10s} {r['train_seq_per_s']:12.2f} {r['train_ms_per_step']:9.1f} {r['sample_frames_per_s']:12.1f} "
            f"{r['train_peak_mib']:9.0f} {r['tflops']:8.3f} {100 * r['fraction_of_peak']:6.2f}%"
        )
    if "reference" in results:
        ref, fast = results["reference"], results["fast"]
        print(
            f"speed-up fast/reference: training x{fast['train_seq_per_s'] / ref['train_seq_per_s']:.2f}, "
            f"sampling x{fast['sample_frames_per_s'] / ref['sample_frames_per_s']:.2f}"
        )
    ok = rel < 5e-3
    print("bpp check:", "ok (within 0.5%)" if ok else "FAILED (paths differ by more than 0.5%)")
    out = {
        "meta": {
            "device": str(device),
            "device_name": name,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit(),
            "args": vars(args),
            "parameters": params,
            "flops_per_sequence": flops,
            "peak_tflops": peak_tflops,
            "peak_what": peak_what,
            "bpp_reference": bpp_ref,
            "bpp_fast": bpp_fast,
        },
        "results": results,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    if not ok:
        raise SystemExit(1)
    return out


if __name__ == "__main__":
    main()

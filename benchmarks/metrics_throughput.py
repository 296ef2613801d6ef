"""Throughput of the metric networks: I3D features (FVD) and LPIPS, plus PSNR/SSIM.

Prints clips/s for I3D embeddings of 16-frame 64x64 clips (resized to 224x224
inside, as FVD does) and frames/s for LPIPS, SSIM and PSNR on 64x64 RGB frames.

Usage:
    python benchmarks/metrics_throughput.py                    # CPU
    python benchmarks/metrics_throughput.py --device cuda      # GPU
    python benchmarks/metrics_throughput.py --i3d-clips 8 --lpips-frames 512 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from rfn.metrics import fvd, i3d, image, lpips


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(fn, n_items: int, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: weights to device, kernel selection
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return n_items / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--i3d-clips", type=int, default=4, help="clips per timed I3D run")
    ap.add_argument("--i3d-batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16, help="frames per I3D clip")
    ap.add_argument("--lpips-frames", type=int, default=256, help="frame pairs per timed LPIPS run")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs (best is reported)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    g = torch.Generator().manual_seed(0)
    clips = torch.randint(0, 256, (args.i3d_clips, args.frames, 3, 64, 64), generator=g, dtype=torch.uint8)
    net = i3d.get_i3d(device)
    rate = _rate(
        lambda: fvd.fvd_features(clips, batch_size=args.i3d_batch, device=device, model=net),
        args.i3d_clips,
        device,
        args.repeats,
    )
    print(
        f"I3D features: {rate:8.2f} clips/s  ({args.frames}-frame 64x64 clips resized to 224, "
        f"batch {args.i3d_batch}); 256 clips take {256 / rate:.0f} s"
    )

    x = torch.randint(0, 256, (args.lpips_frames, 3, 64, 64), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 256, (args.lpips_frames, 3, 64, 64), generator=g, dtype=torch.uint8)
    model = lpips.get_lpips("alex", device)
    rate = _rate(lambda: model(x, y), args.lpips_frames, device, args.repeats)
    print(f"LPIPS alex:   {rate:8.0f} frames/s (64x64 RGB pairs, batch 256)")
    xd, yd = x.to(device), y.to(device)
    rate = _rate(lambda: image.ssim(xd, yd), args.lpips_frames, device, args.repeats)
    print(f"SSIM:         {rate:8.0f} frames/s (64x64 RGB, float64)")
    rate = _rate(lambda: image.psnr(xd, yd), args.lpips_frames, device, args.repeats)
    print(f"PSNR:         {rate:8.0f} frames/s (64x64 RGB, float64)")


if __name__ == "__main__":
    main()

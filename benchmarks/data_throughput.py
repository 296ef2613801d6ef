"""Data loading speed: is the data pipeline ever the bottleneck of training?

Prints sequences per second for

* Stochastic Moving MNIST generation (2 digits, 64x64): one process, and
  through a DataLoader with 2 workers;
* the time to generate one training batch at the thesis scale (35 sequences of
  10 frames), next to the time of one CPU training step of a small RFN (when
  :mod:`rfn.models` is importable), so the two can be compared;
* BAIR reading (PNG folders) and KTH reading (compressed numpy cache) through a
  DataLoader with 2 workers, on synthetic data written to a temporary folder
  in the release layouts, and the KTH conversion speed (avi decoding).

Usage: ``python benchmarks/data_throughput.py [--quick]``. Numbers depend on
the machine; the script prints its CPU count and torch version.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from rfn.data import BAIR, KTH, StochasticMovingMNIST, prepare_kth
from rfn.data.kth import write_video_npz

BATCH = 35  # thesis batch size (Table A.2)


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10.1f} seq/s  ({seconds * 1e3 / n:.3f} ms/seq)"


def _loader_rate(ds, batches: int, workers: int = 2) -> tuple[int, float]:
    """Sequences per second through a shuffled DataLoader, after the first batch (worker start-up)."""
    g = torch.Generator().manual_seed(0)
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers, generator=g, drop_last=True)
    it = iter(loader)
    next(it)
    n, t0 = 0, time.perf_counter()
    for _ in range(batches):
        try:
            n += next(it).shape[0]
        except StopIteration:
            break
    return n, time.perf_counter() - t0


def bench_smmnist(quick: bool) -> None:
    t0 = time.perf_counter()
    ds = StochasticMovingMNIST("train", seq_len=10, num_digits=2)
    print(f"SM-MNIST digit pool (load + Lanczos resize of 60k digits): {time.perf_counter() - t0:.2f} s, once")
    n = 1000 if quick else 5000
    ds[0]
    t0 = time.perf_counter()
    for i in range(n):
        ds.trajectory(i)
    print(f"SM-MNIST motion only, T=10, 1 process:        {_rate(n, time.perf_counter() - t0)}")
    t0 = time.perf_counter()
    for i in range(n):
        ds[i]
    print(f"SM-MNIST sequences, T=10, 1 process:          {_rate(n, time.perf_counter() - t0)}")
    ds30 = StochasticMovingMNIST("train", seq_len=30, num_digits=2)
    t0 = time.perf_counter()
    for i in range(n // 3):
        ds30[i]
    print(f"SM-MNIST sequences, T=30, 1 process:          {_rate(n // 3, time.perf_counter() - t0)}")
    m, dt = _loader_rate(ds, batches=30 if quick else 150)
    print(f"SM-MNIST sequences, T=10, DataLoader 2 workers: {_rate(m, dt)}")
    reps = 20
    t0 = time.perf_counter()
    for r in range(reps):
        ds.batch(range(r * BATCH, (r + 1) * BATCH))
    gen_ms = (time.perf_counter() - t0) / reps * 1e3
    print(f"SM-MNIST training batch {BATCH}x10 frames, 1 process: {gen_ms:.1f} ms per batch")
    x = ds.batch(range(8))
    threads = torch.get_num_threads()
    steps = {}
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        steps[n] = _cpu_step_ms(x)
    torch.set_num_threads(threads)
    if steps[1] is not None:
        n, step_ms = min(steps.items(), key=lambda kv: kv[1])
        print(
            f"  vs one CPU training step of a small RFN (batch 8, 10 frames, {n} torch thread(s), the faster "
            f"of {sorted(steps)}): {step_ms:.0f} ms -> generating its batch of 8 costs "
            f"{gen_ms * 8 / BATCH / step_ms * 100:.2f}% of the step"
        )


def _cpu_step_ms(x: torch.Tensor) -> float | None:
    """Forward + backward + Adam step of a small RFN on CPU; None if the model package is not available."""
    try:
        from rfn.models.rfn import RFN, RFNConfig
    except ImportError as err:
        print(f"  (no CPU training step timed: {err})")
        return None
    cfg = RFNConfig(
        channels=1,
        image_size=(64, 64),
        levels=3,
        h_channels=32,
        a_channels=32,
        head_hidden=32,
        flow_steps=2,
        flow_hidden=32,
        base_hidden=32,
    )
    torch.manual_seed(0)
    model = RFN(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = model.loss(x)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]) * 1e3)


def _smooth_frames(rng: np.random.Generator, n: int, size: int, channels: int) -> np.ndarray:
    """Frames with the structure of natural video (smooth background, a moving blob, mild noise), so that
    PNG and zlib compress them about as much as real frames."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(60, 180, size=channels)
    frames = np.empty((n, size, size, channels), dtype=np.uint8)
    cy, cx = rng.uniform(0.2, 0.8, 2)
    for t in range(n):
        cy, cx = np.clip([cy + rng.normal(0, 0.03), cx + rng.normal(0, 0.03)], 0.1, 0.9)
        blob = 80 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.01)
        img = base[None, None] + 30 * yy[..., None] + blob[..., None] + rng.normal(0, 3, (size, size, channels))
        frames[t] = np.clip(img, 0, 255)
    return frames


def bench_bair(tmp: Path, quick: bool) -> None:
    rng = np.random.default_rng(0)
    n_seq = 48 if quick else 128
    t0 = time.perf_counter()
    for k in range(n_seq):
        folder = tmp / "bair" / "processed_data" / "train" / "traj_0_to_255" / str(k)
        folder.mkdir(parents=True)
        for t, f in enumerate(_smooth_frames(rng, 30, 64, 3)):
            Image.fromarray(f).save(folder / f"{t}.png")
    size = sum(p.stat().st_size for p in (tmp / "bair").rglob("*.png")) / (n_seq * 30)
    print(
        f"BAIR fixture: {n_seq} sequences x 30 PNG frames ({size / 1024:.1f} KiB/frame), "
        f"written in {time.perf_counter() - t0:.1f} s"
    )
    ds = BAIR(tmp / "bair", "train", seq_len=10)
    t0 = time.perf_counter()
    for i in range(50):
        ds[i * 7]
    print(f"BAIR read, T=10, 1 process:                   {_rate(50, time.perf_counter() - t0)}")
    m, dt = _loader_rate(ds, batches=10 if quick else 30)
    print(f"BAIR read, T=10, DataLoader 2 workers:        {_rate(m, dt)}")
    ds30 = BAIR(tmp / "bair", "train", seq_len=30)
    m, dt = _loader_rate(ds30, batches=3 if quick else 8)
    print(f"BAIR read, T=30, DataLoader 2 workers:        {_rate(m, dt)}")


def bench_kth(tmp: Path, quick: bool) -> None:
    import imageio.v2 as imageio

    rng = np.random.default_rng(1)
    # Conversion speed: one avi of 100 frames at KTH's 160x120 inside boxing.zip.
    src = tmp / "kth_src"
    src.mkdir()
    avi = src / "person01_boxing_d1_uncomp.avi"
    writer = imageio.get_writer(
        avi, format="FFMPEG", codec="mpeg4", fps=25, macro_block_size=1, ffmpeg_log_level="error"
    )
    big = _smooth_frames(rng, 100, 160, 1)[:, :120]
    for f in big:
        writer.append_data(np.repeat(f, 3, axis=2))
    writer.close()
    with zipfile.ZipFile(src / "boxing.zip", "w") as zf:
        zf.write(avi, avi.name)
    t0 = time.perf_counter()
    prepare_kth(src, tmp / "kth_conv", actions=("boxing",), verbose=False)
    dt = time.perf_counter() - t0
    print(f"KTH conversion (decode avi, luma, resize 64x64, npz): {100 / dt:.0f} frames/s")

    # Reading speed: a cache in the prepared layout with videos of KTH's typical length.
    root = tmp / "kth"
    n_videos, n_frames = (8, 300) if quick else (24, 400)
    videos = {"train": {}, "test": {}}
    for v in range(n_videos):
        name = f"person{1 + v % 16:02d}_walking_d{1 + v // 16}"
        (root / "train").mkdir(parents=True, exist_ok=True)
        write_video_npz(root / "train" / f"{name}.npz", _smooth_frames(rng, n_frames, 64, 1)[..., 0])
        videos["train"][name] = n_frames
    manifest = {"format": "rfn-kth-v1", "image_size": 64, "actions": ["walking"], "videos": videos}
    (root / "manifest.json").write_text(json.dumps(manifest))
    size = sum(p.stat().st_size for p in (root / "train").glob("*.npz")) / (n_videos * n_frames)
    print(f"KTH fixture: {n_videos} videos x {n_frames} frames ({size / 1024:.2f} KiB/frame compressed)")
    for in_memory in (False, True):
        ds = KTH(root, "train", seq_len=10, in_memory=in_memory)
        m, dt = _loader_rate(ds, batches=10 if quick else 30)
        label = "in memory" if in_memory else "from npz "
        print(f"KTH read {label}, T=10, DataLoader 2 workers: {_rate(m, dt)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench_smmnist(args.quick)
    with tempfile.TemporaryDirectory(prefix="rfn-data-bench-") as tmp:
        bench_bair(Path(tmp), args.quick)
        bench_kth(Path(tmp), args.quick)


if __name__ == "__main__":
    main()

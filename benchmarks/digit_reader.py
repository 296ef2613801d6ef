"""Train, measure and save the digit reader of :mod:`rfn.metrics.digit_reader` (digits read at their place).

Trains the reader on windows of generated SM-MNIST *training* frames (one CPU thread, minutes), then
measures it on held-out frames, SM-MNIST test sequences (MNIST test digits, never seen in training):

* ``true_place``: share of digits read as their class at their true place, every frame of the first
  ``--sequences`` test sequences (and per frame index);
* ``displaced``: share read as their class when the box is moved by ``k`` pixels (Chebyshev distance,
  k = 0..8): close to ``true_place`` up to the tolerance, close to 0 beyond it;
* ``black_frames``: share of true places in black frames read as any digit (should be 0);
* ``other_sequence``: share of digits read as their class at their place in another test sequence's
  frame (what chance and clutter give);
* ``windows``: accuracy over windows drawn as in training, from test digits (all 11 classes).

Saves weights and metadata (``.pt`` + ``.json``, the numbers above included). With the default
``--out`` and ``--write-hash`` it replaces the committed ``rfn/metrics/weights/digit-reader.pt`` and
updates ``CHECKPOINT_SHA256`` in ``rfn/metrics/digit_reader.py``. Same arguments, same machine and thread
count: the same weights.

Usage: ``python benchmarks/digit_reader.py [--steps 3000] [--write-hash]``
(``--measure-only`` measures the committed reader).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from rfn.data import StochasticMovingMNIST
from rfn.data.mnist import load_mnist
from rfn.data.smmnist import digit_pool
from rfn.metrics import digit_reader as dr
from rfn.runtime import git_commit


def measure(model: dr.DigitReader, sequences: int, seq_len: int = 10, seed: int = 0) -> dict:
    """The held-out numbers of the module docstring."""
    cfg = model.config
    ds = StochasticMovingMNIST("test", seq_len=seq_len, image_size=cfg.image_size, digit_size=cfg.digit_size)
    trajs = [ds.trajectory(i) for i in range(sequences)]
    frames = ds.batch(range(sequences))  # [B, T, 1, H, W]
    labels = load_mnist("test")[1][torch.from_numpy(np.stack([t.digits for t in trajs]))]  # [B, D]
    pos = torch.from_numpy(np.stack([t.positions for t in trajs]))  # [B, T, D, 2]
    truth = labels[:, None, :].expand(pos.shape[:-1])
    start = time.perf_counter()
    read = dr.read_at(frames, pos, model)
    seconds = time.perf_counter() - start
    rng = np.random.default_rng([seed, 1])
    displaced = {}
    for k in range(9):
        off = rng.integers(-k, k + 1, size=pos.shape)
        axis = rng.integers(0, 2, size=pos.shape[:-1])
        sign = rng.choice([-1, 1], size=pos.shape[:-1])
        np.put_along_axis(off, axis[..., None], (k * sign)[..., None], -1)  # one axis moved by exactly k
        moved = (pos + torch.from_numpy(off)).clamp(-cfg.digit_size, cfg.image_size)
        displaced[k] = float((dr.read_at(frames, moved, model) == truth).float().mean())
    black = dr.read_at(torch.zeros_like(frames), pos, model)
    other = dr.read_at(frames.roll(1, 0), pos, model)
    x, y = dr.training_windows(
        digit_pool("test", cfg.digit_size), load_mnist("test")[1].numpy(), np.random.default_rng([seed, 2]), 2000, cfg
    )
    win = model.classify(x)
    return {
        "held_out": f"SM-MNIST test split, sequences 0..{sequences - 1}, {seq_len} frames (MNIST test digits)",
        "digits_read": read.numel(),
        "true_place": float((read == truth).float().mean()),
        "true_place_per_frame": [round(v, 4) for v in (read == truth).float().mean((0, 2)).tolist()],
        "displaced": displaced,
        "black_frames_read_as_a_digit": float((black != dr.NONE).float().mean()),
        "other_sequence": float((other == truth).float().mean()),
        "windows": float((win == y).float().mean()),
        "windows_none_read_as_none": float((win[y == dr.NONE] == dr.NONE).float().mean()),
        "windows_digit_read_right": float((win[y != dr.NONE] == y[y != dr.NONE]).float().mean()),
        "digits_per_second": read.numel() / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--frames-per-step", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--digit-size", type=int, default=16)
    p.add_argument("--tolerance", type=int, default=2)
    p.add_argument("--sequences", type=int, default=1000, help="SM-MNIST test sequences to measure on")
    p.add_argument("--out", type=Path, default=dr.CHECKPOINT)
    p.add_argument("--write-hash", action="store_true", help="update CHECKPOINT_SHA256 in rfn/metrics/digit_reader.py")
    p.add_argument("--measure-only", action="store_true", help="measure the committed reader, train nothing")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.measure_only:
        print(json.dumps(measure(dr.load_digit_reader(), args.sequences), indent=2))
        return 0
    config = dr.ReaderConfig(args.image_size, args.digit_size, args.tolerance, args.width)
    model, info = dr.train_digit_reader(
        config, steps=args.steps, frames_per_step=args.frames_per_step, lr=args.lr, seed=args.seed, verbose=True
    )
    # measure the weights as they are saved (float16)
    model.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in model.state_dict().items()})
    info["measured"] = measure(model, args.sequences)
    info["parameters"] = sum(p.numel() for p in model.parameters())
    info["torch"] = torch.__version__
    info["commit"] = git_commit()
    digest = dr.save_digit_reader(model, args.out, info)
    print(json.dumps(info["measured"], indent=2))
    print(f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KiB), sha256 {digest}")
    if args.write_hash:
        if args.out.resolve() != dr.CHECKPOINT.resolve():
            raise SystemExit("--write-hash only applies to the default --out (the committed reader)")
        src = Path(dr.__file__)
        text, n = re.subn(r'CHECKPOINT_SHA256 = "[0-9a-f]{64}"', f'CHECKPOINT_SHA256 = "{digest}"', src.read_text())
        if n != 1:
            text, n = re.subn(r'CHECKPOINT_SHA256 = "0" \* 64', f'CHECKPOINT_SHA256 = "{digest}"', src.read_text())
        if n != 1:
            raise SystemExit(f"could not find CHECKPOINT_SHA256 in {src}; set it to {digest} by hand")
        src.write_text(text)
        print(f"updated CHECKPOINT_SHA256 in {src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

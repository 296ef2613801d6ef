"""Train, measure and save the digit-identity classifier of :mod:`rfn.metrics.digits`.

Trains the classifier on MNIST training digits placed as SM-MNIST places them
(one CPU thread, a few minutes), then measures its digit identity on

* true SM-MNIST test frames (``StochasticMovingMNIST("test")``, test-split
  digits, every frame of the first ``--sequences`` sequences),
* all-black frames and uniform noise frames, with the same sequences' labels
  (chance is about 0.02 for two digits),

and saves weights and metadata (``.pt`` + ``.json``, the numbers above
included). With the default ``--out`` and ``--write-hash`` it replaces the
committed ``rfn/metrics/weights/digit-classifier.pt`` and updates
``CHECKPOINT_SHA256`` in ``rfn/metrics/digits.py``.

Usage: ``python benchmarks/digit_classifier.py [--steps 4000] [--write-hash]``
(``--image-size 64 --digit-size 32 --out PATH`` for the thesis's 64x64 frames).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import torch

from rfn.data import StochasticMovingMNIST
from rfn.metrics import digits
from rfn.runtime import git_commit


def measure(model: digits.DigitClassifier, sequences: int, seq_len: int = 10) -> dict:
    """Digit identity of true test frames, black frames and noise frames (fractions of frames)."""
    cfg = model.config
    ds = StochasticMovingMNIST(
        "test", seq_len=seq_len, num_digits=cfg.num_digits, image_size=cfg.image_size, digit_size=cfg.digit_size
    )
    frames = ds.batch(range(sequences))  # [B, T, 1, H, W]
    labels = digits.smmnist_labels(ds, range(sequences))
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, frames.shape, generator=g, dtype=torch.uint8)
    start = time.perf_counter()
    true = digits.digit_identity(frames, labels, model)
    seconds = time.perf_counter() - start
    return {
        "sequences": sequences,
        "frames": true.numel(),
        "true_test_frames": float(true.mean()),
        "true_test_frames_per_t": [round(v, 4) for v in true.mean(0).tolist()],
        "black_frames": float(digits.digit_identity(torch.zeros_like(frames), labels, model).mean()),
        "noise_frames": float(digits.digit_identity(noise, labels, model).mean()),
        "frames_per_second": true.numel() / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--digit-size", type=int, default=16)
    p.add_argument("--num-digits", type=int, default=2)
    p.add_argument("--sequences", type=int, default=1000, help="SM-MNIST test sequences to measure on")
    p.add_argument("--out", type=Path, default=digits.CHECKPOINT)
    p.add_argument("--write-hash", action="store_true", help="update CHECKPOINT_SHA256 in rfn/metrics/digits.py")
    args = p.parse_args(argv)
    config = digits.ClassifierConfig(args.image_size, args.digit_size, args.num_digits, args.width)
    model, info = digits.train_digit_classifier(
        config, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, verbose=True
    )
    # measure the weights as they are saved (float16)
    model.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in model.state_dict().items()})
    info["measured"] = measure(model, args.sequences)
    info["parameters"] = sum(p.numel() for p in model.parameters())
    info["torch"] = torch.__version__
    info["commit"] = git_commit()
    digest = digits.save_digit_classifier(model, args.out, info)
    print(json.dumps(info["measured"], indent=2))
    print(f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KiB), sha256 {digest}")
    if args.write_hash:
        if args.out.resolve() != digits.CHECKPOINT.resolve():
            raise SystemExit("--write-hash only applies to the default --out (the committed checkpoint)")
        src = Path(digits.__file__)
        text, n = re.subn(r'CHECKPOINT_SHA256 = "[0-9a-f]{64}"', f'CHECKPOINT_SHA256 = "{digest}"', src.read_text())
        if n != 1:
            raise SystemExit(f"could not find CHECKPOINT_SHA256 in {src}; set it to {digest} by hand")
        src.write_text(text)
        print(f"updated CHECKPOINT_SHA256 in {src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

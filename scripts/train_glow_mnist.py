"""Train an unconditional Glow on real MNIST digits on the CPU and print the test-bpp curve.

    python scripts/train_glow_mnist.py --minutes 3

The digits come from the offline MNIST asset (``make assets``). Test bits per
pixel are measured on a fixed subset of the MNIST test split, with one fixed
draw of dequantisation noise, before training and every ``--eval-every`` steps.
"""

from __future__ import annotations

import argparse
import time

import torch

from rfn.data.mnist import load_mnist
from rfn.models import ImageGlow, ImageGlowConfig


def evaluate(model: ImageGlow, images: torch.Tensor, batch: int = 500) -> float:
    model.eval()
    state = torch.get_rng_state()
    torch.manual_seed(1234)  # same dequantisation noise at every evaluation
    with torch.no_grad():
        bpp = torch.cat([model.loss(images[i : i + batch])["bpp"].reshape(1) for i in range(0, len(images), batch)])
    torch.set_rng_state(state)
    model.train()
    return bpp.mean().item()


def main(argv: list[str] | None = None) -> list[tuple[int, float, float]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="wall-clock training budget")
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100, help="linear learning-rate warm-up steps (as in Glow)")
    ap.add_argument("--levels", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4, help="flow steps per level")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    train, _ = load_mnist("train")
    test, _ = load_mnist("test")
    train, test = train[:, None], test[: args.n_test, None]
    model = ImageGlow(ImageGlowConfig(levels=args.levels, steps=args.steps, hidden=args.hidden))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, args.warmup)))
    with torch.no_grad():
        model.loss(train[torch.randperm(len(train))[:256]])  # data-dependent ActNorm init
    curve = [(0, 0.0, evaluate(model, test))]
    print(f"{'step':>6} {'minutes':>8} {'test bpp':>9}")
    print(f"{0:6d} {0.0:8.2f} {curve[0][2]:9.4f}", flush=True)
    start = time.perf_counter()
    g = torch.Generator().manual_seed(args.seed)
    for step in range(1, args.max_steps + 1):
        idx = torch.randint(0, len(train), (args.batch,), generator=g)
        loss = model.loss(train[idx])["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        opt.step()
        sched.step()
        elapsed = (time.perf_counter() - start) / 60
        if step % args.eval_every == 0 or elapsed >= args.minutes:
            curve.append((step, elapsed, evaluate(model, test)))
            print(f"{step:6d} {elapsed:8.2f} {curve[-1][2]:9.4f}", flush=True)
        if elapsed >= args.minutes:
            break
    print(f"test bpp: {curve[0][2]:.4f} -> {curve[-1][2]:.4f} after {curve[-1][0]} steps ({curve[-1][1]:.1f} min)")
    return curve


if __name__ == "__main__":
    main()

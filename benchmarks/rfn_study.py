"""What makes the RFN keep the digits on a CPU: short runs of preset variants, scored by bpp and digit identity.

Two subcommands:

``evaluate CHECKPOINT``
    Digit identity (:mod:`rfn.metrics.digits`) of a trained SM-MNIST model on
    held-out sequences with ``--context`` true frames: posterior reconstructions
    and one-step predictions (teacher forcing, the frame after the context), and
    ``--samples`` sampled futures per sequence (mean over samples and best of N,
    per predicted frame), at each emission temperature of ``--temperatures``;
    the true frames' own score is the ceiling. Also the best-of-N SSIM of the
    sampled futures per predicted frame against two predictions without a model
    (all-black frames, the last context frame held), and at how many frames it
    beats both. Prints one row per temperature and, with ``--json``, writes them.
``run``
    Trains each variant of ``--variants`` (named lists of ``--set`` overrides on
    ``--preset``) for ``--steps`` steps into ``--out/<variant>`` (resumable),
    then evaluates it as above and prints one table: validation bpp, KL, CPU
    seconds, identity of reconstructions, one-step predictions and the best of
    N at ``t+5`` at the best temperature.

Both use one torch thread. Example (minutes per variant on one core)::

    python benchmarks/rfn_study.py evaluate runs/reference-smmnist/last.pt --sequences 64
    python benchmarks/rfn_study.py run --steps 1500 --out runs/study --variants base skip-flow wide
    python benchmarks/rfn_study.py run --steps 1500 --out runs/study --variants base deep --seed 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rfn import load
from rfn.data import make_dataset
from rfn.metrics import best_of_n, frame_scores
from rfn.metrics.digits import digit_identity, identity_by_horizon, smmnist_labels

#: name -> overrides on the study's base preset
VARIANTS: dict[str, list[str]] = {
    "base": [],
    "skip-flow": ["model.skip=flow"],
    "skip-both": ["model.skip=both"],
    "wide": ["model.flow_hidden=64", "model.base_hidden=64"],
    "deep": ["model.flow_steps=6"],
    "z8": ["model.z_channels=8"],
    # free bits count per frame (the whole z_t map): 40 nats is about 0.056 bits per pixel at 32x32,
    # the SRNN's KL; the quick RFN's KL is about 11 nats per frame, so 0.5 would never bind
    "free-bits": ["model.free_nats=40"],
    "lr1e-3": ["train.lr=1e-3"],
    "batch24": ["train.batch_size=24"],
    "seq10": ["data.seq_len=10"],
    "no-batchnorm": ["model.norm=none"],
}


def evaluate(path: str, sequences: int, context: int, future: int, samples: int, temperatures: list[float]) -> dict:
    """Digit identity of the model in ``path`` at each emission temperature (see the module docstring)."""
    torch.set_num_threads(1)
    model = load(path)
    data = make_dataset("smmnist", split="test", seq_len=context + future, num_digits=2, image_size=32, digit_size=16)
    idx = list(range(sequences))
    x = torch.stack([data[i] for i in idx])
    labels = smmnist_labels(data, idx)
    out = {"checkpoint": str(path), "sequences": sequences, "context": context, "samples": samples}
    out["true_frames"] = digit_identity(x, labels).mean().item()
    truth = x[:, context : context + future]
    guesses = {"black": torch.zeros_like(truth), "copy_last": x[:, context - 1 : context].expand_as(truth).contiguous()}
    out["ssim_baselines"] = {
        k: frame_scores(truth, g[:, None], "ssim").mean((0, 1)).tolist() for k, g in guesses.items()
    }
    rows = []
    for temperature in temperatures:
        torch.manual_seed(0)
        start = time.process_time()
        with torch.no_grad():
            rp = model.reconstruct_and_predict(x[:, : context + 1], emission_temperature=temperature)
            futures = model.predict(
                x[:, :context], n_future=future, n_samples=samples, emission_temperature=temperature
            )
        curves = identity_by_horizon(digit_identity(futures, labels))
        ssim = best_of_n(truth, futures, ["ssim"])["ssim"].best_curve.tolist()
        rows.append(
            {
                "temperature": temperature,
                "reconstruction": digit_identity(rp["reconstruction"][:, -1:], labels).mean().item(),
                "one_step": digit_identity(rp["prediction"][:, -1:], labels).mean().item(),
                "future_mean": curves["mean"],
                "future_best": curves["best"],
                "ssim_best": ssim,
                "cpu_s": time.process_time() - start,
            }
        )
    out["rows"] = rows
    return out


def _print_evaluation(result: dict) -> None:
    true = result["true_frames"]
    print(f"{result['checkpoint']}: true frames {true:.3f} ({result['sequences']} sequences)")
    print("  T     recon  one-step  mean t+1  best t+1  best t+5  best t+10  (ratios to the true frames)")
    for r in result["rows"]:
        best = r["future_best"]
        t5 = best[min(4, len(best) - 1)]
        cells = [r["reconstruction"], r["one_step"], r["future_mean"][0], best[0], t5, best[-1]]
        print(f"  {r['temperature']:<5} " + "  ".join(f"{c / true:7.2f}" for c in cells))
    base = result["ssim_baselines"]
    print(f"  best-of-{result['samples']} SSIM per predicted frame; black {_fmt(base['black'])}")
    print(f"  {'':<5} copy-last {_fmt(base['copy_last'])}")
    for r in result["rows"]:
        above = sum(s > max(b, c) for s, b, c in zip(r["ssim_best"], base["black"], base["copy_last"]))
        print(f"  {r['temperature']:<5} model {_fmt(r['ssim_best'])}  above both at {above} of {len(r['ssim_best'])}")


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


def run(args: argparse.Namespace) -> None:
    """Train every variant for ``args.steps`` steps (resuming), evaluate it and print the table."""
    from rfn.training.preset import train_preset

    torch.set_num_threads(1)
    table = []
    for name in args.variants:
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
        out = Path(args.out) / (name if args.seed == 0 else f"{name}-seed{args.seed}")
        start = time.process_time()
        trainer, _ = train_preset(
            args.preset,
            out,
            [f"train.steps={args.steps}", f"train.seed={args.seed}", "train.progress=False", *VARIANTS[name]],
            resume=(out / "last.pt").exists(),
        )
        cpu = time.process_time() - start
        val = next((r for r in reversed(trainer.history) if r.get("val_bpp") is not None), {})
        result = evaluate(str(out / "last.pt"), args.sequences, 5, 10, args.samples, args.temperatures)
        best = max(result["rows"], key=lambda r: r["future_best"][4])
        table.append((name, val.get("val_bpp"), val.get("val_kl_bpp"), cpu, result["true_frames"], best))
        _print_evaluation(result)
    print("\nvariant        val bpp  val kl   CPU s   recon  one-step  best5 t+5  (identity / true frames, best T)")
    for name, bpp, kl, cpu, true, best in table:
        print(
            f"{name:<14} {bpp or float('nan'):7.3f}  {kl or float('nan'):6.4f}  {cpu:6.0f}  "
            f"{best['reconstruction'] / true:5.2f}  {best['one_step'] / true:8.2f}  "
            f"{best['future_best'][4] / true:9.2f}  (T={best['temperature']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="digit identity of one checkpoint")
    ev.add_argument("checkpoint")
    ev.add_argument("--json", help="also write the results here")
    st = sub.add_parser("run", help="train and evaluate variants")
    st.add_argument("--preset", default="quick-smmnist")
    st.add_argument("--steps", type=int, default=1500)
    st.add_argument("--out", default="runs/study")
    st.add_argument("--variants", nargs="+", default=["base"])
    st.add_argument("--seed", type=int, default=0, help="training seed (runs go to <out>/<variant>-seed<N>)")
    for p in (ev, st):
        p.add_argument("--sequences", type=int, default=64)
        p.add_argument("--samples", type=int, default=5)
        p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.7, 0.5, 0.0])
    ev.add_argument("--context", type=int, default=5)
    ev.add_argument("--future", type=int, default=10)
    args = parser.parse_args()
    if args.command == "evaluate":
        result = evaluate(args.checkpoint, args.sequences, args.context, args.future, args.samples, args.temperatures)
        _print_evaluation(result)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    else:
        run(args)


if __name__ == "__main__":
    main()

"""The thesis's headline on the RGB stand-in for BAIR: does the RFN beat SRNN and VRNN in bits per pixel?

On BAIR the thesis reports RFN <= 2.16 bits per pixel against SRNN <= 3.70 and VRNN
<= 3.58: a flow emission models the correlations between neighbouring pixels that a
per-pixel (discretised logistic mixture) output cannot. Natural video is not available
offline here, so this script tests the claim on ``textured-shapes`` (:mod:`rfn.data.textured`:
textured shapes on a textured background with camera noise), whose neighbouring
pixels are correlated as in natural video.

``train``
    Trains ``reference-textured`` (RFN), ``reference-textured-srnn`` and
    ``reference-textured-vrnn`` for ``--seeds`` training seeds each, ``--steps`` steps
    (the KL warm-up and the learning-rate decay scaled to that length), into
    ``--out/<model>-seed<s>`` (resumable; one torch thread; one run after another).
``evaluate``
    Scores every finished run on the same ``--sequences`` test sequences of 10 frames, each
    given its first frame: the negative ELBO and the importance-weighted bound with
    ``--iw-k`` samples (the thesis's bound for the baselines; for the RFN too, as a check),
    in bits per pixel, then prints one row per run, the mean and the seed spread per model,
    and whether the RFN's bound is below both baselines' by more than the spread.
``fvd``
    FVD of every finished run (one sample per test sequence, the thesis's BAIR protocol:
    3 warm-up frames, 10 predicted) on ``--clips`` clips, beside two sets of real clips.

Short runs on a CPU are far from the thesis's training (300k steps on a GPU); the table
says how many steps each run had. Example (the numbers in ``benchmarks/RESULTS.md``)::

    python benchmarks/rgb_headline.py train --steps 1500 --out runs/rgb-headline
    python benchmarks/rgb_headline.py evaluate --out runs/rgb-headline --sequences 64 --json rgb.json
    python benchmarks/rgb_headline.py fvd --out runs/rgb-headline --clips 256 --json rgb_fvd.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

PRESETS = {"rfn": "reference-textured", "srnn": "reference-textured-srnn", "vrnn": "reference-textured-vrnn"}


def _overrides(steps: int, seed: int) -> list[str]:
    return [
        f"train.steps={steps}",
        f"train.seed={seed}",
        f"train.beta_warmup_steps={max(1, steps // 5)}",
        f"train.ckpt_every={max(1, min(500, steps // 4))}",
        f"train.val_every={max(1, steps // 3)}",
        "train.progress=False",
    ]


def train(args: argparse.Namespace) -> None:
    from rfn.runs import train_preset

    torch.set_num_threads(1)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for model in args.models:
            out = Path(args.out) / f"{model}-seed{seed}"
            start = time.perf_counter()
            trainer, _ = train_preset(
                PRESETS[model], out, _overrides(args.steps, seed), resume=(out / "last.pt").exists()
            )
            print(f"{model} seed {seed}: step {trainer.step} in {time.perf_counter() - start:.0f} s", flush=True)


@torch.no_grad()
def score(path: Path, sequences: int, iw_k: int, batch: int) -> dict:
    """Negative ELBO and IW bound (bits per pixel) of one checkpoint on the first ``sequences`` test sequences."""
    from rfn import load, pixels
    from rfn.checkpoint import load_checkpoint
    from rfn.data import make_dataset
    from rfn.models.iwae import iw_bound

    model = load(path).eval()
    ckpt = load_checkpoint(path)
    data = ckpt["data_config"]
    test = make_dataset(data["name"], split="test", seq_len=10, **data.get("kwargs", {}))
    x = torch.stack([test[i] for i in range(sequences)])
    shape = (x.shape[1] - 1, *model.config.frame_shape)
    elbo, iw = [], []
    for i in range(0, sequences, batch):
        xb = x[i : i + batch]
        torch.manual_seed(1000 + i)
        terms = model.elbo_terms(xb)
        elbo.append(pixels.bits_per_pixel(terms["nll"].sum(1) + terms["kl"].sum(1), shape))
        if iw_k:
            iw.append(iw_bound(model, xb, k=iw_k, chunk=batch)["bpp"])
    out = {"step": int(ckpt["step"]), "neg_elbo_bpp": torch.cat(elbo).mean().item()}
    if iw:
        out["iw_bpp"] = torch.cat(iw).mean().item()
    return out


def evaluate(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    rows = []
    for path in sorted(Path(args.out).glob("*-seed*/last.pt")):
        model, seed = path.parent.name.rsplit("-seed", 1)
        start = time.process_time()
        rows.append({"model": model, "seed": int(seed), **score(path, args.sequences, args.iw_k, args.batch)})
        rows[-1]["cpu_s"] = time.process_time() - start
    key = "iw_bpp" if args.iw_k else "neg_elbo_bpp"
    print(f"{'run':<12} {'step':>6} {'-ELBO bpp':>10} {'IW bpp':>8}")
    for r in rows:
        iw = r.get("iw_bpp", float("nan"))
        print(f"{r['model']}-seed{r['seed']:<3} {r['step']:>6} {r['neg_elbo_bpp']:10.4f} {iw:8.4f}")
    summary = {}
    for model in PRESETS:
        values = [r[key] for r in rows if r["model"] == model]
        if values:
            summary[model] = {"mean": statistics.fmean(values), "spread": max(values) - min(values), "n": len(values)}
            print(f"{model:<5} {key} mean {summary[model]['mean']:.4f}, seed spread {summary[model]['spread']:.4f}")
    if {"rfn", "srnn", "vrnn"} <= set(summary):
        spread = max(s["spread"] for s in summary.values())
        best_baseline = min(summary["srnn"]["mean"], summary["vrnn"]["mean"])
        margin = best_baseline - summary["rfn"]["mean"]
        verdict = "yes" if margin > spread else "no"
        print(
            f"RFN below both baselines by more than the seed spread: {verdict} "
            f"(margin {margin:+.4f}, spread {spread:.4f})"
        )
        summary["verdict"] = {"margin": margin, "spread": spread, "rfn_below_by_more_than_spread": verdict == "yes"}
    result = {"sequences": args.sequences, "iw_k": args.iw_k, "rows": rows, "summary": summary}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def fvd(args: argparse.Namespace) -> dict:
    """FVD of every finished run's samples against real test clips, beside the real-vs-real floor.

    The thesis's BAIR protocol (``bair-thesis-13``: 3 warm-up frames, 10 predicted, FVD on
    the predicted frames, one sample per sequence) on ``--clips`` test sequences of the
    stand-in; every model samples at emission temperature ``--temperature``.
    """
    from rfn import load
    from rfn.checkpoint import load_checkpoint
    from rfn.data import make_dataset
    from rfn.metrics import get_protocol
    from rfn.pages.results import fvd_study

    torch.set_num_threads(1)
    paths = sorted(Path(args.out).glob("*-seed*/last.pt"))
    if not paths:
        raise SystemExit(f"no runs under {args.out}: train them first (rgb_headline.py train --out {args.out})")
    data = load_checkpoint(paths[0])["data_config"]
    proto = get_protocol("bair-thesis-13").replace(
        name="textured-thesis-13",
        dataset=data["name"],
        n_test_sequences=2 * args.clips,
        n_samples=1,
        fvd_repeats=1,
        emission_temperature=args.temperature,
        source="bair-thesis-13 on the RGB stand-in (textured shapes)",
    )
    test = make_dataset(data["name"], split="test", seq_len=proto.total_frames, **data.get("kwargs", {}))
    videos = torch.stack([test[i] for i in range(2 * args.clips)])
    models = {p.parent.name: load(p).eval() for p in paths}
    start = time.process_time()
    study = fvd_study(models, videos, proto, seed=0)
    print(proto.describe())
    print(f"real vs real ({args.clips} clips each): {study['floor'][str(args.clips)]:.1f}")
    for run, value in study["models"].items():
        print(f"{run:<12} FVD {value:8.1f}")
    summary = {}
    for model in PRESETS:
        values = [v for run, v in study["models"].items() if run.rsplit("-seed", 1)[0] == model]
        if values:
            summary[model] = {"mean": statistics.fmean(values), "spread": max(values) - min(values), "n": len(values)}
            print(f"{model:<5} FVD mean {summary[model]['mean']:.1f}, seed spread {summary[model]['spread']:.1f}")
    result = {"protocol": proto.to_dict(), "clips": args.clips, **study, "summary": summary}
    result["cpu_s"] = time.process_time() - start
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train the runs (resumable)")
    tr.add_argument("--steps", type=int, default=1500)
    tr.add_argument("--seeds", type=int, default=2)
    tr.add_argument("--first-seed", type=int, default=0, help="train seeds first-seed .. first-seed + seeds - 1")
    tr.add_argument("--models", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ev = sub.add_parser("evaluate", help="score the runs")
    ev.add_argument("--sequences", type=int, default=64)
    ev.add_argument("--iw-k", type=int, default=20)
    ev.add_argument("--batch", type=int, default=16)
    ev.add_argument("--json")
    fv = sub.add_parser("fvd", help="FVD of the runs' samples and the real-vs-real floor")
    fv.add_argument("--clips", type=int, default=256, help="clips per set (2x this many test sequences)")
    fv.add_argument("--temperature", type=float, default=1.0, help="emission temperature of every model")
    fv.add_argument("--json")
    for p in (tr, ev, fv):
        p.add_argument("--out", default="runs/rgb-headline")
    args = parser.parse_args()
    {"train": train, "evaluate": evaluate, "fvd": fvd}[args.command](args)


if __name__ == "__main__":
    main()

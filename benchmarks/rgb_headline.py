"""The RGB headline study: train, export and score the 15 runs behind book page 10.

Does a flow emission beat per-pixel outputs on RGB video? Five models on the textured stand-in
for BAIR (:mod:`rfn.data.textured`), three training seeds each, the same number of steps
(presets ``reference-textured*``, :data:`rfn.pages.rgb.MODELS`):

``plan``
    Every run, where it stands (steps done of the preset's steps, in the run folder and in the
    committed files) and the CPU hours left, from the measured time per step.
``train``
    Trains runs one after another, one torch thread each; ``--lane K/N`` takes every N-th run
    starting at K, so two processes (one per core) share the list. A run resumes its run folder;
    without one it continues a committed unfinished export (``--init-from ... --keep-step``: the
    weights and the step, with a fresh optimiser; the run log says so) or starts from scratch.
``export``
    Publishes finished runs as ``checkpoints/reference/textured/<preset>[-seedS].pt`` (fp16 weights
    with the run's ``run.json``, ``metrics.csv`` and ``train_time.json``) and unfinished ones under
    ``checkpoints/reference/textured/unfinished/`` so a later session on another machine can continue
    them. Each export records the test bits of the fp32 and fp16 weights on the same clips (the
    reference-checkpoint test holds them within 1e-3).
``score``
    :func:`rfn.pages.rgb.score_run` of every committed finished run (bits per dimension with the IW
    bound, FVD, best-of-100 with the no-model baselines), and the real-against-real FVD floor,
    written to ``checkpoints/reference/textured/cache/`` for the page to read.

Example::

    python benchmarks/rgb_headline.py plan
    nohup python benchmarks/rgb_headline.py train --lane 0/2 &
    nohup python benchmarks/rgb_headline.py train --lane 1/2 &
    python benchmarks/rgb_headline.py export
    python benchmarks/rgb_headline.py score
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rfn.presets  # noqa: E402, F401  (registers the presets)
from rfn.pages.rgb import MODELS  # noqa: E402
from rfn.runs import reference_file  # noqa: E402

COMMITTED = reference_file("reference-textured", 0, ROOT / "checkpoints" / "reference").parent
UNFINISHED = COMMITTED / "unfinished"
CACHE = COMMITTED / "cache"
SEEDS = (0, 1, 2)
#: seconds per training step on one idle core of this project's CPU (batch 16), measured when the runs started;
#: ``plan`` prefers the rate of the model's latest logged steps (:func:`measured_seconds_per_step`)
SECONDS_PER_STEP = {"rfn": 0.88, "srnn": 0.54, "vrnn": 0.42, "noskip": 0.77, "srnn-skip": 0.80}
#: test clips and seed of the fp32-against-fp16 check recorded at export
CHECK_SEQUENCES, CHECK_SEED = 8, 0


def runs() -> list[tuple[str, str, int]]:
    """``(model key, preset, seed)`` of every run, seed by seed."""
    return [(key, preset, seed) for seed in SEEDS for key, (preset, _) in MODELS.items()]


def stem(preset: str, seed: int) -> str:
    return preset if seed == 0 else f"{preset}-seed{seed}"


def _steps_of(path: Path) -> int | None:
    if not path.is_file():
        return None
    from rfn.checkpoint import load_checkpoint

    return int(load_checkpoint(path)["step"])


def measured_seconds_per_step(logs: list[Path], last: int = 1_000) -> float | None:
    """Median seconds per step over the last ``last`` logged steps of the most recently written run log."""
    from rfn.pages.rgb import seconds_per_step

    logs = [p for p in logs if p.is_file()]
    return seconds_per_step(max(logs, key=lambda p: p.stat().st_mtime), last=last) if logs else None


def plan(args) -> None:
    from rfn.presets import get_preset

    rates = {}
    for key, (preset, _) in MODELS.items():
        logs = [*COMMITTED.glob(f"{preset}.metrics.csv"), *COMMITTED.glob(f"{preset}-seed*.metrics.csv"),
                *Path(args.runs).glob(f"{preset}-seed*/metrics.csv")]  # fmt: skip
        measured = measured_seconds_per_step(logs)
        rates[key] = measured if measured is not None else SECONDS_PER_STEP[key]
    print("seconds per step (latest logged rate, else the idle-core estimate): "
          + ", ".join(f"{k} {v:.2f}" for k, v in rates.items()))  # fmt: skip
    total_left = 0.0
    print(f"{'run':<40} {'folder':>8} {'committed':>10} {'of':>6} {'CPU h left':>10}")
    for key, preset, seed in runs():
        steps = get_preset(preset).train["steps"]
        local = _steps_of(Path(args.runs) / f"{preset}-seed{seed}" / "last.pt")
        done = _steps_of(COMMITTED / f"{stem(preset, seed)}.pt")
        part = _steps_of(UNFINISHED / f"{stem(preset, seed)}.pt")
        reached = max(s for s in (local, done, part, 0) if s is not None)
        left = (steps - reached) * rates[key] / 3600
        total_left += left
        committed = done if done is not None else (f"({part})" if part is not None else "-")
        print(
            f"{preset + f' seed {seed}':<40} {local if local is not None else '-':>8} {committed!s:>10} "
            f"{steps:>6} {left:>10.1f}"
        )
    print(f"CPU hours left: {total_left:.1f} (two runs at a time: {total_left / 2:.1f} h of wall time)")


def train(args) -> None:
    from rfn.presets import get_preset

    k, n = (int(v) for v in args.lane.split("/"))
    mine = [r for i, r in enumerate(runs()) if i % n == k]
    for _, preset, seed in mine:
        if args.only and f"{preset}:{seed}" not in args.only:
            continue
        out = Path(args.runs) / f"{preset}-seed{seed}"
        steps = get_preset(preset).train["steps"]
        if (_steps_of(COMMITTED / f"{stem(preset, seed)}.pt") or 0) >= steps and not (out / "last.pt").is_file():
            print(f"{preset} seed {seed}: committed at {steps} steps, nothing to do", flush=True)
            continue
        cmd = [
            sys.executable,
            "-m",
            "rfn.cli",
            "train",
            "--preset",
            preset,
            "--out",
            str(out),
            "--resume",
            "--set",
            f"train.seed={seed}",
            "--quiet",
        ]
        partial = UNFINISHED / f"{stem(preset, seed)}.pt"
        if not (out / "last.pt").is_file() and partial.is_file():
            cmd += ["--init-from", str(partial), "--keep-step"]
            print(
                f"{preset} seed {seed}: continuing the committed unfinished run at step {_steps_of(partial)} "
                "(fresh optimiser state)",
                flush=True,
            )
        started = time.time()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        rc = subprocess.call(cmd, cwd=ROOT, env=env)
        print(f"{preset} seed {seed}: exit {rc} after {(time.time() - started) / 3600:.2f} h", flush=True)
        if rc:
            raise SystemExit(rc)


@torch.no_grad()
def _check_bits(path: Path) -> float:
    """Negative ELBO (bits per dimension) of a checkpoint on :data:`CHECK_SEQUENCES` test clips, seeded."""
    from rfn import load, pixels
    from rfn.checkpoint import load_checkpoint
    from rfn.data import make_dataset

    model = load(path).eval()
    data = load_checkpoint(path)["data_config"]
    test = make_dataset(data["name"], split="test", seq_len=data["seq_len"], **data.get("kwargs", {}))
    x = torch.stack([test[i] for i in range(CHECK_SEQUENCES)])
    torch.manual_seed(CHECK_SEED)
    terms = model.elbo_terms(x)
    shape = (x.shape[1] - 1, *model.config.frame_shape)
    return float(pixels.bits_per_pixel(terms["nll"].double().sum(1) + terms["kl"].double().sum(1), shape).mean())


def export(args) -> None:
    from rfn.book.reference import export_reference
    from rfn.presets import get_preset

    torch.set_num_threads(1)
    for _, preset, seed in runs():
        if args.only and f"{preset}:{seed}" not in args.only:
            continue
        run = Path(args.runs) / f"{preset}-seed{seed}"
        step = _steps_of(run / "last.pt")
        if step is None:
            continue
        finished = step >= get_preset(preset).train["steps"]
        dst = (COMMITTED if finished else UNFINISHED) / f"{stem(preset, seed)}.pt"
        dst = export_reference(run, preset, seed=seed, dtype=torch.float16, dst=dst)
        check = {
            "step": step,
            "sequences": CHECK_SEQUENCES,
            "seed": CHECK_SEED,
            "fp32_bits": _check_bits(run / "last.pt"),
            "fp16_bits": _check_bits(dst),
        }
        dst.with_suffix(".export.json").write_text(json.dumps(check, indent=1) + "\n")
        if finished:
            for stale in UNFINISHED.glob(f"{dst.stem}.*"):
                stale.unlink()
        print(
            f"{'finished' if finished else 'unfinished'} {dst} (step {step}; test bits fp32 "
            f"{check['fp32_bits']:.5f}, fp16 {check['fp16_bits']:.5f})",
            flush=True,
        )


def _shipped(key: dict, result: dict) -> str:
    """A score file: the key exactly as computed, the result compact (floats to 6 significant digits)."""
    from rfn.pages.rgb import compact_json

    return '{"key":' + json.dumps(key, separators=(",", ":")) + ',"result":' + compact_json(result) + "}\n"


def score(args) -> None:
    from rfn.pages.rgb import BEST_SEEDS, PROTOCOL_BEST, score_key, score_run

    torch.set_num_threads(1)
    CACHE.mkdir(parents=True, exist_ok=True)
    for _, preset, seed in runs():
        path = COMMITTED / f"{stem(preset, seed)}.pt"
        if not path.is_file() or (args.only and f"{preset}:{seed}" not in args.only):
            continue
        out = CACHE / f"{path.stem}.score.json"
        wanted = score_key(path, best=seed in BEST_SEEDS)
        stored = json.loads(out.read_text()) if out.is_file() else {}
        if stored.get("key") == wanted:
            out.write_text(_shipped(wanted, stored["result"]))  # shipped compact (results to 6 digits)
            continue
        started = time.process_time()
        result = score_run(path, best=PROTOCOL_BEST if seed in BEST_SEEDS else None, fvd=not args.no_fvd, progress=True)
        result["cpu_s"] = time.process_time() - started
        out.write_text(_shipped(wanted, result))
        print(f"{out} ({result['cpu_s']:.0f} CPU s)", flush=True)


def floor(args) -> None:
    from rfn.pages.rgb import FLOOR_KEY, PROTOCOL_BITS, fvd_floor

    torch.set_num_threads(1)
    out = CACHE / "fvd_floor.json"
    key = FLOOR_KEY
    if out.is_file() and json.loads(out.read_text()).get("key") == key:
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    result = fvd_floor(PROTOCOL_BITS, key["data_kwargs"])
    out.write_text(json.dumps({"key": key, "result": result}) + "\n")
    print(f"{out}: real against real FVD {result['fvd']:.1f}", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("plan", "train", "export", "score"):
        s = sub.add_parser(name)
        s.add_argument("--runs", default=str(ROOT / "runs" / "rgb"), help="folder of the run folders")
        s.add_argument("--only", nargs="*", default=None, help="PRESET:SEED entries to restrict to")
        if name == "train":
            s.add_argument("--lane", default="0/1", help="K/N: every N-th run starting at K (default all)")
        if name == "score":
            s.add_argument("--no-fvd", action="store_true", help="skip FVD (it needs the I3D weights)")
    args = p.parse_args(argv)
    {"plan": plan, "train": train, "export": export, "score": score}[args.command](args)
    if args.command == "score" and not args.no_fvd:
        floor(args)


if __name__ == "__main__":
    main()

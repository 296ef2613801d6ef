"""Fault injection: interrupt one smoke training run many times at random moments, also twice in a row; it must end
exactly as an uninterrupted run.

    python benchmarks/fault_injection.py [--interruptions 20] [--doubles 10] [--seed 0] [--work DIR]

Trains the ``smoke`` preset (longer: ``--steps``, checkpoints every 4 steps, rows every 3 steps, so a
checkpoint often falls inside a row) once straight through, then again as a series of
``rfn train --resume`` processes, each sent SIGKILL, SIGTERM or SIGINT (chosen at random) after a random
delay, until at least ``--interruptions`` signals landed in a running process. Then ``--doubles`` pairs of
faults, one after the other, taking turns:

* ``damage+kill``: bytes of ``last.pt`` flipped (its digest no longer matches), then the process that resumes
  (from ``prev.pt``, setting the damaged file aside) is killed the moment it set it aside, before its next
  checkpoint; the next process finds no ``last.pt`` and continues from ``prev.pt`` again;
* ``delete+signal``: ``last.pt`` deleted, then the process that resumes from ``prev.pt`` gets a random signal;
* ``kill-in-write x2``: two processes in a row killed while they write a checkpoint (its temporary file exists:
  the write, the check of the file kept as ``prev.pt``, and the rotation).

After each process the newest checkpoint that verifies must not be older than before it (progress kept), and a
process that met a missing ``last.pt`` and reached its training loop must say which checkpoint it continued
from. Where a damage or deletion needs a ``last.pt`` and a ``prev.pt`` that are not there, a ``prepare``
process first runs until it wrote a checkpoint and is then stopped with SIGINT (a single fault too). A last,
undisturbed process finishes the run. Checks, printed at the end:

* the final ``last.pt`` equals the straight run's bitwise (model, optimiser, scheduler, step, random states);
* ``metrics.csv`` has the same rows, each step once, with the same numbers (``seq_per_s`` aside);
* every SIGINT/SIGTERM ended with exit status 130/143 and a checkpoint; no temporary file is left;
* no run printed a traceback.

Exit status 0 when every check passes. One torch thread per process, about 40 processes: 15-20 minutes on a busy
2-core machine (each process spends most of its time starting).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rfn.checkpoint import CheckpointError, load_checkpoint, load_run_checkpoint  # noqa: E402

COMPARED = ("model", "optimizer", "scheduler", "step", "rng", "nonfinite")


def command(out: Path, steps: int) -> list[str]:
    return [
        sys.executable, "-m", "rfn.cli", "train", "--preset", "smoke", "--out", str(out), "--resume",
        "--set", f"train.steps={steps}", "train.ckpt_every=4", "train.log_every=3", "train.val_every=30",
    ]  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seq_per_s"} for r in csv.DictReader(f)]


def equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b


def default_signals() -> None:
    """In the child before exec: SIGINT and SIGTERM as a terminal would deliver them. A benchmark started in the
    background (``nohup ... &``) has SIGINT ignored, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def newest_step(out: Path) -> int:
    """Step of the newest checkpoint in ``out`` that verifies (0 if none): what a resume continues from."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return int(load_run_checkpoint(out)[0]["step"])
    except (FileNotFoundError, CheckpointError):
        return 0


def damage(path: Path) -> None:
    """Flip 64 bytes inside the largest tensor of a checkpoint (the digest check catches it)."""
    data = bytearray(path.read_bytes())
    big = max(load_checkpoint(path)["model"].values(), key=lambda t: t.numel())
    at = bytes(data).find(big.contiguous().numpy().tobytes()[:32])
    if at < 0:
        raise RuntimeError(f"cannot find the tensor bytes in {path}")
    data[at : at + 64] = bytes(b ^ 0xFF for b in data[at : at + 64])
    path.write_bytes(bytes(data))


def resumed_since(out: Path, start: float, extra: float):
    """A condition: ``extra`` seconds have passed since a process started at ``start`` rewrote ``metrics.csv``."""
    seen: list[float] = []

    def ready() -> bool:
        path = out / "metrics.csv"
        if not seen and path.exists() and path.stat().st_mtime > start:
            seen.append(time.time())
        return bool(seen) and time.time() > seen[0] + extra

    return ready


def checkpointed_since(out: Path, start: float):
    """A condition: ``last.pt`` was written after ``start``."""
    last = out / "last.pt"
    return lambda: last.exists() and last.stat().st_mtime > start


def signal_when(proc: subprocess.Popen, sig: int, ready, timeout: float = 300.0) -> bool:
    """Send ``sig`` as soon as ``ready()`` holds (polled every millisecond); False if the process ended first."""
    t0 = time.perf_counter()
    while proc.poll() is None and time.perf_counter() - t0 < timeout:
        if ready():
            proc.send_signal(sig)
            return True
        time.sleep(0.001)
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interruptions", type=int, default=20, help="single faults (signals that land)")
    ap.add_argument("--doubles", type=int, default=10, help="pairs of faults in a row")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=None, help="folder for the two runs (default: a temporary one)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(args.work or tempfile.mkdtemp(prefix="rfn-faults-"))
    shutil.rmtree(work / "straight", ignore_errors=True)
    shutil.rmtree(work / "interrupted", ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import rfn.cli"], env=env, check=True)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command(work / "straight", args.steps),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    while proc.poll() is None and not (work / "straight" / "metrics.csv").exists():
        time.sleep(0.02)
    t_first = time.perf_counter() - t0
    _, err = proc.communicate()
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        print(err)
        return 1
    # signals land after the interpreter started: a third while the run sets up, the rest in the training loop
    # (checkpoint writes included), each such process advancing the run by about 1/interruptions of its length
    setup = (t_import + 0.3, t_first)
    faults = args.interruptions + 2 * args.doubles
    train = (max(t_first - 0.5, setup[0]), t_first + 1.5 * (took - t_first) / faults)
    print(
        f"straight run: {args.steps} steps in {took:.1f} s (first row after {t_first:.1f} s; importing rfn "
        f"{t_import:.1f} s); signals after {setup[0]:.1f}..{setup[1]:.1f} s or {train[0]:.1f}..{train[1]:.1f} s"
    )

    out = work / "interrupted"
    landed: Counter = Counter()
    doubles: Counter = Counter()
    statuses: Counter = Counter()
    problems: list[str] = []
    attempt = 0
    kinds = ("damage+kill", "delete+signal", "kill-in-write x2")
    plan: list[tuple[str, int]] = []  # (double-fault kind, part 1 or 2) of the processes still to run
    while True:
        attempt += 1
        kind, part = ("", 0)
        if sum(landed.values()) >= args.interruptions and not plan and sum(doubles.values()) < args.doubles:
            kind = kinds[sum(doubles.values()) % len(kinds)]
            plan = [(kind, 1), (kind, 2)] if kind == "kill-in-write x2" else [(kind, 2)]
            if kind != "kill-in-write x2" and not ((out / "prev.pt").exists() and (out / "last.pt").exists()):
                plan.insert(0, ("prepare", 0))  # the first fault needs a last.pt and a prev.pt to fall back to
        if plan:
            kind, part = plan.pop(0)
            if kind == "damage+kill":
                damage(out / "last.pt")
            elif kind == "delete+signal":
                (out / "last.pt").unlink()
        before = newest_step(out)  # after a first fault that damaged or deleted last.pt
        # a process that starts without last.pt (deleted, or set aside by the one before) and is signalled once it
        # trains must have said which checkpoint it continued from; damage+kill's is killed right at the set-aside
        met_bad_last = kind in ("delete+signal", "prepare") and not (out / "last.pt").exists()
        proc = subprocess.Popen(
            command(out, args.steps),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_signals,
        )
        finish = sum(landed.values()) >= args.interruptions and sum(doubles.values()) >= args.doubles and not kind
        sig = None
        hit = True
        if kind == "damage+kill":
            # killed once the damaged file is set aside and before the next checkpoint recreates last.pt
            sig = signal.SIGKILL
            hit = signal_when(proc, sig, lambda: (out / "last.pt.damaged").exists() and not (out / "last.pt").exists())
        elif kind == "kill-in-write x2":
            sig = signal.SIGKILL
            hit = signal_when(proc, sig, lambda: any(out.glob(".last.pt.tmp-*")))
        elif kind == "delete+signal":
            # a random signal at a random moment after the process resumed (it rewrites metrics.csv then)
            sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
            hit = signal_when(proc, sig, resumed_since(out, time.time(), rng.uniform(0, train[1] - train[0])))
        elif kind == "prepare":
            # SIGINT once the process wrote a checkpoint: it stops after its next, so last.pt and prev.pt exist
            sig = signal.SIGINT
            hit = signal_when(proc, sig, checkpointed_since(out, time.time()))
        elif not finish:
            sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
            if rng.random() < 1 / 3:  # at a random moment from the start (setup, or the first steps)
                try:
                    proc.wait(timeout=rng.uniform(*setup))
                except subprocess.TimeoutExpired:
                    proc.send_signal(sig)
            else:  # at a random moment of the training loop, however long this process took to set up
                hit = signal_when(proc, sig, resumed_since(out, time.time(), rng.uniform(0, train[1] - train[0])))
        _, stderr = proc.communicate(timeout=600)
        code = proc.returncode
        after = newest_step(out)
        # a signal that came after the last step met a process that had finished its work: not an interruption
        done = after >= args.steps
        name = "none" if sig is None or code == 0 or done or not hit else signal.Signals(sig).name
        if name != "none" and before < args.steps and kind in ("", "prepare"):
            landed[name] += 1
        if kind and part == 2 and name != "none":
            doubles[kind] += 1
        statuses[(name, code)] += 1
        tag = f"{kind} {part}/2" if part else (kind or "single")
        print(f"  run {attempt:2d}: {tag:18s} {name:7s} exit {code:4d}  checkpoint step {before:3d} -> {after:3d}")
        if after < before:
            problems.append(f"run {attempt} ({tag}): progress lost, newest checkpoint from step {before} to {after}")
        if met_bad_last and "continuing from the newest checkpoint that verifies" not in stderr:
            problems.append(f"run {attempt} ({tag}) did not say which checkpoint it continued from:\n{stderr}")
        if kind == "damage+kill" and not ((out / "last.pt.damaged").exists() and not (out / "last.pt").exists()):
            problems.append(f"run {attempt} ({tag}) did not set the damaged last.pt aside")
        if "Traceback" in stderr and not done:
            problems.append(f"run {attempt} printed a traceback:\n{stderr}")
        # 130/143: stopped by rfn; -15: SIGTERM before training started (the default action, nothing written yet)
        expected = {"SIGINT": (130,), "SIGTERM": (143, -15), "SIGKILL": (-9,), "none": (0,)}[name]
        if code not in expected and not done:
            problems.append(f"run {attempt}: {name} ended with exit {code}, expected {expected}: {stderr.strip()}")
        if finish:  # the last process ran undisturbed and had to finish the run
            if code != 0 or after != args.steps:
                problems.append(f"the last, undisturbed process ended with exit {code} at step {after}")
            break
        if done:
            problems.append(f"the run finished after only {sum(landed.values())} single and "
                            f"{sum(doubles.values())} double faults; raise --steps")  # fmt: skip
            break
        if attempt > 20 * faults:
            problems.append("the interrupted run never finished")
            break

    a, b = load_checkpoint(work / "straight" / "last.pt"), load_checkpoint(out / "last.pt")
    diff = [k for k in COMPARED if not equal(a.get(k), b.get(k))]
    ra, rb = rows(work / "straight" / "metrics.csv"), rows(out / "metrics.csv")
    steps_b = [r["step"] for r in rb]
    dup = sorted({s for s in steps_b if steps_b.count(s) > 1})
    leftovers = [p.name for p in out.iterdir() if ".tmp" in p.name]
    print(
        f"\n{sum(landed.values())} single faults landed ({', '.join(f'{k} {v}' for k, v in sorted(landed.items()))}), "
        f"{sum(doubles.values())} double faults ({', '.join(f'{k} {v}' for k, v in sorted(doubles.items()))}) "
        f"in {attempt} processes; exit statuses: "
        + ", ".join(f"{k[0]}->{k[1]} x{v}" for k, v in sorted(statuses.items(), key=str))
    )
    print(f"final checkpoint bitwise equal to the straight run: {not diff}" + (f" (differs: {diff})" if diff else ""))
    print(
        f"metrics.csv: {len(rb)} rows vs {len(ra)} straight; identical (seq_per_s aside): {ra == rb}; "
        f"duplicated steps: {dup or 'none'}"
    )
    print(f"temporary files left: {leftovers or 'none'}")
    if diff or ra != rb or dup or leftovers:
        problems.append("the interrupted run differs from the straight one")
    for p in problems:
        print("PROBLEM:", p)
    print("PASS" if not problems else "FAIL")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

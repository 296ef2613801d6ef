"""Training and sampling speed of the recurrent video models: the reference path against the fast path.

    python benchmarks/throughput.py --device cpu --preset quick-smmnist --batch 12 --threads 1
    python benchmarks/throughput.py --device cpu --preset quick-smmnist-srnn --batch 12 --threads 1
    python benchmarks/throughput.py --device cpu --preset quick-smmnist-srnn --against /tmp/rfn-before
    python benchmarks/throughput.py --json out.json           # CUDA: thesis BAIR configuration, batch 35

Paths (two copies of one model, same weights):

(a) reference: ``model.use_reference_path()``: fp32, eager, contiguous tensors, the emission
    evaluated frame by frame inside the time loop (what the thesis code does), every
    normalisation run layer by layer, ``predict`` warming every sample up on its own and
    rebuilding the flow's inverse weights per frame; ``torch.optim.Adam`` as it comes.
(b) fast: the model's defaults (emission on all ``B * (T-1)`` frames, normalisations folded
    into convolutions, shared warm-up and cached flow inverse in ``predict``) plus
    channels-last tensors and fused Adam (``--no-channels-last``, ``--no-fused-adam`` to
    drop them); bfloat16 autocast where the device computes it natively (CUDA; CPUs with
    AVX512-BF16 or AMX, ``rfn.runtime.bf16_native``; ``--no-bf16`` to drop it) and, with
    ``--compile``, ``torch.compile``.
(c) loaded (sampling only): the model as users get it, written to a checkpoint and read back
    with ``rfn.load`` (its default layout, channels-last; float32; eval mode): what ``rfn
    sample``, ``rfn evaluate`` and the book's pages sample with. Timed beside (a) and (b) at every
    ``--user-samples`` count (default 5 futures per sequence, the evaluation's, and 1, ``rfn
    sample``'s default); its frames are compared with the reference path's like (b)'s.

How it measures, so that machine load cannot read as a speed difference: after warm-up the
two paths alternate (A, B, A, B, ...) in one process for ``--rounds`` rounds; every step's
wall time and process CPU time are kept, and the medians, their spread (min-max) and the
fast/reference ratio of the medians are printed. Sampling draws ``--samples`` futures of
``--future`` frames after ``--context`` frames for every sequence of the batch, alternating
the same way. Peak memory is measured per path in a fresh process each (``--only``),
from after one warm-up step (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``; CUDA's
allocator peak): a shared process would report the larger path's peak for both.

Equality checks (on the weights before training, the flow's zero-initialised output layers
given small weights so that frames depend on the condition): bits per pixel of one batch
through both paths with the same dequantisation noise in eval mode (relative difference
must stay under 1e-5 with the fast path in float32, and under 1e-3 with its bfloat16
autocast, reported on its own), and samples from the same seed through both paths: both
draw the same random numbers in the same order, so in float32 frames agree up to float
rounding (a pixel whose value sits on a bin edge can move one level and then feed back);
bfloat16 rounds every convolution to about 3 significant digits, so its frames differ by a
level or two in many pixels. The fraction of equal pixels and the mean difference are printed.
``--against DIR`` instead times the fast path of this checkout against the checkout in
``DIR`` (say ``git archive <commit> | tar -x -C DIR``) as its trainer ran it on the CPU
(default model path, contiguous tensors, plain Adam, float32), alternating fresh processes.
``--json`` writes everything with the machine, load and command; add the runs that matter
to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch


def bf16_native(device: torch.device) -> bool:
    """:func:`rfn.runtime.bf16_native`; False in the older checkouts ``--against`` runs (they lack it)."""
    try:
        from rfn.runtime import bf16_native as native
    except ImportError:
        return False
    return native(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(device: torch.device) -> None:
    """Start a new peak: CUDA's allocator statistics, or Linux's resident-set high-water mark."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def current_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / 2**20
    return _status_mib("VmRSS")


def peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = _status_mib("VmHWM")
    return peak if peak == peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def make_batch(cfg, batch: int, frames: int, device, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (batch, frames, cfg.channels, *cfg.image_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g).to(device)


# ---------------------------------------------------------------------------- the two paths
class Path:
    """One model copy set up as the reference or the fast path, with its optimiser."""

    def __init__(self, name: str, model, x, args, device):
        self.name, self.x, self.args, self.device = name, x, args, device
        self.model, self.samples = model, args.samples
        fast = name == "fast"
        if hasattr(model, "use_reference_path"):  # absent in checkouts older than the switch
            model.use_reference_path(not fast)
        else:
            model.time_batched_emission = fast
        self.channels_last = fast and not args.no_channels_last
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.bf16 = fast and not args.no_bf16 and bf16_native(device)
        fused = fast and not args.no_fused_adam
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-5, fused=fused or None)
        self.loss_fn = torch.compile(model.loss) if (fast and args.compile) else model.loss

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def train_step(self) -> None:
        self.model.train()
        with self.autocast():
            out = self.loss_fn(self.x, 1.0)
        self.opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        self.opt.step()

    @torch.no_grad()
    def sample(self, seed: int = 0) -> torch.Tensor:
        self.model.eval()
        torch.manual_seed(seed)
        with self.autocast():
            return self.model.predict(self.x[:, : self.args.context], self.args.future, self.samples)

    @torch.no_grad()
    def bpp(self) -> float:
        self.model.eval()
        torch.manual_seed(123)
        with self.autocast():
            return float(self.model.loss(self.x)["bpp"])


class Loaded(Path):
    """The model as users get it: written to a checkpoint and read back with ``rfn.load`` (its default
    layout, float32, eval mode), as ``rfn sample``, ``rfn evaluate`` and the book's pages sample it."""

    def __init__(self, model, x, args, device, preset_model: str):
        import rfn
        from rfn.checkpoint import save_checkpoint

        self.name, self.x, self.args, self.device = "loaded", x, args, device
        self.samples, self.bf16 = args.samples, False
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "last.pt")
            config = dataclasses.asdict(model.config)
            save_checkpoint(path, {"model_name": preset_model, "model_config": config, "model": model.state_dict()})
            self.model = rfn.load(path, device=device)


def timed(fn, device) -> tuple[float, float]:
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def interleave(paths: list[Path], what: str, rounds: int, warmup: int, device) -> dict:
    """Alternate the paths ``rounds`` times after ``warmup`` calls each; wall and CPU seconds per call."""
    fns = {p.name: (p.train_step if what == "train" else p.sample) for p in paths}
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            wall, cpu = timed(fn, device)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


# ---------------------------------------------------------------------------- setting up
def build_model(args, device):
    from rfn.models.registry import build
    from rfn.presets import apply_overrides, get_preset

    preset = apply_overrides(get_preset(args.preset), [f"model.{item}" for item in args.set])
    torch.manual_seed(0)
    model = build(preset.model, preset.model_config).to(device)
    x = make_batch(model.config, args.batch, args.frames, device)
    with torch.no_grad():
        model.loss(x)  # data-dependent initialisation
        g = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():  # wake the flow's zero-initialised output layers
            if name.startswith("flow.") and ".out." in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=g).to(p))
    return preset, model, x


def only(args, device) -> dict:
    """One path in this (fresh) process: peak memory of its training steps, or of its sampling."""
    _, model, x = build_model(args, device)
    path = Path(args.only, model, x, args, device)
    fn = path.train_step if args.phase == "train" else path.sample
    fn()  # warm-up (allocator, oneDNN primitives)
    base = current_mib(device)
    reset_peak(device)  # the peak of the timed steps alone, not of building and initialising the model
    times = []
    for _ in range(args.steps):
        times.append(timed(fn, device))
    return {
        "path": args.only,
        "phase": args.phase,
        "peak_mib": peak_mib(device),
        "before_mib": base,
        "wall": [t[0] for t in times],
        "cpu": [t[1] for t in times],
    }


def run_child(argv: list[str], src: str | None = None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cwd = src or None
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *argv], capture_output=True, text=True, env=env, cwd=cwd
    )
    if out.returncode:
        raise SystemExit(f"child {' '.join(argv)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_argv(args, **extra) -> list[str]:
    argv = ["--device", args.device, "--preset", args.preset, "--batch", str(args.batch), "--frames", str(args.frames)]
    argv += ["--context", str(args.context), "--future", str(args.future), "--samples", str(args.samples)]
    for item in args.set:
        argv += ["--set", item]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    for flag in ("no_channels_last", "no_fused_adam", "no_bf16"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    for key, value in extra.items():
        argv += [f"--{key}", str(value)]
    return argv


def against(args) -> dict:
    """This checkout's fast path against the checkout in ``args.against`` as its trainer ran it on the CPU
    (its default model path, contiguous tensors, plain Adam), alternating fresh processes (``--rounds``
    each), ``--steps`` timed training steps per process. With ``--compile`` a third process per round
    runs this checkout's fast path with its loss compiled (``train.compile``; the compilation happens
    in the untimed warm-up step), so eager and compiled are compared in the same sitting."""
    runs = {"before": [], "after": []}
    if args.compile:
        runs["compiled"] = []
    old_defaults = ["--no-channels-last", "--no-fused-adam", "--no-bf16"]
    fast = child_argv(args, only="fast", phase="train", steps=args.steps)
    for _ in range(args.rounds):
        runs["before"].append(run_child([*fast, *old_defaults], args.against))
        runs["after"].append(run_child(fast))
        if args.compile:
            runs["compiled"].append(run_child([*fast, "--compile"]))
    out = {}
    for name, rs in runs.items():
        out[name] = {k: summary([statistics.median(r[k]) for r in rs]) for k in ("wall", "cpu")}
        out[name]["peak_mib"] = max(r["peak_mib"] for r in rs)
    print(f"training step, {args.rounds} alternating processes x {args.steps} steps, median of per-process medians:")
    for name, r in out.items():
        print(
            f"  {name:8s} wall {1e3 * r['wall']['median']:7.1f} ms [{1e3 * r['wall']['min']:.1f}-"
            f"{1e3 * r['wall']['max']:.1f}]  cpu {1e3 * r['cpu']['median']:7.1f} ms  peak {r['peak_mib']:.0f} MiB"
        )
    for name in [n for n in out if n != "before"]:
        for k in ("wall", "cpu"):
            print(f"  speed-up {name}/before ({k}): x{out['before'][k]['median'] / out[name][k]['median']:.2f}")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cuda = torch.cuda.is_available()
    ap.add_argument("--device", default="cuda" if cuda else "cpu")
    ap.add_argument(
        "--preset", default=None, help="model from this preset (default: thesis-bair on CUDA, quick-smmnist on the CPU)"
    )
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model config override")
    ap.add_argument("--batch", type=int, default=None, help="sequences per step (default 35 CUDA, 12 CPU)")
    ap.add_argument("--frames", type=int, default=8, help="frames per training sequence")
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--future", type=int, default=10)
    ap.add_argument("--samples", type=int, default=5, help="futures per sequence when sampling")
    ap.add_argument(
        "--user-samples",
        type=int,
        nargs="*",
        default=[5, 1],
        help="futures per sequence of the sampling runs that add the loaded model (rfn.load) beside the other two "
        "paths (default 5 and 1, the evaluation's and `rfn sample`'s; none to skip)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="alternations of the two paths (default 10 CPU, 20 CUDA)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per fresh process (peak memory, --against)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--no-channels-last", action="store_true")
    ap.add_argument("--no-fused-adam", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="skip the per-path peak-memory processes")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--against", default=None, metavar="DIR", help="compare with the checkout in DIR (see above)")
    ap.add_argument("--only", choices=("reference", "fast"), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=("train", "sample"), default="train", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    on_gpu = device.type == "cuda"
    args.preset = args.preset or ("thesis-bair" if on_gpu else "quick-smmnist")
    args.batch = args.batch or (35 if on_gpu else 12)
    args.rounds = args.rounds or (20 if on_gpu else 10)
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if args.only:
        print(json.dumps(only(args, device)))
        return {}
    name = torch.cuda.get_device_name(device) if on_gpu else (platform.processor() or platform.machine())
    meta = {
        "device": str(device),
        "device_name": name,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "args": vars(args),
    }
    if args.against:
        out = {"meta": meta, "against": against(args)}
        meta["load_after"] = os.getloadavg()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
        return out

    preset, model, x = build_model(args, device)
    paths = [Path(n, copy.deepcopy(model), x, args, device) for n in ("reference", "fast")]
    ref, fast = paths
    loaded = Loaded(model, x, args, device, preset.model) if args.user_samples else None
    params = sum(p.numel() for p in model.parameters())
    print(
        f"{preset.model.upper()} from preset {args.preset}: {params / 1e6:.2f} M parameters, "
        f"{model.config.channels}x{model.config.image_size[0]}x{model.config.image_size[1]}, {args.frames} frames, "
        f"batch {args.batch}; {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"load {meta['load_before'][0]:.1f}"
    )

    def compare(tag: str) -> dict:
        bpp = {p.name: p.bpp() for p in paths}
        rel = abs(bpp["fast"] - bpp["reference"]) / abs(bpp["reference"])
        s_ref, s_fast = ref.sample(seed=7), fast.sample(seed=7)
        same = (s_ref == s_fast).double().mean().item()
        max_diff = (s_ref.int() - s_fast.int()).abs().max().item()
        mean_diff = (s_ref.float() - s_fast.float()).abs().mean().item()
        print(
            f"{tag}: same batch and noise, eval mode: bpp reference {bpp['reference']:.6f}, "
            f"fast {bpp['fast']:.6f} (rel. {rel:.1e}); samples from one seed: {100 * same:.4f}% of pixels "
            f"equal, mean difference {mean_diff:.3f} levels, largest {max_diff}"
        )
        out = {"bpp": bpp, "rel": rel, "samples_equal_fraction": same, "samples_max_diff": max_diff,
               "samples_mean_diff": mean_diff}  # fmt: skip
        if loaded is not None and not fast.bf16:
            s_user = loaded.sample(seed=7)
            out["loaded_equal_fraction"] = (s_ref == s_user).double().mean().item()
            out["loaded_max_diff"] = (s_ref.int() - s_user.int()).abs().max().item()
            print(
                f"  the loaded model (rfn.load, float32): {100 * out['loaded_equal_fraction']:.4f}% of pixels equal "
                f"to the reference path's, largest difference {out['loaded_max_diff']}"
            )
        return out

    bf16 = fast.bf16
    fast.bf16 = False  # exactness of the code paths, in float32
    check = {"fp32": compare("fast path in float32")}
    fast.bf16 = bf16
    if bf16:  # and what bfloat16 changes
        check["bf16"] = compare("fast path with bfloat16 autocast")

    results = {}
    for what in ("train", "sample"):
        times = interleave(paths, what, args.rounds, args.warmup, device)
        results[what] = {n: {k: summary(v) for k, v in t.items()} for n, t in times.items()}
    for n_samples in args.user_samples if loaded is not None else ():
        trio = [ref, fast, loaded]  # the plain code, the trainer's settings, the user's model
        for p in trio:
            p.samples = n_samples
        times = interleave(trio, "sample", args.rounds, args.warmup, device)
        results[f"sample{n_samples}"] = {n: {k: summary(v) for k, v in t.items()} for n, t in times.items()}
        for p in trio:
            p.samples = args.samples
    if not args.no_memory:
        for what in ("train", "sample"):
            for n in ("reference", "fast"):
                child = run_child(child_argv(args, only=n, phase=what, steps=args.steps))
                results[what][n]["peak_mib"] = child["peak_mib"]
                results[what][n]["before_mib"] = child["before_mib"]
    meta["load_after"] = os.getloadavg()

    units = {"train": (args.batch, "seq/s"), "sample": (args.batch * args.samples * args.future, "frames/s")}
    units.update({f"sample{s}": (args.batch * s * args.future, "frames/s") for s in args.user_samples})
    titles = {f"sample{s}": f"sampling, {s} per sequence, beside the loaded model" for s in args.user_samples}
    for what, res in results.items():
        per, unit = units[what]
        print(f"{titles.get(what, what)}: median [min-max] over {args.rounds} alternating rounds")
        for n, r in res.items():
            w, c = r["wall"], r["cpu"]
            mem = f"  peak {r['peak_mib']:.0f} MiB (+{r['peak_mib'] - r['before_mib']:.0f})" if "peak_mib" in r else ""
            print(
                f"  {n:9s} wall {1e3 * w['median']:8.1f} ms [{1e3 * w['min']:.1f}-{1e3 * w['max']:.1f}]  "
                f"cpu {1e3 * c['median']:8.1f} ms  {per / w['median']:8.1f} {unit}{mem}"
            )
        for n in [n for n in list(res) if n != "reference"]:
            for k in ("wall", "cpu"):
                ratio = res[n][k]["median"] / res["reference"][k]["median"]
                res[f"ratio_{k}" if n == "fast" else f"ratio_{n}_{k}"] = ratio
                print(f"  {n} / reference ({k} time): {ratio:.3f}")
    print(f"load average before {meta['load_before'][0]:.1f}, after {meta['load_after'][0]:.1f}")
    ok = check["fp32"]["rel"] < 1e-5 and ("bf16" not in check or check["bf16"]["rel"] < 1e-3)
    print("bpp check:", "ok" if ok else "FAILED (float32 paths differ by more than 1e-5 relative, or bf16 by 1e-3)")
    out = {"meta": meta, "parameters": params, "bf16": bf16, "equality": check, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    if not ok:
        raise SystemExit(1)
    return out


if __name__ == "__main__":
    main()

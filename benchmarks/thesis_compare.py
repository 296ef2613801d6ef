"""This project's RFN against the thesis authors' code, at the same network, interleaved in one process.

    git clone https://github.com/cdglissov/recurrent-flows-msc /tmp/thesis-code   # once
    OMP_NUM_THREADS=1 nice -n -5 python benchmarks/thesis_compare.py /tmp/thesis-code --rounds 15

The thesis code is imported from the checkout given by path and used as published: its
``RFN/RFN_new.py`` (the model its trainer builds) with its ``Flow`` and ``Utils``. It is
configured to the ``quick-smmnist`` network (32x32x1 frames, L=3 levels of K=3 flow steps,
32-channel couplings and base network, h and a 32, z 3, extractor 8/16/32 with max-pooling,
skips into the conditioning network, the Glow clamp, ActNorm, LU 1x1 convolutions, batch 12
of 8 frames). Nothing of it is copied here: where it hard-codes ``.cuda()`` (buffers of its
loss and ``predict``) this script makes ``Tensor.cuda`` return the tensor unchanged while the
thesis code runs on a machine without CUDA, and where it calls functions that later torch
releases removed (``torch.qr``, ``torch.lu``) it gets their ``torch.linalg`` equivalents.

What is compared, each pair alternating (thesis, project, thesis, project, ...) after
``--warmup`` calls of each:

* training step: the thesis trainer's step (``loss(x, 0)``, ``nll + beta * kl``, ``backward``,
  plain Adam) against the step ``rfn train`` takes with the preset's settings (channels-last
  model, fused Adam, gradient clipping, the non-finite guard; ``rfn.training.trainer``);
* sampling: ``predict(x, 10, 3)`` of the thesis code on the context repeated ``S`` times (it
  draws one future per row) against ``model.predict(context, 10, S)`` of the model as
  ``rfn.load`` returns it from a checkpoint (what ``rfn sample`` and ``rfn evaluate`` run),
  for every ``S`` of ``--samples`` (``rfn sample``'s default is 1, the evaluation protocols 5+).

CPU time of the process is measured per call (one torch thread: run with
``OMP_NUM_THREADS=1``), and wall time beside it. Printed per comparison: both medians with
their [min-max], the ratio of the medians (project / thesis, lower is faster) and the spread of
the per-round ratios; ``--contiguous-too`` adds the model loaded contiguous (``contig``) to the
sampling rounds. ``--json`` keeps everything with the machine, load and command.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- the thesis code
@contextlib.contextmanager
def thesis_on_this_machine():
    """Run the thesis code as published on a CPU: ``.cuda()`` becomes a no-op without CUDA, and
    ``torch.qr`` / ``torch.lu`` (removed in later torch releases) point at ``torch.linalg``."""
    saved = {"cuda": torch.Tensor.cuda, "qr": getattr(torch, "qr", None), "lu": getattr(torch, "lu", None)}
    quiet = warnings.catch_warnings()
    quiet.__enter__()
    warnings.filterwarnings("ignore", message=r"torch\.(lu|qr) is deprecated")
    if not torch.cuda.is_available():
        torch.Tensor.cuda = lambda self, *args, **kwargs: self
    if saved["qr"] is None:
        torch.qr = lambda a: torch.linalg.qr(a)
    if saved["lu"] is None:
        torch.lu = lambda a: torch.linalg.lu_factor(a)
    try:
        yield
    finally:
        torch.Tensor.cuda = saved["cuda"]
        quiet.__exit__(None, None, None)
        for name in ("qr", "lu"):
            if saved[name] is None:
                delattr(torch, name)


def thesis_args(batch: int) -> SimpleNamespace:
    """The thesis's ``main_rfn.py`` arguments set to the quick-smmnist network."""
    return SimpleNamespace(
        batch_size=batch, x_dim=[batch, 1, 32, 32], condition_dim=[batch, 1, 32, 32], h_dim=32, z_dim=3, a_dim=32,
        L=3, K=3, structure_scaler=2, norm_type="batchnorm", norm_type_features="batchnorm", temperature=1.0,
        extractor_structure=[[8, 8, "pool"], [16, 16, "pool"], [32, 32, "pool"]],
        upscaler_structure=[[32, 32], ["upsample", 16, 16], ["upsample", 8, 8]],
        prior_structure=[32], encoder_structure=[32], free_bits=-1.0, skip_connection_flow="without_skip",
        skip_connection_features=True, downscaler_tanh=False, upscaler_tanh=False, enable_smoothing=True,
        res_q=False, D=0, overshot_w=1.0, learn_prior=True, LU_decomposed=True, n_units_affine=32,
        non_lin_glow="relu", n_units_prior=32, make_conditional=True, flow_norm="actnorm", base_norm="actnorm",
        flow_batchnorm_momentum=0.0, clamp_type="glow", split2d_act="softplus", n_bits=8,
    )  # fmt: skip


def import_thesis(checkout: Path):
    if not (checkout / "RFN" / "RFN_new.py").is_file():
        raise SystemExit(f"{checkout} is not a checkout of cdglissov/recurrent-flows-msc (no RFN/RFN_new.py in it)")
    sys.path.insert(0, str(checkout))
    with thesis_on_this_machine():
        from RFN.RFN_new import RFN as ThesisRFN
    return ThesisRFN


def thesis_preprocess(x: torch.Tensor) -> torch.Tensor:
    """The thesis trainer's ``preprocess`` of a loader batch in [0, 1] (``x * 255 / 256 - 0.5``)."""
    return (x.float() / 255.0) * 255 / 256 - 0.5


class Thesis:
    """The thesis's RFN: one instance per batch size (its initial states are parameters of that size)."""

    def __init__(self, cls, x: torch.Tensor, rows: int):
        with thesis_on_this_machine():
            torch.manual_seed(0)
            self.model = cls(thesis_args(rows))
            self.x = thesis_preprocess(x if rows == len(x) else x.repeat_interleave(rows // len(x), dim=0))
            self.model.train()
            self.model.loss(self.x, 0)  # the data-dependent ActNorm initialisation
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-5)

    def train_step(self) -> None:
        self.model.train()
        with thesis_on_this_machine():
            kl_free_bit, _, nll = self.model.loss(self.x, 0)
            loss = nll + 1.0 * kl_free_bit
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    def sample(self, context: int, future: int) -> None:
        self.model.eval()
        with thesis_on_this_machine(), torch.no_grad():
            self.model.predict(self.x, future, context)


# ----------------------------------------------------------------------------- this project
class Project:
    """The quick-smmnist RFN as ``rfn train`` trains it and as ``rfn.load`` returns it."""

    def __init__(self, x: torch.Tensor, preset_name: str, load_kwargs: dict):
        from rfn.checkpoint import save_checkpoint
        from rfn.models.registry import build
        from rfn.presets import get_preset

        preset = get_preset(preset_name)
        self.train_cfg = preset.train_config()
        torch.manual_seed(0)
        model = build(preset.model, preset.model_config)
        model.train()
        with torch.no_grad():
            model.loss(x)  # the data-dependent ActNorm initialisation
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "last.pt"
            config = dataclasses.asdict(model.config)
            save_checkpoint(path, {"model_name": preset.model, "model_config": config, "model": model.state_dict()})
            self.loaded = self._load(path, load_kwargs)
            self.contiguous = self._load(path, {"layout": "contiguous"})
        if self.train_cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model, self.x = model, x
        from rfn.training.optim import make_adam

        self.opt, self.fused = make_adam(model, 1e-5)
        self.params = [p for p in model.parameters() if p.requires_grad]

    @staticmethod
    def _load(path: Path, load_kwargs: dict):
        import rfn

        return rfn.load(path, **load_kwargs)

    def train_step(self) -> None:
        """What ``Trainer._step`` does with the quick preset (one micro-batch, no autocast on a CPU)."""
        self.model.train()
        out = self.model.loss(self.x, 1.0)
        out["loss"].backward()
        clip = self.train_cfg.grad_clip
        if clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.params, clip, foreach=True)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in self.params if p.grad is not None], foreach=True)
        bad = (~(torch.isfinite(out["loss"].detach()) & torch.isfinite(norm))).float()
        if self.fused:
            self.opt.found_inf = bad
            self.opt.step()
            del self.opt.found_inf
        elif not bool(bad):
            self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def sample(self, context: int, future: int, samples: int, model=None) -> None:
        torch.manual_seed(0)
        (model or self.loaded).predict(self.x[:, :context], n_future=future, n_samples=samples)


# ----------------------------------------------------------------------------- measuring
def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleave(fns: dict, rounds: int, warmup: int) -> dict:
    """Alternate the calls in ``fns`` (``"thesis"`` first) ``rounds`` times after ``warmup`` calls each;
    per name and clock the median and [min-max], and each other name's ratio to the thesis code's."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            wall, cpu = timed(fn)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    out = {}
    for k in ("cpu", "wall"):
        t = times["thesis"][k]
        out[k] = {
            name: {"median": statistics.median(v[k]), "min": min(v[k]), "max": max(v[k])} for name, v in times.items()
        }
        for name in [n for n in fns if n != "thesis"]:
            p = times[name][k]
            per_round = [b / a for a, b in zip(t, p)]
            out[k][name]["ratio"] = statistics.median(p) / statistics.median(t)
            out[k][name]["round_ratio"] = {
                "median": statistics.median(per_round), "min": min(per_round), "max": max(per_round)
            }  # fmt: skip
    return out


def report(title: str, res: dict) -> None:
    print(title)
    for k in ("cpu", "wall"):
        t = res[k]["thesis"]
        print(f"  {k:4s} thesis   {1e3 * t['median']:7.1f} ms [{1e3 * t['min']:.1f}-{1e3 * t['max']:.1f}]")
        for name, p in res[k].items():
            if name == "thesis":
                continue
            q = p["round_ratio"]
            print(
                f"       {name:8s} {1e3 * p['median']:7.1f} ms [{1e3 * p['min']:.1f}-{1e3 * p['max']:.1f}]  "
                f"{name}/thesis {p['ratio']:.3f} (per round {q['median']:.3f} [{q['min']:.3f}-{q['max']:.3f}])"
            )


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout", type=Path, help="a checkout of github.com/cdglissov/recurrent-flows-msc")
    ap.add_argument("--preset", default="quick-smmnist", help="this project's preset the thesis code is set up like")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--future", type=int, default=10)
    ap.add_argument("--samples", type=int, nargs="+", default=[5, 1], help="futures per sequence when sampling")
    ap.add_argument("--only", choices=("train", "sample"), default=None)
    ap.add_argument("--load-option", action="append", default=[], metavar="KEY=VALUE",
                    help="keyword for rfn.load (e.g. layout=contiguous), to compare its settings")  # fmt: skip
    ap.add_argument(
        "--contiguous-too",
        action="store_true",
        help="also time sampling with the model loaded contiguous (rfn.load(..., layout='contiguous'))",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.preset != "quick-smmnist":
        raise SystemExit("only --preset quick-smmnist has a matching thesis configuration (thesis_args)")
    torch.set_num_threads(args.threads)
    load_kwargs = dict(item.split("=", 1) for item in args.load_option)

    ThesisRFN = import_thesis(args.checkout.resolve())
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (args.batch, args.frames, 1, 32, 32), dtype=torch.uint8, generator=g)
    project = Project(x, args.preset, load_kwargs)
    thesis = Thesis(ThesisRFN, x, args.batch)
    n_thesis = sum(p.numel() for p in thesis.model.parameters())
    n_project = sum(p.numel() for p in project.model.parameters())
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_before": os.getloadavg(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "parameters": {"thesis": n_thesis, "project": n_project},
        "load_kwargs": load_kwargs,
    }
    print(
        f"quick-smmnist RFN: thesis code {n_thesis / 1e3:.0f}k parameters, project {n_project / 1e3:.0f}k; batch "
        f"{args.batch} x {args.frames} frames; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"load {meta['load_before'][0]:.1f}; {args.rounds} alternating rounds after {args.warmup} warm-up calls each"
    )
    results = {}
    if args.only in (None, "train"):
        results["train"] = interleave(
            {"thesis": thesis.train_step, "project": project.train_step}, args.rounds, args.warmup
        )
        report("training step (thesis trainer vs `rfn train`):", results["train"])
    if args.only in (None, "sample"):
        for s in args.samples:
            rows = Thesis(ThesisRFN, x, args.batch * s) if s > 1 else thesis
            fns = {
                "thesis": lambda rows=rows: rows.sample(args.context, args.future),
                "project": lambda s=s: project.sample(args.context, args.future, s),
            }
            if args.contiguous_too:  # the layout rfn.load used before channels-last became its default
                fns["contig"] = lambda s=s: project.sample(args.context, args.future, s, project.contiguous)
            results[f"sample{s}"] = interleave(fns, args.rounds, args.warmup)
            report(
                f"sampling, {args.context} context -> {args.future} frames, {s} per sequence "
                f"({args.batch * s} rows; thesis predict vs rfn.load(...).predict):",
                results[f"sample{s}"],
            )
    meta["load_after"] = os.getloadavg()
    print(f"load average before {meta['load_before'][0]:.1f}, after {meta['load_after'][0]:.1f}")
    out = {"meta": meta, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()

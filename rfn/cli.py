"""``rfn``: train, sample, evaluate and prepare data from the command line.

Usage::

    rfn presets [FILTER]
    rfn train --preset NAME [--variant V] [--set KEY=VALUE ...] --out DIR [--resume | --restart] [--steps N]
              [--seed N] [--device D] [--data-root DIR] [--quiet] [--init-from PATH [--keep-step]]
    rfn train --config FILE|RUN/run.json --out DIR [...]     rfn train --preset NAME --print-config
    rfn sample --checkpoint PATH --context N --future M --samples S --out FILE.gif|.mp4|.png
    rfn evaluate ...        (rfn.evaluation.cli)
    rfn data ...            (rfn.data.cli: prepare BAIR/KTH, look at any data set)

Several GPUs (or CPU processes, with the gloo backend), and several machines meeting at a
c10d rendezvous (the same command on each; book/usage.md, section "Several GPUs and several machines")::

    torchrun --nproc_per_node=2 -m rfn.cli train --preset NAME --out DIR
    torchrun --nnodes 2 --nproc_per_node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 --rdzv-id JOB \\
        -m rfn.cli train --preset NAME --out SHARED_DIR

Errors about the input (unknown preset or key, wrong value type, missing or
foreign checkpoint, an output folder holding another run) print one line
``rfn <command>: error: ...`` and exit with status 2; a run stopped by too many
non-finite steps exits with status 1. Set ``RFN_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from rfn import __version__

__all__ = ["build_parser", "main"]

_EPILOG_TRAIN = """\
overrides (--set, repeatable; values are Python literals, bare words are strings):
  train.lr=1e-3  train.batch_size=16  train.steps=20000  train.grad_clip=None
  model.<field>=...  (fields of the model's config dataclass; nested as model.a.b=...)
  data.seq_len=12  data.root=/data/bair  data.<option>=...  (options the preset sets)
  a bare key (lr=1e-3) works when only one section has it.
examples:
  rfn train --preset quick-smmnist --out runs/quick
  rfn train --preset quick-smmnist --out runs/quick --resume --steps 4000
  rfn train --preset quick-ablation-rfn --variant skip-flow --out runs/skip-flow
  rfn train --preset reference-smmnist --out runs/ref2 --init-from checkpoints/reference/reference-smmnist.pt
  torchrun --nproc_per_node=2 -m rfn.cli train --preset thesis-bair --out runs/bair
  torchrun --nnodes 2 --nproc_per_node 4 --rdzv-backend c10d --rdzv-endpoint node01:29500 --rdzv-id bair \\
      -m rfn.cli train --preset thesis-bair --out /shared/runs/bair    (on each machine)
"""

#: the largest ``rfn sample --scale`` (a 64x64 frame becomes 1024x1024)
MAX_SCALE = 16

# the modules that implement the dispatched commands (module attribute so tests can point elsewhere)
DATA_CLI = "rfn.data.cli"
EVALUATE_CLI = "rfn.evaluation.cli"
#: ``--layout`` of ``rfn sample`` and ``rfn evaluate``: :data:`rfn.models.registry.LAYOUTS` (a test checks),
#: written out so that parsing the command line imports no model code
LAYOUT_CHOICES = ("auto", "channels_last", "contiguous")


def build_parser() -> argparse.ArgumentParser:
    """The ``rfn`` argument parser (``data`` and ``evaluate`` parse their own arguments)."""
    parser = argparse.ArgumentParser(
        prog="rfn",
        description="Recurrent Flow Networks for video generation: train, sample, evaluate, prepare data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `rfn COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"rfn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pr = sub.add_parser(
        "presets",
        help="list the named experiment presets and their variants",
        description="List the named runs (a preset is <scale>-<run>) and the variants of each.",
    )
    pr.add_argument("filter", nargs="?", default=None, help="show only runs or variants whose names contain this")

    tr = sub.add_parser(
        "train",
        help="train a model from a preset",
        description="Train a model from a named preset, with optional KEY=VALUE overrides.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG_TRAIN,
    )
    tr.add_argument("--preset", default=None, help="preset name (see `rfn presets`); or --config")
    tr.add_argument("--variant", default=None, help="a variant of the preset (listed by `rfn presets`)")
    tr.add_argument("--config", default=None, metavar="FILE", help="YAML config or a run's run.json (--print-config)")
    tr.add_argument("--print-config", action="store_true", help="print the complete config as YAML for --config, exit")
    tr.add_argument(
        "--set",
        dest="overrides",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set train.lr=1e-3 model.levels=3",
    )
    tr.add_argument("--out", default=None, help="run folder: checkpoints, metrics.csv, TensorBoard events")
    tr.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its newest checkpoint that verifies"
    )
    tr.add_argument(
        "--restart",
        action="store_true",
        help="start the run in --out over from step 0 where its checkpoints exist but none verifies",
    )
    tr.add_argument("--steps", type=int, default=None, help="total training steps (same as --set train.steps=N)")
    tr.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:1, ... (same as --set train.device=D)")
    tr.add_argument("--seed", type=int, default=None, help="random seed of the run (same as --set train.seed=N)")
    tr.add_argument("--data-root", default=None, help="data folder (same as --set data.root=DIR)")
    tr.add_argument("--quiet", action="store_true", help="print nothing on success (no summary, progress bar or lines)")
    tr.add_argument("--no-progress", dest="quiet", action="store_true", help=argparse.SUPPRESS)
    tr.add_argument(
        "--init-from",
        default=None,
        metavar="PATH",
        help="start a new run from the model weights of this checkpoint (e.g. a committed reference model); "
        "--set may change settings that leave the weights as they are (a fine-tune with model.free_nats=40)",
    )
    tr.add_argument(
        "--keep-step",
        action="store_true",
        help="with --init-from: continue at that checkpoint's step (schedules, data order) with a fresh optimiser",
    )

    sa = sub.add_parser(
        "sample",
        help="predict future frames from a checkpoint and save them as a GIF, MP4 or PNG strip",
        description=(
            "Warm the model up on --context frames of held-out sequences and draw --samples futures of "
            "--future frames each. The output shows, per sequence, the real video first and then every sample "
            "(context frames followed by predicted ones)."
        ),
    )
    sa.add_argument("--checkpoint", required=True, help="checkpoint file (or run folder holding last.pt)")
    sa.add_argument("--context", type=int, required=True, help="number of observed frames")
    sa.add_argument("--future", type=int, required=True, help="number of frames to predict")
    sa.add_argument("--samples", type=int, default=1, help="samples per sequence (default 1)")
    sa.add_argument("--sequences", type=int, default=4, help="number of held-out sequences (default 4)")
    sa.add_argument("--index", type=int, default=0, help="first sequence of the split (default 0)")
    sa.add_argument("--split", default=None, help="data split (default: the run's validation split)")
    sa.add_argument(
        "--emission-temperature",
        type=float,
        default=1.0,
        help="temperature of the emission: the flow's base noise (RFN), the output distribution (SRNN/VRNN)",
    )
    sa.add_argument("--flow-temperature", dest="emission_temperature", type=float, help=argparse.SUPPRESS)
    sa.add_argument("--prior-temperature", type=float, default=1.0, help="scale of the latent prior's noise")
    sa.add_argument("--data-root", default=None, help="data folder (default: the one stored in the checkpoint)")
    sa.add_argument("--dataset-root", dest="data_root", help=argparse.SUPPRESS)
    sa.add_argument("--quiet", action="store_true", help="print nothing on success")
    sa.add_argument("--seed", type=int, default=0, help="random seed of the samples")
    sa.add_argument("--fps", type=float, default=4.0, help="frames per second of a GIF/MP4")
    sa.add_argument("--scale", type=int, default=1, help=f"integer magnification of the frames (1 to {MAX_SCALE})")
    sa.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    sa.add_argument(
        "--layout",
        choices=LAYOUT_CHOICES,
        default="auto",
        help="memory layout of the model: auto (channels-last, the faster) or contiguous (default auto)",
    )
    sa.add_argument("--out", required=True, help="output file: .gif, .mp4 or .png")

    sub.add_parser("evaluate", help="evaluation protocols (BPP, FVD, best-of-N): see `rfn evaluate --help`")
    sub.add_parser("data", help="prepare BAIR/KTH and look at data sets: see `rfn data --help`")
    return parser


# ----------------------------------------------------------------------------- helpers


def make_datasets(*args, **kwargs):
    """:func:`rfn.data.make_datasets`, imported on first use: the module imports nothing heavy, so a Ctrl-C while
    torch is still loading reaches :func:`main`'s handler."""
    from rfn.data.registry import make_datasets as make

    return make(*args, **kwargs)


def _dispatch(module: str, command: str, argv: list[str]) -> int:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        raise ValueError(f"`rfn {command}` is not available in this installation ({module} is missing)")
    result = importlib.import_module(module).main(argv)
    return int(result or 0)


# ----------------------------------------------------------------------------- commands


def _summary(descriptions: list[str]) -> str:
    """One description for a run at several scales: the largest scale's, up to its first comma."""
    return descriptions[-1].split(", ", 1)[0] if len(descriptions) > 1 else descriptions[0]


def _presets(pattern: str | None = None) -> int:
    from rfn.presets import PRESETS, SCALES, VARIANTS, families

    needle = (pattern or "").lower()
    rows, variants = [], []
    for family, scales in families().items():
        presets = [PRESETS[name] for name in scales.values()]
        fields = [family, *scales.values(), presets[0].model, presets[0].data.name]
        if any(needle in f.lower() for f in fields):
            where = " ".join(scales) or "-"
            rows.append(
                (family, presets[0].model, presets[0].data.name, where, _summary([p.description for p in presets]))
            )
        by_variants: dict[tuple[str, ...], list[str]] = {}
        for scale, name in scales.items():
            own = tuple(v for v in VARIANTS.get(name, {}) if needle in f"{family}-{v}".lower() or needle in name)
            if own:
                by_variants.setdefault(own, []).append(scale or name)
        variants += [(family, " ".join(s), ", ".join(v)) for v, s in by_variants.items()]
    if not rows and not variants:
        print(f"no preset or variant matches {pattern!r}; `rfn presets` lists them all")
        return 1
    print(f"{len(rows)} runs" + (f" matching {pattern!r}" if pattern else "") + "; a preset is <scale>-<run>, "
          f"scales {', '.join(SCALES)} (`rfn train --preset quick-smmnist`)")  # fmt: skip
    if rows:
        widths = [max(len(r[i]) for r in [("RUN", "MODEL", "DATA", "SCALES"), *rows]) for i in range(4)]
        for row in [("RUN", "MODEL", "DATA", "SCALES", "DESCRIPTION"), *rows]:
            print("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + f"  {row[4]}")
    if variants:
        print("\nvariants (`rfn train --preset <scale>-<run> --variant V`, or the preset <scale>-<run>-<V>):")
        width = max(len(f"{f} ({s})") for f, s, _ in variants)
        for family, scales, names in variants:
            print(f"{f'{family} ({scales})':<{width}}  {names}")
    return 0


#: the message of a Ctrl-C held back until the start-up imports were complete
_WHILE_STARTING = "while starting"


class _ImportsFirst:
    """Hold Ctrl-C while torch and numpy import, then act on it (every command that computes imports them first).

    A KeyboardInterrupt raised in the middle of numpy's or torch's own import can leave them half
    initialised, so the process dies later of an unrelated error with a traceback. SIGINT is blocked
    for the imports (where the platform allows it, in the main thread) and a pending one is raised as
    ``KeyboardInterrupt("while starting")`` once they are done.
    """

    def __enter__(self):
        import signal
        import threading

        self._mask = getattr(signal, "pthread_sigmask", None)
        if self._mask is None or threading.current_thread() is not threading.main_thread():
            self._mask = None
            return self
        self._old = self._mask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._mask is None:
            return
        pending = signal.SIGINT in signal.sigpending()
        try:
            self._mask(signal.SIG_SETMASK, self._old)  # a pending SIGINT is delivered here
        except KeyboardInterrupt:
            pending = True
        if pending and exc[0] is None:
            raise KeyboardInterrupt(_WHILE_STARTING)


def _train(args: argparse.Namespace) -> int:
    import time

    from rfn import distributed
    from rfn.config_files import config_text, load_config, option_overrides
    from rfn.presets import apply_overrides, get_preset
    from rfn.training.preset import train_preset
    from rfn.training.report import closing_lines

    if (args.preset is None) == (args.config is None):
        raise ValueError("give either --preset NAME (see `rfn presets`) or --config FILE (a YAML file or run.json)")
    overrides = [item for group in args.overrides for item in group]
    overrides += option_overrides(args.steps, args.seed, args.device, args.data_root, args.quiet)
    if args.variant is not None and args.config is not None:
        raise ValueError("--variant goes with --preset; a --config file states its settings itself")
    base = load_config(args.config) if args.config else get_preset(args.preset, variant=args.variant)
    base.train.setdefault("summary", True)  # the command line reports; library callers follow train.progress
    # and a run started by hand is watched: the progress bar and TensorBoard are on whatever the preset says
    # (the presets' progress/tensorboard=False keep the notebooks and tests quiet); --quiet or --set turn them off
    base.train.update(progress=True, tensorboard=True)
    preset = apply_overrides(base, overrides)
    if args.print_config:
        print(config_text(preset), end="")
        return 0
    if args.out is None:
        raise ValueError("--out DIR is required: the run folder (checkpoints, metrics.csv, tb/)")
    distributed.init_from_env(preset.train_config().device)
    t0 = time.perf_counter()
    try:
        meta = {"config": str(args.config)} if args.config else None
        trainer, rows = train_preset(
            base,
            args.out,
            overrides,
            resume=args.resume,
            meta=meta,
            init_from=args.init_from,
            keep_step=args.keep_step,
            restart=args.restart,
        )
        if distributed.is_main() and not args.quiet:
            wall = time.perf_counter() - t0
            print(closing_lines(trainer.step, rows[-1] if rows else {}, trainer.checkpoint_path, trainer.best, wall))
    finally:
        distributed.shutdown()
    return 0


def _sample(args: argparse.Namespace) -> int:
    import torch

    from rfn import viz
    from rfn.checkpoint import load_checkpoint
    from rfn.models.registry import model_from_checkpoint
    from rfn.models.validation import check_arguments
    from rfn.runtime import resolve_device

    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".mp4", ".png"):
        raise ValueError(f"--out {out} must end in .gif, .mp4 or .png")
    for name in ("context", "future", "samples", "sequences"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not 1 <= args.scale <= MAX_SCALE:
        raise ValueError(f"--scale must be a whole number from 1 to {MAX_SCALE} (the magnification), got {args.scale}")
    temperatures = {"--emission-temperature": args.emission_temperature, "--prior-temperature": args.prior_temperature}
    check_arguments("sample", temperatures)
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(ckpt, device=device, source=str(args.checkpoint), layout=args.layout)
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"the {ckpt['model_name']!r} model in {args.checkpoint} has no predict(); it cannot sample")
    data = dict(ckpt.get("data_config") or {})
    if "name" not in data:
        raise ValueError(f"{args.checkpoint} stores no data set; it was not written by `rfn train`")
    shape = getattr(model.config, "frame_shape", None)
    if shape is not None:
        _check_sample_memory(args, tuple(shape))
    data["seq_len"] = args.context + args.future
    data.setdefault("kwargs", {})
    if args.data_root is not None:
        data["root"] = args.data_root
    split = args.split or data.get("val_split", "test")
    (ds,) = make_datasets(data, splits=(split,))
    stop = args.index + args.sequences
    if args.index < 0 or stop > len(ds):
        raise ValueError(
            f"sequences {args.index}..{stop - 1} requested but the {data['name']} {split} split has {len(ds)}"
        )
    x = torch.stack([ds[i] for i in range(args.index, stop)]).to(device)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        pred = model.predict(
            x[:, : args.context],
            n_future=args.future,
            n_samples=args.samples,
            emission_temperature=args.emission_temperature,  # the flow for an RFN, the output for SRNN/VRNN
            prior_temperature=args.prior_temperature,
        )
    b, _, c, h, w = x.shape
    expected = (b, args.samples, args.future, c, h, w)
    if tuple(pred.shape) != expected or pred.dtype != torch.uint8:
        raise ValueError(f"model.predict returned {pred.dtype} {tuple(pred.shape)}, expected uint8 {expected}")
    context = x[:, None, : args.context].expand(b, args.samples, args.context, c, h, w)
    samples = torch.cat([context, pred.to(x.device)], dim=2)  # [B, S, T, C, H, W]
    videos = torch.cat([x[:, None], samples], dim=1).reshape(b * (args.samples + 1), *x.shape[1:]).cpu()
    if out.suffix.lower() == ".png":
        viz.save_strip(out, videos, context=args.context, scale=args.scale)
    else:
        viz.save_gif(out, videos, fps=args.fps, ncols=args.samples + 1, context=args.context, scale=args.scale)
    if not args.quiet:
        print(f"wrote {out}: {b} sequences x (real + {args.samples} samples), {args.context} + {args.future} frames")
    return 0


def _check_sample_memory(args: argparse.Namespace, shape: tuple[int, ...]) -> None:
    """Refuse an ``rfn sample`` request whose frames would not fit in the available memory, naming its flags."""
    from rfn.runtime import check_memory

    c, h, w = shape
    videos = args.sequences * (args.samples + 1)
    frames = videos * (args.context + args.future)
    # uint8 frames, the float32 predictions they come from, and the rendered RGB output at --scale
    need = frames * c * h * w * (1 + 4) + frames * 3 * h * w * args.scale**2
    check_memory(
        need,
        f"--sequences {args.sequences} x (--samples {args.samples} + 1) x (--context {args.context} + --future "
        f"{args.future}) = {frames:,} frames of {c}x{h}x{w} at --scale {args.scale}",
        "ask for fewer --samples, --sequences or --future frames, or a smaller --scale",
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``rfn`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else None
    try:
        if command in ("train", "sample", "evaluate", "data") and not {"-h", "--help"} & set(argv):
            with _ImportsFirst():
                import torch  # noqa: F401  (and numpy): their C extensions must not be interrupted half-way
        # these two own their argument parsing, --help included
        if command == "data":
            return _dispatch(DATA_CLI, "data", argv[1:])
        if command == "evaluate":
            return _dispatch(EVALUATE_CLI, "evaluate", argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "presets":
            return _presets(args.filter)
        if args.command == "train":
            return _train(args)
        return _sample(args)
    except KeyboardInterrupt as err:
        if os.environ.get("RFN_DEBUG"):
            raise
        if "rfn.training.interrupts" not in sys.modules or err.args == (_WHILE_STARTING,):  # nothing started yet
            print(f"rfn {command}: interrupted while starting; nothing was written", file=sys.stderr)
            return 130
        from rfn.training.interrupts import cli_failure

        line, code = cli_failure(err, argv)
        print(f"rfn {command}: {line}", file=sys.stderr)
        return code
    except Exception as err:
        from rfn.training import NonFiniteError
        from rfn.training.interrupts import cli_failure

        if os.environ.get("RFN_DEBUG"):
            raise
        failure = cli_failure(err, argv)  # a signal, or an OS/resource error (read-only, disk full, memory)
        if failure is not None:
            print(f"rfn {command}: {failure[0]}", file=sys.stderr)
            return failure[1]
        if isinstance(err, NonFiniteError):
            print(f"rfn {command}: stopped: {err}", file=sys.stderr)
            return 1
        from rfn.assets import AssetError

        if isinstance(err, (ValueError, FileNotFoundError, NotADirectoryError, FileExistsError, AssetError)):
            print(f"rfn {command}: error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())

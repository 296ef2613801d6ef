"""``rfn evaluate``: the command line of the evaluation (``rfn.cli`` dispatches here).

Errors propagate to :func:`rfn.cli.main`, which prints them as one line.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from rfn.evaluation.report import format_table
from rfn.evaluation.run import EvaluationOptions, EvaluationWarning, evaluate
from rfn.metrics.protocol import ALIASES, PROTOCOLS, Protocol, get_protocol, protocol_names

__all__ = ["build_parser", "main", "options_from_args", "protocol_from_args"]


_EPILOG = """\
protocols are named DATA-SCALE: smmnist-smoke (seconds), smmnist-quick (minutes on a CPU),
smmnist-reference (the book's reference models), smmnist-thesis, bair-thesis-13, kth-thesis, ...
(the thesis's table rows); `rfn evaluate --list-protocols` prints each with what it fixes.
examples:
  rfn evaluate --checkpoint runs/smoke/last.pt --protocol smmnist-smoke --out eval/smoke
  rfn evaluate --checkpoint runs/bair --protocol bair-thesis-13 --samples 10 --out eval/bair
  rfn evaluate --checkpoint runs/smoke --protocol smmnist-smoke --emission-temperature 0.7 --no-fvd --out eval/t07
  rfn evaluate --list-protocols
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``rfn evaluate`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="rfn evaluate",
        description=(
            "Evaluate a checkpoint under a named protocol: bits per pixel (negative ELBO and the importance-weighted "
            "bound), best-of-N PSNR/SSIM/LPIPS curves and FVD. Writes results.json, results.csv and curve PNGs."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument("--checkpoint", help="checkpoint file (or run folder holding last.pt)")
    parser.add_argument("--protocol", help="protocol name, DATA-SCALE such as smmnist-quick (see --list-protocols)")
    parser.add_argument("--list-protocols", action="store_true", help="print the named protocols and exit")
    parser.add_argument("--samples", type=int, default=None, help="samples per sequence for best-of-N (overrides)")
    parser.add_argument("--sequences", type=int, default=None, help="test sequences to use (overrides)")
    parser.add_argument("--iw-k", type=int, default=20, help="importance samples of the bound (default 20; 0 skips)")
    parser.add_argument("--bpp-frames", type=int, default=None, help="frames of the BPP sequences (default: training)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (default auto)")
    parser.add_argument("--batch-size", type=int, default=32, help="videos per model call (default 32)")
    parser.add_argument(
        "--layout",
        choices=("auto", "channels_last", "contiguous"),
        default="auto",
        help="memory layout of the model: auto (channels-last, the faster) or contiguous (default auto)",
    )
    parser.add_argument("--no-fvd", action="store_true", help="skip FVD (no I3D)")
    parser.add_argument("--data-root", default=None, help="data folder (default: the one stored in the checkpoint)")
    parser.add_argument(
        "--emission-temperature", type=float, default=None, help="emission temperature (default: protocol)"
    )
    parser.add_argument("--flow-temperature", dest="emission_temperature", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--prior-temperature", type=float, default=None, help="prior temperature (default: protocol)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the sequences and samples (default: protocol)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success (the results are in --out)")
    parser.add_argument("--no-progress", dest="quiet", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="output folder for results.json, results.csv and PNGs")
    return parser


def options_from_args(args: argparse.Namespace) -> EvaluationOptions:
    """The :class:`EvaluationOptions` that parsed ``rfn evaluate`` arguments ask for."""
    return EvaluationOptions(
        samples=args.samples,
        sequences=args.sequences,
        iw_k=args.iw_k,
        bpp_frames=args.bpp_frames,
        device=args.device,
        batch_size=args.batch_size,
        layout=args.layout,
        fvd=not args.no_fvd,
        data_root=args.data_root,
        progress=not args.quiet,
    )


def protocol_from_args(args: argparse.Namespace) -> str | Protocol:
    """The protocol name, or the protocol with the temperatures and seed given on the command line.

    A changed protocol's name records the change (``smoke+emission_temperature=0.7``), and so do the results.
    """
    changes = {
        key: getattr(args, key)
        for key in ("emission_temperature", "prior_temperature", "seed")
        if getattr(args, key, None) is not None
    }
    return get_protocol(args.protocol).replace(**changes) if changes else args.protocol


def main(argv: list[str] | None = None) -> int:
    """Run ``rfn evaluate`` with ``argv``; returns 0 (errors are raised for :func:`rfn.cli.main` to print)."""
    args = build_parser().parse_args(argv)
    if args.list_protocols:
        for name in protocol_names(aliases=False):
            print(PROTOCOLS[name].describe())
        print(*(f"{short}: short name of {full}" for short, full in ALIASES.items()), sep="\n")
        return 0
    missing = [f"--{k}" for k in ("checkpoint", "protocol", "out") if getattr(args, k) is None]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; see `rfn evaluate --help`")
    options = options_from_args(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)  # the table lists what was skipped and why
        results: dict[str, Any] = evaluate(args.checkpoint, protocol_from_args(args), options, out_dir=args.out)
    if args.quiet:
        return 0
    print(format_table(results))
    print(f"wrote {args.out}: results.json, results.csv and {sum(f.endswith('.png') for f in results['files'])} PNGs")
    return 0

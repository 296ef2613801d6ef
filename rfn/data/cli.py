"""``rfn data``: prepare BAIR / KTH from their original releases and look at any data set.

Usage::

    rfn data prepare bair --src EXTRACTED_RELEASE --out ROOT
    rfn data prepare kth  --src FOLDER_WITH_ZIPS  --out ROOT [--actions boxing walking ...]
    rfn data show NAME [--data-root ROOT] [--split test] [--n 4] [--seq-len 20] --out DIR

``show`` writes ``DIR/NAME_SPLIT.png`` (one sequence per row) and
``DIR/NAME_SPLIT.gif``. ``python -m rfn.data.cli ...`` works the same.

This module sits above the data floor: it imports :mod:`rfn.viz` (inside
``show`` only), so importing :mod:`rfn.data` never pulls in plotting code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``rfn data`` argument parser."""
    from rfn.data.registry import DATASETS

    parser = argparse.ArgumentParser(prog="rfn data", description="Prepare and inspect the data sets.")
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="convert an original release into the layout the loaders read")
    prep.add_argument("name", choices=("bair", "kth"))
    prep.add_argument("--src", required=True, help="original release: extracted BAIR tar, or folder of KTH zips")
    prep.add_argument("--out", required=True, help="data root to write")
    prep.add_argument("--actions", nargs="+", default=None, help="KTH only: actions to convert (default: all six)")
    prep.add_argument("--quiet", action="store_true", help="no progress lines")
    prep.add_argument("--verbose", action="store_true", help="KTH: print ffmpeg's output for a video it cannot decode")

    show = sub.add_parser("show", help="write a PNG strip and a GIF of a few sequences")
    show.add_argument("name", choices=DATASETS)
    show.add_argument("--data-root", default=None, help="data root (BAIR, KTH; default: the data set's own)")
    show.add_argument("--root", dest="data_root", help=argparse.SUPPRESS)
    show.add_argument("--split", default="test", choices=("train", "test"))
    show.add_argument("--n", type=int, default=4, help="number of sequences")
    show.add_argument("--seq-len", type=int, default=20, help="frames per sequence")
    show.add_argument("--fps", type=float, default=4.0)
    show.add_argument("--scale", type=int, default=1, help="integer magnification of the frames")
    show.add_argument("--out", required=True, help="output folder")
    return parser


def _prepare(args: argparse.Namespace) -> int:
    if args.name == "bair":
        if args.actions:
            raise ValueError("--actions applies to KTH only")
        from rfn.data.bair import prepare_bair

        written = prepare_bair(args.src, args.out, verbose=not args.quiet)
    else:
        from rfn.data.kth import ACTIONS, prepare_kth

        written = prepare_kth(
            args.src, args.out, actions=args.actions or ACTIONS, verbose=not args.quiet, decoder_output=args.verbose
        )
    print(f"wrote {written}")
    return 0


def _show(args: argparse.Namespace) -> int:
    import torch

    from rfn import viz
    from rfn.data.registry import make_dataset

    if args.n < 1:
        raise ValueError(f"--n must be >= 1, got {args.n}")
    ds = make_dataset(args.name, split=args.split, seq_len=args.seq_len, root=args.data_root)
    if len(ds) < args.n:
        raise ValueError(f"{args.name} {args.split} has only {len(ds)} sequences of {args.seq_len} frames")
    # Spread the picks over the split so windows of one recording do not fill the strip.
    picks = torch.linspace(0, len(ds) - 1, args.n).long().tolist()
    videos = torch.stack([ds[i] for i in picks])
    out = Path(args.out)
    strip = viz.save_strip(out / f"{args.name}_{args.split}.png", videos, scale=args.scale)
    gif = viz.save_gif(out / f"{args.name}_{args.split}.gif", videos, fps=args.fps, scale=args.scale)
    print(f"wrote {strip} and {gif}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``rfn data`` with ``argv`` (without the leading ``data``); returns the exit status.

    Errors about the data (missing folders, wrong layouts, ...) are printed as
    one line on stderr with exit status 2.
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return _prepare(args) if args.command == "prepare" else _show(args)
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(f"rfn data {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

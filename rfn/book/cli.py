"""``python -m rfn.book {mathjax,run,build,check}``: the book's command line (see :mod:`rfn.book`)."""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rfn.book.build import build
from rfn.book.execute import SHARED_PARAMETERS, run
from rfn.book.layout import NOTEBOOKS_DIR, PROFILES, BookError
from rfn.book.mathjax import MATHJAX_VERSION, fetch_mathjax
from rfn.book.sources import check_sources

__all__ = ["build_parser", "main", "parse_parameters"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rfn.book``."""
    parser = argparse.ArgumentParser(
        prog="python -m rfn.book",
        description="Run the book's notebooks with papermill, record their figures, build the Jupyter Book.",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_mj = sub.add_parser("mathjax", help="vendor MathJax for offline math (once)")
    p_mj.add_argument("--force", action="store_true", help="fetch again even if present")
    p_run = sub.add_parser("run", help="execute the notebooks with papermill")
    p_run.add_argument("--profile", choices=PROFILES, required=True)
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--device", default=None, help="passed as the notebooks' device parameter (default: auto)")
    p_run.add_argument("--only", default=None, help="comma-separated notebook numbers or stems, e.g. 01,04")
    p_run.add_argument("--timeout", type=float, default=None, help="per-cell time limit in seconds")
    p_run.add_argument("--log-output", action="store_true", help="stream notebook output")
    p_run.add_argument(
        "--figures-dir", type=Path, default=None, help="where figures and their manifest go (default: _build/figures)"
    )
    p_run.add_argument(
        "--executed-dir", type=Path, default=None, help="where executed notebooks go (default: book/_executed)"
    )
    p_run.add_argument(
        "--commit-figures", action="store_true", help="write over the committed figures/<profile>/ (maintainers)"
    )
    p_run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a page parameter, e.g. -p temperatures '[0, 0.3, 0.6]' (a Python literal, else a string); "
        "repeat for more; names no selected notebook declares are refused",
    )
    p_build = sub.add_parser("build", help="jupyter-book build . --all -W -n --keep-going")
    p_build.add_argument("--output", type=Path, default=None, help="put _build/ under this folder")
    sub.add_parser("check", help="guard the notebook sources")
    p_look = sub.add_parser(
        "look", help="load the built pages in headless Chromium: squeezed figures, cut-off blocks, explorers"
    )
    p_look.add_argument("--html", type=Path, default=Path("_build/html"), help="the built book (default: _build/html)")
    p_look.add_argument("--width", type=int, default=1280, help="window width in pixels (default: 1280)")
    p_look.add_argument("--height", type=int, default=800, help="window height in pixels (default: 800)")
    return parser


def parse_parameters(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as papermill parameters: each value a Python literal if it parses as one, else a string.

    Raises:
        BookError: a name given twice, or one of the run's own options (``--profile``, ...).

    Example:
        >>> parse_parameters([("temperatures", "[0, 0.3, 0.6]"), ("checkpoint", "runs/a/last.pt")])
        {'temperatures': [0, 0.3, 0.6], 'checkpoint': 'runs/a/last.pt'}
    """
    out: dict[str, Any] = {}
    for name, text in pairs:
        if name in SHARED_PARAMETERS:
            raise BookError(f"-p {name}: pass it as --{name.replace('_', '-')} instead")
        if name in out:
            raise BookError(f"-p {name} given twice; pass each parameter once")
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def _look(html: Path, width: int, height: int) -> int:
    """Print every layout problem and explorer self-test of the built pages; 1 if any problem."""
    from rfn.book.browser import BrowserError, explorer_selftests, layout_problems

    pages = sorted(
        p for p in html.rglob("*.html") if "_static" not in p.parts and p.name not in ("genindex.html", "search.html")
    )
    if not pages:
        raise BookError(f"no built pages under {html}: build the book first (make book)")
    bad = 0
    for page in pages:
        try:
            problems = layout_problems(page, width, height, first_screen="_executed" in page.parts)
            tests = explorer_selftests(page, width=width, height=height) if "rfn-explorer" in page.read_text() else []
        except BrowserError as err:
            raise BookError(str(err)) from err
        failed = [t for t in tests if not (t.get("changed") or t.get("shown"))]
        for p in problems:
            print(f"{page.relative_to(html)}: {p['kind']}: {p}")
        for t in tests:
            print(f"{page.relative_to(html)}: explorer {t['kind']}: {'ok' if t not in failed else 'FAILED'} {t}")
        bad += len(problems) + len(failed)
    print(f"{len(pages)} pages at {width}x{height}: {bad} problem(s)")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m rfn.book`` with ``argv``; returns the exit status (1 on a :class:`BookError`)."""
    args = build_parser().parse_args(argv)
    root = args.root
    try:
        if args.command == "mathjax":
            entry = fetch_mathjax(root, force=args.force)
            print(f"MathJax {MATHJAX_VERSION} vendored at {entry}")
        elif args.command == "run":
            only = args.only.split(",") if args.only else None
            extra = parse_parameters(args.parameter)
            run(
                args.profile,
                seed=args.seed,
                device=args.device,
                only=only,
                root=root,
                timeout=args.timeout,
                log_output=args.log_output,
                figures_dir=args.figures_dir,
                executed_dir=args.executed_dir,
                commit_figures=args.commit_figures,
                extra_parameters=extra,
            )
        elif args.command == "look":
            return _look(args.html if args.html.is_absolute() else Path(root) / args.html, args.width, args.height)
        elif args.command == "build":
            html = build(root, output=args.output)
            print(f"book built: {html / 'index.html'}")
        else:
            problems = check_sources(Path(root) / NOTEBOOKS_DIR)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                return 1
            print(f"notebook sources ok ({len(list((Path(root) / NOTEBOOKS_DIR).glob('*.py')))} checked)")
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0

"""Provenance of the committed figures: a manifest a reader can trust.

The figures of the profiles that are committed (``figures/quick/``, ``figures/reference/``)
must come from a clean commit, name no machine-specific absolute path, agree on the
seed, and match the files in their folder. :func:`manifest_problems` lists what a
manifest breaks; :func:`committed_problems` checks every committed profile under a
repository root. ``python -m rfn.book.provenance`` runs the check (exit 1 on problems)
before figures are committed; regenerate them from a clean checkout with
``python -m rfn.book run --profile quick`` to fix what it reports.

Example:
    >>> run = {"commit": "0123abcd", "seed": 0, "executed": "book/_executed/01_flows.ipynb"}
    >>> fig = {"notebook": "01_flows", "commit": "0123abcd", "seed": 0}
    >>> good = {"figures": {"a.png": fig}, "notebooks": {"01_flows": run}}
    >>> manifest_problems(good)
    []
    >>> bad = {"figures": {"a.png": {"notebook": "01_flows", "commit": "0123abcd-dirty", "seed": 1}},
    ...        "notebooks": {"01_flows": {"commit": "0123abcd", "seed": 0, "executed": "/home/me/01_flows.ipynb"}}}
    >>> for line in manifest_problems(bad):
    ...     print(line)
    figures.a.png: commit 0123abcd-dirty has uncommitted changes; regenerate from a clean checkout
    figures.a.png: seed 1 but notebook 01_flows ran with seed 0
    notebooks.01_flows.executed: absolute path /home/me/01_flows.ipynb; record paths relative to the repository
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMMITTED_PROFILES", "committed_problems", "main", "manifest_problems"]

#: profiles whose figures are committed (smoke figures are git-ignored)
COMMITTED_PROFILES = ("quick", "reference", "thesis")
_ABSOLUTE = re.compile(r"^(/|~|[A-Za-z]:[\\/]|\\\\)")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def _entries(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for section in ("figures", "notebooks"):
        table = manifest.get(section) or {}
        out += [(f"{section}.{name}", entry) for name, entry in table.items() if isinstance(entry, dict)]
    return out


def _strings(node: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _strings(v, f"{where}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _strings(v, f"{where}[{i}]")]
    return [(where, node)] if isinstance(node, str) else []


def manifest_problems(manifest: dict[str, Any], folder: Path | None = None) -> list[str]:
    """One line per thing in a parsed ``manifest.json`` that a committed profile must not have.

    Args:
        manifest: the parsed manifest (``figures``, ``notebooks``, ``profile``).
        folder: the manifest's folder; if given, listed files must exist there and every
            file there must be listed.

    Checks: commits are clean hashes (no ``-dirty``, none unknown), no string value is an
    absolute path, each figure's seed is its notebook's seed, and all notebooks used one seed.
    """
    problems = []
    notebooks = manifest.get("notebooks") or {}
    for where, entry in _entries(manifest):
        commit = str(entry.get("commit", ""))
        if commit.endswith("-dirty"):
            problems.append(f"{where}: commit {commit} has uncommitted changes; regenerate from a clean checkout")
        elif not _COMMIT.match(commit):
            problems.append(
                f"{where}: commit {commit or 'missing'!r} is not a commit hash; regenerate in a git checkout"
            )
        if where.startswith("figures."):
            run = notebooks.get(entry.get("notebook"), {})
            if "seed" in run and entry.get("seed") != run["seed"]:
                name = entry.get("notebook")
                problems.append(f"{where}: seed {entry.get('seed')} but notebook {name} ran with seed {run['seed']}")
    for where, text in _strings(manifest, ""):
        if _ABSOLUTE.match(text):
            problems.append(f"{where[1:]}: absolute path {text}; record paths relative to the repository")
    seeds = sorted({str(run.get("seed")) for run in notebooks.values() if isinstance(run, dict)})
    if len(seeds) > 1:
        problems.append(f"notebooks: seeds {', '.join(seeds)} in one profile; run every notebook with one --seed")
    if folder is not None:
        listed = set(manifest.get("figures") or {})
        present = {p.name for p in Path(folder).iterdir() if p.is_file() and p.name != "manifest.json"}
        problems += [f"figures.{name}: listed but missing from {folder}" for name in sorted(listed - present)]
        problems += [f"{folder}/{name}: not in the manifest" for name in sorted(present - listed)]
    return problems


def committed_problems(root: str | Path = ".", profiles: Sequence[str] = COMMITTED_PROFILES) -> list[str]:
    """The problems of every committed profile's ``figures/<profile>/manifest.json`` under ``root``."""
    problems = []
    for profile in profiles:
        folder = Path(root) / "figures" / profile
        path = folder / "manifest.json"
        if not path.is_file():
            continue
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({err}); regenerate the profile")
            continue
        problems += [f"{path}: {line}" for line in manifest_problems(manifest, folder)]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rfn.book.provenance [--root DIR] [--profile P ...]``: print problems, exit 1 if any."""
    parser = argparse.ArgumentParser(
        prog="python -m rfn.book.provenance", description="Check the manifests of the committed figure profiles."
    )
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--profile", nargs="+", default=list(COMMITTED_PROFILES), help="profiles to check")
    args = parser.parse_args(argv)
    problems = committed_problems(args.root, args.profile)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} provenance problem(s)", file=sys.stderr)
        return 1
    print(f"figure provenance ok ({', '.join(args.profile)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

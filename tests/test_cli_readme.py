"""Every `rfn`, `python -m rfn.book` and `torchrun ... rfn.cli` command in README.md parses, with presets that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from rfn import cli
from rfn.book.cli import build_parser as book_parser
from rfn.data.cli import build_parser as data_parser
from rfn.evaluation.cli import build_parser as evaluate_parser
from rfn.metrics.protocol import get_protocol
from rfn.presets import apply_overrides, get_preset

README = Path(__file__).resolve().parents[1] / "README.md"


def commands() -> list[str]:
    """The shell commands of the README's fenced bash blocks, continuations joined, comments dropped."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].split(" # ", 1)[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def rfn_argv(command: str) -> list[str] | None:
    words = shlex.split(command)
    if words[0] == "rfn":
        return words[1:]
    if words[0] == "torchrun" and "rfn.cli" in words:
        return words[words.index("rfn.cli") + 1 :]
    return None


RFN = [c for c in commands() if rfn_argv(c) is not None]
BOOK = [c for c in commands() if c.startswith("python -m rfn.book ")]


def test_the_readme_has_commands():
    assert len(RFN) >= 12 and len(BOOK) >= 3
    others = {shlex.split(c)[0] for c in commands() if c not in RFN and c not in BOOK}
    # not run here, and the README says why: make (whole builds), downloads, jupytext/papermill (runner-tested)
    assert others <= {"make", "curl", "tar", "jupytext", "papermill", "python"}, others


@pytest.mark.parametrize("command", RFN)
def test_rfn_command_parses(command):
    argv = rfn_argv(command)
    if argv[0] == "evaluate":
        args = evaluate_parser().parse_args(argv[1:])
        get_protocol(args.protocol)
    elif argv[0] == "data":
        data_parser().parse_args(argv[1:])
    else:
        args = cli.build_parser().parse_args(argv)
        if args.command == "train":
            overrides = [item for group in args.overrides for item in group]
            apply_overrides(get_preset(args.preset), overrides)


@pytest.mark.parametrize("command", BOOK)
def test_book_command_parses(command):
    book_parser().parse_args(shlex.split(command)[3:])

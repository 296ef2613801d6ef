"""README.md and the manual pages: every command in them parses, and the README's stated facts are current.

Every `rfn`, `python -m rfn.book` and `torchrun ... rfn.cli` command of README.md, book/usage.md
and book/maintainers.md parses, with presets and protocols that exist. The README, a front
page, stays short, names no commit (history belongs to the maintainers' page and the
changelog), and the step counts it states are the presets'; it states no test count.
"""

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

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, ROOT / "book" / "usage.md", ROOT / "book" / "maintainers.md"]
#: the README's length limit in words (as `wc -w` counts them)
README_WORDS = 900


def commands() -> list[str]:
    """The shell commands of the documents' fenced bash blocks, continuations joined, comments dropped."""
    out = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("  #", 1)[0].split(" # ", 1)[0].strip()
                if line and not line.startswith("#"):
                    out.append(line)
    return out


def rfn_argv(command: str) -> list[str] | None:
    words = shlex.split(command)
    if words[0] == "srun":  # srun torchrun ... (the SLURM script)
        words = words[1:]
    if words[0] == "rfn":
        return words[1:]
    if words[0] == "torchrun" and "rfn.cli" in words:
        return words[words.index("rfn.cli") + 1 :]
    return None


RFN = [c for c in commands() if rfn_argv(c) is not None]
BOOK = [c for c in commands() if c.startswith("python -m rfn.book ")]


def test_the_readme_has_commands():
    assert len(RFN) >= 20 and len(BOOK) >= 3
    assert any(rfn_argv(c)[0] == "sample" for c in commands() if c in RFN and "reference-smmnist.pt" in c)
    assert sum("--nnodes" in c for c in RFN) >= 2  # the multi-node launch and the SLURM script
    others = {shlex.split(c)[0].split("=")[0] for c in commands() if c not in RFN and c not in BOOK}
    # not run here: make (whole builds), pip, downloads, jupytext/papermill (runner-tested), the SLURM
    # script's first-node lookup
    assert others <= {"make", "pip", "curl", "tar", "jupytext", "papermill", "python", "head"}, others


@pytest.mark.parametrize("command", RFN)
def test_rfn_command_parses(command):
    argv = rfn_argv(command)
    if argv[0] == "evaluate":
        args = evaluate_parser().parse_args(argv[1:])
        if args.protocol is not None:  # not with --list-protocols
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


# ----------------------------------------------------------------------------- the README's claims


def _words(text: str) -> int:
    return len(text.split())


def test_readme_is_a_front_page():
    text = README.read_text(encoding="utf-8")
    assert _words(text) <= README_WORDS, f"README.md has {_words(text)} words; keep it under {README_WORDS}"
    # a commit hash: 7-40 hex digits with at least one digit and one letter (not a word, not a number)
    hashes = [h for h in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"\d", h) and re.search(r"[a-f]", h)]
    assert not hashes, f"README.md names commits {hashes}; history belongs in book/maintainers.md or CHANGELOG.md"
    for section in ("## Quick start", "## Two commands", "## Install", "## Licence and citation"):
        assert section in text, section
    quick = re.search(r"## Quick start\n+```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
    assert [shlex.split(c)[:2] for c in quick] == [["rfn", "sample"], ["make", "book"], ["rfn", "train"]], quick
    assert "make book" in text and "make test" in text and "CITATION.cff" in text and "MIT" in text
    links = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if not t.startswith("http")]
    assert len(links) >= 6 and all((ROOT / t).exists() for t in links), [t for t in links if not (ROOT / t).exists()]


def _claims(text: str) -> list[tuple[str, int]]:
    """``(preset, steps)`` for each "`preset` ... N steps" in one sentence (no other preset between)."""
    out = []
    for sentence in re.split(r"(?<=[.;:])\s", " ".join(text.split())):
        for m in re.finditer(r"`([a-z][a-z0-9-]+)`((?:(?!`)[^.;])*?)\b(\d[\d,]*) steps", sentence):
            out.append((m.group(1), int(m.group(3).replace(",", ""))))
    return out


def test_readme_step_counts_are_the_presets():
    from rfn.presets import PRESETS

    assert _claims("the `quick-smmnist` preset (1,000 steps)") == [("quick-smmnist", 1000)]
    assert _claims("`smoke` and `quick-smmnist` (1,000 steps)") == [("quick-smmnist", 1000)]
    claims = _claims(README.read_text(encoding="utf-8"))
    claims += [(p, n) for c in commands() if c in RFN for p, n in _command_claims(c)]
    assert {p for p, _ in claims} >= {"quick-smmnist", "reference-smmnist"}, claims
    for preset, steps in claims:
        assert preset in PRESETS, f"README.md names a preset {preset!r} that does not exist"
        actual = PRESETS[preset].train_config().steps
        assert steps == actual, f"README.md says {preset} trains {steps:,} steps; the preset has {actual:,}"


def _command_claims(command: str) -> list[tuple[str, int]]:
    """A command's preset and the step count its README comment states (the comment is cut off by commands())."""
    line = next((raw for raw in README.read_text(encoding="utf-8").splitlines() if raw.strip().startswith(command)), "")
    steps = re.search(r"#.*?\b(\d[\d,]*) steps", line)
    argv = rfn_argv(command) or []
    if not steps or "--preset" not in argv:
        return []
    return [(argv[argv.index("--preset") + 1], int(steps.group(1).replace(",", "")))]


def test_readme_states_no_test_count():
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"\b\d[\d,]* tests\b", text), "a test count goes stale; the README states none"

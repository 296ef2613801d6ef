"""The exercises of the theory pages: enough of each kind, each with a folded solution, and every code solution runs.

A code solution is a fenced ``python`` block inside a ``{solution}`` directive whose first line is
``# exercise-solution``; each runs on its own, in a fresh namespace, at smoke scale (a second or two).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ["notation", "latent_variable_models", "vrnn_srnn", "normalising_flows", "rfn", "evaluation"]
KINDS = ("Derive", "Predict then run", "Modify")
MARK = "# exercise-solution"
#: the longest code line a solution may have (characters), so that it fits the text column at 1280 px
WIDTH = 70
#: an exercise or solution directive in colon-fence form: fence, name, argument, body, same fence
DIRECTIVE = re.compile(r"^(:{3,})\{(exercise|solution)\}[ \t]*(.*?)\n(.*?)^\1[ \t]*$", re.M | re.S)
CODE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def directives(page: str) -> list[tuple[str, str, str]]:
    """``(kind, argument, body)`` of every exercise and solution of ``book/<page>.md``, in order."""
    text = (ROOT / "book" / f"{page}.md").read_text(encoding="utf-8")
    return [(m.group(2), m.group(3).strip(), m.group(4)) for m in DIRECTIVE.finditer(text)]


def label(body: str) -> str | None:
    found = re.search(r"^:label:[ \t]*(\S+)", body, flags=re.M)
    return found.group(1) if found else None


def solutions() -> list[tuple[str, str, int, str]]:
    """``(page, exercise label, index, code)`` of every code solution of the theory pages."""
    out = []
    for page in THEORY:
        for kind, argument, body in directives(page):
            if kind != "solution":
                continue
            blocks = [c for c in CODE.findall(body) if c.lstrip().startswith(MARK)]
            out += [(page, argument, i, code) for i, code in enumerate(blocks)]
    return out


@pytest.mark.parametrize("page", THEORY)
def test_every_theory_page_has_three_kinds_of_exercise_with_folded_solutions(page):
    found = directives(page)
    exercises = {label(body): title for kind, title, body in found if kind == "exercise"}
    solved = {argument: body for kind, argument, body in found if kind == "solution"}
    assert len(exercises) >= 3 and None not in exercises, f"book/{page}.md: fewer than 3 labelled exercises"
    kinds = {title.split(":", 1)[0] for title in exercises.values()}
    assert set(KINDS) <= kinds, f"book/{page}.md lacks exercise kinds {set(KINDS) - kinds} (titles start 'Kind: ...')"
    assert kinds <= set(KINDS), f"book/{page}.md: unknown exercise kinds {kinds - set(KINDS)}"
    assert set(solved) == set(exercises), f"book/{page}.md: exercises without a solution or the reverse"
    for name, body in solved.items():
        assert re.search(r"^:class:.*\bdropdown\b", body, flags=re.M), f"book/{page}.md: solution {name} is not folded"
    assert any(page == p for p, *_ in solutions()), f"book/{page}.md has no code solution"


def test_code_solutions_fit_the_text_column():
    """At 1280 px the text column shows 71 characters of code; longer lines scroll sideways."""
    long = [
        f"book/{p}.md {e}: {line!r}" for p, e, _, code in solutions() for line in code.splitlines() if len(line) > WIDTH
    ]
    assert not long, "code lines wider than the text column:\n" + "\n".join(long)


def test_labels_are_unique_across_the_pages():
    labels = [label(body) for page in THEORY for kind, _, body in directives(page) if kind == "exercise"]
    assert len(labels) == len(set(labels)), sorted(labels)


def test_the_extractor_finds_marked_blocks_only():
    body = "```python\n# exercise-solution\nx = 1\n```\n\n```python\ny = 2\n```\n"
    blocks = [c for c in CODE.findall(body) if c.lstrip().startswith(MARK)]
    assert blocks == ["# exercise-solution\nx = 1\n"]
    text = "::::{solution} ex-a\n:class: dropdown\n\n" + body + "::::\n"
    assert [(m.group(2), m.group(3)) for m in DIRECTIVE.finditer(text)] == [("solution", "ex-a")]


@pytest.mark.parametrize(
    ("page", "exercise", "index", "code"), [pytest.param(*s, id=f"{s[0]}-{s[1]}-{s[2]}") for s in solutions()]
)
def test_code_solution_runs(page, exercise, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a solution that writes files writes them here
    exec(compile(code, f"book/{page}.md:{exercise}[{index}]", "exec"), {"__name__": "__exercise__"})


# ----------------------------------------------------------------------------- the intro as the front door


def test_intro_opens_with_the_book_then_a_short_box_linking_the_status_page():
    text = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    box = re.search(r"^```\{admonition\} What this book can and cannot show\n(.*?)^```$", text, flags=re.M | re.S)
    assert box, "book/intro.md has no 'What this book can and cannot show' box"
    body = re.sub(r"^:\w+:.*$", "", box.group(1), flags=re.M)
    words = re.sub(r"\{\w+\}|<[^>]*>|`", " ", body).split()
    assert len(words) <= 150, f"the box has {len(words)} words; keep it to 150 and leave details to the status page"
    assert "{doc}`status`" in body, "the box must link the status page"
    before = text[: box.start()]
    assert "This book accompanies" in before and "## How to read it" in before, (
        "what the book is and how to read it first"
    )


def test_licences_are_stated_on_the_intro_and_match_the_files():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    docs = (ROOT / "LICENSE-docs").read_text(encoding="utf-8")
    assert "CC BY 4.0" in intro and "LICENSE-docs" in intro and "MIT" in intro
    assert "Attribution 4.0 International Public License" in docs and "Section 8 -- Interpretation." in docs
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(LICENSE-docs)" in readme and "CC BY 4.0" in readme

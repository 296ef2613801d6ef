"""The notebook pages' from-scratch cells and exercises, read from the jupytext sources and run at the smoke profile.

A page's from-scratch code (cells tagged ``from-scratch``) checks itself against the package with
``torch.testing.assert_close``; running those cells here puts the check in the suite without a
second copy of the code. Exercise solutions (``exercise-solution``) run with the cells they need:
the parameters cell (at ``smoke``, artifacts in a temporary folder), the page's from-scratch cells
and its ``exercise-setup`` cell, nothing else of the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAGES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))
KINDS = ("derive", "predict, then run", "modify")
EXERCISE = re.compile(r"^\*\*Exercise (\d+)\*\* \(([a-z, ]+)\)", re.M)
SOLUTION = re.compile(r"^```\{admonition\} Solution\n:class: dropdown\n", re.M)


def _cells(page: str):
    return jupytext.read(NOTEBOOKS / f"{page}.py").cells


def _tagged(cells, *tags: str) -> list[str]:
    return [c.source for c in cells if c.cell_type == "code" and set(tags) & set(c.metadata.get("tags", []))]


def _run(sources: list[str], page: str, namespace: dict | None = None) -> dict:
    ns = {} if namespace is None else namespace
    for i, source in enumerate(sources):
        exec(compile(source, f"{page} cell {i}", "exec"), ns)  # the page's own code, as the kernel runs it
        plt.close("all")
    return ns


@pytest.mark.parametrize("page", ["01_flows", "03_stochastic_latents"])
def test_from_scratch_cells_match_the_package(page):
    sources = _tagged(_cells(page), "from-scratch")
    assert sources, f"{page} has no cell tagged from-scratch"
    assert "torch.testing.assert_close" in "".join(sources), f"{page}: the from-scratch code checks nothing"
    _run(sources, page)


def test_from_scratch_cells_fail_when_a_term_is_missing():
    """The check on the page can fail: drop the output gate's peephole and the SRNN no longer matches."""
    sources = _tagged(_cells("03_stochastic_latents"), "from-scratch")
    peephole = 'torch.sigmoid(o + W[f"{name}.w_co"] * c)'
    assert peephole in sources[0]
    with pytest.raises(AssertionError, match="not close"):
        _run([sources[0].replace(peephole, "torch.sigmoid(o)"), *sources[1:]], "03 without a peephole")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_three_kinds_of_exercises_each_with_a_solution(page):
    cells = _cells(page)
    exercises = [c.source for c in cells if c.cell_type == "markdown" and EXERCISE.search(c.source)]
    kinds = [EXERCISE.search(s).group(2) for s in exercises]
    numbers = [int(EXERCISE.search(s).group(1)) for s in exercises]
    assert len(exercises) >= 3 and numbers == list(range(1, len(exercises) + 1)), numbers
    assert set(KINDS) <= set(kinds) and set(kinds) <= set(KINDS), kinds
    for source in exercises:
        assert len(SOLUTION.findall(source)) == 1, f"{page}: an exercise without a folded solution:\n{source[:200]}"
    for cell in cells:
        tags = cell.metadata.get("tags", [])
        if "exercise-solution" in tags or "exercise-setup" in tags:
            assert "hide-cell" in tags, f"{page}: exercise code must be folded (hide-cell)"


@pytest.fixture(scope="session")
def smoke_artifacts(tmp_path_factory) -> Path:
    """One artifacts folder per test process: each smoke run the exercises use is trained once (seconds)."""
    return tmp_path_factory.mktemp("smoke-artifacts")


@pytest.mark.parametrize("page", PAGES)
def test_exercise_solutions_run_at_smoke(page, tmp_path, monkeypatch, smoke_artifacts):
    cells = _cells(page)
    solutions = _tagged(cells, "exercise-solution")
    assert solutions, f"{page} has no code solution"
    params = _tagged(cells, "parameters")
    assert len(params) == 1
    monkeypatch.chdir(tmp_path)
    ns = _run(params, page)
    ns.update(profile="smoke", device="cpu", seed=0, figures_dir=str(tmp_path / "figures"))
    ns["artifacts_dir"] = str(smoke_artifacts)
    _run(_tagged(cells, "from-scratch", "exercise-setup", "exercise-solution"), page, ns)

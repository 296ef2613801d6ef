"""The notebook sources: discovery in dependency order, conversion, the parameters cell, the guard.

Notebooks are jupytext ``py:percent`` scripts ``notebooks/NN_what.py``. This module
finds them in :data:`~rfn.book.layout.ORDER`, turns one into an ``nbformat``
notebook papermill can run, reads its ``parameters`` cell, and checks that every
source is fit for the book (:func:`check_sources`, ``python -m rfn.book check``).

Example:
    >>> order_key(Path("notebooks/04_training.py"))
    3
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rfn.book.figures import OPENING
from rfn.book.layout import KERNELSPEC, NOTEBOOKS_DIR, ORDER, PROFILES, REQUIRED_PARAMETERS, BookError

__all__ = [
    "check_sources",
    "discover",
    "injected_parameters",
    "order_key",
    "parameters_of",
    "prose_share",
    "to_notebook",
    "unknown_parameters",
]


def order_key(path: Path) -> int:
    """Position of ``notebooks/NN_name.py`` in :data:`~rfn.book.layout.ORDER`.

    Raises:
        BookError: the file name does not start with a number listed in ``ORDER``.
    """
    number = Path(path).name.split("_", 1)[0]
    if number not in ORDER:
        raise BookError(
            f"{path}: notebook number {number!r} is not in rfn.book.ORDER {ORDER}; "
            "name notebooks NN_what.py and add NN to ORDER at the place that respects its dependencies"
        )
    return ORDER.index(number)


def discover(notebooks_dir: Path = NOTEBOOKS_DIR, only: Iterable[str] | None = None) -> list[Path]:
    """The notebook sources ``NN_*.py`` in execution order.

    Args:
        notebooks_dir: folder holding the jupytext sources.
        only: notebook numbers or stems to keep (``["01", "04_training"]``); ``None`` keeps all.

    Raises:
        BookError: two sources share a number, or ``only`` names a notebook that does not exist.
    """
    notebooks_dir = Path(notebooks_dir)
    sources = sorted(notebooks_dir.glob("[0-9][0-9]_*.py"), key=lambda p: (order_key(p), p.name))
    numbers = [p.name[:2] for p in sources]
    duplicated = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicated:
        raise BookError(f"{notebooks_dir}: more than one notebook per number {duplicated}; numbers must be unique")
    if only is not None:
        wanted = [w.strip() for w in only if w.strip()]
        picked = [p for p in sources if p.name[:2] in wanted or p.stem in wanted]
        missing = [w for w in wanted if not any(p.name[:2] == w or p.stem == w for p in sources)]
        if missing:
            have = ", ".join(p.stem for p in sources) or "none"
            raise BookError(f"--only {','.join(missing)}: no such notebook in {notebooks_dir} (have: {have})")
        sources = picked
    return sources


def to_notebook(source: Path):
    """Read a jupytext ``py:percent`` source as an ``nbformat`` notebook with a python3 kernelspec.

    Papermill refuses a notebook without a kernelspec ("No language found"); this is
    what ``jupytext --set-kernel python3`` does on the command line.
    """
    import jupytext

    nb = jupytext.read(Path(source), fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def _parameter_cells(nb) -> list[Any]:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def parameters_of(nb) -> dict[str, Any]:
    """Names and default values assigned in the notebook's ``parameters`` cell.

    Raises:
        BookError: there is not exactly one such cell, or it holds something other than
            assignments of literal values (papermill can only override literals).
    """
    cells = _parameter_cells(nb)
    if len(cells) != 1:
        raise BookError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return _literal_assignments(cells[0].source, "parameters")


def injected_parameters(nb) -> dict[str, Any]:
    """Names and values in papermill's ``injected-parameters`` cells of an executed notebook (empty if none)."""
    values: dict[str, Any] = {}
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            values.update(_literal_assignments(cell.source, "injected-parameters"))
    return values


def unknown_parameters(nb) -> list[str]:
    """Injected parameter names the notebook's ``parameters`` cell does not declare (papermill only warns)."""
    declared = parameters_of(nb)
    return sorted(k for k in injected_parameters(nb) if k not in declared)


def _literal_assignments(source: str, what: str) -> dict[str, Any]:
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise BookError(f"the {what} cell is not valid Python: {err}") from err
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            raise BookError(
                f"the {what} cell may only assign literals to names, found {ast.dump(node)[:80]!r}; "
                "derive other settings in the next cell"
            )
        try:
            values[target] = ast.literal_eval(value)
        except ValueError as err:
            raise BookError(f"parameter {target!r} must be a literal (papermill overrides literals)") from err
    return values


#: the heading of the dropdown that holds a page's administrative block, and what it must mention
ABOUT = "About this page"
ABOUT_WORDS = ("reproduce", "run time", "checkpoint")


#: the least share of a page's non-blank lines that is prose (markdown), not code
MIN_PROSE = 0.5
#: what a page's first cell holds to show its opening figure (:meth:`rfn.book.figures.FigureRecorder.opening`)
OPENING_DIRECTIVE = f"```{{glue:figure}} {OPENING}"


def _provides_opening(code: str) -> bool:
    """Whether ``code`` calls something that glues the opening figure.

    ``rec.savefig(..., opening=True)``, ``rec.opening(path)`` or ``glue_image("opening", path)``,
    found in the syntax tree (so a comment does not count).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics
        return False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name == "opening" or any(
            k.arg == "opening" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords
        ):
            return True
        if (
            name == "glue_image"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == OPENING
        ):
            return True
    return False


def prose_share(nb) -> tuple[int, int]:
    """Non-blank lines of prose (markdown cells) and of code (code cells) in notebook ``nb``."""
    counts = {"markdown": 0, "code": 0}
    for cell in nb.cells:
        if cell.cell_type in counts:
            counts[cell.cell_type] += sum(1 for line in cell.source.splitlines() if line.strip())
    return counts["markdown"], counts["code"]


def _problems_of(src: Path) -> list[str]:
    text = src.read_text(encoding="utf-8")
    if "# %%" not in text:
        return [f"{src}: not a jupytext py:percent script (no '# %%' cell markers)"]
    problems: list[str] = []
    try:
        order_key(src)
    except BookError as err:
        problems.append(str(err))
    nb = to_notebook(src)
    for i, cell in enumerate(nb.cells):
        if cell.get("outputs") or cell.get("execution_count"):
            problems.append(f"{src}: cell {i} carries outputs; sources must be output-free")
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown":
        problems.append(f"{src}: the first cell must be markdown: the page's title and the question it answers")
    elif (
        OPENING_DIRECTIVE not in first.source
        or ":figclass: rfn-opening" not in first.source
        or not any(_provides_opening(c.source) for c in nb.cells if c.cell_type == "code")
    ):
        problems.append(
            f"{src}: the first cell must show the page's opening figure ({OPENING_DIRECTIVE!r} with "
            "':figclass: rfn-opening', after the question and the idea) and a code cell must provide it "
            "(rec.savefig(..., opening=True))"
        )
    prose, code = prose_share(nb)
    if prose < MIN_PROSE * (prose + code):
        problems.append(
            f"{src}: prose is {prose} of {prose + code} non-blank lines ({prose / max(prose + code, 1):.0%}), "
            f"under {MIN_PROSE:.0%}: move plotting and bookkeeping into rfn.pages, or explain more"
        )
    about = [c for c in nb.cells if c.cell_type == "markdown" and ABOUT in c.source]
    if not about:
        problems.append(f"{src}: no {ABOUT!r} cell (a dropdown at the end: what it reproduces, run time, checkpoint)")
    else:
        low = about[0].source.lower()
        problems += [f"{src}: the {ABOUT!r} cell must mention {word!r}" for word in ABOUT_WORDS if word not in low]
    try:
        params = parameters_of(nb)
    except BookError as err:
        return [*problems, f"{src}: {err}"]
    problems += [f"{src}: the parameters cell must assign {n!r}" for n in REQUIRED_PARAMETERS if n not in params]
    if "profile" in params and params["profile"] not in (*PROFILES, "auto"):
        problems.append(f"{src}: profile default {params['profile']!r} is not 'auto' or one of {PROFILES}")
    if "figures_dir" in params and Path(str(params["figures_dir"])).parts[:1] == ("figures",):
        problems.append(
            f"{src}: figures_dir default {params['figures_dir']!r} writes into the committed figures/; "
            "default to '_build/figures' (python -m rfn.book run --commit-figures writes figures/)"
        )
    return problems


def check_sources(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Problems with the notebook sources, one line each (empty when all is well).

    Checks every ``notebooks/*.py``: it is a jupytext percent script, carries no outputs,
    opens with a markdown cell (the question the page answers and its opening figure), is at
    least :data:`MIN_PROSE` prose by non-blank lines, has an "About this page"
    markdown cell naming what it reproduces, its run time and its checkpoint, and has exactly
    one ``parameters`` cell assigning the required parameters, with ``profile`` ``"auto"`` or
    one of the book's profiles and ``figures_dir`` outside the committed ``figures/``. Also flags
    executed ``.ipynb`` files tracked by git.
    """
    notebooks_dir = Path(notebooks_dir)
    problems: list[str] = []
    for src in sorted(notebooks_dir.glob("*.py")):
        problems += _problems_of(src)
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--", str(notebooks_dir)], capture_output=True, text=True, check=False
        ).stdout.split()
    except OSError:
        tracked = []
    problems += [
        f"{t}: executed notebooks must not be committed (keep the .py source)" for t in tracked if t.endswith(".ipynb")
    ]
    return problems

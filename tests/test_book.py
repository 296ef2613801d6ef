"""The book: notebook sources are clean, every notebook runs (smoke profile), and the book builds with -W.

The slow test executes every ``notebooks/NN_*.py`` with papermill into a temporary folder
and builds a staged copy of the book from those outputs, so it never touches the working
tree's ``book/_executed`` or ``_build``. The staged copy loads MathJax from its default URL
instead of the vendored copy (nothing is fetched during the build), so the test needs
neither network nor ``python -m rfn.book mathjax``.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from rfn import book

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
# %% [markdown]
# # A page
# Reproduces: nothing. Run time: 1 s. Checkpoint: none.

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
figures_dir = "figures"

# %%
print(profile, seed)
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


# --------------------------------------------------------------------------- sources


def test_notebook_sources_are_clean():
    sources = sorted((ROOT / "notebooks").glob("*.py"))
    assert sources, "no notebook sources found in notebooks/"
    problems = book.check_sources(ROOT / "notebooks")
    assert problems == [], "\n".join(problems)


def test_every_source_has_exactly_one_parameters_cell_with_the_required_names():
    for src in sorted((ROOT / "notebooks").glob("*.py")):
        nb = book.to_notebook(src)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{src}: {len(tagged)} parameters cells"
        params = book.parameters_of(nb)
        assert {"profile", "device", "seed", "figures_dir"} <= set(params), f"{src}: {sorted(params)}"
        assert params["profile"] in book.PROFILES
        assert all(not c.get("outputs") for c in nb.cells)
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_guard_accepts_a_good_source(tmp_path):
    _write(tmp_path, "01_good.py", GOOD)
    assert book.check_sources(tmp_path) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.replace("seed = 0\n", ""), "must assign 'seed'"),
        (lambda s: s.replace('device = "auto"\n', ""), "must assign 'device'"),
        (
            lambda s: s + '\n# %% tags=["parameters"]\nprofile = "smoke"\n',
            "exactly one cell tagged 'parameters', found 2",
        ),
        (lambda s: s.replace('# %% tags=["parameters"]', "# %%"), "found 0"),
        (lambda s: s.replace('profile = "quick"', 'profile = "huge"'), "is not one of"),
        (lambda s: s.replace("seed = 0", 'seed = int("0")'), "must be a literal"),
        (lambda s: s.replace("Checkpoint: none.", ""), "'checkpoint'"),
        (lambda s: s.split("\n\n", 1)[1], "first cell must be markdown"),
    ],
)
def test_guard_rejects_bad_sources(tmp_path, edit, expected):
    _write(tmp_path, "01_bad.py", edit(GOOD))
    problems = book.check_sources(tmp_path)
    assert any(expected in p for p in problems), problems


def test_guard_rejects_unknown_notebook_numbers(tmp_path):
    _write(tmp_path, "42_mystery.py", GOOD)
    problems = book.check_sources(tmp_path)
    assert any("not in rfn.book.ORDER" in p for p in problems), problems


def test_discover_follows_the_dependency_order(tmp_path):
    for name in ("05_results.py", "04_training.py", "01_flows.py"):
        _write(tmp_path, name, GOOD)
    assert [p.name for p in book.discover(tmp_path)] == ["01_flows.py", "04_training.py", "05_results.py"]
    assert [p.name for p in book.discover(tmp_path, only=["04"])] == ["04_training.py"]
    assert [p.name for p in book.discover(tmp_path, only=["05_results"])] == ["05_results.py"]
    with pytest.raises(book.BookError, match="--only 07"):
        book.discover(tmp_path, only=["07"])
    _write(tmp_path, "04_other.py", GOOD)
    with pytest.raises(book.BookError, match="more than one notebook per number"):
        book.discover(tmp_path)


def test_injected_parameters_cell_is_hidden_once():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("profile = 'quick'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["injected-parameters"]}),
    ]
    assert book.hide_injected_parameters(nb) == 1
    assert nb.cells[1].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert "remove-cell" not in nb.cells[0].metadata["tags"]
    assert book.hide_injected_parameters(nb) == 0


def test_figure_recorder_writes_the_manifest(tmp_path):
    rec = book.FigureRecorder("01_flows", profile="smoke", seed=3, device="cpu", figures_dir=tmp_path)
    path = rec.path("tab_demo.csv")
    path.write_text("a,b\n1,2\n")
    rec.record(path, reproduces="nothing")
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    entry = manifest["figures"]["tab_demo.csv"]
    assert entry["notebook"] == "01_flows" and entry["seed"] == 3 and entry["device"] == "cpu"
    assert entry["profile"] == "smoke" and entry["reproduces"] == "nothing" and entry["wall_s"] >= 0
    assert entry["commit"]
    with pytest.raises(ValueError, match="plain file name"):
        rec.path("../escape.png")
    with pytest.raises(ValueError, match="expected a"):
        rec.path("figure.exe")
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(book.BookError, match="saved directly in"):
        rec.record(outside)
    with pytest.raises(FileNotFoundError):
        rec.record(rec.path("missing.png"))


def _stub_executed(folder: Path) -> Path:
    """Empty executed notebooks, one per source, standing in for a real run."""
    folder.mkdir(parents=True, exist_ok=True)
    for src in book.discover(ROOT / "notebooks"):
        nbformat.write(nbformat.v4.new_notebook(), folder / f"{src.stem}.ipynb")
    return folder


def test_build_refuses_without_vendored_mathjax(tmp_path):
    executed = _stub_executed(tmp_path / "executed")
    stage = book.stage_book(tmp_path / "stage", executed, root=ROOT, vendored_mathjax=True)
    with pytest.raises(book.BookError, match="python -m rfn.book mathjax"):
        book.build(stage)


def test_build_refuses_without_executed_notebooks(tmp_path):
    (tmp_path / "executed").mkdir()
    stage = book.stage_book(tmp_path / "stage", tmp_path / "executed", root=ROOT, vendored_mathjax=False)
    with pytest.raises(book.BookError, match="python -m rfn.book run"):
        book.build(stage)


def test_build_refuses_executed_notebooks_without_a_source(tmp_path):
    executed = _stub_executed(tmp_path / "executed")
    nbformat.write(nbformat.v4.new_notebook(), executed / "03_renamed_long_ago.ipynb")
    stage = book.stage_book(tmp_path / "stage", executed, root=ROOT, vendored_mathjax=False)
    with pytest.raises(book.BookError, match="03_renamed_long_ago"):
        book.build(stage)


def test_toc_takes_the_notebook_pages_from_the_executed_folder():
    toc = (ROOT / "_toc.yml").read_text()
    assert "- glob: book/_executed/*" in toc
    assert "book/_executed/" not in "".join(book._toc_files(book._load_yaml(ROOT / "_toc.yml")))


def test_a_failing_notebook_stops_the_run_naming_notebook_and_cell(tmp_path):
    failing = GOOD + '\n# %%\nhalf = 1\nraise RuntimeError("boom in the third cell")\n'
    _write(tmp_path / "notebooks", "01_fail.py", failing)
    _write(tmp_path / "notebooks", "02_never.py", GOOD)
    with pytest.raises(book.BookError) as err:
        book.run("smoke", root=tmp_path, executed_dir=tmp_path / "out", figures_dir=tmp_path / "fig", timeout=120)
    message = str(err.value)
    assert "notebooks/01_fail.py" in message
    assert "RuntimeError: boom in the third cell" in message
    assert 'raise RuntimeError("boom in the third cell")' in message  # the failing cell's source
    assert (tmp_path / "out" / "01_fail.ipynb").is_file()  # kept for its traceback
    assert not (tmp_path / "out" / "02_never.ipynb").exists()  # the run stopped


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_notebooks_run_in_smoke_profile_and_the_book_builds(tmp_path):
    executed, figures = tmp_path / "executed", tmp_path / "figures"
    times = book.run(
        "smoke", seed=0, root=ROOT, executed_dir=executed, figures_dir=figures, timeout=600,
    )  # fmt: skip
    assert set(times) == {p.stem for p in book.discover(ROOT / "notebooks")}

    manifest = json.loads((figures / "smoke" / "manifest.json").read_text())
    assert set(manifest["notebooks"]) == set(times)
    for name, entry in manifest["figures"].items():
        assert (figures / "smoke" / name).is_file(), name
        assert entry["profile"] == "smoke" and entry["seed"] == 0
    for src in book.discover(ROOT / "notebooks"):
        nb = nbformat.read(executed / f"{src.stem}.ipynb", as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
        assert all(o.output_type != "error" for c in nb.cells for o in c.get("outputs", []))

    stage = book.stage_book(tmp_path / "stage", executed, root=ROOT, vendored_mathjax=False)
    html = book.build(stage, quiet=True)
    raw = (html / "book" / "_executed" / "01_flows.html").read_text()
    page = htmllib.unescape(re.sub(r"<[^>]+>", "", raw))  # the text a reader sees, without highlighting markup
    assert 'profile = "smoke"' not in page  # papermill's injected cell is hidden
    assert 'profile = "quick"' in page  # the parameters cell with its defaults is shown
    assert "Normalising flows from scratch" in page
    assert any((html / "_images").glob("*.gif")), "the training animation was not rendered"
    assert (html / "book" / "status.html").is_file() and (html / "book" / "bibliography.html").is_file()
    for src in book.discover(ROOT / "notebooks"):  # the toc's glob picked up every executed notebook
        assert (html / "book" / "_executed" / f"{src.stem}.html").is_file(), src.stem

"""rfn.book.build: refusals before building, the toc's glob, and (slow) every notebook in smoke plus a -W build.

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
from pathlib import Path

import nbformat
import pytest

from rfn import book

ROOT = Path(__file__).resolve().parents[1]


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


def test_build_refuses_outside_a_book(tmp_path):
    with pytest.raises(book.BookError, match="run from the repository root"):
        book.build(tmp_path)


def test_toc_takes_the_notebook_pages_from_the_executed_folder():
    toc = (ROOT / "_toc.yml").read_text()
    assert "- glob: book/_executed/*" in toc
    assert "book/_executed/" not in "".join(book.toc_files(book.load_yaml(ROOT / "_toc.yml")))


def test_toc_files_walks_nested_entries():
    toc = {"root": "intro", "parts": [{"chapters": [{"file": "a"}, {"glob": "x/*"}, {"sections": [{"file": "b"}]}]}]}
    assert book.toc_files(toc) == ["intro", "a", "b"]


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
        assert str(ROOT) not in nbformat.writes(nb), f"{src.stem} names the repository's absolute path"

    stage = book.stage_book(tmp_path / "stage", executed, root=ROOT, vendored_mathjax=False)
    html = book.build(stage, quiet=True)
    raw = (html / "book" / "_executed" / "01_flows.html").read_text()
    page = htmllib.unescape(re.sub(r"<[^>]+>", "", raw))  # the text a reader sees, without highlighting markup
    assert 'profile = "smoke"' not in page  # papermill's injected cell is hidden
    assert 'profile = "auto"' not in page  # nor the defaults: the page says what it was rendered with
    assert "Rendered with profile smoke, seed 0, device" in page
    assert "Normalising flows from scratch" in page
    assert any((html / "_images").glob("*.gif")), "the training animation was not rendered"
    assert (html / "book" / "status.html").is_file() and (html / "book" / "bibliography.html").is_file()
    for src in book.discover(ROOT / "notebooks"):  # the toc's glob picked up every executed notebook
        assert (html / "book" / "_executed" / f"{src.stem}.html").is_file(), src.stem

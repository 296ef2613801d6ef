"""rfn.book.execute and rfn.book.cli: papermill runs, the injected cell is hidden, failures name the cell."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_sources import GOOD, write_source

from rfn import book


def test_parameters_cells_are_hidden_once():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("profile = 'quick'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(profile)"),
    ]
    assert book.hide_injected_parameters(nb) == 2  # the defaults are not what the page was rendered with
    assert nb.cells[1].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert nb.cells[0].metadata["tags"] == ["parameters", "remove-cell"]
    assert nb.cells[2].metadata.get("tags", []) == []
    assert book.hide_injected_parameters(nb) == 0


def test_a_failing_notebook_stops_the_run_naming_notebook_and_cell(tmp_path):
    failing = GOOD + '\n# %%\nhalf = 1\nraise RuntimeError("boom in the third cell")\n'
    write_source(tmp_path / "notebooks", "01_fail.py", failing)
    write_source(tmp_path / "notebooks", "02_never.py", GOOD)
    good = tmp_path / "out" / "01_fail.ipynb"  # the executed copy of an earlier, successful run
    good.parent.mkdir()
    good.write_text("the good copy")
    with pytest.raises(book.BookError) as err:
        book.run("smoke", root=tmp_path, executed_dir=tmp_path / "out", figures_dir=tmp_path / "fig", timeout=120)
    message = str(err.value)
    assert "notebooks/01_fail.py" in message
    assert "RuntimeError: boom in the third cell" in message
    assert 'raise RuntimeError("boom in the third cell")' in message  # the failing cell's source
    assert good.read_text() == "the good copy"  # a failed run never replaces the executed copy
    assert (tmp_path / "_build" / "failed" / "01_fail.ipynb").is_file()  # kept for its traceback
    assert "_build/failed/01_fail.ipynb" in message
    assert not (tmp_path / "out" / "02_never.ipynb").exists()  # the run stopped
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["01_fail.ipynb"]  # no temporary file


def test_a_run_passes_the_profile_and_records_the_notebook(tmp_path):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD)
    times = book.run("reference", seed=2, root=tmp_path, executed_dir=tmp_path / "out", figures_dir=tmp_path / "fig")
    assert list(times) == ["01_ok"]
    nb = nbformat.read(tmp_path / "out" / "01_ok.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert printed.strip() == "reference 2"
    manifest = json.loads((tmp_path / "fig" / "reference" / "manifest.json").read_text())
    assert manifest["notebooks"]["01_ok"]["seed"] == 2
    assert nb.metadata.papermill["input_path"] == "notebooks/01_ok.py"  # no folder of this machine
    assert nb.metadata.papermill["output_path"] == "out/01_ok.ipynb"
    assert nb.metadata.papermill["parameters"]["figures_dir"] == "fig"  # relative to the root, the notebooks' cwd
    assert str(tmp_path) not in nbformat.writes(nb)


def test_run_passes_figures_dir_relative_to_the_root(tmp_path):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD.replace("print(profile, seed)", "print(figures_dir)"))
    book.run("smoke", root=tmp_path, executed_dir=tmp_path / "book" / "_executed")
    nb = nbformat.read(tmp_path / "book" / "_executed" / "01_ok.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert printed.strip() == "_build/figures"
    assert nb.metadata.papermill["output_path"] == "book/_executed/01_ok.ipynb"
    assert str(tmp_path) not in nbformat.writes(nb)


def test_command_line_passes_page_parameters_and_refuses_unknown_ones(tmp_path, capsys):
    source = GOOD.replace('figures_dir = "_build/figures"\n', 'figures_dir = "_build/figures"\nsamples = None\n')
    write_source(tmp_path / "notebooks", "01_ok.py", source.replace("print(profile, seed)", "print(samples)"))
    out = tmp_path / "out"
    common = ["--root", str(tmp_path), "run", "--profile", "smoke", "--executed-dir", str(out)]
    assert book.main([*common, "-p", "samples", "[1, 2.5]"]) == 0
    nb = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])).strip() == "[1, 2.5]"
    assert book.main([*common, "-p", "sample", "3"]) == 1
    assert "unknown notebook parameter(s) sample" in capsys.readouterr().err
    assert book.main([*common, "-p", "seed", "3"]) == 1
    assert "pass it as --seed" in capsys.readouterr().err


def test_run_refuses_an_unknown_profile_before_running_anything(tmp_path):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD)
    with pytest.raises(book.BookError, match="now called 'thesis'"):
        book.run("full", root=tmp_path, executed_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_command_line_check(tmp_path, capsys):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD)
    assert book.main(["--root", str(tmp_path), "check"]) == 0
    assert "notebook sources ok (1 checked)" in capsys.readouterr().out
    write_source(tmp_path / "notebooks", "02_bad.py", GOOD.replace("seed = 0\n", ""))
    assert book.main(["--root", str(tmp_path), "check"]) == 1
    assert "must assign 'seed'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        book.main(["run", "--profile", "full"])

"""The book does not publish what went wrong: unknown parameters, failed or corrupt executed notebooks, figures."""

from __future__ import annotations

import nbformat
import pytest
from notebook_sources import GOOD, write_source

from rfn import book
from rfn.book.build import check_executed_notebook
from rfn.book.sources import unknown_parameters


def _executed(cells: list, tmp_path, name: str = "01_page.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


PARAMS = nbformat.v4.new_code_cell('profile = "quick"\nseed = 0', metadata={"tags": ["parameters"]})


def test_build_refuses_an_executed_notebook_that_recorded_an_error(tmp_path):
    bad = nbformat.v4.new_code_cell("1 / 0")
    bad.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    path = _executed([PARAMS, bad], tmp_path)
    with pytest.raises(book.BookError, match=r"01_page.ipynb recorded an error in cell 1: ZeroDivisionError"):
        check_executed_notebook(path)


def test_build_names_a_corrupt_executed_notebook(tmp_path):
    path = tmp_path / "03_page.ipynb"
    path.write_text('{"cells": [')  # cut short
    with pytest.raises(book.BookError, match=r"03_page.ipynb is not a readable notebook .*--only 03"):
        check_executed_notebook(path)


def test_a_typo_in_an_injected_parameter_is_refused(tmp_path):
    typo = nbformat.v4.new_code_cell('# Parameters\nprofle = "smoke"\n', metadata={"tags": ["injected-parameters"]})
    path = _executed([PARAMS, typo], tmp_path)
    assert unknown_parameters(nbformat.read(path, as_version=4)) == ["profle"]
    with pytest.raises(book.BookError, match="parameter.s. profle that its parameters cell does not declare"):
        check_executed_notebook(path)
    fine = nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["injected-parameters"]})
    check_executed_notebook(_executed([PARAMS, fine], tmp_path, "02_page.ipynb"))


def test_run_rejects_parameters_no_notebook_declares_before_running(tmp_path):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD)
    with pytest.raises(book.BookError, match="unknown notebook parameter.s. profle"):
        book.run("smoke", root=tmp_path, executed_dir=tmp_path / "out", extra_parameters={"profle": "smoke"})
    assert not (tmp_path / "out").exists()


def test_figures_go_to_scratch_unless_the_caller_names_a_folder_or_asks(tmp_path):
    write_source(tmp_path / "notebooks", "01_ok.py", GOOD)
    committed = tmp_path / "figures"
    book.run("smoke", root=tmp_path, executed_dir=tmp_path / "out")
    assert not committed.exists()  # the committed figures (and their manifest) are left alone
    assert (tmp_path / "_build" / "figures" / "smoke" / "manifest.json").is_file()
    nb = nbformat.read(tmp_path / "out" / "01_ok.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'figures_dir = "_build/figures"' in injected.source  # relative to the root: no folder of this machine


@pytest.mark.parametrize(
    "cell, timeout, expected",
    [
        ("import os\nos._exit(3)  # the kernel dies", 120, "its kernel died"),
        ("import time\ntime.sleep(60)  # never ends in time", 3, "a cell ran longer than the time limit of 3 s"),
    ],
)
def test_a_dead_kernel_or_a_timeout_is_one_paragraph_keeping_the_partial_copy(tmp_path, cell, timeout, expected):
    write_source(tmp_path / "notebooks", "01_dies.py", GOOD + "\n# %%\n" + cell + "\n")
    good = tmp_path / "out" / "01_dies.ipynb"  # the executed copy of an earlier, successful run
    good.parent.mkdir()
    good.write_text("the good copy")
    with pytest.raises(book.BookError) as err:
        book.run("smoke", root=tmp_path, executed_dir=tmp_path / "out", figures_dir=tmp_path / "fig", timeout=timeout)
    message = str(err.value)
    failed = tmp_path / "_build" / "failed" / "01_dies.ipynb"
    assert f"notebook {tmp_path / 'notebooks' / '01_dies.py'} stopped in cell " in message and expected in message
    assert cell.splitlines()[1] in message  # the cell's source
    assert f"the partly executed notebook is {failed}" in message and "Traceback" not in message
    partial = nbformat.read(failed, as_version=4)
    assert any("print(profile, seed)" in c.source and c.outputs for c in partial.cells)  # what ran before is kept
    assert good.read_text() == "the good copy"

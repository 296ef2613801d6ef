"""rfn.book.sources: the notebook sources are clean, the guard rejects bad ones, discovery follows ORDER."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_sources import GOOD, write_source

from rfn import book

ROOT = Path(__file__).resolve().parents[1]


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
        assert params["profile"] == "auto", f"{src}: a page run by hand renders what make book renders"
        assert params["figures_dir"] == "_build/figures", f"{src}: the committed figures/ only through the runner"
        assert all(not c.get("outputs") for c in nb.cells)
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_guard_accepts_a_good_source(tmp_path):
    write_source(tmp_path, "01_good.py", GOOD)
    assert book.check_sources(tmp_path) == []


@pytest.mark.parametrize("profile", ["auto", "smoke", "quick", "reference", "thesis"])
def test_guard_accepts_every_profile_name(tmp_path, profile):
    write_source(tmp_path, "01_good.py", GOOD.replace('profile = "quick"', f'profile = "{profile}"'))
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
        (lambda s: s.replace('profile = "quick"', 'profile = "huge"'), "is not 'auto' or one of"),
        (lambda s: s.replace('profile = "quick"', 'profile = "full"'), "is not 'auto' or one of"),
        (lambda s: s.replace('"_build/figures"', '"figures"'), "writes into the committed figures/"),
        (lambda s: s.replace("About this page", "About"), "no 'About this page' cell"),
        (lambda s: s.replace("seed = 0", 'seed = int("0")'), "must be a literal"),
        (lambda s: s.replace("Checkpoint: none.", ""), "'checkpoint'"),
        (lambda s: s.split("\n\n", 1)[1], "first cell must be markdown"),
        (lambda s: s.replace("# %%", "#"), "not a jupytext py:percent script"),
        (lambda s: s.replace("{glue:figure} opening", "{figure} x.png"), "opening figure"),
        (lambda s: s.replace(":figclass: rfn-opening", ""), "opening figure"),
        (lambda s: s.replace('glue_image("opening"', 'glue_image("other"'), "opening figure"),
        (lambda s: s.replace('fig.savefig("opening.png"); glue_image', "# glue_image"), "opening figure"),
        (lambda s: s + "\n# %%\n" + "x = 1\n" * 40, "prose is"),
    ],
)
def test_guard_rejects_bad_sources(tmp_path, edit, expected):
    write_source(tmp_path, "01_bad.py", edit(GOOD))
    problems = book.check_sources(tmp_path)
    assert any(expected in p for p in problems), problems


def test_guard_rejects_unknown_notebook_numbers(tmp_path):
    write_source(tmp_path, "42_mystery.py", GOOD)
    problems = book.check_sources(tmp_path)
    assert any("not in rfn.book.ORDER" in p for p in problems), problems


def test_discover_follows_the_dependency_order(tmp_path):
    for name in ("05_results.py", "04_training.py", "01_flows.py"):
        write_source(tmp_path, name, GOOD)
    assert [p.name for p in book.discover(tmp_path)] == ["01_flows.py", "04_training.py", "05_results.py"]
    assert [p.name for p in book.discover(tmp_path, only=["04"])] == ["04_training.py"]
    assert [p.name for p in book.discover(tmp_path, only=["05_results"])] == ["05_results.py"]
    with pytest.raises(book.BookError, match="--only 07"):
        book.discover(tmp_path, only=["07"])
    write_source(tmp_path, "04_other.py", GOOD)
    with pytest.raises(book.BookError, match="more than one notebook per number"):
        book.discover(tmp_path)


def test_glue_image_needs_the_file_and_does_nothing_outside_a_kernel(tmp_path):
    from rfn.book.figures import glue_image

    with pytest.raises(FileNotFoundError, match="save it first"):
        glue_image("opening", tmp_path / "missing.png")
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert glue_image("opening", tmp_path / "x.png") is None  # no kernel here: nothing to glue into

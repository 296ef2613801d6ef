"""A notebook run by hand, as a reader would: papermill as book/usage.md shows it, and nbconvert from notebooks/.

Both run at the smoke profile on a clone of this repository (its committed tree plus the working
tree's changes, committed in the clone), with the clone's package on the path. The clone's
`git status` must stay clean (figures go to `_build/figures`, never the committed `figures/`),
the committed figures' provenance must still pass, and no executed notebook may name the
clone's absolute path. The runner's `-p NAME VALUE` renders notebook 06 with another
temperature grid in the same clone.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: the by-hand commands of the manual page (a jupytext conversion and a papermill run)
USAGE = ROOT / "book" / "usage.md"

pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _by_hand_commands() -> list[list[str]]:
    """The jupytext and papermill lines of usage.md's bash blocks, as argument lists."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", USAGE.read_text(encoding="utf-8"), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith(("jupytext ", "papermill ")):
                out.append(shlex.split(line))
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of the repository with the working tree's changes committed, and the environment to run in it."""
    path = tmp_path_factory.mktemp("by-hand") / "rfn"
    _git(ROOT, "clone", "--quiet", "--no-checkout", str(ROOT), str(path))
    _git(path, "checkout", "--quiet", _git(ROOT, "rev-parse", "HEAD").strip())
    changed = _git(ROOT, "ls-files", "--modified", "--others", "--exclude-standard").split("\n")
    for name in filter(None, changed):
        src, dst = ROOT / name, path / name
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif dst.exists():
            dst.unlink()
    if _git(path, "status", "--porcelain"):
        _git(path, "add", "-A")
        _git(path, "-c", "user.name=rfn tests", "-c", "user.email=tests@rfn.invalid", "commit", "-qm", "working tree")
    return path


def _env(clone: Path) -> dict[str, str]:
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PYTHONPATH": str(clone), "OMP_NUM_THREADS": "1", "PATH": path}


def _run(argv: list[str], cwd: Path, clone: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, env=_env(clone), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def _clean_and_trusted(clone: Path) -> None:
    assert _git(clone, "status", "--porcelain") == "", "a by-hand run changed committed files"
    _run([sys.executable, "-m", "rfn.book.provenance", "--root", str(clone)], clone, clone)


def _no_machine_paths(path: Path, clone: Path) -> str:
    text = path.read_text(encoding="utf-8")
    for folder in {str(clone), str(clone.resolve())}:
        assert folder not in text, f"{path.name} names the rendering machine's folder {folder}"
    return text


def test_papermill_by_hand_leaves_the_checkout_clean(clone):
    commands = _by_hand_commands()
    assert [c[0] for c in commands] == ["jupytext", "papermill"], commands
    assert "-p" in commands[1] and "figures_dir" not in commands[1]  # the default is safe
    for argv in commands:
        _run([str(BIN / argv[0]), *argv[1:]], clone, clone)
    _clean_and_trusted(clone)
    executed = clone / commands[1][2]
    nb = nbformat.read(executed, as_version=4)
    assert all(o.output_type != "error" for c in nb.cells for o in c.get("outputs", []))
    text = _no_machine_paths(executed, clone)
    assert "page parameters: weights=5" in text  # the page shows what it was rendered with
    manifest = clone / "_build" / "figures" / "smoke" / "manifest.json"
    assert manifest.is_file() and "07_interpolation" in manifest.read_text()


def test_a_converted_notebook_runs_in_nbconvert_from_inside_notebooks(clone):
    notebooks = clone / "notebooks"
    _run([str(BIN / "jupytext"), "--to", "ipynb", "--set-kernel", "python3", "08_kl_bpp_analysis.py"], notebooks, clone)
    converted = notebooks / "08_kl_bpp_analysis.ipynb"
    nb = nbformat.read(converted, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'profile = "auto"' in cell.source
    cell.source = cell.source.replace('profile = "auto"', 'profile = "smoke"')  # as a reader edits the cell
    nbformat.write(nb, converted)
    argv = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--output", "08_run.ipynb"]
    _run([*argv, "--ExecutePreprocessor.timeout=300", converted.name], notebooks, clone)
    _clean_and_trusted(clone)
    text = _no_machine_paths(notebooks / "08_run.ipynb", clone)
    assert "Rendered with profile `smoke`" in text and "figures in `_build/figures/smoke/`" in text
    assert (clone / "_build" / "figures" / "smoke" / "fig10_4_prior_vs_posterior_smmnist.png").is_file()


def test_the_runner_renders_a_custom_temperature_grid(clone, tmp_path):
    out, figures = tmp_path / "executed", tmp_path / "figures"
    argv = [sys.executable, "-m", "rfn.book", "run", "--profile", "smoke", "--only", "06"]
    argv += ["-p", "temperatures", "[0, 0.3, 0.6]", "--figures-dir", str(figures), "--executed-dir", str(out)]
    _run(argv, clone, clone)
    with open(figures / "smoke" / "tab10_temperature_measures.csv", newline="") as f:
        grid = sorted({float(row["τ"]) for row in csv.DictReader(f)})
    assert grid == [0.0, 0.3, 0.6]
    text = (out / "06_temperature.ipynb").read_text()
    assert "page parameters: temperatures=[0, 0.3, 0.6]" in text
    _clean_and_trusted(clone)

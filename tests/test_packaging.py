"""Packaging: ranges in pyproject.toml, pins in requirements*.txt, imports declared, LICENSE, a wheel that installs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import rfn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# import name -> distribution name, where they differ
DIST_OF = {"PIL": "pillow", "sklearn": "scikit-learn", "skimage": "scikit-image", "yaml": "pyyaml"}
# imported only inside a try/except that explains what to install or falls back (not dependencies):
# IPython shows rfn.book.page's line as Markdown in a kernel, plain text elsewhere
OPTIONAL_IMPORTS = {"tensorflow", "lpips", "IPython"}
# needed at run time but reached through another package
INDIRECT = {"tensorboard": "torch.utils.tensorboard", "imageio-ffmpeg": "imageio's MP4 writer"}


def pins(name: str) -> dict[str, str]:
    """``requirements file`` -> {canonical name: pinned version}; every line must be an exact pin."""
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{name}: {line!r} is not an exact pin"
        out[canonicalize_name(req.name)] = spec[0].version
    return out


def ranges(reqs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs) if r.name != "rfn"}


def imported_modules(paths: list[Path]) -> set[str]:
    """Top-level names of the non-standard-library modules imported by the files."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("rfn", "__future__")}


def test_requires_python_and_ranges_not_pins():
    assert PROJECT["requires-python"] == ">=3.11"
    for req in map(Requirement, PROJECT["dependencies"]):
        assert all(s.operator != "==" for s in req.specifier), f"{req} is a pin; pyproject.toml takes ranges"
        assert req.specifier, f"{req} has no lower bound"


def test_every_pin_lies_in_its_range():
    runtime, extras = ranges(PROJECT["dependencies"]), PROJECT["optional-dependencies"]
    assert set(pins("requirements.txt")) == set(runtime), "requirements.txt and the dependencies name other packages"
    tools = {**ranges(extras["book"]), **ranges(extras["test"])}
    dev = pins("requirements-dev.txt")
    assert set(dev) - {"setuptools"} == set(tools), "requirements-dev.txt and the book/test extras differ"
    for name, version in {**pins("requirements.txt"), **dev}.items():
        req = runtime.get(name) or tools.get(name)
        if req is not None:
            assert req.specifier.contains(version, prereleases=True), f"pin {name}=={version} is outside {req}"
    assert extras["dev"] == ["rfn[book,test]"]


def test_runtime_imports_are_declared():
    package = ROOT / "rfn"
    book_files = [*package.glob("book/*.py"), *package.glob("pages/*.py")]
    core = [p for p in package.rglob("*.py") if p not in book_files]
    runtime = set(ranges(PROJECT["dependencies"]))
    book = runtime | set(ranges(PROJECT["optional-dependencies"]["book"]))
    for files, declared, where in ((core, runtime, "dependencies"), (book_files, book, "dependencies + book extra")):
        dists = {canonicalize_name(DIST_OF.get(m, m)) for m in imported_modules(files) - OPTIONAL_IMPORTS}
        assert dists <= declared, f"imported but not in {where}: {sorted(dists - declared)}"
    unused = runtime - set(INDIRECT) - {canonicalize_name(DIST_OF.get(m, m)) for m in imported_modules(core)}
    assert unused == set(), f"declared runtime dependencies nothing in rfn/ imports: {sorted(unused)}"


def test_license_version_and_ignored_build_outputs():
    assert PROJECT["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert PROJECT["dynamic"] == ["version"] and PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    from rfn.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    ignored = subprocess.run(
        ["git", "check-ignore", "build/lib/x.py", "dist/rfn-0.1.0.whl", "rfn.egg-info/PKG-INFO"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert len(ignored.stdout.split()) == 3, ignored.stdout


@pytest.mark.slow
def test_wheel_metadata_and_fresh_venv_install(tmp_path):
    """Build the wheel (no network), install it into a fresh venv that sees the pinned packages, run rfn --version."""
    src = tmp_path / "src"
    src.mkdir()
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (name in ("pyproject.toml", "README.md", "LICENSE") or name.startswith("rfn/")):
            if (ROOT / name).is_file():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                (src / name).write_bytes((ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(wheels)], check=True)
    (wheel,) = wheels.glob("rfn-*.whl")
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(f"rfn-{rfn.__version__}.dist-info/METADATA").decode()
        assert any(n.endswith("licenses/LICENSE") for n in z.namelist())
        assert "rfn/metrics/weights/digit-classifier.pt" in z.namelist()  # the digit-identity measure's weights
        assert "rfn/metrics/weights/digit-reader.pt" in z.namelist()  # digits read at their place
    assert "Requires-Python: >=3.11" in meta
    requires = [line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist: ")]
    pinned = [r for r in requires if any(s.operator in ("==", "===") for s in Requirement(r).specifier)]
    assert requires and not pinned, pinned
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site / "pinned.pth").write_text("\n".join(here) + "\n")  # the pinned packages, so nothing is downloaded
    py = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(py), "install", "--no-index", "--no-deps", str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed wheel, not a checkout on the path
    out = subprocess.run(
        [str(venv / "bin" / "rfn"), "--version"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert (out.returncode, out.stdout.strip()) == (0, f"rfn {rfn.__version__}"), out.stderr
    code = "import rfn; print(rfn.__file__)"
    where = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert where.stdout.startswith(str(site)), where.stdout
    code = "from rfn.metrics.digits import load_digit_classifier; print(type(load_digit_classifier()).__name__)"
    loaded = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert loaded.stdout.strip() == "DigitClassifier", loaded.stderr

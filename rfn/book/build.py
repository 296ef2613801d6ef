"""Building the Jupyter Book from the executed notebooks.

``python -m rfn.book build`` runs ``jupyter-book build . --all -W -n --keep-going``:
warnings are errors, the exit code is non-zero on any failure. It refuses to start,
with a clear message, when the vendored MathJax is missing or when
``book/_executed/`` does not hold exactly one executed copy per notebook source
(``_toc.yml`` takes the notebook pages from that folder by a glob). It also refuses
an executed notebook that cannot be read (naming the file), one that recorded an
error in any cell, and one that got papermill parameters its parameters cell does
not declare (a typo such as ``-p profle smoke`` runs the default profile).
:func:`stage_book` copies the book elsewhere so that the tests can build it from
freshly executed notebooks without touching the working tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rfn.book.execute import hide_injected_parameters
from rfn.book.layout import EXECUTED_DIR, NOTEBOOKS_DIR, BookError
from rfn.book.mathjax import MATHJAX_ENTRY, VENDOR_DIR
from rfn.book.sources import discover, unknown_parameters

__all__ = ["build", "check_executed_notebook", "load_yaml", "stage_book", "toc_files"]


def load_yaml(path: Path) -> Any:
    """The YAML document at ``path`` as Python data."""
    import yaml

    return yaml.safe_load(Path(path).read_text())


def toc_files(toc: Any) -> list[str]:
    """Every ``file:`` and ``root:`` entry of a parsed ``_toc.yml``, in order (globs are not expanded)."""
    files: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    files.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def _uses_vendored_mathjax(config: dict[str, Any]) -> bool:
    sphinx_cfg = (config.get("sphinx") or {}).get("config") or {}
    return "mathjax_path" in sphinx_cfg and "://" not in str(sphinx_cfg["mathjax_path"])


def stage_book(dst: Path, executed_dir: Path, *, root: Path = Path("."), vendored_mathjax: bool = False) -> Path:
    """Copy the book's pages and config to ``dst`` with the executed notebooks from ``executed_dir``.

    Used by the tests to build the book from freshly executed (smoke) notebooks without
    touching the working tree. With ``vendored_mathjax=False`` the copy loads MathJax from
    its default CDN URL instead (only the test build does this; nothing is fetched at build time).
    """
    root, dst = Path(root), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, dst / name)
    shutil.copytree(
        root / "book", dst / "book", dirs_exist_ok=True, ignore=shutil.ignore_patterns("_executed", "_vendor")
    )
    shutil.copytree(Path(executed_dir), dst / EXECUTED_DIR, dirs_exist_ok=True)
    # The sources travel along so that build() can check every notebook has its page.
    (dst / NOTEBOOKS_DIR).mkdir(exist_ok=True)
    for src in discover(root / NOTEBOOKS_DIR):
        shutil.copy2(src, dst / NOTEBOOKS_DIR / src.name)
    if not vendored_mathjax:
        import yaml

        config = load_yaml(dst / "_config.yml")
        sphinx_cfg = config["sphinx"]["config"]
        sphinx_cfg.pop("mathjax_path", None)
        extra = [p for p in sphinx_cfg.get("html_extra_path", []) if Path(p) != VENDOR_DIR]
        if extra:
            sphinx_cfg["html_extra_path"] = extra
        else:
            sphinx_cfg.pop("html_extra_path", None)
        (dst / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dst


def _check_executed(root: Path, toc_path: Path) -> set[str]:
    """Stems of the executed notebooks, after checking there is exactly one per source."""
    executed_dir = root / EXECUTED_DIR
    expected = {src.stem for src in discover(root / NOTEBOOKS_DIR)}
    present = {p.stem for p in executed_dir.glob("*.ipynb")}
    # Pages named in _toc.yml directly (rather than through its glob) must exist too.
    listed = {
        Path(f).name.removesuffix(".ipynb") for f in toc_files(load_yaml(toc_path)) if f.startswith(str(EXECUTED_DIR))
    }
    missing = sorted((expected | listed) - present)
    if missing:
        raise BookError(
            f"no executed notebook in {EXECUTED_DIR} for {', '.join(missing)}. "
            "Run `python -m rfn.book run --profile quick` first (make book does), or "
            "`python -m rfn.book run --only NN --profile quick` for one page."
        )
    stale = sorted(present - expected - listed)
    if stale:
        raise BookError(
            f"{EXECUTED_DIR} holds executed notebooks without a source in {NOTEBOOKS_DIR}: {', '.join(stale)}; "
            "delete them (the book would render pages nobody can re-run)"
        )
    return present


def check_executed_notebook(nb_path: Path):
    """Read an executed notebook and refuse it if it is corrupt, recorded an error, or got unknown parameters.

    Returns:
        The notebook (``nbformat`` node).

    Raises:
        BookError: naming the file (and the cell or the parameters).
    """
    import nbformat

    redo = f"re-run it: python -m rfn.book run --only {nb_path.stem.split('_')[0]} --profile PROFILE"
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception as err:  # nbformat raises NotJSONError, ValidationError, UnicodeDecodeError, ...
        raise BookError(
            f"{nb_path} is not a readable notebook ({type(err).__name__}: {str(err)[:160]}); {redo}"
        ) from None
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                raise BookError(
                    f"{nb_path} recorded an error in cell {i}: {out.get('ename')}: {str(out.get('evalue'))[:160]}; "
                    f"the book does not publish a failed page; {redo}"
                )
    if (nb.metadata.get("papermill") or {}).get("exception"):
        raise BookError(f"{nb_path} is marked by papermill as failed; {redo}")
    try:
        unknown = unknown_parameters(nb)
    except BookError as err:
        raise BookError(f"{nb_path}: {err}") from None
    if unknown:
        raise BookError(
            f"{nb_path} was run with parameter(s) {', '.join(unknown)} that its parameters cell does not declare "
            f"(a typo runs the defaults); {redo}"
        )
    return nb


def build(root: Path = Path("."), *, output: Path | None = None, quiet: bool = False) -> Path:
    """``jupyter-book build ROOT --all -W -n --keep-going`` (every page rebuilt); returns the HTML folder.

    Before building it tags the parameters cells (papermill's injected one and the defaults)
    ``remove-cell`` in every executed notebook, so a page re-run by hand with the papermill CLI
    hides them too and shows only the line saying what it was rendered with.

    Raises:
        BookError: the vendored MathJax is missing, a notebook source has no executed copy in
            ``book/_executed`` (or an executed copy has no source), or the build failed (any
            Sphinx warning counts as a failure).
    """
    import nbformat

    root = Path(root).resolve()
    config_path, toc_path = root / "_config.yml", root / "_toc.yml"
    for p in (config_path, toc_path):
        if not p.is_file():
            raise BookError(f"{p} not found: run from the repository root or pass --root")
    if _uses_vendored_mathjax(load_yaml(config_path)) and not (root / MATHJAX_ENTRY).is_file():
        raise BookError(
            f"{root / MATHJAX_ENTRY} is missing: the book loads MathJax from a vendored copy so that it renders "
            "offline. Run `python -m rfn.book mathjax` once (make book does)."
        )
    for stem in sorted(_check_executed(root, toc_path)):
        nb_path = root / EXECUTED_DIR / f"{stem}.ipynb"
        nb = check_executed_notebook(nb_path)
        if hide_injected_parameters(nb):
            nbformat.write(nb, nb_path)
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(root), "--all", "-W", "-n", "--keep-going"]
    if output is not None:
        cmd += ["--path-output", str(output)]
    if quiet:
        cmd.append("-q")
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=root, check=False)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}); warnings count as errors, see above")
    html = (Path(output) if output is not None else root) / "_build" / "html"
    if not (html / "index.html").is_file():
        raise BookError(f"jupyter-book reported success but {html / 'index.html'} does not exist")
    return html

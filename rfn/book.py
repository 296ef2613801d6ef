"""Run the book's notebooks with papermill, record their figures, build the Jupyter Book.

Jupyter Book 1.x has no papermill integration, so the book is made in three steps,
each a subcommand of ``python -m rfn.book`` (``make book`` runs all three):

``mathjax``
    Fetch MathJax 3.2.2 from the npm registry once (``npm pack``, or a plain HTTPS
    download of the same tarball when npm is absent), check its sha512, and unpack
    ``es5/`` into ``book/_vendor/mathjax/`` (git-ignored). ``_config.yml`` copies that
    folder to the site root and loads MathJax from it, so pages typeset math offline.
``run --profile {smoke,quick,full} [--only NN[,NN]] [--seed S] [--device D]``
    Convert every ``notebooks/NN_*.py`` (jupytext ``py:percent``) to a notebook with
    the ``python3`` kernelspec, execute it with papermill (``-p profile ... -p seed ...``)
    in :data:`ORDER` (the training notebook before the pages that read its
    checkpoints), write the executed copy to ``book/_executed/``, hide papermill's
    injected-parameters cell (``remove-cell`` tag), and record the wall time in
    ``figures/<profile>/manifest.json``. A failing notebook stops the run with a
    message naming the notebook, the cell and the error.
``build``
    ``jupyter-book build . --all -W -n --keep-going``: warnings are errors, the exit code is
    non-zero on any failure. Refuses to start, with a clear message, when the vendored
    MathJax is missing or when ``book/_executed/`` does not hold exactly one executed copy
    per notebook source (``_toc.yml`` takes the notebook pages from that folder by a glob).
``check``
    Guard the notebook sources: no outputs, a leading markdown cell saying what the page
    reproduces, its run time and its checkpoint, and exactly one cell tagged
    ``parameters`` that assigns ``profile``, ``device``, ``seed`` and ``figures_dir``.

Notebooks save every figure through :class:`FigureRecorder`, which writes it under
``figures/<profile>/`` and adds an entry to the same manifest (notebook, profile, device,
seed, commit, wall time)::

    rec = FigureRecorder("01_flows", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
    rec.savefig(fig, "fig_flows_two_moons_density.png")   # -> figures/quick/fig_flows_...png
    rec.record(some_path_written_elsewhere)               # a GIF or a CSV table made by rfn.viz

Example:
    >>> sorted(PROFILES)
    ['full', 'quick', 'smoke']
    >>> order_key(Path("notebooks/04_training.py"))
    3
"""

from __future__ import annotations

import argparse
import ast
import base64
import datetime as _dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MATHJAX_INTEGRITY",
    "MATHJAX_VERSION",
    "ORDER",
    "PROFILES",
    "BookError",
    "FigureRecorder",
    "build",
    "check_sources",
    "discover",
    "fetch_mathjax",
    "hide_injected_parameters",
    "main",
    "order_key",
    "parameters_of",
    "record_figure",
    "resolve_device",
    "run",
    "stage_book",
    "to_notebook",
]

PROFILES = ("smoke", "quick", "full")

#: Execution order by notebook number. Training (04) writes the checkpoints that the
#: result pages (05-09) read, so it must run before them; 01-03 stand alone. A new
#: notebook's number must be added here (the runner refuses unknown numbers).
ORDER: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07", "08", "09")

#: Parameters every notebook's ``parameters`` cell must assign.
REQUIRED_PARAMETERS = ("profile", "device", "seed", "figures_dir")

MATHJAX_VERSION = "3.2.2"
#: npm's ``dist.integrity`` of mathjax-3.2.2.tgz (sha512, base64).
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
MATHJAX_URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
#: Where the vendored copy lives, relative to the book root (git-ignored).
VENDOR_DIR = Path("book/_vendor")
MATHJAX_ENTRY = VENDOR_DIR / "mathjax" / "es5" / "tex-chtml.js"
EXECUTED_DIR = Path("book/_executed")
NOTEBOOKS_DIR = Path("notebooks")
MANIFEST = "manifest.json"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class BookError(RuntimeError):
    """The book cannot be run or built; the message says what is wrong and what to do."""


# --------------------------------------------------------------------------- sources


def order_key(path: Path) -> int:
    """Position of ``notebooks/NN_name.py`` in :data:`ORDER`.

    Raises:
        BookError: the file name does not start with a number listed in :data:`ORDER`.
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
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as err:
        raise BookError(f"the parameters cell is not valid Python: {err}") from err
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            raise BookError(
                f"the parameters cell may only assign literals to names, found {ast.dump(node)[:80]!r}; "
                "derive other settings in the next cell"
            )
        try:
            values[target] = ast.literal_eval(value)
        except ValueError as err:
            raise BookError(f"parameter {target!r} must be a literal (papermill overrides literals)") from err
    return values


def check_sources(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Problems with the notebook sources, one line each (empty when all is well).

    Checks every ``notebooks/*.py``: it is a jupytext percent script, carries no outputs,
    opens with a markdown cell naming what it reproduces, its run time and its checkpoint,
    and has exactly one ``parameters`` cell assigning :data:`REQUIRED_PARAMETERS`, with
    ``profile`` one of :data:`PROFILES`. Also flags executed ``.ipynb`` files tracked by git.
    """
    notebooks_dir = Path(notebooks_dir)
    problems: list[str] = []
    sources = sorted(notebooks_dir.glob("*.py"))
    for src in sources:
        text = src.read_text(encoding="utf-8")
        if "# %%" not in text:
            problems.append(f"{src}: not a jupytext py:percent script (no '# %%' cell markers)")
            continue
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
            problems.append(f"{src}: the first cell must be markdown saying what the page reproduces")
        else:
            low = first.source.lower()
            for word in ("reproduce", "run time", "checkpoint"):
                if word not in low:
                    problems.append(f"{src}: the first markdown cell must mention {word!r}")
        try:
            params = parameters_of(nb)
        except BookError as err:
            problems.append(f"{src}: {err}")
            continue
        for name in REQUIRED_PARAMETERS:
            if name not in params:
                problems.append(f"{src}: the parameters cell must assign {name!r}")
        if "profile" in params and params["profile"] not in PROFILES:
            problems.append(f"{src}: profile default {params['profile']!r} is not one of {PROFILES}")
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


# --------------------------------------------------------------------------- manifest


def _commit(cwd: Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _update_manifest(figures_root: Path, profile: str, section: str, key: str, entry: dict[str, Any]) -> Path:
    """Merge one entry into ``figures_root/profile/manifest.json`` (atomic replace)."""
    folder = Path(figures_root) / profile
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    data: dict[str, Any] = {"profile": profile, "notebooks": {}, "figures": {}}
    if path.exists():
        try:
            data.update(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise BookError(f"{path} is not valid JSON ({err}); delete it and re-run the notebooks") from err
    data.setdefault(section, {})[key] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``; any other name is returned as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def record_figure(
    path: str | Path,
    *,
    notebook: str,
    profile: str,
    device: str,
    seed: int,
    wall_s: float | None = None,
    figures_dir: str | Path = "figures",
    **extra: Any,
) -> Path:
    """Add one file under ``figures_dir/profile/`` to that folder's manifest.

    Args:
        path: the figure (PNG, GIF, MP4) or table (CSV, Markdown) already written.
        notebook: stem of the notebook that made it, e.g. ``"01_flows"``.
        profile: ``smoke`` | ``quick`` | ``full``.
        device: the device the numbers were computed on (resolved, not ``"auto"``).
        seed: the seed the notebook ran with.
        wall_s: seconds from the notebook's start until this file was written.
        figures_dir: root of the figure folders (the notebook's ``figures_dir`` parameter).
        **extra: anything else worth keeping next to the figure (e.g. ``reproduces="Fig 2.1a"``).

    Returns:
        The manifest path.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        BookError: ``path`` is not inside ``figures_dir/profile``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such figure; save it before recording it")
    folder = Path(figures_dir) / profile
    if path.resolve().parent != folder.resolve():
        raise BookError(f"{path}: figures must be saved directly in {folder} so the manifest can find them")
    entry = {
        "notebook": notebook,
        "profile": profile,
        "device": device,
        "seed": seed,
        "commit": _commit(),
        "wall_s": None if wall_s is None else round(float(wall_s), 2),
        "created": _now(),
        "bytes": path.stat().st_size,
        **extra,
    }
    return _update_manifest(Path(figures_dir), profile, "figures", path.name, entry)


class FigureRecorder:
    """Saves a notebook's figures under ``figures/<profile>/`` and records each in the manifest.

    Create it in the first code cell after the parameters so that ``wall_s`` counts from
    the notebook's start.

    Args:
        notebook: notebook stem, e.g. ``"01_flows"``.
        profile, seed, device, figures_dir: the notebook's parameters (``device`` may be ``"auto"``).

    Example:
        >>> import tempfile, matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> tmp = tempfile.mkdtemp()
        >>> rec = FigureRecorder("01_flows", profile="smoke", seed=0, device="cpu", figures_dir=tmp)
        >>> fig = plt.figure(); path = rec.savefig(fig, "fig_demo.png"); plt.close(fig)
        >>> path.name, sorted(json.loads((path.parent / "manifest.json").read_text())["figures"])
        ('fig_demo.png', ['fig_demo.png'])
    """

    def __init__(self, notebook: str, *, profile: str, seed: int, device: str, figures_dir: str | Path = "figures"):
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        self.notebook = notebook
        self.profile = profile
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.figures_dir = Path(figures_dir)
        self.folder = self.figures_dir / profile
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start = time.perf_counter()

    def path(self, name: str) -> Path:
        """Where a file called ``name`` goes (``figures/<profile>/name``); checks the name."""
        if Path(name).name != name or not name or name.startswith("."):
            raise ValueError(f"figure name must be a plain file name like 'fig10_1_flow_temperature.png', got {name!r}")
        if Path(name).suffix.lower() not in {".png", ".gif", ".mp4", ".svg", ".pdf", ".csv", ".md", ".json"}:
            raise ValueError(f"{name!r}: expected a .png/.gif/.mp4/.svg/.pdf figure or a .csv/.md/.json table")
        return self.folder / name

    def record(self, path: str | Path, **extra: Any) -> Path:
        """Record a file already written into ``figures/<profile>/``; returns its path."""
        record_figure(
            path,
            notebook=self.notebook,
            profile=self.profile,
            device=self.device,
            seed=self.seed,
            wall_s=time.perf_counter() - self._start,
            figures_dir=self.figures_dir,
            **extra,
        )
        return Path(path)

    def savefig(self, fig, name: str, dpi: int = 120, **extra: Any) -> Path:
        """Save a matplotlib figure as ``figures/<profile>/name`` and record it."""
        path = self.path(name)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return self.record(path, **extra)


# --------------------------------------------------------------------------- run


def hide_injected_parameters(nb) -> int:
    """Tag papermill's ``injected-parameters`` cells ``remove-cell`` so the page hides them.

    Returns:
        How many cells were newly tagged (0 when run twice).
    """
    tagged = 0
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            tagged += 1
    return tagged


def _failure_message(source: Path, nb_path: Path, err) -> str:
    src_lines = (err.source or "").strip().splitlines()
    shown = "\n".join("    " + line for line in src_lines[:12])
    if len(src_lines) > 12:
        shown += f"\n    ... ({len(src_lines) - 12} more lines)"
    # The index counts cells of the executed copy, which holds papermill's injected cell.
    return (
        f"notebook {source} failed in cell {err.cell_index} of {nb_path} (execution count {err.exec_count}):\n"
        f"  {err.ename}: {err.evalue}\n"
        f"  cell source:\n{shown}\n"
        f"  the partly executed notebook, with the full traceback, is {nb_path}"
    )


def run_notebook(
    source: Path,
    output: Path,
    *,
    parameters: dict[str, Any],
    cwd: Path,
    timeout: float | None = None,
    log_output: bool = False,
) -> float:
    """Execute one jupytext source with papermill; returns its wall time in seconds.

    Parameters the notebook does not declare are dropped (papermill would only warn), so
    callers may pass ``figures_dir`` and other paths to every notebook.

    Raises:
        BookError: the notebook failed; the message names it, the cell and the error.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = to_notebook(source)
    declared = parameters_of(nb)
    params = {k: v for k, v in parameters.items() if k in declared and v is not None}
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            nb,
            str(output),
            parameters=params,
            kernel_name=KERNELSPEC["name"],
            language="python",
            cwd=str(cwd),
            progress_bar=False,
            log_output=log_output,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as err:
        raise BookError(_failure_message(source, output, err)) from None
    finally:
        if output.exists():
            executed = nbformat.read(output, as_version=4)
            if hide_injected_parameters(executed):
                nbformat.write(executed, output)
    return time.perf_counter() - start


def run(
    profile: str,
    *,
    seed: int = 0,
    device: str | None = None,
    only: Sequence[str] | None = None,
    root: Path = Path("."),
    executed_dir: Path | None = None,
    figures_dir: Path | None = None,
    extra_parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    log_output: bool = False,
) -> dict[str, float]:
    """Execute the notebooks in :data:`ORDER` with papermill.

    Args:
        profile: ``smoke`` (seconds, for tests), ``quick`` (minutes on a CPU), ``full`` (thesis scale, GPU).
        seed: passed to every notebook as ``seed``.
        device: passed as ``device`` when given; the notebooks default to ``"auto"``.
        only: notebook numbers or stems to run (default: all).
        root: repository root; notebooks run with it as working directory.
        executed_dir: where executed notebooks go (default ``root/book/_executed``).
        figures_dir: passed as ``figures_dir`` (default: the notebook's own, ``figures``),
            and where the manifest is written.
        extra_parameters: more papermill parameters, passed only to notebooks that declare them.
        timeout: per-cell time limit in seconds (``None``: no limit).
        log_output: stream the notebooks' output to the log.

    Returns:
        Wall seconds per notebook stem.

    Raises:
        BookError: a notebook failed, or no notebook matched.
    """
    if profile not in PROFILES:
        raise BookError(f"--profile must be one of {PROFILES}, got {profile!r}")
    root = Path(root).resolve()
    executed_dir = Path(executed_dir) if executed_dir else root / EXECUTED_DIR
    sources = discover(root / NOTEBOOKS_DIR, only)
    if not sources:
        raise BookError(f"no notebooks/NN_*.py found under {root}")
    params: dict[str, Any] = {"profile": profile, "seed": seed, "device": device, **(extra_parameters or {})}
    if figures_dir is not None:
        params["figures_dir"] = str(Path(figures_dir).resolve())
    manifest_root = Path(params.get("figures_dir") or root / "figures")
    commit = _commit(root)
    times: dict[str, float] = {}
    for i, src in enumerate(sources, 1):
        out = executed_dir / f"{src.stem}.ipynb"
        print(f"[{i}/{len(sources)}] {src.relative_to(root)} profile={profile} seed={seed} -> {out}", flush=True)
        wall = run_notebook(src, out, parameters=params, cwd=root, timeout=timeout, log_output=log_output)
        times[src.stem] = wall
        _update_manifest(
            manifest_root,
            profile,
            "notebooks",
            src.stem,
            {
                "wall_s": round(wall, 2),
                "seed": seed,
                "device": device or "auto",
                "commit": commit,
                "finished": _now(),
                "executed": os.path.relpath(out, root) if out.resolve().is_relative_to(root) else str(out),
            },
        )
        print(f"      done in {wall:.1f} s", flush=True)
    total = sum(times.values())
    print(f"ran {len(times)} notebook(s) in {total:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    return times


# --------------------------------------------------------------------------- mathjax


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_mathjax(root: Path = Path("."), force: bool = False) -> Path:
    """Vendor MathJax into ``root/book/_vendor/mathjax/es5`` (idempotent); returns the entry script.

    Uses ``npm pack mathjax@3.2.2`` when npm is on PATH, else downloads the same tarball
    from the npm registry; either way the tarball's sha512 must equal :data:`MATHJAX_INTEGRITY`.

    Raises:
        BookError: the download failed or the tarball does not match the expected hash.
    """
    root = Path(root)
    entry = root / MATHJAX_ENTRY
    if entry.is_file() and not force:
        return entry
    target = root / VENDOR_DIR / "mathjax"
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / f"mathjax-{MATHJAX_VERSION}.tgz"
        npm = shutil.which("npm")
        try:
            if npm:
                subprocess.run(
                    [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=tmp, check=True, capture_output=True
                )
            else:
                with urllib.request.urlopen(MATHJAX_URL, timeout=120) as resp:
                    tarball.write_bytes(resp.read())
        except (subprocess.CalledProcessError, OSError) as err:
            detail = getattr(err, "stderr", b"") or b""
            raise BookError(
                f"could not fetch mathjax@{MATHJAX_VERSION} from the npm registry ({err}; {detail.decode()[-300:]}); "
                f"check that {MATHJAX_URL} is reachable, or unpack that tarball's package/es5 into {target}/es5 by hand"
            ) from err
        if not tarball.is_file():
            raise BookError(f"npm pack did not produce {tarball.name} in {tmp}")
        got = _sri(tarball.read_bytes())
        if got != MATHJAX_INTEGRITY:
            raise BookError(f"{tarball.name}: sha512 integrity {got} differs from the expected {MATHJAX_INTEGRITY}")
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/") or m.name == "package/LICENSE"]
            tar.extractall(staging, members=members, filter="data")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / "package"), str(target))
    if not entry.is_file():
        raise BookError(f"{entry} missing after unpacking mathjax; the tarball layout changed?")
    return entry


# --------------------------------------------------------------------------- build


def _load_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


def _toc_files(toc: Any) -> list[str]:
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

        config = _load_yaml(dst / "_config.yml")
        sphinx_cfg = config["sphinx"]["config"]
        sphinx_cfg.pop("mathjax_path", None)
        extra = [p for p in sphinx_cfg.get("html_extra_path", []) if Path(p) != VENDOR_DIR]
        if extra:
            sphinx_cfg["html_extra_path"] = extra
        else:
            sphinx_cfg.pop("html_extra_path", None)
        (dst / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dst


def build(root: Path = Path("."), *, output: Path | None = None, quiet: bool = False) -> Path:
    """``jupyter-book build ROOT --all -W -n --keep-going`` (every page rebuilt); returns the HTML folder.

    Before building it tags papermill's injected cells ``remove-cell`` in every executed
    notebook (so a page re-run by hand with the papermill CLI hides them too).

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
    config = _load_yaml(config_path)
    if _uses_vendored_mathjax(config) and not (root / MATHJAX_ENTRY).is_file():
        raise BookError(
            f"{root / MATHJAX_ENTRY} is missing: the book loads MathJax from a vendored copy so that it renders "
            "offline. Run `python -m rfn.book mathjax` once (make book does)."
        )
    executed_dir = root / EXECUTED_DIR
    expected = {src.stem for src in discover(root / NOTEBOOKS_DIR)}
    present = {p.stem for p in executed_dir.glob("*.ipynb")}
    # Pages named in _toc.yml directly (rather than through its glob) must exist too.
    listed = {
        Path(f).name.removesuffix(".ipynb") for f in _toc_files(_load_yaml(toc_path)) if f.startswith(str(EXECUTED_DIR))
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
    for stem in sorted(present):
        nb_path = executed_dir / f"{stem}.ipynb"
        nb = nbformat.read(nb_path, as_version=4)
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


# --------------------------------------------------------------------------- cli


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m rfn.book {mathjax,run,build,check}`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m rfn.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_mj = sub.add_parser("mathjax", help="vendor MathJax for offline math (once)")
    p_mj.add_argument("--force", action="store_true", help="fetch again even if present")
    p_run = sub.add_parser("run", help="execute the notebooks with papermill")
    p_run.add_argument("--profile", choices=PROFILES, required=True)
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--device", default=None, help="passed as the notebooks' device parameter (default: auto)")
    p_run.add_argument("--only", default=None, help="comma-separated notebook numbers or stems, e.g. 01,04")
    p_run.add_argument("--timeout", type=float, default=None, help="per-cell time limit in seconds")
    p_run.add_argument("--log-output", action="store_true", help="stream notebook output")
    p_build = sub.add_parser("build", help="jupyter-book build . --all -W -n --keep-going")
    p_build.add_argument("--output", type=Path, default=None, help="put _build/ under this folder")
    sub.add_parser("check", help="guard the notebook sources")
    args = parser.parse_args(argv)
    root = args.root
    try:
        if args.command == "mathjax":
            entry = fetch_mathjax(root, force=args.force)
            print(f"MathJax {MATHJAX_VERSION} vendored at {entry}")
        elif args.command == "run":
            only = args.only.split(",") if args.only else None
            run(
                args.profile,
                seed=args.seed,
                device=args.device,
                only=only,
                root=root,
                timeout=args.timeout,
                log_output=args.log_output,
            )
        elif args.command == "build":
            html = build(root, output=args.output)
            print(f"book built: {html / 'index.html'}")
        elif args.command == "check":
            problems = check_sources(Path(root) / NOTEBOOKS_DIR)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                return 1
            print(f"notebook sources ok ({len(list((Path(root) / NOTEBOOKS_DIR).glob('*.py')))} checked)")
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

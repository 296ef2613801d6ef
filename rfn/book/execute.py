"""Executing the notebooks with papermill, in dependency order, into ``book/_executed/``.

Each source is converted to a notebook (:func:`rfn.book.sources.to_notebook`), run with
papermill (``-p profile ... -p seed ...``; the shared ones a notebook does not declare
are dropped, an extra parameter no notebook declares is an error), its injected-parameters
cell hidden, and its wall time recorded in ``<figures_dir>/<profile>/manifest.json``.

The run happens in a temporary folder: only a notebook that ran to the end replaces its
executed copy in ``book/_executed/`` (atomically), so a failure never replaces a good
page. A failing notebook stops the run with a message naming the notebook, the cell and
the error; its partly executed copy is kept in ``_build/failed/``. So does a kernel that
dies (a crash, the machine's memory killer) or a cell that runs past the time limit.

Figures go where the caller says (``figures_dir``); without one they go to
``_build/figures`` and the committed ``figures/`` stay as they are unless
``commit_figures=True`` asks to overwrite them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rfn.book.figures import now, update_manifest
from rfn.book.layout import EXECUTED_DIR, KERNELSPEC, NOTEBOOKS_DIR, BookError, check_profile
from rfn.book.sources import discover, parameters_of, to_notebook, unknown_parameters
from rfn.runtime import git_commit

__all__ = ["hide_injected_parameters", "run", "run_notebook"]


def hide_injected_parameters(nb) -> int:
    """Tag the parameters cells ``remove-cell`` so the page hides them: papermill's ``injected-parameters``
    and the notebook's own ``parameters`` cell, whose defaults are not what the page was rendered with
    (the page shows that in one line, :func:`rfn.book.page.rendered_line`).

    Returns:
        How many cells were newly tagged (0 when run twice).
    """
    tagged = 0
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if ("injected-parameters" in tags or "parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
            tagged += 1
    return tagged


#: where partly executed copies of failed notebooks are kept (relative to the working directory)
FAILED_DIR = Path("_build") / "failed"
#: where figures go when the caller names no folder and does not ask to overwrite the committed ones
SCRATCH_FIGURES = Path("_build") / "figures"
#: parameters every run passes; a notebook that does not declare one simply does not get it
SHARED_PARAMETERS = ("profile", "seed", "device", "figures_dir")


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


def _started_cell(nb_path: Path) -> tuple[int | None, str]:
    """Index and source of the last cell papermill started in a partly executed notebook (``None`` if unknown)."""
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # a copy cut short by the dead kernel: the message says less
        return None, ""
    started = [i for i, c in enumerate(nb.cells) if (c.get("metadata", {}).get("papermill") or {}).get("start_time")]
    if not started:
        return None, ""
    return started[-1], nb.cells[started[-1]].get("source", "")


def _abort_message(source: Path, nb_path: Path | None, err: BaseException, timeout: float | None) -> str:
    """One paragraph for a notebook whose kernel died or whose cell timed out."""
    index, src = _started_cell(nb_path) if nb_path is not None else (None, "")
    if type(err).__name__ == "CellTimeoutError":
        what = f"a cell ran longer than the time limit of {timeout} s (raise --timeout, or look at what it waits for)"
    else:
        what = "its kernel died (a crash in native code, or the system ran out of memory and killed it)"
    where = f"in cell {index} of {nb_path}" if index is not None else "before any cell ran"
    lines = src.strip().splitlines()
    shown = "\n".join("    " + line for line in lines[:12])
    if len(lines) > 12:
        shown += f"\n    ... ({len(lines) - 12} more lines)"
    kept = f"the partly executed notebook is {nb_path}" if nb_path is not None else "no partial copy was written"
    return f"notebook {source} stopped {where}: {what}\n  cell source:\n{shown}\n  {kept}"


def _shown(path: Path | str, root: Path) -> str:
    """``path`` relative to ``root`` when inside it, else its name: no machine's folders in a published notebook."""
    path = Path(path).resolve()
    return path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else path.name


def _relative_paths(nb, source: Path, output: Path, root: Path) -> None:
    """Replace papermill's absolute input and output paths in ``nb``'s metadata by repository-relative ones."""
    meta = nb.metadata.get("papermill") or {}
    meta["input_path"] = _shown(source, root)
    meta["output_path"] = _shown(output, root)


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
    callers may pass ``figures_dir`` and other paths to every notebook. The notebook runs
    into a temporary file; ``output`` is replaced only when it ran to the end.

    Raises:
        BookError: the notebook failed (the message names it, the cell and the error; the
            partly executed copy goes to ``cwd/_build/failed/``, ``output`` is untouched).
    """
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    nb = to_notebook(source)
    declared = parameters_of(nb)
    params = {k: v for k, v in parameters.items() if k in declared and v is not None}
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmpdir = Path(tempfile.mkdtemp(prefix="rfn-book-"))
    work = tmpdir / output.name
    try:
        papermill.execute_notebook(
            nb,
            str(work),
            parameters=params,
            kernel_name=KERNELSPEC["name"],
            language="python",
            cwd=str(cwd),
            progress_bar=False,
            log_output=log_output,
            execution_timeout=timeout,
        )
        executed = nbformat.read(work, as_version=4)
        hide_injected_parameters(executed)
        _relative_paths(executed, source, output, Path(cwd))
        unknown = unknown_parameters(executed)
        if unknown:
            raise BookError(f"notebook {source} got parameters its parameters cell does not declare: {unknown}")
        staged = output.with_name(f".{output.name}.tmp-{os.getpid()}")
        nbformat.write(executed, staged)
        os.replace(staged, output)  # the good copy is replaced only by a complete run
    except PapermillExecutionError as err:
        failed = Path(cwd) / FAILED_DIR / output.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if work.exists():
            shutil.copy2(work, failed)
        raise BookError(
            _failure_message(source, failed, err) + f"\n  the executed copy {output} was left as it was"
        ) from None
    except (DeadKernelError, CellTimeoutError) as err:
        failed = Path(cwd) / FAILED_DIR / output.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        kept = None
        if work.exists():
            shutil.copy2(work, failed)
            kept = failed
        raise BookError(
            _abort_message(source, kept, err, timeout) + f"\n  the executed copy {output} was left as it was"
        ) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
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
    commit_figures: bool = False,
) -> dict[str, float]:
    """Execute the notebooks in :data:`~rfn.book.layout.ORDER` with papermill.

    Args:
        profile: ``smoke`` (seconds, for tests), ``quick`` (minutes on a CPU), ``reference``
            (the committed reference checkpoints, no training) or ``thesis`` (thesis scale, GPU).
        seed: passed to every notebook as ``seed``.
        device: passed as ``device`` when given; the notebooks default to ``"auto"``.
        only: notebook numbers or stems to run (default: all).
        root: repository root; notebooks run with it as working directory.
        executed_dir: where executed notebooks go (default ``root/book/_executed``).
        figures_dir: passed as ``figures_dir``, and where the manifest is written (default:
            ``root/_build/figures``, or the committed ``root/figures`` with ``commit_figures``).
        extra_parameters: more papermill parameters, passed only to notebooks that declare them;
            a name that none of the selected notebooks declares is an error.
        timeout: per-cell time limit in seconds (``None``: no limit).
        log_output: stream the notebooks' output to the log.
        commit_figures: without ``figures_dir``, write over the committed ``figures/``.

    Returns:
        Wall seconds per notebook stem.

    Raises:
        BookError: an unknown profile, a notebook failed, or no notebook matched.
    """
    try:
        check_profile(profile)
    except BookError as err:
        raise BookError(f"--profile: {err}") from None
    root = Path(root).resolve()
    executed_dir = Path(executed_dir) if executed_dir else root / EXECUTED_DIR
    sources = discover(root / NOTEBOOKS_DIR, only)
    if not sources:
        raise BookError(f"no notebooks/NN_*.py found under {root}")
    declared = set().union(*(parameters_of(to_notebook(src)) for src in sources))
    unknown = sorted(set(extra_parameters or {}) - declared - set(SHARED_PARAMETERS))
    if unknown:
        raise BookError(
            f"unknown notebook parameter(s) {', '.join(unknown)}: no selected notebook declares them; "
            f"declared: {', '.join(sorted(declared))}"
        )
    params: dict[str, Any] = {"profile": profile, "seed": seed, "device": device, **(extra_parameters or {})}
    if figures_dir is None and not commit_figures:
        figures_dir = root / SCRATCH_FIGURES
    if figures_dir is not None:
        full = Path(figures_dir).resolve()  # passed relative to the root (the notebooks' working directory) when inside
        params["figures_dir"] = full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)
    else:
        params["figures_dir"] = "figures"  # --commit-figures: the committed folder
    manifest_root = root / params["figures_dir"]
    commit = git_commit(root)
    times: dict[str, float] = {}
    for i, src in enumerate(sources, 1):
        out = executed_dir / f"{src.stem}.ipynb"
        print(f"[{i}/{len(sources)}] {src.relative_to(root)} profile={profile} seed={seed} -> {out}", flush=True)
        wall = run_notebook(src, out, parameters=params, cwd=root, timeout=timeout, log_output=log_output)
        times[src.stem] = wall
        entry = {
            "wall_s": round(wall, 2),
            "seed": seed,
            "device": device or "auto",
            "commit": commit,
            "finished": now(),
            "executed": os.path.relpath(out, root) if out.resolve().is_relative_to(root) else str(out),
        }
        update_manifest(manifest_root, profile, "notebooks", src.stem, entry)
        print(f"      done in {wall:.1f} s", flush=True)
    total = sum(times.values())
    print(f"ran {len(times)} notebook(s) in {total:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    return times

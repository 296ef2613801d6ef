"""Figures and the manifest: every file a notebook writes under ``figures/<profile>/`` is recorded.

``figures/<profile>/manifest.json`` holds two tables: ``figures`` (one entry per file:
notebook, profile, device, seed, commit, wall time, size, and anything the notebook
adds such as ``reproduces="Fig 2.1a"``) and ``notebooks`` (one entry per executed
notebook, written by :func:`rfn.book.execute.run`). Notebooks save through
:class:`FigureRecorder`::

    rec = FigureRecorder("01_flows", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
    rec.savefig(fig, "fig_flows_two_moons_density.png")   # -> figures/quick/fig_flows_...png
    rec.record(some_path_written_elsewhere)               # a GIF or a CSV table made by rfn.viz

Every matplotlib figure :meth:`FigureRecorder.savefig` saves is checked first
(:func:`check_figure`): a title (``suptitle``, or one on each panel that shows data),
x and y labels on each panel that plots data, and a title or row labels on each image
panel. A figure that lacks one is not written; the error names the file and what is missing.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from pathlib import Path
from typing import Any

from rfn.book.layout import MANIFEST, PROFILES, BookError, check_profile
from rfn.runtime import git_commit, resolve_device
from rfn.viz import figure_problems

__all__ = [
    "FIGURE_SUFFIXES",
    "OPENING",
    "FigureError",
    "FigureRecorder",
    "check_figure",
    "glue_image",
    "now",
    "record_figure",
    "update_manifest",
]

#: File types a notebook may record: figures and tables.
FIGURE_SUFFIXES = frozenset({".png", ".gif", ".mp4", ".svg", ".pdf", ".csv", ".md", ".json"})


class FigureError(BookError):
    """A book figure lacks a title or an axis label (:func:`check_figure`)."""


def _is_label(text: str) -> bool:
    """A tick label that names something (not empty, not a pixel or frame number)."""
    try:
        float(text.replace("\u2212", "-"))
    except ValueError:
        return bool(text.strip())
    return False


def check_figure(fig, name: str = "figure") -> None:
    """Raise :class:`FigureError` naming ``name`` and every missing title or label of ``fig``.

    The rules are :func:`rfn.viz.figure_problems`: the figure has a ``suptitle`` or each panel
    that shows data has a title; a panel that plots data has x and y labels; an image panel has
    a title, an axis label, or row or column labels (tick labels that are not pixel numbers).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1], [1, 2])
        >>> try:
        ...     check_figure(fig, "fig_demo.png")
        ... except FigureError as err:
        ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
        fig_demo.png: no figure title (fig.suptitle) and a panel without a title; panel 0 (untitled): missing x or y
        label; add them before saving (ax.set(title=..., xlabel=..., ylabel=...))
        >>> _ = ax.set(title="a line", xlabel="frame t", ylabel="value")
        >>> check_figure(fig, "fig_demo.png"); plt.close(fig)
    """
    problems = figure_problems(fig)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>" and ax.has_data()]
    for i, ax in enumerate(panels):
        named = ax.get_title() or ax.get_xlabel() or ax.get_ylabel()
        ticks = [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels()) if ax.axison]
        if (
            ax.images
            and ax.axison
            and ticks
            and not named
            and not any(_is_label(t) for t in ticks)
            and not any(f"panel {i} " in p for p in problems)
        ):
            problems.append(f"panel {i} (untitled): an image with pixel-number ticks instead of row or column labels")
    if problems:
        raise FigureError(
            f"{name}: {'; '.join(problems)}; add them before saving (ax.set(title=..., xlabel=..., ylabel=...))"
        )


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the manifest's time stamps)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def update_manifest(figures_root: Path, profile: str, section: str, key: str, entry: dict[str, Any]) -> Path:
    """Merge one entry into ``figures_root/profile/manifest.json`` (atomic replace); returns its path.

    Raises:
        BookError: the existing manifest is not valid JSON.
    """
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


#: the glue key of a page's opening figure (``{glue:figure} opening`` in its first cell)
OPENING = "opening"


def glue_image(name: str, path: str | Path) -> None:
    """Store the image file ``path`` in the running notebook under the MyST-NB glue key ``name``, not shown.

    Writes the same output ``myst_nb.glue(name, Image(filename=path), display=False)`` does
    (a ``application/papermill.record/`` bundle with ``scrapbook`` metadata), without importing
    MyST-NB, so a notebook runs where only Jupyter is installed. Outside a kernel it does nothing.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no figure at {path} to glue as {name!r}: save it first")
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is None:
        return
    bundle, metadata = format_display_data(Image(filename=str(path)))
    prefix = "application/papermill.record/"
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


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
        profile: one of :data:`~rfn.book.layout.PROFILES`.
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
        "device": str(device),
        "seed": seed,
        "commit": git_commit(),
        "wall_s": None if wall_s is None else round(float(wall_s), 2),
        "created": now(),
        "bytes": path.stat().st_size,
        **extra,
    }
    return update_manifest(Path(figures_dir), profile, "figures", path.name, entry)


class FigureRecorder:
    """Saves a notebook's figures under ``figures/<profile>/`` and records each in the manifest.

    Create it in the first code cell after the parameters so that ``wall_s`` counts from
    the notebook's start.

    Args:
        notebook: notebook stem, e.g. ``"01_flows"``.
        profile, seed, device, figures_dir: the notebook's parameters (``device`` may be ``"auto"``).

    Raises:
        ValueError: ``profile`` is not one of the book's profiles.

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
        try:
            check_profile(profile)
        except BookError as err:
            raise ValueError(f"profile must be one of {PROFILES}: {err}") from None
        self.notebook = notebook
        self.profile = profile
        self.seed = int(seed)
        self.device = str(resolve_device(device))
        self.figures_dir = Path(figures_dir)
        self.folder = self.figures_dir / profile
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start = time.perf_counter()

    def path(self, name: str) -> Path:
        """Where a file called ``name`` goes (``figures/<profile>/name``); checks the name."""
        if Path(name).name != name or not name or name.startswith("."):
            raise ValueError(f"figure name must be a plain file name like 'fig10_1_flow_temperature.png', got {name!r}")
        if Path(name).suffix.lower() not in FIGURE_SUFFIXES:
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

    def savefig(self, fig, name: str, dpi: int = 120, opening: bool = False, **extra: Any) -> Path:
        """Check a matplotlib figure (:func:`check_figure`), save it as ``figures/<profile>/name`` and record it.

        With ``opening=True`` the saved file is also the page's opening figure (:meth:`opening`).

        Raises:
            FigureError: the figure lacks a title or an axis label (nothing is written).
        """
        path = self.path(name)
        check_figure(fig, f"{self.notebook}: {name}")
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self.record(path, **extra)
        if opening:
            self.opening(path)
        return path

    def opening(self, path: str | Path) -> None:
        """Make the figure file ``path`` (a PNG this render wrote) the page's opening figure.

        The page's first markdown cell shows it under the question with MyST-NB's
        ``{glue:figure} opening`` directive, so the first screen holds a figure this very render
        computed (the book resolves glued outputs over the whole notebook, so the cell that
        computes it may come later). In Jupyter, nothing is shown here: the figure appears in its
        own section. Outside a notebook kernel this does nothing.
        """
        glue_image(OPENING, path)

"""The book: run the notebooks with papermill, record their figures, build the Jupyter Book.

Jupyter Book 1.x has no papermill integration, so the book is made in three steps,
each a subcommand of ``python -m rfn.book`` (``make book`` runs all three), each in
a module of its own:

``mathjax`` (:mod:`rfn.book.mathjax`)
    Vendor MathJax 3.2.2 into ``book/_vendor/mathjax/`` (git-ignored, sha512-checked),
    so that pages typeset math offline.
``run --profile P [--only NN[,NN]] [--seed S] [--device D] [-p NAME VALUE]`` (:mod:`rfn.book.execute`)
    Execute every ``notebooks/NN_*.py`` (jupytext ``py:percent``) with papermill in
    :data:`ORDER` (the training notebook before the pages that read its checkpoints),
    write the executed copy to ``book/_executed/``, hide the parameters cells (the page
    shows what it was rendered with in one line), and record the wall time in
    ``<figures_dir>/<profile>/manifest.json`` (``_build/figures``; the committed
    ``figures/`` only with ``--commit-figures``). ``-p NAME VALUE`` passes a page parameter.
``build`` (:mod:`rfn.book.build`)
    ``jupyter-book build . --all -W -n --keep-going``, after checking the vendored MathJax
    and that ``book/_executed/`` holds exactly one executed copy per source.
``check`` (:mod:`rfn.book.sources`)
    Guard the notebook sources: no outputs, a leading markdown cell (the page's question),
    an "About this page" cell saying what the page reproduces, its run time and its
    checkpoint, and exactly one cell tagged ``parameters`` that assigns ``profile``,
    ``device``, ``seed`` and ``figures_dir`` (not the committed ``figures/``).

A notebook's setup cell is :func:`rfn.book.page.setup_page` (:mod:`rfn.book.page`): the
repository root as working directory, the device, the figure recorder and the page's settings.

The profiles (:data:`PROFILES`, :mod:`rfn.book.layout`) are ``smoke`` (seconds, for the
tests), ``quick`` (minutes on a CPU), ``reference`` (renders from the committed reference
checkpoints and trains nothing) and ``thesis`` (the thesis's scale, on a GPU).

Notebooks save every figure through :class:`FigureRecorder` (:mod:`rfn.book.figures`),
which writes it under ``<figures_dir>/<profile>/`` and adds an entry to the same manifest
(notebook, profile, device, seed, commit, wall time)::

    rec = FigureRecorder("01_flows", profile=profile, seed=seed, device=device, figures_dir=figures_dir)
    rec.savefig(fig, "fig_flows_two_moons_density.png")   # -> figures/quick/fig_flows_...png
    rec.record(some_path_written_elsewhere)               # a GIF or a CSV table made by rfn.viz

Example:
    >>> PROFILES
    ('smoke', 'quick', 'reference', 'thesis')
    >>> order_key("notebooks/04_training.py")
    3
"""

from rfn.book.build import build, load_yaml, stage_book, toc_files
from rfn.book.cli import main
from rfn.book.execute import hide_injected_parameters, run, run_notebook
from rfn.book.figures import FigureRecorder, record_figure, update_manifest
from rfn.book.layout import (
    EXECUTED_DIR,
    MANIFEST,
    NOTEBOOKS_DIR,
    ORDER,
    PROFILES,
    REQUIRED_PARAMETERS,
    BookError,
    check_profile,
)
from rfn.book.mathjax import MATHJAX_INTEGRITY, MATHJAX_VERSION, fetch_mathjax
from rfn.book.sources import check_sources, discover, order_key, parameters_of, to_notebook

__all__ = [
    "EXECUTED_DIR",
    "MANIFEST",
    "MATHJAX_INTEGRITY",
    "MATHJAX_VERSION",
    "NOTEBOOKS_DIR",
    "ORDER",
    "PROFILES",
    "REQUIRED_PARAMETERS",
    "BookError",
    "FigureRecorder",
    "build",
    "check_profile",
    "check_sources",
    "discover",
    "fetch_mathjax",
    "hide_injected_parameters",
    "load_yaml",
    "main",
    "order_key",
    "parameters_of",
    "record_figure",
    "run",
    "run_notebook",
    "stage_book",
    "to_notebook",
    "toc_files",
    "update_manifest",
]

"""A notebook page's first lines: the repository root, the default profile, device, recorder and settings.

Every notebook's setup cell is two lines::

    profile = book_profile(profile)   # "auto" -> what `make book` renders on this machine
    dev, rec, SETTINGS = setup_page("06_temperature", profile, seed, device, figures_dir, temperatures=temperatures)

:func:`setup_page` makes the repository root (found through the package, :data:`rfn.assets.REPOSITORY`)
the working directory, so a notebook opened in Jupyter from ``notebooks/`` finds
``artifacts/``, ``checkpoints/reference/`` and its figures folder as the runner does; it seeds
every generator, picks the device and the CPU threads, sets the book's plot style, reads the
page's settings for the profile with the reader's page parameters on top
(:func:`rfn.profiles.page_settings`), and shows the one line a reader needs to know what the
page was rendered with. Printed paths are relative to the repository, so no page shows where
the machine that rendered it keeps its files.

Example:
    >>> book_profile("smoke")
    'smoke'
    >>> print(rendered_line("smoke", 0, "cpu", "_build/figures", {"samples": 5}))  # doctest: +NORMALIZE_WHITESPACE
    Rendered with profile `smoke`, seed 0, device `cpu`; page parameters: samples=5;
    figures in `_build/figures/smoke/`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from rfn.book.layout import BookError, check_profile

__all__ = [
    "DEFAULT_FIGURES_DIR",
    "book_profile",
    "default_profile",
    "page_run",
    "relative",
    "rendered_line",
    "repository_root",
    "setup_page",
    "without_home",
]  # fmt: skip

#: where a notebook writes its figures unless told otherwise: scratch, never the committed ``figures/``
DEFAULT_FIGURES_DIR = "_build/figures"
#: the video models whose committed weights make ``reference`` the CPU default (as the Makefile's REFERENCE_PRESETS)
REFERENCE_PRESETS = ("reference-smmnist", "reference-smmnist-srnn", "reference-smmnist-vrnn",
                     "reference-smmnist-deterministic")  # fmt: skip


def repository_root() -> Path:
    """The checkout the package was imported from (it holds ``notebooks/``).

    Raises:
        BookError: the package is installed outside a checkout, where the notebooks cannot find
            their checkpoints and figure folders.
    """
    from rfn.assets import REPOSITORY

    if not (REPOSITORY / "notebooks").is_dir():
        raise BookError(
            f"rfn is imported from {REPOSITORY}, which is not a checkout of the repository; the notebooks need one: "
            "clone it and install it editable (pip install -e .), then open the notebooks from there"
        )
    return REPOSITORY


def default_profile(root: Path | None = None) -> str:
    """The profile ``make book`` renders here: ``thesis`` with a GPU, else ``reference`` when every committed
    reference model is present (the four video models and notebook 09's ablations), else ``quick``."""
    import torch

    if torch.cuda.is_available():
        return "thesis"
    folder = Path(repository_root() if root is None else root) / "checkpoints" / "reference"
    complete = all((folder / f"{p}.pt").is_file() for p in REFERENCE_PRESETS) and any(
        (folder / "ablations").glob("*.pt")
    )
    return "reference" if complete else "quick"


def book_profile(profile: str) -> str:
    """``profile``, with ``"auto"`` replaced by :func:`default_profile`.

    Raises:
        BookError: not ``"auto"`` and not one of the book's profiles.
    """
    return default_profile() if profile == "auto" else check_profile(profile)


def without_home(text: str) -> str:
    """``text`` with the rendering machine's home folder written as ``~`` (a page shows no machine's paths).

    Example:
        >>> without_home(str(Path.home() / ".cache" / "rfn")) == "~/.cache/rfn"
        True
    """
    return text.replace(str(Path.home()), "~")


def relative(path: str | os.PathLike, root: Path | None = None) -> str:
    """``path`` as a reader should see it: relative to the repository when inside it (POSIX slashes)."""
    root = Path(repository_root() if root is None else root).resolve()
    full = Path(path) if Path(path).is_absolute() else root / path
    try:
        return full.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def rendered_line(profile: str, seed: int, device: Any, figures_dir: str, parameters: dict[str, Any]) -> str:
    """The one line a page shows: what it was rendered with (the page parameters passed, not their defaults)."""
    passed = "; page parameters: " + ", ".join(f"{k}={v!r}" for k, v in parameters.items()) if parameters else ""
    return (
        f"Rendered with profile `{profile}`, seed {seed}, device `{device}`{passed}; "
        f"figures in `{Path(figures_dir, profile).as_posix()}/`."
    )


def setup_page(
    notebook: str,
    profile: str,
    seed: int,
    device: str,
    figures_dir: str,
    checkpoint: str | None = None,
    **parameters: Any,
):
    """Prepare a notebook page; returns ``(device, recorder, settings)``.

    Args:
        notebook: the notebook's stem, e.g. ``"06_temperature"`` (its figures and settings are filed under it).
        profile: a book profile (``"auto"`` resolved first, :func:`book_profile`).
        seed: seeds Python, NumPy and torch (:func:`rfn.runtime.seed_everything`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        figures_dir: the figures' root, relative to the repository (or absolute); ``figures`` is the
            committed one, which only ``python -m rfn.book run --commit-figures`` should pass.
        checkpoint: a page's ``checkpoint`` parameter, only shown (the page loads it with :func:`page_run`).
        **parameters: the page parameters, by setting name; ``None`` keeps the profile's value.

    Returns:
        The resolved ``torch.device``, the :class:`~rfn.book.figures.FigureRecorder`, and the page's
        settings (:func:`rfn.profiles.page_settings` with the passed parameters applied).

    Raises:
        BookError: not in a checkout, or an unknown profile.
        ValueError: a page parameter of the wrong kind or unknown to the page.
    """
    from rfn import viz
    from rfn.book.figures import FigureRecorder
    from rfn.profiles import page_settings
    from rfn.runtime import resolve_device, seed_everything, set_cpu_threads

    root = repository_root()
    os.chdir(root)  # every relative path of the page (artifacts/, checkpoints/, figures) is the repository's
    profile = book_profile(profile)
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without widgets
    passed = {k: v for k, v in parameters.items() if v is not None}
    settings = page_settings(notebook, profile, **passed)
    seed_everything(seed)
    dev = resolve_device(device)
    set_cpu_threads(dev)
    viz.set_book_style()
    shown = relative(figures_dir, root)
    rec = FigureRecorder(notebook, profile=profile, seed=seed, device=device, figures_dir=shown)
    if checkpoint is not None:
        passed["checkpoint"] = relative(checkpoint, root)
    line = rendered_line(profile, seed, dev, shown, passed)
    _show(line)
    return dev, rec, settings


def _show(line: str) -> None:
    """Markdown in a notebook, plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(line)
    else:
        display(Markdown(line))


def page_run(
    kind: str, profile: str, seed: int, artifacts_dir: str, checkpoint: str | None = None, dataset: str = "smmnist"
):
    """The page's model run: the book's own (:func:`rfn.runs.get_run`), or the reader's ``checkpoint``.

    Args:
        checkpoint: a checkpoint file (``rfn train``'s ``last.pt``/``best.pt`` or an exported weights-only
            file), relative to the repository or absolute; ``None`` takes the profile's run. Numbers the
            page computes from it are cached beside it.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist (the message says where it was looked for).
    """
    from rfn.checkpoint import load_checkpoint
    from rfn.runs import Run, get_run

    if checkpoint is None:
        return get_run(kind, profile, seed, root=artifacts_dir, dataset=dataset)
    path = Path(checkpoint) if Path(checkpoint).is_absolute() else repository_root() / checkpoint
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint={checkpoint!r}: no such file ({relative(path)}); pass a file written by `rfn train` "
            "(runs/<name>/last.pt) or leave it None for the profile's model"
        )
    ckpt = load_checkpoint(path)
    return Run(
        kind=kind,
        profile=profile,
        seed=int(seed),
        checkpoint=Path(relative(path)),
        step=int(ckpt["step"]),
        batch_size=int(ckpt["train_config"]["batch_size"]),
        data=dict(ckpt["data_config"]),
        cache_dir=Path(relative(path)).parent,
    )

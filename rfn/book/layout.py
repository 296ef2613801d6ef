"""Where the book's pieces live, which profiles and notebooks exist, and the book's error type.

Every other module of :mod:`rfn.book` takes its paths and names from here, so that
the folder layout is written down once.

Example:
    >>> PROFILES
    ('smoke', 'quick', 'reference', 'thesis')
    >>> try:
    ...     check_profile("full")
    ... except BookError as err:
    ...     print(str(err).split("; ")[1])
    the old 'full' profile is now called 'thesis'
"""

from __future__ import annotations

from pathlib import Path

from rfn.presets import SCALES

__all__ = [
    "EXECUTED_DIR",
    "KERNELSPEC",
    "MANIFEST",
    "NOTEBOOKS_DIR",
    "ORDER",
    "PROFILES",
    "REQUIRED_PARAMETERS",
    "BookError",
    "check_profile",
]

#: The book's scales, smallest first: ``smoke`` (seconds, for the tests), ``quick`` (minutes on
#: a CPU, trains small models), ``reference`` (renders from the committed reference
#: checkpoints, trains nothing), ``thesis`` (the thesis's scale, on a GPU).
PROFILES: tuple[str, ...] = SCALES

#: Execution order by notebook number. Training (04) writes the checkpoints that the
#: result pages (05-09) read, so it must run before them; 01-03 stand alone. A new
#: notebook's number must be added here (the runner refuses unknown numbers).
ORDER: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")

#: Parameters every notebook's ``parameters`` cell must assign.
REQUIRED_PARAMETERS = ("profile", "device", "seed", "figures_dir")

#: Folders relative to the repository root.
EXECUTED_DIR = Path("book/_executed")
NOTEBOOKS_DIR = Path("notebooks")
#: The file in ``figures/<profile>/`` that lists every figure and notebook run.
MANIFEST = "manifest.json"
#: Papermill refuses a notebook without a kernelspec; every source is given this one.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

_RENAMED = {"full": "thesis"}


class BookError(RuntimeError):
    """The book cannot be run or built; the message says what is wrong and what to do."""


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is one of :data:`PROFILES`.

    Raises:
        BookError: any other name (with the new name of a renamed profile).
    """
    if profile in PROFILES:
        return profile
    hint = f"; the old {profile!r} profile is now called {_RENAMED[profile]!r}" if profile in _RENAMED else ""
    raise BookError(f"profile {profile!r} is not one of {PROFILES}{hint}")

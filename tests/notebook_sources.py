"""A minimal valid notebook source and a writer, shared by the book tooling tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD = """\
# %% [markdown]
# # A page
# Reproduces: nothing. Run time: 1 s. Checkpoint: none.

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
figures_dir = "figures"

# %%
print(profile, seed)
"""


def write_source(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path

"""A minimal valid notebook source and a writer, shared by the book tooling tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD = """\
# %% [markdown]
# # A page
# What does a page ask?

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
figures_dir = "_build/figures"

# %%
print(profile, seed)

# %% [markdown]
# :::{admonition} About this page
# :class: dropdown
# Reproduces: nothing. Run time: 1 s. Checkpoint: none.
# :::
"""


def write_source(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path

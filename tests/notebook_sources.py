"""A minimal valid notebook source and a writer, shared by the book tooling tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD = """\
# %% [markdown]
# # A page
# What does a page ask? Every page is mostly prose: this first cell says what it asks, what the
# idea is, and shows the opening figure that the code below makes.
#
# ```{glue:figure} opening
# :figclass: rfn-opening
#
# The opening figure.
# ```

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
figures_dir = "_build/figures"

# %%
print(profile, seed)

# %%
import matplotlib.pyplot as plt
from rfn.book.figures import glue_image
fig = plt.figure(figsize=(1, 1)); fig.savefig("opening.png"); glue_image("opening", "opening.png")

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

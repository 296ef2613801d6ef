"""`make lab`: JupyterLab with jupytext's contents manager opens the notebook sources as notebooks."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "docmanager-extension"


def test_make_lab_starts_jupyterlab_with_the_jupytext_viewer_on_notebooks():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab: (.*)\n\t(.*)$", makefile, flags=re.M)
    assert recipe and "env" in recipe.group(1), "make lab must set up the environment first"
    assert "JUPYTERLAB_SETTINGS_DIR=$(CURDIR)/.jupyter/lab/user-settings" in recipe.group(2)
    assert "jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks" in recipe.group(2)
    text = (SETTINGS / "plugin.jupyterlab-settings").read_text()
    settings = json.loads("\n".join(line for line in text.splitlines() if not line.strip().startswith("//")))
    assert settings["defaultViewers"]["python"] == "Jupytext Notebook"
    pins = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(r"^jupyterlab==", pins, flags=re.M) and re.search(r"^nbconvert==", pins, flags=re.M)


def test_jupytext_pairs_the_sources_and_opens_them_as_notebooks():
    pytest.importorskip("jupyter_server")
    from jupyter_server.services.contents.largefilemanager import LargeFileManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    assert tomllib.loads((ROOT / "jupytext.toml").read_text())["formats"] == "ipynb,py:percent"
    manager = build_sync_jupytext_contents_manager_class(LargeFileManager)(root_dir=str(ROOT / "notebooks"))
    model = manager.get("07_interpolation.py", type="notebook")
    assert model["type"] == "notebook"
    tags = [c.metadata.get("tags", []) for c in model["content"].cells]
    assert ["parameters"] in tags and model["content"].cells[0].cell_type == "markdown"

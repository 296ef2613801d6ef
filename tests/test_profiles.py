"""A profile's settings live in rfn.profiles only: the notebooks read theirs from it, the profile names exist once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rfn import profiles, runs
from rfn.book import layout
from rfn.presets import SCALES, get_preset

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))


def test_the_profile_names_exist_once():
    assert layout.PROFILES is SCALES and profiles.PROFILES is SCALES and runs.PROFILES is SCALES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_notebook_reads_its_settings_from_the_profiles(path):
    tree = ast.parse(path.read_text())
    literal = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "SETTINGS" for t in n.targets)
        and not (isinstance(n.value, ast.Call) and getattr(n.value.func, "id", None) == "page_settings")
    ]  # fmt: skip
    assert not literal, f"{path.name}: SETTINGS set at lines {literal}; put them in rfn/profiles.py PAGES"
    assert f'page_settings("{path.stem}", profile)' in path.read_text()
    assert set(profiles.PAGES[path.stem]) == set(SCALES)


def test_every_profile_names_existing_presets_and_protocols():
    from rfn.metrics import Protocol

    for profile in SCALES:
        for kind, name in profiles.VIDEO_PRESETS[profile].items():
            assert get_preset(name).model == kind
        assert isinstance(profiles.page_settings("05_results", profile)["protocol"], Protocol)
    assert profiles.page_settings("05_results", "thesis")["protocol"].n_test_sequences == 256
    settings = profiles.page_settings("06_temperature", "quick")
    settings["temperatures"].append(2.0)  # a copy: the table stays as it is
    assert profiles.PAGES["06_temperature"]["quick"]["temperatures"][-1] == 1.0
    with pytest.raises(ValueError, match="unknown profile 'full'; choose one of smoke, quick, reference, thesis"):
        profiles.page_settings("05_results", "full")

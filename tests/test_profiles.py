"""A profile's settings live in rfn.profiles only: the notebooks read theirs from it, the profile names exist once."""

from __future__ import annotations

import ast
import re
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
    assert re.search(rf'setup_page\(\s*"{path.stem}", profile,', path.read_text()), "SETTINGS come from setup_page"
    assert set(profiles.PAGES[path.stem]) == set(SCALES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_page_parameter_is_a_setting_passed_to_setup_page(path):
    from rfn.book import parameters_of, to_notebook

    declared = parameters_of(to_notebook(path))
    page = set(declared) - {"profile", "device", "seed", "figures_dir", "artifacts_dir", "dataset", "checkpoint"}
    assert page, f"{path.name} declares no page parameter"
    call = next(
        n for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setup_page"
    )  # fmt: skip
    passed = {k.arg: getattr(k.value, "id", None) for k in call.keywords}
    settings = profiles.PAGES[path.stem]["smoke"]
    for name in page:
        key = next((k for k, v in passed.items() if v == name), None)
        assert key in settings, f"{path.name}: parameter {name} is not passed to setup_page as a setting"
        assert declared[name] is None, f"{path.name}: {name} defaults to the profile's value (None)"


def test_page_parameters_are_checked_and_temperatures_warned():
    grid = profiles.page_settings("06_temperature", "smoke", temperatures=[0, 0.3, 0.6])["temperatures"]
    assert grid == [0, 0.3, 0.6]
    assert profiles.page_settings("06_temperature", "smoke", samples=None)["samples"] == 20
    with pytest.warns(UserWarning, match=r"temperatures: \[1.5\] outside \[0, 1\].*grey blocks"):
        profiles.page_settings("06_temperature", "smoke", temperatures=[0.5, 1.5])
    with pytest.warns(UserWarning, match="absolute value"):
        profiles.page_settings("07_interpolation", "smoke", temperature=-0.5)
    for kwargs, match in [
        ({"samples": 0}, "'samples' must be positive"),
        ({"samples": 2.5}, "'samples' must be a whole number"),
        ({"samples": True}, "'samples' must be a whole number"),
        ({"temperatures": []}, "'temperatures' must be a non-empty list"),
        ({"temperatures": ["hot"]}, "'temperatures' must be a list of numbers"),
        ({"temperature": [0.5]}, "has no setting 'temperature'; its settings: temperatures"),
        ({"protocol": "x"}, "has no setting 'protocol'"),
    ]:
        with pytest.raises(ValueError, match=match):
            profiles.page_settings("06_temperature", "smoke", **kwargs)
    ev = profiles.page_settings("09_ablations", "smoke", eval={"samples": 5})["eval"]
    assert ev == {**profiles.PAGES["09_ablations"]["smoke"]["eval"], "samples": 5}
    with pytest.raises(ValueError, match="unknown: \\['sample'\\]"):
        profiles.page_settings("09_ablations", "smoke", eval={"sample": 5})
    seeds = profiles.page_settings("10_rgb_headline", "reference", seeds=[0, 2])["seeds"]  # whole numbers stay
    assert seeds == (0, 2) and all(type(s) is int for s in seeds)
    with pytest.raises(ValueError, match="'seeds' must be a list of whole numbers"):
        profiles.page_settings("10_rgb_headline", "reference", seeds=[0.5])


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

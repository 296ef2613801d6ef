"""rfn.book.figures and rfn.book.layout: FigureRecorder writes the manifest; profile names."""

from __future__ import annotations

import json

import pytest

from rfn import book


def test_figure_recorder_writes_the_manifest(tmp_path):
    rec = book.FigureRecorder("01_flows", profile="smoke", seed=3, device="cpu", figures_dir=tmp_path)
    path = rec.path("tab_demo.csv")
    path.write_text("a,b\n1,2\n")
    rec.record(path, reproduces="nothing")
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    entry = manifest["figures"]["tab_demo.csv"]
    assert entry["notebook"] == "01_flows" and entry["seed"] == 3 and entry["device"] == "cpu"
    assert entry["profile"] == "smoke" and entry["reproduces"] == "nothing" and entry["wall_s"] >= 0
    assert entry["commit"]
    with pytest.raises(ValueError, match="plain file name"):
        rec.path("../escape.png")
    with pytest.raises(ValueError, match="expected a"):
        rec.path("figure.exe")
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(book.BookError, match="saved directly in"):
        rec.record(outside)
    with pytest.raises(FileNotFoundError):
        rec.record(rec.path("missing.png"))


def test_figure_recorder_resolves_auto_and_keeps_both_tables(tmp_path):
    rec = book.FigureRecorder("05_results", profile="reference", seed=0, device="auto", figures_dir=tmp_path)
    assert rec.device in ("cpu", "cuda:0") and rec.folder == tmp_path / "reference"
    rec.path("a.md").write_text("# a\n")
    rec.record(rec.path("a.md"))
    book.update_manifest(tmp_path, "reference", "notebooks", "05_results", {"wall_s": 1.0})
    rec.path("b.md").write_text("# b\n")
    rec.record(rec.path("b.md"))
    manifest = json.loads((tmp_path / "reference" / book.MANIFEST).read_text())
    assert sorted(manifest["figures"]) == ["a.md", "b.md"] and manifest["notebooks"]["05_results"]["wall_s"] == 1.0
    (tmp_path / "reference" / book.MANIFEST).write_text("{not json")
    with pytest.raises(book.BookError, match="delete it and re-run"):
        rec.record(rec.path("a.md"))


@pytest.mark.parametrize("profile", ["smoke", "quick", "reference", "thesis"])
def test_every_profile_name_is_accepted(tmp_path, profile):
    assert book.check_profile(profile) == profile
    rec = book.FigureRecorder("01_flows", profile=profile, seed=0, device="cpu", figures_dir=tmp_path)
    assert rec.folder.is_dir()


def test_the_old_profile_name_says_its_new_name(tmp_path):
    with pytest.raises(book.BookError, match="now called 'thesis'"):
        book.check_profile("full")
    with pytest.raises(ValueError, match="now called 'thesis'"):
        book.FigureRecorder("01_flows", profile="full", seed=0, device="cpu", figures_dir=tmp_path)
    with pytest.raises(book.BookError, match="is not one of"):
        book.check_profile("huge")

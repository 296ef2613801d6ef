"""rfn.book.page: the default profile, repository-relative paths, the page's run and its one-line setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rfn.book import page
from rfn.book.layout import BookError

ROOT = Path(__file__).resolve().parents[1]


def test_auto_profile_is_reference_only_with_every_committed_model(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder = tmp_path / "checkpoints" / "reference"
    (folder / "ablations").mkdir(parents=True)
    assert page.default_profile(tmp_path) == "quick"
    for preset in page.REFERENCE_PRESETS:
        (folder / f"{preset}.pt").write_bytes(b"")
    assert page.default_profile(tmp_path) == "quick"  # notebook 09's ablations are missing
    (folder / "ablations" / "reference-ablation-srnn.pt").write_bytes(b"")
    assert page.default_profile(tmp_path) == "reference"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert page.default_profile(tmp_path) == "thesis"


def test_auto_matches_what_make_book_renders_here(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    committed = all((ROOT / "checkpoints" / "reference" / f"{p}.pt").is_file() for p in page.REFERENCE_PRESETS)
    assert page.book_profile("auto") == ("reference" if committed else "quick")
    assert page.book_profile("smoke") == "smoke"
    with pytest.raises(BookError, match="now called 'thesis'"):
        page.book_profile("full")


def test_paths_are_shown_relative_to_the_repository(tmp_path):
    assert page.relative(ROOT / "_build" / "figures") == "_build/figures"
    assert page.relative("_build/figures") == "_build/figures"
    assert page.relative(tmp_path) == str(tmp_path)  # outside the repository: as given


def test_page_run_loads_a_readers_checkpoint_and_names_a_missing_one():
    fixture = ROOT / "tests" / "fixtures" / "checkpoint_3c67061" / "last.pt"
    run = page.page_run("rfn", "smoke", 0, "artifacts", str(fixture))
    assert run.checkpoint == Path("tests/fixtures/checkpoint_3c67061/last.pt")  # shown without the machine's folders
    assert run.step >= 0 and run.train_frames > 0
    with pytest.raises(FileNotFoundError, match="checkpoint='runs/none/last.pt': no such file"):
        page.page_run("rfn", "smoke", 0, "artifacts", "runs/none/last.pt")


def test_setup_page_works_from_any_folder_and_says_what_it_renders(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dev, rec, settings = page.setup_page("07_interpolation", "smoke", 3, "cpu", str(tmp_path / "fig"), weights=5)
    assert Path.cwd() == ROOT  # every relative path of the page is the repository's
    assert dev == torch.device("cpu") and settings["weights"] == 5 and settings["frames"] == 6
    assert rec.folder == tmp_path / "fig" / "smoke" and rec.seed == 3
    assert "Rendered with profile `smoke`, seed 3, device `cpu`; page parameters: weights=5" in capsys.readouterr().out
    with pytest.raises(ValueError, match="'weights' must be positive"):
        page.setup_page("07_interpolation", "smoke", 0, "cpu", str(tmp_path / "fig"), weights=0)

"""Figure provenance: `python -m rfn.book.provenance` refuses dirty commits, absolute paths, mixed seeds and strays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rfn.book.provenance import committed_problems, main, manifest_problems

ROOT = Path(__file__).resolve().parents[1]


def _profile(root: Path, profile: str = "quick", **changes) -> Path:
    folder = root / "figures" / profile
    folder.mkdir(parents=True)
    (folder / "fig_a.png").write_bytes(b"png")
    figure = {"notebook": "01_flows", "commit": "0123456789ab", "seed": 0, "profile": profile}
    notebook = {"commit": "0123456789ab", "seed": 0, "executed": "book/_executed/01_flows.ipynb"}
    manifest = {"profile": profile, "figures": {"fig_a.png": figure}, "notebooks": {"01_flows": notebook}}
    for key, value in changes.items():
        section, name, field = key.split("__")
        manifest[section][name.replace("_png", ".png")][field] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_clean_manifest_passes(tmp_path, capsys):
    _profile(tmp_path)
    assert committed_problems(tmp_path) == []
    assert main(["--root", str(tmp_path)]) == 0 and "figure provenance ok" in capsys.readouterr().out


def test_dirty_commit_absolute_path_and_seed_mismatch_are_refused(tmp_path, capsys):
    _profile(
        tmp_path,
        figures__fig_a_png__commit="0123456789ab-dirty",
        figures__fig_a_png__seed=1,
        notebooks__01_flows__executed="/work/main/book/_executed/01_flows.ipynb",
    )
    problems = committed_problems(tmp_path)
    text = "\n".join(problems)
    assert "figures.fig_a.png: commit 0123456789ab-dirty has uncommitted changes" in text
    assert "figures.fig_a.png: seed 1 but notebook 01_flows ran with seed 0" in text
    assert "notebooks.01_flows.executed: absolute path /work/main/book/_executed/01_flows.ipynb" in text
    assert len(problems) == 3
    assert main(["--root", str(tmp_path)]) == 1 and "3 provenance problem(s)" in capsys.readouterr().err


def test_unknown_commit_stray_and_missing_files(tmp_path):
    folder = _profile(tmp_path, "reference", notebooks__01_flows__commit="unknown")
    (folder / "stray.png").write_bytes(b"x")
    (folder / "fig_a.png").unlink()
    text = "\n".join(committed_problems(tmp_path))
    assert "notebooks.01_flows: commit 'unknown' is not a commit hash" in text
    assert "figures.fig_a.png: listed but missing" in text and "stray.png: not in the manifest" in text


def test_seeds_must_agree_across_notebooks():
    manifest = {"notebooks": {"01": {"commit": "abcdef0", "seed": 1}, "02": {"commit": "abcdef0", "seed": 0}}}
    assert manifest_problems(manifest) == ["notebooks: seeds 0, 1 in one profile; run every notebook with one --seed"]


def test_module_entry_point_runs(tmp_path):
    _profile(tmp_path)
    cmd = [sys.executable, "-m", "rfn.book.provenance", "--root", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "figure provenance ok" in proc.stdout, proc.stderr

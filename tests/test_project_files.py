"""CITATION.cff, CHANGELOG.md and the reference checkpoints' model card say what the project and its files say."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rfn
from rfn.checkpoint import load_checkpoint
from rfn.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "checkpoints" / "reference" / "README.md"


# ----------------------------------------------------------------------------- CITATION.cff


def test_citation_file_is_valid_cff():
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.fail("check-jsonschema is not installed: pip install -r requirements-dev.txt")
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.citation-file-format"]
    proc = subprocess.run([*cmd, str(ROOT / "CITATION.cff")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_citation_matches_the_package_and_the_thesis_entry():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert cff["version"] == rfn.__version__
    assert f'license = "{cff["license"]}"' in pyproject
    assert cff["repository-code"] == config["repository"]["url"] and cff["url"] == config["html"]["baseurl"]
    thesis = cff["preferred-citation"]
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entry = re.search(r"@mastersthesis\{glissov2021recurrent,(.*?)\n\}", bib, flags=re.S).group(1)
    field = dict(re.findall(r"(\w+)\s*=\s*\{(.*)\},?", entry))
    assert thesis["type"] == "thesis" and thesis["title"] == field["title"] and str(thesis["year"]) == field["year"]
    authors = [f"{a['family-names']}, {a['given-names']}" for a in thesis["authors"]]
    assert " and ".join(authors) == field["author"] and thesis["institution"]["name"] == field["school"]


# ----------------------------------------------------------------------------- CHANGELOG.md


def test_changelog_has_the_current_version_and_unreleased_changes():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[0] == "[Unreleased]", headings
    assert any(h.split()[0] == rfn.__version__ for h in headings[1:]), f"no section for {rfn.__version__}: {headings}"


# ----------------------------------------------------------------------------- the model card


def _table(text: str, header_start: str) -> list[list[str]]:
    """The rows (cells stripped) of the markdown table whose header begins with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _last_validation(path: Path) -> tuple[int, float]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_bpp")]
    return int(rows[-1]["step"]), float(rows[-1]["val_bpp"])


def test_model_card_has_its_sections():
    text = CARD.read_text(encoding="utf-8")
    for section in ("Intended use", "Training data", "Training", "Metrics", "Limitations"):
        assert f"\n## {section}\n" in text, f"the model card lacks its section {section!r}"


def test_model_card_files_table_is_what_the_files_say():
    rows = _table(CARD.read_text(encoding="utf-8"), "| file |")
    assert len(rows) == 4
    for file, _, params, steps, val, size in rows:
        path = CARD.parent / file.strip("`")
        preset = PRESETS[path.stem]
        ckpt = load_checkpoint(path)
        n = sum(p.numel() for p in rfn.load(path).parameters())
        assert params == f"{n / 1e6:.2f} M", f"{file}: {n:,} parameters"
        total = preset.train_config().steps
        assert steps == f"{ckpt['step']:,} of {total:,}", f"{file}: step {ckpt['step']} of {total}"
        step, bpp = _last_validation(path.with_suffix(".metrics.csv"))
        assert val == f"{bpp:.3f} ({step:,})", f"{file}: last validation {bpp:.4f} at step {step}"
        assert size == f"{path.stat().st_size / 2**20:.1f} MB", f"{file}: {path.stat().st_size} bytes"


def _cached(preset: str, name: str):
    return json.loads((CARD.parent / "cache" / preset / name).read_text())["value"]


def test_model_card_metrics_are_the_shipped_numbers():
    rows = _table(CARD.read_text(encoding="utf-8"), "| model | test bpp")
    presets = {"RFN": "reference-smmnist", "SRNN": "reference-smmnist-srnn", "VRNN": "reference-smmnist-vrnn"}
    assert [r[0] for r in rows] == list(presets)
    for model, bpp, ssim, fvd in rows:
        result = _cached(presets[model], "book_eval_smmnist-reference.json")
        assert result["protocol"]["name"] == "smmnist-reference" and result["best_of_n"]["samples"] == 100
        assert bpp == f"{result['bpp']['nelbo']:.3f} / {result['bpp']['iw']['bound']:.3f}", model
        assert ssim == ", ".join(f"{v:.3f}" for v in result["best_of_n"]["ssim"]["best_curve"][:5]), model
        assert fvd == f"{_cached(presets[model], 'book_fvd_smmnist-reference.json'):.1f}", model
    floor = _cached("reference-smmnist", "book_fvd_floor_smmnist-reference.json")["256"]
    assert f"real-vs-real floor of {floor:.1f} at that size" in " ".join(CARD.read_text(encoding="utf-8").split())

"""rfn.evaluation.report: tidy CSV rows, the JSON with its file list, the curve PNGs and the text table."""

from __future__ import annotations

import csv
import json

from rfn.evaluation import format_table, result_rows, write_outputs
from rfn.metrics.protocol import get_protocol

PROTOCOL = get_protocol("smoke")


def _results() -> dict:
    curve = {"higher_is_better": True, "best": 20.0, "mean": 18.0, "best_curve": [21.0, 19.0], "mean_curve": [19, 17]}
    return {
        "protocol": PROTOCOL.to_dict(),
        "protocol_description": PROTOCOL.describe(),
        "checkpoint": {"path": "runs/x/last.pt", "step": 7},
        "model": {"name": "rfn"},
        "device": "cpu",
        "train_frames": 4,
        "bpp": {
            "frames": 3,
            "sequences": 2,
            "nelbo": 3.0,
            "nll": 2.5,
            "kl": 0.5,
            "per_frame": {"frame": [2, 3], "nelbo": [3.5, 2.5], "nll": [3.0, 2.0], "kl": [0.5, 0.5]},
            "iw": {"k": 5, "bound": 2.9, "sem": 0.1, "elbo_mc": 3.0},
        },
        "best_of_n": {"frames": [6, 7], "sequences": 2, "samples": 3, "psnr": curve},
        "fvd": {"mean": 100.0, "std": None, "repeats": [100.0], "real_videos": 2, "fake_videos": 2, "clip_frames": 9},
        "skipped": {"lpips": "frames too small"},
    }


def test_rows_are_tidy_and_complete():
    rows = result_rows(_results())
    assert {r["protocol"] for r in rows} == {"smoke"}
    key = {(r["metric"], r["frame"], r["statistic"]): r["value"] for r in rows}
    assert key[("bpp_nelbo", "all", "mean")] == 3.0 and key[("bpp_kl", 3, "mean")] == 0.5
    assert key[("bpp_iw_k5", "all", "mean")] == 2.9
    assert key[("psnr", 6, "best")] == 21.0 and key[("psnr", 7, "mean")] == 17 and key[("psnr", "all", "best")] == 20.0
    assert key[("fvd", "all", "mean")] == 100.0 and key[("fvd", "all", "repeat1")] == 100.0
    assert ("fvd", "all", "std") not in key  # None values are left out


def test_write_outputs_lists_every_file(tmp_path):
    written = write_outputs(_results(), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == ["bpp.png", "psnr.png", "results.csv", "results.json"]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert sorted(saved["files"]) == sorted(str(p) for p in written)
    with open(tmp_path / "out" / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(result_rows(_results()))
    assert (tmp_path / "out" / "psnr.png").read_bytes()[:4] == b"\x89PNG"


def test_table_is_headed_by_the_protocol_and_says_what_was_skipped():
    table = format_table(_results())
    lines = table.splitlines()
    assert lines[0] == PROTOCOL.describe() and "runs/x/last.pt (step 7)" in lines[1]
    assert "IW bound K=5" in table and "2.9000" in table and "PSNR best / mean of 3" in table
    assert "FVD" in table and "lpips skipped" in table and "frames too small" in table

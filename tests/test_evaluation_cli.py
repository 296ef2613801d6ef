"""rfn.evaluation.cli: `rfn evaluate` end to end on a checkpoint of `rfn train --preset smoke`, and its errors."""

from __future__ import annotations

import csv
import json
import math

import pytest

from rfn import assets, cli
from rfn.evaluation import cli as evaluation_cli
from rfn.metrics.protocol import get_protocol


@pytest.fixture(scope="module")
def smoke_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke-run")
    assert cli.main(["train", "--preset", "smoke", "--out", str(out), "--device", "cpu", "--steps", "2"]) == 0
    return out / "last.pt"


def _weights_present(*names: str) -> bool:
    try:
        for n in names:
            assets.path(n)
    except Exception:
        return False
    return True


def test_rfn_evaluate_end_to_end(smoke_checkpoint, tmp_path, capsys):
    if not _weights_present("i3d", "lpips_alex", "mnist"):
        pytest.skip("offline assets (I3D, LPIPS, MNIST) are not in the asset cache")
    out = tmp_path / "eval"
    argv = ["evaluate", "--checkpoint", str(smoke_checkpoint), "--protocol", "smoke", "--iw-k", "5"]
    assert cli.main([*argv, "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    protocol = get_protocol("smoke")
    assert protocol.describe() in printed and "FVD" in printed and "IW bound K=5" in printed
    assert "lpips skipped" in printed  # 16x16 frames are too small for AlexNet: said, not hidden

    res = json.loads((out / "results.json").read_text())
    assert res["protocol"] == protocol.to_dict() and res["protocol_description"] == protocol.describe()
    assert res["checkpoint"] == {"path": str(smoke_checkpoint), "step": 2}
    assert res["model"]["name"] == "rfn" and res["data_config"]["name"] == "smmnist" and res["device"] == "cpu"
    assert res["date"] and "commit" in res and res["train_frames"] == 4
    assert res["settings"] == {
        "iw_k": 5,
        "bpp_frames": 4,
        "batch_size": 32,
        "layout": "auto",
        "fvd": True,
    }
    bpp = res["bpp"]
    assert bpp["frames"] == 4 and bpp["sequences"] == 4 and bpp["per_frame"]["frame"] == [2, 3, 4]
    assert bpp["nelbo"] == pytest.approx(bpp["nll"] + bpp["kl"])
    assert bpp["nelbo"] == pytest.approx(sum(bpp["per_frame"]["nelbo"]) / 3)
    # an untrained-ish model on 8-bit frames: the bound is finite, near 7-8 bits, and tighter than the ELBO
    assert 4.0 < bpp["iw"]["bound"] < 9.0 and bpp["iw"]["k"] == 5
    assert bpp["iw"]["bound"] <= bpp["iw"]["elbo_mc"] + 1e-9
    best = res["best_of_n"]
    assert best["frames"] == list(range(6, 15)) and best["samples"] == 3
    for m in ("psnr", "ssim"):
        assert len(best[m]["best_curve"]) == 9 and best[m]["best"] >= best[m]["mean"]
    assert "lpips" not in best and "LPIPS-alex" in res["skipped"]["lpips"]
    fvd = res["fvd"]
    assert fvd["real_videos"] == 4 and fvd["fake_videos"] == 4 and fvd["clip_frames"] == 9
    assert math.isfinite(fvd["mean"]) and fvd["mean"] > 0

    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["protocol"] for r in rows} == {"smoke"}
    psnr_best = {int(r["frame"]): float(r["value"]) for r in rows if r["metric"] == "psnr" and r["statistic"] == "best"
                 and r["frame"] != "all"}  # fmt: skip
    assert psnr_best == dict(zip(best["frames"], best["psnr"]["best_curve"]))

    # --quiet prints nothing on success; the results are in the folder
    argv = ["evaluate", "--checkpoint", str(smoke_checkpoint), "--protocol", "smmnist-smoke", "--iw-k", "0"]
    assert cli.main([*argv, "--no-fvd", "--quiet", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr() == ("", "") and (tmp_path / "q" / "results.json").is_file()
    assert any(r["metric"] == "fvd" and float(r["value"]) == fvd["mean"] for r in rows)
    assert any(r["metric"] == "bpp_iw_k5" for r in rows)
    for png in ("psnr.png", "ssim.png", "bpp.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(res["files"]) == sorted(str(p) for p in out.iterdir())


def test_rfn_evaluate_errors_are_one_line(smoke_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "e")
    base = ["evaluate", "--checkpoint", str(smoke_checkpoint), "--device", "cpu", "--no-progress", "--out", out]
    assert cli.main([*base, "--protocol", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown evaluation protocol 'nope'" in err and "smmnist-thesis" in err and "bair-thesis-13" in err
    assert cli.main([*base, "--protocol", "bair-thesis-13"]) == 2
    err = capsys.readouterr().err
    assert "'bair'" in err and "'smmnist'" in err and "smmnist-smoke" in err
    assert cli.main([*base, "--protocol", "smoke", "--sequences", "20000", "--no-fvd"]) == 2
    assert "20000 test sequences requested" in capsys.readouterr().err
    assert cli.main([*base, "--protocol", "smoke", "--batch-size", "0"]) == 2
    assert "batch_size must be a positive integer" in capsys.readouterr().err
    missing = tmp_path / "nothing.pt"
    assert cli.main(["evaluate", "--checkpoint", str(missing), "--protocol", "smoke", "--out", out]) == 2
    assert f"checkpoint file {missing} does not exist" in capsys.readouterr().err
    assert cli.main(["evaluate", "--protocol", "smoke"]) == 2
    assert "missing --checkpoint, --out" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_arguments_become_options():
    args = evaluation_cli.build_parser().parse_args(["--checkpoint", "c", "--protocol", "p", "--out", "o",
                                                     "--iw-k", "0", "--no-fvd", "--samples", "4"])  # fmt: skip
    opts = evaluation_cli.options_from_args(args)
    got = (opts.iw_k, opts.fvd, opts.samples, opts.sequences, opts.batch_size, opts.progress)
    assert got == (0, False, 4, None, 32, True)


def test_list_protocols(capsys):
    assert evaluation_cli.main(["--list-protocols"]) == 0
    printed = capsys.readouterr().out
    assert get_protocol("bair-thesis-13").describe() in printed and get_protocol("kth-srvp").describe() in printed

"""rfn sample on real presets: the RFN and the DMOL baselines."""

from __future__ import annotations

import pytest

from rfn import cli, runs


@pytest.mark.parametrize("preset", ["smoke", "smoke-srnn"])
def test_sample_works_for_the_rfn_and_the_baselines(tmp_path, capsys, preset):
    runs.train_preset(preset, tmp_path / "run", ["train.steps=2"])
    png = tmp_path / "s.png"
    argv = ["sample", "--checkpoint", tmp_path / "run" / "last.pt", "--context", 2, "--future", 2, "--samples", 2]
    rc = cli.main([str(a) for a in [*argv, "--emission-temperature", 0.5, "--sequences", 1, "--out", png]])
    assert rc == 0 and png.stat().st_size > 0, capsys.readouterr().err

"""What ``rfn train`` and ``rfn evaluate`` print: the bar on the smoke preset, news-only best lines, a silent --quiet.

Also the one protocol naming (``DATA-SCALE``) shared by ``rfn evaluate --help`` and the README.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rfn import cli
from rfn.evaluation.cli import build_parser as evaluate_parser
from rfn.metrics.protocol import ALIASES, PROTOCOLS, get_protocol
from rfn.presets import get_preset
from rfn.training import Trainer
from rfn.training import trainer as trainer_module

README = Path(__file__).resolve().parents[1] / "README.md"


def test_smoke_preset_shows_the_bar_and_tensorboard_and_quiet_prints_nothing(tmp_path, capsys):
    out = tmp_path / "smoke"
    assert cli.main(["train", "--preset", "smoke", "--out", str(out), "--steps", "1"]) == 0
    text, err = capsys.readouterr()
    assert re.search(r"train: 100%\|.*\| 1/1", err), err  # tqdm's bar, on stderr
    assert f"watch     tensorboard --logdir {out / 'tb'}" in text and any((out / "tb").iterdir())
    assert "step 1: train bpp" in text
    # --quiet: nothing on either stream, on a resume too (no note that it resumed, no closing lines)
    assert cli.main(["train", "--preset", "smoke", "--out", str(out), "--steps", "2", "--resume", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    # --set still turns them off, and the preset itself (what notebooks and tests train) keeps them off
    for extra, shown in (([], "true"), (["--set", "train.progress=False", "train.tensorboard=False"], "false")):
        assert cli.main(["train", "--preset", "smoke", "--print-config", *extra]) == 0
        config = capsys.readouterr().out
        assert f"  progress: {shown}\n" in config and f"  tensorboard: {shown}\n" in config, config
    assert not get_preset("smoke").train_config().progress and not get_preset("smoke").train_config().tensorboard


def test_best_lines_only_for_visible_gains(toy, tmp_path, monkeypatch, capsys):
    """Validations at 3.0, 2.99, 2.5, 2.6, 2.49: best.pt follows every gain; the console hears of 3.0 and 2.5 only."""
    scripted = iter([3.0, 2.99, 2.5, 2.6, 2.49])
    monkeypatch.setattr(trainer_module, "validation_metrics", lambda *a, **k: {"loss": 1.0, "bpp": next(scripted)})
    cfg = toy.cfg(steps=10, val_every=2, ckpt_every=10, log_every=2, progress=False, summary=True)
    model = toy.model(seed=0)
    trainer = Trainer(model, toy.videos(16), toy.videos(8, offset=500), cfg, tmp_path / "run")
    trainer.fit()
    lines = [line for line in capsys.readouterr().out.splitlines() if "best validation" in line]
    assert [line.split(":")[0] for line in lines] == ["step 2", "step 6"], lines
    assert "3.0000" in lines[0] and "2.5000" in lines[1]
    assert trainer.best == {"step": 10, "metric": "bpp", "value": 2.49}  # the record still takes every gain


def test_evaluate_help_and_readme_name_protocols_one_way(capsys):
    help_text = evaluate_parser().format_help()
    readme = README.read_text(encoding="utf-8")
    named = re.findall(r"--protocol[ =]([a-z][a-z0-9-]*)", help_text + readme)
    assert len(named) >= 4, named
    short = sorted({n for n in named if n in ALIASES})
    assert not short, f"use the DATA-SCALE names ({', '.join(ALIASES[n] for n in short)}), not {', '.join(short)}"
    for name in named:
        get_protocol(name)  # every one exists
    # the short names still work, as the same protocols, and the listing says so
    for short_name, full in ALIASES.items():
        assert dataclasses.replace(PROTOCOLS[short_name], name=full) == PROTOCOLS[full]
    assert cli.main(["evaluate", "--list-protocols"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert "smoke: short name of smmnist-smoke" in listing
    assert not any(line.startswith(("smoke: SM-MNIST", "quick: SM-MNIST")) for line in listing)


@pytest.mark.parametrize("argv", [["train", "--help"], ["evaluate", "--help"], ["sample", "--help"]])
def test_quiet_is_described_the_same_way(argv, capsys):
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert "print nothing on success" in " ".join(capsys.readouterr().out.split())

"""`rfn train` output, `--config` / `--print-config`, and the option names the subcommands share."""

from __future__ import annotations

import csv

import pytest
import torch
import yaml

from rfn import cli
from rfn.checkpoint import load_checkpoint
from rfn.config_files import load_config


def run(argv, capsys):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _metrics(path):
    with open(path / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "seq_per_s"} for r in csv.DictReader(f)]


def test_smoke_run_reports_and_its_run_json_relaunches_it_bitwise(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    rc, out, err = run(["train", "--preset", "smoke", "--out", a, "--device", "cpu", "--seed", 3], capsys)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("model     rfn (") and "parameters) on cpu, 1 process, batch 4" in lines[0]
    assert lines[1].startswith("data      smmnist: ") and "validation items, 4 frames" in lines[1]
    assert f"run       {a} (run.json, metrics.csv, last.pt, best.pt)" in lines
    assert f"step 2: checkpoint {a / 'last.pt'}" in lines and f"step 4: checkpoint {a / 'last.pt'}" in lines
    assert any(line.startswith("step 4: train bpp ") and f"s; checkpoint {a / 'last.pt'}" in line for line in lines)
    assert lines[-1].startswith(f"best      {a / 'best.pt'} (validation bpp ")
    assert (a / "best.pt").is_file()

    rc, out, err = run(["train", "--config", a / "run.json", "--out", b, "--quiet"], capsys)
    assert rc == 0, err
    assert out == "" and err == ""  # --quiet: nothing on success
    first, again = load_checkpoint(a / "last.pt"), load_checkpoint(b / "last.pt")
    assert first["model"].keys() == again["model"].keys()
    assert all(torch.equal(first["model"][k], again["model"][k]) for k in first["model"])
    assert _metrics(a) == _metrics(b)
    assert again["meta"]["config"] == str(a / "run.json") and again["train_config"]["seed"] == 3


def test_print_config_is_a_fixed_point_and_overrides_apply_on_top(tmp_path, capsys):
    rc, text, err = run(["train", "--preset", "smoke", "--print-config", "--steps", 7, "--data-root", tmp_path], capsys)
    assert rc == 0, err
    cfg = yaml.safe_load(text)
    assert (cfg["preset"], cfg["model"], cfg["train"]["steps"], cfg["data"]["root"]) == (
        "smoke-smmnist",  # the former name "smoke" resolves to it
        "rfn",
        7,
        str(tmp_path),
    )
    path = tmp_path / "smoke.yaml"
    path.write_text(text)
    rc, again, err = run(["train", "--config", path, "--print-config"], capsys)
    assert rc == 0 and again == text, err
    rc, more, _ = run(["train", "--config", path, "--print-config", "--set", "train.lr=1e-3", "--seed", 5], capsys)
    assert yaml.safe_load(more)["train"] | {"lr": 0.0003, "seed": 0} == cfg["train"]
    assert (yaml.safe_load(more)["train"]["lr"], yaml.safe_load(more)["train"]["seed"]) == (1e-3, 5)


def test_partial_config_is_a_preset_and_its_changes(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "preset: smoke\ntrain:\n  lr: 1e-3\n  accumulate: 2\n  ckpt_every: 1e3\n"
        "data:\n  seq_len: 5\nset: [train.steps=3]\n"
    )
    preset = load_config(path)
    cfg = preset.train_config()
    assert cfg.ckpt_every == 1000 and isinstance(cfg.ckpt_every, int)
    assert (preset.name, preset.model, cfg.lr, cfg.accumulate, cfg.steps, preset.data.seq_len) == (
        "smoke-smmnist",
        "rfn",
        1e-3,
        2,
        3,
        5,
    )


def test_config_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: smoke\ntrian: {lr: 1}\n")
    rc, _, err = run(["train", "--config", bad, "--print-config"], capsys)
    assert rc == 2 and err.startswith(f"rfn train: error: {bad}: unknown keys ['trian']") and err.count("\n") == 1
    rc, _, err = run(["train", "--config", tmp_path / "none.yaml", "--print-config"], capsys)
    assert rc == 2 and "does not exist; pass a YAML file or a run's run.json" in err
    rc, _, err = run(["train", "--config", bad, "--preset", "smoke", "--print-config"], capsys)
    assert rc == 2 and "give either --preset NAME" in err
    bad.write_text("preset: smoke\ntrain: {accumulate: 3}\n")
    rc, _, err = run(["train", "--config", bad, "--print-config"], capsys)
    assert rc == 2 and "train.accumulate must be a divisor of batch_size=4" in err


def test_subcommands_share_option_names():
    from rfn.data.cli import build_parser as data_parser
    from rfn.evaluation.cli import build_parser as evaluate_parser
    from rfn.evaluation.cli import protocol_from_args

    train = cli.build_parser().parse_args(
        ["train", "--preset", "p", "--out", "o", "--seed", "1", "--data-root", "d", "--quiet", "--device", "cpu"]
    )
    assert (train.seed, train.data_root, train.quiet, train.device) == (1, "d", True, "cpu")
    assert cli.build_parser().parse_args(["train", "--preset", "p", "--no-progress"]).quiet  # old spelling
    sample = ["sample", "--checkpoint", "c", "--context", "1", "--future", "1", "--out", "x.gif"]
    got = cli.build_parser().parse_args([*sample, "--seed", "2", "--data-root", "d", "--quiet", "--device", "cpu"])
    assert (got.seed, got.data_root, got.quiet, got.device) == (2, "d", True, "cpu")
    assert cli.build_parser().parse_args([*sample, "--dataset-root", "old"]).data_root == "old"
    argv = ["--checkpoint", "c", "--protocol", "smoke", "--out", "o", "--seed", "4", "--data-root", "d", "--quiet"]
    ev = evaluate_parser().parse_args(
        [*argv, "--device", "cpu", "--emission-temperature", "0.7", "--prior-temperature", "0.5"]
    )
    assert (ev.seed, ev.data_root, ev.quiet, ev.device) == (4, "d", True, "cpu")
    protocol = protocol_from_args(ev)
    assert (protocol.emission_temperature, protocol.prior_temperature, protocol.seed) == (0.7, 0.5, 4)
    assert protocol.name == "smoke+emission_temperature=0.7,prior_temperature=0.5,seed=4"
    assert evaluate_parser().parse_args(["--no-progress"]).quiet
    assert protocol_from_args(evaluate_parser().parse_args(["--protocol", "smoke"])) == "smoke"
    show = data_parser().parse_args(["show", "smmnist", "--data-root", "d", "--out", "o"])
    assert show.data_root == "d" and data_parser().parse_args(["show", "kth", "--root", "r", "--out", "o"]).data_root
    assert data_parser().parse_args(["prepare", "kth", "--src", "s", "--out", "o", "--quiet"]).quiet


def test_evaluate_rejects_a_bad_temperature(capsys):
    rc, _, err = run(
        ["evaluate", "--checkpoint", "c", "--protocol", "smoke", "--out", "o", "--flow-temperature", 0], capsys
    )
    assert rc == 2 and "emission_temperature must be a positive number, got 0.0" in err


@pytest.mark.parametrize("flag", ["--help"])
def test_train_help_names_the_new_options(flag, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", flag])
    text = capsys.readouterr().out
    for option in ("--config", "--print-config", "--seed", "--data-root", "--quiet", "--device"):
        assert option in text
    assert "--no-progress" not in text and "--dataset-root" not in text


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_one_temperature_flag_in_help_and_the_former_one_hidden(command, capsys):
    from rfn.cli import build_parser
    from rfn.evaluation.cli import build_parser as evaluate_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = evaluate_parser() if command == "evaluate" else sub.choices["sample"]
    text = parser.format_help()
    assert "--emission-temperature" in text and "--flow-temperature" not in text
    args = ["--checkpoint", "c", "--out", "o.gif"] + (["--protocol", "smoke"] if command == "evaluate" else [])
    args += [] if command == "evaluate" else ["--context", "1", "--future", "1"]
    assert parser.parse_args([*args, "--flow-temperature", "0.3"]).emission_temperature == 0.3

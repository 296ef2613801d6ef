"""Every user error is one line naming the file or flag: config sections of the wrong type, reshaped tensors in
--init-from, undecodable run.json, corrupt KTH .npz, oversized varints, undecodable videos, Ctrl-C at start-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rfn import cli, runs
from rfn.checkpoint import load_checkpoint, save_checkpoint
from rfn.data.kth import prepare_kth, read_video_npz
from rfn.data.tfrecord import TFRecordError, parse_example
from rfn.training import RunDirectoryError, Trainer

ROOT = Path(__file__).resolve().parents[1]


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("preset: smoke\ndata: [1, 2]\n", "the data section must be a mapping, got list"),
        ("preset: smoke\nmodel: 5\n", "the model section must be a str or a mapping, got int"),
        ("preset: smoke\ntrain: 3\n", "the train section must be a mapping, got int"),
        ("preset: smoke\nmodel_config: [1]\n", "the model_config section must be a mapping, got list"),
        ("model: rfn\ndata: 7\n", "the data section must be a mapping, got int"),
        ("preset: smoke\ndata: {kwargs: 3}\n", "data.kwargs must be a mapping"),
    ],
)
def test_config_sections_of_the_wrong_type_are_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert cli.main(["train", "--config", str(path), "--out", str(tmp_path / "r")]) == 2
    line = _one_line(capsys)
    assert str(path) in line and message in line


def test_an_undecodable_run_json_names_the_file(toy, tmp_path, capsys):
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    (tmp_path / "run.json").write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(RunDirectoryError, match=r"run\.json is unreadable \(UnicodeDecodeError"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=4), tmp_path, resume=True).fit()
    assert cli.main(["train", "--config", str(tmp_path / "run.json"), "--out", str(tmp_path / "b")]) == 2
    assert f"{tmp_path / 'run.json'} is not a text file (not UTF-8" in _one_line(capsys)


def test_init_from_with_a_reshaped_tensor_is_one_line(tmp_path, capsys):
    runs.train_preset("smoke", tmp_path / "a", ["train.steps=1", "train.device=cpu"])
    data = load_checkpoint(tmp_path / "a" / "last.pt")
    name = max(data["model"], key=lambda k: data["model"][k].numel())
    data["model"][name] = data["model"][name].reshape(-1)[:-1].clone()  # same config, one tensor of another shape
    save_checkpoint(tmp_path / "edited.pt", {k: v for k, v in data.items() if k != "digest"})
    argv = ["train", "--preset", "smoke", "--out", str(tmp_path / "b"), "--init-from", str(tmp_path / "edited.pt")]
    assert cli.main(argv) == 2
    line = _one_line(capsys)
    assert "edited.pt: its config matches preset 'smoke-smmnist' but its weights do not" in line and name in line


def test_a_corrupt_kth_npz_names_the_file(tmp_path):
    path = tmp_path / "person01_boxing_d1.npz"
    path.write_bytes(b"\x80\x04garbage that is no zip archive")  # numpy would take it for a pickle
    with pytest.raises(ValueError, match=r"cannot read KTH video .*person01_boxing_d1\.npz \(ValueError: .*corrupted"):
        read_video_npz(path)
    np.savez(path, frames_0000=np.zeros((2, 3, 3), np.uint8))  # readable, but of the wrong size: its own message
    with pytest.raises(ValueError, match=r"holds frames of shape \(3, 3\) uint8; expected 64x64"):
        read_video_npz(path)


def test_a_varint_above_2_to_the_64_is_a_record_error():
    # Example.features -> Features.feature map entry -> Feature.int64_list holding an 10-byte varint of 2^70 - 1
    big = b"\xff" * 9 + b"\x7f"
    int64_list = b"\x08" + big
    feature = b"\x1a" + bytes([len(int64_list)]) + int64_list
    entry = b"\x0a\x01k\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    with pytest.raises(TFRecordError, match="varint above 2\\^64"):
        parse_example(b"\x0a" + bytes([len(features)]) + features)


def test_an_undecodable_kth_video_is_one_line_and_ffmpeg_speaks_only_when_asked(tmp_path, capsys):
    src = tmp_path / "zips"
    src.mkdir()
    with zipfile.ZipFile(src / "boxing.zip", "w") as zf:
        zf.writestr("person01_boxing_d1_uncomp.avi", b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 200)
    with pytest.raises(ValueError) as err:
        prepare_kth(src, tmp_path / "out", actions=("boxing",), verbose=False)
    msg = str(err.value)
    assert "\n" not in msg and "person01_boxing_d1_uncomp.avi: cannot decode the video" in msg and "--verbose" in msg
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError):
        prepare_kth(src, tmp_path / "out", actions=("boxing",), verbose=False, decoder_output=True)
    assert "ffmpeg's output for" in capsys.readouterr().err


def test_ctrl_c_while_importing_is_exit_130_without_traceback(monkeypatch, tmp_path, capsys):
    class Interrupting:  # a Ctrl-C that lands while a module is being imported
        def find_spec(self, name, path=None, target=None):
            if name == "rfn.training.preset":  # what `rfn train` imports first
                raise KeyboardInterrupt
            return None

    for name in [m for m in sys.modules if m in ("rfn.training.preset", "rfn.training.interrupts")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    assert cli.main(["train", "--preset", "smoke", "--out", str(tmp_path / "r")]) == 130
    assert _one_line(capsys) == "rfn train: interrupted while starting; nothing was written"


def test_sigint_during_start_up_of_a_real_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "rfn.cli", "train", "--preset", "smoke", "--out", str(tmp_path / "r"), "--quiet"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(0.3)  # importing torch takes longer than this
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err

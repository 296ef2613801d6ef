"""Multi-node training as README.md shows it: two ``torchrun --nnodes 2`` launchers meet at a c10d rendezvous.

Both launchers run on 127.0.0.1 (loopback only), one gloo process each, and train the
``smoke`` preset for two steps into one run folder, as two machines would on a shared
file system. Each process records the checkpoints it writes and its final weights, so
the test sees that the ranks agree on the weights and that only rank 0 writes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import torch

from rfn.checkpoint import load_checkpoint

LAUNCH = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from rfn import checkpoint, cli
    from rfn.training import preset as training_preset
    from rfn.training import trainer as trainer_module

    rank, folder = int(os.environ["RANK"]), sys.argv[1]
    written = []
    save = checkpoint.save_checkpoint

    def recording_save(path, *args, **kwargs):
        written.append(str(path))
        return save(path, *args, **kwargs)

    trainer_module.save_checkpoint = recording_save
    train_preset = training_preset.train_preset

    def keep_weights(*args, **kwargs):
        trainer, rows = train_preset(*args, **kwargs)
        torch.save(trainer.model.state_dict(), os.path.join(folder, f"weights-{rank}.pt"))
        return trainer, rows

    training_preset.train_preset = keep_weights
    code = cli.main(sys.argv[2:])
    with open(os.path.join(folder, f"written-{rank}.json"), "w") as f:
        json.dump(written, f)
    sys.exit(code)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_launchers_train_one_run(tmp_path):
    script, out = tmp_path / "launch.py", tmp_path / "run"
    script.write_text(LAUNCH)
    rendezvous = ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "test"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1"]
    torchrun += [*rendezvous, "--local-addr", "127.0.0.1", "--max-restarts", "0"]
    train = ["train", "--preset", "smoke", "--out", str(out), "--steps", "2", "--device", "cpu", "--quiet"]
    train += ["--set", "train.tensorboard=False"]  # not what is tested here, and seconds of import
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "MASTER_ADDR": "127.0.0.1"}
    nodes = [
        subprocess.Popen(
            [*torchrun, str(script), str(tmp_path), *train],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # a launcher and its worker form one process group, stopped together
        )
        for _ in range(2)
    ]
    try:
        logs = [node.communicate(timeout=180)[0] for node in nodes]
    except subprocess.TimeoutExpired:
        logs = ["(stopped after 180 s)"]
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(log[-2000:] for log in logs)

    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == 2 and len(ckpt["rng"]) == 2
    weights = [torch.load(tmp_path / f"weights-{r}.pt", weights_only=True) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys() == ckpt["model"].keys()
    for name, value in weights[0].items():
        assert torch.equal(value, weights[1][name]), f"the ranks disagree on {name}"  # BatchNorm statistics too
        assert torch.equal(value, ckpt["model"][name]), f"last.pt is not the trained {name}"
    written = [json.loads((tmp_path / f"written-{r}.json").read_text()) for r in (0, 1)]
    assert written[1] == [], f"rank 1 wrote checkpoints: {written[1]}"
    # step 2 validates (a new best.pt) and checkpoints (last.pt), each written once, by rank 0
    assert sorted(written[0]) == [str(out / "best.pt"), str(out / "last.pt")], written[0]

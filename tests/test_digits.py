"""Tests of rfn.metrics.digits: the digit-identity classifier and its committed weights.

The committed classifier (32x32 frames, two 16-pixel digits) names the exact
digit pair of true SM-MNIST test frames about 0.9 of the time (see its
``.json``: 10,000 frames of 1,000 test sequences); all-black and noise frames
score near chance (about 0.02).
"""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
import torch

from rfn.assets import sha256
from rfn.data import StochasticMovingMNIST, digit_pool, load_mnist
from rfn.metrics import digits
from rfn.metrics.digits import (
    CHECKPOINT,
    CHECKPOINT_SHA256,
    ClassifierConfig,
    best_multiset,
    counts_of,
    digit_identity,
    digit_identity_curves,
    identity_by_horizon,
    load_digit_classifier,
    save_digit_classifier,
    smmnist_labels,
    train_digit_classifier,
)


@pytest.fixture(scope="module")
def mnist_test_clips() -> tuple[torch.Tensor, torch.Tensor]:
    ds = StochasticMovingMNIST("test", seq_len=10, image_size=32, digit_size=16)
    return ds.batch(range(300)), smmnist_labels(ds, range(300))


def test_counts_of():
    assert counts_of(torch.tensor([3, 3])).tolist() == [0, 0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert counts_of(torch.tensor([[1, 9], [9, 1]])).tolist()[0] == counts_of(torch.tensor([9, 1])).tolist()
    with pytest.raises(ValueError, match="labels must be integers in 0..9"):
        counts_of(torch.tensor([3, 10]))


@pytest.mark.parametrize("num_digits", [1, 2, 3])
def test_best_multiset_is_the_most_probable_multiset(num_digits):
    g = torch.Generator().manual_seed(num_digits)
    log_probs = torch.log_softmax(3 * torch.randn(50, 10, num_digits + 1, generator=g), -1)
    got = best_multiset(log_probs)
    assert got.shape == (50, 10) and (got.sum(-1) == num_digits).all()
    for b in range(50):  # brute force over every multiset
        best = max(
            itertools.combinations_with_replacement(range(10), num_digits),
            key=lambda m: sum(float(log_probs[b, c, m.count(c)]) for c in range(10)),
        )
        assert got[b].tolist() == counts_of(torch.tensor(best)).tolist()


def test_equal_digits_are_predicted_twice():
    log_probs = torch.full((2, 10, 3), -20.0)
    log_probs[..., 0] = -0.01
    log_probs[0, 4] = torch.tensor([-5.0, -3.0, -0.1])  # a 4, most likely twice
    log_probs[1, 4] = torch.tensor([-5.0, -0.1, -3.0])  # a 4 once ...
    log_probs[1, 8] = torch.tensor([-2.0, -0.2, -9.0])  # ... and probably an 8
    assert best_multiset(log_probs)[:, [4, 8]].tolist() == [[2, 0], [1, 1]]


def test_committed_checkpoint_is_small_weights_only_and_hashed():
    assert CHECKPOINT.is_file(), "run python benchmarks/digit_classifier.py --write-hash"
    assert CHECKPOINT.stat().st_size < 1_000_000
    assert sha256(CHECKPOINT) == CHECKPOINT_SHA256
    blob = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    assert set(blob) == {"config", "state_dict"} and blob["config"] == {
        "image_size": 32,
        "digit_size": 16,
        "num_digits": 2,
        "width": blob["config"]["width"],
    }
    meta = json.loads(CHECKPOINT.with_suffix(".json").read_text())
    assert meta["sha256"] == CHECKPOINT_SHA256 and meta["measured"]["true_test_frames"] >= 0.75
    model = load_digit_classifier()
    assert not model.training and model.config == ClassifierConfig(**blob["config"])


def test_identity_of_true_test_frames_black_and_noise(mnist_test_clips):
    frames, labels = mnist_test_clips
    true = digit_identity(frames, labels)
    assert true.shape == (300, 10) and true.dtype == torch.float32
    assert float(true.mean()) >= 0.8, float(true.mean())
    assert float(digit_identity(torch.zeros_like(frames), labels).mean()) <= 0.05
    noise = torch.randint(0, 256, frames.shape, generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert float(digit_identity(noise, labels).mean()) <= 0.05
    shuffled = digit_identity(frames[:100], labels[:100].roll(1, 0))  # right frames, another sequence's digits
    assert float(shuffled.mean()) <= 0.05


def test_samples_floats_and_curves(mnist_test_clips):
    frames, labels = mnist_test_clips[0][:40], mnist_test_clips[1][:40]
    samples = torch.stack([frames, torch.zeros_like(frames), frames.flip(-1)], 1)  # [B, N=3, T, 1, H, W]
    scores = digit_identity(samples, labels)
    assert scores.shape == (40, 3, 10)
    assert torch.equal(scores[:, 0], digit_identity(frames, labels))
    as_float = samples.float() / 127.5 - 1.0
    assert torch.equal(digit_identity(as_float, labels), scores)
    curves = digit_identity_curves(samples, labels)
    assert curves["sequences"] == 40 and curves["samples"] == 3 and len(curves["mean"]) == 10
    assert curves == identity_by_horizon(scores)
    for t in range(10):
        assert curves["best"][t] >= float(scores[:, 0, t].mean()) >= curves["mean"][t]
        assert curves["best"][t] == float(scores[:, :, t].amax(1).mean())


def test_smmnist_labels_index_the_mnist_labels():
    ds = StochasticMovingMNIST("test", seq_len=2, image_size=32, digit_size=28)
    assert torch.equal(torch.from_numpy(digit_pool("test", 28).copy()), load_mnist("test")[0])
    labels = smmnist_labels(ds, [0, 5])
    idx = [ds.trajectory(i).digits.tolist() for i in (0, 5)]
    assert labels.tolist() == [[int(load_mnist("test")[1][k]) for k in row] for row in idx]
    train = StochasticMovingMNIST("train", seq_len=2)
    k = train.trajectory(3).digits.tolist()
    assert smmnist_labels(train, [3])[0].tolist() == [int(load_mnist("train+valid")[1][j]) for j in k]
    with pytest.raises(TypeError, match="needs a StochasticMovingMNIST"):
        smmnist_labels([], [0])


def test_tampered_or_missing_checkpoint(tmp_path):
    copy = tmp_path / "digit-classifier.pt"
    shutil.copy(CHECKPOINT, copy)
    assert load_digit_classifier(copy, expected_sha256=CHECKPOINT_SHA256).config.image_size == 32
    data = bytearray(copy.read_bytes())
    data[-100] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="was changed; restore it from git"):
        load_digit_classifier(copy, expected_sha256=CHECKPOINT_SHA256)
    with pytest.raises(FileNotFoundError, match="is missing; restore it from git"):
        load_digit_classifier(tmp_path / "nothing.pt")


def test_bad_inputs(mnist_test_clips):
    frames, labels = mnist_test_clips[0][:2], mnist_test_clips[1][:2]
    with pytest.raises(ValueError, match="reads 32x32 frames"):
        digit_identity(torch.zeros(2, 3, 1, 64, 64, dtype=torch.uint8), labels)
    with pytest.raises(ValueError, match="labels must be shaped"):
        digit_identity(frames, labels[:1])
    with pytest.raises(ValueError, match="labels name 3 digits"):
        digit_identity(frames, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="dtype torch.uint8"):
        digit_identity(frames.long(), labels)
    with pytest.raises(ValueError, match="channels"):
        digit_identity(frames.expand(-1, -1, 3, -1, -1), labels)
    with pytest.raises(ValueError, match="image_size and digit_size"):
        ClassifierConfig(image_size=32, digit_size=40)


def test_training_any_size_and_save_load_round_trip(tmp_path):
    config = ClassifierConfig(image_size=64, digit_size=32, num_digits=2, width=4)
    model, info = train_digit_classifier(config, steps=3, batch_size=8, val_frames=16, log_every=2)
    assert [h["step"] for h in info["history"]] == [2, 3] and 0.0 <= info["val_identity"] <= 1.0
    path = tmp_path / "small.pt"
    digest = save_digit_classifier(model, path, info)
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == digest == sha256(path)
    again = load_digit_classifier(path, expected_sha256=digest)
    frames = StochasticMovingMNIST("test", seq_len=3, image_size=64, digit_size=32).batch(range(4))
    model.load_state_dict(again.state_dict())  # the saved (float16) weights
    assert torch.equal(again.predict(frames), model.predict(frames))
    assert again.predict(frames).shape == (4, 3, 10)
    placed, placed_labels = digits.place_digits(
        digit_pool("test", 32), load_mnist("test")[1].numpy(), np.random.default_rng(0), 5, 64, 2
    )
    assert placed.shape == (5, 1, 64, 64) and placed.dtype == torch.uint8 and placed_labels.shape == (5, 2)

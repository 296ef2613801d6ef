"""Tests of digits read at their place: rfn.metrics.digit_reader, rfn.metrics.placed_digits, continue_bounces.

The committed reader (32x32 frames, 16-pixel digits, tolerance 2) reads about 0.9 of the digits of true
SM-MNIST test frames at their place and almost none once the box is moved 4 or more pixels away (see its
``.json``: 20,000 digits of 1,000 test sequences).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from toy_video_model import CopyLast

from rfn.assets import sha256
from rfn.data import StochasticMovingMNIST, load_mnist
from rfn.data.motion import continue_bounces, simulate_bounces
from rfn.metrics import digit_reader as dr
from rfn.metrics.placed_digits import (
    PERFECT,
    perfect_paths,
    perfect_samples,
    placed_digit_hits,
    render_paths,
)
from rfn.pages.placed_digits import placed_digit_table

CONTEXT, K = 5, 6


@pytest.fixture(scope="module")
def data():
    ds = StochasticMovingMNIST("test", seq_len=CONTEXT + K, image_size=32, digit_size=16)
    idx = list(range(12))
    return ds, ds.batch(idx), [ds.trajectory(i) for i in idx]


def _true_draws(ds: StochasticMovingMNIST, index: int):
    """The redraw table behind test sequence ``index``, replayed from its seed as ``trajectory`` draws it."""
    rng = np.random.default_rng([ds.seed, 1, index])  # stream 1: the test split
    rng.integers(0, len(ds.digits), size=ds.num_digits)
    return simulate_bounces(rng, ds.num_digits, ds.seq_len, ds.image_size - ds.digit_size)


def test_windows_cut_each_digits_box_exactly(data):
    ds, clips, trajs = data
    s, tol = ds.digit_size, 2
    for i in range(4):
        tr = trajs[i]
        pos = torch.from_numpy(tr.positions)  # [T, D, 2]
        win = dr.windows(clips[i], pos, s, tol)  # [T, D, 1, 20, 20] in [0, 1]
        assert win.shape == (ds.seq_len, 2, 1, s + 2 * tol, s + 2 * tol)
        frames = clips[i, :, 0].float() / 255
        for t in range(ds.seq_len):
            for d in range(2):
                y, x = tr.positions[t, d]
                assert torch.equal(win[t, d, 0, tol : tol + s, tol : tol + s], frames[t, y : y + s, x : x + s])
                # the same window of the digit drawn alone: its pool image in the box, black around it
                alone = torch.from_numpy(render_paths(ds, tr.digits[d : d + 1], tr.positions[t : t + 1, d : d + 1]))
                w1 = dr.windows(alone[:, None], pos[t : t + 1, d : d + 1], s, tol)[0, 0, 0]
                assert torch.equal((w1 * 255).round().byte()[tol : tol + s, tol : tol + s],
                                   torch.from_numpy(ds.digits[tr.digits[d]].copy()))  # fmt: skip
                w1[tol : tol + s, tol : tol + s] = 0
                assert (w1 == 0).all()
    # outside the canvas is black; a box at the corner has its margin there
    full = torch.full((1, 1, 32, 32), 255, dtype=torch.uint8)
    w = dr.windows(full, torch.tensor([[[0, 16]]]), s, tol)[0, 0, 0]
    assert w[:tol].sum() == 0 and w[:, -tol:].sum() == 0 and w[tol:, :-tol].min() == 1


def test_render_paths_is_the_generators_rendering(data):
    ds, clips, trajs = data
    for i, tr in enumerate(trajs):
        assert np.array_equal(render_paths(ds, tr.digits, tr.positions), clips[i, :, 0].numpy())


def test_window_labels_rule():
    pos, cls = torch.tensor([[4, 10], [6, 11]]), torch.tensor([7, 3])
    boxes = torch.tensor([[4, 10], [6, 12], [2, 8], [1, 10], [4, 13], [12, 0]])
    # exact; nearer to digit 2; 2 px off digit 1 on both axes; 3 px off; 2 px off 2; nowhere
    assert dr.window_labels(pos, cls, boxes, 2).tolist() == [7, 3, 7, dr.NONE, 3, dr.NONE]
    assert dr.window_labels(pos, cls, boxes, 0).tolist() == [7, dr.NONE, dr.NONE, dr.NONE, dr.NONE, dr.NONE]


def test_continuation_with_the_true_redraws_replays_the_truth(data):
    ds, clips, trajs = data
    limit = ds.image_size - ds.digit_size
    for i, tr in enumerate(trajs):
        path = _true_draws(ds, i)
        assert np.array_equal(path.positions, tr.positions)
        paths = perfect_paths(tr, CONTEXT, K, 1, draws=path.draws[None, CONTEXT:], limit=limit)
        assert np.array_equal(paths[0], tr.positions[CONTEXT:])
        frames = render_paths(ds, tr.digits, paths[0])
        assert np.array_equal(frames, clips[i, CONTEXT:, 0].numpy())
        for c in (1, 3, CONTEXT + K - 1):  # any cut point
            cont = continue_bounces(tr.positions[c - 1], tr.velocities[c - 1], K + CONTEXT - c, limit,
                                    draws=path.draws[c:])  # fmt: skip
            assert np.array_equal(cont.positions, tr.positions[c:])
            assert np.array_equal(cont.velocities, tr.velocities[c:]) and np.array_equal(cont.events, tr.events[c:])


def test_perfect_sampler_follows_the_truth_until_a_bounce(data):
    ds, _, trajs = data
    frames, paths = perfect_samples(ds, trajs, CONTEXT, K, n=20, seed=3)
    assert frames.shape == (len(trajs), 20, K, 1, 32, 32) and frames.dtype == torch.uint8
    truth = torch.from_numpy(np.stack([t.positions[CONTEXT:] for t in trajs]))  # [B, K, D, 2]
    assert torch.equal(paths[:, :, 0], truth[:, None, 0].expand_as(paths[:, :, 0]))  # t+1 is never random
    events = torch.from_numpy(np.stack([t.events[CONTEXT:] for t in trajs])).any(-1)  # [B, K, D]
    no_bounce_yet = ~torch.cat([torch.zeros_like(events[:, :1]), events[:, :-1]], 1).cummax(1).values
    same = (paths == truth[:, None]).all(-1)  # [B, N, K, D]
    assert same[no_bounce_yet[:, None].expand_as(same)].all()
    assert not same.all()  # after bounces the samples leave the true path
    again = perfect_samples(ds, trajs, CONTEXT, K, n=20, seed=3)[0]
    assert torch.equal(again, frames) and not torch.equal(perfect_samples(ds, trajs, CONTEXT, K, 20, seed=4)[0], frames)


def test_committed_reader_file_is_hashed_and_small(tmp_path):
    assert sha256(dr.CHECKPOINT) == dr.CHECKPOINT_SHA256
    assert dr.CHECKPOINT.stat().st_size < 600_000
    meta = json.loads(dr.CHECKPOINT.with_suffix(".json").read_text())
    assert meta["sha256"] == dr.CHECKPOINT_SHA256 and meta["measured"]["true_place"] > 0.8
    assert meta["measured"]["displaced"]["6"] < 0.05 and meta["measured"]["black_frames_read_as_a_digit"] < 0.01
    bad = tmp_path / "reader.pt"
    shutil.copy(dr.CHECKPOINT, bad)
    with bad.open("r+b") as f:
        f.seek(-10, 2)
        byte = f.read(1)
        f.seek(-10, 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ValueError, match="sha256"):
        dr.load_digit_reader(bad, expected_sha256=dr.CHECKPOINT_SHA256)
    with pytest.raises(FileNotFoundError, match="benchmarks/digit_reader.py"):
        dr.load_digit_reader(tmp_path / "missing.pt")


def test_committed_reader_reads_at_the_place_only(data):
    _, clips, trajs = data
    pos = torch.from_numpy(np.stack([t.positions for t in trajs]))  # [B, T, D, 2]
    labels = load_mnist("test")[1][torch.from_numpy(np.stack([t.digits for t in trajs]))]
    truth = labels[:, None].expand(pos.shape[:-1])
    at_place = (dr.read_at(clips, pos) == truth).float().mean()
    moved = (dr.read_at(clips, (pos + torch.tensor([6, -6])).clamp(-16, 32)) == truth).float().mean()
    black = dr.read_at(torch.zeros_like(clips), pos)
    assert at_place > 0.75 and moved < 0.1 and (black == dr.NONE).all()
    assert torch.equal(dr.read_at(clips, pos, chunk=7), dr.read_at(clips, pos))  # chunks read the same


def test_table_baselines_order_and_ratios(data):
    ds, clips, trajs = data
    model_samples = perfect_samples(ds, trajs, CONTEXT, K, n=3, seed=11)[0]  # a model that samples the true process
    table = placed_digit_table({"model": model_samples}, clips, trajs, ds, CONTEXT)
    assert list(table.index) == [f"t+{k}" for k in range(1, K + 1)]
    assert table.attrs["samples"] == 3 and table.attrs["sequences"] == len(trajs)
    t = table
    # the perfect sampler is the truth at t+1 (positions are deterministic one frame ahead)
    assert t.loc["t+1", f"{PERFECT} mean"] == t.loc["t+1", "true frames"]
    assert (t["true frames"] > 0.7).all() and (t["black frames"] == 0).all()
    later = t.iloc[2:]
    assert (later["true frames"] > later["last context frame"]).all()
    assert t["last context frame"].mean() > t["black frames"].mean()
    assert (t[f"{PERFECT} best-of-3"] >= t[f"{PERFECT} mean"]).all()
    assert (t["model best-of-3"] >= t["model mean"]).all()
    assert np.allclose(t["model mean / perfect"], t["model mean"] / t[f"{PERFECT} mean"])
    assert (t["other sequences mean"] < 0.2).all()
    se = t.attrs["stderr"]
    assert se["black frames"] == [0.0] * K and 0 < max(se["true frames"]) < 0.2
    assert set(se) == {c for c in t.columns if "/ perfect" not in c}


def test_table_samples_a_model_and_reads_float_frames(data):
    ds, clips, trajs = data

    table = placed_digit_table(CopyLast(), clips[:4], trajs[:4], ds, CONTEXT, n_samples=2, batch_size=3)
    assert np.allclose(table["model mean"], table["last context frame"])
    assert table.attrs["other_sequences"] == 2


def test_bad_inputs_are_refused_clearly(data):
    ds, clips, trajs = data
    samples = clips[:, None, CONTEXT:]
    with pytest.raises(ValueError, match="is not the rendering of trajectory 0"):
        placed_digit_table(samples, clips.roll(1, 0), trajs, ds, CONTEXT)
    with pytest.raises(ValueError, match="context must be an integer"):
        placed_digit_table(samples, clips, trajs, ds, CONTEXT + K)
    with pytest.raises(ValueError, match="samples of 'model' must be shaped"):
        placed_digit_table(samples[:, :, 1:], clips, trajs, ds, CONTEXT)
    with pytest.raises(ValueError, match="trajectories must be 12 Trajectory"):
        placed_digit_table(samples, clips, trajs[:3], ds, CONTEXT)
    with pytest.raises(ValueError, match="at least 2 sequences"):
        placed_digit_table(samples[:1], clips[:1], trajs[:1], ds, CONTEXT)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        placed_digit_table({"m": CopyLast()}, clips, trajs, ds, CONTEXT)
    with pytest.raises(ValueError, match="hold 1 per sequence, expected N=2"):
        placed_digit_table(samples, clips, trajs, ds, CONTEXT, n_samples=2)
    with pytest.raises(TypeError, match="model with predict"):
        placed_digit_table({"m": "not a model"}, clips, trajs, ds, CONTEXT, n_samples=2)
    with pytest.raises(TypeError, match="dataset must be the StochasticMovingMNIST"):
        placed_digit_table(samples, clips, trajs, object(), CONTEXT)
    with pytest.raises(ValueError, match="reads 32x32 frames"):
        dr.read_at(torch.zeros(1, 1, 64, 64, dtype=torch.uint8), torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="frames' leading shape"):
        dr.read_at(clips[:2], torch.zeros(3, CONTEXT + K, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="positions must be integers"):
        dr.windows(clips[0], torch.zeros(CONTEXT + K, 2, 2), 16, 2)
    with pytest.raises(ValueError, match="positions must lie in"):
        dr.windows(clips[0, :1], torch.tensor([[[40, 0]]]), 16, 2)
    with pytest.raises(ValueError, match="positions must be shaped"):
        placed_digit_hits(samples, torch.zeros(12, K, 2), torch.zeros(12, 2))
    with pytest.raises(ValueError, match="draws must be integers in 0..35"):
        continue_bounces(np.zeros((2, 2)), np.zeros((2, 2)), 3, 16, draws=np.full((3, 2, 2), 36))
    with pytest.raises(ValueError, match="give rng"):
        continue_bounces(np.zeros((2, 2)), np.zeros((2, 2)), 3, 16)
    with pytest.raises(ValueError, match="positions must lie in"):
        continue_bounces(np.full((2, 2), 17), np.zeros((2, 2)), 3, 16, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="tolerance must be"):
        dr.ReaderConfig(tolerance=9)


def test_training_windows_and_a_short_training_run(tmp_path):
    from rfn.data import digit_pool

    cfg = dr.ReaderConfig()
    pool, labels = digit_pool("test", 16)[:500], load_mnist("test")[1].numpy()[:500]
    x1, y1 = dr.training_windows(pool, labels, np.random.default_rng(0), 40, cfg)
    x2, y2 = dr.training_windows(pool, labels, np.random.default_rng(0), 40, cfg)
    assert x1.shape == (200, 1, 20, 20) and torch.equal(x1, x2) and torch.equal(y1, y2)
    y = y1.view(40, 5)
    assert (y[:, :2] != dr.NONE).all()  # the digits' own places moved within the tolerance
    assert (y == dr.NONE).any() and (y[:, 2:] != dr.NONE).any()  # both sides of the boundary occur
    model, info = dr.train_digit_reader(
        dr.ReaderConfig(width=4), steps=2, frames_per_step=4, log_every=1, digits=(pool, labels)
    )
    assert len(info["history"]) == 2
    digest = dr.save_digit_reader(model, tmp_path / "r.pt", info)
    back = dr.load_digit_reader(tmp_path / "r.pt", expected_sha256=digest)
    x = torch.rand(3, 1, 20, 20)
    assert torch.equal(back.classify(x), back.classify(x)) and back.classify(x).shape == (3,)


def test_true_places_feed_the_temperature_measure(data):
    """rfn.pages.temperature's 'digits in place': true futures score the reader's accuracy, shifted ones almost 0."""
    from rfn.metrics.placed_digits import true_places
    from rfn.pages.temperature import sequence_measures

    ds, clips, trajs = data
    positions, labels = true_places(ds, trajs, CONTEXT, K)
    assert positions.shape == (12, K, 2, 2) and labels.shape == (12, 2)
    assert torch.equal(labels, load_mnist("test")[1][torch.from_numpy(np.stack([t.digits for t in trajs]))])
    future = clips[:, CONTEXT:]
    kept = sequence_measures(torch.stack([future, future], 1), future, (positions, labels))["digits in place"]
    assert kept.shape == (12,) and kept.mean() > 0.8
    moved = torch.roll(future, shifts=8, dims=-1)  # every digit 8 pixels to the right of its place
    off = sequence_measures(torch.stack([moved, moved], 1), future, (positions, labels))["digits in place"]
    assert off.mean() < 0.2


def test_compare_columns_calls_only_differences_beyond_two_standard_errors():
    import pandas as pd

    from rfn.pages.placed_digits import compare_columns

    t = pd.DataFrame({"a": [0.9, 0.5, 0.1, 0.2], "b": [0.5, 0.48, 0.5, 0.2]}, index=["t+1", "t+2", "t+3", "t+4"])
    t.attrs["stderr"] = {"a": [0.02] * 4, "b": [0.02] * 4}
    assert compare_columns(t, "a", "b") == {"above": "t+1", "below": "t+3", "level": "t+2, t+4"}

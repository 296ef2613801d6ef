"""Tests of rfn.data.textured: the textured bouncing-shapes RGB set (the BAIR stand-in).

Numbers measured at the time of writing (200 test sequences, 32x32, 10 frames,
default camera): horizontally adjacent pixels correlate at about 0.80 (0.89 at
64x64) against about 0.00 for the same pixels shuffled within each image; in
the background alone (pixels outside every shape's box) about 0.8, where the
flat-coloured ``shapes`` set has no variation at all.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from rfn.data import dataset_info, make_dataset
from rfn.data.motion import MAX_SPEED
from rfn.data.textured import KINDS, TexturedShapes, adjacent_correlation, pink_noise, shape_mask


@pytest.fixture(scope="module")
def clips() -> dict[str, torch.Tensor]:
    ds = TexturedShapes("test", seq_len=10, image_size=32, return_events=True)
    items = [ds[i] for i in range(200)]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


@pytest.mark.parametrize("size", [32, 64])
def test_items_are_deterministic_uint8_rgb(size):
    ds = TexturedShapes("test", seq_len=7, image_size=size, length=5)
    x = ds[3]
    assert x.shape == (7, 3, size, size) and x.dtype == torch.uint8
    assert torch.equal(x, TexturedShapes("test", seq_len=7, image_size=size, length=5)[3])
    assert torch.equal(x, ds[-2])
    assert not torch.equal(x, ds[2])
    assert int(x.min()) < 100 < int(x.max())  # not saturated to black or white
    assert ds.shape_size == 3 * size // 8 and len(ds) == 5 and TexturedShapes("train").length == 10**6


def test_splits_and_seeds_differ():
    test = TexturedShapes("test", seq_len=4, image_size=32)
    train = TexturedShapes("train", seq_len=4, image_size=32)
    other = TexturedShapes("test", seq_len=4, image_size=32, seed=1)
    for i in range(5):
        assert not torch.equal(test[i], train[i])
        assert not torch.equal(test[i], other[i])


@pytest.mark.parametrize("shake", [0, 2])
def test_first_frames_do_not_depend_on_seq_len(shake):
    long = TexturedShapes("test", seq_len=20, image_size=32, shake=shake)[4]
    short = TexturedShapes("test", seq_len=6, image_size=32, shake=shake)[4]
    assert torch.equal(long[:6], short)


def test_pink_noise_is_normalised_and_smooth():
    f = pink_noise(np.random.default_rng(0), 8, 64, 1.5)
    assert f.shape == (8, 64, 64) and f.dtype == np.float32
    np.testing.assert_allclose(f.mean((1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(f.std((1, 2)), 1, atol=1e-4)
    assert adjacent_correlation(torch.from_numpy(f)) > 0.9
    white = np.random.default_rng(0).standard_normal((8, 64, 64))
    assert abs(adjacent_correlation(torch.from_numpy(white))) < 0.02


def test_neighbouring_pixels_are_strongly_correlated(clips):
    x = clips["frames"]
    corr = adjacent_correlation(x)
    g = torch.Generator().manual_seed(0)
    shuffled = x.flatten(-2)[..., torch.randperm(32 * 32, generator=g)].view_as(x)  # per-pixel independent
    baseline = adjacent_correlation(shuffled)
    assert corr > 0.7, corr
    assert abs(baseline) < 0.03, baseline
    # in the background alone (both pixels outside every shape's box): the texture, not flat regions
    s = 3 * 32 // 8
    outside = torch.ones(x.shape[0], x.shape[1], 32, 32, dtype=torch.bool)
    for b, t, d in np.ndindex(*clips["positions"].shape[:3]):
        y, x0 = clips["positions"][b, t, d].tolist()
        outside[b, t, y : y + s, x0 : x0 + s] = False
    pair = outside[..., :-1] & outside[..., 1:]
    v = x.double() - x.double().mean((-2, -1), keepdim=True)
    a, c = v[..., :-1].permute(0, 1, 3, 4, 2)[pair], v[..., 1:].permute(0, 1, 3, 4, 2)[pair]
    a, c = a - a.mean(), c - c.mean()
    background = float((a * c).sum() / (a.norm() * c.norm()))
    assert background > 0.6, background
    print(f"adjacent correlation {corr:.3f}, shuffled {baseline:.3f}, background only {background:.3f}")


def test_motion_is_stochastic_bouncing(clips):
    pos, vel, events = clips["positions"], clips["velocities"], clips["events"]
    limit = 32 - 3 * 32 // 8
    assert int(pos.min()) >= 0 and int(pos.max()) <= limit
    assert int(vel.abs().max()) <= MAX_SPEED
    free = ~events[:, 1:].any(-1)  # [B, T-1, D]: no wall at frame t
    step = pos[:, 1:] - pos[:, :-1]
    assert torch.equal(step[free], vel[:, :-1][free])  # free flight: move by the previous velocity
    hits = events.sum().item()
    assert hits > 50
    top = events[..., 0]
    assert (vel[..., 0][top] >= 1).all() and (vel[..., 0][events[..., 1]] <= -1).all()  # away from the wall
    assert len(set(vel[..., 0][top].tolist())) == MAX_SPEED  # stochastic: every normal speed 1..4 occurs
    assert (pos[:, 1:] != pos[:, :-1]).any(-1).float().mean() > 0.8  # shapes keep moving


def test_textures_move_with_their_shape_and_occlude():
    ds = TexturedShapes("test", seq_len=12, image_size=32, num_shapes=3, noise_std=0, flicker=0, return_events=True)
    s = ds.shape_size
    checked = 0
    for i in range(6):
        item = ds[i]
        frames, pos = item["frames"], item["positions"]
        rng = np.random.default_rng([ds.seed, 21, i])
        _, textures, masks = ds._scene(rng)
        top = ds.num_shapes - 1  # painted last: never occluded
        for t in range(12):
            y, x = pos[t, top].tolist()
            patch = frames[t, :, y : y + s, x : x + s].permute(1, 2, 0).numpy()
            expect = np.clip(np.rint(textures[top]), 0, 255)
            np.testing.assert_array_equal(patch[masks[top]], expect[masks[top]])
            checked += 1
    assert checked == 72
    assert any(np.array_equal(masks[top], shape_mask(k, s)) for k in KINDS)


def test_camera_noise_flicker_and_shake():
    clean = TexturedShapes("test", seq_len=5, image_size=32, noise_std=0, flicker=0)
    noisy = TexturedShapes("test", seq_len=5, image_size=32, noise_std=4.0, flicker=0)
    diff = torch.cat([noisy[i].double() - clean[i].double() for i in range(20)])
    assert abs(float(diff.mean())) < 0.1 and 3.6 < float(diff.std()) < 4.4
    flick = TexturedShapes("test", seq_len=5, image_size=32, noise_std=0, flicker=0.05)
    ratio = torch.stack([flick[i].double().mean((1, 2, 3)) / clean[i].double().mean((1, 2, 3)) for i in range(20)])
    assert 0.02 < float(ratio.std()) < 0.08
    still = TexturedShapes("test", seq_len=8, image_size=32, return_events=True)[0]["offsets"]
    assert int(still.abs().max()) == 0
    shaky = TexturedShapes("test", seq_len=30, image_size=32, shake=2, return_events=True)[0]["offsets"]
    assert int(shaky.abs().max()) == 2 and shaky.shape == (30, 2)


def test_generation_is_fast_enough():
    ds = TexturedShapes("train", seq_len=10, image_size=32)
    ds[0]
    start = time.perf_counter()
    for i in range(100):
        ds[i]
    rate = 100 / (time.perf_counter() - start)
    assert rate > 60, f"{rate:.0f} sequences/s"  # about 400/s on one idle core


def test_registry_entry():
    ds = make_dataset("textured-shapes", split="test", seq_len=3, image_size=32, length=2)
    assert isinstance(ds, TexturedShapes) and ds[1].shape == (3, 3, 32, 32)
    info = dataset_info("textured-shapes")
    assert info["channels"] == 3 and not info["needs_root"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "dev"}, "unknown textured-shapes split 'dev'"),
        ({"seq_len": 0}, "seq_len must be a positive integer"),
        ({"num_shapes": 0}, "num_shapes must be a positive integer"),
        ({"image_size": 4}, "image_size must be an integer of at least 8"),
        ({"image_size": 32, "shape_size": 40}, "shape_size must be an integer in 1..image_size=32"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"length": 0}, "length must be a positive integer"),
        ({"noise_std": -1.0}, "noise_std must be a non-negative number"),
        ({"flicker": "x"}, "flicker must be a non-negative number"),
        ({"image_size": 32, "shake": 9}, r"shake must be an integer in 0..image_size // 4 = 8"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TexturedShapes(**kwargs)


def test_index_out_of_range():
    ds = TexturedShapes("test", length=3, image_size=32)
    with pytest.raises(IndexError, match="index 3 out of range for a test split of length 3"):
        ds[3]

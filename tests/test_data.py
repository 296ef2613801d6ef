"""Tests of rfn.data (all data sets, registry, CLI) and rfn.viz.

The SM-MNIST statistics use 1,200 test sequences of 30 frames (2 digits),
about 5,000 wall events, with a fixed seed; chi-square tests use p > 1e-3.
BAIR and KTH are tested on fixtures written here in the release formats:
PNG folders, TFRecords of ``tf.train.Example`` (encoded with Google's
protobuf runtime and TensorBoard's record writer, not with our reader's code)
and zips of avi files written with imageio-ffmpeg.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from rfn.data import (
    BAIR,
    DATASETS,
    KTH,
    BouncingShapes,
    Sinusoid,
    StochasticMovingMNIST,
    conditional_celeba,
    conditional_mnist,
    dataset_info,
    digit_pool,
    join_inner_square,
    load_mnist,
    make_dataset,
    prepare_bair,
    prepare_kth,
    split_inner_square,
    two_moons,
)
from rfn.data import cli as data_cli
from rfn.data.kth import CHUNK, read_video_npz, write_video_npz
from rfn.data.motion import simulate_bounces
from rfn.data.tfrecord import TFRecordError, parse_example, read_records

REPO = Path(__file__).resolve().parents[1]
N_STATS = 1200
T_STATS = 30
LIMIT = 64 - 32


# ----------------------------------------------------------------------------- SM-MNIST


@pytest.fixture(scope="module")
def smm_test():
    return StochasticMovingMNIST("test", seq_len=T_STATS, num_digits=2)


@pytest.fixture(scope="module")
def trajectories(smm_test):
    trajs = [smm_test.trajectory(i) for i in range(N_STATS)]
    pos = np.stack([t.positions for t in trajs])  # [N, T, D, 2]
    vel = np.stack([t.velocities for t in trajs])
    ev = np.stack([t.events for t in trajs])  # [N, T, D, 4]
    return pos, vel, ev


def test_smmnist_item_shape_dtype_range(smm_test):
    x = smm_test[0]
    assert x.shape == (T_STATS, 1, 64, 64) and x.dtype == torch.uint8
    batch = smm_test.batch(range(50))
    assert batch.shape == (50, T_STATS, 1, 64, 64)
    assert int(batch.min()) == 0 and int(batch.max()) == 255  # full range used, never beyond by dtype
    assert torch.equal(batch[0], x)


def test_smmnist_start_velocity_uniform(trajectories):
    pos, vel, ev = trajectories
    assert not ev[:, 0].any()  # start positions lie inside the frame: no bounce at t=0
    for axis in (0, 1):
        v0 = vel[:, 0, :, axis].ravel()
        counts = np.array([(v0 == v).sum() for v in range(-4, 5)])
        assert counts.sum() == v0.size  # nothing outside -4..4
        assert (counts > 0).all()
        assert stats.chisquare(counts).pvalue > 1e-3, counts
        p0 = pos[:, 0, :, axis].ravel()
        pcounts = np.bincount(p0, minlength=LIMIT + 1)
        assert p0.min() >= 0 and p0.max() <= LIMIT and len(pcounts) == LIMIT + 1
        assert stats.chisquare(pcounts).pvalue > 1e-3


def test_smmnist_constant_velocity_between_bounces(trajectories):
    pos, vel, ev = trajectories
    quiet = ~ev[:, 1:].any(-1)  # [N, T-1, D]: no wall event at frame t
    step = pos[:, 1:] - pos[:, :-1]
    assert quiet.sum() > 50_000
    np.testing.assert_array_equal(step[quiet], vel[:, :-1][quiet])
    np.testing.assert_array_equal(vel[:, 1:][quiet], vel[:, :-1][quiet])
    # A bounce happens exactly when the free move would leave [0, LIMIT] on some axis.
    free = pos[:, :-1] + vel[:, :-1]
    outside = ((free < 0) | (free > LIMIT)).any(-1)
    np.testing.assert_array_equal(outside, ~quiet)
    np.testing.assert_array_equal(pos[:, 1:], np.clip(free, 0, LIMIT))


def test_smmnist_bounce_redraws_velocity_away_from_wall(trajectories):
    pos, vel, ev = trajectories
    n_events = int(ev.sum())
    assert n_events > 3000
    # wall index -> (axis, position after clamping, sign of the normal velocity)
    for wall, (axis, where, sign) in enumerate([(0, 0, 1), (0, LIMIT, -1), (1, 0, 1), (1, LIMIT, -1)]):
        hit = ev[..., wall]
        assert hit.sum() > 500
        assert (pos[..., axis][hit] == where).all()
        normal = vel[..., axis][hit] * sign
        assert normal.min() >= 1 and normal.max() <= 4
        counts = np.bincount(normal, minlength=5)[1:]
        assert stats.chisquare(counts).pvalue > 1e-3, counts
        only = hit & ~ev[..., [2, 3] if axis == 0 else [0, 1]].any(-1)  # not in a corner
        tangential = vel[..., 1 - axis][only]
        tcounts = np.array([(tangential == v).sum() for v in range(-4, 5)])
        assert tcounts.sum() == tangential.size
        assert stats.chisquare(tcounts).pvalue > 1e-3, tcounts


def _render_reference(pool, traj, size=64):
    """Independent renderer: pad each digit into a full canvas, sum in int64, clip."""
    t_len, d_len = traj.positions.shape[:2]
    s = pool.shape[-1]
    out = np.zeros((t_len, size, size), dtype=np.int64)
    for t in range(t_len):
        for d in range(d_len):
            y, x = traj.positions[t, d]
            out[t] += np.pad(pool[traj.digits[d]].astype(np.int64), ((y, size - s - y), (x, size - s - x)))
    return np.clip(out, 0, 255), out


def test_smmnist_frames_are_digits_at_positions_summed_and_clipped(smm_test):
    pool = digit_pool("test")
    clipped_somewhere = False
    for i in range(40):
        traj = smm_test.trajectory(i)
        expected, raw = _render_reference(pool, traj)
        np.testing.assert_array_equal(smm_test[i][:, 0].numpy(), expected)
        clipped_somewhere |= bool((raw > 255).any())
    assert clipped_somewhere  # overlaps occurred and were clipped at 255


def test_smmnist_digits_resized_with_lanczos_from_the_right_split():
    test_images, _ = load_mnist("test")
    pool = digit_pool("test")
    assert pool.shape == (10000, 32, 32)
    for i in (0, 17, 9999):
        ref = np.asarray(Image.fromarray(test_images[i].numpy()).resize((32, 32), Image.Resampling.LANCZOS))
        np.testing.assert_array_equal(pool[i], ref)


def test_smmnist_train_and_test_digits_disjoint():
    train, _ = load_mnist("train+valid")
    test, _ = load_mnist("test")
    assert len(train) == 60000
    train_hashes = {hashlib.sha1(img.numpy().tobytes()).digest() for img in train}
    test_hashes = {hashlib.sha1(img.numpy().tobytes()).digest() for img in test}
    assert not train_hashes & test_hashes
    # The resized pools the generator draws from are disjoint as well.
    ptrain = {hashlib.sha1(d.tobytes()).digest() for d in digit_pool("train")}
    ptest = {hashlib.sha1(d.tobytes()).digest() for d in digit_pool("test")}
    assert not ptrain & ptest


_HASH_SNIPPET = """
import hashlib
from rfn.data import StochasticMovingMNIST
ds = StochasticMovingMNIST("test", seq_len=12, num_digits=2)
h = hashlib.sha256()
for i in list(range(200)) + [9999]:
    h.update(ds[i].numpy().tobytes())
print(h.hexdigest())
"""


def test_smmnist_test_split_identical_across_processes():
    ds = StochasticMovingMNIST("test", seq_len=12, num_digits=2)
    h = hashlib.sha256()
    for i in [*range(200), 9999]:
        h.update(ds[i].numpy().tobytes())
    out = subprocess.run(
        [sys.executable, "-c", _HASH_SNIPPET], capture_output=True, text=True, check=True, cwd=REPO, timeout=120
    )
    assert out.stdout.strip() == h.hexdigest()


def test_smmnist_train_is_a_function_of_seed_and_index():
    a = StochasticMovingMNIST("train", seq_len=10, length=1000)
    b = StochasticMovingMNIST("train", seq_len=20, length=1000)
    c = StochasticMovingMNIST("train", seq_len=10, length=1000, seed=1)
    first = [a[i] for i in (5, 3, 999)]
    again = [a[i] for i in (999, 3, 5)][::-1]  # order of access does not matter
    for x, y in zip(first, again):
        assert torch.equal(x, y)
    assert torch.equal(b[5][:10], a[5])  # the first T frames do not depend on seq_len
    assert not torch.equal(c[5], a[5])
    assert not torch.equal(a[4], a[5])
    assert torch.equal(a[-1], a[999])
    with pytest.raises(IndexError, match="out of range"):
        a[1000]


def test_smmnist_dataloader_workers_give_the_same_items():
    ds = StochasticMovingMNIST("test", seq_len=6, length=16)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batches = torch.cat(list(loader))
    np.testing.assert_array_equal(batches.numpy(), ds.batch(range(16)).numpy())


def test_smmnist_synchronised_shares_motion_only():
    ds = make_dataset("smmnist-sync", split="test", seq_len=20)
    t0, t1 = ds.trajectory(0), ds.trajectory(1)
    np.testing.assert_array_equal(t0.positions, t1.positions)
    np.testing.assert_array_equal(t0.events, t1.events)
    assert not np.array_equal(t0.digits, t1.digits)
    assert not torch.equal(ds[0], ds[1])
    plain = StochasticMovingMNIST("test", seq_len=20)
    assert not np.array_equal(plain.trajectory(0).positions, plain.trajectory(1).positions)
    other = StochasticMovingMNIST("test", seq_len=20, synchronised=True, motion_seed=5)
    assert not np.array_equal(other.trajectory(0).positions, t0.positions)


def test_smmnist_return_events():
    ds = StochasticMovingMNIST("test", seq_len=30, return_events=True)
    item = ds[3]
    traj = ds.trajectory(3)
    assert set(item) == {"frames", "events", "positions", "velocities"}
    assert item["frames"].shape == (30, 1, 64, 64)
    assert item["events"].dtype == torch.bool and item["events"].shape == (30, 2, 4)
    np.testing.assert_array_equal(item["events"].numpy(), traj.events)
    np.testing.assert_array_equal(item["positions"].numpy(), traj.positions)


def test_smmnist_deterministic_bounce_flips_normal_velocity():
    path = simulate_bounces(np.random.default_rng(3), 4, 200, LIMIT, deterministic=True)
    ev = path.events
    assert ev.sum() > 20
    t, d, w = np.nonzero(ev)
    axis = np.where(w < 2, 0, 1)
    before = path.velocities[t - 1, d, axis]
    after = path.velocities[t, d, axis]
    np.testing.assert_array_equal(after, -before)
    speed = np.abs(path.velocities)
    np.testing.assert_array_equal(speed, np.broadcast_to(speed[:1], speed.shape))


def test_smmnist_one_and_three_digits():
    for n in (1, 3):
        ds = StochasticMovingMNIST("test", seq_len=5, num_digits=n, length=4)
        assert ds.trajectory(0).positions.shape == (5, n, 2)
        assert ds[0].shape == (5, 1, 64, 64)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(split="valid"), "unknown Stochastic Moving MNIST split 'valid'"),
        (dict(seq_len=0), "seq_len must be a positive integer"),
        (dict(digit_size=80), "digit_size must be an integer in 1..image_size=64"),
        (dict(length=0), "length must be a positive integer"),
    ],
)
def test_smmnist_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StochasticMovingMNIST(**{"split": "test", **kwargs})


# ----------------------------------------------------------------------------- bouncing shapes


def test_shapes_items_and_events():
    ds = BouncingShapes("test", seq_len=40, num_shapes=3, return_events=True)
    item = ds[2]
    frames = item["frames"]
    assert frames.shape == (40, 3, 64, 64) and frames.dtype == torch.uint8
    again = BouncingShapes("test", seq_len=40, num_shapes=3)[2]
    assert torch.equal(again, frames)
    pos, vel, ev = item["positions"].numpy(), item["velocities"].numpy(), item["events"].numpy()
    assert pos.min() >= 0 and pos.max() <= 64 - 16
    quiet = ~ev[1:].any(-1)
    np.testing.assert_array_equal((pos[1:] - pos[:-1])[quiet], vel[:-1][quiet])
    # The last shape is painted on top: its box centre (inside every kind) shows its colour.
    y, x = pos[0, 2] + 8
    colour = frames[0, :, y, x]
    assert tuple(colour.tolist()) != (16, 16, 16)
    # Only the background and palette colours occur.
    from rfn.data.textured import BACKGROUND, COLOURS

    pixels = {tuple(p) for p in frames.permute(0, 2, 3, 1).reshape(-1, 3).tolist()}
    assert pixels <= {tuple(c) for c in COLOURS.tolist()} | {BACKGROUND}
    assert len(pixels) >= 3


def test_shapes_train_and_test_differ_and_errors():
    assert not torch.equal(BouncingShapes("train", length=5)[0], BouncingShapes("test", length=5)[0])
    with pytest.raises(ValueError, match="shape_size must be an integer in 1..image_size=32"):
        BouncingShapes(image_size=32, shape_size=40)
    with pytest.raises(ValueError, match="unknown bouncing-shapes split 'dev'"):
        BouncingShapes("dev")


# ----------------------------------------------------------------------------- BAIR


def _bair_frame(seq: int, t: int) -> np.ndarray:
    rng = np.random.default_rng([seq, t])
    return rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)


def _write_bair(root: Path, layout: dict[str, list[tuple[str, int]]]) -> dict[str, list[int]]:
    ids = {}
    seq_id = 0
    for split, seqs in layout.items():
        ids[split] = []
        for traj, k in seqs:
            folder = root / "processed_data" / split / traj / str(k)
            folder.mkdir(parents=True)
            seq_id += 1
            for t in range(30):
                Image.fromarray(_bair_frame(seq_id, t)).save(folder / f"{t}.png")
            ids[split].append(seq_id)
    return ids


@pytest.fixture(scope="module")
def bair_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bair")
    # traj_256_to_511 sorts after traj_0_to_255 by number, and 10 after 2.
    layout = {
        "train": [("traj_256_to_511", 0), ("traj_0_to_255", 0), ("traj_0_to_255", 10), ("traj_0_to_255", 2)],
        "test": [("traj_0_to_255", 0), ("traj_0_to_255", 1)],
    }
    ids = _write_bair(root, layout)
    order = {"train": [ids["train"][i] for i in (1, 3, 2, 0)], "test": ids["test"]}
    return root, order


def test_bair_reads_windows(bair_root):
    root, order = bair_root
    ds = BAIR(root, "train", seq_len=10)
    assert len(ds) == 4 * 21
    folder, start = ds.window(21 * 2 + 5)
    assert folder.endswith("traj_0_to_255/10") and start == 5
    x = ds[21 * 2 + 5]
    assert x.shape == (10, 3, 64, 64) and x.dtype == torch.uint8
    expected = np.stack([_bair_frame(order["train"][2], t) for t in range(5, 15)]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(x.numpy(), expected)
    test = BAIR(root / "processed_data", "test", seq_len=30)  # the processed_data folder itself works too
    assert len(test) == 2
    expected = np.stack([_bair_frame(order["test"][1], t) for t in range(30)]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(test[1].numpy(), expected)
    assert torch.equal(make_dataset("bair", "test", 30, root=root)[1], test[1])


def test_bair_errors(tmp_path, bair_root):
    root, _ = bair_root
    with pytest.raises(FileNotFoundError, match=r"BAIR data root .*nowhere does not exist.*rfn data prepare bair"):
        BAIR(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"wrong layout: no folder .*processed_data/train.*rfn data prepare bair"):
        BAIR(tmp_path / "empty")
    (tmp_path / "flat" / "processed_data" / "train" / "videos").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"wrong layout: no traj_\* folders"):
        BAIR(tmp_path / "flat")
    (tmp_path / "flat2" / "processed_data" / "train" / "traj_0_to_255" / "frames").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"traj_0_to_255 has the wrong layout: no numbered sequence folders"):
        BAIR(tmp_path / "flat2")
    with pytest.raises(ValueError, match=r"seq_len=31 is longer than the BAIR sequences .*30 frames"):
        BAIR(root, "test", seq_len=31)


def test_bair_truncated_sequence_and_wrong_frame_size(tmp_path):
    _write_bair(tmp_path, {"train": [("traj_0_to_255", 0), ("traj_0_to_255", 1), ("traj_0_to_255", 2)]})
    seqs = tmp_path / "processed_data" / "train" / "traj_0_to_255"
    (seqs / "0" / "29.png").unlink()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(seqs / "1" / "3.png")
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(seqs / "2" / "3.png")
    ds = BAIR(tmp_path, "train", seq_len=10)
    with pytest.raises(ValueError, match=r"truncated .* sequence .*traj_0_to_255/0: expected 30 frames .* found 29"):
        ds[0]  # window 0..9 exists, but the sequence is cut short
    with pytest.raises(ValueError, match=r"3\.png is 32x32 RGB; expected 64x64 RGB"):
        ds[21]
    with pytest.raises(ValueError, match=r"3\.png is 64x64 L; expected 64x64 RGB"):
        ds[42]


def _example_class():
    """``tf.train.Example`` built with Google's protobuf runtime (independent of our decoder)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="rfn_test_example.proto", package="rfntest", syntax="proto3")
    f = descriptor_pb2.FieldDescriptorProto

    def add(msg, name, number, type_, label=f.LABEL_OPTIONAL, type_name=None):
        field = msg.field.add(name=name, number=number, type=type_, label=label)
        if type_name:
            field.type_name = type_name

    for name, type_ in (("BytesList", f.TYPE_BYTES), ("FloatList", f.TYPE_FLOAT), ("Int64List", f.TYPE_INT64)):
        add(fdp.message_type.add(name=name), "value", 1, type_, f.LABEL_REPEATED)
    feature = fdp.message_type.add(name="Feature")
    add(feature, "bytes_list", 1, f.TYPE_MESSAGE, type_name=".rfntest.BytesList")
    add(feature, "float_list", 2, f.TYPE_MESSAGE, type_name=".rfntest.FloatList")
    add(feature, "int64_list", 3, f.TYPE_MESSAGE, type_name=".rfntest.Int64List")
    features = fdp.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    add(entry, "key", 1, f.TYPE_STRING)
    add(entry, "value", 2, f.TYPE_MESSAGE, type_name=".rfntest.Feature")
    add(features, "feature", 1, f.TYPE_MESSAGE, f.LABEL_REPEATED, ".rfntest.Features.FeatureEntry")
    add(fdp.message_type.add(name="Example"), "features", 1, f.TYPE_MESSAGE, type_name=".rfntest.Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("rfntest.Example"))


def _write_tfrecords(path: Path, examples: list[bytes]) -> None:
    from tensorboard.summary.writer.record_writer import RecordWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        writer = RecordWriter(f)
        for e in examples:
            writer.write(e)


def _bair_example(example_cls, seq_id: int, frames: int = 30) -> bytes:
    ex = example_cls()
    for t in range(frames):
        feat = ex.features.feature
        feat[f"{t}/image_aux1/encoded"].bytes_list.value.append(_bair_frame(seq_id, t).tobytes())
        feat[f"{t}/image_main/encoded"].bytes_list.value.append(_bair_frame(seq_id + 1, t).tobytes())
        feat[f"{t}/action"].float_list.value.extend([0.25, -1.5, 2.0, 0.0])
        feat[f"{t}/endeffector_pos"].float_list.value.extend([1.0, 2.0, 3.0])
    return ex.SerializeToString()


@pytest.fixture(scope="module")
def bair_release(tmp_path_factory):
    src = tmp_path_factory.mktemp("bair_release")
    example = _example_class()
    base = src / "softmotion30_44k"
    _write_tfrecords(base / "train" / "traj_0_to_255.tfrecords", [_bair_example(example, s) for s in (100, 101)])
    _write_tfrecords(base / "train" / "traj_256_to_511.tfrecords", [_bair_example(example, 102)])
    _write_tfrecords(base / "test" / "traj_0_to_255.tfrecords", [_bair_example(example, 200)])
    return src, example


def test_tfrecord_reader_against_protobuf_and_tensorboard(bair_release, tmp_path):
    src, example = bair_release
    file = src / "softmotion30_44k" / "train" / "traj_0_to_255.tfrecords"
    records = list(read_records(file, verify_payload=True))
    assert len(records) == 2
    parsed = parse_example(records[1])
    np.testing.assert_array_equal(
        np.frombuffer(parsed["7/image_aux1/encoded"][0], np.uint8), _bair_frame(101, 7).ravel()
    )
    np.testing.assert_array_equal(parsed["3/action"], np.array([0.25, -1.5, 2.0, 0.0], np.float32))
    ex = example()
    ex.features.feature["n"].int64_list.value.extend([-5, 0, 2**40])
    np.testing.assert_array_equal(parse_example(ex.SerializeToString())["n"], [-5, 0, 2**40])
    cut = tmp_path / "cut.tfrecords"
    cut.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(TFRecordError, match=r"cut\.tfrecords: truncated record at byte \d+"):
        list(read_records(cut))
    bad = tmp_path / "bad.tfrecords"
    bad.write_bytes(b"not a tfrecord file at all")
    with pytest.raises(TFRecordError, match="bad length checksum"):
        list(read_records(bad))


def test_prepare_bair_roundtrip(bair_release, tmp_path):
    src, _ = bair_release
    out = prepare_bair(src, tmp_path / "bair", verbose=False)
    assert out == tmp_path / "bair" / "processed_data"
    assert (out / "train" / "traj_0_to_255" / "1" / "29.png").is_file()
    train = BAIR(tmp_path / "bair", "train", seq_len=30)
    assert len(train) == 3
    for i, seq_id in enumerate((100, 101, 102)):
        expected = np.stack([_bair_frame(seq_id, t) for t in range(30)]).transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(train[i].numpy(), expected)
    test = BAIR(tmp_path / "bair", "test", seq_len=12)
    np.testing.assert_array_equal(test[0][11].numpy(), _bair_frame(200, 11).transpose(2, 0, 1))


def test_prepare_bair_errors(bair_release, tmp_path):
    src, example = bair_release
    with pytest.raises(FileNotFoundError, match=r"BAIR source folder .*missing does not exist.*bair_robot_pushing"):
        prepare_bair(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "wrong").mkdir()
    with pytest.raises(ValueError, match=r"wrong layout: expected the extracted release.*softmotion30_44k"):
        prepare_bair(tmp_path / "wrong", tmp_path / "out")
    short = tmp_path / "short" / "softmotion30_44k"
    _write_tfrecords(short / "train" / "traj_0_to_255.tfrecords", [_bair_example(example, 1, frames=20)])
    _write_tfrecords(short / "test" / "traj_0_to_255.tfrecords", [_bair_example(example, 2)])
    with pytest.raises(ValueError, match=r"traj_0_to_255\.tfrecords#0: no feature '20/image_aux1/encoded'"):
        prepare_bair(tmp_path / "short", tmp_path / "out", verbose=False)
    small = tmp_path / "small" / "softmotion30_44k"
    ex = example()
    for t in range(30):
        ex.features.feature[f"{t}/image_aux1/encoded"].bytes_list.value.append(bytes(32 * 32 * 3))
    _write_tfrecords(small / "train" / "traj_0_to_255.tfrecords", [ex.SerializeToString()])
    _write_tfrecords(small / "test" / "traj_0_to_255.tfrecords", [_bair_example(example, 2)])
    with pytest.raises(ValueError, match=r"#0 frame 0: raw frame has 3072 bytes, expected 12288 \(64x64x3\)"):
        prepare_bair(tmp_path / "small", tmp_path / "out", verbose=False)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"needs TensorFlow.*pip install tensorflow.*backend='python'"):
            prepare_bair(src, tmp_path / "out", backend="tensorflow")


def test_cli_prepare_bair(bair_release, tmp_path, capsys):
    src, _ = bair_release
    assert data_cli.main(["prepare", "bair", "--src", str(src), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert len(BAIR(tmp_path / "b", "train", seq_len=10)) == 3 * 21
    assert data_cli.main(["prepare", "bair", "--src", str(tmp_path / "none"), "--out", str(tmp_path / "b")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------------------------- KTH


def _kth_frames(person: int, action: int, n: int) -> np.ndarray:
    """160x120 gray video: background level set by the video, a bright square moving right."""
    frames = np.full((n, 120, 160), 40 + 10 * person % 100 + 7 * action, dtype=np.uint8)
    for t in range(n):
        frames[t, 40:80, 10 + 4 * t : 50 + 4 * t] = 230
    return frames


def _write_avi(path: Path, frames: np.ndarray) -> None:
    import imageio.v2 as imageio

    writer = imageio.get_writer(
        path, format="FFMPEG", codec="mpeg4", fps=25, quality=10, macro_block_size=1, ffmpeg_log_level="error"
    )
    for f in frames:
        writer.append_data(np.repeat(f[..., None], 3, axis=2))
    writer.close()


KTH_VIDEOS = {"boxing": [(1, 1, 14), (17, 2, 25)], "walking": [(2, 1, 16), (25, 4, 12)]}  # person, scenario, frames


def _write_kth_zips(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for a, (action, videos) in enumerate(KTH_VIDEOS.items()):
        with zipfile.ZipFile(folder / f"{action}.zip", "w") as zf:
            for person, scenario, n in videos:
                name = f"person{person:02d}_{action}_d{scenario}_uncomp.avi"
                _write_avi(folder / name, _kth_frames(person, a, n))
                zf.write(folder / name, name)
                (folder / name).unlink()
            zf.writestr("readme.txt", "not a video")


@pytest.fixture(scope="module")
def kth_zips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kth_zips")
    _write_kth_zips(folder)
    return folder


@pytest.fixture(scope="module")
def kth_root(kth_zips, tmp_path_factory):
    out = tmp_path_factory.mktemp("kth")
    prepare_kth(kth_zips, out, actions=("boxing", "walking"), verbose=False)
    return out


def test_prepare_kth_layout_and_content(kth_root):
    manifest = json.loads((kth_root / "manifest.json").read_text())
    assert manifest["videos"] == {
        "train": {"person01_boxing_d1": 14, "person02_walking_d1": 16},
        "test": {"person17_boxing_d2": 25, "person25_walking_d4": 12},
    }
    frames = read_video_npz(kth_root / "test" / "person17_boxing_d2.npz")
    assert frames.shape == (25, 64, 64) and frames.dtype == np.uint8
    with np.load(kth_root / "test" / "person17_boxing_d2.npz") as z:
        assert z.files == ["frames_0000"] and z["frames_0000"].shape == (25, 64, 64)
    np.testing.assert_array_equal(read_video_npz(kth_root / "test" / "person17_boxing_d2.npz", 3, 9), frames[3:9])
    src = _kth_frames(17, 0, 25)
    ref = np.stack([np.asarray(Image.fromarray(f).resize((64, 64), Image.Resampling.LANCZOS)) for f in src])
    err = np.abs(frames.astype(int) - ref.astype(int))
    assert err.mean() < 2.0, err.mean()  # mpeg4 compression of the fixture is the only difference
    assert np.percentile(err, 99) < 20


def test_kth_windows(kth_root):
    train = KTH(kth_root, "train", seq_len=10)
    assert len(train) == (14 - 9) + (16 - 9)
    assert train.window(0) == ("person01_boxing_d1", 0)
    assert train.window(5) == ("person02_walking_d1", 0)
    assert train.window(11) == ("person02_walking_d1", 6)
    video = read_video_npz(kth_root / "train" / "person02_walking_d1.npz")
    x = train[11]
    assert x.shape == (10, 1, 64, 64) and x.dtype == torch.uint8
    np.testing.assert_array_equal(x[:, 0].numpy(), video[6:16])
    test = KTH(kth_root, "test", seq_len=12, in_memory=True)
    assert [test.window(i) for i in range(len(test))] == [
        ("person17_boxing_d2", 0),
        ("person17_boxing_d2", 12),
        ("person25_walking_d4", 0),
    ]
    assert torch.equal(make_dataset("kth", "test", 12, root=kth_root)[1], test[1])


def test_kth_errors(kth_root, kth_zips, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"KTH data root .*nowhere does not exist.*rfn data prepare kth"):
        KTH(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty has the wrong layout: no manifest\.json.*rfn data prepare kth"):
        KTH(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"seq_len=13 is longer than 1 KTH test videos .*person25_walking_d4 \(12"):
        KTH(kth_root, "test", seq_len=13)
    kept = KTH(kth_root, "test", seq_len=13, drop_short=True)
    assert kept.dropped == ["person25_walking_d4"] and len(kept) == 1
    with pytest.raises(FileNotFoundError, match=r"lacks handclapping\.zip, handwaving\.zip.*csc\.kth\.se"):
        prepare_kth(kth_zips, tmp_path / "out", verbose=False)
    with pytest.raises(FileNotFoundError, match=r"KTH source folder .*absent does not exist"):
        prepare_kth(tmp_path / "absent", tmp_path / "out")
    bad = tmp_path / "bad"
    bad.mkdir()
    with zipfile.ZipFile(bad / "boxing.zip", "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match=r"boxing\.zip holds no KTH videos named personPP_boxing_dS_uncomp\.avi"):
        prepare_kth(bad, tmp_path / "out", actions=("boxing",), verbose=False)


def test_kth_truncated_wrong_size_and_corrupted(kth_root, tmp_path):
    import shutil

    root = tmp_path / "kth"
    shutil.copytree(kth_root, root)
    write_video_npz(root / "train" / "person01_boxing_d1.npz", np.zeros((10, 64, 64), np.uint8))
    write_video_npz(root / "train" / "person02_walking_d1.npz", np.zeros((16, 32, 32), np.uint8))
    ds = KTH(root, "train", seq_len=4)
    with pytest.raises(ValueError, match=r"truncated KTH video .*person01_boxing_d1\.npz: chunk 0 holds 10"):
        ds[0]
    with pytest.raises(ValueError, match=r"person02_walking_d1\.npz holds frames of shape \(32, 32\).*expected 64x64"):
        ds[len(ds) - 1]
    test_file = root / "test" / "person17_boxing_d2.npz"
    test_file.write_bytes(test_file.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read KTH video .*person17_boxing_d2\.npz .*truncated or corrupted"):
        KTH(root, "test", seq_len=4)[0]
    (root / "train" / "person02_walking_d1.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"person02_walking_d1\.npz listed in manifest\.json is missing"):
        KTH(root, "train", seq_len=4)


def test_kth_chunked_npz_roundtrip(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (2 * CHUNK + 5, 64, 64), dtype=np.uint8)
    path = tmp_path / "v.npz"
    write_video_npz(path, frames)
    np.testing.assert_array_equal(read_video_npz(path), frames)
    for start, stop in [(0, 1), (CHUNK - 3, CHUNK + 4), (CHUNK, 2 * CHUNK), (2 * CHUNK + 4, 2 * CHUNK + 5), (7, 7)]:
        np.testing.assert_array_equal(read_video_npz(path, start, stop, n_frames=len(frames)), frames[start:stop])
    with pytest.raises(
        ValueError, match=r"truncated KTH video .*v\.npz: 3 chunks of up to 32 frames, manifest.json says 100"
    ):
        read_video_npz(path, n_frames=100)
    with pytest.raises(ValueError, match=r"frames 60:80 out of range for KTH video .*with 69 frames"):
        read_video_npz(path, 60, 80)


def test_kth_converts_zips_on_first_use(kth_zips, kth_root, tmp_path):
    import shutil

    root = tmp_path / "raw"
    shutil.copytree(kth_zips, root)
    ds = KTH(root, "train", seq_len=8)
    assert (root / "manifest.json").is_file()
    assert torch.equal(ds[3], KTH(kth_root, "train", seq_len=8)[3])


def test_cli_prepare_and_show_kth(kth_zips, tmp_path, capsys):
    out = tmp_path / "k"
    argv = ["prepare", "kth", "--src", str(kth_zips), "--out", str(out), "--quiet"]
    assert data_cli.main(argv) == 2  # the fixture has two of the six zips
    assert "lacks handclapping.zip" in capsys.readouterr().err
    assert data_cli.main([*argv, "--actions", "boxing", "walking"]) == 0
    assert json.loads((out / "manifest.json").read_text())["actions"] == ["boxing", "walking"]
    argv = ["show", "kth", "--root", str(out), "--n", "2", "--seq-len", "6", "--out", str(tmp_path / "show")]
    assert data_cli.main(argv) == 0
    strip = np.asarray(Image.open(tmp_path / "show" / "kth_test.png"))
    assert strip.shape == (2 + 2 * 66, 2 + 6 * 66, 3)
    with Image.open(tmp_path / "show" / "kth_test.gif") as gif:
        assert gif.n_frames == 6


# ----------------------------------------------------------------------------- registry and CLI


def test_registry():
    assert set(DATASETS) >= {"smmnist", "smmnist-sync", "bair", "kth", "shapes"}
    assert (dataset_info("bair")["channels"], dataset_info("smmnist")["channels"]) == (3, 1)
    assert dataset_info("bair")["frames"] == 30 and dataset_info("smmnist")["size"] == 64
    ds = make_dataset("smmnist", split="test", seq_len=7, num_digits=1, length=3)
    assert isinstance(ds, StochasticMovingMNIST) and ds[0].shape == (7, 1, 64, 64) and len(ds) == 3
    with pytest.raises(ValueError, match=r"unknown data set 'mnst'; valid names: smmnist, smmnist-sync, bair, kth"):
        make_dataset("mnst")
    with pytest.raises(ValueError, match="unknown data set 'ucf'"):
        dataset_info("ucf")


def test_registry_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("RFN_DATA", str(tmp_path))
    base = re.escape(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=rf"{base}/bair does not exist.*rfn data prepare bair"):
        make_dataset("bair")
    with pytest.raises(FileNotFoundError, match=rf"{base}/kth does not exist.*rfn data prepare kth"):
        make_dataset("kth")


def test_cli_show_module_entry_point(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "rfn.data.cli", "show", "shapes", "--n", "3", "--seq-len", "5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    strip = np.asarray(Image.open(tmp_path / "shapes_test.png"))
    assert strip.shape == (2 + 3 * 66, 2 + 5 * 66, 3)
    ds = BouncingShapes("test", seq_len=5)
    picks = torch.linspace(0, len(ds) - 1, 3).long().tolist()
    np.testing.assert_array_equal(strip[2:66, 2:66], ds[picks[0]][0].permute(1, 2, 0).numpy())
    bad = subprocess.run(
        [sys.executable, "-m", "rfn.data.cli", "show", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert bad.returncode == 2 and "invalid choice: 'nope'" in bad.stderr


# ----------------------------------------------------------------------------- small sets


def _phase(c: np.ndarray, h: float = 0.05) -> float:
    """Phase of ``sin(x + phase)`` from its values at x = 0 and x = h."""
    return float(np.arctan2(c[0], (c[1] - c[0] * np.cos(h)) / np.sin(h)))


def test_sinusoid():
    ds = Sinusoid("train", length=40, return_clean=True)
    y, clean = ds[0]
    assert y.shape == (30, 100) and y.dtype == torch.float32
    x = np.arange(3000) * 0.05
    c = clean.double().numpy().ravel()
    # clean = sin(x + phase): recover the phase from the first two points, then compare everywhere
    phase = _phase(c)
    np.testing.assert_allclose(c, np.sin(x + phase), atol=1e-5)
    residuals = torch.cat([(a - b).ravel() for a, b in (ds[i] for i in range(40))]).double()
    assert abs(residuals.std().item() - 0.1) < 0.002 and abs(residuals.mean().item()) < 0.002
    assert torch.equal(Sinusoid("train", length=40)[3], ds[3][0])
    assert not torch.equal(Sinusoid("test", length=40)[0], y)
    phases = np.array([_phase(ds[i][1].double().numpy().ravel()) for i in range(40)])
    assert stats.kstest((phases / (2 * np.pi)) % 1.0, "uniform").pvalue > 1e-3


def test_conditional_mnist():
    ds = conditional_mnist("test", n_bits=2)
    cond, target = ds[0]
    assert cond.shape == (1, 32, 32) and target.shape == (1, 16, 16)
    assert cond.dtype == target.dtype == torch.uint8
    assert set(torch.cat([cond.ravel(), target.ravel()]).unique().tolist()) <= {0, 64, 128, 192}
    assert (cond[:, 8:24, 8:24] == 0).all()
    image = load_mnist("test")[0][0]
    full = join_inner_square(cond, target)[0]
    np.testing.assert_array_equal(full[2:30, 2:30].numpy(), (image.numpy() >> 6) << 6)
    assert (full[:2] == 0).all() and (full[:, 30:] == 0).all()
    assert target.sum() > 0  # the centre of a digit is not empty
    c8, t8 = conditional_mnist("test", n_bits=8)[0]
    np.testing.assert_array_equal(join_inner_square(c8, t8)[0, 2:30, 2:30].numpy(), image.numpy())
    with pytest.raises(ValueError, match="n_bits must be an integer in 1..8, got 9"):
        conditional_mnist("test", n_bits=9)


def test_split_inner_square_batch():
    x = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    cond, target = split_inner_square(x, 16)
    assert torch.equal(target, x[:, :, 8:24, 8:24])
    assert torch.equal(join_inner_square(cond, target), x)
    with pytest.raises(ValueError, match="inner square side must be an integer in 1..32"):
        split_inner_square(x, 15)


def test_conditional_celeba_local_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CelebA folder .*celeba does not exist.*img_align_celeba"):
        conditional_celeba(tmp_path / "celeba")
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no .jpg or .png images"):
        conditional_celeba(tmp_path / "celeba")
    rng = np.random.default_rng(0)
    for i in range(1, 11):
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / f"{i:06d}.png")
    train, test = conditional_celeba(tmp_path / "celeba", "train"), conditional_celeba(tmp_path / "celeba", "test")
    assert (len(train), len(test)) == (9, 1)
    cond, target = test[0]
    assert cond.shape == (3, 32, 32) and target.shape == (3, 16, 16)
    img = Image.open(folder / "000010.png").crop((15, 35, 163, 183)).resize((32, 32), Image.Resampling.LANCZOS)
    expected = (np.asarray(img).transpose(2, 0, 1) >> 6) << 6
    np.testing.assert_array_equal(join_inner_square(cond, target).numpy(), expected)
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(
        "".join(f"{i:06d}.png {0 if i <= 6 else 1 if i <= 8 else 2}\n" for i in range(1, 11))
    )
    assert [len(conditional_celeba(tmp_path / "celeba", s)) for s in ("train", "valid", "test")] == [6, 2, 2]


def test_two_moons():
    x, y = two_moons(400, noise=0.0, seed=1, return_labels=True)
    assert x.shape == (400, 2) and x.dtype == torch.float32 and y.bincount().tolist() == [200, 200]
    x = x.double()
    r_upper = (x[y == 0] ** 2).sum(1).sqrt()
    r_lower = ((x[y == 1] - torch.tensor([1.0, 0.5], dtype=torch.float64)) ** 2).sum(1).sqrt()
    torch.testing.assert_close(r_upper, torch.ones_like(r_upper), atol=1e-6, rtol=0)
    torch.testing.assert_close(r_lower, torch.ones_like(r_lower), atol=1e-6, rtol=0)
    assert torch.equal(two_moons(50, seed=3), two_moons(50, seed=3))
    assert not torch.equal(two_moons(50, seed=3), two_moons(50, seed=4))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        two_moons(0)


# ----------------------------------------------------------------------------- viz


def test_video_grid_layout_and_borders():
    from rfn import viz

    rng = np.random.default_rng(0)
    videos = torch.from_numpy(rng.integers(0, 256, (2, 4, 3, 8, 6), dtype=np.uint8))
    grid = viz.video_grid(videos, pad=2)
    assert grid.shape == (2 + 2 * 10, 2 + 4 * 8, 3)
    np.testing.assert_array_equal(grid[12:20, 26:32], videos[1, 3].permute(1, 2, 0).numpy())
    assert (grid[:2] == 255).all() and (grid[:, 8:10] == 255).all()
    marked = viz.video_grid(videos, pad=2, context=2, border=1)
    np.testing.assert_array_equal(marked[3:11, 3:9], videos[0, 0].permute(1, 2, 0).numpy())
    assert tuple(marked[2, 2]) == viz.CONTEXT_COLOUR and tuple(marked[2, 2 + 2 * 10]) == viz.PREDICTED_COLOUR
    gray = viz.video_grid(torch.full((3, 1, 4, 4), 7, dtype=torch.uint8), pad=0, scale=2)
    assert gray.shape == (8, 24, 3) and (gray == 7).all()
    with pytest.raises(TypeError, match="videos must be uint8"):
        viz.video_grid(torch.zeros(1, 2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"videos must be shaped \[N, T, C, H, W\]"):
        viz.video_grid(np.zeros((1, 2, 2, 4, 4), np.uint8))


def test_save_strip_gif_mp4(tmp_path):
    import imageio.v2 as imageio

    from rfn import viz

    videos = torch.zeros(2, 5, 1, 15, 15, dtype=torch.uint8)
    for t in range(5):
        videos[:, t, :, :, 3 * t : 3 * t + 3] = 255
    png = viz.save_strip(tmp_path / "s" / "strip.png", videos, context=2)
    np.testing.assert_array_equal(np.asarray(Image.open(png).convert("RGB")), viz.video_grid(videos, context=2))
    gif = viz.save_gif(tmp_path / "a.gif", videos, fps=5)
    frames = viz.video_frames(videos)
    with Image.open(gif) as im:
        assert im.n_frames == 5 and im.info["duration"] == 200
        im.seek(3)
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[3])
    mp4 = viz.save_gif(tmp_path / "a.mp4", videos, fps=5)
    with imageio.get_reader(mp4, format="FFMPEG") as reader:
        read = np.stack([f for f in reader])  # not list(reader): its length hint is inf
    assert frames.shape[1:3] == (19, 36)
    assert read.shape == (5, 20, 36, 3)  # the odd height is padded by one row for the codec
    assert np.abs(read[:, :-1].astype(int) - frames).mean() < 6
    with pytest.raises(ValueError, match=r"the suffix must be \.gif or \.mp4"):
        viz.save_gif(tmp_path / "a.avi", videos)


def test_set_book_style():
    import matplotlib

    matplotlib.use("Agg")
    from rfn import viz

    viz.set_book_style()
    assert matplotlib.rcParams["image.interpolation"] == "nearest"
    assert matplotlib.rcParams["axes.spines.top"] is False

"""Untrusted inputs: crafted BAIR records, broken KTH manifests, absurd model arguments."""

from __future__ import annotations

import io
import json
import struct

import pytest
import torch
from test_data import _bair_example, _example_class, _write_tfrecords

from rfn.data.bair import prepare_bair
from rfn.data.kth import KTH
from rfn.data.tfrecord import TFRecordError, _masked_crc, parse_example, read_records


@pytest.fixture(scope="module")
def example():
    return _example_class()


def _release(tmp_path, train_records: list[bytes], example) -> object:
    base = tmp_path / "src" / "softmotion30_44k"
    _write_tfrecords(base / "train" / "traj_0_to_255.tfrecords", train_records)
    _write_tfrecords(base / "test" / "traj_0_to_255.tfrecords", [_bair_example(example, 2)])
    return tmp_path / "src"


def test_a_huge_length_with_a_valid_checksum_allocates_nothing(tmp_path):
    length = struct.pack("<Q", 2**45)
    path = tmp_path / "x.tfrecords"
    path.write_bytes(length + struct.pack("<I", _masked_crc(length)) + b"\0" * 100)
    with pytest.raises(TFRecordError, match=r"x\.tfrecords: truncated record at byte 0: .* 35184372088832 payload"):
        list(read_records(path))


def test_a_field_of_the_wrong_wire_type_is_a_record_error(tmp_path, example):
    # Example.features (field 1) sent as a varint instead of a message
    with pytest.raises(TFRecordError, match=r"Example\.features has protobuf wire type 0, expected 2"):
        parse_example(b"\x08\x05")
    src = _release(tmp_path, [_bair_example(example, 1), b"\x08\x05"], example)
    with pytest.raises(TFRecordError, match=r"traj_0_to_255\.tfrecords record 1: Example\.features has protobuf"):
        prepare_bair(src, tmp_path / "out", verbose=False)
    # a float_list where the frame's bytes should be
    ex = example()
    for t in range(30):
        ex.features.feature[f"{t}/image_aux1/encoded"].float_list.value.append(1.0)
    src = _release(tmp_path / "b", [ex.SerializeToString()], example)
    with pytest.raises(ValueError, match=r"#0: feature '0/image_aux1/encoded' is not a bytes_list"):
        prepare_bair(src, tmp_path / "out2", verbose=False)


def test_a_png_header_followed_by_garbage_names_the_record_and_frame(tmp_path, example):
    from PIL import Image

    ex = example()
    for t in range(30):
        ex.features.feature[f"{t}/image_aux1/encoded"].bytes_list.value.append(b"\x89PNG\r\n\x1a\n" + b"garbage" * 9)
    src = _release(tmp_path, [ex.SerializeToString()], example)
    with pytest.raises(ValueError, match=r"tfrecords#0 frame 0: the encoded frame cannot be decoded"):
        prepare_bair(src, tmp_path / "out", verbose=False)
    # a PNG that claims a huge size is refused before its pixels are decoded
    buf = io.BytesIO()
    Image.new("RGB", (64, 8000)).save(buf, format="PNG")
    ex = example()
    for t in range(30):
        ex.features.feature[f"{t}/image_aux1/encoded"].bytes_list.value.append(buf.getvalue())
    src = _release(tmp_path / "big", [ex.SerializeToString()], example)
    with pytest.raises(ValueError, match=r"frame 0: encoded frame is 64x8000, expected 64x64"):
        prepare_bair(src, tmp_path / "out3", verbose=False)
    assert not (tmp_path / "out3" / "processed_data" / "train" / "traj_0_to_255" / "0").exists()


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"format": "rfn-kth-npz-v1"}, 'no "videos" object'),
        ({"format": "rfn-kth-npz-v1", "videos": {"train": ["a"]}}, r"videos\['train'\] is a list"),
        ({"format": "rfn-kth-npz-v1", "videos": {"train": {"../../etc/x": 5}}}, "is not a video and frame count"),
        ([1, 2], "holds a JSON list"),
    ],
)
def test_a_broken_kth_manifest_is_a_one_line_error_naming_the_file(tmp_path, manifest, message):
    from rfn.data import kth

    if isinstance(manifest, dict) and "format" in manifest:
        manifest["format"] = kth.FORMAT
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=message) as err:
        KTH(tmp_path, "train", seq_len=4)
    assert "manifest.json" in str(err.value) and "\n" not in str(err.value)


def test_models_refuse_absurd_arguments_and_empty_batches():
    from rfn.models.registry import build
    from rfn.presets import get_preset

    p = get_preset("smoke")
    model = build(p.model, p.model_config)
    ctx = torch.zeros(1, 2, 1, 16, 16, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"predict: emission_temperature must be a finite number in \[0, 10\], got na"):
        model.predict(ctx, n_future=1, emission_temperature=float("nan"))
    with pytest.raises(ValueError, match=r"prior_temperature must be a finite number in \[0, 10\], got 1e\+30"):
        model.predict(ctx, n_future=1, prior_temperature=1e30)
    with pytest.raises(ValueError, match=r"n_samples must be an integer in \[1, 10000\]"):
        model.predict(ctx, n_future=1, n_samples=10**9)
    with pytest.raises(ValueError, match="context is an empty batch"):
        model.predict(ctx[:0], n_future=1)
    x = torch.zeros(2, 3, 1, 16, 16, dtype=torch.uint8)
    for beta in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match=r"loss: beta must be a finite number in \[0, 10000\]"):
            model.loss(x, beta=beta)
    with pytest.raises(ValueError, match="x is an empty batch"):
        model.loss(x[:0])
    assert torch.isfinite(model.loss(x, beta=0.5)["loss"])

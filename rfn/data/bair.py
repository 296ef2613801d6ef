"""BAIR action-free robot pushing (Ebert et al., 2017), 64x64 RGB, 30 frames per sequence.

The loader reads the converted layout that SVG (Denton & Fergus, 2018) made
the common one::

    ROOT/processed_data/train/traj_0_to_255/0/0.png ... 29.png
    ROOT/processed_data/train/traj_0_to_255/1/...
    ROOT/processed_data/test/traj_0_to_255/...

``ROOT`` may also be the ``processed_data`` folder itself. Sequences are
ordered by the numbers in their folder names, so indices mean the same thing
on every machine.

Windows: a training item ``i`` is the window ``(i // W, i % W)`` (sequence,
first frame) with ``W = frames - seq_len + 1`` windows per sequence, so a
shuffled sampler draws random windows and every index is reproducible. A test
item is the first ``seq_len`` frames of one test sequence (256 sequences in
the release), the window SVG and the thesis evaluate on.

Getting the data: download ``bair_robot_pushing_dataset_v0.tar`` (about 30
GB) from http://rail.eecs.berkeley.edu/datasets/bair_robot_pushing_dataset_v0.tar,
extract it, and convert its TFRecords with
``rfn data prepare bair --src EXTRACTED_FOLDER --out ROOT`` (:func:`prepare_bair`;
no TensorFlow needed).

Example:
    >>> ds = BAIR("/data/bair", split="test", seq_len=30)  # doctest: +SKIP
    >>> ds[0].shape  # doctest: +SKIP
    torch.Size([30, 3, 64, 64])
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rfn.data.tfrecord import TFRecordError, parse_example, read_records

__all__ = ["BAIR", "FRAMES", "HOW_TO_GET", "SPLITS", "prepare_bair"]

SPLITS = ("train", "test")
FRAMES = 30
IMAGE_SIZE = 64
HOW_TO_GET = (
    "Get BAIR: download http://rail.eecs.berkeley.edu/datasets/bair_robot_pushing_dataset_v0.tar, "
    "extract it (tar xf), then run `rfn data prepare bair --src EXTRACTED_FOLDER --out ROOT` "
    "and pass ROOT as the data root."
)
_LAYOUT = "ROOT/processed_data/{train,test}/traj_*/<k>/<t>.png"
_NUM = re.compile(r"\d+")


def _first_number(name: str) -> int:
    m = _NUM.search(name)
    return int(m.group()) if m else -1


def _split_dir(root: Path, split: str) -> Path:
    if not root.exists():
        raise FileNotFoundError(f"BAIR data root {root} does not exist. {HOW_TO_GET}")
    for base in (root / "processed_data", root):
        if (base / split).is_dir():
            return base / split
    raise ValueError(
        f"BAIR data root {root} has the wrong layout: no folder {root / 'processed_data' / split}. "
        f"Expected {_LAYOUT}. {HOW_TO_GET}"
    )


class BAIR(Dataset):
    """BAIR robot pushing videos read from PNG folders.

    Args:
        root: folder holding ``processed_data`` (or that folder itself).
        split: ``"train"`` or ``"test"``.
        seq_len: frames per item ``T`` (at most ``frames``).
        frames: frames stored per sequence (30 in the release).
        image_size: expected frame side in pixels (64).

    Items are ``uint8 [T, 3, image_size, image_size]`` tensors.

    Raises:
        FileNotFoundError: the root does not exist.
        ValueError: wrong layout, ``seq_len > frames``; when reading an item,
            a truncated sequence or a frame of the wrong size or mode.
    """

    channels = 3

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        seq_len: int = 30,
        frames: int = FRAMES,
        image_size: int = IMAGE_SIZE,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown BAIR split {split!r}; choose one of {', '.join(SPLITS)}")
        if not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
        if seq_len > frames:
            raise ValueError(
                f"seq_len={seq_len} is longer than the BAIR sequences in {root} ({frames} frames each); "
                f"use seq_len <= {frames}"
            )
        self.root = Path(root).expanduser()
        self.split = split
        self.seq_len = seq_len
        self.frames = frames
        self.image_size = image_size
        split_dir = _split_dir(self.root, split)
        trajs = sorted(
            (e for e in os.scandir(split_dir) if e.is_dir() and e.name.startswith("traj_")),
            key=lambda e: (_first_number(e.name), e.name),
        )
        if not trajs:
            raise ValueError(
                f"BAIR folder {split_dir} has the wrong layout: no traj_* folders. Expected {_LAYOUT}. {HOW_TO_GET}"
            )
        sequences: list[str] = []
        for traj in trajs:
            seqs = [e for e in os.scandir(traj.path) if e.is_dir() and e.name.isdigit()]
            seqs.sort(key=lambda e: int(e.name))
            if not seqs:
                raise ValueError(
                    f"BAIR folder {traj.path} has the wrong layout: no numbered sequence folders <k>/ inside. "
                    f"Expected {_LAYOUT}. {HOW_TO_GET}"
                )
            sequences.extend(e.path for e in seqs)
        self.sequences = sequences
        self.windows_per_sequence = frames - seq_len + 1 if split == "train" else 1

    def __len__(self) -> int:
        return len(self.sequences) * self.windows_per_sequence

    def window(self, index: int) -> tuple[str, int]:
        """(sequence folder, first frame) of item ``index``."""
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for BAIR {self.split} with {len(self)} items")
        seq, start = divmod(index, self.windows_per_sequence)
        return self.sequences[seq], start

    def _check_sequence(self, folder: str) -> None:
        names = os.listdir(folder)
        found = {n for n in names if n.endswith(".png") and n[:-4].isdigit()}
        expected = {f"{t}.png" for t in range(self.frames)}
        if found != expected:
            missing = sorted(expected - found, key=_first_number)
            extra = sorted(found - expected, key=_first_number)
            detail = f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}" if missing else ""
            if extra:
                detail += ("; " if detail else "") + f"unexpected {', '.join(extra[:5])}"
            raise ValueError(
                f"truncated or malformed BAIR sequence {folder}: expected {self.frames} frames "
                f"0.png..{self.frames - 1}.png, found {len(found)} ({detail}). "
                f"Re-run `rfn data prepare bair` or re-extract the data. {HOW_TO_GET}"
            )

    def _read(self, path: str) -> np.ndarray:
        from PIL import Image

        with Image.open(path) as img:
            if img.size != (self.image_size, self.image_size) or img.mode != "RGB":
                raise ValueError(
                    f"BAIR frame {path} is {img.size[0]}x{img.size[1]} {img.mode}; "
                    f"expected {self.image_size}x{self.image_size} RGB"
                )
            return np.asarray(img)

    def __getitem__(self, index: int) -> torch.Tensor:
        folder, start = self.window(index)
        self._check_sequence(folder)
        frames = np.stack([self._read(os.path.join(folder, f"{t}.png")) for t in range(start, start + self.seq_len)])
        # numpy, not torch: torch's uint8 permute-copy is ~50x slower at this size
        return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))

    def __repr__(self) -> str:
        return (
            f"BAIR(root={str(self.root)!r}, split={self.split!r}, seq_len={self.seq_len}, "
            f"sequences={len(self.sequences)})"
        )


# --------------------------------------------------------------------------- conversion


def _tfrecord_dirs(src: Path) -> dict[str, Path]:
    if not src.exists():
        raise FileNotFoundError(f"BAIR source folder {src} does not exist. {HOW_TO_GET}")
    for base in (src / "softmotion30_44k", src):
        dirs = {s: base / s for s in SPLITS if (base / s).is_dir()}
        if dirs and all(any(p.glob("*.tfrecord*")) for p in dirs.values()):
            return dirs
    raise ValueError(
        f"BAIR source folder {src} has the wrong layout: expected the extracted release, "
        f"{src}/softmotion30_44k/{{train,test}}/traj_*.tfrecords. {HOW_TO_GET}"
    )


def _require_tensorflow():
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            "backend='tensorflow' needs TensorFlow, which is not installed. Install it with "
            "`pip install tensorflow` (an optional extra, several GB), or use the default "
            "backend='python', which reads the TFRecords without TensorFlow."
        ) from err
    return tf


def _tensorflow_records(path: Path):
    tf = _require_tensorflow()
    for raw in tf.data.TFRecordDataset(str(path)):
        example = tf.train.Example.FromString(raw.numpy())
        yield {k: list(v.bytes_list.value) for k, v in example.features.feature.items() if v.bytes_list.value}


def _decode_frame(data: bytes, where: str) -> np.ndarray:
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:2] == b"\xff\xd8":
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.size != (IMAGE_SIZE, IMAGE_SIZE):  # checked before decoding: no allocation for a crafted size
                    raise ValueError(f"{where}: encoded frame is {img.size[0]}x{img.size[1]}, expected 64x64")
                arr = np.asarray(img.convert("RGB"))
        except (OSError, SyntaxError, Image.DecompressionBombError) as err:  # PIL's errors for damaged images
            raise ValueError(f"{where}: the encoded frame cannot be decoded ({type(err).__name__}: {err})") from None
        if arr.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
            raise ValueError(f"{where}: encoded frame is {arr.shape}, expected {IMAGE_SIZE}x{IMAGE_SIZE} RGB")
        return arr
    if len(data) != IMAGE_SIZE * IMAGE_SIZE * 3:
        raise ValueError(f"{where}: raw frame has {len(data)} bytes, expected {IMAGE_SIZE * IMAGE_SIZE * 3} (64x64x3)")
    return np.frombuffer(data, dtype=np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE, 3)


def prepare_bair(
    src: str | os.PathLike,
    out: str | os.PathLike,
    camera: str = "image_aux1",
    backend: str = "python",
    verbose: bool = True,
) -> Path:
    """Convert the BAIR TFRecord release to ``out/processed_data/{train,test}/traj_*/<k>/<t>.png``.

    Frame ``t`` of record ``k`` in ``traj_A_to_B.tfrecords`` is the feature
    ``"<t>/<camera>/encoded"``: 64x64x3 raw bytes (PNG or JPEG bytes are also
    accepted). SVG used the ``image_aux1`` camera; so does this default.

    Args:
        src: the extracted release (the folder holding ``softmotion30_44k``, or that folder).
        out: the data root to write; later ``BAIR(out)`` reads it.
        camera: feature name part of the camera to keep.
        backend: ``"python"`` (built-in reader, no extra packages) or
            ``"tensorflow"`` (TensorFlow's reader; an optional install).
        verbose: print one line per TFRecord file.

    Returns:
        ``out/processed_data``.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ValueError: wrong layout, a record without 30 frames, a frame of the wrong size,
            or a truncated / corrupted TFRecord (:class:`rfn.data.tfrecord.TFRecordError`).
        ImportError: ``backend="tensorflow"`` without TensorFlow installed.
    """
    if backend not in ("python", "tensorflow"):
        raise ValueError(f"unknown backend {backend!r}; choose 'python' or 'tensorflow'")
    src, out = Path(src).expanduser(), Path(out).expanduser()
    dirs = _tfrecord_dirs(src)
    missing = [s for s in SPLITS if s not in dirs]
    if missing:
        raise ValueError(f"BAIR source folder {src} lacks the {' and '.join(missing)} split. {HOW_TO_GET}")
    if backend == "tensorflow":
        _require_tensorflow()
    for split, folder in dirs.items():
        files = sorted(folder.glob("*.tfrecord*"), key=lambda p: (_first_number(p.name), p.name))
        for file in files:
            stem = file.name.split(".tfrecord")[0]
            records = (
                _tensorflow_records(file) if backend == "tensorflow" else (parse_example(p) for p in read_records(file))
            )
            n = 0
            try:
                for k, example in enumerate(records):
                    _write_sequence(example, out / "processed_data" / split / stem / str(k), camera, f"{file}#{k}")
                    n += 1
            except TFRecordError as err:
                where = "" if str(err).startswith(str(file)) else f"{file} record {n}: "
                raise TFRecordError(f"{where}{err}. {HOW_TO_GET}") from None
            if verbose:
                print(f"bair {split}: {file.name}: {n} sequences", file=sys.stderr)
    return out / "processed_data"


def _write_sequence(example: dict, folder: Path, camera: str, where: str) -> None:
    from PIL import Image

    frames = []
    for t in range(FRAMES):
        key = f"{t}/{camera}/encoded"
        values = example.get(key)
        if values is not None and not (isinstance(values, list) and all(isinstance(v, bytes) for v in values)):
            raise ValueError(f"{where}: feature {key!r} is not a bytes_list (it holds numbers); not a BAIR record")
        if not values:
            raise ValueError(
                f"{where}: no feature {key!r}; expected {FRAMES} frames per record "
                f"(features '<t>/{camera}/encoded', t = 0..{FRAMES - 1}). The record is truncated or not BAIR."
            )
        frames.append(_decode_frame(values[0], f"{where} frame {t}"))
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{t}.png")

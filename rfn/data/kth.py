"""KTH human actions (Schuldt et al., 2004), 64x64 grayscale, split by person.

The release is one zip per action (``boxing.zip``, ``handclapping.zip``,
``handwaving.zip``, ``jogging.zip``, ``running.zip``, ``walking.zip``) of
160x120, 25 fps avi files named ``personPP_ACTION_dS_uncomp.avi`` (25
persons, 4 scenarios). :func:`prepare_kth` decodes them with imageio's
ffmpeg plugin (the ``imageio-ffmpeg`` wheel ships its own ffmpeg binary),
converts each frame to luma, resizes it to 64x64 with a Lanczos filter (the
aspect ratio is not kept, as in SVG's conversion) and caches each video as a
compressed numpy file in chunks of 32 frames, so that reading a window
decompresses a chunk or two instead of the whole recording::

    ROOT/manifest.json              format, frame size, frame count of every video
    ROOT/train/person01_boxing_d1.npz   keys frames_0000, frames_0001, ...: uint8 [<=32, 64, 64]
    ROOT/test/person17_boxing_d1.npz

Persons 1-16 are the training split and 17-25 the test split, as in SVG and
the thesis. Whole videos are kept (the release's per-clip annotations are not
used), so every window lies inside one recording.

Windows: training item ``i`` is the ``i``-th window of ``seq_len`` consecutive
frames over all videos (stride 1), so a shuffled sampler draws random
sub-sequences reproducibly. Test items are the consecutive non-overlapping
windows of each test video starting at frame 0: a fixed set, the same on every
machine.

Getting the data: download the six zips from
https://www.csc.kth.se/cvap/actions/ into one folder and run
``rfn data prepare kth --src FOLDER --out ROOT``. ``KTH(ROOT)`` on a folder
that holds the zips but no ``manifest.json`` converts them in place first.

Example:
    >>> ds = KTH("/data/kth", split="test", seq_len=40)  # doctest: +SKIP
    >>> ds[0].shape  # doctest: +SKIP
    torch.Size([40, 1, 64, 64])
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = [
    "ACTIONS",
    "CHUNK",
    "HOW_TO_GET",
    "KTH",
    "SPLITS",
    "prepare_kth",
    "read_video_npz",
    "split_of_person",
    "write_video_npz",
]

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
SPLITS = ("train", "test")
TRAIN_PERSONS = range(1, 17)
TEST_PERSONS = range(17, 26)
IMAGE_SIZE = 64
CHUNK = 32
"""Frames per compressed chunk: a window decompresses only the chunks it overlaps."""
FORMAT = "rfn-kth-v1"
HOW_TO_GET = (
    "Get KTH: download boxing.zip, handclapping.zip, handwaving.zip, jogging.zip, running.zip and "
    "walking.zip from https://www.csc.kth.se/cvap/actions/ into one folder, then run "
    "`rfn data prepare kth --src FOLDER --out ROOT` and pass ROOT as the data root."
)
_NAME = re.compile(r"(?:^|/)person(\d\d)_([a-z]+)_d(\d)_uncomp\.avi$")


def split_of_person(person: int) -> str:
    """``"train"`` for persons 1-16, ``"test"`` for 17-25."""
    if person in TRAIN_PERSONS:
        return "train"
    if person in TEST_PERSONS:
        return "test"
    raise ValueError(f"KTH person number must be in 1..25, got {person}")


def _decode_avi(path: Path, where: str) -> np.ndarray:
    """Frames of one avi as ``uint8 [N, IMAGE_SIZE, IMAGE_SIZE]`` luma."""
    import imageio.v2 as imageio
    from PIL import Image

    frames = []
    size = None
    reader = imageio.get_reader(str(path), format="FFMPEG")
    try:
        for frame in reader:
            img = Image.fromarray(np.asarray(frame))
            if size is None:
                size = img.size
            elif img.size != size:
                raise ValueError(f"{where}: frame {len(frames)} is {img.size}, earlier frames {size}")
            img = img.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
            frames.append(np.asarray(img))
    finally:
        reader.close()
    if not frames:
        raise ValueError(f"{where}: the video has no decodable frames (truncated download?)")
    return np.stack(frames)


def prepare_kth(
    src: str | os.PathLike,
    out: str | os.PathLike,
    actions: tuple[str, ...] | list[str] = ACTIONS,
    verbose: bool = True,
    decoder_output: bool = False,
) -> Path:
    """Convert the KTH action zips into the cached layout read by :class:`KTH`.

    Args:
        src: folder holding ``<action>.zip`` for every action in ``actions``.
        out: data root to write (may equal ``src``).
        actions: the actions to convert (all six by default).
        verbose: print one line per zip.
        decoder_output: on a video that cannot be decoded, also print ffmpeg's whole output (the
            error names the video and ffmpeg's first line only).

    Returns:
        ``out``.

    Raises:
        FileNotFoundError: ``src`` or one of the zips is missing.
        ValueError: a zip without KTH avi files, a file for another action,
            a person outside 1..25, or a video that cannot be decoded.
    """
    src, out = Path(src).expanduser(), Path(out).expanduser()
    if not src.is_dir():
        raise FileNotFoundError(f"KTH source folder {src} does not exist. {HOW_TO_GET}")
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown or not actions:
        raise ValueError(f"unknown KTH actions {unknown}; choose from {', '.join(ACTIONS)}")
    missing = [f"{a}.zip" for a in actions if not (src / f"{a}.zip").is_file()]
    if missing:
        raise FileNotFoundError(f"KTH source folder {src} lacks {', '.join(missing)}. {HOW_TO_GET}")
    videos: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for s in SPLITS:
        (out / s).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rfn-kth-") as tmp:
        for action in actions:
            zpath = src / f"{action}.zip"
            try:
                zf = zipfile.ZipFile(zpath)
            except zipfile.BadZipFile as err:
                raise ValueError(f"{zpath} is not a valid zip file ({err}); re-download it. {HOW_TO_GET}") from None
            with zf:
                members = [(m, _NAME.search(m.filename)) for m in zf.infolist()]
                members = [(m, match) for m, match in members if match]
                if not members:
                    raise ValueError(
                        f"{zpath} holds no KTH videos named personPP_{action}_dS_uncomp.avi; "
                        f"is it the right file? {HOW_TO_GET}"
                    )
                for member, match in sorted(members, key=lambda mm: mm[0].filename):
                    person, act, scenario = int(match.group(1)), match.group(2), match.group(3)
                    where = f"{zpath}:{member.filename}"
                    if act != action:
                        raise ValueError(f"{where}: a {act!r} video inside {action}.zip; expected only {action!r}")
                    split = split_of_person(person)
                    name = f"person{person:02d}_{act}_d{scenario}"
                    avi = Path(tmp) / f"{name}.avi"
                    with zf.open(member) as fin, open(avi, "wb") as fout:
                        shutil.copyfileobj(fin, fout)
                    try:
                        frames = _decode_avi(avi, where)
                    except (OSError, RuntimeError) as err:
                        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or ["no output"]
                        if decoder_output:
                            print(f"kth: ffmpeg's output for {where}:\n{err}", file=sys.stderr)
                        more = "" if decoder_output else " (`rfn data prepare kth --verbose` shows ffmpeg's output)"
                        raise ValueError(
                            f"{where}: cannot decode the video ({type(err).__name__}: {lines[0][:160]}); re-download "
                            f"the zip{more}"
                        ) from None
                    finally:
                        avi.unlink(missing_ok=True)
                    write_video_npz(out / split / f"{name}.npz", frames)
                    videos[split][name] = len(frames)
            if verbose:
                print(f"kth: {zpath.name}: {len(members)} videos", file=sys.stderr)
    manifest = {
        "format": FORMAT,
        "image_size": IMAGE_SIZE,
        "actions": list(actions),
        "videos": {s: dict(sorted(v.items())) for s, v in videos.items()},
    }
    # Written last: a conversion that stopped half way leaves no manifest.
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


def write_video_npz(path: str | os.PathLike, frames: np.ndarray) -> None:
    """Save ``uint8 [N, H, W]`` frames as chunks of :data:`CHUNK` (``frames_0000``, ...) in a compressed npz.

    The file is written beside ``path`` and renamed into place, so a stopped
    conversion never leaves a half-written video under the final name.
    """
    path = Path(path)
    chunks = {f"frames_{i:04d}": frames[s : s + CHUNK] for i, s in enumerate(range(0, len(frames), CHUNK))}
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        np.savez_compressed(f, **chunks)
    part.replace(path)


def read_video_npz(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    n_frames: int | None = None,
    image_size: int = IMAGE_SIZE,
) -> np.ndarray:
    """Frames ``start:stop`` of a video written by :func:`write_video_npz`, decompressing only their chunks.

    Args:
        path: the ``.npz`` file.
        start, stop: frame range (``stop=None``: to the end).
        n_frames: the frame count the manifest promises; checked against the file.
        image_size: the expected frame side.

    Returns:
        ``uint8 [stop - start, image_size, image_size]``.

    Raises:
        ValueError: the file is corrupted, truncated, or holds frames of the wrong size.
    """
    path = Path(path)
    redo = "Re-run `rfn data prepare kth --src ZIPS --out ROOT`."
    try:
        with np.load(path) as z:
            n_chunks = sum(1 for k in z.files if k.startswith("frames_"))
            total = n_frames if n_frames is not None else None
            if total is not None and n_chunks != -(-total // CHUNK):
                raise _Truncated(f"{n_chunks} chunks of up to {CHUNK} frames, manifest.json says {total} frames")
            if total is None:
                total = (n_chunks - 1) * CHUNK + len(z[f"frames_{n_chunks - 1:04d}"]) if n_chunks else 0
            stop = total if stop is None else stop
            if not 0 <= start <= stop <= total:
                raise _Invalid(f"frames {start}:{stop} out of range for KTH video {path} with {total} frames")
            parts = []
            for c in range(start // CHUNK, -(-stop // CHUNK)):
                chunk = z[f"frames_{c:04d}"]
                if chunk.dtype != np.uint8 or chunk.ndim != 3 or chunk.shape[1:] != (image_size, image_size):
                    raise _Invalid(
                        f"KTH video {path} holds frames of shape {chunk.shape[1:]} {chunk.dtype}; "
                        f"expected {image_size}x{image_size} uint8. {redo}"
                    )
                want = min(CHUNK, total - c * CHUNK)
                if len(chunk) != want:
                    raise _Truncated(f"chunk {c} holds {len(chunk)} frames, expected {want} of {total}")
                parts.append(chunk)
    except _Invalid as err:
        raise ValueError(str(err)) from None
    except _Truncated as err:
        raise ValueError(f"truncated KTH video {path}: {err}. {redo}") from None
    except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        # numpy reads a file that is no zip archive as a pickle and refuses it (a ValueError)
        first = (str(err).strip().splitlines() or [""])[0][:160]
        raise ValueError(
            f"cannot read KTH video {path} ({type(err).__name__}: {first}); it is truncated or corrupted. {redo}"
        ) from None
    if not parts:
        return np.zeros((0, image_size, image_size), dtype=np.uint8)
    first = start - (start // CHUNK) * CHUNK
    return np.concatenate(parts)[first : first + stop - start]


class _Truncated(Exception):
    pass


class _Invalid(Exception):
    pass


def _read_manifest(root: Path) -> dict:
    file = root / "manifest.json"
    if not root.exists():
        raise FileNotFoundError(f"KTH data root {root} does not exist. {HOW_TO_GET}")
    if not file.is_file():
        if any((root / f"{a}.zip").is_file() for a in ACTIONS):
            return {}
        raise ValueError(
            f"KTH data root {root} has the wrong layout: no manifest.json (nor the action zips to convert). "
            f"Expected ROOT/manifest.json and ROOT/{{train,test}}/personPP_ACTION_dS.npz. {HOW_TO_GET}"
        )
    try:
        manifest = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{file} is not valid JSON ({err}); re-run `rfn data prepare kth`") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{file} holds a JSON {type(manifest).__name__}, not an object; re-run `rfn data prepare kth`")
    if manifest.get("format") != FORMAT:
        raise ValueError(
            f"{file} has format {manifest.get('format')!r}, expected {FORMAT!r}; re-run `rfn data prepare kth`"
        )
    _check_manifest(manifest, file)
    return manifest


def _check_manifest(manifest: dict, file: Path) -> None:
    """``videos`` must map each split to ``{video name: frame count}`` (names without path separators)."""
    videos = manifest.get("videos")
    redo = "re-run `rfn data prepare kth`"
    if not isinstance(videos, dict):
        raise ValueError(f'{file} has no "videos" object (found {type(videos).__name__}); {redo}')
    for split, listed in videos.items():
        if not isinstance(listed, dict):
            raise ValueError(f"{file}: videos[{split!r}] is a {type(listed).__name__}, not an object; {redo}")
        for name, count in listed.items():
            if "/" in name or "\\" in name or name.startswith(".") or type(count) is not int or count < 0:
                raise ValueError(
                    f"{file}: videos[{split!r}] entry {name!r}: {count!r} is not a video and frame count; {redo}"
                )


class KTH(Dataset):
    """KTH action videos from the cached compressed numpy files.

    Args:
        root: folder written by :func:`prepare_kth` (or holding the action zips,
            which are then converted in place on first use).
        split: ``"train"`` (persons 1-16) or ``"test"`` (persons 17-25).
        seq_len: frames per item ``T``.
        in_memory: decompress every video once at construction instead of on
            each item (about 0.8 GB for the training split at 64x64).
        drop_short: leave out videos shorter than ``seq_len`` (listed in
            :attr:`dropped`) instead of raising an error.

    Items are ``uint8 [T, 1, 64, 64]`` tensors.

    Raises:
        FileNotFoundError: the root or a listed video file is missing.
        ValueError: wrong layout, a video shorter than ``seq_len`` (unless
            ``drop_short``); when reading, a truncated video or a frame of the wrong size.
    """

    channels = 1

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        seq_len: int = 10,
        in_memory: bool = False,
        drop_short: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown KTH split {split!r}; choose one of {', '.join(SPLITS)}")
        if not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
        self.root = Path(root).expanduser()
        manifest = _read_manifest(self.root)
        if not manifest:
            print(f"KTH: converting the zips in {self.root} (first use)", file=sys.stderr)
            present = tuple(a for a in ACTIONS if (self.root / f"{a}.zip").is_file())
            prepare_kth(self.root, self.root, actions=present)
            manifest = _read_manifest(self.root)
        self.split = split
        self.seq_len = seq_len
        self.image_size = int(manifest.get("image_size", IMAGE_SIZE))
        listed = manifest["videos"].get(split, {})
        if not listed:
            raise ValueError(f"KTH data root {self.root} lists no {split} videos in manifest.json; re-run prepare")
        short = {n: c for n, c in listed.items() if c < seq_len}
        if short and not drop_short:
            names = ", ".join(f"{n} ({c} frames)" for n, c in list(short.items())[:5])
            raise ValueError(
                f"seq_len={seq_len} is longer than {len(short)} KTH {split} videos in {self.root}: {names}"
                f"{' ...' if len(short) > 5 else ''}. Use a shorter seq_len (longest possible: "
                f"{min(listed.values())}) or drop_short=True to leave them out explicitly."
            )
        self.dropped = sorted(short)
        self.videos = [n for n in listed if n not in short]
        if not self.videos:
            raise ValueError(f"no KTH {split} video in {self.root} has {seq_len} frames or more")
        self.lengths = np.array([listed[n] for n in self.videos], dtype=np.int64)
        for n in self.videos:
            if not (self.root / split / f"{n}.npz").is_file():
                raise FileNotFoundError(
                    f"KTH video file {self.root / split / (n + '.npz')} listed in manifest.json is missing; "
                    f"re-run `rfn data prepare kth --src ZIPS --out {self.root}`"
                )
        if split == "train":
            per_video = self.lengths - seq_len + 1
        else:
            per_video = self.lengths // seq_len
        self.offsets = np.concatenate([[0], np.cumsum(per_video)])
        self._memory = [self._read(i) for i in range(len(self.videos))] if in_memory else None

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, index: int) -> tuple[int, int]:
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for KTH {self.split} with {len(self)} items")
        v = int(np.searchsorted(self.offsets, index, side="right")) - 1
        k = index - int(self.offsets[v])
        return v, k if self.split == "train" else k * self.seq_len

    def window(self, index: int) -> tuple[str, int]:
        """(video name, first frame) of item ``index``."""
        v, start = self._locate(index)
        return self.videos[v], start

    def _read(self, v: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        path = self.root / self.split / f"{self.videos[v]}.npz"
        return read_video_npz(path, start, stop, n_frames=int(self.lengths[v]), image_size=self.image_size)

    def __getitem__(self, index: int) -> torch.Tensor:
        v, start = self._locate(index)
        if self._memory is not None:
            frames = self._memory[v][start : start + self.seq_len].copy()
        else:
            frames = self._read(v, start, start + self.seq_len)
        return torch.from_numpy(frames).unsqueeze(1)

    def __repr__(self) -> str:
        return f"KTH(root={str(self.root)!r}, split={self.split!r}, seq_len={self.seq_len}, videos={len(self.videos)})"

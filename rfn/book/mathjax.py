"""Vendoring MathJax so that the book typesets math offline.

``python -m rfn.book mathjax`` fetches MathJax 3.2.2 from the npm registry once (``npm
pack``, or a plain HTTPS download of the same tarball when npm is absent), checks its
sha512, and unpacks ``es5/`` into ``book/_vendor/mathjax/`` (git-ignored).
``_config.yml`` copies that folder to the site root and loads MathJax from it.

Example:
    >>> MATHJAX_ENTRY.as_posix()
    'book/_vendor/mathjax/es5/tex-chtml.js'
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from rfn.book.layout import BookError

__all__ = ["MATHJAX_ENTRY", "MATHJAX_INTEGRITY", "MATHJAX_URL", "MATHJAX_VERSION", "VENDOR_DIR", "fetch_mathjax"]

MATHJAX_VERSION = "3.2.2"
#: npm's ``dist.integrity`` of mathjax-3.2.2.tgz (sha512, base64).
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
MATHJAX_URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
#: Where the vendored copy lives, relative to the book root (git-ignored).
VENDOR_DIR = Path("book/_vendor")
MATHJAX_ENTRY = VENDOR_DIR / "mathjax" / "es5" / "tex-chtml.js"


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _download(tarball: Path, target: Path) -> None:
    npm = shutil.which("npm")
    try:
        if npm:
            subprocess.run(
                [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"],
                cwd=tarball.parent,
                check=True,
                capture_output=True,
            )
        else:
            with urllib.request.urlopen(MATHJAX_URL, timeout=120) as resp:
                tarball.write_bytes(resp.read())
    except (subprocess.CalledProcessError, OSError) as err:
        detail = getattr(err, "stderr", b"") or b""
        raise BookError(
            f"could not fetch mathjax@{MATHJAX_VERSION} from the npm registry ({err}; {detail.decode()[-300:]}); "
            f"check that {MATHJAX_URL} is reachable, or unpack that tarball's package/es5 into {target}/es5 by hand"
        ) from err
    if not tarball.is_file():
        raise BookError(f"npm pack did not produce {tarball.name} in {tarball.parent}")


def fetch_mathjax(root: Path = Path("."), force: bool = False) -> Path:
    """Vendor MathJax into ``root/book/_vendor/mathjax/es5`` (idempotent); returns the entry script.

    Uses ``npm pack mathjax@3.2.2`` when npm is on PATH, else downloads the same tarball
    from the npm registry; either way the tarball's sha512 must equal :data:`MATHJAX_INTEGRITY`.

    Raises:
        BookError: the download failed or the tarball does not match the expected hash.
    """
    root = Path(root)
    entry = root / MATHJAX_ENTRY
    if entry.is_file() and not force:
        return entry
    target = root / VENDOR_DIR / "mathjax"
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / f"mathjax-{MATHJAX_VERSION}.tgz"
        _download(tarball, target)
        got = _sri(tarball.read_bytes())
        if got != MATHJAX_INTEGRITY:
            raise BookError(f"{tarball.name}: sha512 integrity {got} differs from the expected {MATHJAX_INTEGRITY}")
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/") or m.name == "package/LICENSE"]
            tar.extractall(staging, members=members, filter="data")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / "package"), str(target))
    if not entry.is_file():
        raise BookError(f"{entry} missing after unpacking mathjax; the tarball layout changed?")
    return entry

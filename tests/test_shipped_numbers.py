"""A fresh clone's render reads every number shipped beside the reference models instead of recomputing it.

The results pages cache their evaluations, FVDs, digit tables and temperature sweeps under a key (the
checkpoint's hash, the protocol, the options); `make reference-cache` ships them in
checkpoints/reference/cache/. Here the repository is cloned into a temporary folder and, in the clone,
every key the pages compute (rfn.book.reference.page_cache_keys, built by the same functions the notebooks
call) must be the key of the shipped file: otherwise `make book` on a fresh clone would recompute it
(minutes per model).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_a_fresh_clone_reads_every_shipped_number(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PYTHONPATH": str(clone), "OMP_NUM_THREADS": "1"}
    code = (
        "from rfn.book.reference import page_cache_keys, shipped_mismatches\n"
        "assert len(page_cache_keys(device='cpu')) == 10\n"
        "print('\\n'.join(shipped_mismatches(device='cpu')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "", (
        "a render of a fresh clone would recompute these shipped numbers (run `make book PROFILE=reference` and "
        "`make reference-cache`):\n" + out.stdout
    )


def test_shipping_refuses_a_render_that_lacks_a_number(tmp_path):
    from rfn.book import reference

    with pytest.raises(FileNotFoundError, match="missing or stale"):
        reference.ship_reference_caches(artifacts=tmp_path / "artifacts", root=tmp_path / "ref")
    assert not (tmp_path / "ref").exists()

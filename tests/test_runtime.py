"""rfn.runtime: the commit id of a checkout, the CPU thread count."""

import subprocess

import pytest

from rfn.runtime import git_commit


def test_git_commit_is_dirty_only_outside_the_figure_outputs(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"1")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    clean = git_commit(tmp_path)
    assert len(clean) == 12 and not clean.endswith("-dirty")
    (tmp_path / "figures" / "a.png").write_bytes(b"2")  # a book run rewrote a figure
    (tmp_path / "untracked.txt").write_text("new")
    assert git_commit(tmp_path) == clean
    assert git_commit(tmp_path / "figures") == clean  # asked from inside the outputs folder
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == clean + "-dirty"
    assert git_commit(tmp_path / "figures") == clean + "-dirty"  # from a subfolder, the whole checkout counts


def test_git_commit_outside_a_checkout(tmp_path):
    assert git_commit(tmp_path) == "unknown"


def test_cpu_threads_reads_the_environment(monkeypatch):
    import torch

    from rfn.runtime import CPU_THREADS, THREADS_ENV, cpu_threads, set_cpu_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert cpu_threads() == CPU_THREADS
    monkeypatch.setenv(THREADS_ENV, "2")
    assert cpu_threads() == 2
    before = torch.get_num_threads()
    try:
        assert set_cpu_threads("cpu") == 2
        assert set_cpu_threads("cpu", threads=1) == 1  # an explicit count wins over the environment
    finally:
        torch.set_num_threads(before)
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=THREADS_ENV):
            cpu_threads()


def test_cpu_compiler_follows_cxx_and_the_path(monkeypatch, tmp_path):
    from rfn.runtime import cpu_compiler

    fake = tmp_path / "my-cxx"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CXX", "my-cxx")
    assert cpu_compiler() == str(fake)
    monkeypatch.delenv("CXX")
    assert cpu_compiler() is None  # neither $CXX nor g++/c++/clang++ on the PATH

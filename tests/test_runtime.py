"""rfn.runtime: the commit id of a checkout."""

import subprocess

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

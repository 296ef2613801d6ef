"""The CI and book workflows: valid GitHub workflows, doing what the README says, at the address _config.yml sets.

The linter is check-jsonschema with its vendored GitHub workflow schema (offline;
``requirements-dev.txt``): it rejects unknown keys, wrong types and missing required fields.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI, BOOK = WORKFLOWS / "ci.yml", WORKFLOWS / "book.yml"


def lint(*paths: Path) -> subprocess.CompletedProcess:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.fail("check-jsonschema is not installed: pip install -r requirements-dev.txt")
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    return subprocess.run([*cmd, *map(str, paths)], capture_output=True, text=True, timeout=120)


def test_workflows_pass_the_linter():
    proc = lint(*sorted(WORKFLOWS.glob("*.yml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(CI.read_text().replace("runs-on:", "runs_on:"))
    proc = lint(broken)
    assert proc.returncode != 0 and "runs-on" in proc.stdout + proc.stderr


def _workflow(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the bare key `on` as true
    return doc


def _runs(doc: dict) -> list[str]:
    return [step.get("run", "") for job in doc["jobs"].values() for step in job["steps"]]


def _uses(doc: dict) -> list[str]:
    return [step["uses"].split("@")[0] for job in doc["jobs"].values() for step in job["steps"] if "uses" in step]


def test_ci_runs_make_test_on_pushes_and_pull_requests():
    doc = _workflow(CI)
    assert {"push", "pull_request"} <= set(doc["on"])
    assert "bash .ci/run" in _runs(doc)
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")


def test_book_workflow_builds_the_default_render_and_publishes_it():
    doc = _workflow(BOOK)
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "make book" in _runs(doc)  # no PROFILE: the default render, as a reader's `make book`
    assert doc["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert _uses(doc)[-2:] == ["actions/upload-pages-artifact", "actions/deploy-pages"]
    upload = next(s for s in doc["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"


def test_readme_badges_and_book_address_come_from_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    owner, name = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", repo).groups()
    address = config["html"]["baseurl"]
    assert address == f"https://{owner.lower()}.github.io/{name}/", "html.baseurl is not the repository's Pages site"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for workflow in ("ci.yml", "book.yml"):
        assert f"{repo}/actions/workflows/{workflow}/badge.svg" in readme, f"README.md lacks the {workflow} badge"
    assert f"<{address}>" in readme, "README.md does not give the book's address"
    # no other Pages or repository address anywhere in the README
    others = set(re.findall(r"https://[\w.-]+\.github\.io/[\w./-]*", readme)) - {address}
    others |= {u for u in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme) if u != repo}
    assert not others, others

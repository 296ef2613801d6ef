"""The theory pages: every ``rfn....`` name they cite resolves; each page links the notation and has a figure."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").glob("*.md"))
THEORY = ["latent_variable_models", "vrnn_srnn", "normalising_flows", "rfn", "evaluation"]
#: a dotted name in backticks (``rfn.x.y`` or `rfn.x.y`), optionally as a {py:...} role
CITED = re.compile(r"(?:\{py:\w+\})?`{1,2}(rfn(?:\.[A-Za-z_]\w*)+)`{1,2}")


def resolve(name: str):
    """Import the longest module prefix of ``name``, then follow the attributes; raise if any step fails."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as err:
            if err.name and not ".".join(parts[:i]).startswith(err.name):
                raise  # the module exists but one of its own imports is missing
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def cited_names() -> list[tuple[str, str]]:
    return sorted({(p.name, m) for p in PAGES for m in CITED.findall(p.read_text(encoding="utf-8"))})


def test_pages_cite_the_code():
    names = {n for _, n in cited_names()}
    assert len(names) >= 30, f"only {len(names)} package names cited in book/*.md"
    for page in THEORY:
        assert any(p == f"{page}.md" for p, _ in cited_names()), f"book/{page}.md names no function of the package"


@pytest.mark.parametrize(("page", "name"), cited_names())
def test_cited_name_resolves(page, name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"book/{page} cites {name}, which does not resolve ({err}); update the page to the new name")


@pytest.mark.parametrize("page", THEORY)
def test_theory_page_links_notation_and_has_a_figure(page):
    text = (ROOT / "book" / f"{page}.md").read_text(encoding="utf-8")
    assert "{ref}`notation`" in text or "{doc}`notation`" in text, f"book/{page}.md does not link the notation page"
    assert re.search(r"[`:]{3}\{figure\}", text), f"book/{page}.md has no figure"


def test_notation_page_is_in_the_toc():
    assert "book/notation" in (ROOT / "_toc.yml").read_text(encoding="utf-8")

"""The theory pages: every ``rfn....`` name they cite resolves; each page links the notation and has a figure."""

from __future__ import annotations

import ast
import importlib
import inspect
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


# ----------------------------------------------------------------- back-links: docstrings -> pages
#: a page named in a docstring, as in "See book/normalising_flows.md, equation (eq-coupling)."
BACKLINK = re.compile(r"book/(\w+)\.md")
#: an equation or figure label, "(eq-coupling)" or "(fig-glow-multiscale)"
LABEL = re.compile(r"\(((?:eq|fig)-[\w-]+)\)")
#: a section of the page by its heading, 'section "Generating video"'
SECTION = re.compile(r'section "([^"]+)"')
SENTENCE_END = re.compile(r"\.(?:\s|$)")


def page_targets(page: str) -> tuple[set[str], set[str]]:
    """The labels (equations, figures, targets) and the section headings defined in ``book/<page>.md``."""
    text = (ROOT / "book" / f"{page}.md").read_text(encoding="utf-8")
    labels = set(re.findall(r"^\$\$\s*\(([\w-]+)\)\s*$", text, re.M))
    labels |= set(re.findall(r"^:(?:name|label):\s*([\w-]+)\s*$", text, re.M))
    labels |= set(re.findall(r"^\(([\w-]+)\)=\s*$", text, re.M))
    headings = {" ".join(h.split()) for h in re.findall(r"^#+\s+(.+?)\s*$", text, re.M)}
    return labels, headings


def parse_backlinks(doc: str) -> tuple[list[tuple[str, list[str], list[str]]], list[str]]:
    """``([(page, labels, sections), ...], labels named without a page)`` in one docstring.

    A page's labels and sections are those after its name up to the next page or the end of
    the sentence.

    >>> parse_backlinks('See book/a.md, equations (eq-x) and (eq-y); book/b.md, section "S". Also (eq-z).')
    ([('a', ['eq-x', 'eq-y'], []), ('b', [], ['S'])], ['eq-z'])
    """
    text = " ".join(doc.split())
    links, covered = [], []
    hits = list(BACKLINK.finditer(text))
    for i, m in enumerate(hits):
        stop = hits[i + 1].start() if i + 1 < len(hits) else len(text)
        end = SENTENCE_END.search(text, m.end(), stop)
        segment_end = end.start() if end else stop
        segment = text[m.end() : segment_end]
        links.append((m.group(1), LABEL.findall(segment), SECTION.findall(segment)))
        covered.append((m.end(), segment_end))
    orphans = [lab.group(1) for lab in LABEL.finditer(text) if not any(a <= lab.start() < b for a, b in covered)]
    return links, orphans


def package_docstrings() -> list[tuple[str, str]]:
    """``(where, docstring)`` of every module, class and function under ``rfn/`` (read with :mod:`ast`)."""
    out = []
    for path in sorted((ROOT / "rfn").rglob("*.py")):
        rel = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    out.append((f"{rel}:{getattr(node, 'lineno', 1)} {getattr(node, 'name', '(module)')}", doc))
    return out


def test_parse_backlinks_reads_pages_labels_and_sections():
    links, orphans = parse_backlinks(
        "Prose. See book/rfn.md, equations (eq-rfn-prior),\n  (eq-rfn-emission) and figure (fig-rfn-data-path); "
        'book/vrnn_srnn.md, section "Which model is which". Later (eq-iwae) alone.'
    )
    assert links == [
        ("rfn", ["eq-rfn-prior", "eq-rfn-emission", "fig-rfn-data-path"], []),
        ("vrnn_srnn", [], ["Which model is which"]),
    ]
    assert orphans == ["eq-iwae"]


def test_docstring_backlinks_name_existing_pages_labels_and_sections():
    problems, n_links = [], 0
    for where, doc in package_docstrings():
        links, orphans = parse_backlinks(doc)
        problems += [
            f"{where}: label ({lab}) without its page (write 'book/PAGE.md, equation ({lab})')" for lab in orphans
        ]
        for page, labels, sections in links:
            n_links += 1
            if not (ROOT / "book" / f"{page}.md").is_file():
                problems.append(f"{where}: book/{page}.md does not exist")
                continue
            defined, headings = page_targets(page)
            problems += [f"{where}: book/{page}.md defines no label ({lab})" for lab in labels if lab not in defined]
            problems += [f'{where}: book/{page}.md has no section "{s}"' for s in sections if s not in headings]
    assert not problems, "stale back-links in docstrings:\n" + "\n".join(problems)
    assert n_links >= 40, f"only {n_links} back-links to book/*.md in the package's docstrings"


#: objects that implement an equation or figure of a theory page, and the "page#label" their docstring names
BACKLINKED = {
    "rfn.flows.glow.Glow": [
        "normalising_flows#eq-cov",
        "normalising_flows#eq-multiscale",
        "normalising_flows#fig-glow-multiscale",
    ],
    "rfn.flows.glow.Glow.log_prob": ["normalising_flows#eq-cov", "normalising_flows#eq-conditional-flow"],
    "rfn.flows.glow.Glow.encode": ["normalising_flows#eq-cov"],
    "rfn.flows.glow.Glow.decode": ["normalising_flows#eq-cov"],
    "rfn.flows.glow.Glow.sample": ["normalising_flows#eq-multiscale"],
    "rfn.flows.glow.GlowConfig.level_shapes": ["normalising_flows#fig-glow-multiscale"],
    "rfn.flows.glow.FlowStep": ["normalising_flows#eq-composition"],
    "rfn.flows.coupling.AffineCoupling": ["normalising_flows#eq-coupling"],
    "rfn.flows.invconv.InvConv1x1": ["normalising_flows#eq-invconv"],
    "rfn.flows.actnorm.ActNorm": ["normalising_flows"],
    "rfn.flows.split.Split": ["normalising_flows#eq-multiscale"],
    "rfn.flows.squeeze.squeeze2d": ["normalising_flows#fig-glow-multiscale"],
    "rfn.flows.distributions.kl_diag_gaussians": ["latent_variable_models#eq-kl-gauss"],
    "rfn.flows.distributions.sample_diag_gaussian": ["latent_variable_models"],
    "rfn.pixels": ["normalising_flows#eq-dequant", "latent_variable_models#eq-bpd", "notation"],
    "rfn.pixels.dequantize": ["normalising_flows#eq-dequant"],
    "rfn.pixels.bits_per_pixel": ["latent_variable_models#eq-bpd"],
    "rfn.nets.gaussian.GaussianHead": ["rfn#eq-rfn-prior", "vrnn_srnn#eq-resq"],
    "rfn.nets.extractor.Extractor": ["rfn#eq-rfn-transition", "rfn#fig-rfn-data-path"],
    "rfn.nets.convlstm.ConvLSTMCell": ["rfn#eq-rfn-transition"],
    "rfn.nets.conditioner.Conditioner": ["rfn#eq-rfn-emission", "rfn#fig-rfn-data-path"],
    "rfn.nets.dmol.dmol_log_prob": ["vrnn_srnn"],
    "rfn.models.iwae.iw_bound": ["latent_variable_models#eq-iwae"],
    "rfn.models.iwae.iw_bound_from_log_weights": ["latent_variable_models#eq-iwae"],
    "rfn.models.recurrent.RecurrentLatentModel.elbo_terms": ["vrnn_srnn#eq-srnn-elbo", "rfn#eq-rfn-elbo"],
    "rfn.models.recurrent.RecurrentLatentModel.loss": [
        "vrnn_srnn#eq-vrnn-elbo",
        "vrnn_srnn#eq-overshooting",
        "rfn#eq-rfn-elbo",
    ],
    "rfn.models.recurrent.RecurrentLatentModel.infer": ["vrnn_srnn#eq-smoothing", "rfn#eq-rfn-posterior"],
    "rfn.models.recurrent.RecurrentLatentModel.bpp_per_frame": ["rfn#eq-rfn-elbo"],
    "rfn.models.recurrent.RecurrentLatentModel.predict": ["rfn#eq-rfn-emission"],
    "rfn.models.chain.posterior_chain": ["vrnn_srnn#eq-smoothing"],
    "rfn.models.srnn.SRNN": ["vrnn_srnn#eq-srnn", "vrnn_srnn#fig-sequence-graphs"],
    "rfn.models.srnn.VRNN": ["vrnn_srnn#eq-vrnn", "vrnn_srnn#fig-sequence-graphs"],
    "rfn.models.rfn.RFN": ["rfn#eq-rfn-transition", "rfn#eq-rfn-emission", "rfn#fig-rfn-data-path"],
    "rfn.models.rfn.RFN.condition": ["rfn#eq-rfn-emission"],
    "rfn.metrics.image.psnr": ["evaluation#eq-psnr"],
    "rfn.metrics.image.ssim": ["evaluation#eq-ssim"],
    "rfn.metrics.fvd.frechet_distance": ["evaluation#eq-fvd"],
    "rfn.metrics.fvd.fvd": ["evaluation#eq-fvd"],
    "rfn.metrics.lpips.LPIPS": ["evaluation"],
    "rfn.metrics.bestofn.select_best": ["evaluation"],
    "rfn.metrics.bestofn.best_of_n": ["evaluation"],
    "rfn.metrics.protocol.Protocol": ["evaluation"],
    "rfn.metrics.protocol.get_protocol": ["evaluation"],
}


@pytest.mark.parametrize("name", sorted(BACKLINKED))
def test_implementing_object_links_back_to_its_page(name):
    doc = inspect.getdoc(resolve(name)) or ""
    named = {f"{page}#{lab}" for page, labels, _ in parse_backlinks(doc)[0] for lab in labels}
    pages = {page for page, _, _ in parse_backlinks(doc)[0]}
    missing = [t for t in BACKLINKED[name] if (t not in named if "#" in t else t not in pages)]
    assert not missing, f"the docstring of {name} does not point back to {', '.join('book/' + t for t in missing)}"

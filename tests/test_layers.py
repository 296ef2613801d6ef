"""Import layers: every ``rfn`` module imports only from its own layer or those below (the table in rfn/__init__.py).

Each module under ``rfn/`` is parsed with :mod:`ast`; every import (at the top or inside a
function) of another ``rfn`` module is checked against :data:`LAYERS`. Also: each shared
helper is defined exactly once under ``rfn/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rfn"

#: lowest first; a module may import from its own layer and every layer below it
LAYERS = [
    {"rfn.pixels", "rfn.runtime", "rfn.assets", "rfn.checkpoint", "rfn.distributed"},
    {"rfn.flows", "rfn.nets", "rfn.data", "rfn.viz"},
    {"rfn.models", "rfn.metrics"},
    {"rfn.config", "rfn.presets", "rfn.config_files"},
    {"rfn.training", "rfn.evaluation"},
    {"rfn.profiles", "rfn.runs", "rfn.book", "rfn.diagrams", "rfn.pages"},
    {"rfn.cli"},
]
#: the command line: no library module may import it
CLI = "rfn.cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    for i, members in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members):
            return i
    return None


def _is_entry_point(module: str) -> bool:
    """Command lines (``rfn.cli``, ``rfn/*/cli.py``, ``__main__`` modules) and the package facade ``rfn``."""
    return module == "rfn" or module == CLI or module.endswith((".cli", ".__main__"))


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported rfn module) for every import in the file, including those inside functions."""
    out = []
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "rfn"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "rfn":
                continue
            if name == "rfn":  # from rfn import cli, runs
                out += [(node.lineno, f"rfn.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, name))
    return out


def _modules():
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    missing = [m for m in map(lambda p: _module_name(p), _modules()) if _layer(m) is None and not _is_entry_point(m)]
    assert not missing, f"modules outside the layer table (add them to LAYERS and to rfn/__init__.py): {missing}"


def test_imports_point_down_only():
    bad = []
    for path in _modules():
        module = _module_name(path)
        if _is_entry_point(module):
            continue
        own = _layer(module)
        for line, target in _imports(path, module):
            if target == CLI or target.startswith(CLI + "."):
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: imports the command line {target}")
                continue
            layer = _layer(target)
            if layer is not None and own is not None and layer > own:
                bad.append(
                    f"{path.relative_to(ROOT.parent)}:{line}: {module} (layer {own}) imports {target} (layer {layer})"
                )
    assert not bad, "imports that point up the layer table:\n" + "\n".join(bad)


HELPERS = (
    "resolve_device",
    "seed_everything",
    "derive_seed",
    "git_commit",
    "to_jsonable",
    "gaussian_log_density",
    "set_cpu_threads",
)


@pytest.mark.parametrize("name", HELPERS)
def test_shared_helper_is_defined_once(name):
    where = [
        f"{path.relative_to(ROOT.parent)}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
    ]
    assert len(where) == 1, f"{name} is defined {len(where)} times: {where}"


#: the book's side of the table: what ``rfn train`` must not load
BOOK = {"rfn.profiles", "rfn.runs", "rfn.book", "rfn.diagrams", "rfn.pages"}


def test_rfn_train_imports_no_book_code():
    """``rfn train`` runs :func:`rfn.cli._train`; its imports (and theirs, which point down) stay off the book."""
    path = ROOT / "cli.py"
    tree = ast.parse(path.read_text())
    train = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_train")
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    called = {t for node in [*top, train] for _, t in _imports_of(node)}
    assert not {t for t in called if any(t == m or t.startswith(m + ".") for m in BOOK)}
    assert "rfn.training.preset" in called  # the one function that trains a preset


def test_no_page_module_imports_another():
    bad = [
        f"{path.relative_to(ROOT.parent)}:{line}: imports {target}"
        for path in _modules()
        if _module_name(path).startswith("rfn.pages.")
        for line, target in _imports(path, _module_name(path))
        if target.startswith("rfn.pages.") and target != _module_name(path)
    ]
    assert not bad, "page modules share through rfn.runs or lower layers, not each other:\n" + "\n".join(bad)


def _imports_of(node: ast.AST) -> list[tuple[int, str]]:
    """(line, rfn module) of the absolute imports under ``node``."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            out += [(n.lineno, a.name) for a in n.names if a.name.split(".")[0] == "rfn"]
        elif isinstance(n, ast.ImportFrom) and not n.level and (n.module or "").split(".")[0] == "rfn":
            out += [(n.lineno, f"rfn.{a.name}") for a in n.names] if n.module == "rfn" else [(n.lineno, n.module)]
    return out


def test_no_import_circles_between_modules():
    """No two modules import each other (directly, at the top or inside a function)."""
    edges = {_module_name(p): {t for _, t in _imports(p, _module_name(p))} for p in _modules()}
    circles = sorted({tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges.get(b, ())})
    circles = [
        (a, b)
        for a, b in circles
        if a != b and not b.startswith(a + ".") and not any(_is_entry_point(m) for m in (a, b))  # a package's own
    ]
    assert not circles, f"modules that import each other: {circles}"

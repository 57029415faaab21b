"""Import contracts between Hearth's layers, read from the source (no import is run).

The layers, bottom up: ``desktop.core`` (no Qt, no window, no command line), then
``desktop.ui`` (the window), ``desktop.cli`` (the commands) and ``desktop.bench`` beside
each other.  Every import counts: module level, inside functions, and under
``TYPE_CHECKING`` (a type-only import is still a dependency of the design).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The modules behind a package's façade (its ``__init__``): the window and the commands
#: use the package, never these.
INTERNALS = {
    "desktop.core.library": {
        "chunking", "embedder", "extraction", "formats", "manifest", "ocr", "office",
        "onnx_embedder", "parse_worker", "parsing", "quality", "retrieval", "store", "indexer",
        "memory",
    },
    "desktop.core.engine": {"backends", "context", "isolated", "llama", "worker"},
    "desktop.core.personalize": {"dataset", "evaluate", "export", "trainer", "worker"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in (ROOT / "desktop").rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The ``desktop.*`` modules (or packages) ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "desktop" or name.startswith("desktop.")}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _edges(source_prefix: str) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in sorted(GRAPH.items()) if a.startswith(source_prefix)
            for b in sorted(targets)]


def _cycles(nodes: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, set()) & nodes:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read() -> None:
    """The checks below mean something only if imports are found."""
    assert "desktop.core.library" in GRAPH["desktop.core.app"] | set().union(*GRAPH.values())
    assert len(MODULES) > 50


@pytest.mark.parametrize("upper", ["desktop.ui", "desktop.cli", "desktop.bench"])
def test_core_never_imports_an_upper_layer(upper: str) -> None:
    bad = [(a, b) for a, b in _edges("desktop.core") if b == upper or b.startswith(upper + ".")]
    assert not bad, f"desktop.core must not depend on {upper}: {bad}"


def test_window_and_commands_do_not_import_each_other() -> None:
    bad = [(a, b) for a, b in _edges("desktop.ui.") if b.startswith("desktop.cli")]
    bad += [(a, b) for a, b in _edges("desktop.cli.") if b.startswith("desktop.ui")]
    assert not bad, f"shared code belongs in desktop.core: {bad}"


@pytest.mark.parametrize("layer", ["desktop.ui.", "desktop.cli."])
def test_upper_layers_use_the_facades(layer: str) -> None:
    bad = []
    for a, b in _edges(layer):
        for package, internals in INTERNALS.items():
            if b.startswith(package + ".") and b[len(package) + 1:].split(".")[0] in internals:
                bad.append((a, b))
    assert not bad, f"import these from the package's façade instead: {bad}"


def test_no_import_cycles_in_core() -> None:
    core = {name for name in MODULES if name.startswith("desktop.core")}
    assert _cycles(core) == []


def test_the_cycle_check_can_fail() -> None:
    GRAPH["desktop.core.paths"].add("desktop.core.app")  # app imports paths already
    try:
        assert any("desktop.core.paths" in c for c in _cycles(set(MODULES)))
    finally:
        GRAPH["desktop.core.paths"].discard("desktop.core.app")

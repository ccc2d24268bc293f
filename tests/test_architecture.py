"""The house rules of the code, read from the source (docs/architecture.md explains them).

- ``layers`` is built in parts, each importing only the parts below it:
  core < store < io < analysis, indicators < domain < documents; ``layers`` never
  imports ``mapapp`` or Flask; ``geodata`` (the bundled areas) imports no ``layers``
  module but ``geodata.demo`` (the demo data generator, a package) may use ``layers.core``.
- No import cycle among the project's modules, function-level imports included.
- No module imports a name beginning with ``_`` from another module.
- No module outside ``layers/store/`` imports a store backend.
- No Python file over 600 lines outside ``tests/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("layers", "mapapp", "geodata")
LEVELS = {"core": 0, "store": 1, "io": 2, "analysis": 3, "indicators": 3, "domain": 4,
          "documents": 5}
BACKENDS = ("layers.store.geopackage", "layers.store.postgis")
MAX_LINES = 600




def module_files() -> dict[str, Path]:
    """Every module of the project by its dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import in the file, nested ones too."""
    found = []
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    found.append((f"{source}.{alias.name}", None))
                else:
                    found.append((source, alias.name))
    return found


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]], dict[str, set[str]]]:
    """Edges between project modules, private names imported, and every imported module."""
    modules = module_files()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    private, external = [], {name: set() for name in modules}
    for name, path in modules.items():
        for source, imported in imports_of(name, path, modules):
            external[name].add(source)
            if source in modules and source != name:
                edges[name].add(source)
            if (imported and imported.startswith("_") and not imported.startswith("__")
                    and source in modules):
                private.append((name, source, imported))
    return edges, private, external


def cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = set()
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.add(frozenset(component))
    return found


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "layers" and len(parts) > 1 else None


def test_no_import_cycles():
    edges, _, _ = import_graph()
    assert cycles(edges) == set()


def test_no_private_names_imported_across_modules():
    _, private, _ = import_graph()
    assert set(private) == set()


def test_layers_parts_import_only_downwards():
    edges, _, external = import_graph()
    upward = set()
    for module, targets in edges.items():
        if module.startswith("layers.") and part_of(module) in LEVELS:
            for target in targets:
                if target.startswith("mapapp"):
                    upward.add((module, target))
                elif part_of(target) in LEVELS and (LEVELS[part_of(target)]
                                                    > LEVELS[part_of(module)]):
                    upward.add((module, target))
        in_demo = module == "geodata.demo" or module.startswith("geodata.demo.")
        if module.startswith("geodata") and not in_demo:
            upward |= {(module, t) for t in targets if t.startswith("layers")}
        if in_demo:
            upward |= {(module, t) for t in targets
                       if t.startswith("layers") and part_of(t) != "core"}
    assert upward == set()
    flask_in_layers = {m for m, sources in external.items()
                       if m.startswith("layers") and any(s.split(".")[0] == "flask"
                                                         for s in sources)}
    assert flask_in_layers == set()


def test_every_layers_module_is_in_a_part():
    loose = {name for name in module_files()
             if name.startswith("layers.") and part_of(name) not in LEVELS}
    assert loose == set()


def test_no_backend_imported_outside_the_store():
    _, _, external = import_graph()
    outside = set()
    for module, sources in external.items():
        if module.startswith("layers.store"):
            continue
        outside |= {(module, s) for s in sources if s.startswith(BACKENDS)}
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for backend in BACKENDS:
            if f"import {backend}" in text or f"from {backend} " in text:
                outside.add((str(path.relative_to(ROOT)), backend))
    assert not {m for m in outside if not m[0].startswith("tests")}
    source = "\n".join(p.read_text(encoding="utf-8") for p in module_files().values()
                       if "store" not in p.relative_to(ROOT).parts)
    assert "._where(" not in source and "GeoPackageStore" not in source


def test_no_python_file_over_600_lines_outside_tests():
    big = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {"tests", ".venv", "build"} or ".git" in rel.parts:
            continue
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
            big.add(str(rel))
    assert big == set()


def test_the_graph_reader_sees_real_imports():
    """The reader must find what is there, or the tests above would pass on nothing."""
    edges, _, _ = import_graph()
    assert "layers.core.schema" in edges["layers.store.base"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {
        frozenset({"a", "b", "c"})}

"""The layout of app/: no module imports in a circle, and the layers point one way."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The app modules a module imports when it loads (not under TYPE_CHECKING, not lazily)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:  # module level only: a function's import runs when called
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.ClassDef) else ():
            if isinstance(sub, ast.Import):
                names = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                names = [sub.module] + [f"{sub.module}.{a.name}" for a in sub.names]
            else:
                continue
            found |= {n for n in names if n in modules}
    return found


def graph() -> dict[str, set[str]]:
    paths = {_module(p): p for p in APP.rglob("*.py")}
    modules = set(paths)
    return {m: _imports(p, modules) - {m} for m, p in paths.items()}


def test_nothing_under_app_imports_in_a_circle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_layers_point_down_the_pipeline() -> None:
    """Adapters never touch the database; storage knows no door; the investigation
    does not call the doors (API, CLI)."""
    edges = graph()
    for module, targets in edges.items():
        if module.startswith("app.adapters"):
            assert not {t for t in targets if t.startswith(("app.neo4j", "app.api"))}, module
        if module.startswith(("app.neo4j", "app.investigation", "app.rules")):
            assert not {t for t in targets if t.startswith(("app.api", "app.cli"))}, module

"""The operations package imports in one direction: no module of it reaches itself again.

The registry lists the operations' modules, each operation's module uses the shared
rules and document helpers, and none of those knows the registry or the engine; a cycle
would mean a module is only importable once another has filled something in.
"""

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

PACKAGE = "traceability.operations"
FOLDER = PROJECT_ROOT / "traceability" / "operations"


def package_modules() -> dict[str, Path]:
    return {f"{PACKAGE}.{path.stem}": path for path in sorted(FOLDER.glob("*.py")) if path.stem != "__init__"}


def imports_within_package(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports, wherever the import statement sits."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ``from . import x`` or ``from .x import y``
                base = f"{PACKAGE}.{node.module}" if node.module else PACKAGE
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found & modules


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that ends where it starts, or ``[]``."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for target in sorted(graph[module]):
            cycle = visit(target, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return []

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return []


def test_the_operations_package_has_no_import_cycle():
    modules = package_modules()
    graph = {name: imports_within_package(path, set(modules)) for name, path in modules.items()}

    assert find_cycle(graph) == []


def test_a_cycle_is_found_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_the_registry_lists_every_operation_module():
    modules = package_modules()
    registry = imports_within_package(modules[f"{PACKAGE}.registry"], set(modules))
    operation_modules = {
        name for name, path in modules.items() if "\nOPERATION = OperationDefinition(" in path.read_text()
    }

    assert operation_modules
    assert operation_modules <= registry

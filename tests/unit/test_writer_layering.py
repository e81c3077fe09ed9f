"""The ledger writer sits below everything built on it.

Walks the project's own imports (read from the source, nothing is executed) from the
writer, the hooks and the pure ledger core, and fails if any of them reaches, even
through another module, the operations, EPCIS, carbon or passport code.
"""

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("traceability", "carbon", "passport", "config")
ABOVE_THE_WRITER = ("traceability.operations", "traceability.epcis", "carbon", "passport")
WRITER_MODULES = ("traceability.writer", "traceability.hooks", "traceability.ledger")


def _module_path(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(module: str) -> set[str]:
    path = _module_path(module)
    if path is None:
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            # ``from package import module`` imports the module too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES and _module_path(name)}


def _reachable_from(start: str) -> dict[str, str]:
    """Every project module ``start`` imports, directly or not, with the module that imports it."""
    seen = {start: ""}
    queue = [start]
    while queue:
        module = queue.pop()
        for imported in _imports_of(module):
            if imported not in seen:
                seen[imported] = module
                queue.append(imported)
    return seen


def _writer_modules() -> list[str]:
    modules = []
    for name in WRITER_MODULES:
        path = _module_path(name)
        assert path is not None, name
        if path.name == "__init__.py":
            modules.extend(
                f"{name}.{child.stem}" for child in sorted(path.parent.glob("*.py")) if child.stem != "__init__"
            )
        modules.append(name)
    return modules


@pytest.mark.parametrize("module", _writer_modules())
def test_the_writer_reaches_nothing_built_on_it(module):
    # given the imports the module reaches
    reached = _reachable_from(module)

    # then none of them is above the writer
    above = sorted(name for name in reached if name.startswith(ABOVE_THE_WRITER))
    chains = [f"{name} (imported by {reached[name]})" for name in above]
    assert not above, f"{module} reaches {chains}"


def test_the_walk_sees_an_upward_import():
    # given the events module, which hands the writer its projectors
    reached = _reachable_from("traceability.events")

    # then the walk finds the operations and the EPCIS index it imports
    assert "traceability.operations.projector" in reached
    assert "traceability.epcis.index" in reached

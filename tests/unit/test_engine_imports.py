"""The carbon engine's modules import one another one way only, and only by public names.

Read from the source (``ast``), nothing is executed: every import counts, the ones inside
functions too.
"""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_imports(path: Path, modules: set[str]) -> list[tuple[str, str]]:
    """``(module, name)`` for each engine module ``path`` imports from (``name`` empty for
    ``import carbon.engine.x``); ``from carbon.engine import x`` names the module ``x`` when it is one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule, "") if submodule in modules else (node.module, alias.name))
    return found


def engine_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Which engine modules each engine module imports, and every private name imported across modules."""
    paths = {module_name(path, root): path for path in sorted((root / "carbon" / "engine").rglob("*.py"))}
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    private = []
    for module, path in paths.items():
        imports = engine_imports(path, modules)
        graph[module] = {imported for imported, _ in imports if imported != module}
        private += [
            f"{module} imports {name} from {imported}"
            for imported, name in imports
            if imported != module and name.startswith("_")
        ]
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that is on one (depth-first search)."""
    found = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "carbon" / "engine" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_engine_has_no_import_cycle():
    graph, _ = engine_graph(PROJECT_ROOT)

    assert {"carbon.engine.compute", "carbon.engine.walk", "carbon.engine.linear"} <= set(graph)
    assert cycles(graph) == []


def test_the_engine_modules_import_no_private_name_of_one_another():
    _, private = engine_graph(PROJECT_ROOT)

    assert private == []


def test_the_check_sees_a_lazy_cycle_and_a_private_import(tmp_path):
    # given: an engine where a imports b, and b imports a private name of a inside a function
    root = write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from carbon.engine.b import helper\n_SECRET = 1\n",
            "b.py": "def helper():\n    from carbon.engine.a import _SECRET\n    return _SECRET\n",
        },
    )

    # when
    graph, private = engine_graph(root)

    # then
    assert cycles(graph) == [["carbon.engine.a", "carbon.engine.b", "carbon.engine.a"]]
    assert private == ["carbon.engine.b imports _SECRET from carbon.engine.a"]


def test_importing_the_engine_and_the_offline_verifier_loads_neither_numpy_nor_scipy():
    # The verifier walks; a regulator runs it with the standard library, cryptography and rfc8785.
    probe = "import sys, carbon.engine, passport.verify.verifier; print(sorted({'numpy', 'scipy'} & set(sys.modules)))"

    loaded = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"

"""Dependencies point one way: carbon reads traceability, passport reads both, and traceability never
imports carbon or passport, nor carbon passport. Settings may name a higher app's code by a dotted
path (``LOT_PAGE_PANELS``): that is configuration, read at run time, not an import."""

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

# app -> the apps built on it, which it must never import
FORBIDDEN = {"traceability": {"carbon", "passport"}, "carbon": {"passport"}}
# Functions that import the module their first argument names.
IMPORTING_CALLS = {"import_module", "import_string", "__import__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports: absolute, relative (resolved against its package), and named as a
    literal string to ``importlib.import_module``, ``import_string`` or ``__import__``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *([node.module] if node.module else [])]
            if module:
                names.add(".".join(module))
            names.update(".".join([*module, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            first = node.args[0]
            if called in IMPORTING_CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def upward_imports(app: str) -> dict[str, list[str]]:
    offenders = {}
    for path in sorted((PROJECT_ROOT / app).rglob("*.py")):
        found = sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN[app])
        if found:
            offenders[str(path.relative_to(PROJECT_ROOT))] = found
    return offenders


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_never_imports_the_apps_built_on_it(app):
    assert (PROJECT_ROOT / app / "models").is_dir()
    assert upward_imports(app) == {}


def test_the_check_sees_every_form_of_import(tmp_path, monkeypatch):
    # given
    package = tmp_path / "traceability" / "web"
    package.mkdir(parents=True)
    (tmp_path / "traceability" / "models").mkdir()
    (package / "one.py").write_text("import carbon.models\n")
    (package / "two.py").write_text("from passport.selectors import reader_tier\n")
    (package / "three.py").write_text("from ... import passport\n")
    (package / "four.py").write_text("from importlib import import_module\nimport_module('carbon.web.panels')\n")
    (package / "five.py").write_text("from django.utils.module_loading import import_string\nimport_string(path)\n")
    monkeypatch.setattr(f"{__name__}.PROJECT_ROOT", tmp_path)

    # when
    offenders = upward_imports("traceability")

    # then
    assert offenders == {
        "traceability/web/one.py": ["carbon.models"],
        "traceability/web/two.py": ["passport.selectors", "passport.selectors.reader_tier"],
        "traceability/web/three.py": ["passport"],
        "traceability/web/four.py": ["carbon.web.panels"],
    }

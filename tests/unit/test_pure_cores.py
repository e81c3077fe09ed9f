"""The pure cores import no Django: data in, values out, one error type."""

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PURE_CORES = [
    "traceability/ledger",
    "traceability/witness",
    "carbon/engine",
    "passport/verify",
    "traceability/epcis/core",
    "traceability/credentials/core",
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("core", PURE_CORES)
def test_pure_core_imports_no_django(core):
    folder = PROJECT_ROOT / core
    files = sorted(folder.rglob("*.py")) if folder.exists() else []
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in {"django", "rest_framework", "celery"}
        )
        for path in files
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}
    if core == "traceability/ledger":
        assert len(files) >= 6


def test_the_import_check_would_see_a_django_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from django.db import models\nimport celery\n")
    assert imported_modules(sample) >= {"django.db", "celery"}


# What the offline verifier may import: a regulator runs it with Python, cryptography and rfc8785 alone.
VERIFIER_ALLOWED = ("cryptography", "rfc8785", "traceability.ledger", "carbon.engine", "passport.verify")


def test_the_offline_verifier_imports_only_the_standard_library_its_two_packages_and_pure_cores():
    files = sorted((PROJECT_ROOT / "passport/verify").rglob("*.py"))
    imported = {module for path in files for module in imported_modules(path)}

    foreign = {
        module
        for module in imported
        if module.split(".")[0] not in sys.stdlib_module_names
        and not any(module == allowed or module.startswith(f"{allowed}.") for allowed in VERIFIER_ALLOWED)
    }
    assert files and foreign == set()
    assert {"traceability.ledger.chain", "carbon.engine", "cryptography.hazmat.primitives.asymmetric.ed25519"} <= (
        imported
    )

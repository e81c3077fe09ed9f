"""The PACT component schemas, read from the carried OpenAPI documents (carbon/data/pact/)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DATA = Path(__file__).resolve().parent.parent / "data" / "pact"
DOCUMENTS = {"2": "pact-openapi-2.3.0.yaml", "3": "pact-openapi-3.0.3.yaml"}


@cache
def openapi(spec: str) -> dict[str, Any]:
    """The carried PACT OpenAPI document of major version ``spec`` ("2" or "3")."""
    return yaml.safe_load((DATA / DOCUMENTS[spec]).read_text(encoding="utf-8"))


@cache
def _registry(spec: str) -> Registry:
    resource = Resource.from_contents(openapi(spec), default_specification=DRAFT202012)
    return Registry().with_resource(f"urn:pact:openapi:{spec}", resource)


@cache
def validator(spec: str, component: str) -> Draft202012Validator:
    """A validator of ``#/components/schemas/<component>`` (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    schema = {"$ref": f"urn:pact:openapi:{spec}#/components/schemas/{component}"}
    return Draft202012Validator(schema, registry=_registry(spec), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(spec: str, component: str, instance: object) -> list[str]:
    """Every violation of the component's schema, as ``path: message`` lines (empty when valid)."""
    found = sorted(validator(spec, component).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}" for error in found]

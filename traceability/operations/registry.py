"""Which operation an event document records, and who may record it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from traceability.errors import ApplicationError
from traceability.operations.effects import Effects

OPERATION_FIELD = "lt:operation"


@dataclass(frozen=True)
class Operation:
    name: str
    roles: frozenset[str]
    parse: Callable[[dict[str, object]], Effects]


REGISTRY: dict[str, Operation] = {}


def register(name: str, *roles: str) -> Callable[[Callable[[dict[str, object]], Effects]], Callable[..., Effects]]:
    def decorator(parse: Callable[[dict[str, object]], Effects]) -> Callable[[dict[str, object]], Effects]:
        REGISTRY[name] = Operation(name=name, roles=frozenset(roles), parse=parse)
        return parse

    return decorator


def operation_for(document: dict[str, object]) -> Operation:
    from traceability.operations import catalogue  # noqa: F401 - fills the registry

    name = document.get(OPERATION_FIELD)
    operation = REGISTRY.get(str(name))
    if operation is None:
        raise ApplicationError("operation_unknown", f"unknown {OPERATION_FIELD} {name!r}; known: {sorted(REGISTRY)}")
    return operation

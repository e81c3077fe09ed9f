"""What makes an operation: its name, who records it, its typed input, its document and its rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from traceability.choices import Operation, OrganisationRole
from traceability.models import Organisation
from traceability.operations.effects import Effects
from traceability.operations.rules import Rule


@dataclass(frozen=True)
class OperationDefinition:
    name: Operation
    roles: frozenset[OrganisationRole]
    # The dataclass the API and the web forms fill in, and ``build`` reads.
    input_type: type
    build: Callable[[Organisation, Any], dict[str, object]]
    parse: Callable[[dict[str, object]], Effects]
    # Checked in this order, after the recorder's role and ``rules.RECORDING``.
    rules: tuple[Rule, ...]

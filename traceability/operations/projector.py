"""The operations' rules and projection, as a projector the ledger writer runs."""

from __future__ import annotations

from collections.abc import Sequence

from traceability.errors import ApplicationError
from traceability.operations.engine import project
from traceability.writer import Appended, Projector


def _check_and_project(appended: Sequence[Appended]) -> None:
    for position, item in enumerate(appended):
        try:
            project(item.entry, item.document, check=True)
        except ApplicationError as exc:
            raise exc.at_position(position, len(appended)) from exc


OPERATION_RULES = Projector(name="operation rules and projection", project=_check_and_project)

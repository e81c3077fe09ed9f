"""The operations' rules and projection, as a projector the ledger writer runs."""

from __future__ import annotations

from collections.abc import Sequence

from traceability.errors import ApplicationError
from traceability.operations.engine import project
from traceability.writer import Appended, Projector

# Annotation of an event whose recording service has checked the recorder's role already
# (set only in process, by ``operations.services``; a submitted document never carries it).
RECORDER_AUTHORISED = "recorder_authorised"


def _check_and_project(appended: Sequence[Appended]) -> None:
    for position, item in enumerate(appended):
        try:
            project(
                item.entry,
                item.document,
                check=True,
                recorder_authorised=item.annotations.get(RECORDER_AUTHORISED) is True,
            )
        except ApplicationError as exc:
            raise exc.at_position(position, len(appended)) from exc


OPERATION_RULES = Projector(name="operation rules and projection", project=_check_and_project)

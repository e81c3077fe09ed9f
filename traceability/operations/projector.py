"""The operations' rules and projection, as a projector the ledger writer runs."""

from __future__ import annotations

from collections.abc import Sequence

from traceability.errors import ApplicationError
from traceability.operations.engine import project, tracked_objects
from traceability.operations.epcis import OPERATION_FIELD
from traceability.operations.registry import operation_for
from traceability.writer import Appended, Prepared, Projector

# Annotation of an event whose recording service has checked the recorder's role already
# (set only in process, by ``operations.services``; a submitted document never carries it).
RECORDER_AUTHORISED = "recorder_authorised"


def _check_and_project(appended: Sequence[Appended]) -> None:
    _project_each(appended, leave_out=None)


def _survey(appended: Sequence[Appended]) -> list[tuple[int, ApplicationError]]:
    """Like ``_check_and_project``, but an event that breaks a rule is left out and the others go on.

    ``project`` checks an event's rules before it writes anything for it, so a refused event
    leaves the projections as they were and the events after it meet the state they would
    meet without it: the writer retries the batch without the refused events, and they pass.
    """
    refused: list[tuple[int, ApplicationError]] = []
    _project_each(appended, leave_out=refused)
    return refused


def _project_each(appended: Sequence[Appended], *, leave_out: list[tuple[int, ApplicationError]] | None) -> None:
    # A batch is one organisation's (``events.ledger_append_batch``): what its events name is read once.
    organisations = {item.entry.organisation_id: item.entry.organisation for item in appended}
    tracked = {
        pk: tracked_objects([i.document for i in appended if i.entry.organisation_id == pk], organisation)
        for pk, organisation in organisations.items()
    }
    for position, item in enumerate(appended):
        try:
            project(
                item.entry,
                item.document,
                check=True,
                recorder_authorised=item.annotations.get(RECORDER_AUTHORISED) is True,
                tracked=tracked[item.entry.organisation_id],
            )
        except ApplicationError as exc:
            if leave_out is None:
                raise exc.at_position(position, len(appended)) from exc
            leave_out.append((position, exc))


def _check_document(item: Prepared) -> Prepared:
    """The rules that need only the document (a known operation, well-formed fields), checked
    when it is prepared: before the append lock, once per document, and a batch that breaks
    one writes nothing first. The rules that read the projections run in ``project``."""
    if item.parsed is not None and OPERATION_FIELD in item.parsed:
        operation_for(item.parsed).parse(item.parsed)
    return item


OPERATION_RULES = Projector(
    name="operation rules and projection", project=_check_and_project, prepare=_check_document, survey=_survey
)

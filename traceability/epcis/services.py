"""EPCIS 2.0 capture: documents and single events become ledger entries.

Captured events are signed custodially for the capturing organisation and appended
like any other event, so Looptrace's rules apply to events carrying ``lt:operation``
and any other valid EPCIS event is stored as it came. An event whose canonical hash
is already in the ledger is a duplicate: counted, not stored again. An error declaration
(the declared event again, with ``errorDeclaration``; same hash) is stored as its own
event next to the one it declares erroneous, once. An ``eventID``
written as a CBV hash must be the event's own hash (``EPCIS_EVENT_ID_HASH_CHECK``).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from traceability.choices import OrganisationRole
from traceability.epcis.core.fields import declares_error
from traceability.epcis.core.hashing import EventHashError, event_hash, is_event_hash, vocabulary_uris
from traceability.epcis.core.master_data import location_children
from traceability.epcis.core.schema import document_errors, event_errors, events_of
from traceability.epcis.index import CONTEXT_INHERITED, EVENT_HASH
from traceability.errors import ApplicationError
from traceability.events import ledger_append_batch, ledger_append_proceeding
from traceability.models import CaptureJob, EpcisEvent, EpcisLocationChild, Organisation
from traceability.writer import MAX_BATCH_DOCUMENTS, SubmittedDocument

# Events one capture request may carry (announced as GS1-EPCIS-Capture-Limit).
CAPTURE_LIMIT = 10_000
PROBLEM_VALIDATION = "epcisException:ValidationException"
PROBLEM_CAPTURE_LIMIT = "epcisException:CaptureLimitExceededException"
PROBLEM_CONFLICT = "epcisException:ResourceAlreadyExistsException"
PROBLEM_IMPLEMENTATION = "epcisException:ImplementationException"
# Stale capture jobs one resume sweep finishes at most (each holds a whole document in memory).
RESUME_BATCH = 20
# A job no worker could finish in this long is failed, not tried again.
ABANDON_AFTER = timedelta(days=1)


@dataclass
class _Candidate:
    position: int
    event: dict[str, object]
    stored: dict[str, object]
    event_hash: str
    context_inherited: bool
    error_declaration: bool

    @property
    def key(self) -> tuple[str, bool]:
        """What makes an event a duplicate: its hash, and whether it is an error declaration."""
        return (self.event_hash, self.error_declaration)


def hash_check_strict() -> bool:
    """Whether a hash-form eventID that is not the event's own hash is an error (else: stored as it came,
    the mismatch not recorded)."""
    return settings.EPCIS_EVENT_ID_HASH_CHECK == "strict"


def _problem(code: str, detail: str, *, index: int | None = None, **extra: object) -> dict[str, object]:
    problem: dict[str, object] = {"type": PROBLEM_VALIDATION, "title": code, "status": 400, "code": code}
    problem["detail"] = detail
    if index is not None:
        problem["eventIndex"] = index
    problem.update(extra)
    return problem


def _check_writer(organisation: Organisation) -> None:
    if organisation.role == OrganisationRole.REGULATOR:
        raise ApplicationError("role_not_allowed", "regulators read the ledger; they do not write to it", status=403)


def _refuse_invalid_document(document: object) -> list[object]:
    if not isinstance(document, dict):
        raise ApplicationError("epcis_document_invalid", "an EPCIS document must be a JSON object")
    errors = document_errors(document)
    if errors:
        raise ApplicationError(
            "epcis_document_invalid",
            f"the document does not validate against the EPCIS 2.0 JSON schema: {errors[0].path}: {errors[0].message}",
            extra={"errors": [{"path": e.path, "message": e.message} for e in errors]},
        )
    events = events_of(document)
    if len(events) > CAPTURE_LIMIT:
        raise ApplicationError("capture_limit_exceeded", f"a capture holds at most {CAPTURE_LIMIT} events", status=413)
    return events


def _candidate(
    position: int, event: dict[str, object], context: object, vocabulary: frozenset[str] | None = None
) -> _Candidate:
    """Hash the event and check a hash-form eventID; the stored form carries the document's @context."""
    try:
        computed = event_hash(event, context=context, vocabulary=vocabulary)
    except EventHashError as exc:
        raise ApplicationError("event_invalid", str(exc), extra={"eventIndex": position}) from exc
    claimed = event.get("eventID")
    if is_event_hash(claimed) and claimed != computed and hash_check_strict():
        raise ApplicationError(
            "event_id_hash_mismatch",
            f"eventID {claimed} is not the event's CBV 2.0 hash {computed}",
            extra={"eventIndex": position, "computedHash": computed},
        )
    inherited = "@context" not in event and context is not None
    stored = {"@context": context, **event} if inherited else event
    return _Candidate(position, event, stored, computed, inherited, declares_error(event))


def _known_keys(hashes: Sequence[str]) -> set[tuple[str, bool]]:
    known: set[tuple[str, bool]] = set()
    for start in range(0, len(hashes), MAX_BATCH_DOCUMENTS):
        chunk = hashes[start : start + MAX_BATCH_DOCUMENTS]
        stored = EpcisEvent.objects.filter(event_hash__in=chunk)
        known.update(stored.values_list("event_hash", "error_declaration"))
    return known


def _new_events(candidates: list[_Candidate]) -> tuple[list[_Candidate], int]:
    """Candidates not yet in the ledger (nor earlier in the same document), and how many were duplicates."""
    known = _known_keys([c.event_hash for c in candidates])
    fresh = []
    for candidate in candidates:
        if candidate.key in known:
            continue
        known.add(candidate.key)
        fresh.append(candidate)
    return fresh, len(candidates) - len(fresh)


def _submitted(candidates: Sequence[_Candidate]) -> list[SubmittedDocument]:
    return [
        SubmittedDocument(
            document=c.stored, annotations={EVENT_HASH: c.event_hash, CONTEXT_INHERITED: c.context_inherited}
        )
        for c in candidates
    ]


def _append(organisation: Organisation, candidates: Sequence[_Candidate]) -> None:
    try:
        ledger_append_batch(organisation=organisation, items=_submitted(candidates))
    except ApplicationError as exc:
        index = exc.extra.get("index")
        if isinstance(index, int) and 0 <= index < len(candidates):
            exc.extra["eventIndex"] = candidates[index].position
        raise


def _error_of(exc: ApplicationError) -> dict[str, object]:
    extra = {k: v for k, v in exc.extra.items() if k not in {"index", "eventIndex"}}
    index = exc.extra.get("eventIndex")
    return _problem(exc.code, exc.message, index=index if isinstance(index, int) else None, **extra)


def _capture_rollback(organisation: Organisation, candidates: list[_Candidate]) -> list[dict[str, object]]:
    try:
        with transaction.atomic():
            for start in range(0, len(candidates), MAX_BATCH_DOCUMENTS):
                _append(organisation, candidates[start : start + MAX_BATCH_DOCUMENTS])
    except ApplicationError as exc:
        return [_error_of(exc)]
    return []


def _capture_proceed(
    organisation: Organisation, candidates: list[_Candidate]
) -> tuple[list[dict[str, object]], int, int]:
    """Append what can be appended; an event that breaks a rule is reported and left out.

    Each event's rules run at most about twice (see ``append_submissions_proceeding``: a
    batch's refusals are found in one pass, its other events stored in the next), however
    many events of the document break them. Returns the errors, the duplicates found while
    appending and the number of events stored.
    """
    errors: list[dict[str, object]] = []
    duplicates = captured = 0
    for start in range(0, len(candidates), MAX_BATCH_DOCUMENTS):
        batch = candidates[start : start + MAX_BATCH_DOCUMENTS]
        result = ledger_append_proceeding(organisation=organisation, items=_submitted(batch))
        captured += len(result.entries)
        for index, exc in result.failures:
            if index is not None:
                exc.extra["eventIndex"] = batch[index].position
                if exc.code == "event_duplicate":
                    duplicates += 1
                    continue
            errors.append(_error_of(exc))
    return errors, duplicates, captured


def epcis_capture(*, organisation: Organisation, document: object, error_behaviour: str = "rollback") -> CaptureJob:
    """Accept an EPCIS document for capture; the job row records the outcome.

    A document that is no valid EPCIS 2.0 document is refused outright (nothing is stored and
    no job is created). Otherwise the job is created running, with the document, and handed
    to ``settings.EPCIS_CAPTURE_RUNNER``: a worker captures it after this transaction commits
    (at once, in-process, when Celery runs eagerly). Rule violations of single events fail the
    job (``rollback``) or only those events (``proceed``).
    """
    _check_writer(organisation)
    if error_behaviour not in CaptureJob.Behaviour.values:
        raise ApplicationError(
            "capture_error_behaviour_invalid", "GS1-Capture-Error-Behaviour must be rollback or proceed"
        )
    events = _refuse_invalid_document(document)
    with transaction.atomic():
        job = CaptureJob.objects.create(
            organisation=organisation,
            error_behaviour=error_behaviour,
            created_at=timezone.now(),
            event_count=len(events),
            pending_document=json.dumps(document, ensure_ascii=False, allow_nan=False),
        )
        import_string(settings.EPCIS_CAPTURE_RUNNER)(job.id)
    # The job as the runner left it (finished, when it ran here), without the document again.
    return CaptureJob.objects.defer("pending_document").get(pk=job.pk)


def epcis_capture_run(*, capture_id: uuid.UUID | str) -> CaptureJob | None:
    """Capture a running job's document and finish the job, in one transaction.

    The events and the finished job commit together, so a worker that dies mid-capture leaves
    the job running with its document, nothing of it stored, for ``epcis_capture_resume``. A
    job another worker is capturing (its row locked), or one already finished, is left alone.
    """
    with transaction.atomic():
        job = (
            CaptureJob.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organisation")
            .filter(id=capture_id)
            .first()
        )
        if job is None or not job.running or not job.pending_document:
            return job
        document = json.loads(job.pending_document)
        errors, captured, duplicates = _capture(job.organisation, document, job.error_behaviour)
        if not errors or job.error_behaviour == CaptureJob.Behaviour.PROCEED:
            _store_master_data(job.organisation, document)
        return _finish(job, errors=errors, captured=captured, duplicates=duplicates)


def _store_master_data(organisation: Organisation, document: dict[str, object]) -> None:
    """Keep the location hierarchy the document's master data declares, as the organisation's."""
    EpcisLocationChild.objects.bulk_create(
        (EpcisLocationChild(organisation=organisation, parent=p, child=c) for p, c in location_children(document)),
        ignore_conflicts=True,
    )


def epcis_capture_fail(*, capture_id: uuid.UUID | str, detail: str) -> None:
    """Finish a job whose capture broke down (not for a rule of an event: the server's fault)."""
    with transaction.atomic():
        job = CaptureJob.objects.select_for_update().filter(id=capture_id, running=True).first()
        if job is not None:
            error = _problem("capture_failed", detail) | {"type": PROBLEM_IMPLEMENTATION, "status": 500}
            _finish(job, errors=[error], captured=0, duplicates=0)


def epcis_capture_resume(*, older_than: timedelta, limit: int = RESUME_BATCH) -> int:
    """Capture jobs still running ``older_than`` after they were created (their worker died or the
    broker lost them); returns how many were finished. A job still running ``ABANDON_AFTER`` after
    it was created (a document that brings down every worker trying it) fails instead."""
    abandoned = CaptureJob.objects.filter(running=True, created_at__lte=timezone.now() - ABANDON_AFTER)
    for capture_id in abandoned.values_list("id", flat=True)[:limit]:
        epcis_capture_fail(capture_id=capture_id, detail=f"no worker finished the capture in {ABANDON_AFTER}")
    stale = CaptureJob.objects.filter(running=True, created_at__lte=timezone.now() - older_than)
    finished = 0
    for capture_id in stale.order_by("created_at").values_list("id", flat=True)[:limit]:
        job = epcis_capture_run(capture_id=capture_id)
        finished += job is not None and not job.running
    return finished


def _capture(
    organisation: Organisation, document: dict[str, object], error_behaviour: str
) -> tuple[list[dict[str, object]], int, int]:
    """Capture a valid document's events: the errors, the number stored and the duplicates."""
    events = events_of(document)
    errors: list[dict[str, object]] = []
    candidates = []
    # The hash reads bare words against every vocabulary URI of the document, as GS1's reference does.
    vocabulary = frozenset().union(*(vocabulary_uris(e) for e in events if isinstance(e, dict)))
    context = copy.deepcopy(document.get("@context"))  # one copy, shared by the events that inherit it
    for position, event in enumerate(events):
        try:
            candidates.append(_candidate(position, event, context, vocabulary))
        except ApplicationError as exc:
            errors.append(_error_of(exc))
    if errors and error_behaviour == CaptureJob.Behaviour.ROLLBACK:
        return errors, 0, 0
    fresh, duplicates = _new_events(candidates)
    if error_behaviour == CaptureJob.Behaviour.ROLLBACK:
        errors = _capture_rollback(organisation, fresh)
        return errors, 0 if errors else len(fresh), duplicates
    failures, late_duplicates, captured = _capture_proceed(organisation, fresh)
    return errors + failures, captured, duplicates + late_duplicates


def _finish(job: CaptureJob, *, errors: list[dict[str, object]], captured: int, duplicates: int) -> CaptureJob:
    job.running = False
    job.success = not errors
    job.errors = errors
    job.captured_count = captured
    job.duplicate_count = duplicates
    job.finished_at = timezone.now()
    job.pending_document = ""
    job.save()
    return job


def epcis_event_capture(*, organisation: Organisation, event: object) -> EpcisEvent:
    """Capture one event (``POST /epcis/events``): stored, or refused with a 4xx error."""
    _check_writer(organisation)
    errors = event_errors(event)
    if errors:
        raise ApplicationError(
            "epcis_event_invalid",
            f"the event does not validate against the EPCIS 2.0 JSON schema: {errors[0].path}: {errors[0].message}",
            extra={"errors": [{"path": e.path, "message": e.message} for e in errors]},
        )
    assert isinstance(event, dict)
    candidate = _candidate(0, event, None)
    existing = EpcisEvent.objects.filter(
        event_hash=candidate.event_hash, error_declaration=candidate.error_declaration
    ).first()
    if existing is not None:
        raise ApplicationError(
            "event_duplicate",
            f"the event {candidate.event_hash} is already recorded (entry {existing.entry_id})",
            status=409,
            extra={"eventHash": candidate.event_hash},
        )
    _append(organisation, [candidate])
    return EpcisEvent.objects.get(event_hash=candidate.event_hash, error_declaration=candidate.error_declaration)

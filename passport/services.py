"""Writes of the passport app: passports follow the ledger and issue signed versions.

Passports follow the ledger as carbon does: a cursor remembers the last event whose
effects they reflect, and every committed append nudges a catch-up. An event that
brings a battery into being (dismantling, repurposing) issues its passport; an event
that changes what a passport says (a grading) issues a new version; recycling ceases
it. Every version is a platform-signed ``passport.version`` ledger fact holding the
digests of the document and of each tier's view, so any reader can prove which
version they saw. Passports never run ahead of carbon: the footprint they carry must
already reflect the events they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from carbon.models import EmissionFactor, LedgerCursor
from carbon.services import BATTERY_PCF_CODES, factor_add
from carbon.services import CURSOR as CARBON_CURSOR
from passport.assembly import battery_passport_document
from passport.choices import SECOND_LIFE_STATUSES, TIER_ORDER, PassportStatus
from passport.credentials import version_credentials_issue, version_credentials_revoke
from passport.models import Passport, PassportCursor, PassportVersion
from passport.selectors import public_view_key
from passport.tiers import filter_for_tier
from traceability.choices import BATTERY_KINDS, ObjectStatus
from traceability.errors import ApplicationError
from traceability.ledger.canonical import document_digest
from traceability.ledger.chain import KIND_PASSPORT_VERSION, format_time
from traceability.models import EventRecord, TraceableObject
from traceability.services import platform_fact_append

CURSOR = "passport"
# Events read per pass when catching up: bounds the memory of one pass.
CATCH_UP_BATCH = 2000
# The maker's declared footprint (kg CO2e per kWh of rated energy, by carbon lifecycle stage),
# carried in the battery's ledger description and bound to it as battery_pcf_* factors.
MAKER_FOOTPRINT = "makerFootprintKgCO2ePerKWh"
SECOND_LIFE_STATUS_FIELD = "batteryStatus"


@dataclass(frozen=True)
class CatchUpReport:
    events: int
    issued: int
    invalid: int
    seq: int


def digests(document: dict[str, object]) -> tuple[str, dict[str, str]]:
    """Hex SHA-256 of the RFC 8785 form of the document and of each tier's view of it."""
    by_tier = {tier.value: document_digest(filter_for_tier(document, tier)).hex() for tier in TIER_ORDER}
    return document_digest(document).hex(), by_tier


def _maker_footprint_bind(battery: TraceableObject) -> None:
    """Bind the footprint the battery was registered with, once, as its battery_pcf_* factors."""
    declared = (battery.attributes or {}).get(MAKER_FOOTPRINT)
    if not isinstance(declared, dict):
        return
    codes = {stage: code for code, stage in BATTERY_PCF_CODES.items()}
    for stage, value in declared.items():
        code = codes.get(stage)
        if code is None:
            raise ApplicationError("lifecycle_stage_unknown", f"{battery.label}: no lifecycle stage {stage!r}")
        if EmissionFactor.objects.filter(code=code, lot=battery).exists():
            continue
        factor_add(
            code=code,
            lot=battery,
            value=value,
            unit="kg/kWh",
            source=f"maker's declared footprint in the battery's ledger description, entry {battery.created_seq}",
        )


def passport_cache_forget(passport: Passport) -> None:
    """Drop the cached public view now and again after the commit (a reader may refill it meanwhile)."""
    key = public_view_key(passport.pk)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _version_append(
    *, passport: Passport, document: dict[str, object], reason: str, basis_seq: int, ceased: bool = False
) -> PassportVersion:
    digest, tier_digests = digests(document)
    latest = passport.versions.order_by("-number").first()
    number = latest.number + 1 if latest else 1
    fact = {
        "type": "PassportVersion",
        "passport": passport.urn,
        "battery": passport.battery.identifier,
        "version": number,
        "status": passport.status,
        "reason": reason,
        "previous": passport.previous.urn if passport.previous else None,
        "ceasedAt": format_time(passport.ceased_at) if passport.ceased_at else None,
        "basisSeq": basis_seq,
        "digest": digest,
        "tierDigests": tier_digests,
    }
    if ceased and latest is not None:
        version_credentials_revoke(version=latest, reason="passport ceased: the battery was recycled")
    entry = platform_fact_append(kind=KIND_PASSPORT_VERSION, document=fact)
    passport_cache_forget(passport)
    version = PassportVersion.objects.create(
        passport=passport,
        number=number,
        status=passport.status,
        reason=reason,
        document=document,
        digest=digest,
        tier_digests=tier_digests,
        ledger_seq=entry.seq,
        basis_seq=basis_seq,
        ceased=ceased,
        issued_at=entry.recorded_at,
    )
    if not ceased:
        version_credentials_issue(version=version, previous=latest)
    return version


@transaction.atomic
def passport_version_issue(*, passport: Passport, reason: str, basis_seq: int) -> PassportVersion | None:
    """Assemble and, when it differs from the latest version, issue a new version.

    A document that fails the schemas issues nothing: the problems are kept on the
    passport (and shown to whoever asks for it) until an event fixes the data.
    """
    if passport.ceased:
        raise ApplicationError("passport_ceased", f"{passport.urn} ceased at {passport.ceased_at:%Y-%m-%d}")
    try:
        document = battery_passport_document(passport=passport)
    except ApplicationError as exc:
        passport.problems = [{"code": exc.code, "detail": exc.message, "fields": exc.extra.get("fields", [])}]
        passport.save(update_fields=["problems"])
        passport_cache_forget(passport)
        return None
    if passport.problems:
        passport.problems = []
        passport.save(update_fields=["problems"])
        passport_cache_forget(passport)
    latest = passport.versions.order_by("-number").first()
    if latest is not None and latest.digest == document_digest(document).hex() and latest.status == passport.status:
        return None
    return _version_append(passport=passport, document=document, reason=reason, basis_seq=basis_seq)


@transaction.atomic
def passport_issue(
    *, battery: TraceableObject, basis_seq: int, status: str = PassportStatus.ORIGINAL, previous: Passport | None = None
) -> Passport:
    """The passport of a battery new to the ledger; a second-life battery's links to its predecessor's."""
    if battery.kind not in BATTERY_KINDS:
        raise ApplicationError("not_a_battery", f"{battery.label} is not a battery")
    if status not in PassportStatus.values:
        raise ApplicationError("passport_status_invalid", f"status must be one of {PassportStatus.values}")
    if (previous is None) != (status not in SECOND_LIFE_STATUSES):
        raise ApplicationError(
            "passport_link_invalid", "a repurposed, reused or remanufactured battery's passport links to the old one"
        )
    existing = Passport.objects.filter(battery=battery).first()
    if existing is not None:
        return existing
    _maker_footprint_bind(battery)
    passport = Passport.objects.create(battery=battery, status=status, previous=previous)
    if previous is not None:
        passport_cache_forget(previous)  # its view lists its successors
    passport_version_issue(
        passport=passport, reason="registered" if previous is None else status.lower(), basis_seq=basis_seq
    )
    return passport


@transaction.atomic
def passport_status_change(*, passport: Passport, status: str, basis_seq: int) -> PassportVersion | None:
    if status not in PassportStatus.values:
        raise ApplicationError("passport_status_invalid", f"status must be one of {PassportStatus.values}")
    passport.status = status
    passport.save(update_fields=["status"])
    passport_cache_forget(passport)
    return passport_version_issue(passport=passport, reason=f"status:{status.lower()}", basis_seq=basis_seq)


@transaction.atomic
def passport_cease(*, passport: Passport, at: datetime, basis_seq: int) -> PassportVersion:
    """After recycling the passport ceases to exist (Art. 77(8)): a last version records when."""
    if passport.ceased:
        raise ApplicationError("passport_ceased", f"{passport.urn} has already ceased")
    passport.status = PassportStatus.WASTE
    passport.ceased_at = at
    passport.ceased_seq = basis_seq
    passport.save(update_fields=["status", "ceased_at", "ceased_seq"])
    latest = passport.versions.order_by("-number").first()
    document = latest.document if latest is not None else {}
    if document:
        general = dict(document.get("GeneralProductInformation") or {})
        general["batteryStatus"] = PassportStatus.WASTE
        document = {**document, "GeneralProductInformation": general}
    return _version_append(passport=passport, document=document, reason="ceased", basis_seq=basis_seq, ceased=True)


def _second_life_status(battery: TraceableObject) -> str:
    declared = (battery.attributes or {}).get(SECOND_LIFE_STATUS_FIELD)
    return declared if declared in SECOND_LIFE_STATUSES else PassportStatus.REPURPOSED


def _follow(record: EventRecord) -> int:
    """Apply one event's effects on passports; returns how many versions it issued."""
    issued = 0
    batteries = [obj for obj in record.involved.all() if obj.kind in BATTERY_KINDS]
    passports = {p.battery_id: p for p in Passport.objects.filter(battery__in=batteries).select_related("battery")}
    seq = record.entry_id
    for battery in sorted(batteries, key=lambda b: b.created_seq):
        passport = passports.get(battery.pk)
        if battery.created_seq == seq and passport is None:
            previous_identifier = (battery.attributes or {}).get("previousIdentity")
            previous = (
                Passport.objects.filter(battery__identifier=previous_identifier).first()
                if previous_identifier
                else None
            )
            status = _second_life_status(battery) if previous is not None else PassportStatus.ORIGINAL
            passport = passport_issue(battery=battery, basis_seq=seq, status=status, previous=previous)
            issued += passport.versions.count()
            continue
        if passport is None or passport.ceased:
            continue
        if battery.status == ObjectStatus.RECYCLED and battery.ended_seq == seq:
            passport_cease(passport=passport, at=battery.ended_at or timezone.now(), basis_seq=seq)
            issued += 1
        elif (battery.attributes or {}).get("route") == "recycling" and passport.status != PassportStatus.WASTE:
            # Graded for recycling: the battery is waste from now on.
            issued += passport_status_change(passport=passport, status=PassportStatus.WASTE, basis_seq=seq) is not None
        else:
            issued += passport_version_issue(passport=passport, reason="updated", basis_seq=seq) is not None
    return issued


def _battery_events() -> QuerySet[EventRecord]:
    return EventRecord.objects.filter(involved__kind__in=BATTERY_KINDS).distinct()


def battery_events_after(seq: int) -> bool:
    """Whether an event about a battery lies beyond ``seq`` (carbon may not have reached it yet)."""
    return _battery_events().filter(entry_id__gt=seq).exists()


@transaction.atomic
def passports_catch_up() -> CatchUpReport:
    """Follow the events after the cursor, up to where carbon has computed; safe to run twice."""
    cursor, _ = PassportCursor.objects.select_for_update().get_or_create(name=CURSOR)
    carbon_seq = LedgerCursor.objects.filter(name=CARBON_CURSOR).values_list("seq", flat=True).first() or 0
    records = list(
        _battery_events()
        .filter(entry_id__gt=cursor.seq, entry_id__lte=carbon_seq)
        .order_by("entry_id")
        .prefetch_related("involved")[:CATCH_UP_BATCH]
    )
    issued = 0
    for record in records:
        issued += _follow(record)
    # With a full batch, stop at its last event; otherwise everything up to carbon's cursor is done.
    cursor.seq = records[-1].entry_id if len(records) == CATCH_UP_BATCH else max(cursor.seq, carbon_seq)
    cursor.save(update_fields=["seq"])
    invalid = Passport.objects.exclude(problems=[]).count()
    return CatchUpReport(events=len(records), issued=issued, invalid=invalid, seq=cursor.seq)

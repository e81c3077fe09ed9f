"""UN Transparency Protocol (UNTP) 0.7.0 credentials, unsigned: what every one of them shares, and
the Digital Traceability Event of a ledger event.

The functions here return the credential as a dict, complete but for its proof: ``@context``,
``type``, ``id``, ``issuer``, ``validFrom``, ``name`` and ``credentialSubject``. The issuing service
adds ``credentialStatus`` (a ``BitstringStatusListEntry``) and secures it (VC-JOSE-COSE or Data
Integrity). Every figure a credential carries is read from the ledger's projections, the stored
carbon results or the passport documents; nothing is computed here that a page or the API does not
already show.

A lifecycle event becomes one of the three event types of UNTP 0.7.0 (``dte.json``):

- ``MakeEvent`` when the event makes new objects from others: dismantling (a vehicle into its
  battery and parts), battery recycling, black mass refining, scrap sorting, remelting,
  die-casting, repurposing (the old battery into the new identity); a foreign EPCIS
  ``TransformationEvent``, or an ``AggregationEvent`` / ``AssociationEvent`` that adds or removes
  children. Inputs carry the kg taken from each, outputs the kg made.
- ``MoveEvent`` when it moves objects from one facility to another: molten transfer (to the
  receiving site), custody transfer (to the receiving organisation, named as the facility when
  the event names no receiving site, with consignor and consignee as related parties).
- ``ModifyEvent`` otherwise: vehicle intake and material receipt (objects registered at the site),
  battery grading (with its sensor readings), recycled-content claims, foreign object events.

Each event's ``id`` is the EPCIS event's canonical hash (CBV 2.0, ``ni:///sha-256;...?ver=CBV2.0``,
as the EPCIS index stored it). Its ``relatedDocument`` links back to the EPCIS event resource and to
the ledger entry, the latter with the ``digestMultibase`` of the signed document's RFC 8785 bytes
(the entry's ``digest``): the link back the schema permits (``Link`` allows no other property).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

from traceability.choices import OPERATION_FIELD, SERIALISED_KINDS, ObjectKind, ObjectStatus, Operation
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, EventRecord, LedgerEntry, Organisation, Site, TraceableObject
from traceability.operations import epcis
from traceability.operations.effects import Effects, NewObject
from traceability.operations.registry import operation_for

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
UNTP_CONTEXT = "https://vocabulary.uncefact.org/untp/0.7.0/context/"
# W3C VC Data Model 2.0 (4.3): the VC context first; UNTP 0.7.0's schemas require theirs second.
CONTEXT = (VC_CONTEXT, UNTP_CONTEXT)
VERIFIABLE_CREDENTIAL = "VerifiableCredential"
DIGITAL_PRODUCT_PASSPORT = "DigitalProductPassport"
DIGITAL_TRACEABILITY_EVENT = "DigitalTraceabilityEvent"
DIGITAL_CONFORMITY_CREDENTIAL = "DigitalConformityCredential"

# UN/ECE Recommendation 20 unit codes, as UNTP's ``Measure.unit`` asks (and EPCIS ``uom`` uses).
KILOGRAM = epcis.KILOGRAM
PERCENT = "P1"

# Multihash header of a SHA-256 digest (code 0x12, 32 bytes) and the multibase prefix of base64url
# without padding: ``digestMultibase`` (VC Data Model 2.0 5.3, Data Integrity 1.0 resource integrity).
SHA2_256_MULTIHASH = bytes((0x12, 0x20))
MULTIBASE_BASE64URL = "u"

GS1_BIZSTEP_PREFIXES = ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:")
GS1_DISPOSITION_PREFIXES = ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:")
GS1_BIZSTEP_SCHEME = "https://ref.gs1.org/cbv/BizStep"
EPCIS_EVENT_TYPE_SCHEME = "https://ref.gs1.org/epcis/"
# The GS1 Web Vocabulary link type of EPCIS event data (as the passport resolver names it).
EPCIS_LINK_TYPE = "https://gs1.org/voc/epcis"

# An object's status after the event (``traceability.choices.ObjectStatus``) as UNTP's
# ``EventProduct.disposition``; statuses UNTP has no word for are left out.
STATUS_DISPOSITION = {
    ObjectStatus.ACTIVE: "active",
    ObjectStatus.CONSUMED: "consumed",
    ObjectStatus.RECYCLED: "recycled",
    ObjectStatus.DESTROYED: "disposed",
}
# CBV 2.0 dispositions with a UNTP equivalent (short names; the full URIs end with them).
CBV_DISPOSITION = {
    "active": "active",
    "in_progress": "active",
    "in_transit": "inTransit",
    "recalled": "recalled",
    "expired": "expired",
    "destroyed": "disposed",
    "disposed": "disposed",
}
NEW = "new"
# Compact sensor report types (EPCIS 2.0: GS1 Web Vocabulary measurement types, or Looptrace's own).
SENSOR_TYPE_NAMESPACES = {"gs1": "https://gs1.org/voc/", "lt": epcis.LOOPTRACE_NAMESPACE}
# EPCIS aggregation-like events whose ADD or DELETE makes new objects of others.
PARENT_CHILD_EVENTS = frozenset({"AggregationEvent", "AssociationEvent"})


# --- what every UNTP credential shares --------------------------------------------------------


def timestamp(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second, as VC 2.0's ``validFrom`` takes it."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def credential(
    *,
    kind: str,
    credential_id: str,
    issuer: Mapping[str, object],
    valid_from: datetime,
    name: str,
    subject: object,
) -> dict[str, object]:
    """The credential around ``subject``: every property the UNTP 0.7.0 schemas require but the proof
    (and ``credentialStatus``, the issuing service's)."""
    return {
        "@context": list(CONTEXT),
        "type": [kind, VERIFIABLE_CREDENTIAL],
        "id": credential_id,
        "issuer": {"type": ["CredentialIssuer"], **issuer},
        "validFrom": timestamp(valid_from),
        "name": name,
        "credentialSubject": subject,
    }


def digest_multibase(hex_sha256: str) -> str:
    """A hex SHA-256 digest as a multibase (base64url, no padding) multihash."""
    raw = SHA2_256_MULTIHASH + bytes.fromhex(hex_sha256)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def measure(value: float | Decimal | int, unit: str) -> dict[str, object]:
    return {"value": float(value), "unit": unit}


def link(
    url: str, name: str, *, media_type: str | None = None, link_type: str | None = None, digest: str | None = None
) -> dict[str, object]:
    """A UNTP ``Link``; ``digest`` is the hex SHA-256 of what it points to."""
    found: dict[str, object] = {"linkURL": url, "linkName": name}
    if media_type:
        found["mediaType"] = media_type
    if link_type:
        found["linkType"] = link_type
    if digest:
        found["digestMultibase"] = digest_multibase(digest)
    return found


def facility_of(site: Site) -> dict[str, object]:
    return {"type": ["Facility"], "id": epcis.site_uri(site), "name": site.name}


def party_of(organisation: Organisation) -> dict[str, object]:
    return {"type": ["Party"], "id": epcis.party_uri(organisation), "name": organisation.name}


def country(code: str) -> dict[str, object]:
    return {"countryCode": code}


# --- Digital Traceability Event ---------------------------------------------------------------


def _short(uri: object, prefixes: Iterable[str]) -> str:
    text = str(uri or "")
    for prefix in prefixes:
        if text.startswith(prefix):
            return text.removeprefix(prefix)
    return text


def _activity(document: Mapping[str, object]) -> dict[str, object]:
    """The CBV business step as a UNTP ``Classification``; the EPCIS event type without one."""
    step = _short(document.get("bizStep"), GS1_BIZSTEP_PREFIXES)
    if step:
        return {
            "code": step,
            "name": step.replace("_", " "),
            "schemeId": GS1_BIZSTEP_SCHEME,
            "schemeName": "GS1 Core Business Vocabulary: business steps",
        }
    kind = str(document.get("type"))
    return {"code": kind, "name": kind, "schemeId": EPCIS_EVENT_TYPE_SCHEME, "schemeName": "GS1 EPCIS 2.0 event types"}


def _disposition(document: Mapping[str, object]) -> str | None:
    return CBV_DISPOSITION.get(_short(document.get("disposition"), GS1_DISPOSITION_PREFIXES))


class _Products:
    """The objects an event names, as UNTP ``EventProduct`` entries (read once per event)."""

    def __init__(self, identifiers: Iterable[str], record: EventRecord | None) -> None:
        self.objects = TraceableObject.objects.in_bulk(list(dict.fromkeys(identifiers)), field_name="identifier")
        self.consumed = {str(k): Decimal(str(v)) for k, v in (record.consumed if record else {}).items()}

    def product(self, identifier: str, *, lot: bool) -> dict[str, object]:
        obj = self.objects.get(identifier)
        if obj is None:
            return {
                "type": ["Product"],
                "id": identifier,
                "name": identifier,
                "idGranularity": "batch" if lot else "item",
            }
        serialised = obj.kind in SERIALISED_KINDS
        return {
            "type": ["Product"],
            "id": identifier,
            "name": f"{obj.get_kind_display()} {obj.label}",
            "idGranularity": "item" if serialised else "batch",
            "itemNumber" if serialised else "batchNumber": obj.label,
        }

    def entry(
        self, identifier: str, *, kg: Decimal | None = None, lot: bool = False, disposition: str | None = None
    ) -> dict[str, object]:
        found: dict[str, object] = {"product": self.product(identifier, lot=lot or kg is not None)}
        if kg is None and identifier in self.objects:
            kg = self.consumed.get(str(self.objects[identifier].pk))
        if kg is not None:
            found["quantity"] = measure(kg, KILOGRAM)
        if disposition:
            found["disposition"] = disposition
        return found


def _location(document: Mapping[str, object]) -> str | None:
    for field in ("bizLocation", "readPoint"):
        place = document.get(field)
        if isinstance(place, dict) and place.get("id"):
            return str(place["id"])
    return None


def _facility(uri: str | None) -> dict[str, object]:
    if not uri:
        raise ApplicationError("untp_facility_unknown", "the event names no location (bizLocation or readPoint)")
    try:
        site = Site.objects.filter(pk=epcis.site_id_of(uri)).first()
    except ApplicationError:
        site = None
    if site is not None:
        return facility_of(site)
    return {"type": ["Facility"], "id": uri, "name": uri}


def _site_facility(site_id: int | None, document: Mapping[str, object]) -> dict[str, object]:
    site = Site.objects.filter(pk=site_id).first() if site_id is not None else None
    return facility_of(site) if site is not None else _facility(_location(document))


def _sensor_data(document: Mapping[str, object]) -> list[dict[str, object]]:
    """EPCIS sensor reports with a value and a unit, each as UNTP ``SensorData``."""
    found = []
    for element in document.get("sensorElementList") or []:  # type: ignore[attr-defined]
        if not isinstance(element, dict):
            continue
        for report in element.get("sensorReport") or []:
            if (
                not isinstance(report, dict)
                or not isinstance(report.get("value"), int | float)
                or not report.get("uom")
            ):
                continue
            kind = str(report.get("type", ""))
            prefix, _, name = kind.rpartition(":")
            namespace = SENSOR_TYPE_NAMESPACES.get(prefix)
            if namespace is None:
                if not kind.startswith(("https://", "http://")):
                    continue
                name = kind.rsplit("/", 1)[-1]
            found.append(
                {
                    "metric": {
                        "type": ["PerformanceMetric"],
                        "id": f"{namespace}{name}" if namespace else kind,
                        "name": name,
                    },
                    "measure": [measure(report["value"], str(report["uom"]))],
                }
            )
    return found


def _quantities(document: Mapping[str, object], field: str) -> list[tuple[str, Decimal, str]]:
    """(identifier, quantity, unit) of a quantity list as written (a count has no ``uom``: C62, one)."""
    found = []
    for item in document.get(field) or []:  # type: ignore[attr-defined]
        if isinstance(item, dict) and "epcClass" in item and isinstance(item.get("quantity"), int | float):
            found.append((str(item["epcClass"]), Decimal(str(item["quantity"])), str(item.get("uom") or "C62")))
    return found


def _identifiers(document: Mapping[str, object], *fields: str) -> list[str]:
    found: list[str] = []
    for field in fields:
        value = document.get(field)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found += [str(v) for v in value if isinstance(v, str)]
    return found


def _made(o: NewObject, disposition: str | None) -> dict[str, object]:
    serialised = o.kind in SERIALISED_KINDS
    found: dict[str, object] = {
        "product": {
            "type": ["Product"],
            "id": o.identifier,
            "name": f"{ObjectKind(o.kind).label} {o.label}",
            "idGranularity": "item" if serialised else "batch",
            "itemNumber" if serialised else "batchNumber": o.label,
        },
        "quantity": measure(o.kg, KILOGRAM),
    }
    if disposition:
        found["disposition"] = disposition
    return found


def _from_effects(
    effects: Effects, document: Mapping[str, object], entry: LedgerEntry, record: EventRecord | None
) -> dict[str, object]:
    """A Looptrace operation's event, read through the operation's own parser (its ``Effects``)."""
    lots = {identifier: kg for identifier, kg, _ in _quantities(document, "quantityList")}
    products = _Products(effects.touched, record)
    here = _site_facility(effects.site_id, document)
    if effects.outputs and effects.inputs:
        ended = STATUS_DISPOSITION.get(ObjectStatus(effects.input_end_status or ObjectStatus.CONSUMED))
        return {
            "type": ["MakeEvent", "LifecycleEvent"],
            "inputProduct": [
                products.entry(c.identifier, kg=c.kg, disposition=ended if c.kg is None else None)
                for c in effects.inputs
            ],
            "outputProduct": [_made(o, NEW) for o in effects.outputs],
            "madeAtFacility": here,
        }
    if effects.moved:
        moved = [products.entry(i, kg=lots.get(i), disposition=_disposition(document)) for i in effects.moved]
        event: dict[str, object] = {
            "type": ["MoveEvent", "LifecycleEvent"],
            "movedProduct": moved,
            "fromFacility": here,
        }
        destination = (
            Site.objects.filter(pk=effects.destination_site_id).first() if effects.destination_site_id else None
        )
        if destination is not None:
            event["toFacility"] = facility_of(destination)
            return event
        receiver = Organisation.objects.filter(slug=effects.new_custodian).first() if effects.new_custodian else None
        if receiver is None:
            raise ApplicationError("untp_facility_unknown", "the move names neither a receiving site nor a receiver")
        # The event names the receiving organisation, not its site: the organisation stands for it.
        receiving = party_of(receiver)
        event["toFacility"] = {"type": ["Facility"], "id": receiving["id"], "name": receiving["name"]}
        event["relatedParty"] = [
            {"role": "consignor", "party": party_of(entry.organisation)},
            {"role": "consignee", "party": receiving},
        ]
        return event
    # Objects registered at the site (intake, receipt: where they came from is not recorded), observed
    # (grading) or claimed (a recycled-content claim): each stays what it was.
    state = _disposition(document)
    return {
        "type": ["ModifyEvent", "LifecycleEvent"],
        "modifiedProduct": [_made(o, state) for o in effects.outputs]
        + [products.entry(i, kg=lots.get(i), disposition=state) for i in effects.touched],
        "modifiedAtFacility": here,
    }


def _from_structure(document: Mapping[str, object]) -> dict[str, object]:
    """A foreign EPCIS event (no Looptrace operation): its type, action and lists decide."""
    kind, action = document.get("type"), document.get("action")
    here = _facility(_location(document))
    inputs: list[tuple[str, Decimal | None, str | None]] = []
    outputs: list[tuple[str, Decimal | None, str | None]] = []
    if kind == "TransformationEvent":
        inputs = [(i, None, None) for i in _identifiers(document, "inputEPCList")]
        inputs += [(i, q, u) for i, q, u in _quantities(document, "inputQuantityList")]
        outputs = [(i, None, None) for i in _identifiers(document, "outputEPCList")]
        outputs += [(i, q, u) for i, q, u in _quantities(document, "outputQuantityList")]
    elif kind in PARENT_CHILD_EVENTS and action in ("ADD", "DELETE"):
        parent = [(i, None, None) for i in _identifiers(document, "parentID")]
        children = [(i, None, None) for i in _identifiers(document, "childEPCs")]
        children += [(i, q, u) for i, q, u in _quantities(document, "childQuantityList")]
        inputs, outputs = (children, parent) if action == "ADD" else (parent, children)
    products = _Products([i for i, _, _ in inputs + outputs], None)

    def entry_of(identifier: str, amount: Decimal | None, unit: str | None) -> dict[str, object]:
        found: dict[str, object] = {"product": products.product(identifier, lot=amount is not None)}
        if amount is not None and unit:
            found["quantity"] = measure(amount, unit)
        return found

    if inputs or outputs:
        return {
            "type": ["MakeEvent", "LifecycleEvent"],
            "inputProduct": [entry_of(*i) for i in inputs],
            "outputProduct": [entry_of(*o) for o in outputs],
            "madeAtFacility": here,
        }
    named = [(i, None, None) for i in _identifiers(document, "epcList", "parentID", "childEPCs")]
    named += [(i, q, u) for field in ("quantityList", "childQuantityList") for i, q, u in _quantities(document, field)]
    products = _Products([i for i, _, _ in named], None)
    return {
        "type": ["ModifyEvent", "LifecycleEvent"],
        "modifiedProduct": [entry_of(*n) for n in named],
        "modifiedAtFacility": here,
    }


def lifecycle_event(*, entry: LedgerEntry, root: str) -> dict[str, object]:
    """The UNTP 0.7.0 ``LifecycleEvent`` (make, move or modify) of one ledger event; ``root`` is the
    platform's scheme and host, for the links back to the EPCIS event and the ledger entry."""
    indexed = EpcisEvent.objects.filter(entry_id=entry.seq).first()
    if indexed is None or indexed.error_declaration:
        raise ApplicationError("untp_not_an_event", f"ledger entry {entry.seq} is not an indexed EPCIS event")
    document = json.loads(entry.document)
    record = EventRecord.objects.filter(entry_id=entry.seq).first()
    operation = document.get(OPERATION_FIELD)
    if operation is not None:
        event = _from_effects(operation_for(document).parse(document), document, entry, record)
        name = Operation(operation).label
    else:
        event = _from_structure(document)
        name = f"{indexed.event_type} ({_activity(document)['name']})"
    sensors = _sensor_data(document)
    return {
        "type": event.pop("type"),
        "id": indexed.event_hash,
        "name": name,
        "description": f"Ledger entry {entry.seq}, recorded by {entry.organisation.name}",
        "eventDate": epcis.event_time_text(indexed.event_time),
        **({"sensorData": sensors} if sensors else {}),
        "relatedDocument": [
            link(
                f"{root}/epcis/events/{quote(indexed.event_id, safe='')}",
                "The EPCIS 2.0 event",
                media_type="application/ld+json",
                link_type=EPCIS_LINK_TYPE,
            ),
            link(
                f"{root}/api/v1/ledger/entries/{entry.seq}",
                f"Ledger entry {entry.seq}: the signed event (digest of its RFC 8785 bytes)",
                media_type="application/json",
                digest=entry.digest,
            ),
        ],
        "activityType": _activity(document),
        **event,
    }


def traceability_event_credential(
    *, entry: LedgerEntry, issuer: Mapping[str, object], credential_id: str, valid_from: datetime, root: str
) -> dict[str, object]:
    """The UNTP 0.7.0 Digital Traceability Event of one ledger event, unsigned (see the module's doc)."""
    event = lifecycle_event(entry=entry, root=root)
    return credential(
        kind=DIGITAL_TRACEABILITY_EVENT,
        credential_id=credential_id,
        issuer=issuer,
        valid_from=valid_from,
        name=f"{event['name']}, ledger entry {entry.seq}",
        subject=[event],
    )

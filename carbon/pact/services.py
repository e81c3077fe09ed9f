"""Writes of the PACT exchange: access tokens, issued footprints, partners, received events and
their answers, and supplier footprints pulled from a partner's PACT host.

Footprints are issued lazily: every read (``/2/`` and ``/3/`` lists, gets, request answers)
first calls ``footprints_issue`` for the objects it may show, which compares each changed
carbon result with the object's newest issued footprint and issues a new version when what
the footprint states has changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from carbon import followers
from carbon import services as carbon_services
from carbon.models import (
    EmissionFactor,
    FootprintResult,
    PactAccessToken,
    PactCheck,
    PactEvent,
    PactPartner,
    PactPublication,
    PactSubscription,
    ProductFootprint,
)
from carbon.pact import schemas, sealing, selectors
from carbon.pact.client import PactClient
from carbon.pact.documents import iso
from carbon.pact.errors import OAuthError, PactError
from traceability import visibility
from traceability.choices import BATTERY_KINDS, SERIALISED_KINDS, ObjectKind
from traceability.errors import ApplicationError
from traceability.models import ApiCredential, Organisation, TraceableObject
from traceability.services import hash_api_secret

TOKEN_LIFETIME = timedelta(hours=1)
# Results read per query while issuing footprints: bounds memory on a large graph.
ISSUE_BATCH = 500
# Footprints sent in one RequestFulfilled event.
MAX_FULFILLED = 100
# Footprint ids named in one PublishedEvent (more make several events).
MAX_PUBLISHED = 100
# The footprint PACT publishes: cut-off (recycled content approach), physical chain of custody.
PCF_METHOD, PCF_CHAIN = "cut_off", "physical"
PIECE_KINDS = frozenset({ObjectKind.PART}) | BATTERY_KINDS
LOT_KINDS = frozenset(ObjectKind) - SERIALISED_KINDS
PACT_KINDS = PIECE_KINDS | LOT_KINDS
# Lots that enter the loop from outside and may carry a supplier's own footprint.
EXTERNAL_INPUT_KINDS = frozenset({ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING})
SUPPLIER_FOOTPRINT = "supplier_footprint"
FOOTPRINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:looptrace:pact:product-footprint")
VALIDITY_YEARS = 3

EVENT_TYPES = {
    "3": {
        "created": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "fulfilled": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
        "rejected": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
        "published": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
    },
    "2": {
        "created": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
        "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
        "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
        "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    },
}
EVENT_SCHEMAS = {
    "3": {
        "created": "RequestCreatedEvent",
        "fulfilled": "RequestFulfilledEvent",
        "rejected": "RequestRejectedEvent",
        "published": "PublishedEvent",
    },
    # 2.3 describes only the two events a host receives from recipients in its OpenAPI document.
    "2": {"created": "PathfinderEvent", "published": "PathfinderEvent"},
}


# --- access tokens (OAuth 2 client credentials) -------------------------------------------


def hash_token(token: str) -> str:
    # A 256-bit random token: SHA-256 suffices, as for API secrets.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def access_token_issue(*, client_id: str, client_secret: str) -> tuple[str, int]:
    """A bearer token for an organisation's API credential; returns the token and its lifetime in seconds."""
    credential = ApiCredential.objects.filter(client_id=client_id, revoked_at__isnull=True).first()
    expected = credential.secret_hash if credential else hash_api_secret("")
    if not hmac.compare_digest(expected, hash_api_secret(client_secret)) or credential is None:
        raise OAuthError("invalid_client", "unknown client or wrong secret", status=401)
    now = timezone.now()
    PactAccessToken.objects.filter(credential=credential, expires_at__lte=now).delete()
    token = secrets.token_urlsafe(32)
    PactAccessToken.objects.create(credential=credential, token_hash=hash_token(token), expires_at=now + TOKEN_LIFETIME)
    return token, int(TOKEN_LIFETIME.total_seconds())


# --- issued footprints ---------------------------------------------------------------------


def decimal_string(value: float | Decimal) -> str:
    """A PACT decimal: plain digits, no exponent."""
    text = f"{Decimal(str(value)):.9f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def product_ids_of(node: TraceableObject) -> list[str]:
    identifier = node.identifier
    if identifier.lower().startswith("urn:"):
        return [identifier]
    # GS1 Digital Link and other URIs become URNs, as PACT requires.
    return [f"urn:looptrace:id:{uuid.uuid5(uuid.NAMESPACE_URL, identifier)}"]


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def content_of(node: TraceableObject, result: FootprintResult) -> dict[str, Any]:
    """What the footprint of ``node`` states: lots per kilogram, parts and batteries per piece.

    The reference period is the day the object was produced (the event that created it); the
    validity period is the three years after it, PACT's default.
    """
    piece = node.kind in PIECE_KINDS
    mass = Decimal(node.initial_kg)
    per_kg = Decimal(str(result.total_per_kg))
    produced = node.created_at.astimezone(UTC)
    start = produced.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    owner = node.created_by
    country = node.site.country.upper() if node.site_id and node.site and node.site.country else ""
    factor_sources = []
    for reference in sorted(result.factors):
        name, _, version = reference.rpartition(":v")
        factor_sources.append({"name": f"Looptrace factor registry {name}", "version": f"v{version}"})
    return {
        "method": PCF_METHOD,
        "chain": PCF_CHAIN,
        "productIds": product_ids_of(node),
        "productNameCompany": node.label or node.identifier,
        "productDescription": f"{node.get_kind_display()} {node.label} ({node.identifier}), {mass} kg",
        "classifications": [f"urn:looptrace:kind:{node.kind}"],
        "cpc": str((node.attributes or {}).get("cpc") or "unclassified"),
        "companyName": owner.name,
        "companyIds": [f"urn:looptrace:organisation:{owner.slug}"],
        "country": country,
        "declaredUnit": "piece" if piece else "kilogram",
        "massKg": decimal_string(mass),
        "pcfPerKg": decimal_string(per_kg),
        "pcfPerDeclaredUnit": decimal_string(per_kg * mass if piece else per_kg),
        "stagesPerKg": {stage: decimal_string(value) for stage, value in sorted(result.per_kg.items())},
        "primaryDataSharePercent": decimal_string(round(Decimal(str(result.primary_data_share)) * 100, 6)),
        "recycledContent": {
            "standard": "ISO 14021",
            "preConsumerShare": decimal_string(result.pre_consumer_share),
            "postConsumerShare": decimal_string(result.post_consumer_share),
            "postConsumerShareByMake": {
                make: decimal_string(share) for make, share in sorted(result.post_consumer_by_make.items())
            },
            "pending": result.pending_recycled,
        },
        "factorSources": factor_sources,
        "referencePeriodStart": iso(start),
        "referencePeriodEnd": iso(end),
        "validityPeriodStart": iso(end),
        "validityPeriodEnd": iso(_years_later(end, VALIDITY_YEARS)),
    }


def fingerprint_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def footprints_issue(*, nodes: QuerySet[TraceableObject] | None = None) -> int:
    """Issue a new footprint version for every object whose carbon result says something new.

    Returns how many were issued. Safe to run concurrently: a version issued twice violates
    the (object, version) uniqueness and the loser skips it.
    """
    checked = PactCheck.objects.filter(identifier=OuterRef("node__identifier")).values("result_computed_at")[:1]
    results = FootprintResult.objects.filter(method=PCF_METHOD, chain=PCF_CHAIN, node__kind__in=PACT_KINDS)
    if nodes is not None:
        results = results.filter(node__in=nodes.values("pk"))
    results = (
        results.annotate(checked_at=Subquery(checked))
        .filter(Q(checked_at__isnull=True) | Q(computed_at__gt=F("checked_at")))
        .select_related("node__created_by", "node__site")
        .order_by("pk")
    )
    issued = 0
    for result in results.iterator(chunk_size=ISSUE_BATCH):
        try:
            issued += _issue(result)
        except IntegrityError:
            continue
    return issued


@transaction.atomic
def _issue(result: FootprintResult) -> int:
    node = result.node
    content = content_of(node, result)
    fingerprint = fingerprint_of(content)
    current = ProductFootprint.objects.filter(node_id=node.identifier).order_by("-version").first()
    issued = 0
    if current is None or current.fingerprint != fingerprint:
        version = current.version + 1 if current else 1
        ProductFootprint.objects.create(
            id=uuid.uuid5(FOOTPRINT_NAMESPACE, f"{node.identifier}#{version}"),
            node_id=node.identifier,
            version=version,
            supersedes=current,
            preceding_ids=[*current.preceding_ids, str(current.pk)] if current else [],
            content=content,
            fingerprint=fingerprint,
            created=timezone.now(),
            result_computed_at=result.computed_at,
            product_keys=selectors.keys(content["productIds"]),
            company_keys=selectors.keys(content["companyIds"]),
            classification_keys=selectors.keys(content["classifications"]),
            geography_keys=selectors.keys([content["country"]]) if content["country"] else "",
            validity_start=datetime.fromisoformat(content["validityPeriodStart"]),
            validity_end=datetime.fromisoformat(content["validityPeriodEnd"]),
        )
        issued = 1
    PactCheck.objects.update_or_create(identifier=node.identifier, defaults={"result_computed_at": result.computed_at})
    return issued


# --- partners and events -------------------------------------------------------------------


CLIENT_ID_MAX = 200  # PactPartner.client_id's column


@transaction.atomic
def partner_register(*, organisation: Organisation, base_url: str, client_id: str, client_secret: str) -> PactPartner:
    """Where and how the platform sends events to an organisation's own PACT host (one per
    organisation: registering again replaces it). The secret is stored sealed, never in clear."""
    base_url = base_url.strip()
    try:
        URLValidator(schemes=["https", "http"])(base_url)
    except ValidationError as exc:
        raise ApplicationError("pact_partner_url_invalid", f"{base_url!r} is not an http(s) URL") from exc
    if "?" in base_url or "#" in base_url:
        raise ApplicationError("pact_partner_url_invalid", "the PACT host's URL takes no query or fragment")
    if not client_id.strip() or len(client_id.strip()) > CLIENT_ID_MAX:
        raise ApplicationError("pact_partner_client_id_invalid", "the client id must be 1 to 200 characters")
    if not client_secret or "\x00" in client_id + client_secret:
        raise ApplicationError("pact_partner_secret_invalid", "the client secret must be given (and hold no NUL)")
    partner, _ = PactPartner.objects.update_or_create(
        organisation=organisation,
        defaults={
            "base_url": base_url.rstrip("/"),
            "client_id": client_id.strip(),
            "secret_sealed": sealing.seal(client_secret, client_id=client_id.strip()),
        },
    )
    return partner


@transaction.atomic
def partner_remove(*, organisation: Organisation) -> None:
    """Forget an organisation's PACT host: its footprint requests are refused again at once."""
    deleted, _ = PactPartner.objects.filter(organisation=organisation).delete()
    if not deleted:
        raise ApplicationError(
            "pact_partner_not_found", f"no PACT host is registered for {organisation.slug}", status=404
        )


def _kind_of(spec: str, event_type: object) -> str:
    for kind, name in EVENT_TYPES[spec].items():
        if event_type == name:
            return kind
    known = ", ".join(sorted(EVENT_TYPES[spec].values()))
    raise PactError("BadRequest", f"unknown event type {event_type!r}; expected one of {known}")


def _as_list(value: object, name: str) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise PactError("BadRequest", f"{name} must be a string or a list of strings")
    return values


def criteria_of(spec: str, data: dict[str, Any]) -> selectors.Criteria:
    """The filter criteria of a footprint request event."""
    if spec == "3":
        return selectors.criteria_from({name: _as_list(data.get(name), name) for name in selectors.FILTERS})
    wanted = data.get("pf")
    if not isinstance(wanted, dict):
        raise PactError("BadRequest", "data.pf must be an object: the footprint properties to match")
    pcf = wanted.get("pcf") if isinstance(wanted.get("pcf"), dict) else {}
    geography = [
        *_as_list(pcf.get("geographyCountry"), "geographyCountry"),
        *_as_list(pcf.get("geographyRegionOrSubregion"), "geographyRegionOrSubregion"),
        *_as_list(pcf.get("geographyCountrySubdivision"), "geographyCountrySubdivision"),
    ]
    return selectors.criteria_from(
        {
            "productId": _as_list(wanted.get("productIds"), "productIds"),
            "companyId": _as_list(wanted.get("companyIds"), "companyIds"),
            "classification": _as_list(wanted.get("productClassifications"), "productClassifications"),
            "geography": geography,
        }
    )


def _check_answer_event(spec: str, kind: str, data: dict[str, Any]) -> None:
    """2.3's OpenAPI document leaves out the answers a recipient receives: check their shape here."""
    if not isinstance(data.get("requestEventId"), str):
        raise PactError("BadRequest", "data.requestEventId must be a string")
    if kind == "fulfilled" and not (isinstance(data.get("pfs"), list) and data["pfs"]):
        raise PactError("BadRequest", "data.pfs must be a non-empty list of footprints")
    if kind == "rejected" and not isinstance(data.get("error"), dict):
        raise PactError("BadRequest", "data.error must be an object with code and message")


@transaction.atomic
def event_receive(*, spec: str, organisation: Organisation, body: object, reply_source: str) -> PactEvent:
    """Accept a CloudEvent (structured mode); a footprint request is answered later by a task.

    The same event (source and id) received twice is stored and answered once.
    """
    if not isinstance(body, dict):
        raise PactError("BadRequest", "the event must be a JSON object (CloudEvents structured mode)")
    if "\\u0000" in json.dumps(body):
        raise PactError("BadRequest", "the event must not contain NUL characters")
    kind = _kind_of(spec, body.get("type"))
    schema = EVENT_SCHEMAS[spec].get(kind)
    problems = schemas.errors(spec, schema, body) if schema else []
    for required in ("specversion", "id", "source", "time", "data"):
        if required not in body:
            problems.append(f"{required}: required")
    if problems:
        raise PactError("BadRequest", "invalid event: " + "; ".join(problems[:5]))
    if body["specversion"] != "1.0":
        raise PactError("BadRequest", f"specversion must be 1.0 (CloudEvents), not {body['specversion']!r}")
    for name in ("id", "source"):
        if not isinstance(body[name], str) or not body[name].strip():
            raise PactError("BadRequest", f"{name} must be a non-empty string")
    if not isinstance(body["time"], str):
        raise PactError("BadRequest", "time must be an RFC 3339 date-time")
    selectors.parse_moment(body["time"], name="time")
    data = body["data"]
    if not isinstance(data, dict):
        raise PactError("BadRequest", "data must be an object")
    if kind == "created":
        criteria_of(spec, data)
        if not PactPartner.objects.filter(organisation=organisation).exists():
            raise PactError(
                "BadRequest",
                "no PACT host is registered for your organisation, so the answer could not be delivered; "
                "ask the platform operator to register one",
            )
    elif spec == "2" and kind in {"fulfilled", "rejected"}:
        _check_answer_event(spec, kind, data)
    existing = PactEvent.objects.filter(organisation=organisation, source=body["source"], event_id=body["id"]).first()
    if existing is not None:
        return existing
    event = PactEvent.objects.create(
        organisation=organisation,
        spec=spec,
        event_id=body["id"],
        source=body["source"],
        type=body["type"],
        body=body,
        reply_source=reply_source,
        answer=PactEvent.Answer.PENDING if kind == "created" else PactEvent.Answer.NONE,
    )
    if kind == "created":
        followers.after_commit("PACT_REQUEST_FOLLOWERS", event.pk, robust=False)
    return event


def _answer_of(event: PactEvent) -> dict[str, Any]:
    """The Fulfilled event with the matching active footprints, or Rejected when none matches."""
    organisation = event.organisation
    criteria = criteria_of(event.spec, event.body["data"])
    footprints_issue(nodes=visibility.objects_visible_to(organisation=organisation))
    matches = selectors.footprints_matching(selectors.footprints_visible_to(organisation=organisation), criteria)
    if not criteria.statuses:
        matches = matches.filter(deprecated=False)
    found = list(matches[:MAX_FULFILLED])
    answer: dict[str, Any] = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": event.reply_source}
    answer["time"] = iso(timezone.now().replace(microsecond=0))
    if found:
        answer["type"] = EVENT_TYPES[event.spec]["fulfilled"]
        answer["data"] = {
            "requestEventId": event.event_id,
            "pfs": [selectors.footprint_document(footprint=f, spec=event.spec) for f in found],
        }
    else:
        error = PactError("NotFound", "No footprint you may read matches the request.", status=404)
        answer["type"] = EVENT_TYPES[event.spec]["rejected"]
        answer["data"] = {"requestEventId": event.event_id, "error": error.body(event.spec)}
    return answer


def _send_to_host(*, organisation_id: int, spec: str, body: dict) -> tuple[bool, str]:
    """Post one event to the organisation's registered PACT host: whether it was delivered, and why not."""
    partner = PactPartner.objects.filter(organisation_id=organisation_id).first()
    if partner is None:
        return False, "no PACT host registered for the organisation"
    client = PactClient(
        base_url=partner.base_url,
        client_id=partner.client_id,
        client_secret=sealing.unseal(partner.secret_sealed, client_id=partner.client_id),
    )
    try:
        client.send_event(spec=spec, event=body)
    except ApplicationError as exc:
        return False, exc.message
    return True, ""


def request_answer(*, event_pk: int) -> PactEvent:
    """Decide the answer to a footprint request once, then (re)try to deliver it to the requester's host."""
    with transaction.atomic():
        event = PactEvent.objects.select_for_update().select_related("organisation").get(pk=event_pk)
        if event.answer in {PactEvent.Answer.FULFILLED, PactEvent.Answer.REJECTED, PactEvent.Answer.NONE}:
            return event
        if event.answer_body is None:
            event.answer_body = _answer_of(event)
            event.save(update_fields=["answer_body"])
    delivered, error = _send_to_host(organisation_id=event.organisation_id, spec=event.spec, body=event.answer_body)
    fulfilled = event.answer_body["type"] == EVENT_TYPES[event.spec]["fulfilled"]
    event.attempts += 1
    event.delivery_error = error
    if delivered:
        event.answer = PactEvent.Answer.FULFILLED if fulfilled else PactEvent.Answer.REJECTED
        event.answered_at = timezone.now()
    else:
        event.answer = PactEvent.Answer.UNDELIVERED
    with transaction.atomic():
        event.save(update_fields=["attempts", "delivery_error", "answer", "answered_at"])
        if delivered and fulfilled:
            sent = ProductFootprint.objects.filter(pk__in=[pf["id"] for pf in event.answer_body["data"]["pfs"]])
            subscriptions_record(
                organisation=event.organisation, footprints=list(sent), spec=event.spec, source=event.reply_source
            )
    return event


# --- outbound: PublishedEvents to the partners that follow a footprint ------------------------


def subscriptions_record(
    *, organisation: Organisation, footprints: list[ProductFootprint], spec: str, source: str
) -> None:
    """``organisation`` has been sent these footprints (over ``spec``, reaching us at ``source``): it
    follows their objects from now on, and is told of every version newer than the newest it was sent."""
    if not footprints:
        return
    newest: dict[str, ProductFootprint] = {}
    for footprint in footprints:
        if footprint.node_id not in newest or footprint.version > newest[footprint.node_id].version:
            newest[footprint.node_id] = footprint
    with transaction.atomic():
        known = {
            s.node_identifier: s
            for s in PactSubscription.objects.select_for_update().filter(
                organisation=organisation, node_identifier__in=list(newest)
            )
        }
        fresh = []
        for node, footprint in newest.items():
            subscription = known.get(node)
            if subscription is None:
                fresh.append(
                    PactSubscription(
                        organisation=organisation,
                        node_identifier=node,
                        spec=spec,
                        source=source,
                        pf_id=footprint.pk,
                        version=footprint.version,
                    )
                )
                continue
            newer = footprint.version > subscription.version
            if newer or (subscription.spec, subscription.source) != (spec, source):
                subscription.spec, subscription.source = spec, source
                if newer:
                    subscription.pf_id, subscription.version = footprint.pk, footprint.version
                subscription.save(update_fields=["spec", "source", "pf_id", "version"])
        # A concurrent read may have just subscribed it too: either row says the same.
        PactSubscription.objects.bulk_create(fresh, ignore_conflicts=True)


@transaction.atomic
def footprints_publish() -> int:
    """Issue new versions of the footprints partners follow whose carbon results changed, and queue
    one PublishedEvent per partner host naming every version newer than what it was sent or told.

    Runs after a recomputation commits (``settings.FOOTPRINT_FOLLOWERS``); also finds versions a
    read issued meanwhile (issuing is lazy), since it compares with what each partner was told.
    Only organisations that registered a PACT host (``PactPartner``) are told; the others keep their
    subscription and are told once they register. Returns how many events were queued.
    """
    followed = PactSubscription.objects.values("node_identifier")
    footprints_issue(nodes=TraceableObject.objects.filter(identifier__in=followed))
    newest = ProductFootprint.objects.filter(node_id=OuterRef("node_identifier")).order_by("-version")
    behind = (
        PactSubscription.objects.select_for_update(of=("self",))
        .filter(organisation__pact_partner__isnull=False)
        .annotate(newest_version=Subquery(newest.values("version")[:1]), newest_id=Subquery(newest.values("pk")[:1]))
        .filter(newest_version__gt=F("version"))
        .order_by("organisation_id", "node_identifier")
    )
    told: dict[tuple[int, str, str], list[str]] = {}
    for subscription in behind:
        told.setdefault((subscription.organisation_id, subscription.spec, subscription.source), []).append(
            str(subscription.newest_id)
        )
        subscription.pf_id, subscription.version = subscription.newest_id, subscription.newest_version
        subscription.save(update_fields=["pf_id", "version"])
    for (organisation_id, spec, source), pf_ids in told.items():
        for start in range(0, len(pf_ids), MAX_PUBLISHED):
            publication = PactPublication.objects.create(
                organisation_id=organisation_id,
                spec=spec,
                body={
                    "type": EVENT_TYPES[spec]["published"],
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": source,
                    "time": iso(timezone.now().replace(microsecond=0)),
                    "data": {"pfIds": pf_ids[start : start + MAX_PUBLISHED]},
                },
            )
            followers.after_commit("PACT_PUBLICATION_FOLLOWERS", publication.pk, robust=True)
    return len(told)


def publication_deliver(*, publication_pk: int) -> PactPublication:
    """(Re)try to deliver a PublishedEvent to its organisation's PACT host; the outcome is kept."""
    with transaction.atomic():
        publication = PactPublication.objects.select_for_update().get(pk=publication_pk)
        if publication.state == PactPublication.State.DELIVERED:
            return publication
    delivered, error = _send_to_host(
        organisation_id=publication.organisation_id, spec=publication.spec, body=publication.body
    )
    publication.attempts += 1
    publication.delivery_error = error
    if delivered:
        publication.state = PactPublication.State.DELIVERED
        publication.delivered_at = timezone.now()
    else:
        publication.state = PactPublication.State.UNDELIVERED
    publication.save(update_fields=["attempts", "delivery_error", "state", "delivered_at"])
    return publication


# --- inbound: a supplier's footprint pulled over PACT ----------------------------------------


def _decimal(value: object, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError("pact_footprint_invalid", f"{name} is not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise ApplicationError("pact_footprint_invalid", f"{name} is not a finite decimal: {value!r}")
    return number


def per_kg_of(*, spec: str, document: dict[str, Any]) -> tuple[Decimal, str]:
    """kg CO2e per kg of product from a footprint, and how it was read (for the factor's source).

    The figure excluding biogenic uptake is used: a metal carries no biogenic carbon, and an
    uptake credit must not lower an input's burden.
    """
    pcf = document["pcf"]
    if spec == "2":
        unit, amount = pcf["declaredUnit"], Decimal(1)
        value = _decimal(pcf["pCfExcludingBiogenic"], "pCfExcludingBiogenic")
        mass = Decimal(1) if unit == "kilogram" else Decimal(0)
    else:
        unit = pcf["declaredUnitOfMeasurement"]
        amount = _decimal(pcf["declaredUnitAmount"], "declaredUnitAmount")
        value = _decimal(pcf["pcfExcludingBiogenicUptake"], "pcfExcludingBiogenicUptake")
        mass = amount if unit == "kilogram" else _decimal(pcf.get("productMassPerDeclaredUnit", 0), "productMass")
    if mass <= 0:
        raise ApplicationError(
            "pact_unit_unsupported", f"a footprint per {amount} {unit} without a product mass cannot be read per kg"
        )
    return value / mass, f"{value} kg CO2e per {amount} {unit}"


def footprint_pull(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    lot: TraceableObject,
    product_ids: list[str] | None = None,
    footprint_id: str | None = None,
    spec: str = "3",
) -> EmissionFactor:
    """Fetch a partner's active footprint over PACT and bind it to an external input lot as its
    ``supplier_footprint`` (kg CO2e per kg), citing the partner's footprint id and version.

    Pulling the footprint the lot already carries changes nothing.
    """
    if lot.kind not in EXTERNAL_INPUT_KINDS:
        raise ApplicationError(
            "lot_not_external_input",
            f"{lot.label} is a {lot.kind}: supplier footprints bind to primary ingot or alloying lots",
        )
    if spec not in {"2", "3"}:
        raise ApplicationError("pact_version_unknown", "PACT version 2 or 3")
    client = PactClient(base_url=base_url, client_id=client_id, client_secret=client_secret)
    if footprint_id:
        document = client.footprint(spec=spec, pf_id=footprint_id)
    elif product_ids:
        active = [d for d in client.footprints(spec=spec, product_ids=product_ids) if d.get("status") == "Active"]
        if not active:
            raise ApplicationError("pact_footprint_not_found", f"{base_url} has no active footprint of {product_ids}")
        document = max(active, key=lambda d: str(d.get("created", "")))
    else:
        raise ApplicationError("pact_pull_unspecified", "name the footprint id or the product ids to pull")
    problems = schemas.errors(spec, "ProductFootprint", document)
    if problems:
        broken = "; ".join(problems[:5])
        raise ApplicationError("pact_footprint_invalid", f"the partner's footprint breaks the PACT schema: {broken}")
    if document["status"] != "Active":
        raise ApplicationError("pact_footprint_deprecated", f"footprint {document['id']} is {document['status']}")
    per_kg, reading = per_kg_of(spec=spec, document=document)
    version = f"version {document['version']}, " if "version" in document else ""
    source = (
        f"PACT {document['specVersion']} footprint {document['id']} ({version}created {document['created']}) "
        f"of {document['companyName']} at {base_url.rstrip('/')}: {reading}"
    )
    current = EmissionFactor.objects.filter(
        code=SUPPLIER_FOOTPRINT, region="", lot=lot, superseded_by__isnull=True
    ).first()
    if current is not None and current.source == source:
        return current
    return carbon_services.factor_add(
        code=SUPPLIER_FOOTPRINT,
        value=per_kg.quantize(Decimal("1e-9")),
        unit="kg/kg",
        source=source,
        lot=lot,
        valid_from=_day(document.get("validityPeriodStart")),
        valid_to=_day(document.get("validityPeriodEnd")),
    )


def _day(moment: object) -> date | None:
    if not isinstance(moment, str):
        return None
    return selectors.parse_moment(moment, name="validity period").date()

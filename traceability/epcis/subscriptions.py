"""EPCIS 2.0 named queries and query subscriptions (``/epcis/queries``).

A named query is a set of EPCIS query parameters an organisation keeps under a name; it runs
with the parameter rules of ``GET /epcis/events`` (``selectors.epcis_events_matching``) and its
owner's visibility. A subscription is a standing run of it: ``stream`` runs after every ledger
append (``settings.LEDGER_FOLLOWERS`` nudges ``tasks.nudge_subscriptions``), a ``schedule``
runs when Celery beat finds it due. Each run reads only the events after the subscription's
``cursor`` (a ledger sequence number), so a subscriber gets each matching event once, as its
organisation may read it, in EPCISQueryDocuments of at most ``DOCUMENT_EVENTS`` events.

Webhook documents are kept as ``EpcisDelivery`` rows and POSTed by a worker, retried with
backoff on a 5xx, 408, 429, a refused connection or a timeout, at most
``EPCIS_WEBHOOK_MAX_ATTEMPTS`` times. With a ``signatureToken`` the body is signed: the
``GS1-Signature`` header holds the lowercase hex HMAC-SHA256 of the exact body bytes, keyed
with the token's UTF-8 bytes. WebSocket subscriptions receive the same documents through the
channel layer group ``websocket_group(subscription_id)``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from traceability import keyvault
from traceability.epcis import selectors
from traceability.epcis.core.schedule import ScheduleError, parse_schedule
from traceability.errors import ApplicationError
from traceability.models import EpcisDelivery, EpcisEvent, EpcisNamedQuery, EpcisSubscription, Organisation
from traceability.moments import MomentError, parse_moment
from traceability.selectors import ledger_size

logger = logging.getLogger(__name__)

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
SIGNATURE_HEADER = "GS1-Signature"
SIGNATURE_TOKENS = b"looptrace epcis subscription signature tokens v1"
# Bounds on what one organisation may keep, so no run's cost grows without limit.
MAX_QUERIES_PER_ORGANISATION = 100
MAX_SUBSCRIPTIONS_PER_QUERY = 20
MAX_DEFINITION_BYTES = 16 * 1024
MAX_VALUES_PER_PARAMETER = 100
QUERY_NAME = re.compile(r"[A-Za-z0-9._~-]{1,200}")
# Events per delivered document (the binding: "in manageable batches"), and documents per run:
# a run that finds more leaves the rest to a follow-up run, so no transaction grows unbounded.
DOCUMENT_EVENTS = 100
DOCUMENTS_PER_RUN = 10
DELIVERY_TIMEOUT_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 3600
# Statuses after which a delivery is tried again; any other non-2xx is the receiver's final answer.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# A pending delivery this late for its next attempt is sent again by beat (at most this many a tick).
OVERDUE_AFTER = timedelta(minutes=5)
OVERDUE_PER_TICK = 1000


def _query_error(code: str, message: str, status: int = 400, **extra: object) -> ApplicationError:
    return ApplicationError(code, message, status=status, extra=dict(extra))


def _subscription_error(message: str) -> ApplicationError:
    return ApplicationError("subscription_controls_invalid", message)


# --- named queries ----------------------------------------------------------------------------


def query_params(definition: Mapping[str, object]) -> dict[str, str]:
    """A query definition (``{"EQ_bizStep": ["shipping", "receiving"]}``) as the pipe-delimited
    parameters ``GET /epcis/events`` reads (``EQ_bizStep=shipping|receiving``)."""
    params: dict[str, str] = {}
    for name, value in definition.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_VALUES_PER_PARAMETER:
            raise selectors._parameter_error(name, f"at most {MAX_VALUES_PER_PARAMETER} values")
        texts = []
        for item in values:
            if isinstance(item, bool) or item is None:
                texts.append("")  # EXISTS_ parameters carry no value
            elif isinstance(item, str | int | float):
                texts.append(str(item))
            else:
                raise selectors._parameter_error(name, "values are strings, numbers or lists of them")
            if "|" in texts[-1]:
                raise selectors._parameter_error(name, "a value may not contain |")
        params[name] = "|".join(texts)
    return params


def _checked_definition(organisation: Organisation, query: object) -> dict[str, object]:
    if not isinstance(query, dict):
        raise _query_error("query_invalid", "query must be an object of EPCIS query parameters")
    if len(json.dumps(query)) > MAX_DEFINITION_BYTES:
        raise _query_error("query_invalid", f"a query definition holds at most {MAX_DEFINITION_BYTES} bytes")
    # Order and counts may be part of a query; which page to read belongs to the request that runs it.
    paging = sorted(set(query) & {"perPage", "nextPageToken"})
    if paging:
        raise selectors._parameter_error(paging[0], "paging belongs to the request that runs the query")
    # Building the query set checks every parameter the way GET /epcis/events does; nothing is read.
    selectors.epcis_events_matching(organisation=organisation, params=query_params(query))
    return query


def epcis_query_create(*, organisation: Organisation, name: object, query: object) -> EpcisNamedQuery:
    if not isinstance(name, str) or not QUERY_NAME.fullmatch(name):
        raise _query_error("query_name_invalid", "name: 1 to 200 letters, digits, '.', '_', '~' or '-'")
    definition = _checked_definition(organisation, query)
    if EpcisNamedQuery.objects.filter(organisation=organisation).count() >= MAX_QUERIES_PER_ORGANISATION:
        raise _query_error("query_limit_reached", f"an organisation keeps at most {MAX_QUERIES_PER_ORGANISATION}")
    try:
        with transaction.atomic():
            return EpcisNamedQuery.objects.create(
                organisation=organisation, name=name, definition=definition, created_at=timezone.now()
            )
    except IntegrityError as exc:
        raise _query_error("query_exists", f"a query named {name} exists", status=409) from exc


def epcis_query_list(*, organisation: Organisation) -> list[EpcisNamedQuery]:
    return list(EpcisNamedQuery.objects.filter(organisation=organisation)[:MAX_QUERIES_PER_ORGANISATION])


def epcis_query_get(*, organisation: Organisation, name: str) -> EpcisNamedQuery:
    """The organisation's query of that name; another organisation's is not found, like a missing one."""
    query = EpcisNamedQuery.objects.filter(organisation=organisation, name=name).first()
    if query is None:
        raise _query_error("query_not_found", f"no query named {name}", status=404)
    return query


@transaction.atomic
def epcis_query_delete(*, organisation: Organisation, name: str) -> None:
    """Remove the query and end its subscriptions (open WebSockets are closed)."""
    query = epcis_query_get(organisation=organisation, name=name)
    sockets = list(query.subscriptions.filter(channel=EpcisSubscription.Channel.WEBSOCKET).values_list("pk", flat=True))
    query.delete()
    for pk in sockets:
        transaction.on_commit(lambda pk=pk: _publish(pk, {"type": "epcis.unsubscribed"}))


def epcis_query_events(*, query: EpcisNamedQuery, paging: Mapping[str, str]) -> selectors.EventPage:
    """One page of the query's events: the paging of ``GET /epcis/events`` over its parameters."""
    params = {**query_params(query.definition), **{k: v for k, v in paging.items() if k in selectors.PAGING}}
    return selectors.epcis_events_query(organisation=query.organisation, params=params)


# --- destinations -------------------------------------------------------------------------------


def _addresses(host: str, port: int, *, resolve: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _subscription_error(f"dest: {host} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def destination_check(dest: object, *, resolve: bool) -> str:
    """Refuse a webhook destination a server must not be made to call (SSRF): anything but an
    https URL (http only with ``EPCIS_WEBHOOK_ALLOW_HTTP``, or to a private host when those are
    allowed), and hosts whose addresses are private, loopback, link-local or otherwise not
    global unless ``EPCIS_WEBHOOK_ALLOW_PRIVATE`` (development and tests) allows them.

    ``resolve``: look the name up too (at each delivery, so a name that later points inside is
    refused then). Redirects are never followed.
    """
    if not isinstance(dest, str) or not dest or len(dest) > 2000:
        raise _subscription_error("dest: an https URL of at most 2000 characters")
    try:
        parts = urlsplit(dest)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _subscription_error("dest: not a URL") from exc
    host = parts.hostname or ""
    if parts.scheme not in {"https", "http"} or not host:
        raise _subscription_error("dest: an https URL")
    allow_private = settings.EPCIS_WEBHOOK_ALLOW_PRIVATE
    addresses = _addresses(host, port, resolve=resolve)
    private = [a for a in addresses if not _is_public(a)]
    if private and not allow_private:
        raise _subscription_error(f"dest: {host} is a private or local address, which is refused")
    if parts.scheme == "http" and not settings.EPCIS_WEBHOOK_ALLOW_HTTP:
        if not (allow_private and addresses and all(a.is_loopback for a in addresses)):
            raise _subscription_error("dest: plain http is refused; use https")
    return dest


# --- subscriptions ------------------------------------------------------------------------------


def _initial_record_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except MomentError as exc:
        raise _subscription_error(f"initialRecordTime: {exc}") from exc


def subscription_controls(data: Mapping[str, object]) -> dict[str, object]:
    """stream, schedule, reportIfEmpty and initialRecordTime checked as the binding states them:
    exactly one of ``stream: true`` and ``schedule``."""
    stream = data.get("stream", False)
    schedule = data.get("schedule")
    report_if_empty = data.get("reportIfEmpty", False)
    if stream not in (True, False) or report_if_empty not in (True, False):
        raise _subscription_error("stream and reportIfEmpty are true or false")
    if bool(stream) == (schedule is not None):
        raise _subscription_error("give either stream: true or a schedule, not both and not neither")
    if schedule is not None:
        if not isinstance(schedule, dict):
            raise _subscription_error("schedule: an object of second, minute, hour, dayOfMonth, month, dayOfWeek")
        try:
            parse_schedule(schedule)
        except ScheduleError as exc:
            raise _subscription_error(f"schedule: {exc}") from exc
    return {
        "stream": bool(stream),
        "schedule": schedule,
        "report_if_empty": bool(report_if_empty),
        "initial_record_time": _initial_record_time(data.get("initialRecordTime")),
    }


def epcis_subscription_create(
    *,
    organisation: Organisation,
    query_name: str,
    data: object,
    channel: str = EpcisSubscription.Channel.WEBHOOK,
    subscription_id: uuid.UUID | None = None,
) -> EpcisSubscription:
    """Subscribe to the organisation's query: from ``initialRecordTime`` if given, else from now.
    (A WebSocket names its subscription first, to listen to its group before the first run.)"""
    if not isinstance(data, dict):
        raise _subscription_error("a subscription is a JSON object")
    query = epcis_query_get(organisation=organisation, name=query_name)
    controls = subscription_controls(data)
    dest = ""
    token = ""
    if channel == EpcisSubscription.Channel.WEBHOOK:
        dest = destination_check(data.get("dest"), resolve=False)
        token = data.get("signatureToken") or ""
        if not isinstance(token, str) or len(token) > 500:
            raise _subscription_error("signatureToken: a string of at most 500 characters")
    with transaction.atomic():
        EpcisNamedQuery.objects.select_for_update().filter(pk=query.pk).first()
        if query.subscriptions.count() >= MAX_SUBSCRIPTIONS_PER_QUERY:
            raise _subscription_error(f"a query has at most {MAX_SUBSCRIPTIONS_PER_QUERY} subscriptions")
        now = timezone.now()
        pk = subscription_id or uuid.uuid4()
        return EpcisSubscription.objects.create(
            id=pk,
            query=query,
            channel=channel,
            dest=dest,
            sealed_signature_token=_seal_token(pk, token) if token else b"",
            # No initialRecordTime: the events recorded from now on.
            cursor=0 if controls["initial_record_time"] else ledger_size(),
            created_at=now,
            last_run_at=now,
            **controls,
        )


def _seal_token(subscription_id: uuid.UUID, token: str) -> bytes:
    return keyvault.seal(token.encode("utf-8"), purpose=SIGNATURE_TOKENS, associated_data=subscription_id.bytes)


def signature_token(subscription: EpcisSubscription) -> str:
    """The subscription's signatureToken ("" when none was given)."""
    sealed = bytes(subscription.sealed_signature_token or b"")
    if not sealed:
        return ""
    return keyvault.unseal(sealed, purpose=SIGNATURE_TOKENS, associated_data=subscription.pk.bytes).decode("utf-8")


def _subscription_of(organisation: Organisation, query_name: str, subscription_id: str) -> EpcisSubscription:
    query = epcis_query_get(organisation=organisation, name=query_name)
    try:
        pk = uuid.UUID(subscription_id)
    except ValueError:
        pk = None
    found = query.subscriptions.filter(pk=pk, channel=EpcisSubscription.Channel.WEBHOOK).first() if pk else None
    if found is None:
        raise _query_error("subscription_not_found", f"no subscription {subscription_id}", status=404)
    return found


def epcis_subscription_get(*, organisation: Organisation, query_name: str, subscription_id: str) -> EpcisSubscription:
    return _subscription_of(organisation, query_name, subscription_id)


def epcis_subscription_list(*, organisation: Organisation, query_name: str) -> list[EpcisSubscription]:
    query = epcis_query_get(organisation=organisation, name=query_name)
    return list(query.subscriptions.filter(channel=EpcisSubscription.Channel.WEBHOOK))


def epcis_subscription_delete(*, organisation: Organisation, query_name: str, subscription_id: str) -> None:
    _subscription_of(organisation, query_name, subscription_id).delete()


def epcis_websocket_unsubscribe(*, subscription_id: uuid.UUID) -> None:
    EpcisSubscription.objects.filter(pk=subscription_id, channel=EpcisSubscription.Channel.WEBSOCKET).delete()


# --- runs -------------------------------------------------------------------------------------


def websocket_group(subscription_id: uuid.UUID | str) -> str:
    return f"epcis-subscription-{subscription_id}"


def _publish(subscription_id: uuid.UUID | str, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(websocket_group(subscription_id), message)
    except Exception:  # a down channel layer must not fail the run: the socket misses these events
        logger.exception("could not publish to WebSocket subscription %s", subscription_id)


def subscription_document(subscription: EpcisSubscription, events: list[EpcisEvent]) -> str:
    """The EPCISQueryDocument of a run, as the subscriber's organisation may read the events."""
    document = selectors.query_document(events, reader=subscription.query.organisation)
    body = document["epcisBody"]
    assert isinstance(body, dict)
    results = body["queryResults"]
    results["queryName"] = subscription.query.name
    results["subscriptionID"] = str(subscription.pk)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def epcis_subscription_run(*, subscription_id: uuid.UUID | str, now: datetime, scheduled: bool = False) -> bool:
    """Run the subscription over the events recorded since its cursor; queue what it found.

    The subscription's row is locked for the run, so two runs never send an event twice.
    Returns whether events are left for a follow-up run (more than ``DOCUMENTS_PER_RUN`` documents).
    """
    with transaction.atomic():
        subscription = (
            EpcisSubscription.objects.select_for_update(of=("self",))
            .select_related("query__organisation")
            .filter(pk=subscription_id)
            .first()
        )
        if subscription is None:
            return False
        head = ledger_size()
        params = query_params(subscription.query.definition)
        events = selectors.epcis_events_matching(organisation=subscription.query.organisation, params=params)
        events = events.filter(entry_id__lte=head)
        if subscription.initial_record_time is not None:
            events = events.filter(record_time__gte=subscription.initial_record_time)
        cursor = subscription.cursor
        batches: list[list[EpcisEvent]] = []
        while len(batches) < DOCUMENTS_PER_RUN:
            batch = list(
                events.filter(entry_id__gt=cursor).select_related("entry").order_by("entry_id")[:DOCUMENT_EVENTS]
            )
            if not batch:
                break
            batches.append(batch)
            cursor = batch[-1].entry_id
        more = len(batches) == DOCUMENTS_PER_RUN and events.filter(entry_id__gt=cursor).exists()
        if not batches and scheduled and subscription.report_if_empty:
            batches.append([])
        subscription.cursor = cursor if more else head
        subscription.last_run_at = now
        subscription.save(update_fields=["cursor", "last_run_at"])
        documents = [(batch, subscription_document(subscription, batch)) for batch in batches]
        if subscription.channel == EpcisSubscription.Channel.WEBSOCKET:
            for _, text in documents:
                transaction.on_commit(
                    lambda text=text: _publish(subscription.pk, {"type": "epcis.document", "text": text})
                )
            if documents:
                subscription.last_notified_at = now
                subscription.save(update_fields=["last_notified_at"])
            return more
        for batch, text in documents:
            delivery = EpcisDelivery.objects.create(
                subscription=subscription,
                created_at=now,
                first_seq=batch[0].entry_id if batch else None,
                last_seq=batch[-1].entry_id if batch else None,
                event_count=len(batch),
                body=text,
                next_attempt_at=now,
            )
            transaction.on_commit(lambda pk=delivery.pk: _deliver_later(pk))
    return more


def _deliver_later(delivery_id: int) -> None:
    """``settings.EPCIS_DELIVERY_RUNNER`` sends the delivery (a worker, with retries)."""
    import_string(settings.EPCIS_DELIVERY_RUNNER)(delivery_id)


def stream_subscription_ids() -> list[uuid.UUID]:
    return list(EpcisSubscription.objects.filter(stream=True).values_list("pk", flat=True))


def due_scheduled_subscription_ids(*, now: datetime) -> list[uuid.UUID]:
    """The scheduled subscriptions with a query time since their last run, up to ``now``."""
    due = []
    for pk, schedule, last_run in EpcisSubscription.objects.filter(stream=False).values_list(
        "pk", "schedule", "last_run_at"
    ):
        if schedule and parse_schedule(schedule).due(since=last_run, now=now):
            due.append(pk)
    return due


# --- deliveries -------------------------------------------------------------------------------


def signature(token: str, body: bytes) -> str:
    return hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def delivery_headers(subscription: EpcisSubscription, body: bytes) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "GS1-EPCIS-Version": EPCIS_VERSION,
        "GS1-CBV-Version": CBV_VERSION,
    }
    token = signature_token(subscription)
    if token:
        headers[SIGNATURE_HEADER] = signature(token, body)
    return headers


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt: the base doubled after each failed one, capped at an hour."""
    base = float(settings.EPCIS_WEBHOOK_RETRY_SECONDS)
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def overdue_delivery_ids(*, now: datetime) -> list[int]:
    """Pending deliveries whose next attempt is ``OVERDUE_AFTER`` late: their task was lost (the broker
    was down when it was queued, a worker died) or nothing retries them (eager tasks)."""
    late = EpcisDelivery.objects.filter(state=EpcisDelivery.State.PENDING, next_attempt_at__lt=now - OVERDUE_AFTER)
    return list(late.order_by("next_attempt_at").values_list("pk", flat=True)[:OVERDUE_PER_TICK])


def epcis_delivery_attempt(*, delivery_id: int) -> EpcisDelivery | None:
    """POST a pending delivery once; record the outcome. It stays pending while a retry may help.
    None: the delivery is gone, or being attempted elsewhere.

    The row is locked for the attempt and an attempt already under way is not repeated, so the
    worker's retry and beat's resend of an overdue delivery do not both send it at once; a receiver
    still gets a document more than once if its answer is lost (at least once: it may de-duplicate
    by the events' eventIDs).
    """
    with transaction.atomic():
        delivery = (
            EpcisDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # gone, or an attempt is under way: that one decides what follows
            return None
        if delivery.state == EpcisDelivery.State.PENDING:
            _attempt(delivery)
    return delivery


def _attempt(delivery: EpcisDelivery) -> None:
    subscription = delivery.subscription
    body = delivery.body.encode("utf-8")
    status: int | None = None
    retryable = True
    try:
        destination_check(subscription.dest, resolve=True)
        response = httpx.post(
            subscription.dest,
            content=body,
            headers=delivery_headers(subscription, body),
            timeout=DELIVERY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
        status = response.status_code
        error = "" if 200 <= status < 300 else f"HTTP {status}"
        retryable = status >= 500 or status in RETRYABLE_STATUSES
    except ApplicationError as exc:
        error, retryable = exc.message, False
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = error
    delivery.next_attempt_at = None
    if status is not None and 200 <= status < 300:
        delivery.state = EpcisDelivery.State.DELIVERED
        delivery.delivered_at = now
        EpcisSubscription.objects.filter(pk=subscription.pk).update(last_notified_at=now)
    elif not retryable or delivery.attempts >= settings.EPCIS_WEBHOOK_MAX_ATTEMPTS:
        delivery.state = EpcisDelivery.State.FAILED
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status", "last_error", "state", "delivered_at", "next_attempt_at"])

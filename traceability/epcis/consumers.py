"""EPCIS 2.0 WebSocket subscriptions: ``GET /epcis/queries/{name}/events`` with ``Upgrade: websocket``.

The handshake names the subscription in its query string, as the REST binding does: ``stream=true``
or schedule fields (``second``, ``minute``, ``hour``, ``dayOfMonth``, ``month``, ``dayOfWeek``),
with ``reportIfEmpty`` and ``initialRecordTime``. It is authenticated like the REST API, with the
``Authorization: Api-Key <client_id>.<secret>`` header (no cookies, so a web page elsewhere cannot
open a socket in a member's name: origins need no check). A refused handshake (no or bad key, no
such query, bad controls) is closed before it is accepted (HTTP 403). While the socket is open the
subscription is a row the stream and schedule runs serve; each EPCISQueryDocument a run makes
reaches the consumer through the channel layer group of the subscription. Closing the socket ends
the subscription; deleting the query closes the socket.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import HttpRequest
from django.urls import path
from rest_framework.exceptions import APIException

from traceability.api.authentication import ApiKeyAuthentication
from traceability.epcis import subscriptions
from traceability.epcis.core.schedule import FIELD_RANGES
from traceability.errors import ApplicationError
from traceability.models import EpcisSubscription, Organisation


def _organisation(scope: dict[str, Any]) -> Organisation | None:
    """The organisation of the handshake's API key, checked (and throttled) as a REST request's is."""
    request = HttpRequest()
    for name, value in scope.get("headers", []):
        request.META["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = value.decode("latin-1")
    client = scope.get("client")
    request.META["REMOTE_ADDR"] = client[0] if client else ""
    try:
        found = ApiKeyAuthentication().authenticate(request)
    except APIException:
        return None
    return found[0].organisation if found else None


def controls(query_string: bytes) -> dict[str, object]:
    """The subscription controls of the handshake's query string, in the form a webhook posts them."""
    params = {k: v[-1] for k, v in parse_qs(query_string.decode("latin-1"), keep_blank_values=True).items()}
    flags = {"true": True, "false": False}
    data: dict[str, object] = {}
    for name in ("stream", "reportIfEmpty"):
        if name in params:
            data[name] = flags.get(params[name].lower(), params[name])  # anything else is refused
    schedule = {name: params[name] for name in FIELD_RANGES if name in params}
    if schedule:
        data["schedule"] = schedule
    if "initialRecordTime" in params:
        data["initialRecordTime"] = params["initialRecordTime"]
    return data


def _subscribe(scope: dict[str, Any], subscription_id: uuid.UUID) -> bool:
    organisation = _organisation(scope)
    if organisation is None:
        return False
    try:
        subscriptions.epcis_subscription_create(
            organisation=organisation,
            query_name=scope["url_route"]["kwargs"]["name"],
            data=controls(scope.get("query_string", b"")),
            channel=EpcisSubscription.Channel.WEBSOCKET,
            subscription_id=subscription_id,
        )
    except ApplicationError:
        return False
    return True


class QuerySubscriptionConsumer(AsyncWebsocketConsumer):
    subscription_id: uuid.UUID | None = None

    async def connect(self) -> None:
        subscription_id = uuid.uuid4()
        group = subscriptions.websocket_group(subscription_id)
        # Listen first: a run between the subscription's creation and the socket's opening is heard.
        await self.channel_layer.group_add(group, self.channel_name)
        if not await database_sync_to_async(_subscribe)(self.scope, subscription_id):
            await self.channel_layer.group_discard(group, self.channel_name)
            await self.close()
            return
        self.subscription_id = subscription_id
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.subscription_id is None:
            return
        await self.channel_layer.group_discard(subscriptions.websocket_group(self.subscription_id), self.channel_name)
        await database_sync_to_async(subscriptions.epcis_websocket_unsubscribe)(subscription_id=self.subscription_id)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The socket carries the server's documents only; what a client sends is ignored."""

    async def epcis_document(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])

    async def epcis_unsubscribed(self, message: dict[str, Any]) -> None:
        await self.close()


websocket_urlpatterns = [
    path("epcis/queries/<str:name>/events", QuerySubscriptionConsumer.as_asgi()),
]

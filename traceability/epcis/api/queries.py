"""EPCIS 2.0 named queries and their subscriptions (``/epcis/queries``), thin over
``traceability.epcis.subscriptions``."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from traceability.api.authentication import request_organisation
from traceability.epcis import selectors, subscriptions
from traceability.epcis.api.views import EpcisView, _headers, query_answer
from traceability.models import EpcisNamedQuery, EpcisSubscription


def _moment(value: object) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None  # type: ignore[attr-defined]


def query_data(query: EpcisNamedQuery) -> dict[str, object]:
    return {"name": query.name, "query": query.definition}


def subscription_data(subscription: EpcisSubscription) -> dict[str, object]:
    data: dict[str, object] = {
        "subscriptionID": str(subscription.pk),
        "queryName": subscription.query.name,
        "dest": subscription.dest,
        "createdAt": _moment(subscription.created_at),
        "reportIfEmpty": subscription.report_if_empty,
        # The token is the client's secret: whether one is set, never its value.
        "signed": bool(subscription.sealed_signature_token),
    }
    if subscription.stream:
        data["stream"] = True
    else:
        data["schedule"] = subscription.schedule
    for key, value in (
        ("initialRecordTime", subscription.initial_record_time),
        ("minRecordTime", subscription.last_run_at),
        ("lastNotifiedAt", subscription.last_notified_at),
    ):
        if value is not None:
            data[key] = _moment(value)
    return data


def _location(*parts: str) -> str:
    return "/epcis/queries/" + "/".join(quote(p, safe="") for p in parts)


class QueryListView(EpcisView):
    @extend_schema(responses={200: {"type": "array", "items": {"type": "object"}}}, summary="Your named queries")
    def get(self, request: Request) -> Response:
        queries = subscriptions.epcis_query_list(organisation=request_organisation(request))
        return Response([query_data(q) for q in queries], headers=_headers())

    @extend_schema(request=dict, responses={201: None}, summary="Create a named query {name, query}")
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        query = subscriptions.epcis_query_create(
            organisation=request_organisation(request), name=body.get("name"), query=body.get("query")
        )
        return Response(status=status.HTTP_201_CREATED, headers=_headers(Location=_location(query.name)))


class QueryDetailView(EpcisView):
    @extend_schema(responses=dict, summary="One named query", operation_id="epcis_query")
    def get(self, request: Request, name: str) -> Response:
        query = subscriptions.epcis_query_get(organisation=request_organisation(request), name=name)
        return Response(query_data(query), headers=_headers())

    @extend_schema(responses={204: None}, summary="Delete a named query and end its subscriptions")
    def delete(self, request: Request, name: str) -> Response:
        subscriptions.epcis_query_delete(organisation=request_organisation(request), name=name)
        return Response(status=status.HTTP_204_NO_CONTENT, headers=_headers())


class QueryEventsView(EpcisView):
    @extend_schema(
        responses=dict,
        parameters=[OpenApiParameter("perPage", int), OpenApiParameter("nextPageToken", str)],
        summary="Run a named query: an EPCISQueryDocument, paged like /epcis/events (WebSocket: see README)",
    )
    def get(self, request: Request, name: str) -> Response:
        reader = request_organisation(request)
        query = subscriptions.epcis_query_get(organisation=reader, name=name)
        paging = {k: request.query_params.get(k, "") for k in selectors.PAGING if k in request.query_params}
        page = subscriptions.epcis_query_events(query=query, paging=paging)
        headers = _headers()
        if page.next_token:
            headers["Link"] = f'<{request.path}?{urlencode({**paging, "nextPageToken": page.next_token})}>; rel="next"'
        document = query_answer(request, page.events)
        body = document["epcisBody"]
        assert isinstance(body, dict)
        body["queryResults"]["queryName"] = query.name
        return Response(document, headers=headers)


class SubscriptionListView(EpcisView):
    @extend_schema(responses={200: {"type": "array", "items": {"type": "object"}}}, summary="A query's webhooks")
    def get(self, request: Request, name: str) -> Response:
        found = subscriptions.epcis_subscription_list(organisation=request_organisation(request), query_name=name)
        return Response([subscription_data(s) for s in found], headers=_headers())

    @extend_schema(request=dict, responses={201: dict}, summary="Subscribe a webhook to a named query")
    def post(self, request: Request, name: str) -> Response:
        subscription = subscriptions.epcis_subscription_create(
            organisation=request_organisation(request), query_name=name, data=request.data
        )
        return Response(
            subscription_data(subscription),
            status=status.HTTP_201_CREATED,
            headers=_headers(Location=_location(name, "subscriptions", str(subscription.pk))),
        )


class SubscriptionDetailView(EpcisView):
    @extend_schema(responses=dict, summary="One webhook subscription", operation_id="epcis_subscription")
    def get(self, request: Request, name: str, subscription_id: str) -> Response:
        subscription = subscriptions.epcis_subscription_get(
            organisation=request_organisation(request), query_name=name, subscription_id=subscription_id
        )
        return Response(subscription_data(subscription), headers=_headers())

    @extend_schema(responses={204: None}, summary="Unsubscribe")
    def delete(self, request: Request, name: str, subscription_id: str) -> Response:
        subscriptions.epcis_subscription_delete(
            organisation=request_organisation(request), query_name=name, subscription_id=subscription_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT, headers=_headers())

"""EPCIS 2.0 REST binding's top-level resources: what exists among the events a caller may see
(event types, EPCs, business steps, business locations, read points, dispositions), each value's
sub-resources, and its events (the events query with that value as a filter)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from traceability.api.authentication import request_organisation
from traceability.epcis import resources
from traceability.epcis.api.views import EpcisView, query_answer
from traceability.epcis.api.xml import EpcisAutoSchema
from traceability.epcis.selectors import epcis_events_query
from traceability.errors import ApplicationError
from traceability.operations.epcis import EPCIS_CONTEXT

TOP_LEVEL = [
    "events",
    "eventTypes",
    "epcs",
    "bizSteps",
    "bizLocations",
    "readPoints",
    "dispositions",
    "capture",
    "queries",
]


def _collection(members: list[str]) -> dict[str, object]:
    return {"@context": [EPCIS_CONTEXT], "type": "Collection", "member": members}


def _query_params(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in request.query_params}


class ResourceSchema(EpcisAutoSchema):
    """One operationId per resource and operation (the views are shared by the six resources)."""

    def get_operation_id(self) -> str:
        return f"epcis_{self.view.resource}_{self.view.operation}"


class TopLevelView(EpcisView):
    @extend_schema(responses=dict, summary="The EPCIS top-level resources", operation_id="epcis_top_level")
    def get(self, request: Request) -> Response:
        return Response(_collection(TOP_LEVEL))


def _next_link(request: Request, params: dict[str, str], token: str | None) -> dict[str, str]:
    """The ``Link rel=next`` header of a page that has a following one."""
    if not token:
        return {}
    return {"Link": f'<{request.path}?{urlencode({**params, "nextPageToken": token})}>; rel="next"'}


class ResourceView(EpcisView):
    """A view shared by the six top-level resources (``resource``), answering GET."""

    resource = ""
    operation = ""
    schema = ResourceSchema()

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT, headers={"Allow": "OPTIONS, GET"})


class ResourceListView(ResourceView):
    """``GET /epcis/{resource}``: one page of the values among the events the caller may see."""

    operation = "list"

    @extend_schema(
        responses=dict,
        parameters=[OpenApiParameter("perPage", int), OpenApiParameter("nextPageToken", str)],
        summary="Values of this kind among the events you may see, paged by Link rel=next",
    )
    def get(self, request: Request) -> Response:
        params = _query_params(request)
        unknown = sorted(set(params) - {"perPage", "nextPageToken"})
        if unknown:
            raise ApplicationError(
                "query_parameter_unsupported",
                f"unsupported query parameters: {', '.join(unknown)}",
                extra={"parameters": unknown},
            )
        page = resources.resource_values(
            organisation=request_organisation(request), resource=self.resource, params=params
        )
        headers = _next_link(request, params, page.next_token)
        return Response(_collection(page.values), headers=headers)


class ResourceDetailView(ResourceView):
    """``GET /epcis/{resource}/{value}``: its sub-resources (``events``), 404 when no visible event has it."""

    operation = "detail"

    @extend_schema(responses=dict, summary="The sub-resources of one value (events)")
    def get(self, request: Request, value: str) -> Response:
        resources.resource_value_get(organisation=request_organisation(request), resource=self.resource, value=value)
        return Response(_collection(["events"]))


class ResourceEventsView(ResourceView):
    """``GET /epcis/{resource}/{value}/events``: the events query with the value as its filter."""

    operation = "events"

    @extend_schema(responses=dict, summary="Events with this value (EPCIS query parameters apply)")
    def get(self, request: Request, value: str) -> Response:
        params = _query_params(request)
        filtered = {**params, resources.RESOURCE_FILTERS[self.resource]: value}
        page = epcis_events_query(organisation=request_organisation(request), params=filtered)
        headers = _next_link(request, params, page.next_token)
        return Response(query_answer(request, page.events), headers=headers)

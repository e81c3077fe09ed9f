"""EPCIS 2.0 REST bindings (``/epcis/``): capture and query, thin over the EPCIS services."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability.api.authentication import request_organisation
from traceability.api.errors import exception_handler
from traceability.api.parsers import StrictJSONParser
from traceability.epcis import selectors, services
from traceability.epcis.api import negotiation
from traceability.epcis.api.xml import (
    AcceptNegotiation,
    EpcisAutoSchema,
    EpcisTextXMLParser,
    EpcisTextXMLRenderer,
    EpcisXMLParser,
    EpcisXMLRenderer,
)
from traceability.epcis.problems import PROBLEM_CONTENT_TYPE, problem
from traceability.errors import ApplicationError
from traceability.models import CaptureJob, EpcisEvent
from traceability.paging import MAX_PAGE_SIZE

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
ERROR_BEHAVIOUR_HEADER = "GS1-Capture-Error-Behaviour"


class JSONLDParser(StrictJSONParser):
    """EPCIS documents arrive as JSON-LD."""

    media_type = "application/ld+json"


def _headers(**extra: str) -> dict[str, str]:
    return {"GS1-EPCIS-Version": EPCIS_VERSION, "GS1-CBV-Version": CBV_VERSION, **extra}


def capture_job_data(job: CaptureJob) -> dict[str, object]:
    data: dict[str, object] = {
        "captureID": str(job.id),
        "createdAt": job.created_at.isoformat().replace("+00:00", "Z"),
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "errors": job.errors,
        "eventCount": job.event_count,
        "capturedCount": job.captured_count,
        "duplicateCount": job.duplicate_count,
    }
    if job.finished_at is not None:
        data["finishedAt"] = job.finished_at.isoformat().replace("+00:00", "Z")
    return data


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"


def epcis_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The project's ``{code, detail}`` as EPCIS's RFC 7807 problem (``type``, ``title``, ``status``),
    served as ``application/problem+json``."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        response.data = problem(response.data, response.status_code)
        # Asked for XML, the problem is written as an EPCISException (EpcisXMLRenderer).
        if not isinstance(getattr(context.get("request"), "accepted_renderer", None), EpcisXMLRenderer):
            response.content_type = PROBLEM_CONTENT_TYPE
    return response


def negotiated(request: Request) -> negotiation.Negotiated:
    return getattr(request, "epcis_negotiated", None) or negotiation.Negotiated()


def query_answer(request: Request, events: list[EpcisEvent]) -> dict[str, object]:
    """An EPCISQueryDocument of ``events`` as the caller may see them, EPCs in the negotiated format."""
    document = selectors.query_document(events, reader=request_organisation(request))
    body = document["epcisBody"]
    assert isinstance(body, dict)
    negotiation.translated(body["queryResults"]["resultsBody"]["eventList"], negotiated(request))
    return document


class EpcisView(APIView):
    """Every EPCIS view: JSON (LD) in and out, the binding's negotiation headers, RFC 7807 errors."""

    parser_classes = [StrictJSONParser, JSONLDParser, EpcisXMLParser, EpcisTextXMLParser]
    renderer_classes = [JSONRenderer, JSONLDRenderer, EpcisXMLRenderer, EpcisTextXMLRenderer]
    content_negotiation_class = AcceptNegotiation
    schema = EpcisAutoSchema()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request.epcis_negotiated = negotiation.negotiate(request.headers)  # type: ignore[attr-defined]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in negotiation.response_headers(getattr(request, "epcis_negotiated", None)).items():
            if name not in response:
                response[name] = value
        return response

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return epcis_exception_handler


class CaptureView(EpcisView):
    @extend_schema(
        request=dict,
        responses={202: None},
        parameters=[
            OpenApiParameter(ERROR_BEHAVIOUR_HEADER, str, OpenApiParameter.HEADER, enum=["rollback", "proceed"])
        ],
        summary="Capture an EPCIS 2.0 document (EPCISDocument or EPCISQueryDocument); 202 with the capture job",
    )
    def post(self, request: Request) -> Response:
        job = services.epcis_capture(
            organisation=request_organisation(request),
            document=request.data,
            error_behaviour=request.headers.get(ERROR_BEHAVIOUR_HEADER, "rollback").strip().lower(),
        )
        return Response(status=status.HTTP_202_ACCEPTED, headers=_headers(Location=f"/epcis/capture/{job.id}"))

    @extend_schema(
        responses={200: {"type": "array", "items": {"type": "object"}}},
        summary="The organisation's capture jobs, newest first",
        operation_id="epcis_capture_list",
    )
    def get(self, request: Request) -> Response:
        jobs = CaptureJob.objects.filter(organisation=request_organisation(request)).defer("pending_document")
        jobs = jobs[:MAX_PAGE_SIZE]
        return Response([capture_job_data(job) for job in jobs], headers=_headers())

    def options(self, request: Request, *args: object, **kwargs: object) -> Response:
        return Response(
            status=status.HTTP_204_NO_CONTENT,
            headers=_headers(
                **{
                    "GS1-EPCIS-Capture-Limit": str(services.CAPTURE_LIMIT),
                    ERROR_BEHAVIOUR_HEADER: "all",
                    "Allow": "OPTIONS, GET, POST",
                }
            ),
        )


class CaptureJobView(EpcisView):
    @extend_schema(
        responses=dict, summary="One capture job: running, success, errors", operation_id="epcis_capture_job"
    )
    def get(self, request: Request, capture_id: str) -> Response:
        try:
            job_id = uuid.UUID(capture_id)
        except ValueError:
            job_id = None
        job = (
            CaptureJob.objects.filter(organisation=request_organisation(request), id=job_id)
            .defer("pending_document")
            .first()
            if job_id
            else None
        )
        if job is None:
            raise ApplicationError("capture_not_found", f"no capture job {capture_id}", status=404)
        return Response(capture_job_data(job), headers=_headers())


class EventListView(EpcisView):
    @extend_schema(
        request=dict,
        responses=dict,
        parameters=[
            OpenApiParameter(name, str, description="pipe-delimited values")
            for name in sorted(selectors.SUPPORTED - {"perPage"})
        ]
        + [
            OpenApiParameter(
                "perPage", int, description=f"events per page, at most {MAX_PAGE_SIZE} (larger is clamped)"
            )
        ],
        summary="Query events (EPCIS 2.0 query parameters); an EPCISQueryDocument, paged by Link rel=next",
    )
    def get(self, request: Request) -> Response:
        params = {name: request.query_params.get(name, "") for name in request.query_params}
        page = selectors.epcis_events_query(organisation=request_organisation(request), params=params)
        headers = _headers()
        if page.next_token:
            following = {**params, "nextPageToken": page.next_token}
            headers["Link"] = f'<{request.path}?{urlencode(following)}>; rel="next"'
        return Response(query_answer(request, page.events), headers=headers)

    @extend_schema(request=dict, responses={201: dict}, summary="Capture one EPCIS event synchronously")
    def post(self, request: Request) -> Response:
        event = services.epcis_event_capture(organisation=request_organisation(request), event=request.data)
        location = f"/epcis/events/{quote(event.event_id, safe='')}"
        return Response(status=status.HTTP_201_CREATED, headers=_headers(Location=location))


class EventDetailView(EpcisView):
    @extend_schema(
        responses=dict,
        summary="One event by eventID (or its CBV hash), as an EPCISQueryDocument",
        operation_id="epcis_event",
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.epcis_event_get(organisation=request_organisation(request), event_id=event_id)
        return Response(query_answer(request, [event]), headers=_headers())

"""Regulator reports over the API: ``GET /api/v1/reports/{recycled-content,recycling}.{csv,xlsx}?year=``.

The same files as ``manage.py regulator_report``, for the regulator role only.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from passport import reports
from traceability.api.authentication import request_organisation
from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError


class FileInPath(BaseContentNegotiation):
    """The file type is in the path; errors are JSON whatever the client accepts."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class ReportQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(
        required=False,
        min_value=reports.FIRST_YEAR,
        max_value=reports.LAST_YEAR,
        help_text="only this year: of manufacture (recycled-content) or of recycling (recycling)",
    )


class RegulatorReportView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileInPath

    @extend_schema(
        operation_id="regulator_report",
        parameters=[
            OpenApiParameter("report", str, OpenApiParameter.PATH, enum=list(reports.REPORTS)),
            OpenApiParameter("file_format", str, OpenApiParameter.PATH, enum=list(reports.MEDIA_TYPES)),
            ReportQuerySerializer,
        ],
        responses={
            (200, media_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description="the report")
            for media_type in reports.MEDIA_TYPES.values()
        },
        summary="Regulator report: recycled content (Art. 8) or recycling efficiency and recovery (Annex XII)",
    )
    def get(self, request: Request, report: str, file_format: str) -> HttpResponse:
        organisation = request_organisation(request)
        if organisation is None or organisation.role != OrganisationRole.REGULATOR:
            raise ApplicationError("role_not_allowed", "regulator reports are for regulators", status=403)
        reports.checked_format(file_format)
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        built = reports.report_build(name=report, year=query.validated_data.get("year"))
        response = HttpResponse(
            reports.report_bytes(built, file_format=file_format), content_type=reports.MEDIA_TYPES[file_format]
        )
        response["Content-Disposition"] = f'attachment; filename="{built.filename_stem}.{file_format}"'
        return response

"""The regulator's audit export over the API: the same file as ``manage.py export_audit``, streamed."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from passport.export import audit_export_lines, audit_export_plan, audit_selection
from passport.verify.format import MEDIA_TYPE
from traceability.api.authentication import request_organisation
from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError


class AuditExportQuerySerializer(serializers.Serializer):
    organisation = serializers.SlugField(required=False, help_text="only entries this organisation recorded")
    since = serializers.CharField(required=False, help_text="recorded from this date (YYYY-MM-DD) or ISO 8601 time")
    until = serializers.CharField(required=False, help_text="recorded up to this date (included) or before this time")
    consistency_from = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="tree sizes of signed checkpoints you hold: the export proves it extends each",
    )


class AuditExportView(APIView):
    @extend_schema(
        parameters=[AuditExportQuerySerializer],
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="the export, JSON Lines")},
        summary="Audit export for regulators (verify offline with python -m passport.verify)",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return self._export(request, request.query_params)

    @extend_schema(
        request=AuditExportQuerySerializer,
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="the export, JSON Lines")},
        summary="Audit export for regulators, the selection in the body",
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        return self._export(request, request.data)

    def _export(self, request: Request, data: object) -> StreamingHttpResponse:
        organisation = request_organisation(request)
        if organisation is None or organisation.role != OrganisationRole.REGULATOR:
            raise ApplicationError("role_not_allowed", "audit exports are for regulators", status=403)
        query = AuditExportQuerySerializer(data=data)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        selection = audit_selection(
            organisation=values.get("organisation"), since=values.get("since"), until=values.get("until")
        )
        plan = audit_export_plan(selection=selection, consistency_from=values.get("consistency_from", []))
        response = StreamingHttpResponse(audit_export_lines(plan), content_type=MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
        return response

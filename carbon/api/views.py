"""Footprint results and the emission-factor registry over the partner API."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon import accounts, selectors, services
from carbon.engine.model import CHAINS_OF_CUSTODY, METHODS, assessed_stages
from carbon.models import EmissionFactor, FootprintResult
from traceability import visibility
from traceability.api.authentication import request_organisation
from traceability.api.references import OBJECT_REFERENCE_PARAMETER, object_reference
from traceability.errors import ApplicationError
from traceability.models import Site, TraceableObject


class FootprintSerializer(serializers.ModelSerializer):
    perKg = serializers.JSONField(source="per_kg", help_text="kg CO2e per kg, by lifecycle stage")
    assessedStages = serializers.SerializerMethodField(
        help_text="the stages of perKg the ledger holds data for; a stage not listed is not assessed "
        "(nothing recorded in it upstream), and its 0 is no measurement"
    )
    totalPerKg = serializers.FloatField(source="total_per_kg")
    totalKg = serializers.FloatField(source="total_kg")
    preConsumerShare = serializers.SerializerMethodField(help_text="mass fraction of pre-consumer scrap")
    postConsumerShare = serializers.SerializerMethodField(help_text="mass fraction of post-consumer scrap")
    recycledShare = serializers.SerializerMethodField(
        help_text="recycled content: pre- plus post-consumer (run-around scrap is none, ISO 14021)"
    )
    closedLoopShare = serializers.SerializerMethodField()
    postConsumerByMake = serializers.SerializerMethodField(help_text="post-consumer fraction by vehicle make")
    primaryDataShare = serializers.FloatField(source="primary_data_share")
    ledgerSize = serializers.IntegerField(source="ledger_size")
    flags = serializers.SerializerMethodField()
    factors = serializers.SerializerMethodField()
    generatorFootprint = serializers.SerializerMethodField()

    class Meta:
        model = FootprintResult
        fields = [
            "method",
            "chain",
            "perKg",
            "assessedStages",
            "totalPerKg",
            "totalKg",
            "preConsumerShare",
            "postConsumerShare",
            "recycledShare",
            "closedLoopShare",
            "postConsumerByMake",
            "primaryDataShare",
            "factors",
            "ledgerSize",
            "flags",
            "generatorFootprint",
        ]

    def get_assessedStages(self, result: FootprintResult) -> list[str]:
        return list(assessed_stages(result.per_kg))

    def get_factors(self, result: FootprintResult) -> list[str]:
        """The factor versions behind the result; supplier footprints of lots you cannot see, unnamed."""
        request = self.context.get("request")
        organisation = request_organisation(request) if request is not None else None
        return selectors.factor_references_seen_by(organisation=organisation, references=result.factors)

    def get_flags(self, result: FootprintResult) -> list[str]:
        """Warnings a reader must see next to the number."""
        attributes = result.node.attributes or {}
        flags = []
        generator = attributes.get("generatorMethod")
        if attributes.get("scrapCategory") == "pre_consumer" and generator and generator != result.method:
            # Generator and user account for the same scrap differently: carbon is counted twice or lost.
            flags.append(f"pre_consumer_method_mismatch: generator used {generator}, this result {result.method}")
        return flags

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "bought pre-consumer scrap only (null otherwise): the footprint of the product "
            "whose process generated the scrap, which the allocation method charges it with; source "
            "'supplier' (stated with the receipt) or 'registry_default' (factor: the version used)",
            "properties": {
                "kgPerKg": {"type": "number", "description": "kg CO2e per kg"},
                "source": {"type": "string", "enum": ["supplier", "registry_default"]},
                "factor": {"type": "string", "nullable": True},
            },
        }
    )
    def get_generatorFootprint(self, result: FootprintResult) -> dict[str, object] | None:
        found = selectors.generator_footprint_of(result=result)
        if found is None:
            return None
        return {"kgPerKg": found.kg_per_kg, "source": found.source, "factor": found.factor}

    def get_preConsumerShare(self, result: FootprintResult) -> float:
        return selectors.recycled_shares_of(result=result).pre_consumer

    def get_postConsumerShare(self, result: FootprintResult) -> float:
        return selectors.recycled_shares_of(result=result).post_consumer

    def get_recycledShare(self, result: FootprintResult) -> float:
        return selectors.recycled_shares_of(result=result).recycled

    def get_closedLoopShare(self, result: FootprintResult) -> float | None:
        """Share from end-of-life vehicles of the make the part is for (its ``oem`` attribute)."""
        return selectors.recycled_shares_of(result=result).closed_loop

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number"}})
    def get_postConsumerByMake(self, result: FootprintResult) -> dict[str, float]:
        return selectors.recycled_shares_of(result=result).post_consumer_by_make


class FootprintView(APIView):
    @extend_schema(
        parameters=[
            OBJECT_REFERENCE_PARAMETER,
            OpenApiParameter("method", str, enum=list(METHODS), description="omit for every method"),
            OpenApiParameter("chain", str, enum=list(CHAINS_OF_CUSTODY), description="omit for both"),
        ],
        responses=FootprintSerializer(many=True),
        summary="Footprint and recycled-content shares of an object, per method and chain of custody",
    )
    def get(self, request: Request, ref: str) -> Response:
        visible = visibility.objects_visible_to(organisation=request_organisation(request))
        node = visible.filter(object_reference(ref)).first()
        if node is None:
            raise ApplicationError("not_found", "no such object among those you may read", status=404)
        results = selectors.footprints_of(node=node).select_related("node")
        method, chain = request.query_params.get("method"), request.query_params.get("chain")
        if (method and method not in METHODS) or (chain and chain not in CHAINS_OF_CUSTODY):
            raise ApplicationError("method_unknown", f"method in {METHODS}, chain in {CHAINS_OF_CUSTODY}")
        if method:
            results = results.filter(method=method)
        if chain:
            results = results.filter(chain=chain)
        if not results:
            selectors.footprint_get(node=node, method=method or METHODS[0], chain=chain or CHAINS_OF_CUSTODY[0])
        return Response(FootprintSerializer(results, many=True, context={"request": request}).data)


class VisibleLotField(serializers.PrimaryKeyRelatedField):
    """A lot among those the caller can see: one it cannot see is refused exactly as one that does
    not exist, so binding a factor does not tell whether an object id exists."""

    def get_queryset(self) -> QuerySet[TraceableObject]:
        request = self.context.get("request")
        organisation = request_organisation(request) if request is not None else None
        if organisation is None:
            return TraceableObject.objects.none()
        return visibility.objects_visible_to(organisation=organisation)


class FactorSerializer(serializers.ModelSerializer):
    lot = VisibleLotField(required=False, allow_null=True)
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = EmissionFactor
        fields = [
            "id",
            "code",
            "region",
            "lot",
            "version",
            "value",
            "unit",
            "valid_from",
            "valid_to",
            "source",
            "supersedes",
            "created_at",
        ]
        read_only_fields = ["version", "supersedes", "created_at"]
        validators: list = []


class FactorFilterSet(django_filters.FilterSet):
    # By id, among the factors the caller sees: a lot it cannot see matches nothing, as a missing one does.
    lot = django_filters.NumberFilter(field_name="lot_id")

    class Meta:
        model = EmissionFactor
        fields = ["code", "region", "lot"]


class FactorListView(generics.ListAPIView):
    """Current factor versions; ``?all=1`` includes superseded ones."""

    serializer_class = FactorSerializer
    filterset_class = FactorFilterSet

    def get_queryset(self) -> QuerySet[EmissionFactor]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return EmissionFactor.objects.none()
        return selectors.factors_visible_to(
            organisation=request_organisation(self.request), every_version=bool(self.request.query_params.get("all"))
        )

    @extend_schema(
        request=FactorSerializer,
        responses={201: FactorSerializer},
        summary="Add a factor, or a new version that supersedes the current one",
    )
    def post(self, request: Request) -> Response:
        payload = FactorSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        factor = services.factor_add(
            **payload.validated_data,
            # The service decides who may write what (the operator organisation: registry defaults).
            organisation=request_organisation(request),
        )
        return Response(FactorSerializer(factor).data, status=status.HTTP_201_CREATED)


class BatteryFootprintView(APIView):
    @extend_schema(
        parameters=[
            OBJECT_REFERENCE_PARAMETER,
            OpenApiParameter("method", str, enum=list(METHODS), default="cut_off"),
            OpenApiParameter(
                "vehicle_category",
                str,
                default="M1",
                description="a category with cycles-per-year and service-years rows in the registry "
                "(shipped: M1, N1, L, M2, M3, N2, N3); another answers 400 with the known list",
            ),
        ],
        responses={200: dict},
        summary="Battery footprint per kWh of lifetime energy (Art. 7) and recycled content against Art. 8",
    )
    def get(self, request: Request, ref: str) -> Response:
        visible = visibility.objects_visible_to(organisation=request_organisation(request))
        battery = visible.filter(object_reference(ref)).first()
        if battery is None:
            raise ApplicationError("not_found", "no such object among those you may read", status=404)
        method = request.query_params.get("method", "cut_off")
        if method not in METHODS:
            raise ApplicationError("method_unknown", f"method in {METHODS}")
        category = request.query_params.get("vehicle_category", "M1")
        return Response(services.battery_footprint(battery=battery, method=method, vehicle_category=category))


class WeekPointSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="the Monday of the week (UTC)")
    kg = serializers.FloatField(help_text="mass of the melts and castings made that week")
    recycledShare = serializers.FloatField(
        source="recycled_share", help_text="their mass-weighted recycled share (pre- plus post-consumer)"
    )
    footprintPerKg = serializers.FloatField(source="footprint_per_kg", help_text="their kg CO2e per kg (cut-off)")


class WeeklySeriesView(APIView):
    @extend_schema(
        responses=WeekPointSerializer(many=True),
        summary="Per week: recycled share and footprint per kg of the melts and castings you made "
        "(cut-off, physical chain of custody), the series the console's dashboard plots",
    )
    def get(self, request: Request) -> Response:
        organisation = request_organisation(request)
        if organisation is None:  # IsOrganisationMember lets none through; the type does not know it
            raise ApplicationError("not_a_member", "sign in as a member of an organisation", status=403)
        series = selectors.dashboard_series(organisation=organisation)
        return Response(WeekPointSerializer(series, many=True).data)


# --- mass-balance accounts of sites -------------------------------------------------------------


def _visible_site(request: Request, pk: int) -> Site:
    site = visibility.sites_visible_to(organisation=request_organisation(request)).filter(pk=pk).first()
    if site is None:
        raise ApplicationError("not_found", "no such site among those you may read", status=404)
    return site


class SiteAccountListView(APIView):
    @extend_schema(
        operation_id="site_accounts_list",
        responses={200: dict},
        summary="A site's mass-balance accounts: one per year it melted, refined or claimed, with its balance",
        description="Read by the site's organisation, regulators and the platform operator. Figures stand at "
        "`ledgerSize`, the ledger position the footprints are computed to.",
    )
    def get(self, request: Request, pk: int) -> Response:
        site = _visible_site(request, pk)
        periods = accounts.account_periods(site=site)
        return Response({"site": site.pk, "periods": [accounts.statement_json(p, entries=False) for p in periods]})


class SiteAccountView(APIView):
    @extend_schema(
        operation_id="site_account_retrieve",
        responses={200: dict},
        summary="A site's mass-balance account for one year: credits by melt, claims by lot, running balance",
        description="Credits enter with each remelting or refining's recycled inputs, net of losses, in "
        "output-equivalent kg; each recycled-content claim draws them down. `available` is what may be claimed now.",
    )
    def get(self, request: Request, pk: int, period: str) -> Response:
        site = _visible_site(request, pk)
        return Response(accounts.statement_json(accounts.account_statement(site=site, period=period), entries=True))

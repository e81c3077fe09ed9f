"""Passport pages. The public passport page: no login, behind a QR code, at ``/passport/{id}``,
where the GS1 Digital Link (``/01/{gtin}/21/{serial}``, ``passport.web.resolver``) leads.

One view serves people and machines: a browser gets the page, ``Accept: application/json``
(or ``?format=json``) gets the same JSON as ``/api/v1/passports/{id}``. Signed-in readers
and API keys read at their tier, anyone else at the public tier (Annex XIII).

The recycler console's passport pages (``/app/passports/``, ``/app/audit/``) are for signed-in
members of an organisation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon.choices import CHAIN_NAMES, METHOD_NAMES
from carbon.factors import FactorBook
from carbon.web import charts
from carbon.web.panels import stage_rows
from passport import labels, parts, reports, selectors
from passport.api.views import credential_answer, passport_payload
from passport.choices import ARTICLE_8_METALS, TIER_ORDER
from passport.export import audit_export_lines, audit_export_plan, audit_selection
from passport.models import Passport
from passport.part_credentials import part_credential
from passport.qr import qr_code
from passport.resolver import digital_link_path
from passport.schemas import ASPECTS
from passport.tiers import tier_rank
from passport.verify.format import MEDIA_TYPE
from traceability import figures
from traceability.api.authentication import request_organisation
from traceability.choices import OrganisationRole
from traceability.credentials.selectors import credential_url
from traceability.credentials.views import PAGE_MEDIA_TYPES, CredentialOrPage, credential_asked, credential_response
from traceability.errors import ApplicationError
from traceability.models import Organisation
from traceability.tlog.proofs import ledger_proof, served_document
from traceability.web.facts import words
from traceability.web.views import member_required, paged

ARTICLE_8_SYMBOLS = {name: symbol for symbol, name in ARTICLE_8_METALS.items()}
MINIMUM_YEARS = ("2031", "2036")
STAGE_NAMES = {
    "RawMaterialExtraction": "Raw material acquisition",
    "MainProduction": "Main production",
    "Distribution": "Distribution",
    "Recycling": "End of life and recycling",
}
QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# A part's provenance origins (``passport.parts``), in words.
ORIGIN_NAMES = {
    "vehicle": "End-of-life vehicles",
    "post_consumer": "Post-consumer scrap",
    "pre_consumer": "Pre-consumer scrap",
    "internal": "Run-around scrap",
    "primary": "Primary aluminium",
    "alloying": "Alloying additions",
}


def origin_name(origin: str) -> str:
    return ORIGIN_NAMES.get(origin, origin.replace("_", " ").capitalize())


def resolver_root(request: HttpRequest) -> str:
    """The resolver's scheme and host: ``PASSPORT_BASE_URL`` if set, else the request's own."""
    base = settings.PASSPORT_BASE_URL.rstrip("/")
    return base or request.build_absolute_uri("/").rstrip("/")


def public_url(request: HttpRequest, passport: Passport) -> str:
    """The URL the QR code carries: the Digital Link if there is one, on the resolver's host."""
    return resolver_root(request) + (digital_link_path(passport) or f"/passport/{passport.pk}")


def footprint_chart(document: dict[str, object]) -> str | None:
    aspect = document.get("CarbonFootprintForBatteries")
    stages = aspect.get("carbonFootprintPerLifecycleStage") if isinstance(aspect, dict) else None
    if not stages:
        return None
    rows = [
        (
            STAGE_NAMES.get(str(stage.get("lifecycleStage")), str(stage.get("lifecycleStage"))),
            float(stage["carbonFootprint"]),
        )
        for stage in stages
        if isinstance(stage, dict) and isinstance(stage.get("carbonFootprint"), int | float)
        for name in [str(stage.get("lifecycleStage", ""))]
    ]
    title = "Carbon footprint by lifecycle stage"
    return charts.bar_chart(rows, unit="kg CO2e/kWh", title=title, value_format=figures.intensity) if rows else None


def recycled_chart(document: dict[str, object], book: FactorBook) -> str | None:
    aspect = document.get("Circularity")
    contents = aspect.get("recycledContent") if isinstance(aspect, dict) else None
    if not contents:
        return None
    minimums = {year: book.by_region(f"recycled_content_minimum_{year}") for year in MINIMUM_YEARS}
    bars = []
    for content in contents:
        if not isinstance(content, dict):
            continue
        material = str(content.get("recycledMaterial", ""))
        symbol = ARTICLE_8_SYMBOLS.get(material)
        bars.append(
            charts.RecycledBar(
                material=f"{material} ({symbol})" if symbol else material,
                pre_consumer_pct=float(content.get("preConsumerShare") or 0),
                post_consumer_pct=float(content.get("postConsumerShare") or 0),
                minimums_pct={
                    year: by_metal[symbol] * 100 for year, by_metal in minimums.items() if symbol in by_metal
                },
            )
        )
    title = "Recycled content against the Art. 8 minimums"
    return charts.recycled_chart(bars, title=title) if bars else None


@extend_schema(exclude=True)  # the same JSON as /api/v1/passports/{id}, documented there
class PassportPageView(APIView):
    """A passport for people (HTML) and machines (JSON), by id."""

    permission_classes = [AllowAny]
    renderer_classes = [TemplateHTMLRenderer, JSONRenderer]
    content_negotiation_class = CredentialOrPage
    template_name = "passport/passport.html"

    def get(self, request: Request, reference: str) -> HttpResponse:
        if credential_asked(request.headers.get("Accept", ""), others=PAGE_MEDIA_TYPES):
            return credential_answer(request, selectors.passport_get(reference=reference))
        html = request.accepted_renderer.format == "html"
        try:
            passport = selectors.passport_get(reference=reference)
            allowed = selectors.reader_tier(organisation=request_organisation(request), passport=passport)
            tier = selectors.read_tier(allowed=allowed, requested=request.query_params.get("tier"))
            version = selectors.passport_version_get(passport=passport)
        except ApplicationError as exc:
            if not html:
                raise
            return Response({"error": exc}, status=exc.status, template_name="passport/passport_missing.html")
        payload = passport_payload(passport, version, tier)
        view = payload["passport"]
        if not html:
            return Response(served_document(payload))  # the page itself shows it; only the JSON is signed
        return Response(
            {
                "passport": passport,
                "version": version,
                "tier": tier,
                "tiers": [each for each in TIER_ORDER if tier_rank(each) <= tier_rank(allowed)],
                "digest": version.tier_digests[tier],
                "aspects": [(words(aspect), labels.rows(view[aspect])) for aspect in ASPECTS if aspect in view],
                "footprint_chart": footprint_chart(view),
                "recycled_chart": recycled_chart(view, FactorBook.load()),
                "public_url": public_url(request, passport),
                "successors": list(passport.successors.order_by("created_at")),
                "ledger_proof": payload["ledgerProof"],
                "ledger_proof_reason": payload.get("ledgerProofReason", ""),
                "credentials": [
                    {
                        "title": selectors.CLAIM_TITLES[selectors.credential_claim(credential)],
                        "state": credential.get_state_display(),
                        "url": credential_url(credential),
                        "issuer": credential.organisation.name,
                    }
                    for credential in selectors.version_credentials(version=version)
                ],
            }
        )


class PartPassportView(APIView):
    """A die-cast part's passport for people (HTML) and machines (JSON); ``Accept:
    application/vc+jwt`` or ``application/vc`` gets its UNTP product passport credential."""

    permission_classes = [AllowAny]
    renderer_classes = [TemplateHTMLRenderer, JSONRenderer]
    content_negotiation_class = CredentialOrPage
    template_name = "passport/part.html"

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="A die-cast part's passport: shares per chain of custody, footprint per method, provenance",
    )
    def get(self, request: Request, pk: int) -> Response:
        html = request.accepted_renderer.format == "html"
        try:
            part = parts.cast_part_get(pk=pk)
        except ApplicationError as exc:
            if not html:
                raise
            return Response({"error": exc}, status=exc.status, template_name="passport/passport_missing.html")
        accept = request.headers.get("Accept", "")
        if credential_asked(accept, others=PAGE_MEDIA_TYPES):
            return credential_response(part_credential(part=part), accept=accept)  # type: ignore[return-value]
        reader = request_organisation(request)
        document = parts.part_passport(part=part, reader=reader)
        detailed = parts.may_see_sources(organisation=reader, part=part)
        if not html:
            # The part passport is assembled on read: its proof is of the casting event it derives from.
            return Response(served_document({**document, **ledger_proof(seq=part.created_seq)}))
        footprint: dict[str, dict[str, object]] = document["footprint"]  # type: ignore[assignment]
        provenance: dict[str, object] = document["provenance"]  # type: ignore[assignment]
        by_origin: dict[str, float] = provenance["kgByOrigin"]  # type: ignore[assignment]
        for source in provenance.get("sources") or []:  # type: ignore[attr-defined]
            source["origin_name"] = origin_name(source["origin"])
        recycled: dict[str, dict[str, float]] = document["recycledContent"]  # type: ignore[assignment]
        return Response(
            {
                "part": part,
                "part_type": str(document["partType"] or "part").replace("_", " "),
                "document": document,
                "detailed": detailed,
                "footprint_chart": charts.bar_chart(
                    [(METHOD_NAMES.get(m, m), float(f["totalPerKg"])) for m, f in footprint.items()],  # type: ignore[arg-type]
                    unit="kg CO2e/kg",
                    title="Carbon footprint per kg, by method",
                    value_format=figures.intensity,
                )
                if footprint
                else None,
                "stages": (stages := stage_rows([f["perKg"] for f in footprint.values()])),  # type: ignore[misc]
                "unassessed": any(value is None for _, values in stages for value in values),
                "methods": [METHOD_NAMES.get(m, m) for m in footprint],
                "totals": [(f["totalPerKg"], f["totalKg"]) for f in footprint.values()],
                "recycled_chart": charts.recycled_chart(
                    [
                        charts.RecycledBar(
                            material=CHAIN_NAMES.get(chain, chain),
                            pre_consumer_pct=shares["preConsumer"] * 100,
                            post_consumer_pct=shares["postConsumer"] * 100,
                            minimums_pct={},
                            recycled_pct=shares["recycled"] * 100,
                        )
                        for chain, shares in recycled.items()
                    ],
                    title="Recycled content by chain of custody",
                )
                if recycled
                else None,
                "recycled": [(CHAIN_NAMES.get(chain, chain), shares) for chain, shares in recycled.items()],
                "origins": [(origin_name(origin), origin, kg) for origin, kg in by_origin.items()],
                "origins_kg": sum(by_origin.values()),
            }
        )


INDEX_PAGE_SIZE = 25


def passport_index(request: HttpRequest) -> HttpResponse:
    """Every passport, newest first, searchable by battery identifier, GTIN or serial number."""
    query = request.GET.get("q", "").strip()
    passports = Passport.objects.select_related("battery").order_by("-created_at")
    if query:
        passports = passports.filter(
            Q(battery__identifier__icontains=query)
            | Q(battery__attributes__serialNumber=query)
            | Q(battery__attributes__gtin=query)
        )
    page = Paginator(passports, INDEX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "passport/index.html", {"page": page, "query": query})


def passport_qr(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    """The passport's QR code, SVG or PNG, encoding its public URL."""
    try:
        passport = selectors.passport_get(reference=reference)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(qr_code(public_url(request, passport), kind=kind), content_type=QR_TYPES[kind])
    response["Content-Disposition"] = f'inline; filename="passport-{passport.pk}.{kind}"'
    return response


# --- the recycler console ----------------------------------------------------------------------


@member_required
def passport_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    passports = selectors.passports_search(organisation=organisation, query=query)
    return render(
        request,
        "web/passport_list.html",
        {**paged(request, passports), "query": query, "tiers": TIER_ORDER},
    )


@member_required
def audit(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    """The regulator's audit export: pick a selection, download the file ``export_audit`` writes."""
    regulator = organisation.role == OrganisationRole.REGULATOR
    if regulator and "download" in request.GET:
        values = {name: request.GET.get(name, "").strip() or None for name in ("organisation", "since", "until")}
        try:
            plan = audit_export_plan(selection=audit_selection(**values))
        except ApplicationError as error:
            messages.error(request, f"{error.code}: {error.message}")
            return redirect("web:audit")
        response = StreamingHttpResponse(audit_export_lines(plan), content_type=MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
        return response
    return render(
        request,
        "web/audit.html",
        {
            "regulator": regulator,
            "organisations": Organisation.objects.order_by("slug").values_list("slug", "name") if regulator else [],
        },
        status=200 if regulator else 403,
    )


REPORT_TITLES = {
    "recycled-content": (
        "Recycled content (Art. 8)",
        "Each battery's declared pre- and post-consumer recycled shares of cobalt, lead, lithium and nickel "
        "against the minimums in force for its year of manufacture.",
    ),
    "recycling": (
        "Recycling efficiency and material recovery (Annex XII)",
        "Per recycler and year: the efficiency of its battery recycling and the recovery of each material "
        "against the Annex XII targets.",
    ),
}


@member_required
def regulator_reports(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    """The regulator's reports, as ``manage.py regulator_report`` and the API write them, for a year or all."""
    regulator = organisation.role == OrganisationRole.REGULATOR
    if regulator and "report" in request.GET:
        year_text = request.GET.get("year", "").strip()
        try:
            year = int(year_text) if year_text else None
            file_format = reports.checked_format(request.GET.get("format", "csv"))
            built = reports.report_build(name=request.GET["report"], year=year)
        except ValueError:
            messages.error(request, f"year_invalid: {year_text!r} is not a year")
            return redirect("web:reports")
        except ApplicationError as error:
            messages.error(request, f"{error.code}: {error.message}")
            return redirect("web:reports")
        response = HttpResponse(
            reports.report_bytes(built, file_format=file_format), content_type=reports.MEDIA_TYPES[file_format]
        )
        response["Content-Disposition"] = f'attachment; filename="{built.filename_stem}.{file_format}"'
        return response
    return render(
        request,
        "web/reports.html",
        {
            "regulator": regulator,
            "reports": [(name, *REPORT_TITLES[name]) for name in reports.REPORTS],
            "year": timezone.now().year - 1,
        },
        status=200 if regulator else 403,
    )

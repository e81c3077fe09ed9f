"""Ledger API: thin views that validate input, call a service or selector, serialise."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability import events, selectors, services, visibility
from traceability.api import serializers as s
from traceability.api.authentication import request_organisation
from traceability.errors import ApplicationError
from traceability.ledger.signing import b64encode
from traceability.models import LedgerEntry, SigningKey, Site
from traceability.writer import SubmittedDocument


def _document_reader(request: Request):  # type: ignore[no-untyped-def]
    reader = request_organisation(request)
    return lambda entry: visibility.may_read_documents_of(reader=reader, owner_id=entry.organisation_id)


class HealthView(APIView):
    """A constant answer through the whole stack (routing, middleware, DRF), for load balancers;
    the load benchmark's baseline."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Liveness: a constant JSON answer")
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class CheckpointView(APIView):
    """GET serves the latest stored checkpoint to anyone (checkpoints are meant to be gossiped) and
    signs nothing; POST signs the current tree head, as Celery beat and ``ledger_checkpoint`` do."""

    def _reading(self) -> bool:
        # The schema generator asks for authenticators and permissions without a request at first.
        return getattr(self.request, "method", None) == "GET"

    def get_authenticators(self):  # type: ignore[no-untyped-def]
        # Reading needs no credentials, and a stale or wrong one must not turn it into a 401.
        return [] if self._reading() else super().get_authenticators()

    def get_permissions(self):  # type: ignore[no-untyped-def]
        return [AllowAny()] if self._reading() else super().get_permissions()

    @extend_schema(
        responses={200: s.CheckpointSerializer, 404: OpenApiTypes.OBJECT},
        summary="The latest signed checkpoint (C2SP signed note)",
    )
    def get(self, request: Request) -> Response:
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise ApplicationError("checkpoint_missing", "no checkpoint has been signed yet", status=404)
        return Response(s.CheckpointSerializer(checkpoint).data)

    @extend_schema(
        request=None,
        responses={201: s.CheckpointSerializer, 403: OpenApiTypes.OBJECT},
        summary="Sign the current tree head (platform operator; the existing one if the tree has not grown)",
    )
    def post(self, request: Request) -> Response:
        # The platform's key signs every checkpoint, so only its operator may ask; the web admin's
        # staff flag is held by partners' users too, so it is not enough.
        if not visibility.is_platform_operator(request.user):
            raise ApplicationError("role_not_allowed", "checkpoints are signed by the platform operator", status=403)
        checkpoint = services.ledger_checkpoint_create()
        return Response(s.CheckpointSerializer(checkpoint).data, status=status.HTTP_201_CREATED)


class BatchCreateView(APIView):
    @extend_schema(
        request=s.BatchSerializer,
        responses={201: s.LedgerEntrySerializer(many=True)},
        summary="Append many documents atomically: all or none",
    )
    def post(self, request: Request) -> Response:
        payload = s.BatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        items = [SubmittedDocument(**item) for item in payload.validated_data["entries"]]
        entries = events.ledger_append_batch(organisation=request_organisation(request), items=items)
        context = {"readable_documents": _document_reader(request)}
        return Response(
            s.LedgerEntrySerializer(entries, many=True, context=context).data, status=status.HTTP_201_CREATED
        )


def _inclusion_proof(seq: int, tree_size: int | None) -> dict[str, object]:
    """Entry ``seq``'s inclusion proof against ``tree_size``; by default the latest signed checkpoint
    if it covers the entry, else the current tree, unsigned."""
    checkpoint = None
    if tree_size is None:
        # A read signs nothing: the latest signed checkpoint proves the entry when it covers
        # it; an entry newer than that is proven against the current tree, unsigned, until
        # the next checkpoint (beat, the command or a POST) covers it.
        latest = selectors.checkpoint_latest()
        if latest is not None and latest.tree_size >= seq:
            checkpoint, tree_size = latest, latest.tree_size
        else:
            tree_size = selectors.ledger_size()
    proof = selectors.inclusion_proof(seq=seq, tree_size=tree_size)
    return {
        "treeSize": tree_size,
        "leafIndex": seq - 1,
        "hashes": [b64encode(h) for h in proof],
        "checkpoint": s.CheckpointSerializer(checkpoint).data if checkpoint else None,
    }


TREE_SIZE_PARAMETER = OpenApiParameter(
    "tree_size",
    int,
    description="prove against this size (default: the latest checkpoint if it covers the entry, "
    "else the current tree, with no checkpoint)",
)


def _requested_proof(request: Request, seq: int) -> dict[str, object]:
    """The inclusion proof of entry ``seq`` against the ``tree_size`` the request asks for, if any."""
    query = s.ProofQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return _inclusion_proof(seq, query.validated_data.get("tree_size"))


class EntryDetailView(APIView):
    @extend_schema(
        parameters=[TREE_SIZE_PARAMETER],
        responses=s.EntryWithProofSerializer,
        summary="One ledger entry with its RFC 9162 inclusion proof",
    )
    def get(self, request: Request, seq: int) -> Response:
        entry = selectors.ledger_entry_get(seq=seq)
        proof = _requested_proof(request, seq)
        context = {"readable_documents": _document_reader(request)}
        return Response({"entry": s.LedgerEntrySerializer(entry, context=context).data, "inclusionProof": proof})


# Proofs are public, like the signed checkpoint they prove against: they are Merkle hashes of
# entries, which reveal nothing of any document, and whoever holds an old checkpoint, or an entry
# it was given (a passport's, an audit export's), must be able to demand the proof without an
# account on the platform. Entries themselves (recorder, kind, times) stay members' reading.


class EntryProofView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[TREE_SIZE_PARAMETER],
        responses=s.InclusionProofSerializer,
        summary="RFC 9162 inclusion proof of one entry (public: hashes only)",
    )
    def get(self, request: Request, seq: int) -> Response:
        return Response(_requested_proof(request, seq))


class ConsistencyView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[s.ConsistencyQuerySerializer],
        responses=s.ConsistencyProofSerializer,
        summary="RFC 9162 consistency proof between two tree sizes (public: hashes only)",
    )
    def get(self, request: Request) -> Response:
        query = s.ConsistencyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, second = query.validated_data["first"], query.validated_data["second"]
        proof = selectors.consistency_proof(first=first, second=second)
        return Response({"first": first, "second": second, "hashes": [b64encode(h) for h in proof]})


class SigningKeyListView(generics.ListAPIView):
    # Public keys are what outsiders verify signatures and checkpoints with.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    serializer_class = s.SigningKeySerializer
    filterset_fields = ["organisation__slug", "custody"]

    def get_queryset(self) -> QuerySet[SigningKey]:
        return selectors.signing_keys_list()


class EntryListCreateView(generics.ListAPIView):
    """GET: entries in ``seq`` order, documents only where the caller may read them. POST: append one."""

    serializer_class = s.LedgerEntrySerializer
    filterset_fields = ["kind", "organisation__slug"]

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return LedgerEntry.objects.select_related("organisation").order_by("seq")

    def get_serializer_context(self):  # type: ignore[no-untyped-def]
        return {**super().get_serializer_context(), "readable_documents": _document_reader(self.request)}

    @extend_schema(
        request=s.SubmittedDocumentSerializer,
        responses={201: s.LedgerEntrySerializer},
        summary="Append one document, signed client-side or custodially",
    )
    def post(self, request: Request) -> Response:
        payload = s.SubmittedDocumentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        entry = events.ledger_append(organisation=request_organisation(request), **payload.validated_data)
        context = {"readable_documents": _document_reader(request)}
        return Response(s.LedgerEntrySerializer(entry, context=context).data, status=status.HTTP_201_CREATED)


SITE_EXAMPLE = {
    "id": 12,
    "organisation": "nordic-remelt",
    "name": "Sundsvall remelt",
    "country": "NO",
    "gridRegion": "NO",
    "electricityRegion": "NO",
    "address": "Industrivägen 4, Sundsvall",
    "gln": "",
}


class VisibleSites(generics.GenericAPIView):
    serializer_class = s.SiteSerializer

    def get_queryset(self) -> QuerySet[Site]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return Site.objects.none()
        return selectors.sites_list(organisation=request_organisation(self.request))


class SiteListCreateView(VisibleSites, generics.ListAPIView):
    """GET: your sites (every site, for regulators and the operator). POST: add one."""

    @extend_schema(
        request=s.SiteCreateSerializer,
        responses={201: s.SiteSerializer},
        summary="Add a site of yours: where you record operations, and whose grid prices their electricity",
        examples=[
            OpenApiExample(
                "A remelter's site in Norway",
                value={"name": "Sundsvall remelt", "country": "NO", "address": "Industrivägen 4, Sundsvall"},
                request_only=True,
            ),
            OpenApiExample("The site", value=SITE_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = s.SiteCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        site = services.site_create(organisation=request_organisation(request), **payload.validated_data)
        return Response(s.SiteSerializer(site).data, status=status.HTTP_201_CREATED)


class SiteDetailView(VisibleSites, generics.RetrieveAPIView):
    """One of your sites; another organisation's answers like a missing one."""

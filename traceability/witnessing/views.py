"""The cosigned checkpoint, for anyone: as a signed note under ``/tlog/`` and as JSON in the API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability import selectors as ledger
from traceability.errors import ApplicationError
from traceability.witnessing.selectors import CosignedCheckpoint, checkpoint_cosigned, checkpoint_witnessed_latest

NOTE_CONTENT_TYPE = "text/plain; charset=utf-8"


@require_safe
def checkpoint_witnessed(request: HttpRequest) -> HttpResponse:
    """The newest checkpoint that meets the witness policy, with its cosignature lines appended."""
    cosigned = checkpoint_witnessed_latest()
    if cosigned is None:
        return HttpResponse("no checkpoint meets the witness policy yet\n", status=404, content_type="text/plain")
    response = HttpResponse(cosigned.note, content_type=NOTE_CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    return response


def _as_json(cosigned: CosignedCheckpoint) -> dict[str, object]:
    return {
        "treeSize": cosigned.checkpoint.tree_size,
        "rootHash": cosigned.checkpoint.root_hash,
        "createdAt": cosigned.checkpoint.created_at.isoformat(),
        "note": cosigned.note,
        "cosignatures": [{"witness": name, "cosignedAt": when} for name, when in cosigned.witnesses],
        "policyMet": cosigned.policy_met,
    }


class WitnessedCheckpointView(APIView):
    """The latest checkpoint with its witnesses' cosignatures and whether they meet the policy, and
    the newest checkpoint that does meet it. Public, like checkpoints themselves."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        summary="The latest checkpoint with its witness cosignatures (C2SP tlog-cosignature)",
    )
    def get(self, request: Request) -> Response:
        latest = ledger.checkpoint_latest()
        if latest is None:
            raise ApplicationError("checkpoint_missing", "no checkpoint has been signed yet", status=404)
        witnessed = checkpoint_witnessed_latest()
        return Response(
            {
                "latest": _as_json(checkpoint_cosigned(latest)),
                "witnessed": _as_json(witnessed) if witnessed else None,
            }
        )

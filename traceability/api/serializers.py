import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from traceability.ledger.signing import b64encode
from traceability.models import Checkpoint, LedgerEntry, SigningKey, Site
from traceability.writer import MAX_BATCH_DOCUMENTS


class SubmittedDocumentSerializer(serializers.Serializer):
    document = serializers.JSONField(help_text="An EPCIS 2.0 event (JSON object).")
    signature = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Base64 Ed25519 signature over the document's RFC 8785 canonical form. "
        "Omit it to have the platform sign with the organisation's custodial key.",
    )
    keyId = serializers.CharField(required=False, allow_null=True, max_length=64, source="key_id")

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if attrs.get("signature") and not attrs.get("key_id"):
            raise serializers.ValidationError({"keyId": "required with a signature"})
        return attrs


class BatchSerializer(serializers.Serializer):
    entries = SubmittedDocumentSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_DOCUMENTS)


class LedgerEntrySerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    recordedAt = serializers.DateTimeField(source="recorded_at")
    keyId = serializers.CharField(source="key_id")
    prevHash = serializers.CharField(source="prev_hash")
    entryHash = serializers.CharField(source="entry_hash")
    document = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = [
            "seq",
            "kind",
            "organisation",
            "recordedAt",
            "digest",
            "keyId",
            "signature",
            "prevHash",
            "entryHash",
            "document",
        ]

    @extend_schema_field({"type": "object", "nullable": True, "description": "null when not yours to read"})
    def get_document(self, entry: LedgerEntry):  # type: ignore[no-untyped-def]
        # Fails closed: without the view's reader (visibility.may_read_documents_of), no document.
        readable = self.context.get("readable_documents")
        if readable is None or not readable(entry):
            return None
        return json.loads(entry.document)


class CheckpointSerializer(serializers.ModelSerializer):
    treeSize = serializers.IntegerField(source="tree_size")
    rootHash = serializers.CharField(source="root_hash", help_text="hex")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Checkpoint
        fields = ["treeSize", "rootHash", "createdAt", "note"]


class SigningKeySerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    keyId = serializers.CharField(source="key_id")
    publicKey = serializers.SerializerMethodField()
    validFrom = serializers.DateTimeField(source="valid_from")
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    registeredSeq = serializers.IntegerField(source="registered_seq")
    revokedSeq = serializers.IntegerField(source="revoked_seq", allow_null=True)

    class Meta:
        model = SigningKey
        fields = [
            "organisation",
            "keyId",
            "publicKey",
            "custody",
            "validFrom",
            "revokedAt",
            "registeredSeq",
            "revokedSeq",
        ]

    def get_publicKey(self, key: SigningKey) -> str:
        return b64encode(bytes(key.public_key))


class InclusionProofSerializer(serializers.Serializer):
    treeSize = serializers.IntegerField()
    leafIndex = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="base64, RFC 9162 order")
    checkpoint = CheckpointSerializer(allow_null=True)


class EntryWithProofSerializer(serializers.Serializer):
    entry = LedgerEntrySerializer()
    inclusionProof = InclusionProofSerializer()


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="base64, RFC 9162 order")


class ProofQuerySerializer(serializers.Serializer):
    tree_size = serializers.IntegerField(required=False, min_value=1)


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=0)
    second = serializers.IntegerField(min_value=0)


class SiteSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    gridRegion = serializers.CharField(
        source="grid_region", help_text="the factor registry's electricity region; blank: its default"
    )
    electricityRegion = serializers.CharField(
        source="electricity_region", help_text="the region the electricity factor is looked up for"
    )

    class Meta:
        model = Site
        fields = ["id", "organisation", "name", "country", "gridRegion", "electricityRegion", "address", "gln"]
        read_only_fields = fields


class SiteCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=Site._meta.get_field("name").max_length)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE")
    gridRegion = serializers.CharField(
        source="grid_region",
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=Site._meta.get_field("grid_region").max_length,
        help_text="a region of the registry's electricity factors (GET /api/v1/factors?code=electricity_grid); "
        "omitted: the country's, else the registry's default",
    )
    address = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=Site._meta.get_field("address").max_length
    )

from django.contrib import admin

from traceability import visibility
from traceability.models import (
    AlloySpecification,
    ApiCredential,
    Checkpoint,
    EventRecord,
    LedgerEntry,
    MassFlow,
    Membership,
    Organisation,
    SigningKey,
    Site,
    TraceableObject,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger facts are written by services only; the admin shows them."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class MemberReadable:
    """Any staff member of an organisation may look (what they see is filtered by ``get_queryset``)."""

    def has_view_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):  # type: ignore[no-untyped-def]
        return request.user.is_active and request.user.is_staff


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["slug", "name"]
    readonly_fields = ["slug", "role"]
    inlines = [SiteInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        # Organisations are registered through create_partner: that writes their ledger fact.
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "organisation__slug"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "organisation", "custody", "valid_from", "revoked_at", "registered_seq"]
    list_filter = ["custody", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["key_id", "organisation__slug"]
    exclude = ["encrypted_private_key", "public_key"]


@admin.register(ApiCredential)
class ApiCredentialAdmin(ReadOnlyAdmin):
    list_display = ["client_id", "organisation", "created_at", "revoked_at"]
    list_select_related = ["organisation"]
    exclude = ["secret_hash"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(MemberReadable, ReadOnlyAdmin):
    list_display = ["seq", "kind", "organisation", "recorded_at", "entry_hash"]
    list_filter = ["kind", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["entry_hash", "digest"]
    show_full_result_count = False


@admin.register(Checkpoint)
class CheckpointAdmin(MemberReadable, ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "created_at"]


def _member_organisation(request):  # type: ignore[no-untyped-def]
    if request.user.is_superuser:
        return None
    membership = getattr(request.user, "membership", None)
    return membership.organisation if membership else None


class MassInline(admin.TabularInline):
    model = MassFlow
    fk_name = "target"
    fields = ["source", "kg", "seq"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "input (mass flow)"
    verbose_name_plural = "inputs (mass flows in)"

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(TraceableObject)
class TraceableObjectAdmin(MemberReadable, ReadOnlyAdmin):
    """Items and lots are projections of the ledger: read-only here, changed only by operations."""

    list_display = ["label", "kind", "status", "custodian", "remaining_kg", "initial_kg", "created_at"]
    list_filter = ["kind", "status", "custodian", "created_by"]
    list_select_related = ["custodian"]
    search_fields = ["label", "identifier"]
    date_hierarchy = "created_at"
    inlines = [MassInline]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        organisation = _member_organisation(request)
        if organisation is None:
            return super().get_queryset(request)
        return visibility.objects_visible_to(organisation=organisation)


@admin.register(EventRecord)
class EventRecordAdmin(MemberReadable, ReadOnlyAdmin):
    list_display = ["entry", "operation", "event_time", "organisation", "site"]
    list_filter = ["operation", "organisation"]
    list_select_related = ["organisation", "site", "entry"]
    search_fields = ["operation", "involved__identifier", "involved__label"]
    date_hierarchy = "event_time"
    filter_horizontal = ["involved"]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        organisation = _member_organisation(request)
        if organisation is None:
            return super().get_queryset(request)
        return visibility.events_visible_to(organisation=organisation)


@admin.register(AlloySpecification)
class AlloySpecificationAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "source"]
    search_fields = ["name"]

from django.contrib import admin

from traceability.models import (
    ApiCredential,
    Checkpoint,
    LedgerEntry,
    Membership,
    Organisation,
    SigningKey,
    Site,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger facts are written by services only; the admin shows them."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


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
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "kind", "organisation", "recorded_at", "entry_hash"]
    list_filter = ["kind", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["entry_hash", "digest"]
    show_full_result_count = False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "created_at"]

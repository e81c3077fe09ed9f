from django.contrib import admin

from passport.models import Passport, PassportVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """Passports are written by following the ledger, never by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class VersionInline(admin.TabularInline):
    model = PassportVersion
    fields = ["number", "status", "reason", "digest", "ledger_seq", "basis_seq", "ceased", "issued_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Passport)
class PassportAdmin(ReadOnlyAdmin):
    list_display = ["urn", "battery", "status", "previous", "ceased_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["battery__identifier", "battery__label"]
    readonly_fields = ["urn", "battery", "status", "previous", "ceased_at", "ceased_seq", "problems", "created_at"]
    inlines = [VersionInline]


@admin.register(PassportVersion)
class PassportVersionAdmin(ReadOnlyAdmin):
    list_display = ["passport", "number", "status", "reason", "ledger_seq", "issued_at"]
    list_filter = ["status", "reason", "ceased"]
    search_fields = ["passport__battery__identifier", "digest"]

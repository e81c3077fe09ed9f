"""The Django admin of the passport app (access as ``traceability.admin_access`` decides).
Passports are written by following the ledger, never by hand: read-only for everyone."""

from django.contrib import admin

from passport.choices import AccessTier
from passport.models import Passport, PassportVersion
from passport.selectors import reader_tier
from traceability import visibility
from traceability.admin_access import PolicyAdmin, PolicyInline, member_organisation


def _readable_batteries(organisation):  # type: ignore[no-untyped-def]
    return visibility.objects_visible_to(organisation=organisation).values("pk")


class VersionInline(PolicyInline):
    model = PassportVersion
    fields = ["number", "status", "reason", "digest", "ledger_seq", "basis_seq", "ceased", "issued_at"]
    readonly_fields = fields
    can_delete = False
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(passport__battery__in=_readable_batteries(organisation))


@admin.register(Passport)
class PassportAdmin(PolicyAdmin):
    """A member reads the passports of batteries it may read."""

    list_display = ["urn", "battery", "status", "previous", "ceased_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["battery__identifier", "battery__label"]
    readonly_fields = ["urn", "battery", "status", "previous", "ceased_at", "ceased_seq", "problems", "created_at"]
    inlines = [VersionInline]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(battery__in=_readable_batteries(organisation))


@admin.register(PassportVersion)
class PassportVersionAdmin(PolicyAdmin):
    """The stored document is the authorities' view: shown to readers at that tier only."""

    list_display = ["passport", "number", "status", "reason", "ledger_seq", "issued_at"]
    list_filter = ["status", "reason", "ceased"]
    search_fields = ["passport__battery__identifier", "digest"]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(passport__battery__in=_readable_batteries(organisation))

    def get_exclude(self, request, obj=None):  # type: ignore[no-untyped-def]
        organisation = member_organisation(request)
        if organisation is None or obj is None:
            return super().get_exclude(request, obj)
        if reader_tier(organisation=organisation, passport=obj.passport) == AccessTier.AUTHORITIES:
            return super().get_exclude(request, obj)
        return ["document"]

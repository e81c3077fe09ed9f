"""The Django admin of the carbon app (access as ``traceability.admin_access`` decides)."""

from django.contrib import admin
from django.db.models import Q

from carbon.models import EmissionFactor, FootprintResult
from traceability import visibility
from traceability.admin_access import PolicyAdmin, member_organisation


@admin.register(EmissionFactor)
class EmissionFactorAdmin(PolicyAdmin):
    """Versions are never edited: the operator adds a new one (it supersedes the current version
    of its scope). A member reads the registry defaults and the factors bound to lots it may read;
    it adds supplier footprints over the API or PACT, where ``factor_add`` checks the lot."""

    list_display = ["code", "region", "lot", "version", "value", "unit", "source"]
    list_filter = ["code", "region"]
    search_fields = ["code", "region", "source"]
    readonly_fields = ["version", "supersedes", "created_at"]
    raw_id_fields = ["lot"]
    operator_may_add = True
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        visible = visibility.objects_visible_to(organisation=organisation).values("pk")
        return queryset.filter(Q(lot__isnull=True) | Q(lot__in=visible))

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from carbon.services import factor_add

        saved = factor_add(
            code=obj.code,
            region=obj.region,
            lot=obj.lot,
            value=obj.value,
            unit=obj.unit,
            source=obj.source,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            # Operators write for the platform; anyone else is checked as its organisation.
            organisation=member_organisation(request),
        )
        obj.pk = saved.pk


@admin.register(FootprintResult)
class FootprintResultAdmin(PolicyAdmin):
    list_display = ["node", "method", "chain", "total_per_kg", "pre_consumer_share", "post_consumer_share"]
    list_filter = ["method", "chain"]
    list_select_related = ["node"]
    search_fields = ["node__label", "node__identifier"]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(node__in=visibility.objects_visible_to(organisation=organisation).values("pk"))

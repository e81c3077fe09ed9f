from django.contrib import admin

from carbon.models import EmissionFactor, FootprintResult


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    """Versions are never edited: add a new one (it supersedes the current version of its scope)."""

    list_display = ["code", "region", "lot", "version", "value", "unit", "source"]
    list_filter = ["code", "region"]
    search_fields = ["code", "region", "source"]
    readonly_fields = ["version", "supersedes", "created_at"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

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
        )
        obj.pk = saved.pk


@admin.register(FootprintResult)
class FootprintResultAdmin(admin.ModelAdmin):
    list_display = ["node", "method", "chain", "total_per_kg", "pre_consumer_share", "post_consumer_share"]
    list_filter = ["method", "chain"]
    list_select_related = ["node"]
    search_fields = ["node__label", "node__identifier"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

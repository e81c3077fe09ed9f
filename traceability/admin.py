"""The Django admin of the traceability app. Who sees and changes what is decided in
``traceability.admin_access``: operators everything, members what the visibility policy lets
their organisation read, nothing changed by a member."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Q
from django.utils.html import format_html_join

from traceability import visibility
from traceability.admin_access import OperatorOnly, PolicyAdmin, PolicyInline, is_operator, member_organisation
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
    WitnessCosignature,
)


class OwnOrganisationRows:
    """Members read their own organisation's rows of this model."""

    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(organisation=organisation)


class SiteInline(OwnOrganisationRows, PolicyInline):
    model = Site
    operator_may_add = operator_may_change = True


@admin.register(Organisation)
class OrganisationAdmin(PolicyAdmin):
    """Organisations are registered through ``create_partner`` (that writes their ledger fact):
    nobody adds one here. A member sees its own organisation only."""

    list_display = ["slug", "name", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["slug", "name"]
    readonly_fields = ["slug", "role"]
    inlines = [SiteInline]
    operator_may_change = True
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(pk=organisation.pk)


@admin.register(Membership)
class MembershipAdmin(OwnOrganisationRows, PolicyAdmin):
    """Who acts for which organisation: the operator's to grant; a member sees its colleagues."""

    list_display = ["user", "organisation", "role"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "organisation__slug"]
    operator_may_add = operator_may_change = operator_may_delete = True


@admin.register(SigningKey)
class SigningKeyAdmin(OwnOrganisationRows, PolicyAdmin):
    list_display = ["key_id", "organisation", "custody", "valid_from", "revoked_at", "registered_seq"]
    list_filter = ["custody", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["key_id", "organisation__slug"]
    exclude = ["encrypted_private_key", "public_key"]


@admin.register(ApiCredential)
class ApiCredentialAdmin(OwnOrganisationRows, PolicyAdmin):
    list_display = ["client_id", "organisation", "created_at", "revoked_at"]
    list_select_related = ["organisation"]
    exclude = ["secret_hash"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(PolicyAdmin):
    """A member reads the entries whose documents its organisation may read."""

    list_display = ["seq", "kind", "organisation", "recorded_at", "entry_hash"]
    list_filter = ["kind", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["entry_hash", "digest"]
    show_full_result_count = False
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(pk__in=visibility.ledger_entries_readable_by(organisation=organisation).values("pk"))


@admin.register(Checkpoint)
class CheckpointAdmin(PolicyAdmin):
    """Checkpoints are public (they are meant to be gossiped)."""

    list_display = ["tree_size", "root_hash", "created_at"]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset


@admin.register(WitnessCosignature)
class WitnessCosignatureAdmin(PolicyAdmin):
    """Witnesses' cosignatures of checkpoints: public like the checkpoints, written only by the witnessing task."""

    list_display = ["checkpoint", "key_name", "cosigned_at", "received_at"]
    list_select_related = ["checkpoint"]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset


class MassInline(PolicyInline):
    """The inputs of a lot; a member sees those of its inputs it may read, never another's."""

    model = MassFlow
    fk_name = "target"
    fields = ["source", "kg", "seq"]
    readonly_fields = fields
    can_delete = False
    verbose_name = "input (mass flow)"
    verbose_name_plural = "inputs (mass flows in)"
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset.filter(source__in=visibility.objects_visible_to(organisation=organisation).values("pk"))


@admin.register(TraceableObject)
class TraceableObjectAdmin(PolicyAdmin):
    """Items and lots are projections of the ledger: read-only here, changed only by operations."""

    list_display = ["label", "kind", "status", "custodian", "remaining_kg", "initial_kg", "created_at"]
    list_filter = ["kind", "status", "custodian", "created_by"]
    list_select_related = ["custodian"]
    search_fields = ["label", "identifier"]
    date_hierarchy = "created_at"
    inlines = [MassInline]
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return visibility.objects_visible_to(organisation=organisation)


@admin.register(EventRecord)
class EventRecordAdmin(PolicyAdmin):
    """A member reads the events the policy lets it see; of an event whose document is another
    organisation's, only what the event was and which of the objects it read are involved."""

    list_display = ["entry", "operation", "event_time", "organisation", "site"]
    list_filter = ["operation", "organisation"]
    list_select_related = ["organisation", "site", "entry"]
    search_fields = ["operation", "involved__identifier", "involved__label"]
    date_hierarchy = "event_time"
    filter_horizontal = ["involved"]
    readonly_fields = ["readable_objects"]
    members_read = True
    HEADER = ["entry", "operation", "event_type", "biz_step", "event_time", "organisation", "readable_objects"]

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return visibility.events_visible_to(organisation=organisation)

    def get_list_display(self, request):  # type: ignore[no-untyped-def]
        return self.list_display if is_operator(request) else ["entry", "operation", "event_time", "organisation"]

    def get_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        organisation = member_organisation(request)
        if organisation is None or obj is None:
            return [name for name in super().get_fields(request, obj) if name != "readable_objects"]
        if visibility.may_read_documents_of(reader=organisation, owner_id=obj.organisation_id):
            return [name for name in super().get_fields(request, obj) if name != "involved"]
        return self.HEADER

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        organisation = member_organisation(request)
        if organisation is None or not search_term:
            return super().get_search_results(request, queryset, search_term)
        # A member finds events by the objects it may read: a hit never confirms another's identifier.
        readable = visibility.objects_visible_to(organisation=organisation).filter(
            Q(identifier__icontains=search_term) | Q(label__icontains=search_term)
        )
        return queryset.filter(Q(operation__icontains=search_term) | Q(involved__in=readable.values("pk"))), True

    def get_object(self, request, object_id, from_field=None):  # type: ignore[no-untyped-def]
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            event.reader = member_organisation(request)  # for ``readable_objects``, this request's only
        return event

    @admin.display(description="involved (those you may read)")
    def readable_objects(self, event):  # type: ignore[no-untyped-def]
        objects = event.involved.all()
        reader = getattr(event, "reader", None)
        if reader is not None:
            objects = objects.filter(pk__in=visibility.objects_visible_to(organisation=reader).values("pk"))
        return format_html_join(", ", "{}", ((str(o),) for o in objects))


@admin.register(AlloySpecification)
class AlloySpecificationAdmin(PolicyAdmin):
    """Published composition limits: anyone signed in reads them, the operator maintains them."""

    list_display = ["name", "description", "source"]
    search_fields = ["name"]
    operator_may_add = operator_may_change = operator_may_delete = True
    members_read = True

    def member_rows(self, queryset, organisation):  # type: ignore[no-untyped-def]
        return queryset


# Users and groups are the operator's: a member must never edit users or their rights.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class OperatorUserAdmin(OperatorOnly, UserAdmin):  # type: ignore[type-arg]
    pass


@admin.register(Group)
class OperatorGroupAdmin(OperatorOnly, GroupAdmin):
    pass

"""Who gets what in the Django admin.

Platform operators (``visibility.is_platform_operator``: superusers and the operator
organisation's users) see every row and may change what each model admin allows them to.
An organisation's member (the ``is_staff`` flag lets it sign in) sees only the rows the
visibility policy lets its organisation read, through ``member_rows``, and changes nothing;
a model admin that declares no ``member_rows`` is closed to members. Django's own model
permissions are not consulted: one rule, here, decides.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from traceability import visibility
from traceability.models import Organisation


def is_operator(request: HttpRequest) -> bool:
    return visibility.is_platform_operator(request.user)


def member_organisation(request: HttpRequest) -> Organisation | None:
    """The organisation a member acts for; None for operators and for users of no organisation."""
    if is_operator(request):
        return None
    return visibility.acting_organisation(request.user)


class PolicyAccess:
    """Permissions and rows of one model admin or inline, as the module docstring says."""

    # What operators may do besides reading (ledger facts and projections: nothing).
    operator_may_add = False
    operator_may_change = False
    operator_may_delete = False
    # Whether members read this model at all (the rows ``member_rows`` returns).
    members_read = False

    def member_rows(self, queryset: QuerySet, organisation: Organisation) -> QuerySet:  # type: ignore[type-arg]
        return queryset.none()

    def policy_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:  # type: ignore[type-arg]
        if is_operator(request):
            return queryset
        organisation = member_organisation(request)
        if organisation is None or not self.members_read:
            return queryset.none()
        return self.member_rows(queryset, organisation)

    def _reads(self, request: HttpRequest) -> bool:
        return is_operator(request) or (self.members_read and member_organisation(request) is not None)

    def has_module_permission(self, request):  # type: ignore[no-untyped-def]
        return self._reads(request)

    def has_view_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self._reads(request)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.operator_may_change and is_operator(request)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.operator_may_delete and is_operator(request)


class PolicyAdmin(PolicyAccess, admin.ModelAdmin):  # type: ignore[type-arg]
    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return self.policy_queryset(request, super().get_queryset(request))

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return self.operator_may_add and is_operator(request)


class PolicyInline(PolicyAccess, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return self.policy_queryset(request, super().get_queryset(request))

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.operator_may_add and is_operator(request)


class OperatorOnly(PolicyAccess):
    """Closed to members; operators have every permission (users and groups)."""

    operator_may_add = operator_may_change = operator_may_delete = True

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return self.policy_queryset(request, super().get_queryset(request))  # type: ignore[misc]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return is_operator(request)

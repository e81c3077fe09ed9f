"""Your organisation's page: its API keys, signing keys and members, shown to every member and
changed by its administrators only.

Every change is a POST (with the console's CSRF token) to its own URL, calls one service of
``traceability.self_service`` scoped to the member's organisation (another organisation's key or
member is a 404), and comes back to the page. A new API key's secret is shown once, in the answer
to the POST that made it, and is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from traceability import self_service
from traceability.choices import KeyCustody, MemberRole
from traceability.errors import ApplicationError
from traceability.models import ApiCredential, Membership, Organisation, SigningKey
from traceability.services import api_credential_create

from .views import member_required


class ClientKeyForm(forms.Form):
    public_key = forms.CharField(
        label="Public key",
        max_length=self_service.PUBLIC_KEY_TEXT_MAX,
        help_text="your Ed25519 public key: 64 hex digits, or its 32 bytes in base64",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class MemberForm(forms.Form):
    identifier = forms.CharField(
        label="Username or e-mail", max_length=254, help_text="of a person who already has an account"
    )
    role = forms.ChoiceField(label="Role", choices=MemberRole.choices, initial=MemberRole.MEMBER)


def _page(
    request: HttpRequest,
    organisation: Organisation,
    *,
    status: int = 200,
    secret: str = "",
    problem: ApplicationError | None = None,
    client_key_form: ClientKeyForm | None = None,
    member_form: MemberForm | None = None,
) -> HttpResponse:
    membership = request.user.membership  # type: ignore[union-attr]
    keys = list(SigningKey.objects.filter(organisation=organisation).order_by("revoked_at", "-registered_seq"))
    response = render(
        request,
        "web/organisation.html",
        {
            "is_administrator": membership.is_administrator,
            "api_keys": ApiCredential.objects.filter(organisation=organisation).order_by("revoked_at", "-created_at"),
            "custodial_keys": [key for key in keys if key.custody == KeyCustody.PLATFORM],
            "client_keys": [key for key in keys if key.custody == KeyCustody.CLIENT],
            "members": Membership.objects.filter(organisation=organisation)
            .select_related("user")
            .order_by("user__username"),
            "me": membership.pk,
            "secret": secret,
            "problem": problem,
            "client_key_form": client_key_form or ClientKeyForm(),
            "member_form": member_form or MemberForm(),
        },
        status=status,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


def administrator_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """A POST by an administrator of the member's organisation; a failed rule is shown on the page
    with its status, and another organisation's object is a 404."""

    @require_POST
    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, organisation: Organisation, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.membership.is_administrator:  # type: ignore[union-attr]
            raise PermissionDenied("only your organisation's administrators change its keys and members")
        try:
            return view(request, organisation, *args, **kwargs)
        except ApplicationError as error:
            if error.status == 404:
                raise Http404(error.message) from error
            return _page(request, organisation, status=error.status, problem=error)

    return wrapper


def _confirmed(request: HttpRequest) -> None:
    if request.POST.get("confirm") != "yes":
        raise ApplicationError("confirmation_missing", "tick the box to confirm, then press the button again")


@never_cache
@member_required
def organisation_page(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    return _page(request, organisation)


@administrator_required
def api_key_create(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    credential, secret = api_credential_create(organisation=organisation)
    messages.success(request, f"API key {credential.client_id} created: copy it now, it is shown only once.")
    return _page(request, organisation, status=201, secret=secret)


@administrator_required
def api_key_revoke(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    _confirmed(request)
    credential = self_service.api_credential_revoke(organisation=organisation, credential_id=pk)
    messages.success(request, f"API key {credential.client_id} revoked: it no longer authenticates.")
    return redirect("web:organisation")


@administrator_required
def client_key_register(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    form = ClientKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, organisation, status=422, client_key_form=form)
    try:
        key = self_service.client_key_register(
            organisation=organisation, public_key_text=form.cleaned_data["public_key"]
        )
    except ApplicationError as error:
        form.add_error("public_key", forms.ValidationError(error.message, code=error.code))
        return _page(request, organisation, status=error.status if error.status != 400 else 422, client_key_form=form)
    messages.success(request, f"Client key {key.key_id[:16]}… registered: events signed with it are accepted.")
    return redirect("web:organisation")


@administrator_required
def signing_key_revoke(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    _confirmed(request)
    key = self_service.client_key_revoke(organisation=organisation, key_id=pk)
    messages.success(request, f"Client key {key.key_id[:16]}… revoked: events it signs are refused from now on.")
    return redirect("web:organisation")


@administrator_required
def signing_key_rotate(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    _confirmed(request)
    key = self_service.custodial_key_rotate(organisation=organisation, key_id=pk)
    messages.success(request, f"Custodial key rotated: your web users now sign with {key.key_id[:16]}….")
    return redirect("web:organisation")


@administrator_required
def member_add(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    form = MemberForm(request.POST)
    if not form.is_valid():
        return _page(request, organisation, status=422, member_form=form)
    try:
        membership = self_service.member_add(
            organisation=organisation, identifier=form.cleaned_data["identifier"], role=form.cleaned_data["role"]
        )
    except ApplicationError as error:
        form.add_error("identifier", forms.ValidationError(error.message, code=error.code))
        return _page(request, organisation, status=error.status if error.status != 400 else 422, member_form=form)
    messages.success(request, f"{membership.user.get_username()} added as {membership.get_role_display().lower()}.")
    return redirect("web:organisation")


@administrator_required
def member_remove(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    _confirmed(request)
    membership = self_service.member_remove(organisation=organisation, membership_id=pk)
    messages.success(request, f"{membership.user.get_username()} no longer acts for {organisation.name}.")
    return redirect("web:organisation")

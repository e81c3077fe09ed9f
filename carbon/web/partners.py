"""The platform operator's page of partner PACT hosts: where the platform sends the answers to a
partner's footprint requests. Other callers get 403; secrets are written, never shown."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from carbon.pact import selectors, services
from traceability import visibility
from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import Organisation
from traceability.web.views import member_required


class PartnerHostForm(forms.Form):
    """A partner's PACT host; the rules are ``partner_register``'s."""

    ERROR_FIELDS = {
        "pact_partner_url_invalid": "base_url",
        "pact_partner_client_id_invalid": "client_id",
        "pact_partner_secret_invalid": "client_secret",
    }

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.exclude(role=OrganisationRole.OPERATOR).order_by("slug"),
        to_field_name="slug",
        help_text="registering again replaces its host",
    )
    base_url = forms.CharField(label="PACT host URL", max_length=200, help_text="e.g. https://pact.example.com")
    client_id = forms.CharField(label="Client id", max_length=services.CLIENT_ID_MAX)
    client_secret = forms.CharField(
        label="Client secret", widget=forms.PasswordInput(render_value=False), help_text="stored sealed, never shown"
    )

    def save(self) -> bool:
        d = self.cleaned_data
        try:
            services.partner_register(
                organisation=d["organisation"],
                base_url=d["base_url"],
                client_id=d["client_id"],
                client_secret=d["client_secret"],
            )
        except ApplicationError as error:
            self.add_error(self.ERROR_FIELDS.get(error.code), ValidationError(error.message, code=error.code))
            return False
        return True


def _operator_only(request: HttpRequest) -> None:
    if not visibility.is_platform_operator(request.user):
        raise PermissionDenied("partner PACT hosts are the platform operator's")


@member_required
def partner_hosts(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    _operator_only(request)
    form = PartnerHostForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and form.save():
        messages.success(request, f"PACT host of {form.cleaned_data['organisation'].slug} registered.")
        return redirect("web:pact-partners")
    return render(
        request,
        "web/pact_partners.html",
        {"partners": selectors.partners_list(), "form": form},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@member_required
def partner_host_remove(request: HttpRequest, organisation: Organisation, slug: str) -> HttpResponse:
    _operator_only(request)
    partner_organisation = get_object_or_404(Organisation, slug=slug)
    try:
        services.partner_remove(organisation=partner_organisation)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"PACT host of {slug} removed.")
    return redirect("web:pact-partners")

"""Registering a partner's PACT host, where the answers to its footprint requests go: through
``manage.py pact_partner register|list|remove`` and the operator's console page. Until one is
registered, a partner's footprint request is refused at once (the conformance tool's TC12 and
TC14.A need one); secrets are stored sealed and never printed or shown."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from carbon.models import PactPartner
from carbon.pact import sealing
from tests.api.test_pact import cloud_event, pact, post_event
from tests.factories import make_partner
from traceability.models import Membership
from traceability.services import platform_organisation

pytestmark = pytest.mark.django_db
SECRET = "s3cret-never-shown-7f2a"


def run(*args: str) -> str:
    out = StringIO()
    call_command("pact_partner", *args, stdout=out, stderr=out)
    return out.getvalue()


def signed_in(organisation, username: str) -> Client:
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


def test_a_registered_host_lets_the_partners_footprint_requests_in():
    partner = make_partner("castline", role="die_caster")
    client = pact(partner)
    assert post_event(client, cloud_event(productId=["urn:example:x"])).status_code == 400

    output = run(
        "register",
        "--org=castline",
        "--base-url=https://pact.castline.example/",
        "--client-id=looptrace",
        f"--client-secret={SECRET}",
    )

    assert output == "registered castline: https://pact.castline.example as client looptrace\n"
    stored = PactPartner.objects.get(organisation=partner.organisation)
    assert SECRET.encode() not in bytes(stored.secret_sealed)
    assert sealing.unseal(bytes(stored.secret_sealed), client_id="looptrace") == SECRET
    assert post_event(client, cloud_event(productId=["urn:example:x"])).status_code == 200


def test_list_shows_hosts_without_secrets_register_replaces_and_remove_forgets():
    make_partner("castline", role="die_caster")
    make_partner("nordic-remelt", role="remelter")
    assert run("list") == "no PACT host is registered\n"
    run("register", "--org=castline", "--base-url=https://a.example", "--client-id=one", f"--client-secret={SECRET}")
    run("register", "--org=castline", "--base-url=https://b.example", "--client-id=two", "--client-secret=other")
    run(
        "register",
        "--org=nordic-remelt",
        "--base-url=http://pact.nr.example:8443/pact",
        "--client-id=x",
        "--client-secret=y",
    )

    listing = run("list")

    lines = listing.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["castline", "https://b.example", "client two"],
        ["nordic-remelt", "http://pact.nr.example:8443/pact", "client x"],
    ]
    assert SECRET not in listing and "other" not in listing
    assert run("remove", "--org=castline") == "removed the PACT host of castline\n"
    assert list(PactPartner.objects.values_list("organisation__slug", flat=True)) == ["nordic-remelt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["register", "--org=nobody", "--base-url=https://a.example", "--client-id=c", "--client-secret=s"],
            "no organisation 'nobody'",
        ),
        (
            ["register", "--org=castline", "--base-url=ftp://a.example", "--client-id=c", "--client-secret=s"],
            "pact_partner_url_invalid",
        ),
        (
            ["register", "--org=castline", "--base-url=pact.example", "--client-id=c", "--client-secret=s"],
            "pact_partner_url_invalid",
        ),
        (
            ["register", "--org=castline", "--base-url=https://a.example?x=1", "--client-id=c", "--client-secret=s"],
            "no query",
        ),
        (
            ["register", "--org=castline", "--base-url=https://a.example", "--client-id= ", "--client-secret=s"],
            "client id",
        ),
        (
            ["register", "--org=castline", "--base-url=https://a.example", "--client-id=c", "--client-secret="],
            "client secret",
        ),
        (["register", "--org=castline", "--base-url=https://a.example", "--client-id=c"], "--client-secret"),
        (["remove", "--org=castline"], "no PACT host is registered for castline"),
        (["rename"], "invalid choice"),
        ([], "required: .register,list,remove."),
    ],
)
def test_bad_commands_fail_with_a_clear_error_and_store_nothing(args, message):
    make_partner("castline", role="die_caster")

    with pytest.raises(CommandError, match=message) as failure:
        run(*args)

    assert failure.value.returncode == 1
    assert not PactPartner.objects.exists()


# --- the operator's console page ------------------------------------------------------------------

PAGE = "/app/pact/partners/"


def test_the_operator_registers_lists_and_removes_hosts_on_the_console_page():
    partner = make_partner("castline", role="die_caster")
    operator = signed_in(platform_organisation(), "operator")

    response = operator.post(
        PAGE,
        {
            "organisation": "castline",
            "base_url": "https://pact.castline.example",
            "client_id": "looptrace",
            "client_secret": SECRET,
        },
    )

    assert response.status_code == 302 and response["Location"] == PAGE
    stored = PactPartner.objects.get(organisation=partner.organisation)
    assert sealing.unseal(bytes(stored.secret_sealed), client_id="looptrace") == SECRET
    page = operator.get(PAGE)
    assert page.status_code == 200
    body = page.content.decode()
    assert "https://pact.castline.example" in body and "looptrace" in body and SECRET not in body
    assert operator.post(f"{PAGE}castline/remove").status_code == 302
    assert not PactPartner.objects.exists()
    assert operator.post(f"{PAGE}castline/remove", follow=True).status_code == 200  # "no host" message


def test_a_bad_url_is_shown_at_its_field_and_nothing_is_stored():
    make_partner("castline", role="die_caster")
    operator = signed_in(platform_organisation(), "operator")

    response = operator.post(
        PAGE, {"organisation": "castline", "base_url": "not a url", "client_id": "c", "client_secret": SECRET}
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "is not an http(s) URL" in body and SECRET not in body
    assert not PactPartner.objects.exists()


def test_only_the_platform_operator_reaches_the_page():
    partner = make_partner("castline", role="die_caster")
    regulator = make_partner("authority", role="regulator")
    form = {"organisation": "castline", "base_url": "https://evil.example", "client_id": "c", "client_secret": "s"}
    PactPartner.objects.create(
        organisation=partner.organisation, base_url="https://ok.example", client_id="c", secret_sealed=b"x"
    )

    for client in (signed_in(partner.organisation, "member"), signed_in(regulator.organisation, "regulator")):
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE, form).status_code == 403
        assert client.post(f"{PAGE}castline/remove").status_code == 403
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert list(PactPartner.objects.values_list("base_url", flat=True)) == ["https://ok.example"]

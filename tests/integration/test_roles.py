"""Platform operators and organisation members: who may change registry defaults, sign
checkpoints and use the Django admin, and what a member sees there.

A platform operator is a superuser, or a user (or API key) acting for the operator
organisation (``visibility.is_platform_operator``); the ``is_staff`` flag only lets a member
into the admin, which then shows it what the visibility policy lets it read.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon.models import EmissionFactor
from carbon.services import footprints_catch_up
from passport.models import PassportVersion
from passport.services import passports_catch_up
from tests.factories import make_partner
from tests.loop import build_loop
from traceability import visibility
from traceability.models import EventRecord, LedgerEntry, Membership, Organisation, TraceableObject
from traceability.services import platform_organisation

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"
DEFAULT = {"code": "primary_aluminium", "region": "hydro", "value": "3", "unit": "kg/kg", "source": "x"}


def signed_in(organisation: Organisation | None, username: str, *, staff: bool = True, superuser: bool = False):
    users = get_user_model().objects
    make = users.create_superuser if superuser else users.create_user
    user = make(username, password=PASSWORD, **({} if superuser else {"is_staff": staff}))
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation)
    return user


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def loop(db):
    return build_loop()


def test_the_operator_is_a_superuser_or_acts_for_the_operator_organisation(loop):
    member = signed_in(loop.remelter.organisation, "melter")
    operator = signed_in(platform_organisation(), "operator")
    root = signed_in(None, "root", superuser=True)
    walk_in = signed_in(None, "walk-in")
    regulator = signed_in(make_partner("authority", role="regulator").organisation, "inspector")

    assert [visibility.is_platform_operator(u) for u in (member, operator, root, walk_in, regulator)] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_a_staff_member_of_a_partner_cannot_change_registry_defaults_but_the_operator_can(loop):
    # given: a remelter's web user with the staff flag (so the admin works), and an operator's
    member = api_as(signed_in(loop.remelter.organisation, "melter"))
    operator = api_as(signed_in(platform_organisation(), "operator"))
    primary = TraceableObject.objects.get(identifier=loop.primary)
    versions = EmissionFactor.objects.filter(code="primary_aluminium", region="hydro").count()

    # when
    refused = member.post("/api/v1/factors", DEFAULT, format="json")
    bound = member.post(
        "/api/v1/factors",
        {"code": "supplier_footprint", "lot": primary.pk, "value": "3.3", "unit": "kg/kg", "source": "PCF"},
        format="json",
    )
    superseded = operator.post("/api/v1/factors", DEFAULT, format="json")

    # then
    assert refused.status_code == 403 and refused.json()["code"] == "role_not_allowed"
    assert bound.status_code == 201
    assert superseded.status_code == 201 and superseded.json()["supersedes"] is not None
    assert EmissionFactor.objects.filter(code="primary_aluminium", region="hydro").count() == versions + 1


def admin_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def changelists() -> dict[str, str]:
    return {
        f"{model._meta.app_label}.{model._meta.model_name}": f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    }


def test_a_member_reads_in_the_admin_only_what_its_organisation_may_read(loop):
    # given: the remelter's staff user, and the dismantler's vehicles, parts and events it may not read
    melter = admin_as(signed_in(loop.remelter.organisation, "melter"))
    vehicle = TraceableObject.objects.get(identifier=loop.vehicles[0])
    hidden = TraceableObject.objects.exclude(
        pk__in=visibility.objects_visible_to(organisation=loop.remelter.organisation)
    )
    # identifiers, and labels as shown in a cell or a link (short labels such as "H0" occur in hashes)
    hidden_labels = {
        *hidden.values_list("identifier", flat=True),
        *(f">{label}<" for label in hidden.values_list("label", flat=True)),
    }
    hidden_labels |= {str(thing) for thing in hidden}
    foreign_entry = LedgerEntry.objects.filter(organisation=loop.dismantler.organisation).last()
    scrap = TraceableObject.objects.get(identifier=loop.scrap_lot)

    # when: every changelist, a foreign ledger entry, the scrap lot (made of the dismantler's parts)
    pages = {name: melter.get(url) for name, url in changelists().items()}
    entry = melter.get(f"/admin/traceability/ledgerentry/{foreign_entry.pk}/change/")
    lot = melter.get(f"/admin/traceability/traceableobject/{scrap.pk}/change/")
    events = melter.get("/admin/traceability/eventrecord/", {"q": vehicle.label})
    sorting = EventRecord.objects.get(operation="scrap_sorting")  # the dismantler's, about the scrap lot
    event = melter.get(f"/admin/traceability/eventrecord/{sorting.pk}/change/")

    # then: users and groups are closed, the rest filtered; nothing of the dismantler's shows
    assert {name: page.status_code for name, page in pages.items() if page.status_code != 200} == {
        "auth.user": 403,
        "auth.group": 403,
    }
    for name, page in pages.items():
        html = page.content.decode()
        assert not {label for label in hidden_labels if label in html}, name
    assert "Autocirc" not in pages["traceability.organisation"].content.decode()
    assert "autocirc" not in pages["traceability.membership"].content.decode()
    assert foreign_entry.entry_hash not in pages["traceability.ledgerentry"].content.decode()
    keys, credentials = (pages[n].content.decode() for n in ("traceability.signingkey", "traceability.apicredential"))
    assert loop.remelter.client_key.key_id in keys and loop.dismantler.client_key.key_id not in keys
    own, other = (p.organisation.api_credentials.get().client_id for p in (loop.remelter, loop.dismantler))
    assert own in credentials and other not in credentials
    assert entry.status_code == 302  # "does not exist": the same as a missing one
    assert lot.status_code == 200 and not {label for label in hidden_labels if label in lot.content.decode()}
    assert "0 events" in events.content.decode() or "0 results" in events.content.decode()
    assert event.status_code == 200 and str(scrap) in event.content.decode()
    assert not {label for label in hidden_labels if label in event.content.decode()}
    assert loop.dismantling_site.name not in event.content.decode()


def test_a_member_cannot_make_itself_a_member_elsewhere_nor_change_the_registry(loop):
    user = signed_in(loop.remelter.organisation, "melter")
    melter = admin_as(user)
    membership = user.membership

    add = melter.post(
        "/admin/traceability/membership/add/", {"user": user.pk, "organisation": loop.dismantler.organisation.pk}
    )
    change = melter.post(
        f"/admin/traceability/membership/{membership.pk}/change/",
        {"user": user.pk, "organisation": loop.dismantler.organisation.pk},
    )
    factor = melter.post(
        "/admin/carbon/emissionfactor/add/",
        {"code": "primary_aluminium", "region": "hydro", "value": "1", "unit": "kg/kg", "source": "mine"},
    )
    organisation = melter.post(
        f"/admin/traceability/organisation/{loop.remelter.organisation.pk}/change/", {"name": "Renamed"}
    )

    membership.refresh_from_db()
    assert [add.status_code, change.status_code, factor.status_code] == [403, 403, 403]
    assert organisation.status_code == 403
    assert membership.organisation == loop.remelter.organisation
    assert not EmissionFactor.objects.filter(source="mine").exists()
    assert Organisation.objects.get(pk=loop.remelter.organisation.pk).name != "Renamed"


def test_the_operator_has_the_whole_admin(loop):
    operator = admin_as(signed_in(platform_organisation(), "operator"))
    walk_in = signed_in(None, "walk-in")

    pages = {name: operator.get(url).status_code for name, url in changelists().items()}
    granted = operator.post(
        "/admin/traceability/membership/add/",
        {"user": walk_in.pk, "organisation": loop.dismantler.organisation.pk, "role": "member"},
    )
    factor = operator.post(
        "/admin/carbon/emissionfactor/add/",
        {"code": "primary_aluminium", "region": "hydro", "value": "3.1", "unit": "kg/kg", "source": "operator"},
    )

    assert set(pages.values()) == {200}
    assert (
        granted.status_code == 302 and Membership.objects.get(user=walk_in).organisation == loop.dismantler.organisation
    )
    assert factor.status_code == 302
    assert EmissionFactor.objects.get(source="operator").supersedes is not None


def test_a_passport_versions_stored_document_is_shown_in_the_admin_at_the_authorities_tier_only(loop):
    # given: passports of the dismantler's packs, its member (legitimate interest) and a regulator's
    footprints_catch_up()
    passports_catch_up()
    version = PassportVersion.objects.select_related("passport").first()
    dismantler = admin_as(signed_in(loop.dismantler.organisation, "dismantler"))
    inspector = admin_as(signed_in(make_partner("authority", role="regulator").organisation, "inspector"))
    melter = admin_as(signed_in(loop.remelter.organisation, "melter"))
    page = f"/admin/passport/passportversion/{version.pk}/change/"

    # when
    interested, authority, stranger = dismantler.get(page), inspector.get(page), melter.get(page)

    # then
    assert interested.status_code == 200 and "field-document" not in interested.content.decode()
    assert authority.status_code == 200 and "field-document" in authority.content.decode()
    assert stranger.status_code == 302  # the remelter never held the pack: as if there were none

"""The admin for recyclers: lists, filters and search, read-only where the ledger rules, per organisation."""

import pytest
from django.contrib.auth import get_user_model

from tests.loop import build_loop
from traceability.models import Membership, TraceableObject

pytestmark = pytest.mark.django_db


@pytest.fixture
def remelter_user(client):
    loop = build_loop()
    user = get_user_model().objects.create_user("melter", password="pw-for-tests-only", is_staff=True)
    Membership.objects.create(user=user, organisation=loop.remelter.organisation)
    client.force_login(user)
    return loop


def test_a_member_sees_only_what_its_organisation_may_read(client, remelter_user):
    loop = remelter_user

    page = client.get("/admin/traceability/traceableobject/")
    search = client.get("/admin/traceability/traceableobject/", {"q": "M-1"})
    vehicle = TraceableObject.objects.get(identifier=loop.vehicles[0])

    assert page.status_code == 200
    html = page.content.decode()
    assert "M-1" in html and "P-1" in html
    assert vehicle.label not in html
    assert "M-1" in search.content.decode() and "P-1" not in search.content.decode()
    assert client.get(f"/admin/traceability/traceableobject/{vehicle.pk}/change/").status_code == 302


def test_objects_events_and_ledger_entries_are_read_only(client, remelter_user):
    melt = TraceableObject.objects.get(identifier=remelter_user.melt)

    detail = client.get(f"/admin/traceability/traceableobject/{melt.pk}/change/")
    events = client.get("/admin/traceability/eventrecord/", {"operation": "remelting"})
    entries = client.get("/admin/traceability/ledgerentry/")

    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert "M-1" in detail.content.decode()
    assert events.status_code == 200 and "remelting" in events.content.decode()
    assert entries.status_code == 200
    assert client.post(f"/admin/traceability/traceableobject/{melt.pk}/delete/").status_code == 403
    assert client.get("/admin/traceability/traceableobject/add/").status_code == 403

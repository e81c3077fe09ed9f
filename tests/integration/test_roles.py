"""Platform operators and organisation members: who may change registry defaults, sign
checkpoints and use the Django admin, and what a member sees there.

A platform operator is a superuser, or a user (or API key) acting for the operator
organisation (``visibility.is_platform_operator``); the ``is_staff`` flag only lets a member
into the admin, which then shows it what the visibility policy lets it read.
"""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from carbon.models import EmissionFactor
from tests.factories import make_partner
from tests.loop import build_loop
from traceability import visibility
from traceability.models import Membership, Organisation, TraceableObject
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

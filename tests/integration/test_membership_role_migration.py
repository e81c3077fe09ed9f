"""The migration that gives members a role leaves every organisation an administrator: its
first member (the earliest membership); everyone else stays a member."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("traceability", "0019_credential_texts_lz4")]
AFTER = [("traceability", "0020_membership_role")]


def test_the_first_member_of_each_organisation_becomes_its_administrator():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user, organisation, membership = (
        old.get_model(*name)
        for name in (("auth", "User"), ("traceability", "Organisation"), ("traceability", "Membership"))
    )
    yard = organisation.objects.create(slug="m-yard", name="Yard", role="dismantler")
    melt = organisation.objects.create(slug="m-melt", name="Melt", role="remelter")
    for username, org in (("first", yard), ("second", yard), ("third", melt)):
        membership.objects.create(user=user.objects.create(username=username), organisation=org)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("traceability", "Membership")
    roles = dict(new.objects.values_list("user__username", "role"))
    executor.loader.build_graph()
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    assert roles == {"first": "administrator", "second": "member", "third": "administrator"}

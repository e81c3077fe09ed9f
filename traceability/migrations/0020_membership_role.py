"""A member's role in its organisation: administrators manage its keys and members.

Existing organisations keep someone who can: the first member of each (the earliest membership)
becomes its administrator; everyone else is a member.
"""

from django.db import migrations, models
from django.db.models import Min


def first_members_administer(apps, schema_editor):  # type: ignore[no-untyped-def]
    membership = apps.get_model("traceability", "Membership")
    first = membership.objects.values("organisation_id").annotate(first=Min("pk")).values_list("first", flat=True)
    membership.objects.filter(pk__in=list(first)).update(role="administrator")


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0019_credential_texts_lz4"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("member", "Member"), ("administrator", "Administrator")],
                default="member",
                help_text="administrators manage the organisation's API keys, signing keys and members",
                max_length=16,
            ),
        ),
        migrations.RunPython(first_members_administer, migrations.RunPython.noop),
    ]

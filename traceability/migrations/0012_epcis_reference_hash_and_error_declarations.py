"""Index rows take the hash GS1's reference implementation computes, and error declarations
are their own rows: each event's hash is computed again from its ledger document (the
rules changed to the reference's), and an event carrying ``errorDeclaration`` is marked."""

import json

from django.db import migrations, models

from traceability.epcis.core.fields import declares_error
from traceability.epcis.core.hashing import EventHashError, event_hash


def rehash(apps, schema_editor):
    EpcisEvent = apps.get_model("traceability", "EpcisEvent")
    rows = list(EpcisEvent.objects.select_related("entry").order_by("entry_id"))
    taken_hashes, taken_ids, changed = set(), set(), []
    for row in rows:
        document = json.loads(row.entry.document)
        declared = declares_error(document)
        try:
            digest = event_hash(document)
        except EventHashError:
            digest = row.event_hash
        event_id = digest if row.event_id == row.event_hash else row.event_id
        if (digest, declared) in taken_hashes or (event_id, declared) in taken_ids:
            digest, event_id = row.event_hash, row.event_id  # an earlier event already has the new hash
        taken_hashes.add((digest, declared))
        taken_ids.add((event_id, declared))
        if (digest, event_id, declared) != (row.event_hash, row.event_id, row.error_declaration):
            row.event_hash, row.event_id, row.error_declaration = digest, event_id, declared
            changed.append(row)
    EpcisEvent.objects.bulk_update(changed, ["event_hash", "event_id", "error_declaration"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('traceability', '0011_site_grid_region'),
    ]

    operations = [
        migrations.AddField(
            model_name='epcisevent',
            name='error_declaration',
            field=models.BooleanField(default=False, help_text='the event declares the event of the same hash erroneous (errorDeclaration)'),
        ),
        migrations.AlterField(
            model_name='epcisevent',
            name='event_hash',
            field=models.CharField(help_text='ni:///sha-256;...?ver=CBV2.0', max_length=100),
        ),
        migrations.AlterField(
            model_name='epcisevent',
            name='event_id',
            field=models.CharField(help_text="the event's eventID, or its hash", max_length=500),
        ),
        migrations.RunPython(rehash, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='epcisevent',
            constraint=models.UniqueConstraint(fields=('event_hash', 'error_declaration'), name='epcis_event_hash_once'),
        ),
        migrations.AddConstraint(
            model_name='epcisevent',
            constraint=models.UniqueConstraint(fields=('event_id', 'error_declaration'), name='epcis_event_id_once'),
        ),
    ]

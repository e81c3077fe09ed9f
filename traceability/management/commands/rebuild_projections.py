import json
import sys

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from traceability.models import EventRecord, LedgerEntry, MassFlow, TraceableObject
from traceability.operations.engine import project

# Entries read per query while replaying: bounded memory on a ledger of any size.
REPLAY_CHUNK = 2000


class Command(BaseCommand):
    help = "Delete the traceable-object projections and rebuild them by replaying every ledger event in order."

    @transaction.atomic
    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        EventRecord.involved.through.objects.all().delete()
        EventRecord.objects.all().delete()
        MassFlow.objects.all().delete()
        TraceableObject.objects.all().delete()
        events = LedgerEntry.objects.filter(kind="event").select_related("organisation").order_by("seq")
        replayed = 0
        with tqdm(total=events.count(), unit="event", desc="replaying", file=sys.stderr, disable=None) as bar:
            for entry in events.iterator(chunk_size=REPLAY_CHUNK):
                if project(entry, json.loads(entry.document), check=False) is not None:
                    replayed += 1
                bar.update()
        self.stdout.write(
            f"rebuilt from {replayed} operations: {TraceableObject.objects.count()} objects, "
            f"{MassFlow.objects.count()} mass flows"
        )

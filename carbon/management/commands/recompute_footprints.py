import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from carbon.services import footprints_recompute
from traceability.models import EventRecord


class Command(BaseCommand):
    help = "Recompute every footprint and recycled-content share from the whole ledger, under every method."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        with tqdm(
            total=EventRecord.objects.count(), unit="event", desc="recomputing", file=sys.stderr, disable=None
        ) as bar:
            report = footprints_recompute(progress=bar.update)
        self.stdout.write(
            f"recomputed {report.results} results from {report.events} events (ledger size {report.ledger_size})"
        )

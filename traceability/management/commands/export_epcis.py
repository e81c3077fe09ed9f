import json

from django.core.management.base import BaseCommand, CommandError

from traceability.epcis.selectors import export_document
from traceability.models import EpcisEvent, Organisation

# Events read per query while exporting.
EXPORT_CHUNK = 2000


class Command(BaseCommand):
    help = "Write the ledger's events as one EPCIS 2.0 EPCISDocument (JSON-LD) to standard output or a file."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--organisation", help="only the events this organisation (slug) recorded")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        events = EpcisEvent.objects.select_related("entry").order_by("entry_id")
        if options.get("organisation"):
            organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"no organisation {options['organisation']!r}")
            events = events.filter(organisation=organisation)
        text = json.dumps(export_document(events.iterator(chunk_size=EXPORT_CHUNK)), indent=2, ensure_ascii=False)
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        else:
            self.stdout.write(text)

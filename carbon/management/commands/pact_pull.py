"""Pull a supplier's footprint over PACT and bind it to an external input lot."""

from django.core.management.base import BaseCommand, CommandError

from carbon.pact import services
from traceability.errors import ApplicationError
from traceability.models import TraceableObject


class Command(BaseCommand):
    help = (
        "Fetch a partner's active PACT footprint (token + ListFootprints or GetFootprint) and bind it to a "
        "primary ingot or alloying lot as its supplier_footprint factor, in kg CO2e per kg."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--url", required=True, help="the partner's PACT host, e.g. https://pact.example.com")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--product-id", action="append", default=[], help="repeatable; the newest active one wins")
        parser.add_argument("--footprint-id", help="a footprint id, instead of product ids")
        parser.add_argument("--lot", required=True, help="identifier or label of the lot that receives the footprint")
        parser.add_argument("--spec", choices=["2", "3"], default="3", help="PACT major version (default 3)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        lots = TraceableObject.objects.filter(identifier=options["lot"])
        if not lots.exists():
            lots = TraceableObject.objects.filter(label=options["lot"])
        if lots.count() != 1:
            raise CommandError(f"{options['lot']!r} names {lots.count()} objects; give the lot's identifier")
        try:
            factor = services.footprint_pull(
                base_url=options["url"],
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                lot=lots.get(),
                product_ids=options["product_id"],
                footprint_id=options["footprint_id"],
                spec=options["spec"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"{factor} ({factor.source})")

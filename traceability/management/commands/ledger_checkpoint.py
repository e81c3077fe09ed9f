from django.core.management.base import BaseCommand

from traceability.services import ledger_checkpoint_create


class Command(BaseCommand):
    help = "Sign the ledger's current tree head and print the checkpoint (a C2SP signed note)."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        checkpoint = ledger_checkpoint_create()
        self.stdout.write(checkpoint.note, ending="")

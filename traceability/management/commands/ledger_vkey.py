from django.conf import settings
from django.core.management.base import BaseCommand

from traceability.ledger import checkpoint as notes
from traceability.services import platform_signing_key


class Command(BaseCommand):
    help = (
        "Print the verifier key (C2SP signed-note vkey) the ledger's checkpoints are signed with: what a "
        "witness operator passes as --log ORIGIN=VKEY."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        key, _ = platform_signing_key()
        self.stdout.write(notes.verifier_key(settings.LEDGER_ORIGIN, bytes(key.public_key)))

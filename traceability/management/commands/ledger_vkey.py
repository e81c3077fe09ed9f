from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from traceability.ledger import checkpoint as notes
from traceability.selectors import platform_keys
from traceability.services import platform_signing_key


class Command(BaseCommand):
    help = (
        "Print the verifier key (C2SP signed-note vkey) the ledger's checkpoints are signed with: what a "
        "witness operator passes as --log ORIGIN=VKEY. With --all, one line per platform key the log has "
        "used, newest first: what an offline passport verifier passes as --log-key (old facts keep their key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every platform key, rotated and revoked ones too")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        key, _ = platform_signing_key()
        if not options["all"]:
            self.stdout.write(notes.verifier_key(settings.LEDGER_ORIGIN, bytes(key.public_key)))
            return
        for public_key in platform_keys():
            self.stdout.write(notes.verifier_key(settings.LEDGER_ORIGIN, public_key))

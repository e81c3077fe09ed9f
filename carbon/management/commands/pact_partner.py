"""Register, list and remove the PACT hosts of partner organisations (where the platform sends
the answers to their footprint requests). Secrets are stored sealed and never printed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carbon.pact import selectors, services
from traceability.errors import ApplicationError
from traceability.models import Organisation


def _organisation(slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"no organisation {slug!r}; see `manage.py create_partner`")
    return organisation


class Command(BaseCommand):
    help = "Register (or replace), list and remove a partner organisation's PACT host."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{register,list,remove}")
        register = actions.add_parser("register", help="register or replace an organisation's PACT host")
        register.add_argument("--org", required=True, help="the organisation's slug")
        register.add_argument("--base-url", required=True, help="its PACT host, e.g. https://pact.example.com")
        register.add_argument("--client-id", required=True, help="the client id Looptrace authenticates with")
        register.add_argument("--client-secret", required=True, help="its secret (stored sealed, never shown)")
        actions.add_parser("list", help="every registered PACT host (secrets are not shown)")
        remove = actions.add_parser("remove", help="forget an organisation's PACT host")
        remove.add_argument("--org", required=True, help="the organisation's slug")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        try:
            if action == "register":
                organisation = _organisation(str(options["org"]))
                partner = services.partner_register(
                    organisation=organisation,
                    base_url=str(options["base_url"]),
                    client_id=str(options["client_id"]),
                    client_secret=str(options["client_secret"]),
                )
                self.stdout.write(f"registered {organisation.slug}: {partner.base_url} as client {partner.client_id}")
            elif action == "remove":
                organisation = _organisation(str(options["org"]))
                services.partner_remove(organisation=organisation)
                self.stdout.write(f"removed the PACT host of {organisation.slug}")
            else:
                partners = list(selectors.partners_list())
                if not partners:
                    self.stdout.write("no PACT host is registered")
                for partner in partners:
                    self.stdout.write(
                        f"{partner.organisation.slug}\t{partner.base_url}\tclient {partner.client_id}\t"
                        f"since {partner.created_at:%Y-%m-%d}"
                    )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

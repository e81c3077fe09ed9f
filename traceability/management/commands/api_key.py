from django.core.management.base import BaseCommand, CommandError

from traceability.errors import ApplicationError
from traceability.models import ApiCredential, Organisation
from traceability.self_service import api_credential_revoke
from traceability.services import api_credential_create


def organisation_named(slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"no organisation {slug!r}")
    return organisation


class Command(BaseCommand):
    help = (
        "An organisation's API keys: list them (--list), revoke one by its client id (--revoke), or, "
        "with neither, create one (its secret is printed once and not kept)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--org", required=True, help="the organisation's slug")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--list", action="store_true", help="list the keys, in force and revoked")
        action.add_argument("--revoke", metavar="CLIENT_ID", help="revoke the key with this client id")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        organisation = organisation_named(options["org"])
        if options["list"]:
            for credential in ApiCredential.objects.filter(organisation=organisation).order_by("created_at"):
                state = f"revoked {credential.revoked_at:%Y-%m-%d %H:%M}" if credential.revoked_at else "in force"
                self.stdout.write(f"{credential.client_id}  created {credential.created_at:%Y-%m-%d %H:%M}  {state}")
            return
        if options["revoke"]:
            credential = ApiCredential.objects.filter(organisation=organisation, client_id=options["revoke"]).first()
            try:
                if credential is None:
                    raise ApplicationError("not_found", f"{organisation.slug} has no API key {options['revoke']!r}")
                api_credential_revoke(organisation=organisation, credential_id=credential.pk)
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
            self.stdout.write(f"revoked:  {credential.client_id}")
            return
        _, api_key = api_credential_create(organisation=organisation)
        self.stdout.write(f"API key:  {api_key}")
        self.stdout.write("          send as: Authorization: Api-Key <API key>; it is not shown again")

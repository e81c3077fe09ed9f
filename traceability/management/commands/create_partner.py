from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError
from traceability.ledger.signing import generate_private_key, private_key_pem, public_key_raw
from traceability.services import (
    api_credential_create,
    organisation_create,
    signing_key_create_custodial,
    signing_key_register,
)

PARTNER_ROLES = sorted(set(OrganisationRole.values) - {OrganisationRole.OPERATOR})


class Command(BaseCommand):
    help = (
        "Create an organisation with a client-side signing key, a custodial key for its web users, "
        "and API credentials. The private key and the API secret are printed once and not kept."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--org", required=True, help="slug, e.g. nordic-remelt")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", required=True, choices=PARTNER_ROLES)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        private_key = generate_private_key()
        try:
            with transaction.atomic():
                organisation = organisation_create(slug=options["org"], name=options["name"], role=options["role"])
                client_key = signing_key_register(organisation=organisation, public_key=public_key_raw(private_key))
                signing_key_create_custodial(organisation=organisation)
                _, api_key = api_credential_create(organisation=organisation)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"organisation: {organisation.slug} ({organisation.get_role_display()})")
        self.stdout.write(f"key id:       {client_key.key_id}")
        self.stdout.write(f"API key:      {api_key}")
        self.stdout.write("               send as: Authorization: Api-Key <API key>")
        self.stdout.write("private key (Ed25519, PKCS#8; store it now, it is not kept):")
        self.stdout.write(private_key_pem(private_key), ending="")

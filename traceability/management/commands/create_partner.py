from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from traceability.choices import KeyCustody, OrganisationRole
from traceability.errors import ApplicationError
from traceability.ledger.signing import generate_private_key, private_key_pem, public_key_raw
from traceability.models import Organisation, SigningKey
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
        "and API credentials; or, for an organisation that exists, add credentials to it (a new API "
        "key and client key; a custodial key only when it has none in force). The private key and "
        "the API secret are printed once and not kept."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--org", required=True, help="slug, e.g. nordic-remelt")
        parser.add_argument("--name", help="required for a new organisation; for an existing one, must match")
        parser.add_argument(
            "--role",
            choices=PARTNER_ROLES,
            help="required for a new organisation; for an existing one, must match",
        )
        parser.add_argument("--no-api-key", action="store_true", help="issue no API key")
        parser.add_argument("--no-client-key", action="store_true", help="register no client-side key pair")
        parser.add_argument("--no-custodial-key", action="store_true", help="create no custodial key")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        slug, name, role = options["org"], options["name"], options["role"]
        private_key = None if options["no_client_key"] else generate_private_key()
        try:
            with transaction.atomic():
                existing = Organisation.objects.select_for_update().filter(slug=slug).first()
                if existing is None:
                    if not name or not role:
                        raise CommandError(f"organisation {slug!r} does not exist: give --name and --role to create it")
                    organisation = organisation_create(slug=slug, name=name, role=role)
                else:
                    organisation = self._existing(existing, name=name, role=role)
                client_key = (
                    signing_key_register(organisation=organisation, public_key=public_key_raw(private_key))
                    if private_key is not None
                    else None
                )
                custodial = self._custodial_key(organisation, wanted=not options["no_custodial_key"])
                api_key = None if options["no_api_key"] else api_credential_create(organisation=organisation)[1]
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._report(organisation, existed=existing is not None, client_key=client_key, custodial=custodial)
        if api_key is not None:
            self.stdout.write(f"API key:      {api_key}")
            self.stdout.write("              send as: Authorization: Api-Key <API key>")
        if private_key is not None:
            self.stdout.write("private key (Ed25519, PKCS#8; store it now, it is not kept):")
            self.stdout.write(private_key_pem(private_key), ending="")

    def _existing(self, organisation: Organisation, *, name: str | None, role: str | None) -> Organisation:
        if organisation.role == OrganisationRole.OPERATOR:
            raise CommandError(f"{organisation.slug!r} is the platform operator, not a partner")
        if (name and name != organisation.name) or (role and role != organisation.role):
            raise CommandError(
                f"organisation_exists: {organisation.slug!r} exists as {organisation.name!r} "
                f"({organisation.role}); leave out --name and --role to add credentials to it"
            )
        return organisation

    def _custodial_key(self, organisation: Organisation, *, wanted: bool) -> tuple[str, SigningKey] | None:
        """The custodial key created, or the one in force kept; ``None`` when none is wanted."""
        if not wanted:
            return None
        in_force = (
            SigningKey.objects.filter(organisation=organisation, custody=KeyCustody.PLATFORM, revoked_at__isnull=True)
            .order_by("-valid_from")
            .first()
        )
        if in_force is not None:
            return "kept", in_force
        return "created", signing_key_create_custodial(organisation=organisation)

    def _report(
        self,
        organisation: Organisation,
        *,
        existed: bool,
        client_key: SigningKey | None,
        custodial: tuple[str, SigningKey] | None,
    ) -> None:
        state = "existing, credentials added" if existed else "created"
        self.stdout.write(f"organisation: {organisation.slug} ({organisation.get_role_display()}): {state}")
        if client_key is not None:
            self.stdout.write(f"key id:       {client_key.key_id}")
        if custodial is not None:
            what, key = custodial
            self.stdout.write(f"custodial:    {key.key_id} ({what}; signs for its web users)")

from django.core.management.base import BaseCommand, CommandError

from traceability.errors import ApplicationError
from traceability.management.commands.api_key import organisation_named
from traceability.models import SigningKey
from traceability.self_service import client_key_register, client_key_revoke, custodial_key_rotate


class Command(BaseCommand):
    help = (
        "An organisation's signing keys: list them (--list), register a client key from its public key "
        "(--register, 64 hex digits or base64), revoke a client key (--revoke KEY_ID) or rotate the "
        "custodial key (--rotate KEY_ID). Each registration and revocation is a ledger fact."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--org", required=True, help="the organisation's slug")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--list", action="store_true", help="list the keys, in force and revoked")
        action.add_argument("--register", metavar="PUBLIC_KEY", help="an Ed25519 public key the organisation holds")
        action.add_argument("--revoke", metavar="KEY_ID", help="revoke this client key")
        action.add_argument("--rotate", metavar="KEY_ID", help="replace this custodial key with a new one")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        organisation = organisation_named(options["org"])
        keys = SigningKey.objects.filter(organisation=organisation)
        if options["list"]:
            for key in keys:
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "in force"
                self.stdout.write(f"{key.key_id}  {key.custody}  from {key.valid_from:%Y-%m-%d %H:%M}  {state}")
            return
        try:
            if options["register"]:
                key = client_key_register(organisation=organisation, public_key_text=options["register"])
                self.stdout.write(f"registered: {key.key_id} (client key, ledger entry {key.registered_seq})")
                return
            key_id = options["revoke"] or options["rotate"]
            key = keys.filter(key_id=key_id).first()
            if key is None:
                raise ApplicationError("not_found", f"{organisation.slug} has no signing key {key_id!r}")
            if options["revoke"]:
                client_key_revoke(organisation=organisation, key_id=key.pk)
                self.stdout.write(f"revoked:    {key.key_id}")
            else:
                new_key = custodial_key_rotate(organisation=organisation, key_id=key.pk)
                self.stdout.write(f"rotated:    {key.key_id} -> {new_key.key_id}")
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

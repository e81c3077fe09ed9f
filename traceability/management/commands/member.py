from django.core.management.base import BaseCommand, CommandError

from traceability.choices import MemberRole
from traceability.errors import ApplicationError
from traceability.management.commands.api_key import organisation_named
from traceability.models import Membership
from traceability.self_service import member_add, member_remove


class Command(BaseCommand):
    help = (
        "An organisation's members: list them (--list), add an existing user by username or e-mail "
        "(--add, --administrator to let it manage keys and members), or remove one (--remove USERNAME)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--org", required=True, help="the organisation's slug")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--list", action="store_true", help="list the members and their roles")
        action.add_argument("--add", metavar="USER", help="username or e-mail of an existing user")
        action.add_argument("--remove", metavar="USERNAME", help="the member to remove (the account stays)")
        parser.add_argument("--administrator", action="store_true", help="with --add: as an administrator")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        organisation = organisation_named(options["org"])
        members = Membership.objects.filter(organisation=organisation).select_related("user")
        if options["list"]:
            for membership in members.order_by("user__username"):
                self.stdout.write(f"{membership.user.get_username()}  {membership.role}")
            return
        try:
            if options["add"]:
                role = MemberRole.ADMINISTRATOR if options["administrator"] else MemberRole.MEMBER
                membership = member_add(organisation=organisation, identifier=options["add"], role=role)
                self.stdout.write(f"added:    {membership.user.get_username()} ({membership.role})")
                return
            membership = members.filter(user__username=options["remove"]).first()
            if membership is None:
                raise ApplicationError("not_found", f"{options['remove']!r} is not a member of {organisation.slug}")
            member_remove(organisation=organisation, membership_id=membership.pk)
            self.stdout.write(f"removed:  {membership.user.get_username()}")
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

import secrets
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from carbon.accounts import accounts_summary
from carbon.demo import recycled_content_lines
from passport.demo import battery_datasheet
from passport.models import Passport
from traceability import hooks
from traceability.choices import MemberRole
from traceability.demo.loop import Partners, build_loop, estimated_events
from traceability.demo.summary import summary
from traceability.models import Membership, Organisation, Site
from traceability.selectors import ledger_size
from traceability.services import (
    ledger_checkpoint_create,
    organisation_create,
    platform_organisation,
    signing_key_create_custodial,
)

DEMO_ORGANISATIONS = [
    # slug, name, role, site, country
    ("autocirc-dismantling", "AutoCirc Dismantling", "dismantler", "Dismantling yard", "DE"),
    ("nordic-remelt", "Nordic Remelt", "remelter", "Remelt shop", "NO"),
    ("castline", "Castline Die-Casting", "die_caster", "Giga-press hall", "DE"),
    ("voltcycle", "VoltCycle Battery Recycling", "battery_recycler", "Pretreatment plant", "PL"),
    ("eu-battery-authority", "EU Battery Market Surveillance", "regulator", "Inspection office", "BE"),
]
# Second sites the loop needs: molten metal only travels 30-50 km (004:384), so the
# remelter runs a hot-metal plant next to the die-caster; the recycler refines elsewhere.
EXTRA_SITES = [
    ("nordic-remelt", "Hot-metal plant", "DE"),
    ("voltcycle", "Hydrometallurgy plant", "PL"),
]
# The platform operator's demo user: a member of the operator organisation (not a superuser).
OPERATOR_USERNAME = "operator"
# Every demo user and what it is for, as make run lists them.
DEMO_LOGINS = [
    ("admin", "Django admin (/admin/), superuser"),
    (OPERATOR_USERNAME, "platform operator: registry defaults, checkpoints, partners' PACT hosts"),
    *((slug, f"{name}, {role.replace('_', ' ')}") for slug, name, role, *_ in DEMO_ORGANISATIONS),
]
DEFAULT_VEHICLES = 200
# The timeline ends this long before now: event times never lie in the future.
TIMELINE_END_BEFORE_NOW = timedelta(hours=1)


class Command(BaseCommand):
    help = (
        "Load the demo: organisations, sites, keys and users, then a car-to-car loop built through the "
        "operation services (vehicles to battery trays, packs to second life or salts), all signed in the ledger."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--vehicles",
            type=int,
            default=DEFAULT_VEHICLES,
            help=f"end-of-life vehicles to run through the loop (default {DEFAULT_VEHICLES})",
        )
        parser.add_argument(
            "--serving",
            metavar="URL",
            help="the address a server is about to serve the demo at (make run): print only that address, the "
            "demo logins and what to try first; what the demo holds goes to the run log (RUN_LOG)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        vehicles = options["vehicles"]
        if vehicles < 1:
            raise CommandError("--vehicles must be at least 1")
        serving = options["serving"]
        if serving:
            settings.RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
            with settings.RUN_LOG.open("a", encoding="utf-8") as log:
                self._seed(vehicles, OutputWrapper(log))
            self._banner(serving.rstrip("/"))
        else:
            self._seed(vehicles, self.stdout)
            self._logins()

    def _seed(self, vehicles: int, out: OutputWrapper) -> None:
        """Load the demo unless it is loaded, and write what it holds to ``out``."""
        password_file = settings.VAR_DIR / "demo-password"
        if Organisation.objects.filter(slug=DEMO_ORGANISATIONS[0][0]).exists():
            out.write("demo data already loaded")
        else:
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            password = secrets.token_urlsafe(12)
            started = time.monotonic()
            with hooks.paused():
                self._load(password, vehicles)
            # One nudge for the whole load: whoever follows the ledger catches up once.
            hooks.after_commit(ledger_size())
            password_file.write_text(password)
            password_file.chmod(0o600)
            out.write(f"demo loop: {vehicles} vehicles loaded in {time.monotonic() - started:.1f}s")
        for line in [*summary(), *recycled_content_lines(), *accounts_summary()]:
            out.write(line)
        checkpoint = ledger_checkpoint_create()
        out.write(
            f"ledger: {checkpoint.tree_size} entries, root {checkpoint.root_hash[:16]}…, "
            f"checkpoint signed {checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC"
        )

    def _password(self) -> str:
        password_file = settings.VAR_DIR / "demo-password"
        return password_file.read_text().strip() if password_file.exists() else "(set when the demo was first loaded)"

    def _logins(self) -> None:
        self.stdout.write(f"demo login: admin / {self._password()}  (superuser; same password for the users below)")
        self.stdout.write(f"  {OPERATOR_USERNAME}: platform operator (registry defaults, checkpoints, the whole admin)")
        self.stdout.write(
            "  " + ", ".join(slug for slug, *_ in DEMO_ORGANISATIONS) + ": one member per organisation "
            "(the console at /app/, and the admin filtered to what the organisation may read)"
        )

    def _banner(self, url: str) -> None:
        """What ``make run`` shows before the server starts: where, who, and what to try first."""
        passport = (
            Passport.objects.filter(problems=[], ceased_at__isnull=True).order_by("created_at").values("pk").first()
        )
        reference = str(passport["pk"]) if passport else "<passport id>"
        width = max(len(username) for username, _ in DEMO_LOGINS)
        lines = [
            f"Looptrace: {url}/",
            "",
            f"Demo logins, all with the password {self._password()}",
            *(f"  {username:<{width}}  {what}" for username, what in DEMO_LOGINS),
            "",
            "What to try first",
            f"  the web console:  {url}/app/  (sign in as castline: melts, castings, footprints)",
            f"  a passport page:  {url}/passport/{reference}",
            f"  the API:          curl -s {url}/api/v1/passports/{reference}",
            "  an API key:       .venv/bin/python manage.py create_partner --org castline",
            "",
            f"Task log and what the demo holds: {settings.RUN_LOG}",
        ]
        for line in lines:
            self.stdout.write(line)

    @transaction.atomic
    def _load(self, password: str, vehicles: int) -> None:
        user_model = get_user_model()
        user_model.objects.create_superuser("admin", "admin@looptrace.example", password)
        operator = user_model.objects.create_user(
            OPERATOR_USERNAME, f"{OPERATOR_USERNAME}@looptrace.example", password, is_staff=True
        )
        Membership.objects.create(user=operator, organisation=platform_organisation(), role=MemberRole.ADMINISTRATOR)
        organisations, sites = {}, {}
        for slug, name, role, site_name, country in DEMO_ORGANISATIONS:
            organisation = organisation_create(slug=slug, name=name, role=role)
            organisations[role] = organisation
            sites[site_name] = Site.objects.create(organisation=organisation, name=site_name, country=country)
            signing_key_create_custodial(organisation=organisation)
            # Staff so the Django admin opens; it shows a member what its organisation may read.
            user = user_model.objects.create_user(slug, f"{slug}@looptrace.example", password, is_staff=True)
            Membership.objects.create(user=user, organisation=organisation, role=MemberRole.ADMINISTRATOR)
        for slug, site_name, country in EXTRA_SITES:
            organisation = Organisation.objects.get(slug=slug)
            sites[site_name] = Site.objects.create(organisation=organisation, name=site_name, country=country)
        partners = Partners(
            dismantler=organisations["dismantler"],
            remelter=organisations["remelter"],
            die_caster=organisations["die_caster"],
            battery_recycler=organisations["battery_recycler"],
            yard=sites["Dismantling yard"],
            hot_metal_plant=sites["Hot-metal plant"],
            remelt_shop=sites["Remelt shop"],
            casting_hall=sites["Giga-press hall"],
            pretreatment_plant=sites["Pretreatment plant"],
            hydrometallurgy_plant=sites["Hydrometallurgy plant"],
        )
        end = (timezone.now() - TIMELINE_END_BEFORE_NOW).replace(second=0, microsecond=0)
        with tqdm(
            total=estimated_events(vehicles),
            unit="event",
            desc="demo loop",
            file=sys.stderr,
            disable=None,
            leave=False,  # a bar while loading, gone when the demo is ready
        ) as bar:
            build_loop(partners, vehicles=vehicles, end=end, datasheet=battery_datasheet, progress=bar.update)
            bar.total = bar.n
            bar.refresh()

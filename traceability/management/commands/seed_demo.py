import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from traceability.models import Membership, Organisation, Site
from traceability.services import (
    ledger_append,
    ledger_checkpoint_create,
    organisation_create,
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


def intake_event(site: Site, vin: str, when: str) -> dict[str, object]:
    return {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:looptrace:vin:{vin}"],
        "action": "ADD",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": f"urn:looptrace:site:{site.organisation.slug}:{site.pk}"},
    }


class Command(BaseCommand):
    help = "Load a small, real start: organisations, sites, keys, users and a few signed entries."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        password_file = settings.VAR_DIR / "demo-password"
        if Organisation.objects.filter(slug=DEMO_ORGANISATIONS[0][0]).exists():
            self.stdout.write("demo data already loaded")
        else:
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
            self._load(password_file.read_text().strip())
        checkpoint = ledger_checkpoint_create()
        password = (
            password_file.read_text().strip() if password_file.exists() else "(set when the demo was first loaded)"
        )
        self.stdout.write(f"ledger: {checkpoint.tree_size} entries, root {checkpoint.root_hash[:16]}…")
        self.stdout.write(f"demo login: admin / {password}  (and one user per organisation, same password)")

    @transaction.atomic
    def _load(self, password: str) -> None:
        user_model = get_user_model()
        user_model.objects.create_superuser("admin", "admin@looptrace.example", password)
        for slug, name, role, site_name, country in DEMO_ORGANISATIONS:
            organisation = organisation_create(slug=slug, name=name, role=role)
            site = Site.objects.create(organisation=organisation, name=site_name, country=country)
            signing_key_create_custodial(organisation=organisation)
            user = user_model.objects.create_user(slug, f"{slug}@looptrace.example", password, is_staff=True)
            Membership.objects.create(user=user, organisation=organisation)
            if role == "dismantler":
                for number, vin in enumerate(["WVWZZZAUZFW000001", "LSGKB54H7KV000002"], start=1):
                    ledger_append(
                        organisation=organisation,
                        document=intake_event(site, vin, f"2026-11-0{number}T08:00:00.000Z"),
                    )

"""Passport's panel of the lot page (named in ``settings.LOT_PAGE_PANELS``): a battery's passport at
the tiers the reader may preview, or a die-cast part's passport page."""

from __future__ import annotations

from django.template.loader import render_to_string

from passport.choices import TIER_ORDER, AccessTier
from passport.models import Passport
from passport.selectors import reader_tier
from passport.tiers import tier_rank
from traceability.choices import BATTERY_KINDS, ObjectKind, Operation
from traceability.web.panels import LotPage


def passport_panel(page: LotPage) -> str:
    lot = page.lot
    passport = None
    tiers: list[AccessTier] = []
    if lot.kind in BATTERY_KINDS:
        passport = Passport.objects.filter(battery=lot).first()
        if passport is not None:
            allowed = reader_tier(organisation=page.organisation, passport=passport)
            tiers = [tier for tier in TIER_ORDER if tier_rank(tier) <= tier_rank(allowed)]
    cast = next((b.event for b in page.history if b.event.entry_id == lot.created_seq), None)
    context = {
        "lot": lot,
        "passport": passport,
        "tiers": tiers,
        "part_passport": lot.kind == ObjectKind.PART and cast is not None and cast.operation == Operation.DIE_CASTING,
    }
    return render_to_string("web/_passport_panel.html", context, request=page.request)

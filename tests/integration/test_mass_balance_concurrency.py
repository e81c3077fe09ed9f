"""Two claims on one mass-balance account at once, on PostgreSQL: they take turns, and the
second sees the first, so together they never draw more than the account holds."""

import multiprocessing
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connections

from carbon.services import footprints_catch_up
from tests.factories import make_site
from traceability.choices import ObjectKind
from traceability.errors import ApplicationError
from traceability.identifiers import local_uri
from traceability.models import EventRecord, Organisation, Site
from traceability.operations import services as ops

pytestmark = pytest.mark.slow


def _claimant(site_id: int, lot: str, results) -> None:  # type: ignore[no-untyped-def]
    try:
        ops.recycled_content_claim(
            organisation=Organisation.objects.get(slug="nordic-remelt"),
            site=Site.objects.get(pk=site_id),
            lot=lot,
            kg=Decimal(400),
            category="post_consumer",
            event_time=datetime(2026, 3, 3, 9, tzinfo=UTC),
        )
        results.put("accepted")
    except ApplicationError as exc:
        results.put(exc.code)
    except Exception as exc:
        results.put(repr(exc))
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_racing_on_one_account_do_not_both_pass(partner):
    # given: 600 kg post-consumer + 400 kg primary, 50 kg loss: 0.6 x 950 = 570 kg of credits;
    # two claims of 400 kg each (400 + 400 = 800 > 570), on one 950 kg lot
    site = make_site(partner, "Melt shop")
    ops.material_receipt(
        organisation=partner.organisation,
        site=site,
        event_time=datetime(2026, 3, 1, 8, tzinfo=UTC),
        lots=[
            ops.LotOut(ObjectKind.SCRAP_LOT, Decimal(600), code="S-1", attributes={"scrapCategory": "post_consumer"}),
            ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal(400), code="P-1"),
        ],
    )
    ops.remelting(
        organisation=partner.organisation,
        site=site,
        inputs=[
            ops.LotIn(local_uri("lot", "nordic-remelt", "S-1"), Decimal(600)),
            ops.LotIn(local_uri("lot", "nordic-remelt", "P-1"), Decimal(400)),
        ],
        output=ops.LotOut(ObjectKind.INGOT_LOT, Decimal(950), code="M-1"),
        melt_loss_kg=Decimal(50),
        dross_kg=Decimal(0),
        natural_gas_m3=Decimal(0),
        electricity_kwh=Decimal(0),
        event_time=datetime(2026, 3, 2, 8, tzinfo=UTC),
    )
    footprints_catch_up()
    lot = local_uri("lot", "nordic-remelt", "M-1")
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    # when
    claimants = [context.Process(target=_claimant, args=(site.pk, lot, results)) for _ in range(2)]
    for claimant in claimants:
        claimant.start()
    for claimant in claimants:
        claimant.join(timeout=120)

    # then: one accepted, one refused; one claim in the ledger
    assert all(c.exitcode == 0 for c in claimants)
    assert sorted(results.get(timeout=5) for _ in claimants) == ["accepted", "credits_insufficient"]
    assert EventRecord.objects.filter(operation="recycled_content_claim").count() == 1

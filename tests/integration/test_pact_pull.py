"""Pulling a supplier's footprint over PACT: a real HTTP round trip to the platform's own PACT
endpoints under the live server, bound to a primary ingot as its supplier footprint."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from carbon import services as carbon_services
from carbon.models import EmissionFactor
from tests.loop import build_loop
from traceability.choices import ObjectKind
from traceability.identifiers import local_uri
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loop(settings):
    # The embedded development mode serves PACT over plain HTTP, as the live server speaks.
    settings.DEBUG = True
    built = build_loop()
    carbon_services.footprints_catch_up()
    return built


def pull(live_server, partner, lot: str, *extra: str) -> str:
    client_id, _, secret = partner.api_key.partition(".")
    out = StringIO()
    call_command(
        "pact_pull",
        f"--url={live_server.url}",
        f"--client-id={client_id}",
        f"--client-secret={secret}",
        f"--lot={lot}",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def unmelted_ingot(loop) -> str:  # type: ignore[no-untyped-def]
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("200"), code="P-2", attributes={})],
    )
    return local_uri("lot", "nordic-remelt", "P-2")


def test_a_tray_footprint_pulled_per_piece_binds_per_kg_to_a_primary_ingot(live_server, loop):
    # given: the die-caster's tray, as the supplier's product; a primary ingot lot the remelter
    # received and has not melted (binding a footprint to the tray's own ingot would change the
    # tray, now that footprints follow their inputs, and so the footprint being pulled)
    tray = loop.obj(loop.trays[0]).footprints.get(method="cut_off", chain="physical")
    ingot = unmelted_ingot(loop)

    # when
    printed = pull(live_server, loop.die_caster, ingot, f"--product-id={loop.trays[0]}")

    # then: per piece divided by the piece's mass, citing the footprint
    factor = EmissionFactor.objects.get(code="supplier_footprint", lot=loop.obj(ingot))
    assert float(factor.value) == pytest.approx(tray.total_per_kg, rel=1e-6)
    assert factor.unit == "kg/kg" and factor.version == 1
    issued = loop.obj(loop.trays[0]).pact_footprints.get()
    assert f"footprint {issued.pk}" in factor.source and "PACT 3.0.3" in factor.source
    assert "per 1 piece" in factor.source and live_server.url in factor.source
    assert str(issued.pk) in printed

    # and pulling it again binds nothing new; version 2.3 reads the same per kg
    pull(live_server, loop.die_caster, ingot, f"--product-id={loop.trays[0]}")
    assert EmissionFactor.objects.filter(code="supplier_footprint").count() == 1
    pull(live_server, loop.die_caster, ingot, f"--footprint-id={issued.pk}", "--spec=2")
    current = EmissionFactor.objects.get(code="supplier_footprint", superseded_by__isnull=True)
    assert current.version == 2 and "version 1" in current.source
    assert current.value == pytest.approx(factor.value, rel=Decimal("1e-6"))


def test_the_bound_footprint_is_what_a_recomputation_uses_for_the_ingot(live_server, loop):
    # the melt's footprint as pulled: binding it to the ingot recomputes the melt made from it
    melt_per_kg = loop.obj(loop.melt).footprints.get(method="cut_off", chain="physical").total_per_kg
    pull(live_server, loop.die_caster, loop.primary, f"--product-id={loop.melt}")

    carbon_services.footprints_recompute()

    primary = loop.obj(loop.primary).footprints.get(method="cut_off", chain="physical")
    assert primary.total_per_kg == pytest.approx(melt_per_kg, rel=1e-6)
    assert primary.primary_data_share == 1


def test_refusals_name_the_problem(live_server, loop):
    with pytest.raises(CommandError, match="lot_not_external_input"):
        pull(live_server, loop.die_caster, loop.melt, f"--product-id={loop.trays[0]}")
    with pytest.raises(CommandError, match="pact_footprint_not_found"):
        pull(live_server, loop.die_caster, loop.primary, "--product-id=urn:example:nothing")
    with pytest.raises(CommandError, match=r"pact_partner_error: the token request .* answered 401"):
        call_command(
            "pact_pull",
            f"--url={live_server.url}",
            "--client-id=nobody",
            "--client-secret=wrong",
            f"--lot={loop.primary}",
            f"--product-id={loop.melt}",
        )
    assert not EmissionFactor.objects.filter(code="supplier_footprint").exists()

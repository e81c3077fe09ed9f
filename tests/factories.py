"""Test data built through the real services, never by writing rows directly."""

from types import SimpleNamespace

from traceability import services, writer
from traceability.identifiers import vin_check_digit
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw, sign_document
from traceability.models import Site


def make_partner(slug: str, *, role: str = "remelter") -> SimpleNamespace:
    organisation = services.organisation_create(slug=slug, name=slug.replace("-", " ").title(), role=role)
    private_key = generate_private_key()
    client_key = services.signing_key_register(organisation=organisation, public_key=public_key_raw(private_key))
    custodial_key = services.signing_key_create_custodial(organisation=organisation)
    _, api_key = services.api_credential_create(organisation=organisation)
    return SimpleNamespace(
        organisation=organisation,
        private_key=private_key,
        client_key=client_key,
        custodial_key=custodial_key,
        api_key=api_key,
    )


def object_event(number: int = 1, **extra: object) -> dict[str, object]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-01T08:{number // 60 % 60:02d}:{number % 60:02d}.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:looptrace:vin:TESTVIN{number:010d}"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        **extra,
    }


def signed(partner: SimpleNamespace, document: dict[str, object]) -> writer.SubmittedDocument:
    return writer.SubmittedDocument(
        document=document,
        signature=b64encode(sign_document(partner.private_key, document)),
        key_id=partner.client_key.key_id,
    )


def make_site(partner: SimpleNamespace, name: str = "Main site", **fields: object) -> Site:
    return Site.objects.create(organisation=partner.organisation, name=name, **fields)


def valid_vin(number: int) -> str:
    """A Chinese VIN (check digit enforced) with a correct check digit."""
    body = f"LSGKB54H0KV{number:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def battery_code(number: int, level: str = "P") -> str:
    """A GB/T 34014-2017 code: maker CAT, pack/module/cell, type E, spec A1, 2023-03-05, serial."""
    return f"CAT{level}EA1{number:07d}N35{number:07d}"


def ten_trays_body(site_pk: int, melt: str, **extra: object) -> dict:
    """The API body of die-casting a 490 kg melt into ten 45 kg battery trays, 30 kg of run-around
    scrap and 10 kg lost (the scenario several API tests record), with ``extra`` fields added."""
    return {
        "site": site_pk,
        "melt": {"identifier": melt, "mass": "490 kg"},
        "eventTime": "2026-10-08T11:00:00Z",
        "castings": [{"serial": f"T-{t}", "partType": "battery_tray", "mass": "45 kg"} for t in range(10)],
        "runAround": {"code": "RA-1", "mass": "30 kg"},
        "castingLoss": "10 kg",
        **extra,
    }

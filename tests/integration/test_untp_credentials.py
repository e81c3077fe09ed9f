"""UNTP 0.7.0 credentials (unsigned content): product passports of batteries and parts, conformity
credentials of Art. 7 and Art. 8, traceability events of every lifecycle event. Each is completed as
the issuing service completes it (``credentialStatus``), then validated against the UNTP JSON
schemas and expanded as JSON-LD with the VC 2.0 and UNTP contexts, offline (``tests/data``)."""

import base64
import hashlib
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker
from pyld import jsonld
from pyld.documentloader.frozen import FrozenDocumentLoader

from carbon.models import FootprintResult
from carbon.services import footprints_catch_up
from passport import selectors, services, untp
from passport.choices import AccessTier
from passport.demo import battery_datasheet
from passport.models import Passport
from passport.reports.recycled_content import article_8_minimums
from passport.tiers import filter_for_tier
from tests.conftest import PROJECT_ROOT
from tests.factories import battery_code, make_partner, make_site
from tests.loop import PACK_KWH, at, build_loop
from tests.recycling import OTHER_PACKS, _vehicle_with_pack, build_recycling
from traceability import events
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, LedgerEntry, TraceableObject
from traceability.operations import services as ops
from traceability.untp import CONTEXT, UNTP_CONTEXT, VC_CONTEXT, digest_multibase, traceability_event_credential

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DATA = PROJECT_ROOT / "tests" / "data" / "untp-0.7.0"
ROOT = "https://looptrace.example"
VALID_FROM = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
# What tests/data/untp-0.7.0/README.md records of each file.
FILES = {
    "dpp.json": "021ad32067626c2817feab2fd0498e4bb0795f6ce94579b4d08d125a64db21d4",
    "dte.json": "49d6dc1262e62c68d12d716d8ee2f9405f71314bb8743ccbbadc82559ddd54c2",
    "dcc.json": "f96f9316a5bf5391642a63798adc60a83bc606b7e18fa94292b521c8d42cd9db",
    "untp-context.jsonld": "fbd4824e30d3cfc5cba949e1efe19b4c9ebaee056abe7aaf1c6b139a7bf91b0c",
    "credentials-v2.jsonld": "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
}
SCHEMAS = {
    "DigitalProductPassport": "dpp.json",
    "DigitalTraceabilityEvent": "dte.json",
    "DigitalConformityCredential": "dcc.json",
}


# --- what the issuing service adds, and the checks ---------------------------------------------


def issuer_of(slug: str) -> dict[str, object]:
    return {"id": f"did:web:looptrace.example:orgs:{slug}", "name": slug.replace("-", " ").title()}


def completed(credential: dict[str, object], index: int = 7) -> dict[str, object]:
    """As the issuing service completes it: a status list entry (a placeholder here)."""
    return {
        **credential,
        "credentialStatus": {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": index,
            "statusListCredential": f"{ROOT}/status/1",
        },
    }


FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+", value))


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or (bool(date.fromisoformat(value)) and len(value) == 10)


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def schema_errors(credential: dict[str, object]) -> list[str]:
    kind = next(t for t in credential["type"] if t in SCHEMAS)  # type: ignore[attr-defined]
    schema = json.loads((DATA / SCHEMAS[kind]).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(credential)]


LOADER = FrozenDocumentLoader(
    documents={VC_CONTEXT: DATA / "credentials-v2.jsonld", UNTP_CONTEXT: DATA / "untp-context.jsonld"}
)
# A term no context defines falls to a ``@vocab`` (UNTP's per-class ones, ``.../untp/Product#...``):
# that is an undefined term, except inside ``characteristics``, UNTP's open, industry-specific part.
OPEN_VOCABULARY = "https://vocabulary.uncefact.org/untp/Characteristics#"


def undefined_terms(credential: dict[str, object]) -> list[str]:
    """Properties the two contexts do not define: dropped in expansion, or caught by a fallback vocabulary."""
    dropped: list[str] = []
    expanded = jsonld.expand(
        credential, {"documentLoader": LOADER}, on_property_dropped=lambda term: dropped.append(str(term))
    )
    found = list(dropped)

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if not key.startswith("@"):
                    fallback = re.match(r"^https://vocabulary\.uncefact\.org/untp/[A-Za-z]+#", key)
                    if (fallback and not key.startswith(OPEN_VOCABULARY)) or "issuer-dependent" in key:
                        found.append(key)
                walk(value)

    walk(expanded)
    return sorted(set(found))


def checked(credential: dict[str, object]) -> dict[str, object]:
    """The credential completed, valid against its schema, with the contexts VC 2.0 and UNTP require
    and no undefined term."""
    full = completed(credential)
    assert full["@context"] == [VC_CONTEXT, UNTP_CONTEXT] == list(CONTEXT)
    assert "VerifiableCredential" in full["type"]  # type: ignore[operator]
    assert schema_errors(full) == []
    assert undefined_terms(full) == []
    return full


def leaves(node: object) -> list[object]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in leaves(value)]
    return [node]


# Bitstring Status List v1.0 (3.1) writes ``statusListIndex`` as a base-10 string, as the issuing
# service does; UNTP 0.7.0's schemas type it as an integer, while their own description of the
# property says "expressed as a string in base 10". The string follows the W3C recommendation.
STATUS_INDEX_PATH = "credentialStatus/statusListIndex: "


def valid_untp(credential: dict[str, object]) -> bool:
    """Valid against its UNTP 0.7.0 schema (but for the status index's type), every term defined
    by the two contexts (its proof aside)."""
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    assert isinstance(unsecured["credentialStatus"]["statusListIndex"], str)  # type: ignore[index]
    assert [e for e in schema_errors(unsecured) if not e.startswith(STATUS_INDEX_PATH)] == []
    assert undefined_terms(unsecured) == []
    return True


# --- the files and the checks themselves ------------------------------------------------------


def test_the_carried_schemas_and_contexts_are_the_published_files():
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in DATA.iterdir() if p.suffix != ".md"} == FILES


def test_the_checks_catch_a_missing_property_an_undefined_term_and_a_wrong_context(loop):
    credential = untp.battery_passport_credential(
        version=version_of(loop.packs[0]),
        issuer=issuer_of("autocirc"),
        credential_id=f"{ROOT}/c/1",
        valid_from=VALID_FROM,
        root=ROOT,
    )
    checked(credential)
    subject = dict(credential["credentialSubject"])  # type: ignore[call-overload]
    assert any(
        "countryOfProduction" in e
        for e in schema_errors(
            completed(
                {**credential, "credentialSubject": {k: v for k, v in subject.items() if k != "countryOfProduction"}}
            )
        )
    )
    assert undefined_terms(completed({**credential, "credentialSubject": {**subject, "batteryColour": "red"}})) == [
        "https://vocabulary.uncefact.org/untp/Product#batteryColour"
    ]
    assert schema_errors(completed({**credential, "@context": [UNTP_CONTEXT, VC_CONTEXT]})) != []


def test_a_digest_is_a_base64url_multibase_sha256_multihash():
    digest = hashlib.sha256(b"looptrace").hexdigest()
    encoded = digest_multibase(digest)
    raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert encoded[0] == "u" and raw[:2] == bytes((0x12, 0x20)) and raw[2:].hex() == digest


# --- battery passports ------------------------------------------------------------------------


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    footprints_catch_up()
    services.passports_catch_up()
    return built


def version_of(identifier: str):  # type: ignore[no-untyped-def]
    passport = Passport.objects.select_related("battery").get(battery__identifier=identifier)
    return selectors.passport_version_get(passport=passport)


def test_a_battery_passport_becomes_a_product_passport_of_its_public_view(loop):
    version = version_of(loop.packs[0])
    battery = loop.obj(loop.packs[0])
    credential = checked(
        untp.battery_passport_credential(
            version=version, issuer=issuer_of("autocirc"), credential_id=f"{ROOT}/c/1", valid_from=VALID_FROM, root=ROOT
        )
    )
    subject = credential["credentialSubject"]
    public = selectors.passport_view(version=version, tier=AccessTier.PUBLIC)
    general, footprint = public["GeneralProductInformation"], public["CarbonFootprintForBatteries"]
    # identity: the GS1 Digital Link of its GTIN and serial, the passport URN and version
    attributes = battery.attributes
    assert subject["id"] == f"https://id.gs1.org/01/{attributes['gtin']}/21/{attributes['serialNumber']}"
    assert (subject["modelNumber"], subject["itemNumber"]) == (attributes["gtin"], attributes["serialNumber"])
    assert subject["characteristics"]["batteryPassportIdentifier"] == version.passport.urn
    assert subject["characteristics"]["batteryPassportVersion"] == version.number
    passport_json = subject["relatedDocument"][1]
    assert passport_json["digestMultibase"] == digest_multibase(version.tier_digests["public"])
    assert f"tier=public&version={version.number}" in passport_json["linkURL"]
    # the maker's facts, as the view gives them
    assert subject["countryOfProduction"] == {"countryCode": general["manufacturingPlace"]["addressCountry"]}
    assert subject["productionDate"] == general["manufacturingDate"][:10]
    assert subject["dimensions"]["weight"] == {"value": general["batteryMass"], "unit": "KGM"}
    maker = general["manufacturerInformation"]
    assert subject["relatedParty"][0] == {
        "role": "manufacturer",
        "party": {
            "type": ["Party"],
            "id": maker["webAddress"],
            "name": maker["contactName"],
            "registeredId": maker["identifier"],
            "registrationCountry": {"countryCode": maker["postalAddress"]["addressCountry"]},
        },
    }
    # Art. 7: total, each stage, absolute, as the passport declares them, with the declared method
    carbon, *recycled = subject["performanceClaim"]
    by_metric = {p["metric"]["name"]: p["measure"]["value"] for p in carbon["claimedPerformance"] if "measure" in p}
    assert by_metric[f"Carbon footprint, {untp.PER_KWH}"] == footprint["batteryCarbonFootprint"]
    assert by_metric["Carbon footprint over the service life, kg CO2e"] == footprint["absoluteCarbonFootprint"]
    stages = [
        p["measure"]["value"]
        for p in carbon["claimedPerformance"]
        if "carbonFootprintPerLifecycleStage" in p["metric"]["id"]
    ]
    assert stages == [row["carbonFootprint"] for row in footprint["carbonFootprintPerLifecycleStage"]]
    assert "Cut-off" in carbon["description"] and carbon["referenceCriteria"][1]["id"].endswith("/cut_off")
    # Art. 8 shares per material, in percent, as declared
    declared = {row["recycledMaterial"]: row for row in public["Circularity"]["recycledContent"]}
    assert (
        {c["name"].removeprefix("Recycled content: ") for c in recycled}
        == set(declared)
        == {"Cobalt", "Nickel", "Lithium"}
    )
    for claim in recycled:
        row = declared[claim["name"].removeprefix("Recycled content: ")]
        pre, post = (p["measure"] for p in claim["claimedPerformance"])
        assert (pre, post) == (
            {"value": row["preConsumerShare"], "unit": "P1"},
            {"value": row["postConsumerShare"], "unit": "P1"},
        )
    assert subject["characteristics"]["batteryMaterials"] == [
        m["batteryMaterialName"] for m in public["MaterialComposition"]["batteryMaterials"]
    ]


def test_a_public_product_passport_carries_nothing_the_public_tier_withholds(loop):
    version = version_of(loop.packs[1])
    everything = version.document
    public = filter_for_tier(everything, AccessTier.PUBLIC)
    shown = {v for v in leaves(public) if not isinstance(v, bool)}
    withheld = {v for v in leaves(everything) if isinstance(v, str | int | float) and not isinstance(v, bool)} - shown
    assert "Original" in withheld  # batteryStatus: legitimate interest only
    assert any(isinstance(v, float) for v in withheld)  # material masses, state of health...

    def carried(tier: AccessTier) -> set[object]:
        credential = checked(
            untp.battery_passport_credential(
                version=version,
                issuer=issuer_of("autocirc"),
                credential_id=f"{ROOT}/c/2",
                valid_from=VALID_FROM,
                root=ROOT,
                tier=tier,
            )
        )
        return {v for v in leaves(credential["credentialSubject"]) if not isinstance(v, bool)}

    # a number the credential adds itself (the version number) may equal a withheld one by chance
    assert carried(AccessTier.PUBLIC) & withheld <= {version.number}
    # the same mapping at the legitimate-interest tier does carry what that tier adds
    assert "Original" in carried(AccessTier.LEGITIMATE_INTEREST)


def test_conformity_credentials_of_art_7_and_art_8(loop):
    version = version_of(loop.packs[0])
    public = selectors.passport_view(version=version, tier=AccessTier.PUBLIC)
    declaration = checked(
        untp.carbon_footprint_declaration_credential(
            version=version, issuer=issuer_of("autocirc"), credential_id=f"{ROOT}/c/3", valid_from=VALID_FROM, root=ROOT
        )
    )
    attestation = declaration["credentialSubject"]
    assert (attestation["attestationType"], attestation["assessorLevel"]) == ("declaration", "self")
    (assessment,) = attestation["conformityAssessment"]
    assert (
        assessment["assessedPerformance"][0]["measure"]["value"]
        == public["CarbonFootprintForBatteries"]["batteryCarbonFootprint"]
    )
    assert "conformance" not in assessment
    assert assessment["assessedProduct"][0]["product"]["id"].startswith("https://id.gs1.org/01/")

    check = checked(
        untp.recycled_content_check_credential(
            version=version, issuer=issuer_of("autocirc"), credential_id=f"{ROOT}/c/4", valid_from=VALID_FROM, root=ROOT
        )
    )
    by_metal = {a["id"].rsplit("-", 1)[1]: a for a in check["credentialSubject"]["conformityAssessment"]}
    assert set(by_metal) == {"co", "ni", "li"}  # the NMC pack holds no lead
    minimums, _ = article_8_minimums()
    first = min(minimums)
    # made in 2019: held to the first set (2031), not yet in force; Co 6 + 4 % < 16 %
    cobalt = by_metal["co"]
    assert cobalt["assessedPerformance"][2]["measure"] == {"value": 10.0, "unit": "P1"}
    assert f"minimum {minimums[first]['Co']} %" in cobalt["specifiedCondition"][0]
    assert "not yet in force" in cobalt["specifiedCondition"][0]
    assert all(a["conformance"] is False for a in by_metal.values())


def test_art_8_conformance_follows_the_minimums_in_force(loop):
    # a pack made in 2032 (the 2031 set in force) declaring Co 10 + 8 = 18 % >= 16, Li 4 + 3 = 7 >= 6,
    # Ni 3 + 1 = 4 < 6 (the shares of tests.recycling's first other pack, on the demo data sheet)
    sheet = battery_datasheet(
        maker="EUC",
        chemistry="NMC",
        kwh=PACK_KWH,
        made=datetime(2032, 5, 1, tzinfo=UTC),
        read_at=at(40),
        code=battery_code(40),
    )
    sheet["batteryPass"]["Circularity"]["recycledContent"] = OTHER_PACKS[0]["batteryPass"]["Circularity"][
        "recycledContent"
    ]  # type: ignore[index]
    pack = _vehicle_with_pack(
        loop, 40, ops.BatteryOut(battery_code(40), "NMC", PACK_KWH, Decimal("452"), sheet), at(40)
    )
    footprints_catch_up()
    services.passports_catch_up()
    credential = untp.recycled_content_check_credential(
        version=version_of(pack),
        issuer=issuer_of("autocirc"),
        credential_id=f"{ROOT}/c/5",
        valid_from=VALID_FROM,
        root=ROOT,
    )
    assessments = checked(credential)["credentialSubject"]["conformityAssessment"]
    assert {a["id"].rsplit("-", 1)[1]: a["conformance"] for a in assessments} == {"co": True, "li": True, "ni": False}
    assert all("batteries made in 2032: in force" in a["specifiedCondition"][0] for a in assessments)


# --- part passports ---------------------------------------------------------------------------


def test_a_die_cast_part_becomes_a_product_passport_with_footprint_and_shares(loop):
    tray = loop.obj(loop.trays[0])
    tray.attributes = {**tray.attributes, "oem": "Volta"}
    tray.save(update_fields=["attributes"])
    credential = checked(
        untp.part_passport_credential(
            part=tray, issuer=issuer_of("castline"), credential_id=f"{ROOT}/c/6", valid_from=VALID_FROM, root=ROOT
        )
    )
    subject = credential["credentialSubject"]
    assert subject["id"] == tray.identifier and subject["countryOfProduction"] == {"countryCode": "DE"}
    assert subject["dimensions"]["weight"] == {"value": 55.0, "unit": "KGM"}
    claims = {c["id"].split("#")[1]: c for c in subject["performanceClaim"]}
    for method in ("cut_off", "allocation", "cff"):
        stored = FootprintResult.objects.get(node=tray, method=method, chain="physical")
        total = claims[f"footprint-{method}"]["claimedPerformance"][0]["measure"]
        assert total == {"value": pytest.approx(stored.total_per_kg, rel=1e-9), "unit": "KGM"}
    physical = {
        p["metric"]["id"].rsplit("/", 1)[1]: p["measure"]["value"]
        for p in claims["recycled-content-physical"]["claimedPerformance"]
    }
    assert physical["postConsumerShare"] == pytest.approx(167.6 / 707.6 * 100, rel=1e-9)
    assert physical["closedLoopShare"] == pytest.approx(167.6 / 707.6 * 100, rel=1e-9)
    assert physical["preConsumerShare"] == 0


# --- traceability events ----------------------------------------------------------------------


def dte(entry: LedgerEntry) -> dict[str, object]:
    return checked(
        traceability_event_credential(
            entry=entry,
            issuer=issuer_of(entry.organisation.slug),
            credential_id=f"{ROOT}/c/e{entry.seq}",
            valid_from=VALID_FROM,
            root=ROOT,
        )
    )


def test_every_lifecycle_event_becomes_a_traceability_event(loop):
    pack = loop.packs[0]
    ops.battery_grading(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=pack,
        state_of_health_pct=Decimal("81.5"),
        capacity_kwh=Decimal("61.1"),
        route="second_life",
        event_time=at(5),
    )
    ops.repurposing(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=pack,
        new_battery=ops.BatteryOut(battery_code(50), "NMC", PACK_KWH, loop.obj(pack).initial_kg),
        application="stationary storage",
        event_time=at(6),
    )
    kinds = {}
    for indexed in EpcisEvent.objects.select_related("entry__organisation").order_by("entry_id"):
        credential = dte(indexed.entry)
        (event,) = credential["credentialSubject"]
        assert event["id"] == indexed.event_hash and event["id"].startswith("ni:///sha-256;")
        ledger = event["relatedDocument"][1]
        assert ledger["linkURL"] == f"{ROOT}/api/v1/ledger/entries/{indexed.entry_id}"
        assert ledger["digestMultibase"] == digest_multibase(indexed.entry.digest)
        kinds.setdefault(event["name"], event)
        if indexed.entry.organisation_id == loop.dismantler.organisation.pk:
            # both links resolve for the recorder (paths on the test server's root)
            for document in event["relatedDocument"]:
                response = Client().get(
                    document["linkURL"].removeprefix(ROOT), HTTP_AUTHORIZATION=f"Api-Key {loop.dismantler.api_key}"
                )
                assert response.status_code == 200, (document["linkURL"], response.content[:200])
    assert {name: e["type"][0] for name, e in kinds.items()} == {
        "Vehicle intake": "ModifyEvent",
        "Dismantling": "MakeEvent",
        "Scrap sorting": "MakeEvent",
        "Custody transfer": "MoveEvent",
        "Material receipt": "ModifyEvent",
        "Remelting": "MakeEvent",
        "Molten transfer": "MoveEvent",
        "Die-casting": "MakeEvent",
        "Battery grading": "ModifyEvent",
        "Repurposing": "MakeEvent",
    }
    # repurposing: the old identity in, the new one out, with its kg
    repurposed = kinds["Repurposing"]
    assert [p["product"]["id"] for p in repurposed["inputProduct"]] == [pack]
    assert repurposed["outputProduct"][0]["quantity"]["value"] == float(loop.obj(pack).initial_kg)
    # remelting: every input's kg as recorded, the melt's kg out
    remelting = kinds["Remelting"]
    inputs = {p["product"]["id"]: p["quantity"] for p in remelting["inputProduct"]}
    assert inputs[loop.primary] == {"value": 500.0, "unit": "KGM"} and inputs[loop.silicon] == {
        "value": 40.0,
        "unit": "KGM",
    }
    assert inputs[loop.scrap_lot]["value"] == float(loop.scrap_in_melt_kg)
    (melt,) = remelting["outputProduct"]
    assert melt["quantity"]["value"] == float(loop.obj(loop.melt).initial_kg) and melt["disposition"] == "new"
    assert remelting["madeAtFacility"]["name"] == loop.remelt_site.name
    # dismantling: the vehicle's kg taken, the pack and parts made
    dismantling = kinds["Dismantling"]
    (vehicle,) = dismantling["inputProduct"]
    assert vehicle["product"]["id"] == loop.vehicles[0]
    made = {p["product"]["id"]: p["quantity"]["value"] for p in dismantling["outputProduct"]}
    assert made[pack] == float(loop.obj(pack).initial_kg)
    assert vehicle["quantity"]["value"] == pytest.approx(sum(made.values()))
    # molten transfer: from the remelter's site to the die-caster's
    molten = kinds["Molten transfer"]
    assert (molten["fromFacility"]["name"], molten["toFacility"]["name"]) == (
        loop.remelt_site.name,
        loop.casting_site.name,
    )
    assert molten["movedProduct"][0]["disposition"] == "inTransit"
    # custody transfer: to the receiving organisation, consignor and consignee named
    custody = kinds["Custody transfer"]
    assert [p["role"] for p in custody["relatedParty"]] == ["consignor", "consignee"]
    assert custody["relatedParty"][1]["party"]["name"] == loop.remelter.organisation.name
    # grading: the readings as sensor data
    readings = {s["metric"]["name"]: s["measure"][0] for s in kinds["Battery grading"]["sensorData"]}
    assert readings == {"StateOfHealth": {"value": 81.5, "unit": "P1"}, "Capacity": {"value": 61.1, "unit": "KWH"}}


def test_a_foreign_epcis_transformation_becomes_a_make_event(db):
    partner = make_partner("foreign-smelter", role="remelter")
    site = make_site(partner, "Smelter", country="NO", gln="4012345000016")
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "TransformationEvent",
        "eventTime": "2026-11-02T10:00:00.000Z",
        "eventTimeZoneOffset": "+01:00",
        "inputQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.011111.LOT-A", "quantity": 120.5, "uom": "KGM"}
        ],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.LOT-B", "quantity": 118, "uom": "KGM"}],
        "bizStep": "commissioning",
        "bizLocation": {"id": f"urn:epc:id:sgln:{site.gln}"},
    }
    entry = events.ledger_append(organisation=partner.organisation, document=document)
    (event,) = dte(entry)["credentialSubject"]
    assert event["type"] == ["MakeEvent", "LifecycleEvent"]
    assert event["inputProduct"] == [
        {
            "product": {
                "type": ["Product"],
                "id": "urn:epc:class:lgtin:4012345.011111.LOT-A",
                "name": "urn:epc:class:lgtin:4012345.011111.LOT-A",
                "idGranularity": "batch",
            },
            "quantity": {"value": 120.5, "unit": "KGM"},
        }
    ]
    assert event["outputProduct"][0]["quantity"] == {"value": 118.0, "unit": "KGM"}
    assert event["madeAtFacility"] == {"type": ["Facility"], "id": f"urn:epc:id:sgln:{site.gln}", "name": "Smelter"}
    assert event["activityType"]["code"] == "commissioning"


@pytest.fixture
def recycling(db):  # type: ignore[no-untyped-def]
    built = build_recycling()
    footprints_catch_up()
    services.passports_catch_up()
    return built


def test_the_recyclers_events_are_make_events(recycling):
    kinds = {}
    for indexed in EpcisEvent.objects.select_related("entry__organisation").order_by("entry_id"):
        (event,) = dte(indexed.entry)["credentialSubject"]
        kinds[event["name"]] = event
    assert kinds["Battery recycling"]["type"][0] == kinds["Black mass refining"]["type"][0] == "MakeEvent"
    # the last battery recycled (Recyco's LFP pack, 300 kg): recycled, into 102 kg black mass and 78 kg aluminium
    (battery,) = kinds["Battery recycling"]["inputProduct"]
    assert battery["product"]["id"] == recycling.lfp_pack and battery["disposition"] == "recycled"
    assert battery["quantity"] == {"value": 300.0, "unit": "KGM"}
    assert sorted(p["quantity"]["value"] for p in kinds["Battery recycling"]["outputProduct"]) == [78.0, 102.0]


def test_a_battery_without_a_manufacturing_place_is_refused_with_a_reason(recycling):
    version = version_of(recycling.lfp_pack)
    with pytest.raises(ApplicationError) as raised:
        untp.battery_passport_credential(
            version=version, issuer=issuer_of("autocirc"), credential_id=f"{ROOT}/c/7", valid_from=VALID_FROM, root=ROOT
        )
    assert raised.value.code == "passport_incomplete"


def test_pack_kwh_is_the_rated_energy_the_credential_shows(loop):
    subject = untp.battery_passport_credential(
        version=version_of(loop.packs[2]),
        issuer=issuer_of("autocirc"),
        credential_id=f"{ROOT}/c/8",
        valid_from=VALID_FROM,
        root=ROOT,
    )["credentialSubject"]
    assert subject["characteristics"]["ratedEnergy"] == float(PACK_KWH)  # type: ignore[index]
    assert TraceableObject.objects.get(identifier=loop.packs[2]).attributes["ratedEnergyKWh"] == float(PACK_KWH)

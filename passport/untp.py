"""UN Transparency Protocol (UNTP) 0.7.0 credentials of passports, unsigned: the Digital Product
Passport of a battery passport version and of a die-cast part, and the Digital Conformity
Credentials of a battery's carbon footprint declaration (Art. 7 of Regulation (EU) 2023/1542) and
recycled-content check (Art. 8). They stand beside the Battery Pass 1.2.0 JSON, never instead of it.

What a battery's credentials carry is read from one tier's view of the version
(``selectors.passport_view``): a public credential is made from the public view, so it can carry
nothing the public tier withholds. Beyond that view a battery DPP carries only the GS1 keys of its
Digital Link (the GTIN and serial number its QR code shows) and the passport's own metadata (its
URN, version number and the digest of the view). Figures are the passport's as issued (the carbon
app's Art. 7 footprint, the maker's declared recycled content), a part's the stored carbon results
as its part passport gives them, the Art. 8 minimums the carbon registry's rows. UNTP's
``Material`` asks for each material's country of origin, which neither Battery Pass 1.2.0 nor the
ledger records, so recycled content travels as claims (``performanceClaim``) per material, with
pre- and post-consumer shares in percent, and the materials' names in ``characteristics``.

See ``traceability.untp`` for the envelope every credential shares and the traceability events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import pycountry

from carbon.choices import CHAIN_NAMES, METHOD_NAMES
from carbon.engine.model import STAGES
from passport import parts, selectors
from passport.assembly import LIFECYCLE_STAGES, NO_PERFORMANCE_CLASS, PASSPORT_FOOTPRINT_METHOD
from passport.choices import ARTICLE_8_METALS, AccessTier
from passport.models import PassportVersion
from passport.reports.recycled_content import article_8_minimums, declared_shares, year_of
from passport.reports.report import target_set
from passport.resolver import EPCIS, LOOPTRACE_VOCABULARY, PRODUCT_PASSPORT, digital_link_path, expand
from passport.schemas import DATA_MODEL_VERSION
from traceability.errors import ApplicationError
from traceability.models import Organisation, TraceableObject
from traceability.untp import (
    DIGITAL_CONFORMITY_CREDENTIAL,
    DIGITAL_PRODUCT_PASSPORT,
    KILOGRAM,
    PERCENT,
    country,
    credential,
    facility_of,
    link,
    measure,
    party_of,
)

# The regulation, by its European Legislation Identifier, and the articles the claims cite.
BATTERY_REGULATION = {
    "type": ["Regulation"],
    "id": "https://eur-lex.europa.eu/eli/reg/2023/1542/oj",
    "name": "Regulation (EU) 2023/1542 concerning batteries and waste batteries",
}
ARTICLE_7 = {"type": ["Criterion"], "id": f"{BATTERY_REGULATION['id']}#art_7", "name": "Art. 7 Carbon footprint"}
ARTICLE_8 = {
    "type": ["Criterion"],
    "id": f"{BATTERY_REGULATION['id']}#art_8",
    "name": "Art. 8 Recycled content in industrial, SLI, LMT and electric vehicle batteries",
}
SCHEME = {"type": ["ConformityScheme"], "id": BATTERY_REGULATION["id"], "name": BATTERY_REGULATION["name"]}
# UNTP's conformity topics (the codes of its DCC samples), as IRIs of the vocabulary the 0.7.0
# schemas point to (http://vocabulary.uncefact.org/ConformityTopic).
TOPICS = "https://vocabulary.uncefact.org/ConformityTopic#"
EMISSIONS = {"type": ["ConformityTopic"], "id": f"{TOPICS}environment.emissions", "name": "environment.emissions"}
RECYCLED_CONTENT = {"type": ["ConformityTopic"], "id": f"{TOPICS}circularity.content", "name": "circularity.content"}

# Battery Pass 1.2.0 attributes (``x-samm-aspect-model-urn`` of its schemas) as UNTP metric ids.
SAMM = f"urn:samm:io.BatteryPass.{{}}:{DATA_MODEL_VERSION}#{{}}"
CATEGORY_SCHEME = SAMM.format("GeneralProductInformation", "batteryCategory")
CARBON_METRIC = SAMM.format("CarbonFootprint", "batteryCarbonFootprint")
STAGE_METRIC = SAMM.format("CarbonFootprint", "carbonFootprintPerLifecycleStage")
ABSOLUTE_METRIC = SAMM.format("CarbonFootprint", "absoluteCarbonFootprint")
PRE_CONSUMER_METRIC = SAMM.format("Circularity", "preConsumerShare")
POST_CONSUMER_METRIC = SAMM.format("Circularity", "postConsumerShare")
PER_KWH = "kg CO2e per kWh of total energy provided over the service life"
# GS1 Digital Link: the canonical URI of a GTIN + serial (GS1 Digital Link standard 1.2, 4.11).
GS1_CANONICAL = "https://id.gs1.org"
GTIN_SCHEME = {"type": ["IdentifierScheme"], "id": f"{GS1_CANONICAL}/01/", "name": "GS1 Global Trade Item Number"}
# Looptrace's own metrics and criteria (the part passport's figures), in its vocabulary namespace.
METRICS = f"{LOOPTRACE_VOCABULARY}metric/"
METHODS = f"{LOOPTRACE_VOCABULARY}footprintMethod/"
CHAINS = f"{LOOPTRACE_VOCABULARY}chainOfCustody/"
PART_TYPES = f"{LOOPTRACE_VOCABULARY}partType"
# The passport's figures in percent (Battery Pass ``preConsumerShare``), a part's as fractions.
PERCENT_PER_ONE = Decimal(100)


# --- shared pieces --------------------------------------------------------------------------


def _aspect(view: Mapping[str, object], name: str) -> dict[str, object]:
    found = view.get(name)
    return found if isinstance(found, dict) else {}


def _day(text: object) -> str | None:
    """The date part of an ISO 8601 moment (Battery Pass dates are date-times)."""
    value = str(text or "")
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _country_code(name: object) -> str | None:
    """An ISO 3166-1 alpha-2 code from a Battery Pass ``addressCountry`` (a code or a country name)."""
    text = str(name or "").strip()
    if not text:
        return None
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        return None
    return str(found.alpha_2)


def _web_party(information: object) -> dict[str, object] | None:
    """A Battery Pass ``manufacturerInformation`` or ``operatorInformation`` as a UNTP ``Party``,
    identified by its web address (the only URI the data model gives an operator)."""
    if not isinstance(information, dict):
        return None
    web = str(information.get("webAddress") or "")
    name = information.get("contactName") or information.get("identifier")
    if not web.startswith(("https://", "http://")) or not name:
        return None
    found: dict[str, object] = {"type": ["Party"], "id": web, "name": str(name)}
    if information.get("identifier"):
        found["registeredId"] = str(information["identifier"])
    address = information.get("postalAddress")
    code = _country_code(address.get("addressCountry")) if isinstance(address, dict) else None
    if code:
        found["registrationCountry"] = country(code)
    return found


def _metric(metric_id: str, name: str) -> dict[str, object]:
    return {"type": ["PerformanceMetric"], "id": metric_id, "name": name}


def _battery_identity(version: PassportVersion, view: Mapping[str, object], issuer: Mapping[str, object]) -> dict:  # type: ignore[type-arg]
    """The battery as a UNTP product reference: its GS1 Digital Link when it has one, else its
    ledger identifier (self-issued: the issuer's identifier scheme, as UNTP asks)."""
    battery = version.passport.battery
    attributes = battery.attributes or {}
    general = _aspect(view, "GeneralProductInformation")
    gtin, serial = attributes.get("gtin"), attributes.get("serialNumber")
    if gtin and serial:
        return {
            "id": f"{GS1_CANONICAL}{digital_link_path(version.passport)}",
            "name": f"Battery {battery.label}",
            "idScheme": GTIN_SCHEME,
            "modelNumber": str(gtin),
            "itemNumber": str(serial),
        }
    identifier = str(general.get("productIdentifier") or battery.identifier)
    return {
        "id": identifier,
        "name": f"Battery {battery.label}",
        "idScheme": {"type": ["IdentifierScheme"], "id": issuer["id"], "name": str(issuer.get("name", ""))},
        "itemNumber": battery.label,
    }


def _tier_name(tier: AccessTier) -> str:
    return AccessTier(tier).value.replace("_", " ")


def _version_view(version: PassportVersion, tier: AccessTier) -> dict[str, object]:
    return selectors.passport_view(version=version, tier=AccessTier(tier))


def _passport_links(version: PassportVersion, tier: AccessTier, root: str) -> list[dict[str, object]]:
    passport = version.passport
    return [
        link(
            f"{root}/passport/{passport.pk}",
            f"Battery passport {passport.urn}",
            media_type="text/html",
            link_type=expand(PRODUCT_PASSPORT),
        ),
        link(
            f"{root}/api/v1/passports/{passport.pk}?tier={tier.value}&version={version.number}",
            f"Battery passport {passport.urn}, version {version.number}, {_tier_name(tier)} tier "
            f"(Battery Pass {DATA_MODEL_VERSION}; digest of the view's RFC 8785 form)",
            media_type="application/json",
            link_type=expand(PRODUCT_PASSPORT),
            digest=str(version.tier_digests[tier.value]),
        ),
    ]


# --- Art. 7 and Art. 8 figures of a passport view, as UNTP performances ----------------------


def _footprint_performances(footprint: Mapping[str, object]) -> list[dict[str, object]]:
    """The declared footprint: total per kWh, each lifecycle stage per kWh, and the absolute total."""
    found = []
    total = footprint.get("batteryCarbonFootprint")
    if isinstance(total, int | float):
        found.append(
            {"metric": _metric(CARBON_METRIC, f"Carbon footprint, {PER_KWH}"), "measure": measure(total, KILOGRAM)}
        )
    names = {name: stage for stage, name in LIFECYCLE_STAGES.items()}
    for row in footprint.get("carbonFootprintPerLifecycleStage") or []:  # type: ignore[attr-defined]
        if isinstance(row, dict) and isinstance(row.get("carbonFootprint"), int | float):
            stage = names.get(str(row.get("lifecycleStage")), str(row.get("lifecycleStage")))
            found.append(
                {
                    "metric": _metric(
                        f"{STAGE_METRIC}:{row.get('lifecycleStage')}", f"{stage.replace('_', ' ')}, {PER_KWH}"
                    ),
                    "measure": measure(row["carbonFootprint"], KILOGRAM),
                }
            )
    absolute = footprint.get("absoluteCarbonFootprint")
    if isinstance(absolute, int | float):
        found.append(
            {
                "metric": _metric(ABSOLUTE_METRIC, "Carbon footprint over the service life, kg CO2e"),
                "measure": measure(absolute, KILOGRAM),
            }
        )
    cls = footprint.get("carbonFootprintPerformanceClass")
    if isinstance(cls, str) and cls and cls != NO_PERFORMANCE_CLASS:
        found.append({"metric": _metric(CARBON_METRIC, "Carbon footprint performance class"), "score": {"code": cls}})
    return found


def _share_performances(material: str, pre: Decimal, post: Decimal) -> list[dict[str, object]]:
    return [
        {
            "metric": _metric(PRE_CONSUMER_METRIC, f"{material}: pre-consumer recycled share, %"),
            "measure": measure(pre, PERCENT),
        },
        {
            "metric": _metric(POST_CONSUMER_METRIC, f"{material}: post-consumer recycled share, %"),
            "measure": measure(post, PERCENT),
        },
    ]


def _recycled_content(view: Mapping[str, object]) -> list[tuple[str, Decimal, Decimal]]:
    """(material, pre-consumer %, post-consumer %) of each material the view declares."""
    found = []
    for row in _aspect(view, "Circularity").get("recycledContent") or []:  # type: ignore[attr-defined]
        if isinstance(row, dict) and row.get("recycledMaterial"):
            found.append(
                (
                    str(row["recycledMaterial"]),
                    Decimal(str(row.get("preConsumerShare") or 0)),
                    Decimal(str(row.get("postConsumerShare") or 0)),
                )
            )
    return found


def _study(footprint: Mapping[str, object]) -> list[dict[str, object]]:
    study = footprint.get("carbonFootprintStudy")
    if isinstance(study, str) and study.startswith(("https://", "http://")):
        return [link(study, "Carbon footprint study (Art. 7)", media_type="text/html")]
    return []


# --- Digital Product Passport of a battery ---------------------------------------------------


def _characteristics(version: PassportVersion, view: Mapping[str, object]) -> dict[str, object]:
    """Battery facts UNTP has no property for, as the view shows them (``Characteristics`` is open)."""
    general = _aspect(view, "GeneralProductInformation")
    chemistry = _aspect(view, "MaterialComposition").get("batteryChemistry")
    technical = _aspect(_aspect(view, "PerformanceAndDurability"), "batteryTechicalProperties")
    materials = _aspect(view, "MaterialComposition").get("batteryMaterials") or []
    found: dict[str, object] = {
        "batteryPassportIdentifier": version.passport.urn,
        "batteryPassportVersion": version.number,
        "batteryPassDataModel": DATA_MODEL_VERSION,
    }
    for key in ("batteryCategory", "batteryStatus"):
        if general.get(key):
            found[key] = general[key]
    if isinstance(chemistry, dict) and chemistry.get("shortName"):
        found["batteryChemistry"] = chemistry["shortName"]
    for key in ("ratedEnergy", "ratedCapacity", "nominalVoltage", "expectedNumberOfCycles"):
        if isinstance(technical.get(key), int | float):
            found[key] = technical[key]
    names = [m["batteryMaterialName"] for m in materials if isinstance(m, dict) and m.get("batteryMaterialName")]  # type: ignore[union-attr]
    if names:
        found["batteryMaterials"] = names
    critical = [m["batteryMaterialName"] for m in materials if isinstance(m, dict) and m.get("isCriticalRawMaterial")]  # type: ignore[union-attr]
    if critical:
        found["criticalRawMaterials"] = critical
    return found


def battery_passport_credential(
    *,
    version: PassportVersion,
    issuer: Mapping[str, object],
    credential_id: str,
    valid_from: datetime,
    root: str,
    tier: AccessTier = AccessTier.PUBLIC,
) -> dict[str, object]:
    """The UNTP 0.7.0 Digital Product Passport of one battery passport version, from its ``tier`` view.

    ``root`` is the platform's scheme and host (the passport's links). ``passport_incomplete`` when
    the view lacks what UNTP requires of a product (its manufacturing place's country).
    """
    view = _version_view(version, tier)
    general = _aspect(view, "GeneralProductInformation")
    footprint = _aspect(view, "CarbonFootprintForBatteries")
    identity = _battery_identity(version, view, issuer)
    place = general.get("manufacturingPlace")
    code = _country_code(place.get("addressCountry")) if isinstance(place, dict) else None
    if code is None or not isinstance(place, dict):
        raise ApplicationError(
            "passport_incomplete",
            f"{version}: a UNTP product passport needs the battery's manufacturing place and its country, "
            f"which the {_tier_name(tier)} view does not give",
        )
    maker = _web_party(general.get("manufacturerInformation"))
    operator = _web_party(general.get("operatorInformation"))
    plant = ", ".join(str(place[k]) for k in ("streetAddress", "postalCode", "addressCountry") if place.get(k))
    subject: dict[str, object] = {
        "type": ["Product"],
        **identity,
        "description": f"Battery passport {version.passport.urn}, version {version.number} ({_tier_name(tier)} tier)",
        "idGranularity": "item",
        "productCategory": [
            {
                "code": str(general["batteryCategory"]),
                "name": f"{general['batteryCategory']} battery",
                "schemeId": CATEGORY_SCHEME,
                "schemeName": f"Battery Pass {DATA_MODEL_VERSION} battery category (Regulation (EU) 2023/1542)",
            }
        ]
        if general.get("batteryCategory")
        else [],
        # The data model names the place by its address only: the product's own URI names it here.
        "producedAtFacility": {"type": ["Facility"], "id": f"{identity['id']}#manufacturingPlace", "name": plant},
        "countryOfProduction": country(code),
        "relatedDocument": _passport_links(version, tier, root) + _study(footprint),
        "characteristics": _characteristics(version, view),
    }
    made = _day(general.get("manufacturingDate"))
    if made:
        subject["productionDate"] = made
    related = [{"role": "manufacturer", "party": maker}] if maker else []
    if operator:
        related.append({"role": "operator", "party": operator})
    if related:
        subject["relatedParty"] = related
    if isinstance(general.get("batteryMass"), int | float):
        subject["dimensions"] = {"weight": measure(general["batteryMass"], KILOGRAM)}  # type: ignore[arg-type]
    claims = []
    claim_day = version.issued_at.date().isoformat()
    performances = _footprint_performances(footprint)
    if performances:
        claims.append(
            {
                "type": ["Claim"],
                "id": f"{credential_id}#carbon-footprint",
                "name": "Carbon footprint declaration (Art. 7)",
                "description": f"Method: {METHOD_NAMES[PASSPORT_FOOTPRINT_METHOD]} ({PASSPORT_FOOTPRINT_METHOD})",
                "referenceCriteria": [ARTICLE_7, _method_criterion(PASSPORT_FOOTPRINT_METHOD)],
                "referenceRegulation": [BATTERY_REGULATION],
                "claimDate": claim_day,
                "claimedPerformance": performances,
                "evidence": _study(footprint),
                "conformityTopic": [EMISSIONS],
            }
        )
    for material, pre, post in _recycled_content(view):
        claims.append(
            {
                "type": ["Claim"],
                "id": f"{credential_id}#recycled-content-{material.replace(' ', '-').lower()}",
                "name": f"Recycled content: {material}",
                "description": "Shares of the material recovered from manufacturing (pre-consumer) and "
                "post-consumer waste, in percent of the material (Battery Pass recycledContent)",
                "referenceCriteria": [ARTICLE_8],
                "referenceRegulation": [BATTERY_REGULATION],
                "claimDate": claim_day,
                "claimedPerformance": _share_performances(material, pre, post),
                "conformityTopic": [RECYCLED_CONTENT],
            }
        )
    if claims:
        subject["performanceClaim"] = claims
    return credential(
        kind=DIGITAL_PRODUCT_PASSPORT,
        credential_id=credential_id,
        issuer=issuer,
        valid_from=valid_from,
        name=f"Digital product passport of battery {version.passport.battery.label}, version {version.number}",
        subject=subject,
    )


# --- Digital Product Passport of a die-cast part ---------------------------------------------


def _method_criterion(method: str) -> dict[str, object]:
    return {"type": ["Criterion"], "id": f"{METHODS}{method}", "name": f"Footprint method: {METHOD_NAMES[method]}"}


def part_passport_credential(
    *,
    part: TraceableObject,
    issuer: Mapping[str, object],
    credential_id: str,
    valid_from: datetime,
    root: str,
    reader: Organisation | None = None,
) -> dict[str, object]:
    """The UNTP 0.7.0 Digital Product Passport of a die-cast part, from its part passport as ``reader``
    (None: the public) sees it: footprint per method, recycled shares per chain of custody."""
    document = parts.part_passport(part=part, reader=reader)
    site = part.site
    if site is None or not site.country:
        raise ApplicationError("part_incomplete", f"{part.identifier}: the casting site's country is not recorded")
    part_type = str(document.get("partType") or "part")
    cast_day = part.created_at.date().isoformat()
    claims = []
    footprint: dict[str, dict[str, object]] = document["footprint"]  # type: ignore[assignment]
    for method, figures in footprint.items():
        per_kg: dict[str, float] = figures["perKg"]  # type: ignore[assignment]
        performances = [
            {
                "metric": _metric(f"{METRICS}footprintPerKg", "Carbon footprint, kg CO2e per kg"),
                "measure": measure(figures["totalPerKg"], KILOGRAM),
            },  # type: ignore[arg-type]
            *(
                {
                    "metric": _metric(f"{METRICS}footprintPerKg:{stage}", f"{stage.replace('_', ' ')}, kg CO2e per kg"),
                    "measure": measure(per_kg[stage], KILOGRAM),
                }
                for stage in STAGES
                if stage in per_kg
            ),
            {
                "metric": _metric(f"{METRICS}footprint", "Carbon footprint of the part, kg CO2e"),
                "measure": measure(figures["totalKg"], KILOGRAM),
            },  # type: ignore[arg-type]
            {
                "metric": _metric(f"{METRICS}primaryDataShare", "Primary data share, %"),
                "measure": measure(Decimal(str(figures["primaryDataShare"])) * PERCENT_PER_ONE, PERCENT),
            },
        ]
        claims.append(
            {
                "type": ["Claim"],
                "id": f"{credential_id}#footprint-{method}",
                "name": f"Carbon footprint ({METHOD_NAMES[method]})",
                "referenceCriteria": [_method_criterion(method)],
                "claimDate": cast_day,
                "claimedPerformance": performances,
                "conformityTopic": [EMISSIONS],
            }
        )
    recycled: dict[str, dict[str, object]] = document["recycledContent"]  # type: ignore[assignment]
    for chain, shares in recycled.items():
        performances = [
            {
                "metric": _metric(f"{METRICS}{key}Share", f"{label} share, % of the part's mass"),
                "measure": measure(Decimal(str(shares[key])) * PERCENT_PER_ONE, PERCENT),
            }
            for key, label in (
                ("preConsumer", "Pre-consumer"),
                ("postConsumer", "Post-consumer"),
                ("recycled", "Recycled"),
                ("closedLoop", "Closed-loop"),
            )
            if shares.get(key) is not None
        ]
        claims.append(
            {
                "type": ["Claim"],
                "id": f"{credential_id}#recycled-content-{chain}",
                "name": f"Recycled content ({CHAIN_NAMES[chain]} chain of custody)",
                "description": "ISO 14021: run-around scrap is not recycled content; closed-loop is post-consumer "
                "metal from end-of-life vehicles of the part's customer",
                "referenceCriteria": [
                    {"type": ["Criterion"], "id": f"{CHAINS}{chain}", "name": f"Chain of custody: {CHAIN_NAMES[chain]}"}
                ],
                "claimDate": cast_day,
                "claimedPerformance": performances,
                "conformityTopic": [RECYCLED_CONTENT],
            }
        )
    characteristics = {k: document[k] for k in ("partType", "alloy", "compositionPct", "oem") if document.get(k)}
    subject: dict[str, object] = {
        "type": ["Product"],
        "id": part.identifier,
        "name": f"{part_type.replace('_', ' ').capitalize()} {part.label}",
        "idScheme": {"type": ["IdentifierScheme"], "id": issuer["id"], "name": str(issuer.get("name", ""))},
        "itemNumber": part.label,
        "idGranularity": "item",
        "productCategory": [
            {
                "code": part_type,
                "name": part_type.replace("_", " "),
                "schemeId": PART_TYPES,
                "schemeName": "Looptrace part types",
            }
        ],
        "producedAtFacility": facility_of(site),
        "productionDate": cast_day,
        "countryOfProduction": country(site.country),
        "dimensions": {"weight": measure(document["massKg"], KILOGRAM)},  # type: ignore[arg-type]
        "relatedParty": [{"role": "manufacturer", "party": party_of(part.created_by)}],
        "relatedDocument": [
            link(
                f"{root}/part/{part.pk}",
                f"Part passport of {part.label}",
                media_type="text/html",
                link_type=expand(PRODUCT_PASSPORT),
            ),
            link(
                f"{root}/api/v1/ledger/entries/{part.created_seq}",
                f"Ledger entry {part.created_seq}: the casting event",
                media_type="application/json",
                link_type=expand(EPCIS),
            ),
        ],
        "characteristics": characteristics,
        "performanceClaim": claims,
    }
    return credential(
        kind=DIGITAL_PRODUCT_PASSPORT,
        credential_id=credential_id,
        issuer=issuer,
        valid_from=valid_from,
        name=f"Digital product passport of {part_type.replace('_', ' ')} {part.label}",
        subject=subject,
    )


# --- Digital Conformity Credentials: Art. 7 and Art. 8 --------------------------------------


def _attestation(
    *,
    credential_id: str,
    issuer: Mapping[str, object],
    name: str,
    description: str,
    assessments: list[dict[str, object]],
) -> dict[str, object]:
    return {
        "type": ["ConformityAttestation"],
        "id": f"{credential_id}#attestation",
        "name": name,
        "description": description,
        # A declaration by the issuer on the data it holds: no conformity assessment body endorses it.
        "assessorLevel": "self",
        "assessmentLevel": "no-endorsement",
        "attestationType": "declaration",
        "issuedToParty": {"type": ["Party"], "id": issuer["id"], "name": str(issuer.get("name", ""))},
        "referenceScheme": SCHEME,
        "conformityAssessment": assessments,
    }


def _assessed_battery(version: PassportVersion, view: Mapping[str, object], issuer: Mapping[str, object]) -> dict:  # type: ignore[type-arg]
    identity = _battery_identity(version, view, issuer)
    product = {"type": ["Product"], **{k: v for k, v in identity.items() if k != "idScheme"}}
    return {"product": product, "idVerifiedByCAB": False}


def carbon_footprint_declaration_credential(
    *,
    version: PassportVersion,
    issuer: Mapping[str, object],
    credential_id: str,
    valid_from: datetime,
    root: str,
    tier: AccessTier = AccessTier.PUBLIC,
) -> dict[str, object]:
    """A UNTP 0.7.0 Digital Conformity Credential of the battery's Art. 7 carbon footprint declaration,
    as the passport version declares it (per kWh of lifetime energy, by stage, cut-off method).

    ``conformance`` is left out: Art. 7 asks for the declaration, and no maximum is adopted yet."""
    view = _version_view(version, tier)
    footprint = _aspect(view, "CarbonFootprintForBatteries")
    performances = _footprint_performances(footprint)
    if not performances:
        raise ApplicationError(
            "passport_incomplete", f"{version}: the {_tier_name(tier)} view declares no carbon footprint"
        )
    assessment = {
        "type": ["ConformityAssessment"],
        "id": f"{credential_id}#art-7",
        "name": "Carbon footprint declaration",
        "description": f"Method: {METHOD_NAMES[PASSPORT_FOOTPRINT_METHOD]} ({PASSPORT_FOOTPRINT_METHOD}); "
        "functional unit one kWh of the total energy provided over the expected service life",
        "assessmentCriteria": [ARTICLE_7, _method_criterion(PASSPORT_FOOTPRINT_METHOD)],
        "assessmentDate": version.issued_at.date().isoformat(),
        "assessedPerformance": performances,
        "assessedProduct": [_assessed_battery(version, view, issuer)],
        "referenceRegulation": [BATTERY_REGULATION],
        "evidence": _passport_links(version, tier, root) + _study(footprint),
        "conformityTopic": [EMISSIONS],
    }
    subject = _attestation(
        credential_id=credential_id,
        issuer=issuer,
        name="Carbon footprint declaration (Regulation (EU) 2023/1542, Art. 7)",
        description=f"Declared in battery passport {version.passport.urn}, version {version.number}",
        assessments=[assessment],
    )
    return credential(
        kind=DIGITAL_CONFORMITY_CREDENTIAL,
        credential_id=credential_id,
        issuer=issuer,
        valid_from=valid_from,
        name=f"Art. 7 carbon footprint declaration of battery {version.passport.battery.label}",
        subject=subject,
    )


def recycled_content_check_credential(
    *,
    version: PassportVersion,
    issuer: Mapping[str, object],
    credential_id: str,
    valid_from: datetime,
    root: str,
    tier: AccessTier = AccessTier.PUBLIC,
) -> dict[str, object]:
    """A UNTP 0.7.0 Digital Conformity Credential of the battery's Art. 8 recycled-content check: for each
    Art. 8 metal it contains, its declared pre- and post-consumer shares and their sum against the
    minimum of the set that applies to its year of manufacture (the regulator report's rule,
    ``passport.reports.recycled_content``); ``conformance`` is whether the sum reaches it."""
    view = _version_view(version, tier)
    circularity = _aspect(view, "Circularity")
    materials = _aspect(view, "MaterialComposition").get("batteryMaterials")
    shares = declared_shares(circularity.get("recycledContent"), materials)
    if not shares:
        raise ApplicationError("passport_incomplete", f"{version}: the {_tier_name(tier)} view names no Art. 8 metal")
    minimums, sources = article_8_minimums()
    made_in = year_of(_aspect(view, "GeneralProductInformation").get("manufacturingDate"))
    applied, in_force = target_set(minimums, made_in)
    if applied is None:
        raise ApplicationError(
            "passport_incomplete", f"{version}: the {_tier_name(tier)} view gives no manufacturing year"
        )
    cited = {rule: citation for rule, _, citation in sources}
    assessments = []
    for metal, (pre, post) in shares.items():
        name = ARTICLE_8_METALS[metal]
        minimum = minimums[applied].get(metal)
        total = pre + post
        assessment: dict[str, object] = {
            "type": ["ConformityAssessment"],
            "id": f"{credential_id}#art-8-{metal.lower()}",
            "name": f"Recycled content of {name.lower()} ({metal})",
            "assessmentCriteria": [ARTICLE_8],
            "assessmentDate": version.issued_at.date().isoformat(),
            "assessedPerformance": [
                *_share_performances(name, pre, post),
                {
                    "metric": _metric(ARTICLE_8["id"], f"{name}: recycled share, pre- plus post-consumer, %"),
                    "measure": measure(total, PERCENT),
                },
            ],
            "assessedProduct": [_assessed_battery(version, view, issuer)],
            "referenceRegulation": [BATTERY_REGULATION],
            "evidence": _passport_links(version, tier, root),
            "conformityTopic": [RECYCLED_CONTENT],
        }
        if minimum is not None:
            citation = cited.get(f"recycled_content_minimum_{applied.year} {metal}", "")
            assessment["specifiedCondition"] = [
                f"minimum {minimum} % from {applied.isoformat()} ({citation}); "
                f"batteries made in {made_in}: {'in force' if in_force else 'not yet in force'}"
            ]
            assessment["conformance"] = total >= minimum
        assessments.append(assessment)
    subject = _attestation(
        credential_id=credential_id,
        issuer=issuer,
        name="Recycled content check (Regulation (EU) 2023/1542, Art. 8)",
        description=f"Shares declared in battery passport {version.passport.urn}, version {version.number}",
        assessments=assessments,
    )
    return credential(
        kind=DIGITAL_CONFORMITY_CREDENTIAL,
        credential_id=credential_id,
        issuer=issuer,
        valid_from=valid_from,
        name=f"Art. 8 recycled content check of battery {version.passport.battery.label}",
        subject=subject,
    )

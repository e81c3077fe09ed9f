"""PACT ProductFootprint documents (2.3 and 3.0) from an issued footprint's content.

The content is what Looptrace states about one object, independent of the PACT version;
these functions only shape it. No database access here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SPEC_VERSIONS = {"2": "2.3.0", "3": "3.0.3"}
IPCC = "AR6"
EXTENSION_SCHEMA = "urn:looptrace:pact:extension:footprint-breakdown:1.0.0"
LEDGER_PROOF_SCHEMA = "urn:looptrace:pact:extension:ledger-proof:1.0.0"
BOUNDARY = (
    "Cradle to gate as recorded in the Looptrace ledger: raw material acquisition and pre-processing "
    "(primary metal, alloying additions, supplier footprints received over PACT, and the energy of "
    "dismantling, sorting, remelting, battery recycling and refining), main production (energy of "
    "casting) and distribution (freight between sites), energy by versioned emission factors. "
    "Burdens flow to outputs by mass."
)
ALLOCATION = (
    "Cut-off (recycled content approach): post-consumer scrap enters free of burden; process burdens are "
    "allocated to outputs by mass; run-around scrap carries the burden of the melt it came from."
)
COMMENT = (
    "Computed by Looptrace from its signed, hash-chained event ledger; fossil emissions are the whole footprint "
    "(metals carry no biogenic carbon). Recycled content shares (ISO 14021) and the split by lifecycle stage "
    "are in the Looptrace extension."
)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _breakdown(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "specVersion": "2.0.0",
        "dataSchema": EXTENSION_SCHEMA,
        "data": {
            "method": content["method"],
            "chainOfCustody": content["chain"],
            "ghgEmissionsPerKgByLifecycleStage": content["stagesPerKg"],
            "recycledContent": content["recycledContent"],
        },
    }


def ledger_proof_extension(seq: int | None, proof: dict[str, Any]) -> dict[str, Any]:
    """The footprint's anchor in the ledger: its product's creating entry and that entry's tlog-proof."""
    return {"specVersion": "2.0.0", "dataSchema": LEDGER_PROOF_SCHEMA, "data": {"ledgerSeq": seq, **proof}}


def _geography(content: dict[str, Any]) -> dict[str, str]:
    return {"geographyCountry": content["country"]} if content["country"] else {}


def _sources(content: dict[str, Any]) -> dict[str, Any]:
    return {"secondaryEmissionFactorSources": content["factorSources"]} if content["factorSources"] else {}


def _header(*, spec: str, pf_id: str, created: datetime, status: str, preceding_ids: list[str]) -> dict[str, Any]:
    header: dict[str, Any] = {"id": pf_id, "specVersion": SPEC_VERSIONS[spec]}
    if preceding_ids:
        header["precedingPfIds"] = preceding_ids
    header.update({"created": iso(created), "status": status})
    return header


def product_footprint_v3(
    *, pf_id: str, created: datetime, status: str, preceding_ids: list[str], content: dict[str, Any]
) -> dict[str, Any]:
    piece = content["declaredUnit"] == "piece"
    return {
        **_header(spec="3", pf_id=pf_id, created=created, status=status, preceding_ids=preceding_ids),
        "validityPeriodStart": content["validityPeriodStart"],
        "validityPeriodEnd": content["validityPeriodEnd"],
        "companyName": content["companyName"],
        "companyIds": content["companyIds"],
        "productDescription": content["productDescription"],
        "productIds": content["productIds"],
        "productClassifications": content["classifications"],
        "productNameCompany": content["productNameCompany"],
        "comment": COMMENT,
        "pcf": {
            "declaredUnitOfMeasurement": content["declaredUnit"],
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": content["massKg"] if piece else "1",
            "referencePeriodStart": content["referencePeriodStart"],
            "referencePeriodEnd": content["referencePeriodEnd"],
            **_geography(content),
            "boundaryProcessesDescription": BOUNDARY,
            "pcfExcludingBiogenicUptake": content["pcfPerDeclaredUnit"],
            "pcfIncludingBiogenicUptake": content["pcfPerDeclaredUnit"],
            "fossilGhgEmissions": content["pcfPerDeclaredUnit"],
            "fossilCarbonContent": "0",
            "biogenicCarbonContent": "0",
            "ipccCharacterizationFactors": [IPCC],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "packagingEmissionsIncluded": False,
            "allocationRulesDescription": ALLOCATION,
            **_sources(content),
            "primaryDataShare": content["primaryDataSharePercent"],
        },
        "extensions": [_breakdown(content)],
    }


def product_footprint_v2(
    *, pf_id: str, version: int, created: datetime, status: str, preceding_ids: list[str], content: dict[str, Any]
) -> dict[str, Any]:
    """PACT 2.3 knows no ``piece`` unit: every footprint is per kilogram, and a part's or battery's
    ``unitaryProductAmount`` is its mass (the kilograms of declared unit in one product)."""
    piece = content["declaredUnit"] == "piece"
    document = _header(spec="2", pf_id=pf_id, created=created, status=status, preceding_ids=preceding_ids)
    document["version"] = version
    if version > 1:
        # Every version is issued afresh, so the last update is when this version was issued.
        document["updated"] = document["created"]
    document.update(
        {
            "validityPeriodStart": content["validityPeriodStart"],
            "validityPeriodEnd": content["validityPeriodEnd"],
            "companyName": content["companyName"],
            "companyIds": content["companyIds"],
            "productDescription": content["productDescription"],
            "productIds": content["productIds"],
            "productCategoryCpc": content["cpc"],
            "productClassifications": content["classifications"],
            "productNameCompany": content["productNameCompany"],
            "comment": COMMENT,
            "pcf": {
                "declaredUnit": "kilogram",
                "unitaryProductAmount": content["massKg"] if piece else "1",
                "pCfExcludingBiogenic": content["pcfPerKg"],
                "pCfIncludingBiogenic": content["pcfPerKg"],
                "fossilGhgEmissions": content["pcfPerKg"],
                "fossilCarbonContent": "0",
                "biogenicCarbonContent": "0",
                "characterizationFactors": IPCC,
                "ipccCharacterizationFactorsSources": [IPCC],
                "crossSectoralStandardsUsed": ["ISO Standard 14067"],
                "crossSectoralStandards": ["ISO14067"],
                "boundaryProcessesDescription": BOUNDARY,
                "referencePeriodStart": content["referencePeriodStart"],
                "referencePeriodEnd": content["referencePeriodEnd"],
                **_geography(content),
                **_sources(content),
                "exemptedEmissionsPercent": 0,
                "exemptedEmissionsDescription": "",
                "packagingEmissionsIncluded": False,
                "allocationRulesDescription": ALLOCATION,
                "primaryDataShare": float(content["primaryDataSharePercent"]),
            },
            "extensions": [_breakdown(content)],
        }
    )
    return document

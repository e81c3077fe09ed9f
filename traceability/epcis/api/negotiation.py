"""EPCIS 2.0 REST binding negotiation: the version, EPC format and extension headers of every
``/epcis/`` request and response, in one place.

Requests may say which EPCIS and CBV versions they speak (``GS1-EPCIS-Version`` or a
``GS1-EPCIS-Min``..``GS1-EPCIS-Max`` range, the same for ``GS1-CBV-``); a request none of whose
versions this server speaks is refused with 406. ``GS1-EPC-Format`` asks for EPCs in query
results as GS1 Digital Link (``Always_GS1_Digital_Link``: EPC URNs are translated) or as
captured (``No_Preference``, ``Never_Translates``, and when the header is absent, so results
match what was captured). ``Always_EPC_URN`` is refused with 406: turning a Digital Link into an
EPC URN needs the GS1 company prefix length, which this server does not hold.
``GS1-CBV-XML-Format`` concerns XML only and is checked, not applied, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from traceability.epcis.core.identifiers import canonical_digital_link
from traceability.errors import ApplicationError
from traceability.operations.epcis import LOOPTRACE_NAMESPACE

EPCIS_VERSIONS = ("2.0.0",)
CBV_VERSIONS = ("2.0.0",)
EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")
CBV_XML_FORMATS = ("No_Preference", "Always_Web_URI", "Always_URN", "Never_Translates")
# The extension namespaces this server's events use (announced in GS1-Extensions).
EXTENSIONS = {"lt": LOOPTRACE_NAMESPACE}
MAX_HEADER = 200
# Event fields holding EPCs, and the quantity lists whose elements hold an EPC class.
EPC_LIST_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


@dataclass(frozen=True)
class Negotiated:
    epc_format: str = "No_Preference"


def _version(name: str, text: str) -> tuple[int, ...]:
    parts = text.strip().split(".")
    if len(text) > MAX_HEADER or not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 4 for p in parts):
        raise ApplicationError("header_invalid", f"{name}: not a version such as 2.0.0", extra={"header": name})
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def _speaks(headers: Mapping[str, str], kind: str, supported: tuple[str, ...]) -> None:
    """406 unless one of ``supported`` is the asked version, or within the asked range."""
    names = (f"GS1-{kind}-Version", f"GS1-{kind}-Min", f"GS1-{kind}-Max")
    asked = {name: _version(name, headers[name]) for name in names if headers.get(name)}
    if not asked:
        return
    ours = [_version(kind, version) for version in supported]
    exact, low, high = (asked.get(name) for name in names)
    fits = [
        v for v in ours if (exact is None or v == exact) and (low is None or v >= low) and (high is None or v <= high)
    ]
    if not fits:
        raise ApplicationError(
            "version_not_supported",
            f"this server speaks {kind} {', '.join(supported)} only",
            status=406,
            extra={"supported": list(supported)},
        )


def _choice(headers: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if value.strip() not in allowed:
        raise ApplicationError("header_invalid", f"{name} must be one of {', '.join(allowed)}", extra={"header": name})
    return value.strip()


def negotiate(headers: Mapping[str, str]) -> Negotiated:
    """What the request asks for, or the ApplicationError (406, 400) that refuses it."""
    _speaks(headers, "EPCIS", EPCIS_VERSIONS)
    _speaks(headers, "CBV", CBV_VERSIONS)
    _choice(headers, "GS1-CBV-XML-Format", CBV_XML_FORMATS)
    epc_format = _choice(headers, "GS1-EPC-Format", EPC_FORMATS) or "No_Preference"
    if epc_format == "Always_EPC_URN":
        raise ApplicationError(
            "epc_format_not_supported",
            "EPCs can be answered as captured or as GS1 Digital Link, not always as EPC URNs",
            status=406,
            extra={"supported": ["No_Preference", "Always_GS1_Digital_Link", "Never_Translates"]},
        )
    return Negotiated(epc_format=epc_format)


def response_headers(negotiated: Negotiated | None) -> dict[str, str]:
    """The headers every EPCIS answer carries: versions spoken, EPC format applied, extensions."""
    return {
        "GS1-EPCIS-Version": EPCIS_VERSIONS[-1],
        "GS1-EPCIS-Min": EPCIS_VERSIONS[0],
        "GS1-EPCIS-Max": EPCIS_VERSIONS[-1],
        "GS1-CBV-Version": CBV_VERSIONS[-1],
        "GS1-CBV-Min": CBV_VERSIONS[0],
        "GS1-CBV-Max": CBV_VERSIONS[-1],
        "GS1-EPC-Format": (negotiated or Negotiated()).epc_format,
        "GS1-Extensions": ", ".join(f"{prefix}={uri}" for prefix, uri in EXTENSIONS.items()),
    }


def _digital_link(value: object) -> object:
    return (
        (canonical_digital_link(value) or value) if isinstance(value, str) and value.startswith("urn:epc:") else value
    )


def translated(events: list[dict[str, object]], negotiated: Negotiated) -> list[dict[str, object]]:
    """Query results' events with EPCs in the negotiated format (the events are changed in place)."""
    if negotiated.epc_format != "Always_GS1_Digital_Link":
        return events
    for event in events:
        for field in EPC_LIST_FIELDS:
            if isinstance(event.get(field), list):
                event[field] = [_digital_link(v) for v in event[field]]  # type: ignore[union-attr]
        if "parentID" in event:
            event["parentID"] = _digital_link(event["parentID"])
        for field in QUANTITY_FIELDS:
            for item in event.get(field) or []:  # type: ignore[union-attr]
                if isinstance(item, dict) and "epcClass" in item:
                    item["epcClass"] = _digital_link(item["epcClass"])
    return events

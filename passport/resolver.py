"""The GS1-Conformant Resolver (1.2.0) behind the passports' Digital Links: which links a reader of
``/01/{gtin}/21/{serial}`` may follow, as an RFC 9264 linkset, and the resolver description file.

Link types are the GS1 Web Vocabulary's (``gs1:`` = ``https://gs1.org/voc/``) where it has one:

- ``gs1:productPassport`` for the passport, page and JSON: the vocabulary defines it as the link
  "to the product passport which provides information on a product's origin, durability,
  composition, reuse, repair and dismantling possibilities, and end-of-life handling", which is
  what a battery passport under Regulation (EU) 2023/1542 is. ``gs1:sustainabilityInfo`` (a page
  about sustainability and recycling) and ``gs1:epil`` (a patient leaflet) describe less of it.
- ``gs1:pip`` for the passport page as well, so that consumer scanning apps, which ask for the
  product information page, land on it; the page is also the default link (``gs1:defaultLink``).
- ``gs1:epcis`` for the battery's EPCIS events, ``gs1:certificationInfo`` for the carbon footprint
  study behind the carbon footprint declaration (Art. 7; Battery Pass ``carbonFootprintStudy``).

GS1 has no link type for a PACT product footprint, so Looptrace defines one in its own namespace,
``looptrace:pactFootprint``; it duplicates no GS1 link type (``gs1:sustainabilityInfo`` is a page
for people, a PACT footprint is a data exchange resource behind OAuth).

Each link is listed only if it exists and the reader may follow it: the passport JSON up to the
reader's access tier, EPCIS events and PACT footprints only to organisations the visibility policy
lets read the battery, the study only if the reader's tier shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from carbon.pact.selectors import footprints_visible_to
from passport import selectors
from passport.choices import TIER_ORDER, AccessTier
from passport.models import Passport
from passport.tiers import tier_rank
from traceability import visibility
from traceability.credentials.selectors import credential_url
from traceability.errors import ApplicationError
from traceability.models import Organisation

GS1_VOCABULARY = "https://gs1.org/voc/"
# Other spellings of the GS1 Web Vocabulary namespace a client may use (equivalent properties).
GS1_VOCABULARY_ALIASES = ("http://gs1.org/voc/", "https://www.gs1.org/voc/", "https://ref.gs1.org/voc/")
LOOPTRACE_VOCABULARY = "https://ns.looptrace.example/voc/"
# UNTP's link types for its credentials (Identity Resolver): untp:dpp, untp:dcc, untp:dte.
UNTP_LINK_TYPES = "https://test.uncefact.org/vocabulary/linkTypes/"
PREFIXES = {"gs1:": GS1_VOCABULARY, "looptrace:": LOOPTRACE_VOCABULARY, "untp:": UNTP_LINK_TYPES}

LINKSET_MEDIA_TYPE = "application/linkset+json"
# The GS1 linkset context that turns a linkset into JSON-LD (GS1-Conformant Resolver artefacts).
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
# ``linkType`` values that ask for the linkset: ``linkset`` (1.1.0 onwards) and ``all`` (older clients).
LINKSET_REQUESTS = ("linkset", "all")
LANGUAGES = ["en"]

DEFAULT_LINK = "gs1:defaultLink"
PRODUCT_PASSPORT = "gs1:productPassport"
PIP = "gs1:pip"
EPCIS = "gs1:epcis"
CERTIFICATION = "gs1:certificationInfo"
PACT_FOOTPRINT = "looptrace:pactFootprint"
UNTP_DPP = "untp:dpp"
UNTP_DCC = "untp:dcc"

# The link types this resolver serves: title and description, as the description file lists them.
LINK_TYPES: dict[str, tuple[str, str]] = {
    DEFAULT_LINK: ("Default link", "The link a request without other preferences is redirected to."),
    PRODUCT_PASSPORT: (
        "Product Passport",
        "The battery passport (Regulation (EU) 2023/1542, Battery Pass 1.2.0): the page, and its JSON per "
        "access tier up to the reader's.",
    ),
    PIP: ("Product Information Page", "The public passport page."),
    EPCIS: ("EPC Information Services (EPCIS) repository", "The battery's EPCIS 2.0 events the reader may read."),
    CERTIFICATION: (
        "Certification Information",
        "The carbon footprint study behind the battery's carbon footprint declaration (Art. 7).",
    ),
    PACT_FOOTPRINT: (
        "PACT product footprint",
        "The battery's product carbon footprint over the PACT data exchange (3.0), for partners holding "
        "a PACT token. Looptrace-defined: the GS1 Web Vocabulary has no link type for it.",
    ),
    UNTP_DPP: (
        "Digital Product Passport",
        "The passport version as a UN Transparency Protocol 0.7.0 Digital Product Passport, a W3C verifiable "
        "credential signed by its issuer (application/vc+jwt, or application/vc with an eddsa-jcs-2022 proof).",
    ),
    UNTP_DCC: (
        "Digital Conformity Credential",
        "UN Transparency Protocol 0.7.0 conformity credentials of the passport version: its carbon footprint "
        "declaration (Art. 7) and its recycled-content check (Art. 8).",
    ),
}
# The credential forms a credential link is offered in, with their titles.
CREDENTIAL_FORMS = (("application/vc+jwt", "VC-JOSE-COSE"), ("application/vc", "Data Integrity eddsa-jcs-2022"))

TIER_TITLES = {
    AccessTier.PUBLIC: "public",
    AccessTier.LEGITIMATE_INTEREST: "legitimate interest",
    AccessTier.AUTHORITIES: "authorities",
}


@dataclass(frozen=True)
class Link:
    href: str
    title: str
    type: str
    hreflang: list[str] = field(default_factory=lambda: list(LANGUAGES))

    def target(self) -> dict[str, object]:
        return {"href": self.href, "title": self.title, "type": self.type, "hreflang": self.hreflang}


@dataclass(frozen=True)
class Linkset:
    anchor: str
    links: dict[str, list[Link]]  # compact link type -> links, in the order they are offered

    def document(self) -> dict[str, object]:
        """The RFC 9264 JSON linkset: one context object, link types as full IRIs. The default link
        carries its target and title only (the resolver standard: no optional attributes)."""
        context: dict[str, object] = {"anchor": self.anchor}
        for link_type, links in self.links.items():
            if link_type == DEFAULT_LINK:
                context[expand(link_type)] = [{"href": link.href, "title": link.title} for link in links]
            else:
                context[expand(link_type)] = [link.target() for link in links]
        return {"linkset": [context]}

    def default(self) -> Link:
        return self.links[DEFAULT_LINK][0]


def expand(link_type: str) -> str:
    """A compact link type (``gs1:pip``) as its IRI (``https://gs1.org/voc/pip``)."""
    for prefix, namespace in PREFIXES.items():
        if link_type.startswith(prefix):
            return namespace + link_type.removeprefix(prefix)
    return link_type


def compact(link_type: str) -> str | None:
    """A requested link type, compact or as an IRI in any spelling of its namespace, as the compact
    name this resolver knows it by, or ``None`` when it is not a link type of a known namespace."""
    value = link_type.strip()
    for alias in GS1_VOCABULARY_ALIASES:
        if value.startswith(alias):
            value = GS1_VOCABULARY + value.removeprefix(alias)
    for prefix, namespace in PREFIXES.items():
        if value.startswith(namespace):
            value = prefix + value.removeprefix(namespace)
    known_prefix = any(value.startswith(prefix) and len(value) > len(prefix) for prefix in PREFIXES)
    return value if known_prefix else None


def digital_link_path(passport: Passport) -> str | None:
    """``/01/{gtin}/21/{serial}`` when the battery carries a GTIN and a serial number."""
    attributes = passport.battery.attributes or {}
    gtin, serial = attributes.get("gtin"), attributes.get("serialNumber")
    if not gtin or not serial:
        return None
    return f"/01/{gtin}/21/{serial}"


def _with_query(path: str, **params: str) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def passport_linkset(*, passport: Passport, organisation: Organisation | None, root: str) -> Linkset:
    """The links of a passport's Digital Link that ``organisation`` (``None``: the public) may follow,
    absolute on ``root`` (the resolver's scheme and host)."""
    anchor = root + (digital_link_path(passport) or f"/passport/{passport.pk}")
    page = Link(href=f"{root}/passport/{passport.pk}", title="Battery passport", type="text/html")
    allowed = selectors.reader_tier(organisation=organisation, passport=passport)
    try:
        version = selectors.passport_version_get(passport=passport)
    except ApplicationError:
        version = None  # a passport whose data does not validate: its page says why, nothing else exists
    documents = [
        Link(
            href=root + _with_query(f"/api/v1/passports/{passport.pk}", tier=str(tier)),
            title=f"Battery passport JSON ({TIER_TITLES[tier]} tier)",
            type="application/json",
        )
        for tier in TIER_ORDER
        if version is not None and tier_rank(tier) <= tier_rank(allowed)
    ]
    links: dict[str, list[Link]] = {DEFAULT_LINK: [page], PRODUCT_PASSPORT: [page, *documents], PIP: [page]}

    battery = passport.battery
    if (
        organisation is not None
        and visibility.objects_visible_to(organisation=organisation).filter(pk=battery.pk).exists()
    ):
        links[EPCIS] = [
            Link(
                href=root + _with_query("/epcis/events", MATCH_anyEPC=battery.identifier),
                title="EPCIS events of the battery",
                type="application/ld+json",
            )
        ]
        footprint = (
            footprints_visible_to(organisation=organisation)
            .filter(node_id=battery.identifier, deprecated=False)
            .order_by("-version")
            .first()
        )
        if footprint is not None:
            links[PACT_FOOTPRINT] = [
                Link(
                    href=f"{root}/3/footprints/{footprint.pk}",
                    title="PACT product footprint of the battery",
                    type="application/json",
                )
            ]

    if version is not None:
        for credential in selectors.version_credentials(version=version):
            claim = selectors.credential_claim(credential)
            link_type = UNTP_DPP if claim == selectors.PRODUCT_PASSPORT_CLAIM else UNTP_DCC
            links.setdefault(link_type, []).extend(
                Link(
                    href=credential_url(credential),
                    title=f"{selectors.CLAIM_TITLES[claim]} ({credential.state}, {form})",
                    type=media_type,
                )
                for media_type, form in CREDENTIAL_FORMS
            )
        view = selectors.passport_view(version=version, tier=allowed)
        aspect = view.get("CarbonFootprintForBatteries")
        study = aspect.get("carbonFootprintStudy") if isinstance(aspect, dict) else None
        if isinstance(study, str) and study.startswith(("https://", "http://")):
            links[CERTIFICATION] = [Link(href=study, title="Carbon footprint study", type="text/html")]
    return Linkset(anchor=anchor, links=links)


def description_file(*, root: str) -> dict[str, object]:
    """The resolver description file served at ``/.well-known/gs1resolver``."""
    return {
        "name": "Looptrace passport resolver",
        "resolverRoot": root,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": namespace, "prefix": prefix} for prefix, namespace in PREFIXES.items()],
        "linkTypeDefaultCanBeLinkset": False,
        "supportedContextValuesEnumerated": [],
        "supportsLanguageVariants": False,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": False,
        "jsonLdContextLocation": LINKSET_CONTEXT,
        "activeLinkTypes": {
            "en": {
                link_type: {"title": title, "description": description, "url": expand(link_type)}
                for link_type, (title, description) in LINK_TYPES.items()
            }
        },
    }

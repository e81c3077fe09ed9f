"""The GS1-Conformant Resolver (1.2.0) at the passports' Digital Links: the RFC 9264 linkset with
GS1 link types, the description file at ``/.well-known/gs1resolver`` in the shape of GS1's Resolver
Community Edition example, content negotiation, ``linkType`` redirects, and a QR code's URL
followed to every link type, each reader seeing only the links it may follow."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from carbon.services import footprints_catch_up
from passport import services
from passport.models import Passport
from passport.web.views import public_url
from tests.api.test_pact import pact
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.identifiers import gtin_check_digit

pytestmark = pytest.mark.django_db

GS1_EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "gs1_resolver"
GS1_VOC = "https://gs1.org/voc/"
LOOPTRACE_VOC = "https://ns.looptrace.example/voc/"
# UN Transparency Protocol's link types for its credentials (its Identity Resolver's untp: prefix)
UNTP_LINK_TYPES = "https://test.uncefact.org/vocabulary/linkTypes/"
LINKSET = "application/linkset+json"
GTIN = "0950600013435" + gtin_check_digit("0950600013435")
SERIAL = "PACK-0001"
DIGITAL_LINK = f"/01/{GTIN}/21/{SERIAL}"


def example(name: str) -> dict:
    return json.loads((GS1_EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    loop = build_loop()
    footprints_catch_up()
    services.passports_catch_up()
    passport = Passport.objects.select_related("battery").get(battery__identifier=loop.packs[0])
    battery = passport.battery
    battery.attributes = {**battery.attributes, "gtin": GTIN, "serialNumber": SERIAL}
    battery.save(update_fields=["attributes"])
    return loop, passport


def api_client(partner) -> Client:  # type: ignore[no-untyped-def]
    return Client(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")


def linkset_of(client: Client, path: str = DIGITAL_LINK) -> dict:
    response = client.get(path, {"linkType": "linkset"})
    assert response.status_code == 200, response.content
    return response.json()["linkset"][0]


def hrefs(context: dict, link_type: str) -> list[str]:
    return [link["href"] for link in context.get(link_type, [])]


def test_the_linkset_is_an_rfc_9264_document_of_gs1_link_types(world):
    _, passport = world
    # the shape of GS1's example linkset: {"linkset": [{"anchor", "<link type IRI>": [targets]}]}
    gs1_context = example("linkset.example.json")["linkset"][0]

    response = Client().get(DIGITAL_LINK, HTTP_ACCEPT=LINKSET)

    assert response.status_code == 200 and response["Content-Type"] == LINKSET
    document = response.json()
    assert list(document) == ["linkset"] and len(document["linkset"]) == 1
    context = document["linkset"][0]
    assert context["anchor"] == f"http://testserver{DIGITAL_LINK}"
    for link_type, targets in context.items():
        if link_type == "anchor":
            continue
        # RFC 9264 4.2.2: a relation type is an IRI here (extension relation types), its targets an array
        assert link_type.startswith((GS1_VOC, LOOPTRACE_VOC, UNTP_LINK_TYPES)), link_type
        assert isinstance(targets, list) and targets
        for target in targets:
            # the resolver standard: every link has its target and a title; GS1's example attributes only
            assert {"href", "title"} <= set(target)
            assert set(target) <= {"href", "title", "type", "hreflang", "context"}
            assert urlsplit(target["href"]).scheme in ("http", "https")
            if "hreflang" in target:
                assert isinstance(target["hreflang"], list)
    # the default link is described by a descriptive link type too, and carries no optional attribute
    default = context[GS1_VOC + "defaultLink"]
    assert default == [{"href": f"http://testserver/passport/{passport.pk}", "title": "Battery passport"}]
    assert default[0]["href"] in hrefs(context, GS1_VOC + "productPassport")
    assert set(gs1_context[GS1_VOC + "defaultLink"][0]) == set(default[0])


def test_the_gs1_link_types_served_are_gs1_web_vocabulary_terms(world):
    # GS1's description file lists the GS1 Web Vocabulary link types as compact IRIs and their IRIs
    vocabulary = example("gs1resolver.example.json")["activeLinkTypes"]["en"]
    gs1_iris = {term["url"] for curie, term in vocabulary.items() if curie.startswith("gs1:")}
    regulator = make_partner("market-surveillance", role="regulator")

    context = linkset_of(api_client(regulator))

    served = set(context) - {"anchor"}
    assert served - {GS1_VOC + "defaultLink"} <= gs1_iris | {
        LOOPTRACE_VOC + "pactFootprint",
        UNTP_LINK_TYPES + "dpp",
        UNTP_LINK_TYPES + "dcc",
    }
    # each compact IRI the description file publishes resolves against https://gs1.org/voc/ to what the linkset uses
    ours = Client().get("/.well-known/gs1resolver").json()["activeLinkTypes"]["en"]
    for curie, term in ours.items():
        prefix, _, name = curie.partition(":")
        namespace = {"gs1": GS1_VOC, "looptrace": LOOPTRACE_VOC, "untp": UNTP_LINK_TYPES}[prefix]
        assert term["url"] == namespace + name
        if curie.startswith("gs1:") and curie != "gs1:defaultLink":
            assert vocabulary[curie]["url"] == term["url"]
    assert {term["url"] for term in ours.values()} >= served


def test_the_description_file_has_the_fields_and_shape_of_gs1s_example():
    gs1 = example("gs1resolver.example.json")

    response = Client().get("/.well-known/gs1resolver")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    ours = response.json()
    # required by the standard's description file schema
    assert {"name", "resolverRoot", "supportedPrimaryKeys"} <= set(ours)
    assert ours["resolverRoot"] == "http://testserver" and ours["supportedPrimaryKeys"] == ["01"]
    assert ours["linkTypeDefaultCanBeLinkset"] is False
    # every field GS1's example also has is of the same JSON type, and lists hold the same kind of items
    shared = set(ours) & set(gs1)
    assert {"name", "resolverRoot", "supportedPrimaryKeys", "supportedLinkType", "activeLinkTypes"} <= shared
    for name in shared:
        assert type(ours[name]) is type(gs1[name]), name
    assert all(set(entry) == {"namespace", "prefix"} for entry in ours["supportedLinkType"])
    assert all(entry["prefix"].endswith(":") for entry in ours["supportedLinkType"])
    assert {"namespace": GS1_VOC, "prefix": "gs1:"} in ours["supportedLinkType"]
    gs1_term = next(iter(gs1["activeLinkTypes"]["en"].values()))
    assert all(set(term) == set(gs1_term) for term in ours["activeLinkTypes"]["en"].values())
    assert all(isinstance(value, str) for value in ours["supportedContextValuesEnumerated"])


def test_the_default_link_is_the_passport_page_with_a_link_header_to_the_linkset(world):
    _, passport = world

    response = Client().get(DIGITAL_LINK, {"lang": "en"})

    assert response.status_code == 307
    # the request's other query parameters are passed on
    assert response["Location"] == f"http://testserver/passport/{passport.pk}?lang=en"
    link = response["Link"]
    assert f'<http://testserver{DIGITAL_LINK}?linkType=linkset>; rel="linkset"; type="{LINKSET}"' in link
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in link
    assert f'<http://testserver/passport/{passport.pk}>; rel="{GS1_VOC}pip"; title="Battery passport"' in link
    assert response["Access-Control-Allow-Origin"] == "*"
    # GET, HEAD and OPTIONS, with CORS (the resolver standard)
    head = Client().head(DIGITAL_LINK)
    options = Client().options(DIGITAL_LINK)
    assert head.status_code == 307 and head["Location"] == f"http://testserver/passport/{passport.pk}"
    assert options.status_code == 200 and "OPTIONS" in options["Access-Control-Allow-Methods"]


def test_link_types_redirect_to_their_link_or_answer_404(world):
    _, passport = world
    client = Client()

    pip = client.get(DIGITAL_LINK, {"linkType": "gs1:pip"})
    by_iri = client.get(DIGITAL_LINK, {"linkType": "https://ref.gs1.org/voc/certificationInfo"})
    json_passport = client.get(DIGITAL_LINK, {"linkType": "gs1:productPassport"}, HTTP_ACCEPT="application/json")
    all_links = client.get(DIGITAL_LINK, {"linkType": "all"})
    absent = client.get(DIGITAL_LINK, {"linkType": "gs1:epcis"})
    unknown = client.get(DIGITAL_LINK, {"linkType": "gs1:nutritionalInfo"})
    foreign = client.get(DIGITAL_LINK, {"linkType": "schema:url"})

    assert pip.status_code == 307 and pip["Location"] == f"http://testserver/passport/{passport.pk}"
    study = passport.versions.order_by("-number").first().document["CarbonFootprintForBatteries"]
    assert by_iri.status_code == 307 and by_iri["Location"] == study["carbonFootprintStudy"]
    assert json_passport.status_code == 307
    assert json_passport["Location"] == f"http://testserver/api/v1/passports/{passport.pk}?tier=public"
    assert all_links.status_code == 200 and all_links.json()["linkset"][0]["anchor"].endswith(DIGITAL_LINK)
    for missing in (absent, unknown, foreign):
        assert missing.status_code == 404 and missing.json()["code"] == "link_type_not_available"
        assert "gs1:pip" in missing.json()["detail"]
        assert 'rel="linkset"' in missing["Link"]


def test_invalid_gs1_keys_are_400_and_unknown_ones_404(world):
    wrong_check_digit = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)

    bad_gtin = Client().get(f"/01/{wrong_check_digit}/21/{SERIAL}", HTTP_ACCEPT=LINKSET)
    bad_serial = Client().get(f"/01/{GTIN}/21/{'X' * 21}")
    unknown = Client().get(f"/01/{GTIN}/21/PACK-9999", {"linkType": "linkset"})
    trailing_slash = Client().get(f"{DIGITAL_LINK}/", {"linkType": "linkset"})

    assert bad_gtin.status_code == 400 and bad_gtin.json()["code"] == "gtin_check_digit_invalid"
    assert bad_serial.status_code == 400 and bad_serial.json()["code"] == "serial_invalid"
    assert unknown.status_code == 404 and unknown.json()["code"] == "passport_not_found"
    assert trailing_slash.status_code == 200


def test_the_public_sees_no_link_it_may_not_follow(world):
    loop, passport = world
    dismantler = loop.dismantler  # recorded the battery: a legitimate interest
    regulator = make_partner("market-surveillance", role="regulator")
    outsider = make_partner("other-oem", role="oem")

    public = linkset_of(Client())
    stranger = linkset_of(api_client(outsider))
    holder = linkset_of(api_client(dismantler))
    authority = linkset_of(api_client(regulator))

    api = f"http://testserver/api/v1/passports/{passport.pk}"
    for context in (public, stranger):
        assert hrefs(context, GS1_VOC + "productPassport")[1:] == [f"{api}?tier=public"]
        assert GS1_VOC + "epcis" not in context and LOOPTRACE_VOC + "pactFootprint" not in context
        assert passport.battery.identifier not in json.dumps(context)
    assert hrefs(holder, GS1_VOC + "productPassport")[1:] == [f"{api}?tier=public", f"{api}?tier=legitimate_interest"]
    assert hrefs(authority, GS1_VOC + "productPassport")[-1] == f"{api}?tier=authorities"
    for context in (holder, authority):
        assert GS1_VOC + "epcis" in context and LOOPTRACE_VOC + "pactFootprint" in context
    # nor may the public ask for a link that is not in its linkset
    assert Client().get(DIGITAL_LINK, {"linkType": "gs1:epcis"}).status_code == 404
    assert Client().get(DIGITAL_LINK, {"linkType": "looptrace:pactFootprint"}).status_code == 404


def test_a_qr_codes_url_resolves_to_every_link_type(world):
    # given: the URL the passport's QR code encodes (passport.qr renders exactly this string)
    loop, passport = world
    qr_url = public_url(Client().get("/").wsgi_request, passport)
    assert qr_url == f"http://testserver{DIGITAL_LINK}"
    reader = api_client(loop.dismantler)
    context = linkset_of(reader, qr_url)

    for link_type, targets in context.items():
        if link_type == "anchor":
            continue
        # when: the reader asks the QR code's URL for the link type
        response = reader.get(qr_url, {"linkType": link_type})

        # then: it is sent to that link, which answers (links on this host are followed through)
        assert response.status_code == 307, (link_type, response.content)
        assert response["Location"] in [target["href"] for target in targets]
        target = urlsplit(response["Location"])
        if target.netloc != "testserver":
            continue  # the carbon footprint study lives on the battery maker's site
        if target.path.startswith("/3/"):  # PACT is read with a PACT token, over HTTPS
            followed = pact(loop.dismantler).get(target.path, secure=True)
        else:
            query = {name: values[0] for name, values in parse_qs(target.query).items()}
            followed = reader.get(target.path, query)
        assert followed.status_code == 200, (link_type, response["Location"], followed.content[:300])

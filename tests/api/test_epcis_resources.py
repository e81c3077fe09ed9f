"""EPCIS 2.0 top-level resources: what exists among the events a caller may see, each value's
sub-resources and its events."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.api.test_epcis_capture import capture, client_for, document, job_of
from tests.api.test_epcis_query import EVENTS, ids
from tests.factories import make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(partner):
    assert job_of(client_for(partner), capture(client_for(partner), document(*EVENTS)))["success"] is True
    return partner


def members(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "Collection"
    return body["member"]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("eventTypes", ["AggregationEvent", "ObjectEvent", "TransformationEvent"]),
        (
            "bizSteps",
            [
                "https://ref.gs1.org/cbv/BizStep-commissioning",
                "https://ref.gs1.org/cbv/BizStep-packing",
                "https://ref.gs1.org/cbv/BizStep-shipping",
            ],
        ),
        ("dispositions", ["https://ref.gs1.org/cbv/Disp-active", "https://ref.gs1.org/cbv/Disp-in_transit"]),
        ("readPoints", ["urn:epc:id:sgln:4012345.00001.0"]),
        ("bizLocations", ["urn:epc:id:sgln:4012345.00000.0"]),
        (
            "epcs",
            [
                "urn:epc:id:sgtin:4012345.011111.1",
                "urn:epc:id:sgtin:4012345.011111.2",
                "urn:epc:id:sgtin:4012345.011111.3",
                "urn:epc:id:sgtin:4012345.011111.4",
                "urn:epc:id:sgtin:4012345.022222.5",
                "urn:epc:id:sscc:4012345.0000000001",
            ],
        ),
    ],
)
def test_each_resource_lists_the_values_among_visible_events(stored, resource, expected):
    assert members(client_for(stored).get(f"/epcis/{resource}")) == expected


def test_resource_lists_are_paged_by_link(stored):
    client = client_for(stored)
    first = client.get("/epcis/epcs", {"perPage": 4})
    link = first["Link"]
    token = parse_qs(urlsplit(link[1 : link.index(">")]).query)["nextPageToken"][0]
    second = client.get("/epcis/epcs", {"perPage": 4, "nextPageToken": token})

    assert members(first) + members(second) == members(client.get("/epcis/epcs"))
    assert len(members(first)) == 4 and "Link" not in second


def test_a_partner_lists_nothing_of_events_it_may_not_see(stored):
    stranger = make_partner("stranger-cast", role="die_caster")
    client = client_for(stranger)

    for resource in ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions"):
        assert members(client.get(f"/epcis/{resource}")) == []
    assert client.get("/epcis/eventTypes/ObjectEvent").status_code == 404
    assert ids(client.get("/epcis/eventTypes/ObjectEvent/events")) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/epcis/eventTypes/ObjectEvent/events", ["a"]),
        ("/epcis/eventTypes/TransformationEvent/events", ["c"]),
        ("/epcis/bizSteps/packing/events", ["b"]),
        ("/epcis/bizSteps/https://ref.gs1.org/cbv/BizStep-shipping/events", ["a"]),
        ("/epcis/dispositions/active/events", ["c"]),
        ("/epcis/readPoints/urn:epc:id:sgln:4012345.00001.0/events", ["a"]),
        ("/epcis/bizLocations/urn:epc:id:sgln:4012345.00000.0/events", ["a"]),
        ("/epcis/epcs/urn:epc:id:sgtin:4012345.011111.3/events", ["b"]),
        ("/epcis/epcs/urn:epc:id:sscc:4012345.0000000001/events", ["b"]),
        ("/epcis/epcs/https://id.gs1.org/01/04012345111118/21/1/events", ["a"]),
        ("/epcis/epcs/urn:epc:id:sgtin:4012345.099999.9/events", []),
        ("/epcis/bizSteps/packing/events?EQ_action=DELETE", []),
    ],
)
def test_each_value_lists_its_events(stored, path, expected):
    assert ids(client_for(stored).get(path)) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/epcis/eventTypes/ObjectEvent",
        "/epcis/bizSteps/shipping",
        "/epcis/dispositions/in_transit",
        "/epcis/readPoints/urn:epc:id:sgln:4012345.00001.0",
        "/epcis/bizLocations/urn:epc:id:sgln:4012345.00000.0",
        "/epcis/epcs/" + quote("https://id.gs1.org/01/04012345111118/21/2", safe=""),
    ],
)
def test_a_value_lists_its_sub_resources(stored, path):
    assert members(client_for(stored).get(path)) == ["events"]


def test_an_unknown_value_is_a_404_problem(stored):
    response = client_for(stored).get("/epcis/bizSteps/receiving")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == "epcisException:NoSuchResourceException"


def test_the_top_level_lists_the_resources(stored):
    assert "eventTypes" in members(client_for(stored).get("/epcis/"))


@pytest.mark.parametrize("params", [{"EQ_action": "ADD"}, {"perPage": "0"}, {"nextPageToken": "!!"}])
def test_a_resource_list_refuses_other_parameters(stored, params):
    response = client_for(stored).get("/epcis/eventTypes", params)

    assert response.status_code == 400
    assert response.json()["type"] == "epcisException:QueryParameterException"


def test_a_page_of_values_costs_one_index_probe_per_value(stored):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from traceability.epcis.resources import resource_values

    with CaptureQueriesContext(connection) as queries:
        page = resource_values(organisation=stored.organisation, resource="epcs", params={"perPage": "4"})

    assert len(page.values) == 4 and page.next_token
    assert len(queries) == 5
    assert all("LIMIT 1" in query["sql"] for query in queries.captured_queries)

"""EPCIS 2.0 named queries: kept per organisation, checked like GET /epcis/events, run with its paging
and visibility."""

import json

import pytest

from tests.api.test_epcis_capture import capture, client_for, document, job_of
from tests.api.test_epcis_query import EVENTS
from tests.factories import make_partner
from traceability.models import EpcisNamedQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(partner):
    client = client_for(partner)
    assert job_of(client, capture(client, document(*EVENTS)))["success"] is True
    return partner


def create(client, name: str, query: dict):
    return client.post("/epcis/queries", json.dumps({"name": name, "query": query}), content_type="application/json")


def event_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()["epcisBody"]["queryResults"]
    return [e["eventID"][-1] for e in body["resultsBody"]["eventList"]]


def test_a_named_query_is_created_read_listed_and_run(stored):
    # given
    client = client_for(stored)

    # when
    created = create(client, "shipped-or-packed", {"EQ_bizStep": ["shipping", "packing"]})

    # then
    assert created.status_code == 201, created.content
    assert created["Location"] == "/epcis/queries/shipped-or-packed"
    assert created["GS1-EPCIS-Version"] == "2.0.0"
    assert client.get(created["Location"]).json() == {
        "name": "shipped-or-packed",
        "query": {"EQ_bizStep": ["shipping", "packing"]},
    }
    assert [q["name"] for q in client.get("/epcis/queries").json()] == ["shipped-or-packed"]
    run = client.get("/epcis/queries/shipped-or-packed/events")
    assert event_ids(run) == ["a", "b"]
    assert run.json()["epcisBody"]["queryResults"]["queryName"] == "shipped-or-packed"


def test_a_named_query_pages_like_the_events_resource(stored):
    client = client_for(stored)
    assert (
        create(
            client, "everything", {"eventType": ["ObjectEvent", "AggregationEvent", "TransformationEvent"]}
        ).status_code
        == 201
    )

    first = client.get("/epcis/queries/everything/events", {"perPage": 2})
    link = first["Link"]
    following = client.get(link[1 : link.index(">")])

    assert event_ids(first) == ["a", "b"]
    assert event_ids(following) == ["c"]
    assert "Link" not in following


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"colour": ["red"]}, "query_parameter_unsupported"),
        ({"GE_eventTime": "yesterday"}, "query_parameter_invalid"),
        ({"perPage": 5}, "query_parameter_invalid"),
        ({"EQ_bizStep": ["a|b"]}, "query_parameter_invalid"),
        ({"EQ_bizStep": [{"nested": 1}]}, "query_parameter_invalid"),
        (["EQ_bizStep"], "query_invalid"),
    ],
)
def test_a_query_that_get_events_would_refuse_is_refused_and_not_kept(partner, query, code):
    response = create(client_for(partner), "bad", query)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["type"].startswith("epcisException:")
    assert not EpcisNamedQuery.objects.exists()


@pytest.mark.parametrize("name", ["", "a/b", "x" * 201, "spaced name", None])
def test_a_bad_name_is_refused(partner, name):
    response = create(client_for(partner), name, {"eventType": ["ObjectEvent"]})

    assert response.status_code == 400 and response.json()["code"] == "query_name_invalid"


def test_a_name_is_taken_once_per_organisation(partner):
    client = client_for(partner)
    other = client_for(make_partner("castline", role="die_caster"))

    assert create(client, "mine", {"eventType": ["ObjectEvent"]}).status_code == 201
    again = create(client, "mine", {"eventType": ["ObjectEvent"]})
    elsewhere = create(other, "mine", {"eventType": ["AggregationEvent"]})

    assert again.status_code == 409 and again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    assert elsewhere.status_code == 201
    assert client.get("/epcis/queries/mine").json()["query"] == {"eventType": ["ObjectEvent"]}


def test_another_organisations_query_is_not_found(stored):
    # given: the partner's query
    assert create(client_for(stored), "private", {"eventType": ["ObjectEvent"]}).status_code == 201
    stranger = client_for(make_partner("castline", role="die_caster"))

    # then: to anyone else it does not exist, whatever they try
    assert stranger.get("/epcis/queries").json() == []
    for response in (
        stranger.get("/epcis/queries/private"),
        stranger.get("/epcis/queries/private/events"),
        stranger.delete("/epcis/queries/private"),
        stranger.get("/epcis/queries/private/subscriptions"),
    ):
        assert response.status_code == 404
        assert response.json()["type"] == "epcisException:NoSuchResourceException"
    assert EpcisNamedQuery.objects.filter(name="private").exists()


def test_a_query_runs_with_its_owners_visibility(stored):
    # given: a stranger's query for every object event, none of which it may see
    stranger = client_for(make_partner("castline", role="die_caster"))
    assert create(stranger, "all-objects", {"eventType": ["ObjectEvent"]}).status_code == 201

    # then
    assert event_ids(stranger.get("/epcis/queries/all-objects/events")) == []


def test_a_deleted_query_is_gone(partner):
    client = client_for(partner)
    assert create(client, "short-lived", {"eventType": ["ObjectEvent"]}).status_code == 201

    assert client.delete("/epcis/queries/short-lived").status_code == 204
    assert client.get("/epcis/queries/short-lived").status_code == 404
    assert client.get("/epcis/queries").json() == []


def test_queries_need_credentials(partner):
    from rest_framework.test import APIClient

    assert APIClient().get("/epcis/queries").status_code in (401, 403)

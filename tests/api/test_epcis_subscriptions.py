"""EPCIS 2.0 query subscriptions: webhooks (stream and scheduled) against a real HTTP server, retries
through a real Celery worker, and WebSocket pushes through a real ASGI server."""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from config.celery import app
from tests.api.test_epcis_capture import capture, client_for, document, job_of
from tests.api.test_epcis_query import EVENTS
from tests.conftest import PROJECT_ROOT, REDIS_URL
from tests.factories import make_partner
from tests.workers import celery_worker, database_url
from traceability.epcis import subscriptions
from traceability.epcis.core.schedule import ScheduleError, parse_schedule
from traceability.epcis.tasks import subscriptions_schedule_task
from traceability.models import EpcisDelivery, EpcisSubscription

pytestmark = pytest.mark.django_db

TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


class Webhook:
    """A real HTTP server that records each POST and answers with the next scripted status (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                webhook.received.append((dict(self.headers), body))
                status = webhook.statuses.pop(0) if webhook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/epcis-callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Webhook":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def documents(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def event_ids(self) -> list[str]:
        return [
            e["eventID"][-1]
            for d in self.documents()
            for e in d["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]


@pytest.fixture
def webhook(settings):
    settings.EPCIS_WEBHOOK_ALLOW_PRIVATE = True
    with Webhook() as hook:
        yield hook


def create_query(client, name: str, query: dict) -> None:
    response = client.post(
        "/epcis/queries", json.dumps({"name": name, "query": query}), content_type="application/json"
    )
    assert response.status_code == 201, response.content


def subscribe(client, name: str, **body):
    return client.post(f"/epcis/queries/{name}/subscriptions", json.dumps(body), content_type="application/json")


def captured(client, *events, callbacks) -> None:
    with callbacks(execute=True):
        response = capture(client, document(*events))
    assert job_of(client, response)["success"] is True


def new_event(number: int, biz_step: str = "shipping") -> dict:
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:00000000-0000-4000-8000-0000000001{number:02d}",
        "eventTime": "2026-10-05T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{100 + number}"],
        "action": "OBSERVE",
        "bizStep": biz_step,
    }


# --- webhooks: stream ---------------------------------------------------------------------------


def test_a_stream_webhook_receives_exactly_the_new_matching_events_signed(
    partner, webhook, django_capture_on_commit_callbacks
):
    # given: events before the subscription, and a stream subscription on shipping and packing
    client = client_for(partner)
    captured(client, new_event(1), callbacks=django_capture_on_commit_callbacks)
    create_query(client, "moves", {"EQ_bizStep": ["shipping", "packing"]})
    created = subscribe(client, "moves", dest=webhook.url, signatureToken=TOKEN, stream=True)
    assert created.status_code == 201, created.content
    subscription_id = created.json()["subscriptionID"]

    # when: a document with a shipping, a packing and a commissioning event is captured
    captured(client, *EVENTS, callbacks=django_capture_on_commit_callbacks)

    # then: one signed EPCISQueryDocument with the two matching events, and nothing older
    [(headers, body)] = webhook.received
    assert webhook.event_ids() == ["a", "b"]
    results = json.loads(body)["epcisBody"]["queryResults"]
    assert json.loads(body)["type"] == "EPCISQueryDocument"
    assert results["subscriptionID"] == subscription_id and results["queryName"] == "moves"
    assert headers["GS1-EPCIS-Version"] == "2.0.0" and headers["GS1-CBV-Version"] == "2.0.0"
    assert headers["Content-Type"] == "application/json"
    assert headers["GS1-Signature"] == hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    delivery = EpcisDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.event_count, delivery.last_status) == ("delivered", 1, 2, 200)

    # when: one more shipping event is captured
    captured(client, new_event(2), callbacks=django_capture_on_commit_callbacks)

    # then: only it is sent
    assert webhook.event_ids() == ["a", "b", "2"]
    assert client.get(created["Location"]).json()["lastNotifiedAt"]


def test_an_initial_record_time_in_the_past_sends_the_matching_events_already_recorded(
    partner, webhook, django_capture_on_commit_callbacks
):
    client = client_for(partner)
    captured(client, *EVENTS, callbacks=django_capture_on_commit_callbacks)
    create_query(client, "packed", {"EQ_bizStep": ["packing"]})
    assert (
        subscribe(client, "packed", dest=webhook.url, stream=True, initialRecordTime="2000-01-01T00:00:00Z").status_code
        == 201
    )

    # when: anything at all is appended, which nudges the stream
    captured(client, new_event(3), callbacks=django_capture_on_commit_callbacks)

    # then
    assert webhook.event_ids() == ["b"]
    assert "GS1-Signature" not in webhook.received[0][0]


def test_another_organisations_events_are_never_delivered(partner, webhook, django_capture_on_commit_callbacks):
    # given: a stranger subscribed to every object event
    stranger = make_partner("castline", role="die_caster")
    stranger_client = client_for(stranger)
    create_query(stranger_client, "objects", {"eventType": ["ObjectEvent"]})
    assert subscribe(stranger_client, "objects", dest=webhook.url, stream=True).status_code == 201

    # when: the partner captures object events the stranger may not see, then the stranger its own
    captured(client_for(partner), *EVENTS, new_event(4), callbacks=django_capture_on_commit_callbacks)
    assert webhook.received == []
    captured(stranger_client, new_event(5), callbacks=django_capture_on_commit_callbacks)

    # then: the stranger's webhook has its own event only
    assert webhook.event_ids() == ["5"]
    assert EpcisDelivery.objects.count() == 1


def test_a_receiver_that_refuses_is_not_retried_and_attempts_are_bounded(
    partner, webhook, settings, django_capture_on_commit_callbacks
):
    # given: two subscriptions; the receiver refuses the first (404) and fails the second (500)
    settings.EPCIS_WEBHOOK_MAX_ATTEMPTS = 1
    webhook.statuses = [404, 500]
    client = client_for(partner)
    create_query(client, "objects", {"eventType": ["ObjectEvent"]})
    for _ in range(2):
        assert subscribe(client, "objects", dest=webhook.url, stream=True).status_code == 201

    # when
    captured(client, new_event(6), callbacks=django_capture_on_commit_callbacks)

    # then: both kept, as failed after one attempt each, with what the receiver said
    outcomes = sorted(EpcisDelivery.objects.values_list("state", "attempts", "last_status"))
    assert outcomes == [("failed", 1, 404), ("failed", 1, 500)]


@contextmanager
def tasks_sent_to(broker: str) -> Iterator[None]:
    """Make this test process a producer on the Redis broker, as a web process with a broker is."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker, task_always_eager=False)
    try:
        yield
    finally:
        app.conf.update(saved)


def wait_for(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.slow
def test_a_failed_delivery_is_retried_by_a_real_worker_until_it_succeeds(partner, monkeypatch, settings):
    # given: a receiver that fails once (500) then accepts, and a worker retrying without delay
    settings.EPCIS_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("EPCIS_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("EPCIS_WEBHOOK_RETRY_SECONDS", "0")
    redis.Redis.from_url(REDIS_URL).flushdb()
    client = client_for(partner)
    create_query(client, "moves", {"EQ_bizStep": ["shipping", "packing"]})
    with Webhook(statuses=[500]) as hook:
        assert subscribe(client, "moves", dest=hook.url, signatureToken=TOKEN, stream=True).status_code == 201
        with celery_worker(queue="celery", broker=REDIS_URL), tasks_sent_to(REDIS_URL):
            # when: events are captured; the nudge goes to the worker, not this process
            assert job_of(client, capture(client, document(*EVENTS)))["success"] is True
            wait_for(lambda: EpcisDelivery.objects.filter(state="delivered").exists())

        # then: the same signed document twice, the second accepted
        assert EpcisDelivery.objects.count() == 1
        delivery = EpcisDelivery.objects.get()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 2, 200)
        assert len(hook.received) == 2 and hook.received[0][1] == hook.received[1][1]
        assert hook.event_ids() == ["a", "b", "a", "b"]
        assert (
            hook.received[1][0]["GS1-Signature"]
            == hmac.new(TOKEN.encode(), hook.received[1][1], hashlib.sha256).hexdigest()
        )


def test_a_pending_delivery_nothing_retries_is_sent_again_by_beat_once_overdue(
    partner, webhook, settings, django_capture_on_commit_callbacks
):
    # given: with eager tasks (no worker retries), a receiver that fails the first attempt
    settings.EPCIS_WEBHOOK_MAX_ATTEMPTS = 3
    settings.EPCIS_WEBHOOK_RETRY_SECONDS = 30
    webhook.statuses = [503]
    client = client_for(partner)
    create_query(client, "objects", {"eventType": ["ObjectEvent"]})
    assert subscribe(client, "objects", dest=webhook.url, stream=True).status_code == 201
    captured(client, new_event(8), callbacks=django_capture_on_commit_callbacks)
    delivery = EpcisDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    overdue = delivery.next_attempt_at + subscriptions.OVERDUE_AFTER

    # when: beat ticks before the delivery is overdue, then after
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_schedule_task(overdue.isoformat())
    assert len(webhook.received) == 1
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_schedule_task((overdue + timedelta(seconds=1)).isoformat())

    # then: sent again, the same document, and delivered
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 2, 200)
    assert len(webhook.received) == 2 and webhook.received[0][1] == webhook.received[1][1]


# --- subscriptions: controls, reads, destinations --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"stream": True, "schedule": {"minute": "5"}},
        {"stream": False},
        {"stream": "yes"},
        {"schedule": {"minute": "[5-1]"}},
        {"schedule": {"second": "60"}},
        {"schedule": {"minute": "5", "year": "2027"}},
        {"schedule": {}},
        {"stream": True, "initialRecordTime": "not a time"},
        {"stream": True, "signatureToken": 5},
    ],
)
def test_subscription_controls_are_checked(partner, webhook, body):
    client = client_for(partner)
    create_query(client, "q", {"eventType": ["ObjectEvent"]})

    response = subscribe(client, "q", dest=webhook.url, **body)

    assert response.status_code == 400, response.content
    assert response.json()["type"] == "epcisException:SubscriptionControlsException"
    assert not EpcisSubscription.objects.exists()


@pytest.mark.parametrize(
    "dest",
    [
        "https://10.0.0.7/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/hook",
        "http://client.example.com/hook",
        "ftp://client.example.com/hook",
        "not a url",
        None,
    ],
)
def test_destinations_a_server_must_not_call_are_refused(partner, settings, dest):
    settings.EPCIS_WEBHOOK_ALLOW_PRIVATE = False
    client = client_for(partner)
    create_query(client, "q", {"eventType": ["ObjectEvent"]})

    response = subscribe(client, "q", dest=dest, stream=True)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "subscription_controls_invalid"


def test_a_name_that_resolves_to_a_private_address_is_refused_when_resolved(settings):
    # given: this machine's own name, which resolves to one of its (private or loopback) addresses
    settings.EPCIS_WEBHOOK_ALLOW_PRIVATE = False
    host = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 443)}
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if any(subscriptions._is_public(subscriptions.ipaddress.ip_address(a.split("%")[0])) for a in addresses):
        pytest.skip("this machine's name resolves to a public address")
    dest = f"https://{host}/hook"

    # then: a name is not looked up when subscribing, and is refused when a delivery resolves it
    assert subscriptions.destination_check(dest, resolve=False) == dest
    with pytest.raises(subscriptions.ApplicationError, match="private or local"):
        subscriptions.destination_check(dest, resolve=True)


def test_subscriptions_are_listed_read_and_deleted_by_their_owner_only(partner, webhook):
    client = client_for(partner)
    create_query(client, "q", {"eventType": ["ObjectEvent"]})
    created = subscribe(client, "q", dest=webhook.url, signatureToken=TOKEN, schedule={"hour": "1", "minute": "5"})
    assert created.status_code == 201
    location = created["Location"]
    stranger = client_for(make_partner("castline", role="die_caster"))

    listed = client.get("/epcis/queries/q/subscriptions").json()
    one = client.get(location).json()

    assert [s["subscriptionID"] for s in listed] == [one["subscriptionID"]]
    assert one["schedule"] == {"hour": "1", "minute": "5"} and one["dest"] == webhook.url
    assert TOKEN not in json.dumps(one) and one["signed"] is True
    assert TOKEN.encode() not in bytes(EpcisSubscription.objects.get().sealed_signature_token)  # sealed at rest
    assert stranger.get(location).status_code == 404
    assert stranger.delete(location).status_code == 404
    assert client.get("/epcis/queries/q/subscriptions/not-a-uuid").status_code == 404
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404


def test_deleting_a_query_ends_its_subscriptions(partner, webhook):
    client = client_for(partner)
    create_query(client, "q", {"eventType": ["ObjectEvent"]})
    assert subscribe(client, "q", dest=webhook.url, stream=True).status_code == 201

    assert client.delete("/epcis/queries/q").status_code == 204

    assert not EpcisSubscription.objects.exists()


# --- scheduled subscriptions ------------------------------------------------------------------


def test_a_scheduled_subscription_runs_when_due_with_the_events_since_its_last_run(
    partner, webhook, django_capture_on_commit_callbacks
):
    # given: a daily 01:05:00 subscription that reports even when empty, and a matching event
    client = client_for(partner)
    create_query(client, "shipped", {"EQ_bizStep": ["shipping"]})
    created = subscribe(
        client, "shipped", dest=webhook.url, reportIfEmpty=True, schedule={"second": "0", "minute": "5", "hour": "1"}
    )
    assert created.status_code == 201
    subscription = EpcisSubscription.objects.get()
    captured(client, *EVENTS, callbacks=django_capture_on_commit_callbacks)
    assert webhook.received == []  # not a stream: nothing until the schedule says so
    fires_at = parse_schedule(subscription.schedule).next_after(subscription.last_run_at)
    assert (fires_at.hour, fires_at.minute, fires_at.second) == (1, 5, 0)

    # when: beat ticks a second before, then at the query time
    with django_capture_on_commit_callbacks(execute=True):
        before = subscriptions_schedule_task((fires_at - timedelta(seconds=1)).isoformat())
    with django_capture_on_commit_callbacks(execute=True):
        due = subscriptions_schedule_task(fires_at.isoformat())

    # then: one run, with the shipping event
    assert (before, due) == (0, 1)
    assert webhook.event_ids() == ["a"]
    assert webhook.documents()[0]["epcisBody"]["queryResults"]["subscriptionID"] == str(subscription.pk)

    # when: the same tick again, then the next day's query time with nothing new
    with django_capture_on_commit_callbacks(execute=True):
        again = subscriptions_schedule_task(fires_at.isoformat())
    with django_capture_on_commit_callbacks(execute=True):
        next_day = subscriptions_schedule_task((fires_at + timedelta(days=1)).isoformat())

    # then: not twice; the next day an empty report, as reportIfEmpty asks
    assert (again, next_day) == (0, 1)
    assert len(webhook.received) == 2 and webhook.event_ids() == ["a"]


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        ({"second": "0", "minute": "0"}, "2026-12-03T16:30:10Z", "2026-12-03T17:00:00Z"),
        ({"second": "0", "minute": "30", "hour": "2"}, "2026-12-03T02:30:00Z", "2026-12-04T02:30:00Z"),
        ({"second": "0", "minute": "0", "dayOfWeek": "[1-5]"}, "2026-12-04T23:10:00Z", "2026-12-07T00:00:00Z"),
        ({"hour": "2"}, "2026-12-03T02:00:00Z", "2026-12-03T02:00:01Z"),
        (
            {"second": "0", "minute": "0", "hour": "0", "dayOfMonth": "29", "month": "2"},
            "2026-03-01T00:00:00Z",
            "2028-02-29T00:00:00Z",
        ),
        ({"second": "15,45", "minute": "[10-11]"}, "2026-12-03T05:10:45Z", "2026-12-03T05:11:15Z"),
        ({"dayOfMonth": "31", "month": "2"}, "2026-01-01T00:00:00Z", None),
    ],
)
def test_query_times_follow_the_schedule(fields, after, expected):
    upcoming = parse_schedule(fields).next_after(datetime.fromisoformat(after))

    assert upcoming == (datetime.fromisoformat(expected) if expected else None)


@pytest.mark.parametrize(
    "fields", [{"hour": "24"}, {"minute": "1-5"}, {"dayOfWeek": "0"}, {"month": ""}, {"second": "[3-1]"}]
)
def test_schedules_outside_the_grammar_are_refused(fields):
    with pytest.raises(ScheduleError):
        parse_schedule(fields)


# --- WebSockets -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def asgi_server(settings) -> Iterator[str]:
    """uvicorn serving config.asgi on the test database, with the Redis channel layer; yields its ws:// base."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CHANNEL_LAYER_URL": REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "KEY_ENCRYPTION_KEY": settings.KEY_ENCRYPTION_KEY,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, server.communicate()[0]
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.communicate(timeout=30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.slow
def test_a_websocket_subscription_receives_the_new_matching_events_it_may_see(partner, settings):
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    # given: a query, an ASGI server, and this process publishing to the same Redis channel layer
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    client = client_for(partner)
    create_query(client, "moves", {"EQ_bizStep": ["shipping", "packing"]})
    stranger = make_partner("castline", role="die_caster")
    auth = {"Authorization": f"Api-Key {partner.api_key}"}
    with asgi_server(settings) as base:
        url = f"{base}/epcis/queries/moves/events?stream=true"
        # then: no key, a wrong key, another organisation's key and bad controls are refused
        for headers, target in (
            ({}, url),
            ({"Authorization": "Api-Key nobody.nothing"}, url),
            ({"Authorization": f"Api-Key {stranger.api_key}"}, url),
            (auth, f"{base}/epcis/queries/moves/events"),
            (auth, f"{base}/epcis/queries/moves/events?stream=true&minute=5"),
        ):
            with pytest.raises(InvalidStatus) as refused:
                connect(target, additional_headers=headers, open_timeout=30).close()
            assert refused.value.response.status_code == 403
        assert not EpcisSubscription.objects.exists()

        with connect(url, additional_headers=auth, open_timeout=30) as socket_:
            wait_for(lambda: EpcisSubscription.objects.filter(channel="websocket").exists())
            # when: the stranger's event, then the partner's three, are captured
            stranger_client = client_for(stranger)
            assert job_of(stranger_client, capture(stranger_client, document(new_event(7))))["success"] is True
            assert job_of(client, capture(client, document(*EVENTS)))["success"] is True

            # then: one document, with the partner's two matching events only
            pushed = json.loads(socket_.recv(timeout=60))
            results = pushed["epcisBody"]["queryResults"]
            assert pushed["type"] == "EPCISQueryDocument" and results["queryName"] == "moves"
            assert [e["eventID"][-1] for e in results["resultsBody"]["eventList"]] == ["a", "b"]
            subscription_id = results["subscriptionID"]

        # then: closing the socket ends its subscription
        wait_for(lambda: not EpcisSubscription.objects.filter(pk=subscription_id).exists())
        assert not EpcisSubscription.objects.filter(pk=subscription_id).exists()

        # when: the query is deleted while a socket is open on it
        with connect(url, additional_headers=auth, open_timeout=30) as socket_:
            wait_for(lambda: EpcisSubscription.objects.filter(channel="websocket").exists())
            assert client.delete("/epcis/queries/moves").status_code == 204

            # then: the server closes the socket
            with pytest.raises(ConnectionClosed):
                socket_.recv(timeout=60)

"""Locust users of the load benchmark (``bench/load.py`` runs them headless, one class at a time).

Passport ids and the partner's API key come from the environment the benchmark sets.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid

from locust import FastHttpUser, HttpUser, constant, task

PASSPORTS = [line for line in os.environ.get("LOAD_PASSPORTS", "").split(",") if line]
API_KEY = os.environ.get("LOAD_API_KEY", "")
CAPTURE_EVENTS = int(os.environ.get("LOAD_CAPTURE_EVENTS", "50"))
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


class HealthReader(FastHttpUser):
    """The baseline: a constant JSON answer through the same stack."""

    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/api/v1/health", name="health")


class PassportReader(FastHttpUser):
    """Anyone reading a battery passport at the public tier, as a QR code scan does."""

    wait_time = constant(0)

    @task
    def passport(self) -> None:
        self.client.get(f"/api/v1/passports/{random.choice(PASSPORTS)}", name="passport")


class EpcisCapturer(FastHttpUser):
    """A partner capturing EPCIS documents of ``LOAD_CAPTURE_EVENTS`` new ObjectEvents each."""

    wait_time = constant(0)

    @task
    def capture(self) -> None:
        events = [
            {
                "type": "ObjectEvent",
                "eventTime": "2026-11-01T10:00:00.000Z",
                "eventTimeZoneOffset": "+00:00",
                "epcList": [f"urn:epc:id:sgtin:4012345.011111.{uuid.uuid4().int % 10**12}"],
                "action": "OBSERVE",
                "bizStep": "inspecting",
            }
            for _ in range(CAPTURE_EVENTS)
        ]
        document = {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-01T10:00:00.000Z",
            "epcisBody": {"eventList": events},
        }
        self.client.post(
            "/epcis/capture",
            data=json.dumps(document),
            headers={"Authorization": f"Api-Key {API_KEY}", "Content-Type": "application/ld+json"},
            name="capture",
        )


# name=path pairs, comma-separated
PAGES = [tuple(pair.split("=", 1)) for pair in os.environ.get("LOAD_PAGES", "").split(",") if pair]
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class PageReader(HttpUser):
    """A member signed in to the console, opening its heaviest pages one after another.

    The server runs as in production (``DEBUG=0``), where its cookies are marked Secure: a client
    keeps them off plain HTTP, so the benchmark, which talks HTTP to gunicorn directly (TLS ends at a
    proxy in a deployment), carries the session and CSRF cookies itself."""

    wait_time = constant(0)

    def on_start(self) -> None:
        form = self.client.get("/app/login/", name="sign-in")
        token = CSRF_TOKEN.search(form.text)
        csrf = form.cookies.get("csrftoken", "")
        with self.client.post(
            "/app/login/",
            data={
                "username": os.environ["LOAD_USERNAME"],
                "password": os.environ["LOAD_PASSWORD"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Cookie": f"csrftoken={csrf}"},
            allow_redirects=False,
            name="sign-in",
            catch_response=True,
        ) as answer:
            session = answer.cookies.get("sessionid")
            if answer.status_code != 302 or not session:
                answer.failure(f"sign-in refused: {answer.status_code}")
        self.cookie = f"sessionid={session}; csrftoken={csrf}"

    @task
    def page(self) -> None:
        name, path = random.choice(PAGES)
        with self.client.get(
            path, name=name, headers={"Cookie": self.cookie}, allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")

"""A small PACT client: get a token by client credentials, read footprints, send events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from traceability.errors import ApplicationError

TIMEOUT_SECONDS = 30.0
EVENT_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


@dataclass
class PactClient:
    """One partner's PACT host. ``base_url`` is the host's root (``/auth/token`` and ``/3/...`` below it)."""

    base_url: str
    client_id: str
    client_secret: str
    timeout: float = TIMEOUT_SECONDS
    _token: str | None = field(default=None, repr=False)

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def _fail(self, what: str, response: httpx.Response) -> ApplicationError:
        return ApplicationError(
            "pact_partner_error",
            f"{what} at {self.base_url} answered {response.status_code}: {response.text[:300]}",
            status=502,
        )

    def token(self) -> str:
        if self._token is None:
            try:
                response = httpx.post(
                    self._url("/auth/token"),
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self.client_secret),
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                )
            except httpx.HTTPError as exc:
                raise ApplicationError("pact_partner_unreachable", f"{self.base_url}: {exc}", status=502) from exc
            if response.status_code != 200:
                raise self._fail("the token request", response)
            self._token = str(response.json()["access_token"])
        return self._token

    def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> httpx.Response:
        try:
            return httpx.get(
                self._url(path),
                params=params,
                headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise ApplicationError("pact_partner_unreachable", f"{self.base_url}: {exc}", status=502) from exc

    def footprint(self, *, spec: str, pf_id: str) -> dict[str, Any]:
        response = self._get(f"/{spec}/footprints/{pf_id}")
        if response.status_code == 404:
            raise ApplicationError("pact_footprint_not_found", f"{self.base_url} has no footprint {pf_id}", status=404)
        if response.status_code != 200:
            raise self._fail("GetFootprint", response)
        return response.json()["data"]

    def footprints(self, *, spec: str, product_ids: list[str]) -> list[dict[str, Any]]:
        """Every footprint of the products, following the ``Link: rel="next"`` pages."""
        found: list[dict[str, Any]] = []
        response = self._get(f"/{spec}/footprints", [("productId", p) for p in product_ids])
        while True:
            if response.status_code != 200:
                raise self._fail("ListFootprints", response)
            found.extend(response.json()["data"])
            following = response.links.get("next", {}).get("url")
            if not following:
                return found
            try:
                response = httpx.get(
                    following,
                    headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"},
                    timeout=self.timeout,
                )
            except httpx.HTTPError as exc:
                raise ApplicationError("pact_partner_unreachable", f"{self.base_url}: {exc}", status=502) from exc

    def send_event(self, *, spec: str, event: dict[str, Any]) -> None:
        try:
            response = httpx.post(
                self._url(f"/{spec}/events"),
                json=event,
                headers={"Authorization": f"Bearer {self.token()}", "Content-Type": EVENT_CONTENT_TYPE},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise ApplicationError("pact_partner_unreachable", f"{self.base_url}: {exc}", status=502) from exc
        if response.status_code != 200:
            raise self._fail("the event", response)

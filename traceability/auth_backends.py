"""Password sign-in (web admin and console) throttled per username and per address (``traceability.throttle``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from traceability import throttle


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ):  # type: ignore[no-untyped-def,override]
        if throttle.blocked(request, username):
            raise PermissionDenied("too many failed sign-ins for this user or from this address; try again later")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and username:
            throttle.record_success(request, username)
        return user


@receiver(user_login_failed)
def _count_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    throttle.record_failure(request, credentials.get("username"))

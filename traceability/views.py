from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from traceability import selectors


def home(request: HttpRequest) -> HttpResponse:
    """A landing page that says what runs here and where to go next."""
    return render(
        request,
        "traceability/home.html",
        {"ledger_size": selectors.ledger_size(), "checkpoint": selectors.checkpoint_latest()},
    )

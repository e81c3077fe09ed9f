"""The project's URLs plus views that fail on purpose, one per path family, for error-body tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

SECRET = "the-exception-text-must-not-leak"


class Boom(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError(SECRET)


def boom_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def form_post(request: HttpRequest) -> HttpResponse:
    """A plain Django view (not csrf_exempt, as DRF views are) that takes a POST."""
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/boom", Boom.as_view()),
    path("api/v1/boom-plain", boom_page),
    path("api/v1/form", form_post),
    path("epcis/boom", Boom.as_view()),
    path("3/boom", Boom.as_view()),
    path("2/boom", Boom.as_view()),
    path("app/boom", boom_page),
    path("app/form", form_post),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

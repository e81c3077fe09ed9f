"""PACT routes at the host's root, as the specification places them."""

from django.urls import path

from carbon.pact.api import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="pact-token"),
    path("3/footprints", views.FootprintListView.as_view(spec="3"), name="pact3-footprints"),
    path("3/footprints/<str:pf_id>", views.FootprintDetailView.as_view(spec="3"), name="pact3-footprint"),
    path("3/events", views.EventsView.as_view(spec="3"), name="pact3-events"),
    path("2/footprints", views.FootprintListView.as_view(spec="2"), name="pact2-footprints"),
    path("2/footprints/<str:pf_id>", views.FootprintDetailView.as_view(spec="2"), name="pact2-footprint"),
    path("2/events", views.EventsView.as_view(spec="2"), name="pact2-events"),
]

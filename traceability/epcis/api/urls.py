from django.urls import path, re_path

from traceability.epcis.api import queries, resources, views

# Top-level resources; their values are URIs that may hold slashes (GS1 Digital Link).
RESOURCES = ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions")

urlpatterns = [
    path("", resources.TopLevelView.as_view(), name="epcis-top-level"),
    path("capture", views.CaptureView.as_view(), name="epcis-capture"),
    path("capture/<str:capture_id>", views.CaptureJobView.as_view(), name="epcis-capture-job"),
    path("events", views.EventListView.as_view(), name="epcis-events"),
    path("events/<path:event_id>", views.EventDetailView.as_view(), name="epcis-event-detail"),
    path("queries", queries.QueryListView.as_view(), name="epcis-queries"),
    path("queries/<str:name>", queries.QueryDetailView.as_view(), name="epcis-query"),
    path("queries/<str:name>/events", queries.QueryEventsView.as_view(), name="epcis-query-events"),
    path("queries/<str:name>/subscriptions", queries.SubscriptionListView.as_view(), name="epcis-subscriptions"),
    path(
        "queries/<str:name>/subscriptions/<str:subscription_id>",
        queries.SubscriptionDetailView.as_view(),
        name="epcis-subscription",
    ),
    *(
        pattern
        for resource in RESOURCES
        for pattern in (
            path(resource, resources.ResourceListView.as_view(resource=resource), name=f"epcis-{resource}"),
            re_path(
                rf"^{resource}/(?P<value>.+)/events$",
                resources.ResourceEventsView.as_view(resource=resource),
                name=f"epcis-{resource}-events",
            ),
            re_path(
                rf"^{resource}/(?P<value>.+)$",
                resources.ResourceDetailView.as_view(resource=resource),
                name=f"epcis-{resource}-detail",
            ),
        )
    ),
]

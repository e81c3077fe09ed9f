from django.urls import path

from traceability.epcis.api import queries, views

urlpatterns = [
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
]

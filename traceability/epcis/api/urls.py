from django.urls import path

from traceability.epcis.api import views

urlpatterns = [
    path("capture", views.CaptureView.as_view(), name="epcis-capture"),
    path("capture/<str:capture_id>", views.CaptureJobView.as_view(), name="epcis-capture-job"),
    path("events", views.EventListView.as_view(), name="epcis-events"),
    path("events/<path:event_id>", views.EventDetailView.as_view(), name="epcis-event-detail"),
]

from django.urls import path, re_path

from traceability.tlog import views

app_name = "tlog"

urlpatterns = [
    path("checkpoint", views.checkpoint, name="checkpoint"),
    re_path(r"^(?P<path>tile/.*)$", views.tile, name="tile"),
]

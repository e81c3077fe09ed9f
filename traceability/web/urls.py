from django.contrib.auth import views as auth_views
from django.urls import path

from traceability.web import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", next_page="web:dashboard"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    path("lots/", views.lot_list, name="lots"),
    path("lots/<int:pk>/", views.lot_detail, name="lot"),
    path("lots/<int:pk>/checkpoint", views.checkpoint_request, name="lot-checkpoint"),
    path("events/", views.event_list, name="events"),
    path("events/<int:seq>/", views.event_detail, name="event"),
    path("sites/", views.site_list, name="sites"),
    path("record/", views.record_index, name="record-index"),
    path("record/<slug:operation>/", views.record, name="record"),
]

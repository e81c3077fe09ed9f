from django.contrib.auth import views as auth_views
from django.urls import path

from passport.web import views

app_name = "web"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", next_page="web:dashboard"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("lots/", views.lot_list, name="lots"),
    path("lots/<int:pk>/", views.lot_detail, name="lot"),
    path("lots/<int:pk>/checkpoint", views.checkpoint_request, name="lot-checkpoint"),
    path("events/", views.event_list, name="events"),
    path("record/", views.record_index, name="record-index"),
    path("record/<slug:operation>/", views.record, name="record"),
    path("passports/", views.passport_list, name="passports"),
    path("audit/", views.audit, name="audit"),
]

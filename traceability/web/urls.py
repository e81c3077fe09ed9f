from django.contrib.auth import views as auth_views
from django.urls import path

from traceability.web import organisation, views

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
    path("organisation/", organisation.organisation_page, name="organisation"),
    path("organisation/api-keys/", organisation.api_key_create, name="api-key-create"),
    path("organisation/api-keys/<int:pk>/revoke", organisation.api_key_revoke, name="api-key-revoke"),
    path("organisation/client-keys/", organisation.client_key_register, name="client-key-register"),
    path("organisation/keys/<int:pk>/revoke", organisation.signing_key_revoke, name="signing-key-revoke"),
    path("organisation/keys/<int:pk>/rotate", organisation.signing_key_rotate, name="signing-key-rotate"),
    path("organisation/members/", organisation.member_add, name="member-add"),
    path("organisation/members/<int:pk>/remove", organisation.member_remove, name="member-remove"),
    path("record/", views.record_index, name="record-index"),
    path("record/<slug:operation>/", views.record, name="record"),
]

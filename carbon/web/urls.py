from django.urls import path

from carbon.web import partners, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sites/<int:pk>/account/", views.site_account, name="site-account"),
    path("sites/<int:pk>/account/<str:period>/", views.site_account, name="site-account-period"),
    path("pact/partners/", partners.partner_hosts, name="pact-partners"),
    path("pact/partners/<slug:slug>/remove", partners.partner_host_remove, name="pact-partner-remove"),
]

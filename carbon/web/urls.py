from django.urls import path

from carbon.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sites/<int:pk>/account/", views.site_account, name="site-account"),
    path("sites/<int:pk>/account/<str:period>/", views.site_account, name="site-account-period"),
]

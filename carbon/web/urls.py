from django.urls import path

from carbon.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]

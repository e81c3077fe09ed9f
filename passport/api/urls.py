from django.urls import path

from passport.api import views

urlpatterns = [
    path("passports/<str:reference>", views.PassportView.as_view(), name="passport-detail"),
    path("passports/<str:reference>/versions", views.PassportVersionsView.as_view(), name="passport-versions"),
]

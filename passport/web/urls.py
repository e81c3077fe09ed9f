from django.urls import path

from passport.web import views

urlpatterns = [
    path("passports/", views.passport_list, name="passports"),
    path("audit/", views.audit, name="audit"),
    path("reports/", views.regulator_reports, name="reports"),
]

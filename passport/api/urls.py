from django.urls import path

from passport.api import reports, views

urlpatterns = [
    path("passports/<str:reference>", views.PassportView.as_view(), name="passport-detail"),
    path("passports/<str:reference>/versions", views.PassportVersionsView.as_view(), name="passport-versions"),
    path("reports/<slug:report>.<slug:file_format>", reports.RegulatorReportView.as_view(), name="regulator-report"),
]

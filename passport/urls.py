from django.urls import path, re_path

from passport.web import views

urlpatterns = [
    path("passports/", views.passport_index, name="passport-index"),
    path("part/<int:pk>", views.PartPassportView.as_view(), name="part-passport"),
    path("passport/<str:reference>", views.PassportPageView.as_view(), name="passport-page"),
    re_path(r"^passport/(?P<reference>[^/]+)/qr\.(?P<kind>svg|png)$", views.passport_qr, name="passport-qr"),
    # GS1 Digital Link: AI 01 (GTIN) and AI 21 (serial number).
    path("01/<str:gtin>/21/<str:serial>", views.PassportPageView.as_view(), name="passport-digital-link"),
]

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from passport.api.audit import AuditExportView
from traceability.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("app/", include("passport.web.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("traceability.api.urls")),
    path("api/v1/", include("carbon.api.urls")),
    path("epcis/", include("traceability.epcis.api.urls")),
    path("api/v1/", include("passport.api.urls")),
    path("api/v1/audit/export", AuditExportView.as_view(), name="audit-export"),
    path("", include("carbon.pact.urls")),
    path("", include("passport.urls")),
]

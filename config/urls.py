from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from carbon.web import urls as carbon_pages
from passport.api.audit import AuditExportView
from passport.web import urls as passport_pages
from traceability.views import home
from traceability.web import urls as traceability_pages
from traceability.witnessing.views import checkpoint_witnessed

# The recycler console: every app's pages under /app/, in one ``web`` namespace.
console = [*traceability_pages.urlpatterns, *carbon_pages.urlpatterns, *passport_pages.urlpatterns]

# Django's own errors (unknown URL, bad Host, uncaught exception) in each path family's body.
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("app/", include((console, "web"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("traceability.api.urls")),
    path("tlog/checkpoint.witnessed", checkpoint_witnessed, name="tlog-checkpoint-witnessed"),
    path("api/v1/", include("carbon.api.urls")),
    path("epcis/", include("traceability.epcis.api.urls")),
    path("api/v1/", include("passport.api.urls")),
    path("api/v1/audit/export", AuditExportView.as_view(), name="audit-export"),
    path("", include("carbon.pact.urls")),
    path("", include("passport.urls")),
    path("", include("traceability.credentials.urls")),
]

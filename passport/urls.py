from django.urls import path, re_path

from passport.web import resolver, views

urlpatterns = [
    path("passports/", views.passport_index, name="passport-index"),
    path("part/<int:pk>", views.PartPassportView.as_view(), name="part-passport"),
    path("passport/<str:reference>", views.PassportPageView.as_view(), name="passport-page"),
    re_path(r"^passport/(?P<reference>[^/]+)/qr\.(?P<kind>svg|png)$", views.passport_qr, name="passport-qr"),
    # GS1 Digital Link: AI 01 (GTIN) and AI 21 (serial number), resolved by the GS1-Conformant
    # Resolver; a trailing slash is tolerated, as the resolver standard asks.
    re_path(
        r"^01/(?P<gtin>[^/]+)/21/(?P<serial>[^/]+)/?$",
        resolver.DigitalLinkView.as_view(),
        name="passport-digital-link",
    ),
    path(".well-known/gs1resolver", resolver.ResolverDescriptionView.as_view(), name="gs1-resolver-description"),
]

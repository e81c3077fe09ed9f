from django.urls import path

from traceability.credentials import views

urlpatterns = [
    path("orgs/<slug:slug>/did.json", views.did_document, name="organisation-did"),
    path("orgs/<slug:slug>/status/<int:number>", views.status_list, name="status-list"),
    path("orgs/<slug:slug>/credentials", views.OrganisationCredentialsView.as_view(), name="organisation-credentials"),
    path("credentials/<str:credential>", views.CredentialView.as_view(), name="credential"),
    path("credentials/<str:credential>/anchor", views.CredentialAnchorView.as_view(), name="credential-anchor"),
    path("credentials/<str:credential>/revoke", views.CredentialRevokeView.as_view(), name="credential-revoke"),
]

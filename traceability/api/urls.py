from django.urls import path

from traceability.api import views

urlpatterns = [
    path("ledger/checkpoint", views.CheckpointView.as_view(), name="ledger-checkpoint"),
    path("ledger/entries", views.EntryListCreateView.as_view(), name="ledger-entries"),
    path("ledger/entries/<int:seq>", views.EntryDetailView.as_view(), name="ledger-entry-detail"),
    path("ledger/batches", views.BatchCreateView.as_view(), name="ledger-batch-create"),
    path("ledger/consistency", views.ConsistencyView.as_view(), name="ledger-consistency"),
    path("ledger/keys", views.SigningKeyListView.as_view(), name="ledger-key-list"),
]

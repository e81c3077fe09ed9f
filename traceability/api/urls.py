from django.urls import path

from traceability.api import objects, views
from traceability.api.operations import OPERATIONS, operation_view
from traceability.credentials.views import EventCredentialView
from traceability.witnessing.views import WitnessedCheckpointView

# <object:ref>: an object's id or identifier (traceability.api.references, registered in apps.py).
urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("ledger/checkpoint", views.CheckpointView.as_view(), name="ledger-checkpoint"),
    path("ledger/checkpoint/witnessed", WitnessedCheckpointView.as_view(), name="ledger-checkpoint-witnessed"),
    path("ledger/entries", views.EntryListCreateView.as_view(), name="ledger-entries"),
    path("ledger/entries/<int:seq>", views.EntryDetailView.as_view(), name="ledger-entry-detail"),
    path("ledger/entries/<int:seq>/proof", views.EntryProofView.as_view(), name="ledger-entry-proof"),
    path("ledger/batches", views.BatchCreateView.as_view(), name="ledger-batch-create"),
    path("ledger/consistency", views.ConsistencyView.as_view(), name="ledger-consistency"),
    path("ledger/keys", views.SigningKeyListView.as_view(), name="ledger-key-list"),
    path("sites", views.SiteListCreateView.as_view(), name="site-list"),
    path("sites/<int:pk>", views.SiteDetailView.as_view(), name="site-detail"),
    path("objects", objects.ObjectListView.as_view(), name="object-list"),
    path("objects/<object:ref>", objects.ObjectDetailView.as_view(), name="object-detail"),
    path("objects/<object:ref>/genealogy", objects.GenealogyView.as_view(), name="object-genealogy"),
    path("items", objects.ItemListView.as_view(), name="item-list"),
    path("lots", objects.LotListView.as_view(), name="lot-list"),
    path("events", objects.EventListView.as_view(), name="event-list"),
    path("events/<int:seq>", objects.EventDetailView.as_view(), name="event-detail"),
    path("events/<int:seq>/credential", EventCredentialView.as_view(), name="event-credential"),
    *(
        path(f"operations/{name}", operation_view(name, serializer), name=f"operation-{name}")
        for name, serializer in OPERATIONS.items()
    ),
]

"""The shapes the visibility policy gives what a reader may not read: an event's outline and a
genealogy with other organisations' nodes folded (pure functions: no database)."""

from decimal import Decimal
from types import SimpleNamespace

from traceability.genealogy import Edge, Genealogy, Node
from traceability.visibility import WITHHELD_FIELD, event_identifiers, event_outline, fold_genealogies

MINE, THEIRS, OTHER = "urn:x:lot:mine", "urn:x:lot:theirs", "urn:x:vin:OTHER"

REMELTING = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"lt": "https://lt/"}],
    "type": "TransformationEvent",
    "eventTime": "2026-10-08T08:00:00.000Z",
    "eventTimeZoneOffset": "+00:00",
    "bizStep": "commissioning",
    "inputEPCList": [OTHER],
    "inputQuantityList": [
        {"epcClass": MINE, "quantity": 83.5, "uom": "KGM"},
        {"epcClass": THEIRS, "quantity": 416.5, "uom": "KGM"},
    ],
    "outputQuantityList": [{"epcClass": "urn:x:lot:melt", "quantity": 490, "uom": "KGM"}],
    "readPoint": {"id": "urn:epc:id:sgln:123"},
    "bizLocation": {"id": "urn:epc:id:sgln:123"},
    "lt:operation": "remelting",
    "lt:energy": {"naturalGasM3": 40.0},
    "lt:objects": {"urn:x:lot:melt": {"kind": "melt_batch", "label": "M-1"}},
    "lt:lossesKg": {"meltLoss": 10},
}


def test_an_outline_keeps_what_happened_and_when_and_only_the_readers_objects():
    outline = event_outline(REMELTING, visible=frozenset({MINE}))

    assert outline == {
        "@context": REMELTING["@context"],
        "type": "TransformationEvent",
        "eventTime": "2026-10-08T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "commissioning",
        "lt:operation": "remelting",
        "inputEPCList": [],
        "inputQuantityList": [{"epcClass": MINE, "quantity": 83.5, "uom": "KGM"}],
        "outputQuantityList": [],
        WITHHELD_FIELD: True,
    }
    assert event_identifiers(REMELTING) == {MINE, THEIRS, OTHER, "urn:x:lot:melt"}


def test_folded_nodes_keep_kind_kg_and_depth_under_placeholders_shared_by_nodes_and_edges():
    root = SimpleNamespace(pk=1)
    walk = Genealogy(
        root=root,  # type: ignore[arg-type]
        direction="backward",
        nodes=[
            Node(id=2, identifier=MINE, kind="scrap_lot", label="PC-1", kg=Decimal("83.5"), depth=1),
            Node(id=3, identifier=THEIRS, kind="primary_ingot", label="P-1", kg=Decimal("416.5"), depth=1),
            Node(id=4, identifier=OTHER, kind="vehicle", label="OTHER", kg=Decimal("40"), depth=2),
        ],
        edges=[
            Edge(source=2, target=1, kg=Decimal("83.5")),
            Edge(source=3, target=1, kg=Decimal("416.5")),
            Edge(source=4, target=2, kg=Decimal("40")),
        ],
    )

    (seen,) = fold_genealogies(walks=[walk], visible=frozenset({1, 2}))

    assert [(n.id, n.identifier, n.label, n.kind, n.kg, n.depth, n.folded) for n in seen.nodes] == [
        (2, MINE, "PC-1", "scrap_lot", Decimal("83.5"), 1, False),
        (-1, None, None, "primary_ingot", Decimal("416.5"), 1, True),
        (-2, None, None, "vehicle", Decimal("40"), 2, True),
    ]
    assert [(e.source, e.target, e.kg) for e in seen.edges] == [
        (2, 1, Decimal("83.5")),
        (-1, 1, Decimal("416.5")),
        (-2, 2, Decimal("40")),
    ]

"""The location hierarchy of an EPCIS document's master data."""

from traceability.epcis.core.master_data import MAX_CHILDREN, location_children


def header(*vocabularies: dict) -> dict:
    return {"epcisHeader": {"epcisMasterData": {"vocabularyList": list(vocabularies)}}}


def test_children_of_read_points_and_business_locations_are_read():
    document = header(
        {
            "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
            "vocabularyElementList": [{"id": "urn:epc:id:sgln:1.1.0", "children": ["urn:epc:id:sgln:1.1.1"]}],
        },
        {"type": "ReadPoint", "vocabularyElementList": [{"id": "rp:a", "children": ["rp:b", "rp:b", "rp:a"]}]},
        {"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": [{"id": "c", "children": ["d"]}]},
    )

    assert location_children(document) == [("urn:epc:id:sgln:1.1.0", "urn:epc:id:sgln:1.1.1"), ("rp:a", "rp:b")]


def test_documents_without_master_data_or_with_odd_shapes_declare_nothing():
    assert location_children({}) == []
    assert location_children({"epcisHeader": []}) == []
    assert (
        location_children(header({"type": "ReadPoint", "vocabularyElementList": [{"id": 5, "children": ["x"]}]})) == []
    )
    assert (
        location_children(header({"type": "ReadPoint", "vocabularyElementList": [{"id": "x", "children": "y"}]})) == []
    )


def test_a_document_declares_a_bounded_number_of_children():
    elements = [{"id": f"p{n}", "children": [f"c{n}-{m}" for m in range(100)]} for n in range(200)]
    document = header({"type": "ReadPoint", "vocabularyElementList": elements})

    assert len(location_children(document)) == MAX_CHILDREN

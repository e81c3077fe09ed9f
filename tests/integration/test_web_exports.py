"""The console's lists leave as files: every row the list (as searched) shows, across its pages,
as CSV and as XLSX, and only what the organisation may read."""

import csv
import io

import pytest
from openpyxl import load_workbook

from carbon.services import footprints_catch_up
from tests.integration.test_web_admin import member
from tests.loop import build_loop
from traceability import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    footprints_catch_up()
    built.remelter_client = member(built.remelter.organisation, "melter")
    built.dismantler_client = member(built.dismantler.organisation, "dismantler")
    return built


def csv_rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_rows(response) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_lot_list_downloads_whole_as_csv_and_xlsx_with_the_search_applied(loop):
    organisation = loop.remelter.organisation
    everything = list(selectors.lots_search(organisation=organisation))
    page = loop.remelter_client.get("/app/lots/").content.decode()
    assert "format=csv" in page and "format=xlsx" in page
    # when
    answer = loop.remelter_client.get("/app/lots/", {"format": "csv"})
    # then
    assert answer["Content-Type"].startswith("text/csv")
    assert answer["Content-Disposition"].startswith('attachment; filename="looptrace-lots-')
    rows = csv_rows(answer)
    assert [row["Identifier"] for row in rows] == [lot.identifier for lot in everything]
    first = everything[0]
    assert rows[0]["Remaining kg"] == str(first.remaining_kg) and rows[0]["Kind"] == first.get_kind_display()
    workbook = xlsx_rows(loop.remelter_client.get("/app/lots/", {"format": "xlsx"}))
    assert [row["Identifier"] for row in workbook] == [row["Identifier"] for row in rows]
    # a search narrows the file as it narrows the list
    kind = first.kind
    searched = csv_rows(loop.remelter_client.get("/app/lots/", {"kind": kind, "format": "csv"}))
    expected = [lot.identifier for lot in everything if lot.kind == kind]
    assert [row["Identifier"] for row in searched] == expected and 0 < len(expected) <= len(everything)


def test_an_export_holds_only_what_the_organisation_may_read(loop):
    theirs = {row["Identifier"] for row in csv_rows(loop.dismantler_client.get("/app/lots/", {"format": "csv"}))}
    mine = {row["Identifier"] for row in csv_rows(loop.remelter_client.get("/app/lots/", {"format": "csv"}))}
    assert theirs == {lot.identifier for lot in selectors.lots_search(organisation=loop.dismantler.organisation)}
    assert mine != theirs
    # another organisation's events come without their document's site and warnings
    events = csv_rows(loop.remelter_client.get("/app/events/", {"format": "csv"}))
    others = [row for row in events if row["Organisation"] != loop.remelter.organisation.name]
    assert others and all(row["Site"] == "" and row["Warnings"] == "" for row in others)
    own = [row for row in events if row["Organisation"] == loop.remelter.organisation.name]
    assert own and any(row["Site"] for row in own)


def test_an_unknown_format_is_refused_in_words(loop):
    answer = loop.remelter_client.get("/app/lots/", {"format": "pdf"})
    assert answer.status_code == 400 and "csv or xlsx" in answer.content.decode()
    assert loop.remelter_client.get("/app/events/", {"format": "json"}).status_code == 400

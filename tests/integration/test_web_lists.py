"""The console's lists: they leave as files (every row the list, as searched, shows, across its
pages, as CSV and as XLSX, and only what the organisation may read), and an event links to its own
page, which shows it as its reader may see it."""

import csv
import io

import pytest
from openpyxl import load_workbook

from carbon.services import footprints_catch_up
from tests.factories import make_partner
from tests.integration.test_web_admin import member
from tests.loop import build_loop
from traceability import selectors
from traceability.models import EventRecord

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


def test_an_event_page_shows_what_its_reader_may_see_and_the_list_links_to_it(loop):
    melt = EventRecord.objects.filter(operation="remelting").select_related("site").first()
    casting = EventRecord.objects.filter(operation="die_casting").first()
    listing = loop.remelter_client.get("/app/events/").content.decode()
    assert f'href="/app/events/{melt.entry_id}/"' in listing and "/api/v1/ledger/entries/" not in listing
    # the recorder: its site, its objects, its document and its credential
    own = loop.remelter_client.get(f"/app/events/{melt.entry_id}/").content.decode()
    assert "Remelting" in own and melt.site.name in own and "EPCIS 2.0 JSON-LD" in own
    assert f"/api/v1/events/{melt.entry_id}/credential" in own
    for lot in melt.involved.all():
        assert f'href="/app/lots/{lot.pk}/"' in own
    # another organisation's event about its melt: the outline only
    outline = loop.remelter_client.get(f"/app/events/{casting.entry_id}/").content.decode()
    assert "Die-casting" in outline and "EPCIS 2.0 JSON-LD" not in outline and "/credential" not in outline
    assert "not shown" in outline
    # an event it cannot see, or no event: 404
    stranger = member(make_partner("elsewhere", role="die_caster").organisation, "stranger")
    assert stranger.get(f"/app/events/{melt.entry_id}/").status_code == 404
    assert loop.remelter_client.get("/app/events/99999999999999999999/").status_code == 404

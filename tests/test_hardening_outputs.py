"""Hardening of what khgeo writes out and takes in: spreadsheet cells, the map's search, agency reports,
restores, public links and error logs. One test (or one parametrised family) per attack."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from khgeo.cli import main
from khgeo.models import Zone
from khgeo.services import audit
from khgeo.services.spreadsheet import csv_guard, csv_unguard
from tests.conftest import LiveServer, make_app

HOSTILE_NAMES = ["=1+1", "+SUM(A1)", "-2+3", "@x", "\tx", "\rx"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# -- 1. spreadsheet formulas ----------------------------------------------------------------------------------------
@pytest.fixture
def hostile_zones(app, db) -> dict[str, str]:
    """Every zone renamed to a formula-looking name (the first six exactly the hostile names); code → name."""
    from tests.test_report_documents import record_year  # something recorded this year, for the yearly report

    with app.app_context(), db.session() as session:
        record_year(session)
        zones = list(session.scalars(select(Zone).order_by(Zone.code)))
        names = {}
        for index, zone in enumerate(zones):
            zone.name = HOSTILE_NAMES[index % 6] + ("" if index < 6 else f" {index}")
            names[zone.code] = zone.name
        audit.record(session, None, "zone.rename", "zone", "=1+1", {"name": ["a", "-2+3"]}, {"note": "@x"})
        session.commit()
    return names


def _xlsx_cells(body: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", archive.read(member)), f"a formula in {member}"
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def _audit_csv(client, db) -> bytes:
    with db.session() as session:
        return audit.to_csv(audit.list_events(session, limit=None)).encode()


SPREADSHEETS = {
    "export.xlsx": lambda client, db: client.get("/export/zones.xlsx").data,
    "planning wwtp.xlsx": lambda client, db: client.get("/planning/wwtp.xlsx").data,
    "planning infrastructure.xlsx": lambda client, db: client.get("/planning/infrastructure.xlsx").data,
    "planning stalled.xlsx": lambda client, db: client.get("/planning/stalled.xlsx?days=1").data,
    "consolidated report.xlsx": lambda client, db: client.get("/reports/2026/consolidated.xlsx").data,
}
CSVS = {
    "export.csv": lambda client, db: client.get("/export/zones.csv").data,
    "audit.csv": _audit_csv,
}


@pytest.mark.parametrize("output", SPREADSHEETS)
def test_no_xlsx_cell_is_a_formula_and_names_show_exactly(client, db, hostile_zones, output):
    body = SPREADSHEETS[output](client, db)
    assert body.startswith(b"PK")
    cells = _xlsx_cells(body)
    assert all(cell.data_type != "f" for cell in cells)
    texts = [cell for cell in cells if isinstance(cell.value, str)]
    shown = {cell.value for cell in texts}
    assert shown & set(hostile_zones.values()), "the zones' names are in the sheet"
    assert not any(value.startswith("'") for value in shown), "no stray apostrophe"
    # Excel keeps a text that starts like a formula as text, even when someone edits the cell
    assert all(cell.quotePrefix for cell in texts if cell.value.startswith(TRIGGERS))


@pytest.mark.parametrize("output", CSVS)
def test_no_csv_cell_starts_like_a_formula(client, db, hostile_zones, output):
    text = CSVS[output](client, db).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    for cell in cells:
        if cell.startswith(TRIGGERS):
            float(cell)  # only a number may start with "-" or "+"
    expected = set(hostile_zones.values()) if output == "export.csv" else {"=1+1"}
    assert {"'" + name for name in expected} <= set(cells)


def test_negative_numbers_stay_numbers_and_the_csv_guard_round_trips():
    assert csv_guard(-2.5) == -2.5 and csv_guard(-2) == -2
    for text in [*HOSTILE_NAMES, "'=x", "''-1", "'", "'abc", "abc", ""]:
        assert not str(csv_guard(text)).startswith(TRIGGERS)
        assert csv_unguard(csv_guard(text)) == text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_khgeos_own_export_with_formula_names_imports_back_unchanged(app, db, hostile_zones, tmp_path, fmt):
    exported = tmp_path / f"zones.{fmt}"
    result = app.test_cli_runner().invoke(main, ["export", "--format", fmt, "--output", str(exported)])
    assert result.exit_code == 0, result.output
    dry = app.test_cli_runner().invoke(main, ["import", str(exported), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"0 to create, 0 to update, {len(hostile_zones)} unchanged, 0 rejected" in dry.output
    with db.session() as session:
        assert dict(session.execute(select(Zone.code, Zone.name)).all()) == hostile_zones


def test_doubled_quotes_inside_quoted_csv_cells_import_right(app, db, tmp_path):
    with db.session() as session:
        code = session.scalar(select(Zone.code).order_by(Zone.code).limit(1))
    path = tmp_path / "zones.csv"
    path.write_text(f'code,developer\n{code},"Công ty ""Hưng Phát"", Bắc Giang"\n', "utf-8")
    result = app.test_cli_runner().invoke(main, ["import", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    with db.session() as session:
        developer = session.scalar(select(Zone.developer).where(Zone.code == code))
    assert developer == 'Công ty "Hưng Phát", Bắc Giang'


# -- 2. the map's search control ------------------------------------------------------------------------------------
@pytest.mark.browser
def test_the_map_search_shows_a_zone_name_as_text(database_url, page):
    name = '<img src=x class="injected" onerror="window.pwned=1">'
    server = LiveServer(make_app(database_url))
    try:
        with server.app.extensions["khgeo.db"].session() as session:
            session.scalars(select(Zone).where(Zone.code == "ccn-doan-bai")).one().name = name
            session.commit()
        page.goto_map(server.url + "/")
        page.page.locator(".leaflet-control-search .search-button").click()
        page.page.locator(".leaflet-control-search input.search-input").type("img src", delay=20)
        tip = page.page.locator(".leaflet-control-search .search-tip").first
        tip.wait_for()
        assert tip.inner_text() == f"CCN {name}"
        assert page.page.locator(".leaflet-control-search img, img.injected").count() == 0
        assert page.page.evaluate("window.pwned") is None
    finally:
        server.stop()
